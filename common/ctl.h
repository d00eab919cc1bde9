/*
 * ctl.h: lpd's control protocol, the one header that lpd and lpctl (and
 * any other client) both include. The protocol is courier calls on lpd's
 * Unix socket: every method takes keyword arguments and answers a dict.
 * The README's "The control API" lists what each method takes and gives.
 */
#ifndef LPD_CTL_H
#define LPD_CTL_H

/* The protocol's version: the hello call carries it, lpd checks it. */
#define LPD_CTL_VERSION		1

/* The methods. */
#define LPD_CTL_HELLO		"hello"
#define LPD_CTL_LAUNCH		"launch"
#define LPD_CTL_STOP		"stop"
#define LPD_CTL_STATUS		"status"
#define LPD_CTL_WAIT		"wait"
#define LPD_CTL_LOGS		"logs"
#define LPD_CTL_CALL		"call"
#define LPD_CTL_METHODS		"methods"
#define LPD_CTL_FORGET		"forget"
#define LPD_CTL_RESTART		"restart"

/* The keyword arguments of requests. */
#define LPD_CTL_K_VERSION	"version"
#define LPD_CTL_K_PROGRAM	"program"
#define LPD_CTL_K_NODE		"node"
#define LPD_CTL_K_NAME		"name"
#define LPD_CTL_K_FILE		"file"
#define LPD_CTL_K_TEXT		"text"
#define LPD_CTL_K_ENV		"env"
#define LPD_CTL_K_CWD		"cwd"
#define LPD_CTL_K_GRACE		"grace"
#define LPD_CTL_K_KILL		"kill"
#define LPD_CTL_K_WAIT_MS	"wait_ms"
/* wait: answer also once every node is ready */
#define LPD_CTL_K_READY		"ready"
#define LPD_CTL_K_LINES		"lines"
#define LPD_CTL_K_CURSORS	"cursors"
#define LPD_CTL_K_METHOD	"method"
#define LPD_CTL_K_ARGS		"args"
#define LPD_CTL_K_KWARGS	"kwargs"
#define LPD_CTL_K_TIMEOUT_MS	"timeout_ms"
#define LPD_CTL_K_TIMESTAMPS	"timestamps"
#define LPD_CTL_K_BACKEND	"backend"	/* "local" or "slurm" */
#define LPD_CTL_K_SLURM_ARGS	"slurm_args"	/* srun options */
#define LPD_CTL_K_SLURM_TIMEOUT	"slurm_timeout"	/* seconds */
#define LPD_CTL_K_AGENT		"agent"		/* lpctl's path */

/* Where lpd listens by default, for root. */
#define LPD_CTL_SOCKET_ROOT	"/run/lpd/lpd.sock"

/*
 * The default socket of lpd for this user: $LPD_SOCKET, else root's, else
 * $XDG_RUNTIME_DIR/lpd/lpd.sock, else /tmp/lpd-UID/lpd.sock. The caller
 * frees; NULL only when out of memory.
 */
char	*lpd_ctl_default_socket(void);

#endif /* LPD_CTL_H */
