/*
 * program-dot.c: a program's topology as Graphviz DOT (lpctl graph): a
 * cluster per group, a node per replica, an edge per handle reference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"

/* Append s as a DOT quoted string. */
static void
dot_quote(struct sbuf *b, const char *prefix, const char *s,
    const char *suffix)
{
	const char	*c;

	lpd_sbuf_add(b, "\"", 1);
	lpd_sbuf_puts(b, prefix);
	for (c = s; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\')
			lpd_sbuf_add(b, "\\", 1);
		lpd_sbuf_add(b, c, 1);
	}
	lpd_sbuf_puts(b, suffix);
	lpd_sbuf_add(b, "\"", 1);
}

/* Append the DOT name of node GROUP/INDEX. */
static void
dot_node(struct sbuf *b, const struct lpd_group *g, unsigned i)
{
	char	 suffix[16];

	snprintf(suffix, sizeof suffix, "/%u", i);
	dot_quote(b, "", g->name, suffix);
}

/* Append the DOT edge from node (g, i) to node (t, j). */
static void
dot_edge(struct sbuf *b, const struct lpd_group *g, unsigned i,
    const struct lpd_group *t, unsigned j)
{
	lpd_sbuf_add(b, "\t", 1);
	dot_node(b, g, i);
	lpd_sbuf_puts(b, " -> ");
	dot_node(b, t, j);
	lpd_sbuf_puts(b, ";\n");
}

/*
 * The program as a Graphviz DOT digraph (the caller frees): a cluster per
 * group holding its nodes, and an edge from each node to each node its
 * config holds a handle to.
 */
char *
lpd_program_graph(const struct lpd_program *p)
{
	struct sbuf		 b = { NULL, 0, 0 };
	const struct lpd_group	*g, *t;
	const struct lpd_edge	*e;
	size_t			 gi, k;
	unsigned		 i, j;
	char			 suffix[32];

	lpd_sbuf_puts(&b, "digraph ");
	dot_quote(&b, "", p->name, "");
	lpd_sbuf_puts(&b, " {\n");
	for (gi = 0; gi < p->ngroups; gi++) {
		g = &p->groups[gi];
		lpd_sbuf_puts(&b, "\tsubgraph ");
		dot_quote(&b, "cluster_", g->name, "");
		lpd_sbuf_puts(&b, " {\n\t\tlabel=");
		snprintf(suffix, sizeof suffix, " (%s)",
		    lpd_type_name(g->type));
		dot_quote(&b, "", g->name, suffix);
		lpd_sbuf_puts(&b, ";\n");
		for (i = 0; i < g->replicas; i++) {
			lpd_sbuf_puts(&b, "\t\t");
			dot_node(&b, g, i);
			lpd_sbuf_puts(&b, ";\n");
		}
		lpd_sbuf_puts(&b, "\t}\n");
	}
	for (gi = 0; gi < p->ngroups; gi++) {
		g = &p->groups[gi];
		for (i = 0; i < g->replicas; i++) {
			for (k = 0; k < g->nedges; k++) {
				e = &g->edges[k];
				t = &p->groups[e->target];
				if (e->index != -1) {
					dot_edge(&b, g, i, t,
					    (unsigned)e->index);
					continue;
				}
				for (j = 0; j < t->replicas; j++)
					dot_edge(&b, g, i, t, j);
			}
		}
	}
	lpd_sbuf_puts(&b, "}\n");
	return (lpd_sbuf_take(&b));
}
