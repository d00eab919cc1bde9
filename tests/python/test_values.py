"""Values: each kind round trips, through the codec and through a call,
and what courier cannot carry is refused with a clear error."""
import math
import os

import pytest

import lpd
from lpd import _values, courier_pb2 as pb
from conftest import WAIT, need_env, until

VALUES = [
    None, True, False, 0, 1, -1, 2**63 - 1, -2**63, 0.0, -2.5, 1e300,
    "", "héllo wörld ✓", "a\0b", b"", b"\x00\xff bytes",
    [], [1, [2, [3, []]]], (), (1, "two", 3.0), {}, {"a": 1, "b": [None]},
    {"nested": {"x": {"y": (b"z",)}}},
    lpd.Tensor("float32", (2, 3), bytes(range(24))),
    lpd.Tensor("int64", (), b"\x01" * 8),
    lpd.Tensor("uint8", (0, 4), b""),
]


@pytest.mark.parametrize("v", VALUES, ids=repr)
def test_codec_round_trip(v):
    got = _values.decode(_values.encode(v))
    assert got == v
    assert type(got) is type(v)


def test_nan_round_trips():
    assert math.isnan(_values.decode(_values.encode(float("nan"))))


def test_call_round_trip(serve):
    s = serve({"echo": lambda *a, **kw: [list(a), kw]})
    with lpd.Client(s.address, timeout=10) as c:
        for v in VALUES:
            assert c.echo(v, k=v) == [[v], {"k": v}]


def test_dict_keys_in_order(serve):
    s = serve({"echo": lambda x: x})
    with lpd.Client(s.address, timeout=10) as c:
        d = {"z": 1, "a": 2, "m": 3}
        assert list(c.echo(d)) == ["z", "a", "m"]


@pytest.mark.parametrize("v,why", [
    (2**63, "int 9223372036854775808 does not fit in 64 bits"),
    ({1: "x"}, "dict key 1: only str keys can be sent, not int"),
    (object(), "a value of type object cannot be sent"),
    ({"a": [1, {2}]}, ".a[1]: a value of type set cannot be sent"),
    ("\ud800", "str is not valid Unicode"),
])
def test_what_cannot_be_sent(serve, v, why):
    s = serve({"echo": lambda x: x})
    with lpd.Client(s.address, timeout=10) as c:
        with pytest.raises(lpd.RpcError) as e:
            c.echo(v)
    assert e.value.code == "INVALID_ARGUMENT"
    assert "method echo: argument 0" in e.value.message
    assert why in e.value.message


def test_nesting_limit():
    v = []
    for _ in range(_values.MAX_DEPTH + 1):
        v = [v]
    with pytest.raises(_values.BadValue) as e:
        _values.encode(v)
    assert "values nest deeper than 100 levels" in str(e.value)


def _nest(n):
    v = "leaf"
    for _ in range(n):
        v = [v]
    return v


def test_deep_values_round_trip(serve, procs, tmp):
    """Arguments nest as deep as libcourier allows (99 lists in a call),
    past the C++ protobuf's own limit of 100 message levels."""
    s = serve({"echo": lambda x: x})
    c_address = "unix:" + os.path.join(tmp, "c.sock")
    p = procs([need_env("ECHO_SERVER"), c_address])
    until(lambda: "serving on" in p.stdout(), "echo-server serves")
    for address in (s.address, c_address):
        with lpd.Client(address, timeout=WAIT) as c:
            assert c.echo(_nest(99)) == _nest(99)
            with pytest.raises(lpd.RpcError) as e:
                c.echo(_nest(100))
            assert e.value.code == "INVALID_ARGUMENT"
            assert e.value.message.endswith(": values nest deeper than "
                                            "100 levels")


def test_tensor_is_checked():
    with pytest.raises(ValueError, match="needs 8 bytes, got 7"):
        lpd.Tensor("float32", (2,), b"1234567")
    with pytest.raises(ValueError, match="unknown dtype 'float8'"):
        lpd.Tensor("float8", (1,), b"1")


def _answer_with(build):
    """A raw server's answer: a result built by build(SerializedObject)."""
    def answer(f):
        out = pb.Frame()
        out.call_id = f.call_id
        build(out.result.result.result)
        return [out]
    return answer


@pytest.mark.parametrize("build,why", [
    (lambda o: (setattr(o.reduced_object_value, "class_module", "os"),
                setattr(o.reduced_object_value, "class_name", "system")),
     "a pickled Python object (os.system) is refused"),
    (lambda o: setattr(o.type_value, "name", b"int"),
     "a Python type value is refused"),
    (lambda o: o.list_value.items.add().numpy_object_tensor.shape.append(1),
     "[0]: numpy object arrays are refused"),
    (lambda o: setattr(o.tensor_value, "dtype", pb.DT_STRING),
     "string tensors are not supported"),
    (lambda o: o.dict_value.keys.add().int_value,
     "dict has 1 keys but 0 values"),
    (lambda o: setattr(o, "unicode_value", b"\xff"),
     "string is not valid UTF-8"),
])
def test_refused_results(raw_server, build, why):
    """A peer's value that lpd will not decode fails that call with
    INTERNAL, and the connection stays good."""
    s = raw_server(_answer_with(build))
    with lpd.Client(s.address, timeout=10) as c:
        with pytest.raises(lpd.RpcError) as e:
            c.anything()
        assert e.value.code == "INTERNAL"
        assert e.value.message.startswith("the result cannot be decoded: $")
        assert why in e.value.message
        with pytest.raises(lpd.RpcError):
            c.again()
    assert len(s.frames) == 3  # hello and both calls, on one connection


def test_refused_arguments(tmp, serve):
    """A pickled object sent to a Python server fails the call with
    INVALID_ARGUMENT, and the method never runs."""
    import socket
    from lpd import _wire
    ran = []
    s = serve({"f": lambda *a: ran.append(a)})
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(s.address[5:])
    f = pb.Frame()
    f.call_id = 7
    f.call.method = "f"
    o = f.call.arguments.args.add()
    o.reduced_object_value.class_module = "subprocess"
    o.reduced_object_value.class_name = "Popen"
    sock.sendall(_wire.pack(_wire.hello_frame()) + _wire.pack(f))
    r = _wire.Reader(1 << 20)
    got = []
    sock.settimeout(30)
    while len(got) < 2:
        r.feed(sock.recv(65536))
        while (fr := r.next()) is not None:
            got.append(fr)
    sock.close()
    assert got[0].WhichOneof("body") == "hello"
    assert got[1].call_id == 7
    assert got[1].error.code == 3     # INVALID_ARGUMENT
    assert got[1].error.message == (
        "method f: argument 0: a pickled Python object (subprocess.Popen) "
        "is refused: decoding it would run the sender's code; send plain "
        "values")
    assert ran == []
