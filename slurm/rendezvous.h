/*
 * rendezvous.h: the protocol between the submit side (submit.c, in lpctl
 * run or lpd) and the host agents (agent.c, `lpctl agent` on each host of
 * the Slurm job), both sides' one header. It is courier RPC over TCP: the
 * submit side serves, each agent is a client on one connection.
 *
 * 1. join: an agent says which host it runs on, its address there and the
 *    CPU slots Slurm gave the job on it. The answer comes once every host
 *    has joined: the program file's text and the nodes placed on the host.
 * 2. bound: the agent has bound a TCP socket for each courier node placed
 *    on it, on its host's address, and gives their addresses. The answer
 *    comes once every host has: every node's address. The agent then
 *    starts its nodes, each with LP_LISTEN_FD and every handle resolved.
 * 3. report: what happens to the agent's nodes, batched per turn of its
 *    loop: output lines, starts, readiness, ends, a node's request to stop.
 * 4. watch: the submit side's commands to the agent (signal a node, start
 *    it again, end), answered when there are some; the agent asks again at
 *    once. While the submit side lives, one watch is always in flight, so
 *    an agent learns that it died from the call failing, and stops its
 *    nodes.
 *
 * So a launch costs two round trips per host, whatever the number of
 * nodes, and a stop one answer per host. Every call carries the job's
 * token, a random secret the submit side hands to its agents through
 * their environment: a call without it is refused.
 */
#ifndef LPD_RENDEZVOUS_H
#define LPD_RENDEZVOUS_H

/* The agents' environment, set by the submit side on srun. */
#define RV_ENV_CONNECT	"LPD_AGENT_CONNECT"	/* tcp:HOST:PORT */
#define RV_ENV_TOKEN	"LPD_AGENT_TOKEN"	/* 32 hex digits */

#define RV_TOKEN_LEN	32

/*
 * join(token, host, addr, slots, nodeid, nhosts, job) -> {program, file,
 * name, path, cwd, nodes}: program is the file's text, file its path,
 * name the program's name, path and cwd where its commands are looked up,
 * nodes the slots (lpd_run_node indices) placed on this host.
 */
#define RV_JOIN		"join"
/*
 * bound(token, agent, addresses) -> {addresses}: addresses are [slot,
 * "tcp:A:P"] pairs of this host's courier nodes; the answer is every
 * slot's address (null for process nodes).
 */
#define RV_BOUND	"bound"
/* report(token, agent, items) -> null: items as below. */
#define RV_REPORT	"report"
/* watch(token, agent) -> [[op, slot], ...]: the commands, as below. */
#define RV_WATCH	"watch"

/* A report's items: lists whose first value is one of these. */
#define RV_OUT		0	/* [OUT, slot, err, line] */
#define RV_STARTED	1	/* [STARTED, slot, pid] */
#define RV_READY	2	/* [READY, slot] */
#define RV_ERROR	3	/* [ERROR, slot, message]: could not start */
#define RV_EXITED	4	/* [EXITED, slot, wait status] */
#define RV_STOP		5	/* [STOP, why]: a node asked for the stop */
#define RV_CANCELLED	6	/* [CANCELLED, why]: Slurm signalled us */
#define RV_LOST		7	/* [LOST, slot, lines]: output lines dropped */

/* A watch answer's commands. */
#define RV_CMD_TERM	0	/* [TERM, slot]: the stop notice */
#define RV_CMD_KILL	1	/* [KILL, slot] */
#define RV_CMD_START	2	/* [START, slot]: start an ended node again */
#define RV_CMD_EXIT	3	/* [EXIT, -1]: the program is over */

#endif /* LPD_RENDEZVOUS_H */
