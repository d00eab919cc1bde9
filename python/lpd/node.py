"""The node runtime: lpd.node_main(cls), lpd.stop_program(),
lpd.wait_for_stop(timeout), as libcourier's courier/node.h does it for C.

lpd (or lpctl run) starts a node with the LP_* environment (lpd-node(7)).
node_main reads it, makes the node's object with its config's keys as
keyword arguments (handles, the addresses LP_HANDLES points at, turned
into lpd.Client objects), serves its public methods on LP_LISTEN_FD (or
LP_ADDRESS), calls its run() when LP_RUN is 1, and stops on SIGTERM or
SIGINT. Exit status as for a C node: 0 when all went well, 1 when the node
failed (its constructor, serving, or run raised), 2 when the environment
is not a node's.
"""
import errno
import inspect
import json
import os
import signal
import sys
import threading
import traceback

from . import server as _server
from .client import Client
from ._errors import RpcError

# How long the server lets calls in flight finish once the node stops.
DRAIN = 2.0
# How long stop_program() waits for the supervisor's answer.
CONTROL_TIMEOUT = 5.0


class _Node:
    """The one node of this process."""

    def __init__(self):
        self.name = None
        self.program = None
        self.control = None
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.clients = {}           # address -> Client
        self.control_state = None   # None, "calling", "done"
        self.control_cv = threading.Condition(self.lock)
        self.stop_cbs = []

    def client(self, address):
        with self.lock:
            c = self.clients.get(address)
            if c is None:
                c = self.clients[address] = Client(address)
                if self.stop_event.is_set():
                    c._cancel("the node is stopping")
            return c

    def stop(self):
        """Begin the node's stop, once: calls through its handles end with
        CANCELLED, and wait_for_stop() returns."""
        with self.lock:
            if self.stop_event.is_set():
                return
            self.stop_event.set()
            clients = list(self.clients.values())
        for c in clients:
            c._cancel("%s: the node is stopping" % (self.name or "node"))


_node = _Node()


def wait_for_stop(timeout=None):
    """Wait until this node's stop began (SIGTERM, stop_program(), the end
    of run()); True once it has, False if timeout seconds passed first."""
    return _node.stop_event.wait(timeout)


def stopping():
    """Whether this node's stop began."""
    return _node.stop_event.is_set()


def node_name():
    """LP_NODE, this node's name ("group/index"), or None."""
    return _node.name


def program_name():
    """LP_PROGRAM, this node's program's name, or None."""
    return _node.program


def stop_program():
    """Stop the whole program: ask the supervisor (LP_CONTROL), then stop
    this node. Any thread may call it, any number of times; it returns
    once the supervisor knows (or could not be reached)."""
    n = _node
    call = False
    with n.lock:
        if n.control is not None:
            if n.control_state is None:
                n.control_state = "calling"
                call = True
            while n.control_state == "calling" and not call:
                n.control_cv.wait()
    if call:
        try:
            # No waiting for a supervisor that is gone: it fails at once.
            with Client(n.control, timeout=CONTROL_TIMEOUT,
                        wait_for_ready=False) as c:
                c.call("stop_program", n.name)
        except RpcError as e:
            print("%s: cannot ask the supervisor at %s to stop the program: "
                  "%s: %s" % (n.name, n.control, e.code, e.message),
                  file=sys.stderr, flush=True)
        with n.lock:
            n.control_state = "done"
            n.control_cv.notify_all()
    n.stop()


class _EnvError(Exception):
    pass


def _env(name):
    v = os.environ.get(name)
    return v if v else None


def _read_env():
    """The node's parameters from the LP_* environment."""
    p = {}
    p["name"] = _env("LP_NODE")
    if p["name"] is None:
        raise _EnvError("not started by lpd: LP_NODE is not set; run it "
                        "with `lpctl run PROGRAM.json`")
    group, slash, index = p["name"].partition("/")
    if not group or not slash or not index.isdigit():
        raise _EnvError("LP_NODE is \"%s\": expected GROUP/INDEX, as "
                        "\"producer/0\"" % p["name"])
    p["program"] = _env("LP_PROGRAM")
    if p["program"] is None:
        raise _EnvError("LP_PROGRAM is not set: it names the program")
    p["address"] = _env("LP_ADDRESS")
    p["control"] = _env("LP_CONTROL")
    run = _env("LP_RUN") or "1"
    if run not in ("0", "1"):
        raise _EnvError("LP_RUN is \"%s\": it must be 1 (call the run "
                        "function) or 0 (do not)" % run)
    p["run"] = run == "1"
    p["listen_fd"] = _env_fd("LP_LISTEN_FD")
    if p["listen_fd"] is not None:
        if p["address"] is None:
            raise _EnvError("LP_LISTEN_FD is set but LP_ADDRESS is not: a "
                            "listening socket needs the address it serves")
        _check_listen_fd(p["listen_fd"])
    p["ready_fd"] = _env_fd("LP_READY_FD")
    text = _env("LP_CONFIG")
    try:
        p["config"] = json.loads(text) if text is not None else None
    except ValueError as e:
        raise _EnvError("LP_CONFIG is not valid JSON: %s" % e) from None
    text = _env("LP_HANDLES")
    try:
        p["handles"] = json.loads(text) if text is not None else []
    except ValueError as e:
        raise _EnvError("LP_HANDLES is not valid JSON: %s" % e) from None
    if not isinstance(p["handles"], list) or \
            not all(isinstance(h, str) for h in p["handles"]):
        raise _EnvError("LP_HANDLES is not a JSON list of paths")
    return p


def _env_fd(name):
    """The file descriptor an LP_* variable names, or None if unset."""
    fd = _env(name)
    if fd is None:
        return None
    if not fd.isdigit() or not fd.isascii():
        raise _EnvError("%s is \"%s\": it must be a file descriptor number"
                        % (name, fd))
    return int(fd)


def _say_ready(fd):
    """The node serves: a line on LP_READY_FD tells the supervisor, which
    then need not ask (as s6's readiness notification works)."""
    if fd is None:
        return
    try:
        os.write(fd, b"\n")
    except OSError:
        pass                    # a supervisor that went: nobody to tell
    try:
        os.close(fd)
    except OSError:
        pass


def _check_listen_fd(fd):
    """LP_LISTEN_FD must be a socket that listens: another open file (say
    stdin) is not the node's to take."""
    import socket
    try:
        os.fstat(fd)
    except OSError as e:
        raise _EnvError("LP_LISTEN_FD is %d: %s" % (
            fd, "no such open file descriptor" if e.errno == errno.EBADF
            else e.strerror)) from None
    try:
        s = socket.socket(fileno=os.dup(fd))
    except OSError as e:
        raise _EnvError("LP_LISTEN_FD is %d: not a listening socket (%s)"
                        % (fd, e.strerror)) from None
    try:
        on = s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    except OSError as e:
        raise _EnvError("LP_LISTEN_FD is %d: not a listening socket (%s)"
                        % (fd, e.strerror)) from None
    finally:
        s.close()
    if not on:
        raise _EnvError("LP_LISTEN_FD is %d: a socket that does not listen"
                        % fd)


def _unescape(step):
    return step.replace("~1", "/").replace("~0", "~")


def _resolve_handles(config, paths, make):
    """Replace, in config, the address at each path ("producers/0") by
    make(address)."""
    for path in paths:
        steps = [_unescape(s) for s in path.split("/")]
        holder = config
        try:
            for s in steps[:-1]:
                holder = holder[int(s) if isinstance(holder, list) else s]
            last = steps[-1]
            key = int(last) if isinstance(holder, list) else last
            address = holder[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise _EnvError("LP_HANDLES names %s, which LP_CONFIG does not "
                            "have" % path) from None
        if not isinstance(address, str):
            raise _EnvError("LP_HANDLES names %s, which is not an address "
                            "in LP_CONFIG" % path)
        try:
            holder[key] = make(address)
        except ValueError as e:
            raise _EnvError("config %s: %s" % (path, e)) from None


def _construct(cls, config):
    """cls made with config's keys as keyword arguments."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise TypeError("the config is a %s, not an object of keyword "
                        "arguments" % type(config).__name__)
    try:
        inspect.signature(cls).bind(**config)
    except TypeError as e:
        raise TypeError("config %s does not fit %s(): %s"
                        % (json.dumps(sorted(config)), cls.__name__, e)) \
            from None
    except ValueError:
        pass
    return cls(**config)


def _signal_bridge():
    """SIGTERM and SIGINT begin the stop. The handler only writes to a
    pipe; a thread does the work, so that no lock is taken in a signal
    handler."""
    r, w = os.pipe2(os.O_CLOEXEC)
    os.set_blocking(w, False)

    def handler(signum, frame):
        try:
            os.write(w, b"s")
        except OSError:
            pass

    def watch():
        while True:
            try:
                if not os.read(r, 64):
                    return
            except InterruptedError:
                continue
            _node.stop()

    threading.Thread(target=watch, daemon=True,
                     name="lpd signals").start()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def node_exec(cls):
    """Run this process's node of class cls; its exit status."""
    try:
        p = _read_env()
    except _EnvError as e:
        print("%s: %s" % (getattr(cls, "__name__", "node"), e),
              file=sys.stderr, flush=True)
        return 2
    n = _node
    n.name, n.program, n.control = p["name"], p["program"], p["control"]
    # Output goes to a pipe: without this, print() would reach the log
    # and the live stream only when a buffer fills or the node ends.
    for f in (sys.stdout, sys.stderr):
        try:
            f.reconfigure(line_buffering=True)
        except (AttributeError, ValueError):
            pass
    me = n.name

    def fail(msg):
        print("%s: %s" % (me, msg), file=sys.stderr, flush=True)

    if threading.current_thread() is threading.main_thread():
        _signal_bridge()
    config = p["config"]
    try:
        _resolve_handles(config, p["handles"], n.client)
    except _EnvError as e:
        fail(str(e))
        return 2
    try:
        obj = _construct(cls, config)
    except Exception as e:
        fail("setup failed: %s: %s" % (type(e).__name__, e))
        traceback.print_exc()
        n.stop()
        return 1

    status = 0
    srv = None
    if p["address"] is not None:
        try:
            srv = _server.Server(obj, name=me)
            if p["listen_fd"] is not None:
                srv.listen_fd(p["listen_fd"], p["address"])
            else:
                srv.listen(p["address"])
            srv.start()
        except (OSError, ValueError, TypeError) as e:
            fail("cannot serve on %s: %s" % (p["address"], e))
            status = 1
        else:
            _say_ready(p["ready_fd"])
    if status == 0:
        run = getattr(obj, "run", None)
        if p["run"] and callable(run):
            try:
                r = run()
            except Exception as e:
                if not (isinstance(e, RpcError) and e.code == "CANCELLED"
                        and n.stop_event.is_set()):
                    fail("run raised %s: %s" % (type(e).__name__, e))
                    traceback.print_exc()
                    status = 1
            else:
                if isinstance(r, int) and not isinstance(r, bool) and r != 0:
                    fail("run returned %d" % r)
                    status = 1
        else:
            wait_for_stop()
    # Stop first, so that calls through handles (from methods too) end
    # with CANCELLED instead of holding up the drain.
    n.stop()
    if srv is not None:
        srv.stop(DRAIN)
    for c in list(n.clients.values()):
        c.close()
    sys.stdout.flush()
    return status


def node_main(cls):
    """main() of a node written as a class: runs it (node_exec) and exits
    the process with its status."""
    sys.exit(node_exec(cls))
