/*
 * probe.c: a courier node's readiness. A node is running once it says so
 * on LP_READY_FD (libcourier's nodes do, as s6's readiness notification
 * works), or once it answers a ListMethods call; until then the probe
 * asks again with a backoff. Where the node may say so itself, the probe
 * first waits PROBE_READY_WAIT_MS, so that a launch of a thousand nodes
 * makes no thousand connections to ask.
 */
#include "run.h"

/* Close a node's probe, if any (from its own callback too). */
void
lpd_probe_close(struct run_node *sn)
{
	struct probe	*pr = sn->probe;

	if (pr == NULL)
		return;
	sn->probe = NULL;	/* a cancelled call's callback finds none */
	if (pr->client != NULL)
		courier_client_free(pr->client);
	free(pr);
}

/* The node does not serve yet: ask again a bit later. */
static void
probe_retry(struct run_node *sn)
{
	struct probe	*pr = sn->probe;
	struct timeval	 tv;

	if (pr->delay_ms == 0)
		pr->delay_ms = PROBE_MIN_MS;
	else if ((pr->delay_ms *= 2) > PROBE_MAX_MS)
		pr->delay_ms = PROBE_MAX_MS;
	tv = ms_tv(pr->delay_ms);
	evtimer_add(sn->timer, &tv);
}

/* The embedder says a node serves; see lpd.h. */
void
lpd_run_node_ready(struct lpd_run *run, struct lpd_node *n)
{
	struct run_node	*sn = n->priv;

	if (sn->n.run != run)
		fatalx("%s: %s is not a node of this run", __func__, n->name);
	lpd_probe_ready(sn);
}

/* The node answered ListMethods, or said it serves: it does. */
void
lpd_probe_ready(struct run_node *sn)
{
	lpd_probe_close(sn);
	if (sn->n.state != LPD_NODE_STARTING)
		return;
	evtimer_del(sn->timer);		/* a probe that was to come */
	lpd_run_node_event(sn, SN_RUNS);
	lpd_run_event(sn->n.run, sn, LPD_EV_READY, sn->n.address);
}

/*
 * The probe's ListMethods ended. Any answer from the node, even an error,
 * says it serves; no connection, or a connection closed before the
 * answer, says not yet.
 */
static void
probe_done_cb(courier_future *f, void *arg)
{
	struct run_node	*sn = arg;
	struct probe	*pr = sn->probe;
	courier_error	*err = NULL;
	courier_value	*v;
	enum courier_code code = COURIER_OK;

	if (pr == NULL || pr->f != f) {
		courier_future_free(f);	/* the probe was closed */
		return;
	}
	pr->f = NULL;
	if ((v = courier_future_wait(f, 0, &err)) == NULL)
		code = courier_error_code(err);
	courier_value_unref(v);
	courier_error_free(err);
	courier_future_free(f);
	if (code == COURIER_UNAVAILABLE || code == COURIER_CANCELLED ||
	    code == COURIER_DEADLINE_EXCEEDED)
		probe_retry(sn);
	else
		lpd_probe_ready(sn);
}

/*
 * Ask a node that does not serve yet for its methods, through a client
 * of its own on the run's loop (made once, kept until the node serves).
 */
void
lpd_probe_start(struct run_node *sn)
{
	struct probe	*pr;
	struct timeval	 tv;
	char		*cause = NULL;

	if ((pr = sn->probe) == NULL) {
		pr = sn->probe = xcalloc(1, sizeof *pr);
		if (sn->ready_fd != -1) {
			/* It may say so first; ask only if it does not. */
			tv = ms_tv(PROBE_READY_WAIT_MS);
			evtimer_add(sn->timer, &tv);
			return;
		}
	}
	if (pr->client == NULL) {
		if ((pr->client = courier_client_new(sn->n.address,
		    &cause)) == NULL)
			fatalx("%s: %s", __func__, cause);
		if (courier_client_set_base(pr->client, sn->n.run->base) != 0)
			fatalx("%s: cannot put a client on the loop",
			    __func__);
		/* Retried here, on the node's timer, not by the client. */
		courier_client_set_wait_for_ready(pr->client, false);
	}
	pr->f = courier_list_methods_async(pr->client, COURIER_FOREVER);
	courier_future_then(pr->f, probe_done_cb, sn);	/* may run now */
}
