/*
 * slurm.h: the Slurm backend (slurm/), which lpctl run embeds: one
 * program as one Slurm job. Prototypes are grouped by the file that
 * defines them.
 *
 * The submit side (submit.c) starts the job with srun: one task per CPU
 * the program asks for, and on each host the first task is our agent
 * (agent.c, `lpctl agent`), the others end at once. The agents meet the
 * submit side at its rendezvous service (rendezvous.h), which places the
 * nodes on the hosts (place.c) and hands out every address before any
 * node starts. Each agent then supervises its share of the nodes with the
 * supervisor core, and the submit side mirrors the whole program in a run
 * of its own (lpd.h, through lpd_node_ops): logs, last lines, restarts,
 * fail-fast, the stop and its grace, the exit status, all as on one
 * machine. The agents carry out what that run decides.
 */
#ifndef LPD_SLURM_H
#define LPD_SLURM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lpd.h"

struct event_base;
struct lpd_slurm;

/* What lpd_slurm_status gives once done, beside LPD_STATUS_*. */
#define LPD_SLURM_REFUSED	2	/* no job: Slurm refused it, or it
					   found no allocation in time */

#define LPD_SLURM_TIMEOUT_DEFAULT 60.0	/* seconds to wait for the hosts */

struct lpd_slurm_opts {
	char *const	*slurm_args;	/* passed to srun before ours */
	size_t		 nslurm_args;
	double		 timeout_s;	/* for the allocation; 0: default */
	const char	*agent;		/* the lpctl each host runs `agent` of
					   (the same path on every host) */
	const char	*srun;		/* NULL: "srun" on PATH */
	const char	*submit_host;	/* the address agents reach us at;
					   NULL: our host name's */
	const char	*file_text;	/* the program file, as loaded */
	size_t		 file_len;
	char *const	*env;		/* srun's and so the nodes'; NULL:
					   environ */
	const char	*cwd;		/* where relative paths start; NULL:
					   ours */
	struct lpd_run_opts run;	/* the mirror's: log_dir, grace_s */
	/* A message of the backend's own ("job 12: 3 hosts"). */
	void		(*say)(void *arg, bool alert, const char *msg);
};

/*
 * Start p as a Slurm job; the backend owns p from then on. cb's output
 * and event come from the mirror run, as lpd_run's do (node->host says
 * where each runs), done once the job is gone, with run NULL if no node
 * ever started. NULL with *cause if srun cannot even start.
 */
struct lpd_slurm *lpd_slurm_start(struct event_base *, struct lpd_program *,
		    const struct lpd_slurm_opts *, const struct lpd_run_cb *,
		    void *, char **);
/* Stop as lpd_run_stop does; before the nodes start, cancel the job. */
void		 lpd_slurm_stop(struct lpd_slurm *, bool kill, const char *);
/* As lpd_run_set_grace; before the nodes start, for the stop to come. */
void		 lpd_slurm_set_grace(struct lpd_slurm *, double);
/* LPD_STATUS_OK, LPD_STATUS_FAILED or LPD_SLURM_REFUSED, once done. */
int		 lpd_slurm_status(const struct lpd_slurm *);
const char	*lpd_slurm_cause(const struct lpd_slurm *);
/* The mirror run, once the nodes started; else NULL. */
struct lpd_run	*lpd_slurm_run(const struct lpd_slurm *);
/* The job's id, once Slurm gave one; else NULL. */
const char	*lpd_slurm_job(const struct lpd_slurm *);
/* Free, once done (else kill the job first, which blocks). */
void		 lpd_slurm_free(struct lpd_slurm *);

/* agent.c: `lpctl agent`, run by srun on every host. */
int		 lpd_slurm_agent_main(void);

/* place.c: which host runs which node. */
struct lpd_slurm_host {
	char		*name;		/* SLURMD_NODENAME */
	unsigned	 slots;		/* CPUs Slurm gave us there */
	unsigned	 used;
};
/*
 * Place every node (slot order) on the first host with CPUs left for it;
 * host[i] gets the host of node i. -1 with *cause if one does not fit.
 */
int		 lpd_slurm_place(const struct lpd_program *,
		    struct lpd_slurm_host *, size_t, size_t *, char **);
/*
 * What the program asks of Slurm, as srun options (caller frees each
 * and the array): --ntasks, --cpus-per-task, --mem-per-cpu, --gpus.
 */
char		**lpd_slurm_request(const struct lpd_program *, size_t *);
/* The group of node slot (lpd_run_node's order). */
size_t		 lpd_slurm_slot_group(const struct lpd_program *, size_t);
/*
 * CPU slots of host nodeid from SLURM_STEP_TASKS_PER_NODE ("2(x3),1");
 * 0 if the text says nothing of it.
 */
unsigned	 lpd_slurm_tasks_on(const char *, unsigned);

#endif /* LPD_SLURM_H */
