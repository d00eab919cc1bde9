"""Addresses and frames, as libcourier has them.

An address is "unix:PATH" ("unix:@NAME" for the abstract namespace) or
"tcp:HOST:PORT" ("tcp:[::1]:PORT" for IPv6). A frame is a 4-byte
big-endian length and one courier.Frame; the first frame each side sends
on a connection is a hello with the protocol version.
"""
import math
import select
import socket
import struct
import threading

from google.protobuf.message import DecodeError

from . import courier_pb2 as pb

try:
    from google.protobuf.pyext import _message as _pyext
except ImportError:     # not the C++ implementation: no depth switch
    _pyext = None

# The protocol version spoken (COURIER_PROTOCOL_VERSION).
PROTOCOL_VERSION = 1
AGENT = "lpd-python"
# The largest frame accepted by default: 64 MiB (COURIER_MAX_FRAME_DEFAULT).
MAX_FRAME_DEFAULT = 64 * 1024 * 1024
# Frames before the hello, which is a few bytes, are at most this big.
HELLO_MAX = 4096
HEADER = struct.Struct(">I")
# Nesting levels of messages a frame may hold: two per value level, as
# libcourier's COURIER_MAX_PB_DEPTH (2 * COURIER_MAX_DEPTH + 8).
MAX_PB_DEPTH = 2 * 100 + 8
_SUN_PATH_MAX = 108


class FrameError(Exception):
    """A frame that breaks the protocol; .code is the status to say so
    with (RESOURCE_EXHAUSTED for one over the limit, else
    INVALID_ARGUMENT). The connection must close."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def parse_address(address):
    """(family, sockaddr) of an address; ValueError with the reason."""
    if not isinstance(address, str):
        raise ValueError("an address is a str, not %s"
                         % type(address).__name__)
    if address.startswith("unix:"):
        path = address[5:]
        if path in ("", "@"):
            raise ValueError("%s: the path is empty" % address)
        if len(path.encode()) >= _SUN_PATH_MAX:
            raise ValueError("%s: the path is longer than %d bytes; use a "
                             "shorter folder" % (address, _SUN_PATH_MAX - 1))
        if path.startswith("@"):
            path = "\0" + path[1:]
        return socket.AF_UNIX, path
    if address.startswith("tcp:"):
        rest = address[4:]
        host, sep, port = rest.rpartition(":")
        if not sep:
            raise ValueError("%s: expected tcp:HOST:PORT" % address)
        if len(host) >= 2 and host[0] == "[" and host[-1] == "]":
            host = host[1:-1]
        elif ":" in host:
            raise ValueError("%s: put an IPv6 address in brackets, as "
                             "tcp:[::1]:PORT" % address)
        if not host:
            raise ValueError("%s: the host is empty" % address)
        if not port.isdigit() or not port.isascii() or int(port) > 65535:
            raise ValueError("%s: the port must be a number from 0 to 65535"
                             % address)
        return socket.AF_INET, (host, int(port))
    raise ValueError("%s: an address starts with unix: or tcp:" % address)


def connect(address, timeout):
    """A connected socket (blocking), or OSError. timeout: seconds for the
    connect, or None."""
    family, where = parse_address(address)
    if family == socket.AF_UNIX:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(timeout)
            s.connect(where)
        except BaseException:
            s.close()
            raise
        s.settimeout(None)
        return s
    s = socket.create_connection(where, timeout=timeout)
    s.settimeout(None)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def wait(rlist, wlist=(), timeout=None):
    """poll(2) for sockets and fds: (readable, writable), each a list of
    what was passed; an end or error counts as readable. Unlike select(),
    any fd number works (a server may hold a thousand connections)."""
    p = select.poll()
    objs = {}
    masks = {}
    for o in rlist:
        fd = o if isinstance(o, int) else o.fileno()
        objs[fd] = o
        masks[fd] = masks.get(fd, 0) | select.POLLIN
    for o in wlist:
        fd = o if isinstance(o, int) else o.fileno()
        objs[fd] = o
        masks[fd] = masks.get(fd, 0) | select.POLLOUT
    for fd, m in masks.items():
        p.register(fd, m)
    ms = None if timeout is None else max(math.ceil(timeout * 1000), 0)
    try:
        events = p.poll(ms)
    except InterruptedError:
        events = []
    r, w = [], []
    for fd, ev in events:
        if ev & (select.POLLIN | select.POLLHUP | select.POLLERR |
                 select.POLLNVAL):
            r.append(objs[fd])
        if ev & select.POLLOUT:
            w.append(objs[fd])
    return r, w


def pack(frame):
    """The bytes of a frame on the wire."""
    body = frame.SerializeToString()
    return HEADER.pack(len(body)) + body


def hello_frame():
    f = pb.Frame()
    f.hello.protocol_version = PROTOCOL_VERSION
    f.hello.agent = AGENT
    return f


def error_frame(call_id, code_number, message):
    f = pb.Frame()
    f.call_id = call_id
    f.error.code = code_number
    f.error.message = message
    return f


class Reader:
    """Frames out of the bytes read from a socket."""

    def __init__(self, max_frame):
        self.buf = bytearray()
        self.max_frame = max_frame

    def feed(self, data):
        self.buf += data

    def partial(self):
        """Whether half a frame waits."""
        return len(self.buf) != 0

    def next(self, limit=None):
        """The next whole frame, or None; FrameError if it breaks the
        protocol. limit: the size limit for this frame (the hello's)."""
        if len(self.buf) < HEADER.size:
            return None
        size, = HEADER.unpack_from(self.buf)
        cap = self.max_frame if limit is None else limit
        if size > cap:
            why = "frame of %d bytes is over the limit of %d bytes" % (size,
                                                                      cap)
            if limit is not None:
                why += ", the limit for frames before the hello"
            raise FrameError("RESOURCE_EXHAUSTED", why)
        if len(self.buf) < HEADER.size + size:
            return None
        body = bytes(self.buf[HEADER.size:HEADER.size + size])
        del self.buf[:HEADER.size + size]
        return parse_frame(body)


# Sub-message fields of each message type: field number -> its type.
_SUBS = {}


def _subs(desc):
    s = _SUBS.get(desc)
    if s is None:
        s = _SUBS[desc] = {f.number: f.message_type for f in desc.fields
                           if f.message_type is not None}
    return s


def _varint(buf, pos, end, what):
    v = shift = 0
    while pos < end and shift < 70:
        b = buf[pos]
        pos += 1
        v |= (b & 0x7f) << shift
        if not b & 0x80:
            return v, pos
        shift += 7
    raise FrameError("INVALID_ARGUMENT", what)


def _walk(buf, pos, end, desc, depth):
    """Check the wire format of one message of type desc, and that it
    nests no deeper than MAX_PB_DEPTH (libcourier's courier_pb_check)."""
    if depth > MAX_PB_DEPTH:
        raise FrameError("INVALID_ARGUMENT", "messages nest deeper than %d "
                         "levels" % MAX_PB_DEPTH)
    subs = _subs(desc)
    while pos < end:
        key, pos = _varint(buf, pos, end, "%s: truncated field key"
                           % desc.full_name)
        kind, number = key & 7, key >> 3
        if number == 0:
            raise FrameError("INVALID_ARGUMENT", "%s: bad field number"
                             % desc.full_name)
        if kind == 0:
            _, pos = _varint(buf, pos, end, "%s: field %d: truncated "
                             "varint" % (desc.full_name, number))
        elif kind == 1:
            pos += 8
        elif kind == 5:
            pos += 4
        elif kind == 2:
            n, pos = _varint(buf, pos, end, "%s: field %d: truncated "
                             "length" % (desc.full_name, number))
            if pos + n > end:
                raise FrameError("INVALID_ARGUMENT", "%s: field %d claims %d "
                                 "bytes" % (desc.full_name, number, n))
            sub = subs.get(number)
            if sub is not None:
                _walk(buf, pos, pos + n, sub, depth + 1)
            pos += n
        else:
            raise FrameError("INVALID_ARGUMENT", "%s: field %d: unsupported "
                             "wire type %d" % (desc.full_name, number, kind))
        if pos > end:
            raise FrameError("INVALID_ARGUMENT", "%s: field %d is truncated"
                             % (desc.full_name, number))


# The C++ protobuf parses at most 100 levels deep, fewer than a value may
# nest (100 lists in a call are some 208 levels). A frame it refuses is
# walked first; one that is well formed and no deeper than libcourier
# allows is then parsed with the limit off, under this lock, which every
# parse here takes, so that no other frame is parsed without the limit.
_deep_lock = threading.Lock()


def parse_frame(body):
    """The Frame in body; FrameError if it is malformed."""
    f = pb.Frame()
    with _deep_lock:
        try:
            f.ParseFromString(body)
            return f
        except DecodeError as e:
            why = str(e)
    try:
        _walk(body, 0, len(body), pb.Frame.DESCRIPTOR, 1)
    except FrameError as e:
        raise FrameError(e.code, "malformed frame: %s" % e) from None
    if _pyext is not None:
        with _deep_lock:
            _pyext.SetAllowOversizeProtos(True)
            try:
                f.ParseFromString(body)
                return f
            except DecodeError as e:
                why = str(e)
            finally:
                _pyext.SetAllowOversizeProtos(False)
    raise FrameError("INVALID_ARGUMENT", "malformed frame of %d bytes: %s"
                     % (len(body), why))
