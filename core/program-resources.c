/*
 * program-resources.c: "resources" of a node entry, what each node of the
 * group needs of one host: CPUs, memory and GPUs. One machine checks and
 * ignores it; the Slurm backend asks Slurm for it (slurm/place.c).
 */
#include <stdio.h>

#include "program-load.h"

/* An integer from lo to hi, for "resources"; -1 after an error. */
static long long
resource_int(struct loader *l, json_t *v, long long lo, long long hi,
    const char *unit)
{
	char		 what[96];
	json_int_t	 n;

	n = json_is_integer(v) ? json_integer_value(v) : lo - 1;
	if (n < lo || n > hi) {
		snprintf(what, sizeof what, "an integer from %lld to %lld%s",
		    lo, hi, unit);
		pl_error_type(l, v, what);
		return (-1);
	}
	return (n);
}

/* "resources.cpus": CPUs each node of the group needs. */
static void
resource_cpus(struct loader *l, json_t *obj, json_t *v)
{
	long long	 n;

	if ((n = resource_int(l, v, 1, LPD_CPUS_MAX, "")) != -1)
		l->g->cpus = (unsigned)n;
}

/* "resources.mem_mb": memory each node needs, in MiB (Slurm's MB). */
static void
resource_mem(struct loader *l, json_t *obj, json_t *v)
{
	long long	 n;

	if ((n = resource_int(l, v, 0, LPD_MEM_MB_MAX, " (MiB)")) != -1)
		l->g->mem_mb = (uint64_t)n;
}

/* "resources.gpus": GPUs each node needs. */
static void
resource_gpus(struct loader *l, json_t *obj, json_t *v)
{
	long long	 n;

	if ((n = resource_int(l, v, 0, LPD_GPUS_MAX, "")) != -1)
		l->g->gpus = (unsigned)n;
}

static const struct key resource_keys[] = {
	{ "cpus",		false,	resource_cpus },
	{ "mem_mb",		false,	resource_mem },
	{ "gpus",		false,	resource_gpus },
};

/*
 * "resources" of a node entry: what each node needs of a host. One
 * machine checks and ignores it; the Slurm backend asks Slurm for it.
 */
void
pl_node_resources(struct loader *l, json_t *obj, json_t *v)
{
	if (!json_is_object(v)) {
		pl_error_type(l, v, "an object such as {\"cpus\": 2, "
		    "\"mem_mb\": 4096, \"gpus\": 1}");
		return;
	}
	pl_check_keys(l, v, resource_keys, nitems(resource_keys));
}
