"""Addresses and frames, as libcourier has them.

An address is "unix:PATH" ("unix:@NAME" for the abstract namespace) or
"tcp:HOST:PORT" ("tcp:[::1]:PORT" for IPv6). A frame is a 4-byte
big-endian length and one courier.Frame; the first frame each side sends
on a connection is a hello with the protocol version.
"""
import socket
import struct

from . import courier_pb2 as pb

# The protocol version spoken (COURIER_PROTOCOL_VERSION).
PROTOCOL_VERSION = 1
AGENT = "lpd-python"
# The largest frame accepted by default: 64 MiB (COURIER_MAX_FRAME_DEFAULT).
MAX_FRAME_DEFAULT = 64 * 1024 * 1024
# Frames before the hello, which is a few bytes, are at most this big.
HELLO_MAX = 4096
HEADER = struct.Struct(">I")
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
        f = pb.Frame()
        try:
            f.ParseFromString(body)
        except Exception as e:  # DecodeError, or a nesting too deep
            raise FrameError("INVALID_ARGUMENT",
                             "malformed frame of %d bytes: %s"
                             % (size, e)) from None
        return f
