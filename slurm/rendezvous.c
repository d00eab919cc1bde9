/*
 * rendezvous.c: the submit side's service for the host agents
 * (rendezvous.h): join, bound, report and watch, over courier on the
 * job's loop, and the mirror run they feed. Every host joins; the nodes
 * are placed and the answers go out; every host binds its courier nodes'
 * sockets and says where; the mirror run starts (its ops turn starts
 * after the first, and signals, into commands to the node's agent, sent
 * as the answer to that agent's watch, one per agent per turn of the
 * loop); and the agents' reports become the mirror's output, readiness
 * and ends.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "submit.h"

/* ------------------------------------------------------------------ */
/* The mirror's ops: commands to the agents                            */
/* ------------------------------------------------------------------ */

/* Queue a command for the agent of node slot. */
static void
cmd_add(struct lpd_slurm *s, size_t slot, int op)
{
	struct agent	*a = &s->agents[s->placed[slot]];

	if (a->cmds == NULL)
		a->cmds = courier_list_new();
	courier_list_append(a->cmds, courier_args(courier_int(op),
	    courier_int((int64_t)slot)));
	event_active(s->flush_ev, 0, 0);
}

/* Answer each agent's watch with the commands gathered this turn. */
void
rv_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lpd_slurm	*s = arg;
	struct agent		*a;
	unsigned		 h;

	for (h = 0; h < s->nhosts; h++) {
		a = &s->agents[h];
		if (a->cmds == NULL || a->watch_req == NULL)
			continue;
		courier_request_reply(a->watch_req, a->cmds);
		a->watch_req = NULL;
		a->cmds = NULL;
	}
}

static int
ops_start(void *arg, struct lpd_node *n, const struct lpd_node_start *st,
    char **cause)
{
	struct lpd_slurm	*s = arg;

	if (st->listen_fd != -1)
		close(st->listen_fd);
	n->host = s->agents[s->placed[n->slot]].host;
	s->live[n->slot] = true;
	/* The first start is the agent's own, once it has the addresses. */
	if (!s->initial)
		cmd_add(s, n->slot, RV_CMD_START);
	return (0);
}

static void
ops_signal(void *arg, struct lpd_node *n, int sig)
{
	cmd_add(arg, n->slot, sig == SIGKILL ? RV_CMD_KILL : RV_CMD_TERM);
}

/* ------------------------------------------------------------------ */
/* The rendezvous service                                              */
/* ------------------------------------------------------------------ */

/* A keyword argument of a type; NULL with *err set if missing. */
static const courier_value *
kw(courier_request *req, const char *key, enum courier_type type,
    courier_error **err)
{
	const courier_value	*v = courier_request_kwarg(req, key);

	if (v == NULL || courier_value_type(v) != type) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "%s: no %s %s",
		    courier_request_method(req), courier_type_name(type), key);
		return (NULL);
	}
	return (v);
}

/*
 * Check a call's token; false with *err if it is not the job's. Tokens
 * are compared in full whatever differs, so that the time of a refusal
 * says nothing of the token.
 */
static bool
rv_token(struct lpd_slurm *s, courier_request *req, courier_error **err)
{
	const courier_value	*t;
	const char		*tok;
	size_t			 len, i;
	unsigned char		 diff = 0;

	if ((t = kw(req, "token", COURIER_STRING, err)) == NULL)
		return (false);
	tok = courier_value_string(t, &len);
	if (len != RV_TOKEN_LEN)
		diff = 1;
	else {
		for (i = 0; i < RV_TOKEN_LEN; i++)
			diff |= (unsigned char)(tok[i] ^ s->token[i]);
	}
	if (diff != 0) {
		courier_error_set(err, COURIER_PERMISSION_DENIED,
		    "not an agent of this job: wrong token");
		return (false);
	}
	return (true);
}

/* Check a call's token and agent number; the agent, or NULL with *err. */
static struct agent *
rv_agent(struct lpd_slurm *s, courier_request *req, courier_error **err)
{
	const courier_value	*v;
	int64_t			 id;

	if (!rv_token(s, req, err) ||
	    (v = kw(req, "agent", COURIER_INT, err)) == NULL)
		return (NULL);
	id = courier_value_int(v);
	if (s->nhosts == 0 || id < 0 || id >= s->nhosts ||
	    !s->agents[id].joined) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT,
		    "no agent %lld joined", (long long)id);
		return (NULL);
	}
	return (&s->agents[id]);
}

/* Every host joined: place the nodes and answer each join. */
static void
rv_place(struct lpd_slurm *s)
{
	struct lpd_slurm_host	*hosts;
	courier_value		*r, **mine, *text;
	char			*cause = NULL, *list = NULL, *old;
	size_t			 i;
	unsigned		 h;

	hosts = xcalloc(s->nhosts, sizeof *hosts);
	for (h = 0; h < s->nhosts; h++) {
		hosts[h].name = s->agents[h].host;
		hosts[h].slots = s->agents[h].slots;
		old = list;
		xasprintf(&list, "%s%s%s (%u CPU%s)", old != NULL ? old : "",
		    old != NULL ? ", " : "", hosts[h].name, hosts[h].slots,
		    hosts[h].slots == 1 ? "" : "s");
		free(old);
	}
	if (lpd_slurm_place(s->pv, hosts, s->nhosts, s->placed,
	    &cause) != 0) {
		for (h = 0; h < s->nhosts; h++) {
			courier_request_fail(s->agents[h].join_req,
			    COURIER_FAILED_PRECONDITION, "%s", cause);
			s->agents[h].join_req = NULL;
		}
		sj_fail_early(s, LPD_SLURM_REFUSED, "%s", cause);
		free(cause);
		free(hosts);
		free(list);
		return;
	}
	free(hosts);
	sj_say(s, false, "job %s: %u host%s: %s", s->job != NULL ? s->job : "?",
	    s->nhosts, s->nhosts == 1 ? "" : "s", list);
	free(list);
	s->phase = PH_BIND;
	evtimer_del(s->timer);

	/* Each host's nodes in one pass; the file's text once for all. */
	mine = xcalloc(s->nhosts, sizeof *mine);
	for (h = 0; h < s->nhosts; h++)
		mine[h] = courier_list_new();
	for (i = 0; i < s->pv->nnodes; i++)
		courier_list_append(mine[s->placed[i]], courier_int((int64_t)i));
	text = courier_bytes(s->text, s->len);
	for (h = 0; h < s->nhosts; h++) {
		r = courier_dict_new();
		courier_dict_set(r, "program", courier_value_ref(text));
		courier_dict_set(r, "file", courier_string(s->file));
		courier_dict_set(r, "name", courier_string(s->pv->name));
		courier_dict_set(r, "path", courier_string(s->path));
		courier_dict_set(r, "cwd", courier_string(s->cwd));
		courier_dict_set(r, "nodes", mine[h]);
		courier_request_reply(s->agents[h].join_req, r);
		s->agents[h].join_req = NULL;
	}
	courier_value_unref(text);
	free(mine);
}

/* join(token, host, addr, slots, nodeid, nhosts, job) */
static courier_value *
rv_join(void *self, courier_request *req, courier_error **err)
{
	struct lpd_slurm	*s = self;
	const courier_value	*host, *addr, *slots, *id, *nh, *job;
	struct agent		*a;
	struct timeval		 tv;
	int64_t			 i, n;

	if (!rv_token(s, req, err) ||
	    (host = kw(req, "host", COURIER_STRING, err)) == NULL ||
	    (addr = kw(req, "addr", COURIER_STRING, err)) == NULL ||
	    (slots = kw(req, "slots", COURIER_INT, err)) == NULL ||
	    (id = kw(req, "nodeid", COURIER_INT, err)) == NULL ||
	    (nh = kw(req, "nhosts", COURIER_INT, err)) == NULL ||
	    (job = kw(req, "job", COURIER_STRING, err)) == NULL)
		return (NULL);
	if (s->phase != PH_SUBMIT) {
		courier_error_set(err, COURIER_FAILED_PRECONDITION,
		    "the job's hosts have all joined already");
		return (NULL);
	}
	n = courier_value_int(nh);
	i = courier_value_int(id);
	if (n < 1 || n > 100000 || (s->nhosts != 0 && n != s->nhosts) ||
	    i < 0 || i >= n || courier_value_int(slots) < 1 ||
	    courier_value_int(slots) > 1000000) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "join: "
		    "host %lld of %lld, %lld slots: out of range",
		    (long long)i, (long long)n,
		    (long long)courier_value_int(slots));
		return (NULL);
	}
	if (s->nhosts == 0) {
		s->nhosts = (unsigned)n;
		s->agents = xcalloc(s->nhosts, sizeof *s->agents);
	}
	a = &s->agents[i];
	if (a->joined) {
		courier_error_set(err, COURIER_ALREADY_EXISTS, "host %lld "
		    "joined already", (long long)i);
		return (NULL);
	}
	a->joined = true;
	a->host = xstrdup(courier_value_string(host, NULL));
	a->addr = xstrdup(courier_value_string(addr, NULL));
	a->slots = (unsigned)courier_value_int(slots);
	if (s->job == NULL)
		s->job = xstrdup(courier_value_string(job, NULL));
	courier_request_defer(req);
	a->join_req = req;
	if (++s->njoined == s->nhosts)
		rv_place(s);
	else if (s->njoined == 1) {
		/* The allocation came: now a bound for the other hosts. */
		evtimer_del(s->timer);
		tv.tv_sec = JOIN_WAIT_S;
		tv.tv_usec = 0;
		evtimer_add(s->timer, &tv);
	}
	return (NULL);
}

/* Every host bound its nodes' sockets: start the mirror, answer all. */
static void
rv_start(struct lpd_slurm *s)
{
	struct lpd_run_opts	 o = s->ropts;
	struct lpd_node_ops	 ops = { ops_start, ops_signal, s, true };
	struct lpd_run_cb	 mcb = { sj_mirror_output, sj_mirror_event,
				    sj_mirror_done };
	courier_value		*list;
	bool			*local;
	char			*cause = NULL;
	size_t			 i;
	unsigned		 h;

	local = xcalloc(s->pv->nnodes, sizeof *local);
	for (i = 0; i < s->pv->nnodes; i++) {
		local[i] = true;
		if (lpd_type_serves(s->pv->groups[lpd_slurm_slot_group(s->pv,
		    i)].type) && s->addresses[i] == NULL) {
			sj_fail_early(s, LPD_STATUS_FAILED, "no address for "
			    "node %zu from its host", i);
			free(local);
			return;
		}
	}
	o.local = local;
	o.addresses = s->addresses;
	o.ops = &ops;
	s->initial = true;
	s->phase = PH_RUN;
	s->run = lpd_run_start(s->base, s->p, &o, &mcb, s, &cause);
	s->initial = false;
	free(local);
	if (s->run == NULL) {
		s->phase = PH_BIND;
		sj_fail_early(s, LPD_STATUS_FAILED, "%s", cause);
		free(cause);
		for (h = 0; h < s->nhosts; h++) {
			courier_request_fail(s->agents[h].bound_req,
			    COURIER_ABORTED, "the program cannot start");
			s->agents[h].bound_req = NULL;
		}
		return;
	}
	s->p = NULL;	/* the mirror's now */
	/* Every host gets the same answer: built once. */
	list = courier_list_new();
	for (i = 0; i < s->pv->nnodes; i++) {
		courier_list_append(list, s->addresses[i] != NULL ?
		    courier_string(s->addresses[i]) : courier_null());
	}
	for (h = 0; h < s->nhosts; h++) {
		courier_request_reply(s->agents[h].bound_req,
		    courier_value_ref(list));
		s->agents[h].bound_req = NULL;
	}
	courier_value_unref(list);
	if (s->stop_asked)
		lpd_run_stop(s->run, false, "the stop was asked for");
}

/* bound(token, agent, addresses: [[slot, address], ...]) */
static courier_value *
rv_bound(void *self, courier_request *req, courier_error **err)
{
	struct lpd_slurm	*s = self;
	struct agent		*a;
	const courier_value	*v, *pair, *sv, *av;
	size_t			 i, n, h;
	int64_t			 slot;
	char			*why = NULL;

	if ((a = rv_agent(s, req, err)) == NULL ||
	    (v = kw(req, "addresses", COURIER_LIST, err)) == NULL)
		return (NULL);
	h = (size_t)(a - s->agents);
	if (s->phase != PH_BIND || a->bound) {
		courier_error_set(err, COURIER_FAILED_PRECONDITION,
		    "bound: not now");
		return (NULL);
	}
	n = courier_list_len(v);
	for (i = 0; i < n; i++) {
		pair = courier_list_get(v, i);
		sv = courier_list_get(pair, 0);
		av = courier_list_get(pair, 1);
		if (sv == NULL || av == NULL ||
		    courier_value_type(sv) != COURIER_INT ||
		    courier_value_type(av) != COURIER_STRING) {
			courier_error_set(err, COURIER_INVALID_ARGUMENT,
			    "bound: addresses[%zu] is not [slot, address]", i);
			return (NULL);
		}
		slot = courier_value_int(sv);
		if (slot < 0 || (size_t)slot >= s->pv->nnodes ||
		    s->placed[slot] != h || s->addresses[slot] != NULL ||
		    !courier_address_valid(courier_value_string(av, NULL),
		    &why)) {
			courier_error_set(err, COURIER_INVALID_ARGUMENT,
			    "bound: addresses[%zu]: not a node of this host, "
			    "or a bad address%s%s", i, why != NULL ? ": " : "",
			    why != NULL ? why : "");
			free(why);
			return (NULL);
		}
		s->addresses[slot] = xstrdup(courier_value_string(av, NULL));
	}
	a->bound = true;
	courier_request_defer(req);
	a->bound_req = req;
	if (++s->nbound == s->nhosts)
		rv_start(s);
	return (NULL);
}

/* The mirror's node slot, if the agent runs it; else NULL with *err. */
static struct lpd_node *
rv_node(struct lpd_slurm *s, struct agent *a, const courier_value *v,
    courier_error **err)
{
	int64_t	 slot;

	if (v == NULL || courier_value_type(v) != COURIER_INT ||
	    (slot = courier_value_int(v)) < 0 ||
	    (size_t)slot >= s->pv->nnodes ||
	    s->placed[slot] != (size_t)(a - s->agents)) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT,
		    "report: not a node of this host");
		return (NULL);
	}
	return (lpd_run_node(s->run, (size_t)slot));
}

/* One item of a report. */
static int
rv_item(struct lpd_slurm *s, struct agent *a, const courier_value *it,
    courier_error **err)
{
	const courier_value	*k = courier_list_get(it, 0);
	const courier_value	*x = courier_list_get(it, 2);
	const courier_value	*y = courier_list_get(it, 3);
	struct lpd_node		*n = NULL;
	const char		*text;
	char			*msg;
	size_t			 len;
	int64_t			 kind;

	if (k == NULL || courier_value_type(k) != COURIER_INT) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT,
		    "report: an item without a kind");
		return (-1);
	}
	kind = courier_value_int(k);
	if (kind != RV_STOP && kind != RV_CANCELLED &&
	    (n = rv_node(s, a, courier_list_get(it, 1), err)) == NULL)
		return (-1);
	switch (kind) {
	case RV_OUT:
		if (y == NULL || courier_value_type(y) != COURIER_BYTES)
			break;
		text = courier_value_bytes(y, &len);
		if (s->live[n->slot])
			lpd_run_node_output(s->run, n,
			    courier_value_bool(x), text, len);
		return (0);
	case RV_STARTED:
		if (x != NULL && courier_value_type(x) == COURIER_INT &&
		    s->live[n->slot])
			n->pid = (pid_t)courier_value_int(x);
		return (0);
	case RV_READY:
		if (s->live[n->slot])
			lpd_run_node_ready(s->run, n);
		return (0);
	case RV_ERROR:
		if (x == NULL || courier_value_type(x) != COURIER_STRING)
			break;
		free(s->why[n->slot]);
		s->why[n->slot] = xstrdup(courier_value_string(x, NULL));
		return (0);
	case RV_EXITED:
		if (x == NULL || courier_value_type(x) != COURIER_INT)
			break;
		if (!s->live[n->slot])
			return (0);
		s->live[n->slot] = false;
		msg = s->why[n->slot];
		s->why[n->slot] = NULL;
		lpd_run_node_exited(s->run, n, (int)courier_value_int(x), msg);
		free(msg);
		return (0);
	case RV_LOST:
		if (x == NULL || courier_value_type(x) != COURIER_INT)
			break;
		xasprintf(&msg, "%lld lines of its output were lost on the "
		    "way from %s", (long long)courier_value_int(x), a->host);
		if (s->cb.event != NULL)
			s->cb.event(s->arg, n, LPD_EV_LOG, msg);
		free(msg);
		return (0);
	case RV_STOP:
	case RV_CANCELLED:
		x = courier_list_get(it, 1);
		if (x == NULL || courier_value_type(x) != COURIER_STRING)
			break;
		if (kind == RV_STOP) {
			lpd_run_stop_requested(s->run, NULL);
			lpd_run_stop(s->run, false, courier_value_string(x,
			    NULL));
		} else
			lpd_run_fail(s->run, courier_value_string(x, NULL));
		return (0);
	}
	courier_error_set(err, COURIER_INVALID_ARGUMENT,
	    "report: a malformed item of kind %lld", (long long)kind);
	return (-1);
}

/* report(token, agent, items) */
static courier_value *
rv_report(void *self, courier_request *req, courier_error **err)
{
	struct lpd_slurm	*s = self;
	struct agent		*a;
	const courier_value	*v;
	size_t			 i, n;

	if ((a = rv_agent(s, req, err)) == NULL ||
	    (v = kw(req, "items", COURIER_LIST, err)) == NULL)
		return (NULL);
	if (s->run == NULL || lpd_run_done(s->run))
		return (NULL);	/* late: nothing to tell any more */
	n = courier_list_len(v);
	for (i = 0; i < n; i++) {
		if (rv_item(s, a, courier_list_get(v, i), err) != 0)
			return (NULL);
		if (lpd_run_done(s->run))
			break;
	}
	return (NULL);
}

/* watch(token, agent): answered with commands, when there are some. */
static courier_value *
rv_watch(void *self, courier_request *req, courier_error **err)
{
	struct lpd_slurm	*s = self;
	struct agent		*a;

	if ((a = rv_agent(s, req, err)) == NULL)
		return (NULL);
	if (a->watch_req != NULL) {
		courier_error_set(err, COURIER_ALREADY_EXISTS,
		    "watch: one at a time");
		return (NULL);
	}
	courier_request_defer(req);
	a->watch_req = req;
	if (a->cmds != NULL)
		event_active(s->flush_ev, 0, 0);
	return (NULL);
}

/* The address agents reach us at: the host's, or as given. */
char *
rv_submit_host(const char *given, char **cause)
{
	struct addrinfo	 hints, *res = NULL;
	char		 name[256], buf[INET6_ADDRSTRLEN];
	const char	*h = given;
	int		 r;

	if (h == NULL) {
		if (gethostname(name, sizeof name) != 0)
			snprintf(name, sizeof name, "localhost");
		name[sizeof name - 1] = '\0';
		h = name;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(h, NULL, &hints, &res)) != 0 || res == NULL) {
		xasprintf(cause, "cannot find the address of %s: %s; give the "
		    "address the hosts reach this one at with "
		    "LPD_SLURM_SUBMIT_HOST", h, gai_strerror(r));
		return (NULL);
	}
	inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr,
	    buf, sizeof buf);
	freeaddrinfo(res);
	return (xstrdup(buf));
}

/* The rendezvous server, on our loop; its address, or NULL. */
char *
rv_listen(struct lpd_slurm *s, const char *host, char **cause)
{
	courier_server	*srv;
	char		*addr, *why = NULL;

	xasprintf(&addr, "tcp:%s:0", host);
	srv = courier_server_new();
	if (courier_server_set_base(srv, s->base) != 0 ||
	    courier_server_set_workers(srv, 0) != 0 ||
	    courier_server_set_max_frame(srv, 64 * 1024 * 1024) != 0 ||
	    courier_server_add_method(srv, RV_JOIN, rv_join, s,
	    COURIER_METHOD_INLINE, &why) != 0 ||
	    courier_server_add_method(srv, RV_BOUND, rv_bound, s,
	    COURIER_METHOD_INLINE, &why) != 0 ||
	    courier_server_add_method(srv, RV_REPORT, rv_report, s,
	    COURIER_METHOD_INLINE, &why) != 0 ||
	    courier_server_add_method(srv, RV_WATCH, rv_watch, s,
	    COURIER_METHOD_INLINE, &why) != 0 ||
	    courier_server_listen(srv, addr, &why) != 0 ||
	    courier_server_start(srv, &why) != 0) {
		xasprintf(cause, "cannot serve the hosts' agents on %s: %s",
		    addr, why != NULL ? why : "unknown error");
		free(why);
		free(addr);
		courier_server_free(srv);
		return (NULL);
	}
	free(addr);
	s->server = srv;
	return (xstrdup(courier_server_address(srv)));
}

