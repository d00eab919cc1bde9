"""The courier server: lpd.Server, what a Python node serves with.

It speaks libcourier's protocol: each connection opens with a hello (a
frame of at most 4 KiB, within the idle timeout), then carries many calls
whose answers go back in any order, matched by call id, and ListMethods.
A frame that breaks the protocol (malformed, over the size limit, not a
hello first) closes that one connection with an error frame that says
why; nothing else is harmed.

Threads: one accepts, one per connection reads, and a pool runs the
methods, so a method that blocks (on a call to another node, say) holds
up neither reading nor the other calls.
"""
import concurrent.futures
import errno
import inspect
import os
import socket
import stat
import struct
import sys
import threading
import time
import traceback

from . import _values
from . import _wire
from . import courier_pb2 as pb
from ._errors import RpcError, code_number

WORKERS_DEFAULT = 8
# A connection that says nothing for this long before its hello, or stops
# in the middle of a frame, is closed (COURIER_IDLE_TIMEOUT_DEFAULT).
IDLE_TIMEOUT_DEFAULT = 30.0
# At most this many connections at once (COURIER_MAX_CONNS_DEFAULT); a
# connection past it is told why and closed.
MAX_CONNS_DEFAULT = 1024
# A connection with this many calls waiting for a thread is not read.
_QUEUE_HIGH = 4096
_READ_SIZE = 256 * 1024


def methods_of(obj, exclude=("run",)):
    """The public methods of obj, by name: what a node serves."""
    out = {}
    for name in dir(obj):
        if name.startswith("_") or name in exclude:
            continue
        try:
            fn = getattr(obj, name)
        except AttributeError:
            continue
        if callable(fn) and not inspect.isclass(fn):
            out[name] = fn
    return out


class _Conn:
    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.wlock = threading.Lock()
        self.queue = threading.BoundedSemaphore(_QUEUE_HIGH)
        self.closed = False

    def send(self, data):
        """Write data; a write that fails closes the connection."""
        with self.wlock:
            if self.closed:
                return
            try:
                self.sock.sendall(data)
            except OSError as e:
                # A peer that went away (a caller that gave up, lpd's
                # readiness probe once the node said it serves) is no
                # news, as in libcourier; anything else is said.
                if e.errno not in (errno.EPIPE, errno.ECONNRESET):
                    self.server._warn("closing a connection: a write "
                                      "failed: %s" % (e.strerror or e))
                self._close_locked()

    def fail(self, code, why):
        """Tell the peer why its connection ends, and end it."""
        self.server._warn("closing a connection: %s" % why)
        self.send(_wire.pack(_wire.error_frame(0, code_number(code), why)))
        self.close()

    def _close_locked(self):
        if self.closed:
            return
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self):
        with self.wlock:
            self._close_locked()


class Server:
    """A courier server of methods: an object (its public methods, except
    run) or a dict of name to callable.

    listen(address) binds "unix:PATH" or "tcp:HOST:PORT" (port 0: any; the
    address property says which); listen_fd(fd) serves on a socket bound
    and listening already (LP_LISTEN_FD). start() serves, stop(drain)
    stops: new calls fail with UNAVAILABLE, calls in flight get drain
    seconds to finish, then every connection closes.

    A method's return value is the call's result. Raising lpd.RpcError
    fails the call with its code; another exception fails it with UNKNOWN
    (and its traceback goes to stderr)."""

    def __init__(self, methods, workers=WORKERS_DEFAULT,
                 max_frame=_wire.MAX_FRAME_DEFAULT,
                 idle_timeout=IDLE_TIMEOUT_DEFAULT,
                 max_conns=MAX_CONNS_DEFAULT, name=None):
        if not isinstance(methods, dict):
            methods = methods_of(methods)
        for k, fn in methods.items():
            if not isinstance(k, str) or not k or not callable(fn):
                raise TypeError("methods: %r is not a name with a callable"
                                % (k,))
        self.methods = dict(methods)
        # Each method's signature, to check a call's arguments against
        # (None: it has none to check, as some builtins).
        self._sigs = {}
        for k, fn in self.methods.items():
            try:
                self._sigs[k] = inspect.signature(fn)
            except (TypeError, ValueError):
                self._sigs[k] = None
        self.workers = max(1, int(workers))
        self.max_frame = max_frame
        self.idle_timeout = idle_timeout
        self.max_conns = max_conns
        self.name = name
        self.address = None
        self._lsock = None
        self._unlink = None
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._state = "new"
        self._inflight = 0
        self._refused = False       # said so once already
        self._conns = set()
        self._threads = []
        self._pool = None
        self._wake_r = self._wake_w = -1

    # -- set-up -----------------------------------------------------------

    def listen(self, address):
        """Bind and listen on address. A Unix socket file left by a dead
        server is replaced; one a live server answers on is not."""
        family, where = _wire.parse_address(address)
        if family == socket.AF_UNIX:
            if not where.startswith("\0"):
                _remove_stale(address, where)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.bind(where)
            except OSError as e:
                s.close()
                raise OSError(e.errno, "%s: cannot bind: %s"
                              % (address, e.strerror)) from None
            if not where.startswith("\0"):
                self._unlink = where
        else:
            host, port = where
            try:
                infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM,
                                           0, socket.AI_PASSIVE)
            except socket.gaierror as e:
                raise OSError("%s: %s" % (address, e)) from None
            fam, typ, proto, _, sa = infos[0]
            s = socket.socket(fam, typ, proto)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(sa)
            except OSError as e:
                s.close()
                raise OSError(e.errno, "%s: cannot bind: %s"
                              % (address, e.strerror)) from None
        s.listen(128)
        self._set_listener(s)
        if family == socket.AF_INET:
            host, port = s.getsockname()[:2]
            h = where[0]
            self.address = "tcp:%s:%d" % (("[%s]" % h) if ":" in h else h,
                                          port)
        else:
            self.address = address

    def listen_fd(self, fd, address=None):
        """Serve on fd (a number or a socket), bound and listening."""
        if isinstance(fd, socket.socket):
            s = fd
        else:
            s = socket.socket(fileno=fd)
        if not s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            raise OSError("fd %d: a socket that does not listen"
                          % s.fileno())
        s.set_inheritable(False)
        self._set_listener(s)
        self.address = address or _address_of(s)

    def _set_listener(self, s):
        if self._lsock is not None:
            s.close()
            raise RuntimeError("the server listens already")
        self._lsock = s

    # -- life -------------------------------------------------------------

    def start(self):
        """Serve, on threads of the server's own."""
        if self._lsock is None:
            raise RuntimeError("listen() or listen_fd() comes before start()")
        with self._lock:
            if self._state != "new":
                raise RuntimeError("the server was started already")
            self._state = "running"
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            self.workers, thread_name_prefix="lpd.Server")
        t = threading.Thread(target=self._accept_main, daemon=True,
                             name="lpd.Server accept")
        self._threads.append(t)
        t.start()
        return self

    def stop(self, drain=2.0):
        """Stop serving: refuse new calls, give those in flight drain
        seconds, close every connection. Safe to call twice."""
        with self._lock:
            if self._state in ("stopping", "stopped"):
                return
            started = self._state == "running"
            self._state = "stopping"
        if started:
            os.write(self._wake_w, b"x")
            self._threads[0].join()
        if self._lsock is not None:
            self._lsock.close()
        if self._unlink is not None:
            try:
                os.unlink(self._unlink)
            except OSError:
                pass
        end = time.monotonic() + drain
        with self._lock:
            while self._inflight > 0:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self._drained.wait(left)
            conns = list(self._conns)
        for c in conns:
            c.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        for t in self._threads[1:]:
            t.join(1.0)
        for fd in (self._wake_r, self._wake_w):
            if fd != -1:
                os.close(fd)
        self._wake_r = self._wake_w = -1
        with self._lock:
            self._state = "stopped"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _warn(self, msg):
        print("courier server %s: %s" % (self.address or "(no address)",
                                         msg), file=sys.stderr, flush=True)

    # -- connections ------------------------------------------------------

    def _accept_main(self):
        ls = self._lsock
        ls.setblocking(False)
        while True:
            r, _ = _wire.wait([ls, self._wake_r])
            if self._wake_r in r:
                return
            try:
                sock, _ = ls.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue
            except OSError as e:
                # Out of fds, say: pause, then go on.
                self._warn("accept: %s" % (e.strerror or e))
                time.sleep(0.1)
                continue
            sock.setblocking(True)
            # A peer that reads nothing for this long loses its connection
            # (the write fails), rather than holding a thread forever.
            t = self.idle_timeout
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                            struct.pack("ll", int(t),
                                        int((t - int(t)) * 1e6)))
            if sock.family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c = _Conn(self, sock)
            with self._lock:
                if self._state != "running":
                    sock.close()
                    continue
                full = len(self._conns) >= self.max_conns
            if full:
                self._refuse(sock, "the server has as many connections as "
                             "its limit allows; close idle clients or "
                             "raise the limit")
                continue
            with self._lock:
                self._conns.add(c)
                self._threads = [t for t in self._threads if t.is_alive()
                                 or t is self._threads[0]]
                t = threading.Thread(target=self._conn_main, args=(c,),
                                     daemon=True, name="lpd.Server conn")
                self._threads.append(t)
            t.start()

    def _refuse(self, sock, why):
        """Tell a peer why it is not served, if its socket takes it at
        once, and close it."""
        if not self._refused:
            self._warn("refusing connections: %s" % why)
        self._refused = True
        sock.setblocking(False)
        try:
            sock.send(_wire.pack(_wire.error_frame(
                0, code_number("RESOURCE_EXHAUSTED"), why)))
        except OSError:
            pass
        sock.close()

    def _conn_main(self, c):
        try:
            self._conn_loop(c)
        finally:
            c.close()
            with self._lock:
                self._conns.discard(c)
            # The fd is closed once no reply can be written to it.
            with c.wlock:
                c.sock.close()

    def _conn_loop(self, c):
        reader = _wire.Reader(self.max_frame)
        hello = False
        sock = c.sock
        while not c.closed:
            r, _ = _wire.wait([sock], (), self.idle_timeout)
            if not r:
                if not hello or reader.partial():
                    c.fail("DEADLINE_EXCEEDED", "no %s in %d ms (the "
                           "server's idle timeout)" % (
                               "byte of a half-sent frame" if hello
                               else "hello frame",
                               self.idle_timeout * 1000))
                    return
                continue
            try:
                data = sock.recv(_READ_SIZE)
            except OSError:
                return
            if not data:
                return
            reader.feed(data)
            while not c.closed:
                try:
                    f = reader.next(None if hello else _wire.HELLO_MAX)
                except _wire.FrameError as e:
                    c.fail(e.code, str(e))
                    return
                if f is None:
                    break
                kind = f.WhichOneof("body")
                if kind == "hello":
                    if hello:
                        c.fail("INVALID_ARGUMENT", "a second hello frame")
                        return
                    if f.hello.protocol_version < 1:
                        c.fail("UNIMPLEMENTED", "protocol version %d is not "
                               "supported; this server speaks version %d"
                               % (f.hello.protocol_version,
                                  _wire.PROTOCOL_VERSION))
                        return
                    hello = True
                    c.send(_wire.pack(_wire.hello_frame()))
                elif not hello:
                    c.fail("FAILED_PRECONDITION", "the first frame must be "
                           "a hello with the protocol version")
                    return
                elif kind == "call":
                    self._call(c, f.call_id, f.call)
                elif kind == "list_methods":
                    out = pb.Frame()
                    out.call_id = f.call_id
                    out.methods.methods.extend(self.methods)
                    c.send(_wire.pack(out))
                else:
                    c.fail("INVALID_ARGUMENT", "unexpected frame of kind %s "
                           "from a client" % kind)
                    return

    # -- calls ------------------------------------------------------------

    def _answer_error(self, c, call_id, code, message):
        c.send(_wire.pack(_wire.error_frame(call_id, code_number(code),
                                            message)))

    def _call(self, c, call_id, call):
        with self._lock:
            stopping = self._state != "running"
        if stopping:
            self._answer_error(c, call_id, "UNAVAILABLE",
                               "the server is stopping")
            return
        fn = self.methods.get(call.method)
        if fn is None:
            self._answer_error(c, call_id, "NOT_FOUND", "no method named "
                               "\"%s\" on this server (see its method list)"
                               % call.method)
            return
        try:
            args, kwargs = _args_from_pb(call.arguments)
        except _values.BadValue as e:
            self._answer_error(c, call_id, "INVALID_ARGUMENT", "method %s: %s"
                               % (call.method, e))
            return
        queued = time.monotonic()
        deadline = queued + call.timeout_us / 1e6 if call.timeout_us > 0 \
            else None
        c.queue.acquire()
        with self._lock:
            self._inflight += 1
        try:
            self._pool.submit(self._run, c, call_id, call.method, fn, args,
                              kwargs, queued, deadline)
        except RuntimeError:    # the pool shut down: the server stops
            self._done(c)
            self._answer_error(c, call_id, "UNAVAILABLE",
                               "the server is stopping")

    def _done(self, c):
        c.queue.release()
        with self._lock:
            self._inflight -= 1
            if self._inflight == 0:
                self._drained.notify_all()

    def _run(self, c, call_id, name, fn, args, kwargs, queued, deadline):
        try:
            out = self._answer(name, fn, args, kwargs, queued, deadline)
            out.call_id = call_id
            data = _wire.pack(out)
            if len(data) - _wire.HEADER.size > self.max_frame:
                data = _wire.pack(_wire.error_frame(
                    call_id, code_number("RESOURCE_EXHAUSTED"),
                    "method %s returned %d bytes, over the frame limit of "
                    "%d bytes" % (name, len(data) - _wire.HEADER.size,
                                  self.max_frame)))
            c.send(data)
        finally:
            self._done(c)

    def _answer(self, name, fn, args, kwargs, queued, deadline):
        """The frame that answers a call (its call id not set)."""
        out = pb.Frame()
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return _wire.error_frame(0, code_number("DEADLINE_EXCEEDED"),
                                     "the caller's deadline passed before "
                                     "method %s ran (it waited %d ms for a "
                                     "thread)" % (name,
                                                  (now - queued) * 1000))
        sig = self._sigs.get(name)
        if sig is not None:
            try:
                sig.bind(*args, **kwargs)
            except TypeError as e:
                return _wire.error_frame(0, code_number("INVALID_ARGUMENT"),
                                         "method %s: %s" % (name, e))
        try:
            v = fn(*args, **kwargs)
        except RpcError as e:
            return _wire.error_frame(0, code_number(e.code), e.message)
        except Exception as e:
            self._warn("method %s raised:\n%s" % (
                name, "".join(traceback.format_exc()).rstrip()))
            return _wire.error_frame(0, code_number("UNKNOWN"),
                                     "method %s raised %s: %s"
                                     % (name, type(e).__name__, e))
        try:
            _values.to_pb(v, out.result.result.result)
        except _values.BadValue as e:
            return _wire.error_frame(0, code_number("INTERNAL"),
                                     "method %s returned a value that "
                                     "cannot be sent: %s" % (name, e))
        return out


def _args_from_pb(a):
    args = []
    for i, o in enumerate(a.args):
        try:
            args.append(_values.from_pb(o, 1))
        except _values.BadValue as e:
            raise _values.BadValue("argument %d%s" % (i, _where(e))) \
                from None
    kwargs = {}
    for k, o in a.kwargs.items():
        try:
            kwargs[k] = _values.from_pb(o, 1)
        except _values.BadValue as e:
            raise _values.BadValue("keyword argument %s%s"
                                   % (k, _where(e))) from None
    return args, kwargs


def _where(e):
    return "%s: %s" % (e.path, e.why) if e.path else ": %s" % e.why


def _remove_stale(address, path):
    """Remove a socket file nobody answers on; refuse a live one."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise OSError("%s: %s exists and is not a socket" % (address, path))
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)
        return
    finally:
        probe.close()
    raise OSError("%s: another server answers there" % address)


def _address_of(s):
    name = s.getsockname()
    if s.family == socket.AF_UNIX:
        if isinstance(name, bytes):
            return "unix:@" + name[1:].decode("utf-8", "replace")
        return "unix:" + name
    host, port = name[:2]
    return "tcp:%s:%d" % ("[%s]" % host if ":" in host else host, port)
