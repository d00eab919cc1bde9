"""Values to and from courier.SerializedObject, as libcourier (and
Launchpad's Courier) encode them.

Carried: None, bool, int (64-bit), float, str, bytes, list, tuple, dict
with str keys, and tensors (numpy arrays when numpy is importable, else
lpd.Tensor). Pickled objects and type values, which Launchpad's Python
Courier can send, are refused: decoding them would run a peer's code.
"""
from . import courier_pb2 as pb

try:
    import numpy
except ImportError:     # numpy is optional: tensors are lpd.Tensor then
    numpy = None

# How deeply lists and dicts may nest, as libcourier's COURIER_MAX_DEPTH.
MAX_DEPTH = 100
# The most dimensions a tensor may have (COURIER_TENSOR_MAX_DIMS).
MAX_DIMS = 32

# TensorFlow's DataType numbers, numpy's names, element sizes.
_DTYPES = (
    (pb.DT_FLOAT, "float32", 4),
    (pb.DT_DOUBLE, "float64", 8),
    (pb.DT_INT32, "int32", 4),
    (pb.DT_UINT8, "uint8", 1),
    (pb.DT_INT16, "int16", 2),
    (pb.DT_INT8, "int8", 1),
    (pb.DT_COMPLEX64, "complex64", 8),
    (pb.DT_INT64, "int64", 8),
    (pb.DT_BOOL, "bool", 1),
    (pb.DT_BFLOAT16, "bfloat16", 2),
    (pb.DT_UINT16, "uint16", 2),
    (pb.DT_COMPLEX128, "complex128", 16),
    (pb.DT_HALF, "float16", 2),
    (pb.DT_UINT32, "uint32", 4),
    (pb.DT_UINT64, "uint64", 8),
)
_BY_NUMBER = {n: (name, size) for n, name, size in _DTYPES}
_BY_NAME = {name: (n, size) for n, name, size in _DTYPES}

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


class BadValue(ValueError):
    """A value that cannot be encoded or decoded; .path says where in it
    ("[2].key"), relative to the whole value."""

    def __init__(self, why, path=""):
        super().__init__(why)
        self.why = why
        self.path = path

    def prefixed(self, step):
        return BadValue(self.why, step + self.path)

    def __str__(self):
        if not self.path:
            return self.why
        return "%s: %s" % (self.path, self.why)


class Tensor:
    """A tensor without numpy: dtype (numpy's name, "float32"), shape (a
    tuple of ints) and data (bytes, row-major, little-endian as the
    machine's). Values arrive as numpy arrays instead when numpy is
    importable; either kind can be sent."""

    __slots__ = ("dtype", "shape", "data")

    def __init__(self, dtype, shape, data):
        if dtype not in _BY_NAME:
            raise ValueError("tensor: unknown dtype %r; one of %s"
                             % (dtype, ", ".join(sorted(_BY_NAME))))
        shape = tuple(int(d) for d in shape)
        if len(shape) > MAX_DIMS:
            raise ValueError("tensor: %d dimensions, at most %d"
                             % (len(shape), MAX_DIMS))
        count = 1
        for i, d in enumerate(shape):
            if d < 0:
                raise ValueError("tensor: dimension %d is %d" % (i, d))
            count *= d
        data = bytes(data)
        need = count * _BY_NAME[dtype][1]
        if need != len(data):
            raise ValueError("tensor: shape %s of %s needs %d bytes, got %d"
                             % (list(shape), dtype, need, len(data)))
        self.dtype = dtype
        self.shape = shape
        self.data = data

    def __eq__(self, other):
        return (isinstance(other, Tensor) and self.dtype == other.dtype and
                self.shape == other.shape and self.data == other.data)

    def __hash__(self):
        return hash((self.dtype, self.shape, self.data))

    def __repr__(self):
        return "lpd.Tensor(%r, %r, %d bytes)" % (self.dtype, self.shape,
                                                 len(self.data))


def _type_name(v):
    t = type(v)
    return t.__name__ if t.__module__ == "builtins" else \
        "%s.%s" % (t.__module__, t.__qualname__)


def _tensor_to_pb(dtype, shape, data, t):
    t.dtype = _BY_NAME[dtype][0]
    for d in shape:
        t.tensor_shape.dim.add().size = d
    t.tensor_content = data


def to_pb(v, o, depth=0):
    """Fill the SerializedObject o from v; BadValue if v cannot be."""
    if depth > MAX_DEPTH:
        raise BadValue("values nest deeper than %d levels" % MAX_DEPTH)
    if v is None:
        o.none_value = True
    elif v is True or v is False:
        o.bool_value = v
    elif isinstance(v, int):
        if not _INT64_MIN <= v <= _INT64_MAX:
            raise BadValue("int %d does not fit in 64 bits" % v)
        o.int_value = v
    elif isinstance(v, float):
        o.double_value = v
    elif isinstance(v, str):
        try:
            o.unicode_value = v.encode("utf-8")
        except UnicodeEncodeError:
            raise BadValue("str is not valid Unicode (a lone "
                           "surrogate)") from None
    elif isinstance(v, (bytes, bytearray, memoryview)):
        o.string_value = bytes(v)
    elif isinstance(v, (list, tuple)):
        items = o.list_value.items
        if isinstance(v, tuple):
            o.list_value.is_tuple = True
        elif not v:
            o.list_value.SetInParent()
        for i, item in enumerate(v):
            try:
                to_pb(item, items.add(), depth + 1)
            except BadValue as e:
                raise e.prefixed("[%d]" % i) from None
    elif isinstance(v, dict):
        d = o.dict_value
        d.SetInParent()
        for k, item in v.items():
            if not isinstance(k, str):
                raise BadValue("dict key %r: only str keys can be sent, "
                               "not %s" % (k, _type_name(k)))
            try:
                d.keys.add().unicode_value = k.encode("utf-8")
            except UnicodeEncodeError:
                raise BadValue("dict key %r is not valid Unicode"
                               % k) from None
            try:
                to_pb(item, d.values.add(), depth + 1)
            except BadValue as e:
                raise e.prefixed("." + k) from None
    elif isinstance(v, Tensor):
        _tensor_to_pb(v.dtype, v.shape, v.data, o.tensor_value)
    elif numpy is not None and isinstance(v, numpy.ndarray):
        name = v.dtype.name
        if name not in _BY_NAME or v.dtype.hasobject:
            raise BadValue("numpy array of dtype %s cannot be sent; "
                           "tensors are of %s"
                           % (name, ", ".join(sorted(_BY_NAME))))
        if v.ndim > MAX_DIMS:
            raise BadValue("tensor: %d dimensions, at most %d"
                           % (v.ndim, MAX_DIMS))
        # Tensor content is in the machine's byte order, row-major.
        native = v.astype(v.dtype.newbyteorder("="), copy=False)
        _tensor_to_pb(name, v.shape,
                      numpy.ascontiguousarray(native).tobytes(),
                      o.tensor_value)
    elif numpy is not None and isinstance(v, numpy.generic):
        to_pb(v.item(), o, depth)
    else:
        raise BadValue(
            "a value of type %s cannot be sent: courier carries None, bool, "
            "int, float, str, bytes, list, tuple, dict (str keys) and "
            "tensors" % _type_name(v))
    return o


def _tensor_from_pb(t):
    if t.dtype == pb.DT_STRING:
        raise BadValue("string tensors are not supported")
    if t.dtype not in _BY_NUMBER:
        raise BadValue("tensor: unknown dtype %d" % t.dtype)
    if t.tensor_shape.unknown_rank:
        raise BadValue("tensor of unknown rank")
    shape = tuple(d.size for d in t.tensor_shape.dim)
    name = _BY_NUMBER[t.dtype][0]
    try:
        tensor = Tensor(name, shape, t.tensor_content)
    except ValueError as e:
        raise BadValue(str(e)) from None
    if numpy is None or name == "bfloat16":
        return tensor
    return numpy.frombuffer(tensor.data, dtype=name).reshape(shape).copy()


def _dict_key(k, i):
    kind = k.WhichOneof("payload")
    if kind == "unicode_value":
        raw = k.unicode_value
    elif kind == "string_value":
        raw = k.string_value
    else:
        raise BadValue("key %d: only string keys are supported" % i)
    try:
        key = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadValue("key %d: not a UTF-8 string without NUL"
                       % i) from None
    if "\0" in key:
        raise BadValue("key %d: not a UTF-8 string without NUL" % i)
    return key


def from_pb(o, depth=0):
    """The value of a SerializedObject; BadValue if it cannot be."""
    if depth > MAX_DEPTH:
        raise BadValue("values nest deeper than %d levels" % MAX_DEPTH)
    if (o.HasField("numpy_object_tensor") or
            o.numpy_metadata == pb.SerializedObject.OBJECT_TENSOR):
        raise BadValue("numpy object arrays are refused: decoding them "
                       "would unpickle a peer's objects")
    kind = o.WhichOneof("payload")
    if kind == "none_value":
        return None
    if kind == "bool_value":
        return o.bool_value
    if kind == "int_value":
        return o.int_value
    if kind == "double_value":
        return o.double_value
    if kind == "string_value":
        return o.string_value
    if kind == "unicode_value":
        try:
            return o.unicode_value.decode("utf-8")
        except UnicodeDecodeError:
            raise BadValue("string is not valid UTF-8") from None
    if kind == "list_value":
        out = []
        for i, item in enumerate(o.list_value.items):
            try:
                out.append(from_pb(item, depth + 1))
            except BadValue as e:
                raise e.prefixed("[%d]" % i) from None
        return tuple(out) if o.list_value.is_tuple else out
    if kind == "dict_value":
        d = o.dict_value
        if len(d.keys) != len(d.values):
            raise BadValue("dict has %d keys but %d values"
                           % (len(d.keys), len(d.values)))
        out = {}
        for i, (k, item) in enumerate(zip(d.keys, d.values)):
            key = _dict_key(k, i)
            try:
                out[key] = from_pb(item, depth + 1)
            except BadValue as e:
                raise e.prefixed("." + key) from None
        return out
    if kind == "tensor_value":
        return _tensor_from_pb(o.tensor_value)
    if kind == "jax_tensor_value":
        return _tensor_from_pb(o.jax_tensor_value)
    if kind == "reduced_object_value":
        r = o.reduced_object_value
        raise BadValue("a pickled Python object (%s.%s) is refused: "
                       "decoding it would run the sender's code; send "
                       "plain values" % (r.class_module, r.class_name))
    if kind == "type_value":
        raise BadValue("a Python type value is refused; send plain "
                       "values")
    if kind is None:
        raise BadValue("empty value (no payload set)")
    raise BadValue("value of unknown kind %s" % kind)


def encode(v):
    """v as the bytes of a SerializedObject."""
    return to_pb(v, pb.SerializedObject()).SerializeToString()


def decode(data):
    """The value of the bytes of a SerializedObject."""
    return from_pb(pb.SerializedObject.FromString(data))


def place(path):
    """An error's place in a value, as libcourier writes it: "$[0].k"."""
    return "$" + path
