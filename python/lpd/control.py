"""A client of lpd's control API: lpd.Control.

The control API is courier calls on lpd's Unix socket; every method takes
keyword arguments and answers a dict (the README's "The control API").
This is what lpctl does, for Python: launch, status, stop, logs, wait.
"""
import os

from .client import Client
from ._errors import RpcError

# The control protocol's version, which hello carries.
CTL_VERSION = 1
SOCKET_ROOT = "/run/lpd/lpd.sock"
# wait and logs are long polls of this many ms, asked again until done.
_POLL_MS = 30000


def default_socket():
    """lpd's socket as lpctl finds it: $LPD_SOCKET, else root's, else
    $XDG_RUNTIME_DIR/lpd/lpd.sock, else /tmp/lpd-UID/lpd.sock."""
    env = os.environ.get("LPD_SOCKET")
    if env:
        return env
    if os.geteuid() == 0:
        return SOCKET_ROOT
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and xdg.startswith("/"):
        return os.path.join(xdg, "lpd", "lpd.sock")
    return "/tmp/lpd-%d/lpd.sock" % os.geteuid()


class Control:
    """lpd at socket (default: as lpctl finds it). Connecting says hello,
    which checks the protocol's version; an lpd that is not there raises
    lpd.RpcError UNAVAILABLE at once, with what to do. Errors of lpd's
    are lpd.RpcError with its code (NOT_FOUND, INVALID_ARGUMENT for a
    program file that is not valid, ALREADY_EXISTS, ...)."""

    def __init__(self, socket=None):
        self.socket = socket if socket is not None else default_socket()
        self._c = Client("unix:" + self.socket, wait_for_ready=False)
        try:
            self.hello = self._call("hello", 10.0, version=CTL_VERSION)
        except RpcError as e:
            self._c.close()
            if e.code == "UNAVAILABLE":
                raise RpcError(e.code, "cannot reach lpd at %s: %s; start "
                               "lpd first (`lpd`, or `systemctl --user start "
                               "lpd`), or pass its socket" % (
                                   self.socket, e.message)) from None
            raise

    def close(self):
        self._c.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, timeout, **kwargs):
        return self._c._start(self._c._request(method, (), kwargs),
                              timeout).result()

    def launch(self, path, name=None, grace=None, env=None, cwd=None):
        """Launch the program file at path, with this process's
        environment and working folder (or env, a dict, and cwd), under
        name if given; the program's name."""
        file = os.path.realpath(path)
        with open(file, "rb") as f:
            text = f.read()
        if env is None:
            env = os.environ
        kw = {
            "file": file,
            "text": text,
            "env": ["%s=%s" % kv for kv in env.items()],
            "cwd": cwd if cwd is not None else os.getcwd(),
        }
        if name is not None:
            kw["name"] = name
        if grace is not None:
            kw["grace"] = float(grace)
        return self._call("launch", 60.0, **kw)["program"]

    def status(self, name=None):
        """lpd's status of every program this user may see, or of one: the
        dict `lpctl status --json` prints ({"version", "programs"})."""
        kw = {} if name is None else {"program": name}
        return self._call("status", 30.0, **kw)

    def stop(self, name, grace=None, kill=False, wait=True):
        """Stop a program: SIGTERM to its nodes, SIGKILL after grace
        seconds (default the program's stop.grace_s), or at once with
        kill. With wait, returns once it ended, with its exit status (as
        wait()); else its state now."""
        kw = {"program": name, "kill": bool(kill)}
        if grace is not None:
            kw["grace"] = float(grace)
        v = self._call("stop", 30.0, **kw)
        if not wait:
            return v["state"]
        return self.wait(name)

    def wait(self, name):
        """Wait for a program to end; its exit status: 0, or 1 if it
        failed or was lost."""
        while True:
            v = self._call("wait", _POLL_MS / 1000 + 10, program=name,
                           wait_ms=_POLL_MS)
            if v["done"]:
                status = v.get("status")
                return status if isinstance(status, int) else 1

    def logs(self, name, node=None, n=None, timestamps=False):
        """The last n lines (all if None) of a node's output, or of every
        node's, each line then prefixed "[group/index] " as lpctl logs
        prints them; with timestamps, each line keeps the time lpd read it
        (as lpctl logs -t)."""
        kw = {"program": name, "lines": -1 if n is None else int(n)}
        if timestamps:
            kw["timestamps"] = True
        if node is not None:
            kw["node"] = node
        v = self._call("logs", 30.0, **kw)
        lines = []
        for item in v["nodes"]:
            text = item["data"].decode("utf-8", "replace")
            for line in text.splitlines():
                lines.append(line if node is not None else
                             "[%s] %s" % (item["node"], line))
        return lines

    def client(self, name, node, timeout=None):
        """An lpd.Client of a courier node of a running program."""
        p = self.status(name)["programs"][0]
        for n in p["nodes"]:
            if n["name"] == node:
                if not n.get("address"):
                    raise RpcError("FAILED_PRECONDITION", "node %s of %s "
                                   "serves no address (a process node)"
                                   % (node, name))
                return Client(n["address"], timeout=timeout)
        raise RpcError("NOT_FOUND", "program %s has no node %s"
                       % (name, node))
