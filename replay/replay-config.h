/*
 * replay-config.h: the replay node's config, checked whole. The node
 * reads it at its start, and the supervisor core checks the same config
 * when it reads a program file, so that lpctl validate refuses what the
 * node would: both link this small library (replay-config.c and the
 * limiter's arithmetic), which needs no table, store or thread.
 */
#ifndef REPLAY_CONFIG_H
#define REPLAY_CONFIG_H

#include "table.h"

struct replay_config {
	struct replay_table_config *tables;
	size_t			 ntables;
	char			*ckpt_dir;	/* NULL: no checkpoints */
	int			 ckpt_every_s;	/* 0: on request and at stop */
};

/*
 * Read cfg (the node's LP_CONFIG): 0, or -1 with *cause holding every
 * error found, one per line, each "PLACE: what", PLACE relative to the
 * config ("tables[0].sampler", "checkpoint.dir", or "config" itself).
 */
int	 replay_config_parse(const courier_value *, struct replay_config *,
	    char **);
void	 replay_config_clear(struct replay_config *);

#endif /* REPLAY_CONFIG_H */
