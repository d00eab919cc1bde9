"""lpd.Server speaks libcourier's protocol: the C client calls it, and
lpd.Client calls the C server; a peer that breaks the protocol loses its
own connection and nothing else."""
import os
import socket
import struct
import threading

import pytest

import lpd
from lpd import _wire, courier_pb2 as pb
from conftest import WAIT, need_env, run, until


class Echo:
    def echo(self, x=None):
        return x

    def add(self, a, b):
        return a + b


def raw(server):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(WAIT)
    s.connect(server.address[5:])
    return s


def frames_until_eof(sock):
    """Every frame the server sends until it closes the connection."""
    r = _wire.Reader(1 << 20)
    out = []
    while True:
        data = sock.recv(65536)
        if not data:
            return out
        r.feed(data)
        while (f := r.next()) is not None:
            out.append(f)


def call_frame(call_id, method, *args):
    f = pb.Frame()
    f.call_id = call_id
    f.call.method = method
    for a in args:
        f.call.arguments.args.add().int_value = a
    return f


def deep_call(levels):
    """A call whose argument is lists nested levels deep."""
    o = pb.SerializedObject(none_value=True)
    for _ in range(levels):
        o = pb.SerializedObject(list_value=pb.SerializedList(items=[o]))
    f = call_frame(1, "echo")
    f.call.arguments.args.add().CopyFrom(o)
    return f


def test_c_client_calls_python_server(serve):
    s = serve(Echo())
    r = run([need_env("ECHO_CLIENT"), s.address, "hello", "wörld"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == ('echo: "hello"\necho: "wörld"\nadd: 42\n'
                        'methods: ["add","echo"]\n')


def test_python_client_calls_c_server(procs, tmp):
    address = "unix:" + os.path.join(tmp, "c.sock")
    p = procs([need_env("ECHO_SERVER"), address])
    until(lambda: "serving on" in p.stdout(), "echo-server serves")
    with lpd.Client(address, timeout=WAIT) as c:
        assert c.echo({"k": [1, 2.5, None, b"\0", "x"]}) == \
            {"k": [1, 2.5, None, b"\0", "x"]}
        assert c.add(2, 40) == 42
        assert sorted(c.list_methods()) == ["add", "echo"]
        with pytest.raises(lpd.RpcError) as e:
            c.add(2**62, 2**62)
        assert e.value.code == "OUT_OF_RANGE"
        assert "overflows int64" in e.value.message
        with pytest.raises(lpd.RpcError) as e:
            c.nope()
        assert e.value.code == "NOT_FOUND"
        fs = [c.futures.add(i, i) for i in range(500)]
        assert [f.result(WAIT) for f in fs] == [2 * i for i in range(500)]
    p.p.terminate()
    assert p.wait() == 0


def test_hello_is_answered(serve):
    s = serve(Echo())
    sock = raw(s)
    sock.sendall(_wire.pack(_wire.hello_frame()) +
                 _wire.pack(call_frame(5, "add", 2, 3)))
    sock.shutdown(socket.SHUT_WR)
    got = frames_until_eof(sock)
    assert got[0].hello.protocol_version == 1
    assert got[1].call_id == 5
    assert got[1].result.result.result.int_value == 5


@pytest.mark.parametrize("send,code,why", [
    (lambda: _wire.pack(call_frame(1, "add", 1, 2)),
     "FAILED_PRECONDITION",
     "the first frame must be a hello with the protocol version"),
    (lambda: _wire.pack(_wire.hello_frame()) * 2,
     "INVALID_ARGUMENT", "a second hello frame"),
    (lambda: struct.pack(">I", 5000) + b"x" * 5000,
     "RESOURCE_EXHAUSTED", "frame of 5000 bytes is over the limit of 4096 "
     "bytes, the limit for frames before the hello"),
    (lambda: _wire.pack(_wire.hello_frame()) + struct.pack(">I", 3) +
     b"\xff\xff\xff", "INVALID_ARGUMENT",
     "malformed frame: courier.Frame: truncated field key"),
    (lambda: _wire.pack(_wire.hello_frame()) +
     struct.pack(">I", 64 * 1024 * 1024 + 1),
     "RESOURCE_EXHAUSTED", "frame of 67108865 bytes is over the limit of "
     "67108864 bytes"),
    (lambda: _wire.pack(_wire.hello_frame()) + _wire.pack(deep_call(300)),
     "INVALID_ARGUMENT", "malformed frame: messages nest deeper than 208 "
     "levels"),
    (lambda: _wire.pack(_wire.hello_frame()) +
     _wire.pack(_wire.error_frame(3, 2, "x")),
     "INVALID_ARGUMENT", "unexpected frame of kind error from a client"),
])
def test_bad_peer_loses_its_connection_only(serve, send, code, why):
    s = serve(Echo())
    with lpd.Client(s.address, timeout=WAIT) as good:
        assert good.add(1, 1) == 2
        sock = raw(s)
        sock.sendall(send())
        got = frames_until_eof(sock)
        err = [f for f in got if f.WhichOneof("body") == "error"]
        assert len(err) == 1
        assert err[0].call_id == 0
        assert lpd.CODES[err[0].error.code] == code
        assert err[0].error.message.startswith(why)
        sock.close()
        assert good.add(2, 2) == 4


def test_version_zero_is_refused(serve):
    s = serve(Echo())
    sock = raw(s)
    f = pb.Frame()
    f.hello.protocol_version = 0
    sock.sendall(_wire.pack(f))
    got = frames_until_eof(sock)
    assert lpd.CODES[got[-1].error.code] == "UNIMPLEMENTED"
    assert got[-1].error.message == ("protocol version 0 is not supported; "
                                     "this server speaks version 1")


def test_idle_peer_is_closed(serve):
    s = serve(Echo(), idle_timeout=0.3)
    sock = raw(s)
    got = frames_until_eof(sock)
    assert lpd.CODES[got[0].error.code] == "DEADLINE_EXCEEDED"
    assert got[0].error.message == ("no hello frame in 300 ms (the "
                                    "server's idle timeout)")


def test_stop_drains_and_refuses(serve):
    release = threading.Event()
    started = threading.Event()

    def slow():
        started.set()
        release.wait(WAIT)
        return "done"
    s = serve({"slow": slow, "add": lambda a, b: a + b})
    c = lpd.Client(s.address, timeout=WAIT)
    f = c.futures.slow()
    assert started.wait(WAIT)
    stopper = threading.Thread(target=s.stop, args=(WAIT,))
    stopper.start()
    until(lambda: s._state == "stopping", "the server stops")
    # During the drain, a new call is refused; the one in flight finishes
    # and the stop waits for it.
    with pytest.raises(lpd.RpcError) as e:
        c.add(1, 2)
    assert (e.value.code, e.value.message) == ("UNAVAILABLE",
                                               "the server is stopping")
    release.set()
    assert f.result(WAIT) == "done"
    stopper.join(WAIT)
    assert not stopper.is_alive()
    assert not os.path.exists(s.address[5:])
    c.close()
    # Gone: a client that waits for a server waits to its deadline.
    with lpd.Client(s.address, timeout=0.2) as c:
        with pytest.raises(lpd.RpcError) as e:
            c.add(1, 2)
        assert e.value.code == "DEADLINE_EXCEEDED"


def test_stale_socket_replaced_live_one_refused(tmp):
    path = os.path.join(tmp, "x.sock")
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(path)
    dead.close()                     # a socket file nobody answers on
    s = lpd.Server(Echo())
    s.listen("unix:" + path)
    s.start()
    try:
        other = lpd.Server(Echo())
        with pytest.raises(OSError, match="another server answers there"):
            other.listen("unix:" + path)
    finally:
        s.stop()


def test_connections_over_the_limit_are_refused(serve):
    s = serve(Echo(), max_conns=1)
    with lpd.Client(s.address, timeout=WAIT) as first:
        assert first.add(1, 1) == 2
        with lpd.Client(s.address, timeout=WAIT) as second:
            with pytest.raises(lpd.RpcError) as e:
                second.add(2, 2)
        assert e.value.code == "RESOURCE_EXHAUSTED"
        assert e.value.message == (
            "%s: the server has as many connections as its limit allows; "
            "close idle clients or raise the limit" % s.address)
        assert first.add(3, 3) == 6
