/*
 * check-replay-node.c: unit tests of the replay node, run in this process
 * on a Unix socket and called through a courier client: the methods,
 * calls that wait for the limiter without holding a handler thread, their
 * deadlines, the stop that cancels them, a config with an error in it,
 * and a restart from a checkpoint.
 */
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "courier/node.h"
#include "common.h"
#include "courier/replay.h"
#include "replay-node.h"

LP_NODE_DEF_DECLARE(replay);

#define CONFIG_QUEUE	"{\"tables\": [" \
	"{\"name\": \"q\", \"sampler\": \"fifo\", \"remover\": \"fifo\", " \
	"\"max_size\": 100, \"max_times_sampled\": 1, " \
	"\"rate_limiter\": {\"queue\": 100}, \"seed\": 1}, " \
	"{\"name\": \"p\", \"sampler\": \"prioritized\", " \
	"\"priority_exponent\": 1, \"max_size\": 1000, \"seed\": 2}]"

static char	 dir[64];
static char	 addr[128];

struct running {
	lp_node		*node;
	pthread_t	 thread;
	int		 status;
	courier_client	*client;
};

static void *
node_main(void *arg)
{
	struct running	*r = arg;

	r->status = lp_node_exec(r->node);
	return (NULL);
}

/* Start a replay node with config (JSON) and a client of it. */
static void
start(struct running *r, const char *config)
{
	struct lp_node_params	 p = {
		.program = "test", .name = "replay/0", .address = addr,
		.listen_fd = -1, .config = config, .run = true,
	};
	char			*cause = NULL;

	r->node = lp_node_new(lp_node_def_replay(), &p, &cause);
	ck_assert_msg(r->node != NULL, "%s", cause);
	ck_assert_int_eq(pthread_create(&r->thread, NULL, node_main, r), 0);
	r->client = courier_client_new(addr, &cause);
	ck_assert_ptr_nonnull(r->client);
	courier_client_set_timeout(r->client, 10000);
}

/* Stop it and return its exit status. */
static int
stop(struct running *r)
{
	lp_node_stop(r->node);
	pthread_join(r->thread, NULL);
	courier_client_free(r->client);
	lp_node_free(r->node);
	return (r->status);
}

static void
node_setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check-replay-node-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(addr, sizeof addr, "unix:%s/replay.sock", dir);
}

static void
node_teardown(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Call and expect success. */
static courier_value *
call(struct running *r, const char *method, courier_value *args)
{
	courier_error	*err = NULL;
	courier_value	*v = courier_call(r->client, method, args, &err);

	ck_assert_msg(v != NULL, "%s: %s", method,
	    err != NULL ? courier_error_message(err) : "?");
	return (v);
}

/* Insert an int item into table with a priority; its key. */
static int64_t
insert(struct running *r, int64_t item, const char *table, double prio)
{
	courier_value	*prios = courier_dict_new(), *v;
	int64_t		 key;

	courier_dict_set(prios, table, courier_double(prio));
	v = call(r, "insert", courier_args(courier_int(item), prios));
	key = courier_value_int(v);
	courier_value_unref(v);
	return (key);
}

/* info()[table][field] as an int. */
static int64_t
waiting(struct running *r, const char *table, const char *field)
{
	courier_value	*v = call(r, "info", courier_list_new());
	int64_t		 n;

	n = courier_value_int(courier_dict_get(courier_dict_get(v, table),
	    field));
	courier_value_unref(v);
	return (n);
}

/* The methods do what they say. */
START_TEST(test_replay_node_methods)
{
	struct running		 r;
	courier_value		*v, *prios, *u;
	const courier_value	*d;
	int64_t			 k1, k2;

	start(&r, CONFIG_QUEUE "}");
	k1 = insert(&r, 10, "q", 0);
	k2 = insert(&r, 20, "q", 0);
	ck_assert_int_lt(k1, k2);
	/* One item in two tables, stored once. */
	prios = courier_dict_new();
	courier_dict_set(prios, "q", courier_int(1));
	courier_dict_set(prios, "p", courier_int(5));
	courier_value_unref(call(&r, "insert",
	    courier_args(courier_int(30), prios)));

	v = call(&r, "sample", courier_args(courier_string("q"),
	    courier_int(2)));
	ck_assert_uint_eq(courier_list_len(v), 2);
	d = courier_list_get(v, 0);
	ck_assert_int_eq(courier_value_int(courier_dict_get(d, "item")), 10);
	ck_assert_int_eq(courier_value_int(courier_dict_get(d, "key")), k1);
	ck_assert_int_eq(courier_value_int(courier_dict_get(d,
	    "times_sampled")), 1);
	ck_assert_double_eq(courier_value_double(courier_dict_get(d,
	    "probability")), 1);
	courier_value_unref(v);

	u = courier_dict_new();
	courier_dict_set(u, "999", courier_double(2));
	v = call(&r, "update_priorities", courier_args(courier_string("p"),
	    u));
	ck_assert_int_eq(courier_value_int(v), 0);
	courier_value_unref(v);

	v = call(&r, "info", courier_list_new());
	d = courier_dict_get(v, "q");
	ck_assert_int_eq(courier_value_int(courier_dict_get(d, "size")), 1);
	ck_assert_int_eq(courier_value_int(courier_dict_get(d, "samples")),
	    2);
	ck_assert_str_eq(courier_value_string(courier_dict_get(d, "sampler"),
	    NULL), "fifo");
	ck_assert(courier_value_bool(courier_dict_get(d, "can_sample")));
	courier_value_unref(v);

	v = call(&r, "delete", courier_args(courier_string("q"),
	    courier_args(courier_int(k2), courier_int(12345))));
	ck_assert_int_eq(courier_value_int(v), 0);	/* k2 was sampled */
	courier_value_unref(v);
	courier_value_unref(call(&r, "reset",
	    courier_args(courier_string("p"))));
	v = call(&r, "info", courier_list_new());
	d = courier_dict_get(v, "p");
	ck_assert_int_eq(courier_value_int(courier_dict_get(d, "size")), 0);
	courier_value_unref(v);
	ck_assert_int_eq(stop(&r), 0);
}
END_TEST

/* Bad arguments fail with a code that says so. */
START_TEST(test_replay_node_errors)
{
	struct running	 r;
	courier_error	*err = NULL;
	courier_value	*prios = courier_dict_new();

	start(&r, CONFIG_QUEUE "}");
	ck_assert_ptr_null(courier_call(r.client, "sample",
	    courier_args(courier_string("nope")), &err));
	ck_assert_int_eq(courier_error_code(err), COURIER_NOT_FOUND);
	courier_error_free(err);
	err = NULL;
	ck_assert_ptr_null(courier_call(r.client, "sample",
	    courier_args(courier_string("q"), courier_int(0)), &err));
	ck_assert_int_eq(courier_error_code(err), COURIER_INVALID_ARGUMENT);
	courier_error_free(err);
	err = NULL;
	courier_dict_set(prios, "p", courier_int(-1));
	ck_assert_ptr_null(courier_call(r.client, "insert",
	    courier_args(courier_int(1), prios), &err));
	ck_assert_int_eq(courier_error_code(err), COURIER_INVALID_ARGUMENT);
	courier_error_free(err);
	err = NULL;
	ck_assert_ptr_null(courier_call(r.client, "checkpoint",
	    courier_list_new(), &err));
	ck_assert_int_eq(courier_error_code(err), COURIER_FAILED_PRECONDITION);
	courier_error_free(err);
	ck_assert_int_eq(stop(&r), 0);
}
END_TEST

#define WAITERS	12

/*
 * Twelve samples of an empty queue wait, three times the handler threads:
 * an info call still goes through, and twelve inserts end them all.
 */
START_TEST(test_replay_node_waits)
{
	struct running	 r;
	courier_future	*f[WAITERS];
	courier_error	*err = NULL;
	courier_value	*v;
	int		 i;

	start(&r, CONFIG_QUEUE "}");
	for (i = 0; i < WAITERS; i++)
		f[i] = courier_call_async(r.client, "sample",
		    courier_args(courier_string("q")));
	/* All wait in the table, none on a handler thread. */
	while (waiting(&r, "q", "waiting_samples") != WAITERS)
		usleep(1000);
	for (i = 0; i < WAITERS; i++)
		ck_assert(!courier_future_done(f[i]));
	for (i = 0; i < WAITERS; i++)
		insert(&r, i, "q", 0);
	for (i = 0; i < WAITERS; i++) {
		v = courier_future_wait(f[i], 10000, &err);
		ck_assert_msg(v != NULL, "%s", courier_error_message(err));
		ck_assert_uint_eq(courier_list_len(v), 1);
		courier_value_unref(v);
		courier_future_free(f[i]);
	}
	ck_assert_int_eq(stop(&r), 0);
}
END_TEST

/* A wait ends at its deadline, and leaves nothing behind that eats items. */
START_TEST(test_replay_node_deadline)
{
	struct running	 r;
	courier_error	*err = NULL;
	courier_value	*v;

	start(&r, CONFIG_QUEUE "}");
	ck_assert_ptr_null(courier_call_kw(r.client, "sample",
	    courier_args(courier_string("q")), NULL, 100, &err));
	ck_assert_int_eq(courier_error_code(err), COURIER_DEADLINE_EXCEEDED);
	courier_error_free(err);
	err = NULL;
	/* The client gave up; the node ends the call at its own deadline. */
	while (waiting(&r, "q", "waiting_samples") != 0)
		usleep(1000);
	insert(&r, 7, "q", 0);
	/* Two draws wait for two items: the one there is not used up. */
	ck_assert_ptr_null(courier_call_kw(r.client, "sample",
	    courier_args(courier_string("q"), courier_int(2)), NULL, 100,
	    &err));
	ck_assert_int_eq(courier_error_code(err), COURIER_DEADLINE_EXCEEDED);
	courier_error_free(err);
	err = NULL;
	while (waiting(&r, "q", "waiting_samples") != 0)
		usleep(1000);
	/* More draws at once than the queue ever holds: refused. */
	ck_assert_ptr_null(courier_call(r.client, "sample",
	    courier_args(courier_string("q"), courier_int(101)), &err));
	ck_assert_int_eq(courier_error_code(err), COURIER_INVALID_ARGUMENT);
	courier_error_free(err);
	v = call(&r, "sample", courier_args(courier_string("q")));
	ck_assert_int_eq(courier_value_int(courier_dict_get(
	    courier_list_get(v, 0), "item")), 7);
	courier_value_unref(v);
	ck_assert_int_eq(stop(&r), 0);
}
END_TEST

/* The stop ends a waiting call with CANCELLED. */
START_TEST(test_replay_node_stop)
{
	struct running	 r;
	courier_future	*f;
	courier_error	*err = NULL;

	start(&r, CONFIG_QUEUE "}");
	f = courier_call_async(r.client, "sample",
	    courier_args(courier_string("q")));
	/* Stop once the call waits in the table (the test's own timeout
	 * ends a hang). */
	while (waiting(&r, "q", "waiting_samples") != 1)
		usleep(1000);
	lp_node_stop(r.node);
	ck_assert_ptr_null(courier_future_wait(f, 10000, &err));
	ck_assert_msg(courier_error_code(err) == COURIER_CANCELLED, "%s: %s",
	    courier_code_name(courier_error_code(err)),
	    courier_error_message(err));
	courier_error_free(err);
	courier_future_free(f);
	ck_assert_int_eq(stop(&r), 0);
}
END_TEST

/* A config error fails the node and names its place. */
START_TEST(test_replay_node_bad_config)
{
	struct running	 r;

	start(&r, "{\"tables\": [{\"name\": \"x\", \"sampler\": \"heap\"}]}");
	pthread_join(r.thread, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(lp_node_failure(r.node),
	    "tables[0].sampler"));
	courier_client_free(r.client);
	lp_node_free(r.node);
}
END_TEST

/* Each config error is refused with its place. */
START_TEST(test_replay_node_config)
{
	static const struct {
		const char	*json;
		const char	*cause;
	} bad[] = {
		{ "[]", "config: not an object" },
		{ "{\"tables\": []}", "tables: not a list" },
		{ "{\"tables\": [{\"name\": \"a\", \"max_size\": 0}]}",
		    "tables[0].max_size: 0" },
		{ "{\"tables\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}",
		    "tables[1].name: \"a\" again" },
		{ "{\"tables\": [{\"name\": \"a\", \"size\": 3}]}",
		    "tables[0]: unknown key \"size\"" },
		{ "{\"tables\": [{\"name\": \"a\", \"rate_limiter\": "
		    "{\"queue\": 0}}]}",
		    "tables[0].rate_limiter: queue size 0 is under 1" },
		{ "{\"tables\": [{\"name\": \"a\", \"rate_limiter\": "
		    "{\"queue\": 5, \"min_size_to_sample\": 2}}]}",
		    "tables[0].rate_limiter: queue goes alone" },
		{ "{\"tables\": [{\"name\": \"a\", \"rate_limiter\": "
		    "{\"samples_per_insert\": 4}}]}", "go together" },
		{ "{\"tables\": [{\"name\": \"a\", \"rate_limiter\": "
		    "{\"samples_per_insert\": 4, \"min_size_to_sample\": 10, "
		    "\"error_buffer\": [50, 60]}}]}", "never" },
		{ "{\"tables\": [{\"name\": \"a\", \"rate_limiter\": "
		    "{\"samples_per_insert\": 4, \"error_buffer\": 1}}]}",
		    "narrower" },
		{ "{\"tables\": [{\"name\": \"a\", "
		    "\"priority_exponent\": -1}]}", "priority_exponent -1" },
		{ "{\"tables\": [{\"name\": \"a\"}], \"checkpoint\": {}}",
		    "checkpoint.dir: missing" },
	};
	struct replay_config	 nc;
	courier_value		*v;
	size_t			 i;
	char			*cause;

	for (i = 0; i < nitems(bad); i++) {
		cause = NULL;
		v = courier_value_from_json(bad[i].json, NULL);
		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(replay_config_parse(v, &nc, &cause), -1);
		ck_assert_msg(strstr(cause, bad[i].cause) != NULL,
		    "%s: %s", bad[i].json, cause);
		free(cause);
		courier_value_unref(v);
	}
	/* Every error at once, one line each, in order. */
	v = courier_value_from_json("{\"tables\": [{\"name\": \"a\", "
	    "\"sampler\": \"unifrom\", \"max_size\": 0}, {\"name\": "
	    "\"a\", \"s\\n\": 1}], \"checkpoint\": {}}", NULL);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(replay_config_parse(v, &nc, &cause), -1);
	ck_assert_str_eq(cause, "tables[0].sampler: unknown sampler "
	    "\"unifrom\" (did you mean \"uniform\"?): one of uniform, fifo, "
	    "lifo, prioritized, max_heap, min_heap\n"
	    "tables[0].max_size: 0; a table holds one item or more\n"
	    "tables[1]: an unknown key\n"
	    "tables[1].name: \"a\" again (first in tables[0])\n"
	    "checkpoint.dir: missing: the folder of the checkpoint files");
	ck_assert_ptr_null(nc.tables);
	free(cause);
	courier_value_unref(v);

	v = courier_value_from_json("{\"tables\": [{\"name\": \"a\", "
	    "\"rate_limiter\": {\"samples_per_insert\": 8, "
	    "\"min_size_to_sample\": 1000, \"error_buffer\": 100}}], "
	    "\"checkpoint\": {\"dir\": \"d\", \"every_s\": 60}}", NULL);
	ck_assert_int_eq(replay_config_parse(v, &nc, NULL), 0);
	ck_assert_double_eq(nc.tables[0].limiter.min_diff, 7900);
	ck_assert_uint_eq(nc.tables[0].max_size, 1000000);
	ck_assert_int_eq(nc.tables[0].sampler, REPLAY_UNIFORM);
	ck_assert_int_eq(nc.ckpt_every_s, 60);
	replay_config_clear(&nc);
	courier_value_unref(v);
}
END_TEST

/* The typed client: inserts, samples and updates, sync and futures. */
START_TEST(test_replay_node_client)
{
	static const char *const both[] = { "q", "p" };
	static const double	 prios[] = { 0, 4 };
	struct running		 r;
	struct courier_replay_draw	 d[3];
	courier_future		*fi, *fs;
	courier_error		*err = NULL;
	courier_value		*item = courier_string("x"), *info;
	uint64_t		 k1, k2;

	start(&r, CONFIG_QUEUE "}");
	/* A sample first: it waits until the two inserts below are in. */
	fs = courier_replay_sample_async(r.client, "q", 2, 10000);
	ck_assert_int_eq(courier_replay_insert(r.client, item, both, prios, 2,
	    10000, &k1, &err), 0);
	fi = courier_replay_insert_async(r.client, item, both, prios, 1,
	    10000);
	ck_assert_int_eq(courier_replay_insert_result(fi, 10000, &k2, &err),
	    0);
	courier_future_free(fi);
	ck_assert_uint_gt(k2, k1);
	ck_assert_int_eq(courier_replay_sample_result(fs, 10000, 2, d, &err),
	    0);
	courier_future_free(fs);
	ck_assert_uint_eq(d[0].key, k1);
	ck_assert_uint_eq(d[1].key, k2);
	ck_assert_str_eq(courier_value_string(d[0].item, NULL), "x");
	courier_replay_draws_clear(d, 2);

	ck_assert_int_eq(courier_replay_update(r.client, "p", &k1,
	    &(double){ 9 }, 1, 10000, &err), 1);
	ck_assert_int_eq(courier_replay_sample(r.client, "p", 3, 10000, d,
	    &err), 0);
	ck_assert_uint_eq(d[2].key, k1);	/* the only item of p */
	ck_assert_double_eq(d[2].priority, 9);
	ck_assert_double_eq(d[2].probability, 1);
	courier_replay_draws_clear(d, 3);
	ck_assert_int_eq(courier_replay_sample(r.client, "nope", 1, 10000, d,
	    &err), -1);
	ck_assert_int_eq(courier_error_code(err), COURIER_NOT_FOUND);
	courier_error_free(err);
	err = NULL;

	info = courier_replay_info(r.client, 10000, &err);
	ck_assert_ptr_nonnull(info);
	ck_assert_int_eq(courier_value_int(courier_dict_get(courier_dict_get(
	    info, "p"), "inserts")), 1);
	courier_value_unref(info);
	courier_value_unref(item);
	ck_assert_int_eq(stop(&r), 0);
}
END_TEST

/* A restarted node serves the items of its last checkpoint. */
START_TEST(test_replay_node_checkpoint)
{
	struct running	 r;
	courier_value	*v;
	char		*config;
	int		 i;

	xasprintf(&config, CONFIG_QUEUE ", \"checkpoint\": {\"dir\": "
	    "\"%s/ckpt\"}}", dir);
	start(&r, config);
	for (i = 0; i < 5; i++)
		insert(&r, 100 + i, "q", 0);
	v = call(&r, "checkpoint", courier_list_new());
	ck_assert_ptr_nonnull(strstr(courier_value_string(v, NULL), "/ckpt/"));
	courier_value_unref(v);
	v = call(&r, "sample", courier_args(courier_string("q")));
	courier_value_unref(v);
	/* The stop writes one more, with four items. */
	ck_assert_int_eq(stop(&r), 0);

	start(&r, config);
	v = call(&r, "sample", courier_args(courier_string("q"),
	    courier_int(4)));
	ck_assert_uint_eq(courier_list_len(v), 4);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(courier_value_int(courier_dict_get(
		    courier_list_get(v, (size_t)i), "item")), 101 + i);
	courier_value_unref(v);
	ck_assert_int_eq(stop(&r), 0);
	free(config);
}
END_TEST

/*
 * A node killed with SIGKILL (no last checkpoint) starts again from the
 * one it wrote before: what came after it is lost, nothing before.
 */
START_TEST(test_replay_node_crash)
{
	struct lp_node_params	 p = {
		.program = "test", .name = "replay/0", .address = addr,
		.listen_fd = -1, .run = true,
	};
	struct running		 r;
	courier_value		*v;
	lp_node			*node;
	pid_t			 pid;
	char			*config;
	int			 i, status;

	xasprintf(&config, CONFIG_QUEUE ", \"checkpoint\": {\"dir\": "
	    "\"%s/ckpt\"}}", dir);
	p.config = config;
	/* The node in a child, forked before this process has a thread. */
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		if ((node = lp_node_new(lp_node_def_replay(), &p, NULL)) ==
		    NULL)
			_exit(3);
		_exit(lp_node_exec(node));
	}
	r.client = courier_client_new(addr, NULL);
	courier_client_set_timeout(r.client, 10000);
	for (i = 0; i < 5; i++)
		insert(&r, 200 + i, "q", 0);
	courier_value_unref(call(&r, "checkpoint", courier_list_new()));
	for (i = 5; i < 8; i++)
		insert(&r, 200 + i, "q", 0);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	courier_client_free(r.client);
	/* The dead node's socket is still there: the new one replaces it. */
	unlink(addr + strlen("unix:"));

	start(&r, config);
	v = call(&r, "info", courier_list_new());
	ck_assert_int_eq(courier_value_int(courier_dict_get(courier_dict_get(
	    v, "q"), "size")), 5);
	courier_value_unref(v);
	v = call(&r, "sample", courier_args(courier_string("q"),
	    courier_int(5)));
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(courier_value_int(courier_dict_get(
		    courier_list_get(v, (size_t)i), "item")), 200 + i);
	courier_value_unref(v);
	ck_assert_int_eq(stop(&r), 0);
	free(config);
}
END_TEST

/* Whether dir holds a file whose name starts with prefix. */
static bool
has_file(const char *path, const char *prefix)
{
	DIR		*d;
	struct dirent	*de;
	bool		 found = false;

	if ((d = opendir(path)) == NULL)
		return (false);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			found = true;
	}
	closedir(d);
	return (found);
}

/* every_s writes checkpoints with no call asking for one. */
START_TEST(test_replay_node_periodic)
{
	struct running	 r;
	char		*config, *ckdir;

	xasprintf(&ckdir, "%s/ckpt", dir);
	xasprintf(&config, CONFIG_QUEUE ", \"checkpoint\": {\"dir\": "
	    "\"%s\", \"every_s\": 1}}", ckdir);
	start(&r, config);
	insert(&r, 1, "q", 0);
	/* The test's own timeout ends this if none comes. */
	while (!has_file(ckdir, "replay-"))
		usleep(10000);
	ck_assert_int_eq(stop(&r), 0);
	free(config);
	free(ckdir);
}
END_TEST

static Suite *
node_suite(void)
{
	Suite	*s = suite_create("replay-node");
	TCase	*tc;

	tc = tcase_create("node");
	tcase_add_checked_fixture(tc, node_setup, node_teardown);
	tcase_add_test(tc, test_replay_node_methods);
	tcase_add_test(tc, test_replay_node_errors);
	tcase_add_test(tc, test_replay_node_waits);
	tcase_add_test(tc, test_replay_node_deadline);
	tcase_add_test(tc, test_replay_node_stop);
	tcase_add_test(tc, test_replay_node_bad_config);
	tcase_add_test(tc, test_replay_node_config);
	tcase_add_test(tc, test_replay_node_client);
	tcase_add_test(tc, test_replay_node_crash);
	tcase_add_test(tc, test_replay_node_periodic);
	tcase_add_test(tc, test_replay_node_checkpoint);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(node_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
