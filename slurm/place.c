/*
 * place.c: what a program asks of Slurm, and which host runs which node.
 *
 * The job asks for one task of one CPU per CPU the nodes need (a node's
 * "resources.cpus", 1 by default), so that Slurm chooses the hosts and
 * how many CPUs each gives, under the user's own options (--nodes,
 * --ntasks-per-node, a partition). Memory goes per CPU, at the most any
 * node needs per CPU; GPUs in one count for the job. The nodes are then
 * packed, in file order, onto the hosts in Slurm's order, each on the
 * first with enough CPUs left: with Slurm's block distribution that is
 * the host whose tasks the node's CPUs are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "slurm.h"

/* Place every node; see slurm.h. */
int
lpd_slurm_place(const struct lpd_program *p, struct lpd_slurm_host *hosts,
    size_t nhosts, size_t *host, char **cause)
{
	const struct lpd_group	*g;
	size_t			 gi, h, k = 0;
	unsigned		 j;

	for (h = 0; h < nhosts; h++)
		hosts[h].used = 0;
	for (gi = 0; gi < p->ngroups; gi++) {
		g = &p->groups[gi];
		for (j = 0; j < g->replicas; j++, k++) {
			for (h = 0; h < nhosts; h++) {
				if (hosts[h].slots - hosts[h].used >= g->cpus)
					break;
			}
			if (h == nhosts) {
				xasprintf(cause, "%s/%u needs %u CPU%s on one "
				    "host and no host of the job has %s "
				    "left; ask Slurm for whole hosts "
				    "(--slurm-arg=--exclusive) or fewer "
				    "CPUs per node", g->name, j, g->cpus,
				    g->cpus == 1 ? "" : "s",
				    g->cpus == 1 ? "one" : "them");
				return (-1);
			}
			hosts[h].used += g->cpus;
			host[k] = h;
		}
	}
	return (0);
}

/* The srun options the program's resources make; see slurm.h. */
char **
lpd_slurm_request(const struct lpd_program *p, size_t *n)
{
	const struct lpd_group	*g;
	uint64_t		 cpus = 0, gpus = 0, per, mem = 0;
	char			**v;
	size_t			 i;

	for (i = 0; i < p->ngroups; i++) {
		g = &p->groups[i];
		cpus += (uint64_t)g->replicas * g->cpus;
		gpus += (uint64_t)g->replicas * g->gpus;
		per = (g->mem_mb + g->cpus - 1) / g->cpus;
		if (per > mem)
			mem = per;
	}
	v = xcalloc(5, sizeof *v);
	*n = 0;
	xasprintf(&v[(*n)++], "--ntasks=%llu", (unsigned long long)cpus);
	v[(*n)++] = xstrdup("--cpus-per-task=1");
	if (mem != 0)
		xasprintf(&v[(*n)++], "--mem-per-cpu=%llu",
		    (unsigned long long)mem);
	if (gpus != 0)
		xasprintf(&v[(*n)++], "--gpus=%llu", (unsigned long long)gpus);
	return (v);
}

/*
 * The tasks on host nodeid, from Slurm's compressed count list: "4",
 * "2(x3)", "2(x2),1". 0 if the list is malformed or too short.
 */
unsigned
lpd_slurm_tasks_on(const char *s, unsigned nodeid)
{
	unsigned long	 count, times;
	unsigned long	 at = 0;
	unsigned	 found = 0;
	char		*end;

	/* The whole list is read, so that a malformed one says nothing. */
	while (*s != '\0') {
		if (*s < '0' || *s > '9')
			return (0);
		count = strtoul(s, &end, 10);
		if (count == 0 || count > 1000000)
			return (0);
		times = 1;
		if (strncmp(end, "(x", 2) == 0) {
			s = end + 2;
			if (*s < '0' || *s > '9')
				return (0);
			times = strtoul(s, &end, 10);
			if (times == 0 || times > 1000000 || *end != ')')
				return (0);
			end++;
		}
		if (found == 0 && nodeid >= at && nodeid < at + times)
			found = (unsigned)count;
		at += times;
		if (*end == ',' && end[1] != '\0')
			end++;
		else if (*end != '\0')
			return (0);
		s = end;
	}
	return (found);
}

/* The group of node slot; see slurm.h. */
size_t
lpd_slurm_slot_group(const struct lpd_program *p, size_t slot)
{
	size_t	 g;

	for (g = 0; g + 1 < p->ngroups; g++) {
		if (slot < p->groups[g].replicas)
			break;
		slot -= p->groups[g].replicas;
	}
	return (g);
}
