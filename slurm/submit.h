/*
 * submit.h: the submit side's own header, shared by submit.c (srun, the
 * job's phases, the embedder's calls) and rendezvous.c (the service the
 * agents call, and the mirror run's ops), and by nobody else.
 */
#ifndef LPD_SUBMIT_H
#define LPD_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <event2/event.h>

#include "courier-internal.h"
#include "rendezvous.h"
#include "slurm.h"

extern char **environ;

#define SRUN_LINES	8		/* srun's last lines, for errors */
#define SRUN_LINE_MAX	1024
#define END_WAIT_S	15		/* for srun after the agents exit */
#define JOIN_WAIT_S	60		/* for every host, after the first */

enum phase {
	PH_SUBMIT,
	PH_BIND,
	PH_RUN,
	PH_END,
	PH_DONE,
};

/* One host of the job, as its agent joined. */
struct agent {
	bool			 joined;
	bool			 bound;
	char			*host;		/* SLURMD_NODENAME */
	char			*addr;		/* its NodeAddr */
	unsigned		 slots;
	courier_request		*join_req;	/* deferred answers */
	courier_request		*bound_req;
	courier_request		*watch_req;
	courier_value		*cmds;		/* for the next watch */
};

struct lpd_slurm {
	struct event_base	*base;
	struct lpd_program	*p;		/* ours until the mirror's */
	const struct lpd_program *pv;		/* p, whoever owns it */
	struct lpd_run_cb	 cb;		/* the embedder's */
	void			*arg;
	struct lpd_run_opts	 ropts;
	void			(*say)(void *, bool, const char *);
	double			 timeout_s;

	char			*file;
	char			*text;
	size_t			 len;
	char			*path;		/* PATH, for the commands */
	char			*cwd;
	char			 token[RV_TOKEN_LEN + 1];
	courier_server		*server;

	pid_t			 srun;		/* 0 once reaped */
	int			 srun_pidfd;
	struct event		*srun_ev;
	int			 srun_out;
	struct event		*out_ev;
	char			 part[SRUN_LINE_MAX];
	size_t			 partlen;
	char			*lines[SRUN_LINES];	/* srun's last lines */
	unsigned		 nlines;
	int			 srun_status;
	char			*job;

	enum phase		 phase;
	unsigned		 nhosts;	/* 0 until the first join */
	struct agent		*agents;
	unsigned		 njoined;
	unsigned		 nbound;
	size_t			 nnodes;
	size_t			*placed;	/* host of each node */
	char			**addresses;	/* of each node */
	char			**why;		/* a node's start error */
	bool			*live;		/* started through the ops */
	bool			 initial;	/* inside lpd_run_start */

	struct lpd_run		*run;
	struct event		*timer;		/* the timeout, the end */
	struct event		*flush_ev;
	struct event		*done_ev;
	bool			 stop_asked;
	bool			 timed_out;
	int			 status;
	char			*cause;
};

/* submit.c */
void	 sj_say(struct lpd_slurm *, bool, const char *, ...)
	    COURIER_PRINTF(3, 4);
void	 sj_finish(struct lpd_slurm *);
void	 sj_fail_early(struct lpd_slurm *, int, const char *, ...)
	    COURIER_PRINTF(3, 4);
void	 sj_scancel(struct lpd_slurm *);
void	 sj_mirror_output(void *, struct lpd_node *, bool, const char *,
	    size_t);
void	 sj_mirror_event(void *, struct lpd_node *, enum lpd_event,
	    const char *);
void	 sj_mirror_done(void *, struct lpd_run *, int);

/* rendezvous.c */
void	 rv_flush_cb(evutil_socket_t, short, void *);
char	*rv_submit_host(const char *, char **);
char	*rv_listen(struct lpd_slurm *, const char *, char **);

#endif /* LPD_SUBMIT_H */
