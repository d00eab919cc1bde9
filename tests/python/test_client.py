"""lpd.Client: calls, errors and their codes, deadlines, futures, many
calls in flight, and servers that are late, dead or hung."""
import concurrent.futures
import os
import signal
import threading
import time

import pytest

import lpd
from lpd import courier_pb2 as pb
from conftest import WAIT, until


class Methods:
    def __init__(self):
        self.release = threading.Event()

    def add(self, a, b):
        return a + b

    def fail(self, code, message):
        raise lpd.RpcError(code, message)

    def boom(self):
        raise KeyError("k")

    def block(self):
        self.release.wait(WAIT)
        return "released"

    def sleep(self, s):
        time.sleep(s)
        return s

    def echo(self, *args, **kwargs):
        return [list(args), kwargs]

    def big(self, n):
        return b"z" * n


@pytest.fixture
def methods():
    m = Methods()
    yield m
    m.release.set()


def test_sync_call_args_and_kwargs(serve, methods):
    s = serve(methods)
    with lpd.Client(s.address, timeout=10) as c:
        assert c.add(1, 2) == 3
        assert c.add(a=1, b=2) == 3
        assert c.echo(1, "x", k=None) == [[1, "x"], {"k": None}]
        assert c.call("add", 20, b=22) == 42
        assert sorted(c.list_methods()) == ["add", "big", "block", "boom",
                                            "echo", "fail", "sleep"]


@pytest.mark.parametrize("code", lpd.CODES[1:])
def test_every_code_comes_back(serve, methods, code):
    s = serve(methods)
    with lpd.Client(s.address, timeout=10) as c:
        with pytest.raises(lpd.RpcError) as e:
            c.fail(code, "because " + code)
    assert e.value.code == code
    assert e.value.message == "because " + code


def test_errors_of_the_server(serve, methods):
    s = serve(methods)
    with lpd.Client(s.address, timeout=10) as c:
        with pytest.raises(lpd.RpcError) as e:
            c.nope()
        assert e.value.code == "NOT_FOUND"
        assert e.value.message == ('no method named "nope" on this server '
                                   '(see its method list)')
        with pytest.raises(lpd.RpcError) as e:
            c.add(1)
        assert e.value.code == "INVALID_ARGUMENT"
        assert e.value.message == ("method add: missing a required "
                                   "argument: 'b'")
        with pytest.raises(lpd.RpcError) as e:
            c.boom()
        assert e.value.code == "UNKNOWN"
        assert e.value.message == "method boom raised KeyError: 'k'"
        # The connection is still good.
        assert c.add(2, 2) == 4


def test_codes_out_of_range_are_unknown(raw_server):
    def answer(f):
        out = pb.Frame()
        out.call_id = f.call_id
        out.error.code = 99 if f.call.method == "high" else 0
        out.error.message = "odd"
        return [out]
    s = raw_server(answer)
    with lpd.Client(s.address, timeout=10) as c:
        for m in ("high", "ok_on_an_error"):
            with pytest.raises(lpd.RpcError) as e:
                c.call(m)
            assert (e.value.code, e.value.message) == ("UNKNOWN", "odd")


def test_deadline_is_sent(raw_server):
    """The client's timeout travels as the call's timeout_us."""
    def answer(f):
        out = pb.Frame()
        out.call_id = f.call_id
        out.result.result.result.int_value = f.call.timeout_us
        return [out]
    s = raw_server(answer)
    with lpd.Client(s.address, timeout=5) as c:
        sent = c.work()
    assert 0 < sent <= 5_000_000
    with lpd.Client(s.address) as c:
        assert c.work() == 0    # no timeout: no deadline


def test_deadline_exceeded(serve, methods):
    s = serve(methods)
    with lpd.Client(s.address, timeout=0.2) as c:
        with pytest.raises(lpd.RpcError) as e:
            c.block()
        assert e.value.code == "DEADLINE_EXCEEDED"
        assert e.value.message == ("%s: deadline exceeded waiting for the "
                                   "reply" % s.address)
        f = c.futures.block()
        with pytest.raises(lpd.RpcError) as e:
            f.result(WAIT)
        assert e.value.code == "DEADLINE_EXCEEDED"
    methods.release.set()


def test_server_refuses_a_call_past_its_deadline(serve, methods):
    """A call that waited for a thread past its deadline is not run: the
    server answers DEADLINE_EXCEEDED itself (seen on a raw connection, as
    the client would end the call at its deadline on its own)."""
    import socket
    from lpd import _wire
    s = serve(methods, workers=1)
    with lpd.Client(s.address) as c:
        blocker = c.futures.block()
        until(lambda: s._inflight == 1, "the blocking call runs")
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(WAIT)
        sock.connect(s.address[5:])
        f = pb.Frame()
        f.call_id = 9
        f.call.method = "sleep"
        f.call.arguments.args.add().int_value = 0
        f.call.timeout_us = 1000        # 1 ms: over while it queues
        sock.sendall(_wire.pack(_wire.hello_frame()) + _wire.pack(f))
        until(lambda: s._inflight == 2, "the call queues")
        time.sleep(0.01)
        methods.release.set()
        assert blocker.result(WAIT) == "released"
        r = _wire.Reader(1 << 20)
        got = []
        while len(got) < 2:
            r.feed(sock.recv(65536))
            while (fr := r.next()) is not None:
                got.append(fr)
        sock.close()
    assert got[1].call_id == 9
    assert lpd.CODES[got[1].error.code] == "DEADLINE_EXCEEDED"
    assert got[1].error.message.startswith(
        "the caller's deadline passed before method sleep ran (it waited ")


def test_futures(serve, methods):
    s = serve(methods)
    with lpd.Client(s.address, timeout=10) as c:
        f = c.futures.add(1, 2)
        assert isinstance(f, concurrent.futures.Future)
        assert f.result(WAIT) == 3
        bad = c.futures.nope()
        assert isinstance(bad.exception(WAIT), lpd.RpcError)
        assert bad.exception().code == "NOT_FOUND"
        got = []
        done = threading.Event()

        def cb(fut):
            # A callback may call through the same client.
            got.append((fut.result(), c.add(10, 10)))
            done.set()
        c.futures.add(2, 3).add_done_callback(cb)
        assert done.wait(WAIT)
        assert got == [(5, 20)]


def test_many_in_flight_from_many_threads(serve, methods):
    s = serve(methods, workers=8)
    with lpd.Client(s.address, timeout=WAIT) as c:
        def worker(k):
            fs = [c.futures.add(k, i) for i in range(300)]
            sync = [c.add(i, k) for i in range(50)]
            return [f.result() for f in fs] + sync
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            results = list(ex.map(worker, range(8)))
    for k, r in enumerate(results):
        assert r == [k + i for i in range(300)] + [k + i for i in range(50)]


def test_replies_out_of_order(serve, methods):
    s = serve(methods, workers=4)
    with lpd.Client(s.address, timeout=WAIT) as c:
        slow = c.futures.block()
        assert c.add(1, 1) == 2     # answered while block() waits
        assert not slow.done()
        methods.release.set()
        assert slow.result(WAIT) == "released"


def test_waits_for_a_server_not_up_yet(tmp, methods):
    address = "unix:" + os.path.join(tmp, "late.sock")
    c = lpd.Client(address, timeout=WAIT)
    f = c.futures.add(1, 2)
    time.sleep(0.3)
    assert not f.done()
    s = lpd.Server(methods)
    s.listen(address)
    s.start()
    try:
        assert f.result(WAIT) == 3
    finally:
        c.close()
        s.stop()


def test_server_never_up(tmp):
    address = "unix:" + os.path.join(tmp, "never.sock")
    with lpd.Client(address, timeout=0.3) as c:
        with pytest.raises(lpd.RpcError) as e:
            c.add(1, 2)
    assert e.value.code == "DEADLINE_EXCEEDED"
    assert "before the server could be reached" in e.value.message
    assert "No such file or directory" in e.value.message
    with lpd.Client(address, wait_for_ready=False) as c:
        with pytest.raises(lpd.RpcError) as e:
            c.add(1, 2)
    assert e.value.code == "UNAVAILABLE"
    assert e.value.message.startswith("cannot connect to " + address)


def _python_server(procs, tmp, name):
    """A server in a process of its own, to kill: its address."""
    path = os.path.join(tmp, name + ".sock")
    script = ("import lpd, threading\n"
              "class M:\n"
              "    def add(self, a, b): return a + b\n"
              "    def hang(self): threading.Event().wait()\n"
              "s = lpd.Server(M(), workers=4)\n"
              "s.listen(%r)\n"
              "s.start()\n"
              "print('up', flush=True)\n"
              "threading.Event().wait()\n" % ("unix:" + path))
    import sys
    p = procs([sys.executable, "-c", script])
    until(lambda: "up" in p.stdout(), "the server comes up")
    return p, "unix:" + path


def test_dead_server_fails_calls(procs, tmp):
    """A server that dies fails the calls in flight with UNAVAILABLE at
    once: with no timeout, nothing hangs."""
    p, address = _python_server(procs, tmp, "dies")
    with lpd.Client(address) as c:
        assert c.add(1, 2) == 3
        fs = [c.futures.hang() for _ in range(3)]
        time.sleep(0.2)
        p.kill()
        for f in fs:
            e = f.exception(WAIT)
            assert isinstance(e, lpd.RpcError)
            assert e.code == "UNAVAILABLE"
            assert e.message == ("%s: the server closed the connection"
                                 % address)


def stopped(pid):
    """Whether every thread of pid is stopped: SIGSTOP takes each of them
    at its next turn, after kill() has returned."""
    states = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            states.append(f.read().rsplit(")", 1)[1].split()[0])
    return all(st in "tT" for st in states)


def test_hung_server_is_bounded_by_the_timeout(procs, tmp):
    p, address = _python_server(procs, tmp, "hangs")
    with lpd.Client(address, timeout=0.5) as c:
        assert c.add(1, 2) == 3
        os.kill(p.p.pid, signal.SIGSTOP)
        until(lambda: stopped(p.p.pid), "the server stops (SIGSTOP)")
        try:
            with pytest.raises(lpd.RpcError) as e:
                c.add(1, 2)
            assert e.value.code == "DEADLINE_EXCEEDED"
        finally:
            os.kill(p.p.pid, signal.SIGCONT)


def test_reconnects_after_the_server_restarts(tmp, methods):
    address = "unix:" + os.path.join(tmp, "again.sock")
    s = lpd.Server(methods)
    s.listen(address)
    s.start()
    with lpd.Client(address, timeout=WAIT) as c:
        assert c.add(1, 1) == 2
        s.stop()
        s = lpd.Server(methods)
        s.listen(address)
        s.start()
        try:
            # The first call may meet the old connection's end.
            def ok():
                try:
                    return c.add(2, 2) == 4
                except lpd.RpcError as e:
                    assert e.code == "UNAVAILABLE"
                    return False
            until(ok, "a call through a new connection")
        finally:
            s.stop()


def test_closed_client(serve, methods):
    s = serve(methods)
    c = lpd.Client(s.address)
    f = c.futures.block()
    c.close()
    assert f.exception(WAIT).code == "CANCELLED"
    with pytest.raises(lpd.RpcError) as e:
        c.add(1, 2)
    assert e.value.code == "CANCELLED"


def test_bad_addresses():
    for a, why in [("nowhere", "an address starts with unix: or tcp:"),
                   ("tcp:host", "expected tcp:HOST:PORT"),
                   ("tcp::1:80", "put an IPv6 address in brackets"),
                   ("tcp:h:99999", "the port must be a number"),
                   ("unix:", "the path is empty")]:
        with pytest.raises(ValueError, match=why):
            lpd.Client(a)
    with pytest.raises(ValueError, match="timeout is seconds"):
        lpd.Client("unix:/x", timeout=-1)


def test_frame_limit(serve, methods):
    s = serve(methods)
    with lpd.Client(s.address, timeout=WAIT, max_frame=1024) as c:
        with pytest.raises(lpd.RpcError) as e:
            c.echo(b"x" * 2000)
        assert e.value.code == "RESOURCE_EXHAUSTED"
        assert "over the limit of 1024 bytes" in e.value.message
        # An answer over the client's limit loses the connection.
        with pytest.raises(lpd.RpcError) as e:
            c.big(2000)
        assert e.value.code == "RESOURCE_EXHAUSTED"
        assert "over the limit of 1024 bytes" in e.value.message
        assert c.add(1, 2) == 3     # through a new connection
    # The server's own limit: an answer too big fails that call.
    s2 = serve(methods, name="small", max_frame=1024)
    with lpd.Client(s2.address, timeout=WAIT) as c:
        with pytest.raises(lpd.RpcError) as e:
            c.big(2000)
        assert e.value.code == "RESOURCE_EXHAUSTED"
        assert e.value.message.startswith("method big returned ")
        assert e.value.message.endswith("over the frame limit of 1024 bytes")
        assert c.add(1, 2) == 3


def test_tcp(methods):
    s = lpd.Server(methods)
    s.listen("tcp:127.0.0.1:0")
    s.start()
    try:
        assert s.address.startswith("tcp:127.0.0.1:")
        assert not s.address.endswith(":0")
        with lpd.Client(s.address, timeout=WAIT) as c:
            assert c.add(40, 2) == 42
    finally:
        s.stop()


def test_dropped_client_ends_its_thread(serve, methods):
    """A client dropped without close() is collected once no call is
    pending, and its thread ends; until then its futures complete."""
    import gc
    s = serve(methods)
    c = lpd.Client(s.address, timeout=WAIT)
    assert c.add(1, 2) == 3
    f = c.futures.block()
    thread = c._thread
    del c
    gc.collect()
    assert thread.is_alive()
    methods.release.set()
    assert f.result(WAIT) == "released"
    until(lambda: (gc.collect(), not thread.is_alive())[1],
          "the dropped client's thread ends")


def test_fd_numbers_past_1024(serve, methods):
    """Sockets whose fd numbers pass select()'s limit of 1024 still work
    (a server may hold a thousand connections, a node as many clients)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("the hard limit of open files is %d, under 1200" % hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = []
    try:
        while not held or held[-1] < 1100:
            held.append(os.open("/dev/null", os.O_RDONLY))
        s = serve(methods, name="high")
        with lpd.Client(s.address, timeout=WAIT) as c:
            assert c.add(1, 2) == 3
            assert c.futures.add(3, 4).result(WAIT) == 7
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_callback_thread_ends_when_idle(serve, methods, monkeypatch):
    from lpd import client as client_module
    monkeypatch.setattr(client_module._Runner, "IDLE", 0.1)
    s = serve(methods)
    with lpd.Client(s.address, timeout=WAIT) as c:
        ran = threading.Event()
        c.futures.add(1, 1).add_done_callback(lambda f: ran.set())
        assert ran.wait(WAIT)
        name = "lpd.Client callbacks %s" % s.address

        def ended():
            return not [t for t in threading.enumerate() if t.name == name]
        until(ended, "the callback thread ends")
        # A later callback starts it again.
        ran.clear()
        c.futures.add(2, 2).add_done_callback(lambda f: ran.set())
        assert ran.wait(WAIT)


def test_thread_failure_fails_calls(serve, methods, monkeypatch):
    """A bug in the client's thread fails the calls in flight and every
    later one, rather than leaving them to wait for good."""
    seen = []
    monkeypatch.setattr(threading, "excepthook", seen.append)
    s = serve(methods)
    with lpd.Client(s.address) as c:
        assert c.add(1, 1) == 2

        def broken(sock):
            raise RuntimeError("boom")
        c._read = broken
        with pytest.raises(lpd.RpcError) as e:
            c.add(2, 2)
        assert e.value.code == "INTERNAL"
        assert e.value.message == ("%s: the client's thread failed: "
                                   "RuntimeError('boom')" % s.address)
        with pytest.raises(lpd.RpcError) as e:
            c.add(3, 3)
        assert e.value.code == "INTERNAL"
    until(lambda: seen, "the thread's exception is reported")
    assert isinstance(seen[0].exc_value, RuntimeError)
