"""Status codes and the error a failed call raises."""

# gRPC's status codes, with gRPC's numbers, as libcourier names them.
CODES = (
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED",
)
_NUMBERS = {name: i for i, name in enumerate(CODES)}


def code_name(number):
    """The name of a status code number; "UNKNOWN" for a number outside
    the range, or for OK on an error (a peer's code is not trusted)."""
    if not isinstance(number, int) or number <= 0 or number >= len(CODES):
        return "UNKNOWN"
    return CODES[number]


def code_number(name):
    """The number of a status code name."""
    try:
        return _NUMBERS[name]
    except KeyError:
        raise ValueError("%r is not a status code; one of %s"
                         % (name, ", ".join(CODES[1:]))) from None


class RpcError(Exception):
    """A failed courier call: .code is the status name ("NOT_FOUND"), and
    .message says what went wrong, for a person.

    A method of a Python node may raise it to fail a call with a chosen
    code: raise lpd.RpcError("NOT_FOUND", "no such key")."""

    def __init__(self, code, message=""):
        if code not in _NUMBERS or code == "OK":
            raise ValueError("%r is not an error status code; one of %s"
                             % (code, ", ".join(CODES[1:])))
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self):
        return "%s: %s" % (self.code, self.message)
