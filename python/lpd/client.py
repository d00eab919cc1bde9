"""The courier client: lpd.Client.

One client has one connection, shared by every thread that calls through
it, with many calls in flight and replies matched by call id. A thread of
the client's own (started by the first call) connects, reads the replies,
writes what the socket did not take at once, and ends calls at their
deadlines; a calling thread writes its request itself. Connecting is lazy
and, unless wait_for_ready is off, retried with backoff until each call's
deadline, as libcourier's client does. A lost connection fails every call
in flight with UNAVAILABLE at once; the next call connects again.

Callbacks of futures (add_done_callback) run on another thread of the
client's, one at a time, never on the thread that reads: a callback may
call through the same client, synchronously too.
"""
import concurrent.futures
import functools
import os
import queue
import random
import socket
import threading
import time
import weakref

from . import _values
from . import _wire
from . import courier_pb2 as pb
from ._errors import RpcError, code_name

# Connection retries back off from 5 ms, doubling to 1 s, +-20 %.
_BACKOFF_FIRST = 0.005
_BACKOFF_MAX = 1.0
# A connect that takes longer than this (a TCP host that does not answer)
# is tried again.
_CONNECT_MAX = 5.0
_READ_SIZE = 256 * 1024


class _Future(concurrent.futures.Future):
    """A future whose callbacks run on its client's callback thread."""

    def __init__(self, runner):
        super().__init__()
        self._lpd_runner = runner
        self._lpd_client = None

    def add_done_callback(self, fn):
        if self.done():
            fn(self)
            return
        runner = self._lpd_runner
        super().add_done_callback(lambda f: runner.submit(fn, f))


class _Runner:
    """A thread that runs callbacks in order, started on first need and
    ended after a while with none."""

    IDLE = 10.0

    def __init__(self, name):
        self.name = name
        self.q = None
        self.lock = threading.Lock()

    def submit(self, fn, arg):
        with self.lock:
            if self.q is None:
                self.q = queue.SimpleQueue()
                threading.Thread(target=self._main, args=(self.q,),
                                 name=self.name, daemon=True).start()
            self.q.put((fn, arg))

    def _main(self, q):
        while True:
            try:
                fn, arg = q.get(timeout=self.IDLE)
            except queue.Empty:
                with self.lock:
                    if q.empty():
                        self.q = None
                        return
                continue
            try:
                fn(arg)
            except Exception:   # as concurrent.futures does: log, go on
                concurrent.futures._base.LOGGER.exception(
                    "exception calling callback for %r", arg)


class _Call:
    __slots__ = ("id", "request", "deadline", "future", "gen")

    def __init__(self, request, deadline, future):
        self.id = 0
        self.request = request      # a Frame with its body, no call_id
        self.deadline = deadline    # time.monotonic(), or None
        self.future = future
        self.gen = 0


def _fail(future, code, message):
    if not future.done():
        future.set_exception(RpcError(code, message))


class _Methods:
    """client.futures: each method returns a concurrent.futures.Future."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return functools.partial(self._client.call_async, name)


class Client:
    """A client of the courier server at address ("unix:PATH" or
    "tcp:HOST:PORT").

    client.work(1, x=2) calls method work and returns its result, or raises
    lpd.RpcError; client.futures.work(1) returns a
    concurrent.futures.Future of it. call(name, ...) and
    call_async(name, ...) reach any method, also one whose name this class
    uses. timeout (seconds, or None for none) bounds every call and is sent
    as its deadline. wait_for_ready: calls wait (with backoff, up to their
    deadline) for a server that is not up yet; without it they fail at once
    with UNAVAILABLE. The client is safe to use from many threads."""

    def __init__(self, address, timeout=None, wait_for_ready=True,
                 max_frame=_wire.MAX_FRAME_DEFAULT):
        _wire.parse_address(address)    # ValueError now, not at a call
        if timeout is not None and (not isinstance(timeout, (int, float)) or
                                    isinstance(timeout, bool) or
                                    timeout < 0):
            raise ValueError("timeout is seconds (a number >= 0) or None, "
                             "not %r" % (timeout,))
        self.address = address
        self.timeout = timeout
        self.wait_for_ready = wait_for_ready
        self.max_frame = max_frame
        self.futures = _Methods(self)
        self._lock = threading.Lock()
        self._sock = None
        self._gen = 0
        self._out = bytearray()
        self._calls = {}            # id -> _Call, sent
        self._unsent = []
        self._next_id = 1
        self._closed = False
        self._cancelled = None      # (code, message) once cancelled
        self._conn_error = None     # (code, message) the server sent
        self._connect_error = None
        self._backoff = 0.0
        self._expiry = None         # no call's deadline comes before it
        self._thread = None
        self._reader = None         # (socket, _wire.Reader)
        self._wake_r = self._wake_w = -1
        self._runner = _Runner("lpd.Client callbacks %s" % address)

    def __repr__(self):
        return "lpd.Client(%r)" % self.address

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return functools.partial(self.call, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- calls ----------------------------------------------------------

    def call(self, method, *args, **kwargs):
        """Call method with args and kwargs; its result, or RpcError."""
        return self._start(self._request(method, args, kwargs),
                           self.timeout).result()

    def call_async(self, method, *args, **kwargs):
        """Start a call of method; a concurrent.futures.Future of it."""
        return self._start(self._request(method, args, kwargs),
                           self.timeout)

    def list_methods(self):
        """The names of the server's methods."""
        f = pb.Frame()
        f.list_methods.SetInParent()
        return self._start(f, self.timeout).result()

    def close(self):
        """Fail the calls in flight with CANCELLED, close the connection
        and stop the client's thread. Calls after it fail at once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            done = self._take_all("CANCELLED", "the client was closed")
            thread = self._thread
            if thread is not None:
                self._finalizer.detach()
        self._finish(done)
        self._wake()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._lock:
            self._drop_socket()
            for fd in (self._wake_r, self._wake_w):
                if fd != -1:
                    os.close(fd)
            self._wake_r = self._wake_w = -1

    def _cancel(self, message):
        """Fail every call, now and later, with CANCELLED (the node
        runtime does this when its node stops)."""
        with self._lock:
            if self._cancelled is None:
                self._cancelled = ("CANCELLED", message)
            done = self._take_all("CANCELLED", message)
        self._finish(done)
        self._wake()

    def _request(self, method, args, kwargs):
        if not isinstance(method, str) or not method:
            raise TypeError("a method name is a non-empty str, not %r"
                            % (method,))
        f = pb.Frame()
        call = f.call
        call.method = method
        a = call.arguments
        a.SetInParent()
        for i, v in enumerate(args):
            try:
                _values.to_pb(v, a.args.add(), 1)
            except _values.BadValue as e:
                raise RpcError("INVALID_ARGUMENT", "method %s: argument %d%s"
                               % (method, i, _where(e))) from None
        for k, v in kwargs.items():
            try:
                _values.to_pb(v, a.kwargs[k], 1)
            except _values.BadValue as e:
                raise RpcError("INVALID_ARGUMENT", "method %s: keyword "
                               "argument %s%s" % (method, k,
                                                  _where(e))) from None
        return f

    def _start(self, request, timeout):
        future = _Future(self._runner)
        # A pending call keeps its client: a client dropped with calls in
        # flight lives until they end.
        future._lpd_client = self
        deadline = None if timeout is None else time.monotonic() + timeout
        c = _Call(request, deadline, future)
        done = []
        with self._lock:
            if self._closed:
                raise RpcError("CANCELLED", "%s: the client was closed"
                               % self.address)
            if self._cancelled is not None:
                raise RpcError(*self._cancelled)
            c.id = self._next_id
            self._next_id += 1
            if deadline is not None and (self._expiry is None or
                                         deadline < self._expiry):
                self._expiry = deadline
            if self._sock is not None:
                err = self._send_locked(c)
                if err is not None:
                    raise err
            else:
                self._unsent.append(c)
            self._ensure_thread()
        self._finish(done)
        self._wake()
        return future

    # -- the connection, under _lock --------------------------------------

    def _pack_locked(self, c):
        """c's frame, with the time it has left; RpcError if too big."""
        f = c.request
        f.call_id = c.id
        if f.WhichOneof("body") == "call":
            if c.deadline is not None:
                left = int((c.deadline - time.monotonic()) * 1e6)
                f.call.timeout_us = max(left, 1)
        data = _wire.pack(f)
        if len(data) - _wire.HEADER.size > self.max_frame:
            return None, RpcError(
                "RESOURCE_EXHAUSTED", "the call's frame of %d bytes is over "
                "the limit of %d bytes" % (len(data) - _wire.HEADER.size,
                                           self.max_frame))
        return data, None

    def _send_locked(self, c):
        data, err = self._pack_locked(c)
        if err is not None:
            return err
        c.request = None
        c.gen = self._gen
        self._calls[c.id] = c
        self._out += data
        self._flush_locked()
        return None

    def _flush_locked(self):
        """Write what the socket takes now; the rest waits for the
        client's thread. A failed write is left for the reader to see."""
        while self._out and self._sock is not None:
            try:
                n = self._sock.send(self._out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                try:
                    self._sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self._out.clear()
                return
            del self._out[:n]

    def _take_all(self, code, message, sent_only=False):
        done = [(c.future, code, message) for c in self._calls.values()]
        self._calls.clear()
        if not sent_only:
            done += [(c.future, code, message) for c in self._unsent]
            self._unsent.clear()
        return done

    def _drop_socket(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None
        self._gen += 1
        self._out.clear()

    def _disconnect_locked(self, code, why):
        self._drop_socket()
        if self._conn_error is not None:
            code, why = self._conn_error
            self._conn_error = None
        return self._take_all(code, "%s: %s" % (self.address, why),
                              sent_only=True)

    def _ensure_thread(self):
        if self._thread is not None:
            return
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # A client dropped without close() wakes its thread, which sees it
        # gone and ends (it holds the client only while calls are pending).
        self._finalizer = weakref.finalize(self, _wake_fd, self._wake_w)
        self._thread = threading.Thread(
            target=_thread_main, args=(weakref.ref(self), self._wake_r,
                                       self._wake_w),
            name="lpd.Client %s" % self.address, daemon=True)
        self._thread.start()

    def _wake(self):
        fd = self._wake_w
        if fd != -1:
            try:
                os.write(fd, b"x")
            except OSError:     # full (a wake-up waits already) or closed
                pass

    def _woken(self):
        try:
            while os.read(self._wake_r, 4096):
                pass
        except OSError:
            pass

    @staticmethod
    def _finish(done):
        for item in done:
            future = item[0]
            future._lpd_client = None
            if future.done():
                continue
            if len(item) == 2:
                future.set_result(item[1])
            else:
                _fail(future, item[1], item[2])

    def _expire_locked(self, now):
        """End the calls whose deadline passed; the earliest left."""
        done = []
        earliest = None
        for cid in list(self._calls):
            c = self._calls[cid]
            if c.deadline is None:
                continue
            if c.deadline <= now:
                del self._calls[cid]
                done.append((c.future, "DEADLINE_EXCEEDED", "%s: deadline "
                             "exceeded waiting for the reply"
                             % self.address))
            elif earliest is None or c.deadline < earliest:
                earliest = c.deadline
        keep = []
        for c in self._unsent:
            if c.deadline is not None and c.deadline <= now:
                why = ": " + self._connect_error if self._connect_error \
                    else ""
                done.append((c.future, "DEADLINE_EXCEEDED", "%s: deadline "
                             "exceeded before the server could be reached%s"
                             % (self.address, why)))
                continue
            keep.append(c)
            if c.deadline is not None and (earliest is None or
                                           c.deadline < earliest):
                earliest = c.deadline
        self._unsent = keep
        return done, earliest

    # -- the client's thread ----------------------------------------------

    def _fail_all(self, e):
        """The client's thread failed: never leave a call hanging."""
        with self._lock:
            why = "%s: the client's thread failed: %r" % (self.address, e)
            done = self._take_all("INTERNAL", why)
            # No thread reads or times out calls now: later ones fail.
            self._cancelled = ("INTERNAL", why)
            self._drop_socket()
        self._finish(done)

    def _step(self):
        """One turn of the client's thread up to its wait: end calls past
        their deadline, connect for calls not sent. Returns None when the
        client is closed, False to turn again, else what to wait for:
        (socket or None, read list, write list, timeout, idle)."""
        with self._lock:
            if self._closed:
                return None
            now = time.monotonic()
            done = []
            # Calls are looked over only when one may be due: with many
            # in flight, not at every read.
            if self._expiry is not None and now >= self._expiry:
                done, self._expiry = self._expire_locked(now)
            earliest = self._expiry
            sock = self._sock
            need_connect = sock is None and bool(self._unsent)
            want_write = bool(self._out)
            idle = not self._calls and not self._unsent
        self._finish(done)
        if done:
            return False
        timeout = None if earliest is None else \
            max(earliest - time.monotonic(), 0)
        if need_connect:
            self._connect(timeout)
            return False
        rlist = [self._wake_r] if sock is None else [sock, self._wake_r]
        wlist = [sock] if sock is not None and want_write else []
        return sock, rlist, wlist, timeout, idle

    def _after(self, sock, r, w):
        """Act on what the wait found."""
        if self._wake_r in r:
            self._woken()
        if w:
            with self._lock:
                if self._sock is sock:
                    self._flush_locked()
        if sock is not None and sock in r:
            self._read(sock)

    def _connect(self, timeout):
        limit = _CONNECT_MAX if timeout is None else min(timeout,
                                                         _CONNECT_MAX)
        err = None
        pause = 0
        try:
            sock = _wire.connect(self.address, max(limit, 0.001))
        except OSError as e:
            sock = None
            err = e.strerror or str(e)
            if isinstance(e, socket.timeout):
                err = "connect timed out"
        done = []
        with self._lock:
            if self._closed or self._cancelled is not None:
                if sock is not None:
                    sock.close()
                return
            if sock is None:
                self._connect_error = "%s: %s" % (self.address, err)
                if not self.wait_for_ready:
                    done = [(c.future, "UNAVAILABLE", "cannot connect to %s"
                             % self._connect_error) for c in self._unsent]
                    self._unsent.clear()
                    pause = 0
                else:
                    if self._backoff == 0:
                        self._backoff = _BACKOFF_FIRST
                    pause = self._backoff * random.uniform(0.8, 1.2)
                    self._backoff = min(self._backoff * 2, _BACKOFF_MAX)
            else:
                self._backoff = 0.0
                sock.setblocking(False)
                self._sock = sock
                self._gen += 1
                self._out += _wire.pack(_wire.hello_frame())
                unsent, self._unsent = self._unsent, []
                for c in unsent:
                    data, e = self._pack_locked(c)
                    if e is not None:
                        done.append((c.future, e.code, e.message))
                        continue
                    c.request = None
                    c.gen = self._gen
                    self._calls[c.id] = c
                    self._out += data
                self._flush_locked()
        self._finish(done)
        if sock is None and pause > 0:
            if timeout is not None:
                pause = min(pause, timeout)
            _wire.wait([self._wake_r], (), pause)
            self._woken()

    def _read(self, sock):
        lost = None
        try:
            data = sock.recv(_READ_SIZE)
            if not data:
                lost = ("UNAVAILABLE", "the server closed the connection")
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            data = b""
            lost = ("UNAVAILABLE", e.strerror or str(e))
        done = []
        with self._lock:
            if self._sock is not sock:
                return
            reader = self._reader
            if reader is None or reader[0] is not sock:
                reader = (sock, _wire.Reader(self.max_frame))
                self._reader = reader
            r = reader[1]
            r.feed(data)
            while lost is None:
                try:
                    f = r.next()
                except _wire.FrameError as e:
                    lost = (e.code if e.code == "RESOURCE_EXHAUSTED"
                            else "INTERNAL", str(e))
                    break
                if f is None:
                    break
                lost = self._frame_locked(f, done)
            if lost is not None:
                done += self._disconnect_locked(*lost)
                self._reader = None
        self._finish(done)

    def _frame_locked(self, f, done):
        """Act on a frame from the server; (code, why) if it breaks the
        protocol."""
        kind = f.WhichOneof("body")
        if kind == "hello":
            if f.hello.protocol_version < 1:
                return ("INTERNAL", "the server speaks protocol version %d"
                        % f.hello.protocol_version)
            return None
        if kind == "error" and f.call_id == 0:
            # The server is closing the connection: why.
            self._conn_error = (code_name(f.error.code), f.error.message)
            return None
        if kind not in ("result", "error", "methods"):
            return ("INTERNAL", "unexpected frame of kind %s from the server"
                    % kind)
        c = self._calls.pop(f.call_id, None)
        if c is None or c.gen != self._gen:
            return None         # timed out or cancelled: dropped
        if kind == "error":
            done.append((c.future, code_name(f.error.code), f.error.message))
        elif kind == "methods":
            done.append((c.future, list(f.methods.methods)))
        elif not f.result.result.HasField("result"):
            done.append((c.future, None))
        else:
            try:
                v = _values.from_pb(f.result.result.result)
            except _values.BadValue as e:
                done.append((c.future, "INTERNAL", "the result cannot be "
                             "decoded: $%s" % _where(e)))
            else:
                done.append((c.future, v))
        return None


def _wake_fd(fd):
    try:
        os.write(fd, b"x")
    except OSError:
        pass


def _thread_main(ref, wake_r, wake_w):
    """The client's thread. It holds its client only while calls are
    pending: an idle client that its user dropped is collected, and its
    finalizer wakes this thread, which then closes the wake-up pipe."""
    while True:
        client = ref()
        if client is None:
            break
        try:
            step = client._step()
            if step is None:
                return      # closed: close() owns the pipe
            if step is False:
                continue
            sock, rlist, wlist, timeout, idle = step
            if idle:
                client = None
            r, w = _wire.wait(rlist, wlist, timeout)
            if client is None:
                client = ref()
                if client is None:
                    break
            client._after(sock, r, w)
        except BaseException as e:
            client = client or ref()
            if client is not None:
                client._fail_all(e)
            raise
        finally:
            client = None
    # The client was collected without close().
    os.close(wake_r)
    os.close(wake_w)


def _where(e):
    """An error's place and reason as libcourier writes them after a
    name: "[1].k: why", or ": why"."""
    if e.path:
        return "%s: %s" % (e.path, e.why)
    return ": %s" % e.why
