"""wire.py: plain-data messages between the grader and a worker.

Values must survive a round trip exactly (dtype, shape, device, flags, bits),
and anything malformed, whoever wrote it, must be refused with a WireError:
a worker runs student code, so its replies are untrusted bytes.
"""
import json
import math
import os
import pickle
import struct
from pathlib import Path

import pytest
import torch

from autograder import wire


def frame(header, blobs=()) -> bytes:
    """A message in wire's framing, with a header and blobs written by hand."""
    head = json.dumps(header).encode()
    parts = [struct.pack("<I", len(head)), head, struct.pack("<I", len(blobs))]
    for blob in blobs:
        parts += [struct.pack("<Q", len(blob)), blob]
    return b"".join(parts)


def tensor_node(**overrides) -> dict:
    node = {"__tensor__": 0, "dtype": "float32", "shape": [2], "device": "cpu",
            "requires_grad": False}
    node.update(overrides)
    return node


def roundtrip(value):
    return wire.loads(wire.dumps(value))


def sample(dtype: torch.dtype) -> torch.Tensor:
    """A (2, 3) tensor of `dtype` whose values use the dtype's range (no NaN)."""
    if dtype == torch.bool:
        return torch.tensor([[True, False, True], [False, False, True]])
    if dtype.is_complex:
        return torch.tensor([[1 + 2j, -3.5 + 0j, 0 - 1e-3j], [7j, 2.25 - 4j, -0.0 + 0j]], dtype=dtype)
    if dtype.is_floating_point:
        return torch.tensor([[1.5, -2.25, 0.0], [3e4, -1e-3, 7.0]], dtype=dtype)
    info = torch.iinfo(dtype)
    return torch.tensor([[info.min, 0, 1], [info.max, 2, 3]], dtype=dtype)


def assert_same(got: torch.Tensor, want: torch.Tensor):
    assert type(got) is torch.Tensor
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    assert got.device == want.device
    assert torch.equal(got, want)


# ----------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("name", sorted(wire.DTYPES))
def test_every_wire_dtype_round_trips_bit_for_bit(name):
    dtype = wire.DTYPES[name]
    value = sample(dtype)
    got = roundtrip(value)
    assert_same(got, value)
    assert wire.DTYPE_NAMES[got.dtype] == name


def test_dtype_table_covers_bool_bfloat16_and_complex():
    for name in ("bool", "bfloat16", "complex64", "complex128"):
        assert name in wire.DTYPES


def test_zero_dim_tensor_keeps_its_empty_shape():
    value = torch.tensor(3.25, dtype=torch.float64)
    got = roundtrip(value)
    assert got.shape == torch.Size([])
    assert got.item() == 3.25


def test_empty_tensor_round_trips_with_its_shape():
    value = torch.empty(0, 3, dtype=torch.float32)
    got = roundtrip(value)
    assert got.shape == (0, 3)
    assert got.dtype == torch.float32


def test_transposed_tensor_arrives_with_its_logical_values():
    value = torch.arange(12.0).reshape(3, 4).t()
    assert not value.is_contiguous()
    got = roundtrip(value)
    assert_same(got, value)


def test_channels_last_tensor_arrives_with_its_logical_values():
    value = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    value = value.to(memory_format=torch.channels_last)
    got = roundtrip(value)
    assert_same(got, value)


def test_requires_grad_flag_survives_for_float_tensors():
    value = torch.ones(3, requires_grad=True)
    got = roundtrip(value)
    assert got.requires_grad
    assert got.is_leaf
    assert not roundtrip(torch.ones(3)).requires_grad


def test_requires_grad_flag_survives_for_complex_tensors():
    value = torch.ones(3, dtype=torch.complex64, requires_grad=True)
    assert roundtrip(value).requires_grad


def test_meta_tensor_is_sent_without_bytes():
    value = torch.empty(4, 5, dtype=torch.float64, device="meta")
    data = wire.dumps(value)
    header = json.loads(data[4:4 + struct.unpack_from("<I", data)[0]])
    assert header["__tensor__"] is None
    assert header["device"] == "meta"
    (hlen,) = struct.unpack_from("<I", data)
    assert struct.unpack_from("<I", data, 4 + hlen)[0] == 0       # no blobs at all
    got = wire.loads(data)
    assert got.device.type == "meta"
    assert got.shape == (4, 5) and got.dtype == torch.float64


def test_nested_containers_round_trip_with_their_types():
    value = {"a": [1, (2, 3.5), {"b": None}], 1: "int key", (2, 3): True,
             "__dunder": "escaped", "t": (torch.arange(3),)}
    got = roundtrip(value)
    assert set(got) == {"a", 1, (2, 3), "__dunder", "t"}
    assert got["a"][0] == 1 and got["a"][1] == (2, 3.5) and isinstance(got["a"][1], tuple)
    assert got["a"][2] == {"b": None}
    assert got[1] == "int key" and got[(2, 3)] is True and got["__dunder"] == "escaped"
    assert isinstance(got["t"], tuple) and torch.equal(got["t"][0], torch.arange(3))


def test_plain_scalars_round_trip():
    for value in (None, True, False, "text with \u00e9 and \"quotes\"", 0, -7, 2 ** 62, 1.5, -0.0):
        got = roundtrip(value)
        assert got == value and type(got) is type(value)


def test_non_finite_floats_round_trip():
    got = roundtrip([float("nan"), float("inf"), float("-inf")])
    assert math.isnan(got[0])
    assert got[1] == math.inf and got[2] == -math.inf


def test_torch_dtype_and_device_values_round_trip():
    value = [torch.float32, torch.int64, torch.bool, torch.device("cpu"), torch.device("meta"),
             torch.device("cuda", 0)]
    got = roundtrip(value)
    assert got[:3] == [torch.float32, torch.int64, torch.bool]
    assert got[3] == torch.device("cpu") and got[4] == torch.device("meta")
    assert got[5] == torch.device("cuda", 0)


def test_slices_round_trip():
    assert roundtrip(slice(1, None, 2)) == slice(1, None, 2)


def test_decoded_tensor_is_writable_and_owns_its_memory():
    data = wire.dumps(torch.zeros(4))
    got = wire.loads(data)
    got.add_(1)                                   # would fail or warn on a read-only buffer
    assert torch.equal(wire.loads(data), torch.zeros(4))


def test_values_that_are_not_plain_data_are_refused_when_encoding():
    for value in (object(), {1, 2}, b"bytes", torch.zeros(2, dtype=torch.uint16)):
        with pytest.raises(wire.WireError):
            wire.dumps(value)


def test_fallback_names_unknown_objects_instead_of_refusing():
    marker = object()
    got = wire.loads(wire.dumps([marker], fallback=lambda v: {"__handle__": 7, "type": "X"}),
                     handle=lambda node: ("handle", node["__handle__"]))
    assert got == [("handle", 7)]


# ----------------------------------------------------------------------------- tensor subclasses

class LyingTensor(torch.Tensor):
    """A student's tensor that lies when asked for its values in Python."""

    def __eq__(self, other):
        return True

    def tolist(self):
        return [42.0]

    def numpy(self, *args, **kwargs):
        raise RuntimeError("numpy() is not for graders")


def test_tensor_subclass_is_sent_as_its_raw_data():
    value = torch.arange(4.0).as_subclass(LyingTensor)
    got = roundtrip(value)
    assert type(got) is torch.Tensor              # nothing of the subclass arrives
    assert got.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert not torch.equal(got, torch.zeros(4))


# ----------------------------------------------------------------------------- malformed input

@pytest.mark.parametrize("dtype", ["object", "float", "pickle", "torch.float32", "", None, 3])
def test_unknown_dtype_name_is_a_wire_error(dtype):
    with pytest.raises(wire.WireError):
        wire.loads(frame(tensor_node(dtype=dtype), [b"\0" * 8]))


@pytest.mark.parametrize("nbytes", [0, 4, 7, 9, 16])
def test_blob_length_not_matching_the_shape_is_a_wire_error(nbytes):
    with pytest.raises(wire.WireError):
        wire.loads(frame(tensor_node(shape=[2]), [b"\0" * nbytes]))     # float32 x 2 = 8 bytes


@pytest.mark.parametrize("shape", [[-1], [2, -4], [1.5], ["2"], [True], "2", None, {"0": 2}])
def test_negative_or_non_integer_shape_is_a_wire_error(shape):
    with pytest.raises(wire.WireError):
        wire.loads(frame(tensor_node(shape=shape), [b"\0" * 8]))


def test_every_truncation_of_a_message_is_a_wire_error():
    data = wire.dumps({"x": torch.arange(6.0).reshape(2, 3), "y": [1, "two"]})
    for cut in range(len(data)):
        with pytest.raises(wire.WireError):
            wire.loads(data[:cut])


@pytest.mark.parametrize("index", [1, -1, 99, "0", True, 0.0])
def test_blob_index_out_of_range_or_not_an_int_is_a_wire_error(index):
    with pytest.raises(wire.WireError):
        wire.loads(frame(tensor_node(__tensor__=index), [b"\0" * 8]))


@pytest.mark.parametrize("device", ["mps", "xla", "vulkan", "disk", "nonsense", "", 0, None])
def test_device_other_than_cpu_cuda_meta_is_a_wire_error(device):
    with pytest.raises(wire.WireError):
        wire.loads(frame(tensor_node(device=device), [b"\0" * 8]))
    with pytest.raises(wire.WireError):
        wire.loads(frame({"__device__": device}))


def test_allowed_devices_refuses_other_devices():
    data = wire.dumps(torch.empty(2, device="meta"))
    with pytest.raises(wire.WireError):
        wire.loads(data, allowed_devices=("cpu",))
    assert wire.loads(data, allowed_devices=("cpu", "meta")).device.type == "meta"


def test_oversized_header_length_is_a_wire_error():
    with pytest.raises(wire.WireError):
        wire.loads(struct.pack("<I", wire.MAX_HEADER_BYTES + 1) + b"{}" + struct.pack("<I", 0))


def test_header_that_is_not_json_is_a_wire_error():
    body = b"\xff\xfe not json"
    with pytest.raises(wire.WireError):
        wire.loads(struct.pack("<I", len(body)) + body + struct.pack("<I", 0))


def test_tagged_nodes_with_bad_contents_are_wire_errors():
    for header in ({"__tuple__": "abc"}, {"__dict__": [[1, 2, 3]]}, {"__dict__": [[[1], 2]]},
                   {"__float__": "1e5"}, {"__float__": None}, {"__handle__": 3}):
        with pytest.raises(wire.WireError):
            wire.loads(frame(header))


@pytest.mark.parametrize("header", [
    {"__dtype__": ["float32"]},
    {"__slice__": [1, 2, 3, 4]},
    tensor_node(dtype=["float32"]),
    {"__dict__": [[{"__tuple__": [[1]]}, 2]]},
], ids=["dtype-list", "slice-4-args", "tensor-dtype-list", "unhashable-tuple-key"])
def test_malformed_tagged_node_is_a_wire_error_not_a_type_error(header):
    with pytest.raises(wire.WireError):
        wire.loads(frame(header, [b"\0" * 8]))


# ----------------------------------------------------------------------------- no pickle

class Boom:
    """Unpickling this object writes a file: proof that something was unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "unpickled!"))


def test_a_pickle_is_never_unpickled(tmp_path, monkeypatch):
    witness = tmp_path / "witness"
    calls = []
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: calls.append(a))
    payload = pickle.dumps(Boom(str(witness)))
    attempts = [
        payload,                                                    # a bare pickle
        frame({"__pickle__": 0}, [payload]),                        # a header naming pickle bytes
        frame(tensor_node(dtype="pickle", shape=[len(payload)]), [payload]),
        frame(tensor_node(dtype="object", shape=[1]), [payload]),
    ]
    for data in attempts:
        try:
            result = wire.loads(data)
        except wire.WireError:
            continue
        assert result == {"__pickle__": 0}                          # only ever plain data
    assert not witness.exists()
    assert calls == []


def test_wire_module_has_no_pickle_in_it():
    source = Path(wire.__file__).read_text()
    assert "import pickle" not in source and "pickle.load" not in source
    assert "torch.load" not in source


# ----------------------------------------------------------------------------- framing

def test_send_and_recv_frame_one_message_over_a_pipe():
    r, w = os.pipe()
    try:
        message = wire.dumps({"op": "hello", "x": torch.arange(3)})
        wire.send(w, message)
        assert wire.recv(r) == message
    finally:
        os.close(r)
        os.close(w)


def test_recv_refuses_a_message_over_the_size_limit():
    r, w = os.pipe()
    try:
        os.write(w, struct.pack("<Q", wire.MAX_MESSAGE_BYTES + 1))
        with pytest.raises(wire.WireError):
            wire.recv(r)
    finally:
        os.close(r)
        os.close(w)


def test_recv_reports_a_closed_channel_as_eof():
    r, w = os.pipe()
    os.write(w, struct.pack("<Q", 10) + b"abc")
    os.close(w)
    try:
        with pytest.raises(EOFError):
            wire.recv(r)
    finally:
        os.close(r)
