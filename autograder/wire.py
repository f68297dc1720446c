"""Plain-data messages between the grader and a worker.

A message is a JSON header plus raw byte blobs, each length-prefixed:

    u32 header length | header JSON | u32 blob count | (u64 length | bytes)*

Values are JSON-able trees. Tensors become {"__tensor__": blob index, dtype,
shape, device, requires_grad}; other non-JSON values use small tagged dicts.
Nothing is ever pickled: a reply from the student's process is rebuilt from
bytes only after its sizes and dtypes were checked.

This module is part of the worker's runtime: it imports nothing from the rest of
the package, so the worker can be started without the grader's code.
"""
from __future__ import annotations

import json
import math
import os
import struct
from typing import Any

import torch

# Dtypes that may cross the wire; anything else is refused.
DTYPES = {
    "float64": torch.float64, "float32": torch.float32, "float16": torch.float16,
    "bfloat16": torch.bfloat16, "int64": torch.int64, "int32": torch.int32,
    "int16": torch.int16, "int8": torch.int8, "uint8": torch.uint8, "bool": torch.bool,
    "complex64": torch.complex64, "complex128": torch.complex128,
}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}
DEVICE_TYPES = ("cpu", "cuda", "meta")

MAX_MESSAGE_BYTES = 1 << 30     # 1 GiB: far above any check's honest output
MAX_HEADER_BYTES = 64 << 20


class WireError(ValueError):
    """A message that is malformed, too large, or names a forbidden dtype or device."""


# ----------------------------------------------------------------------------- encoding

class Encoder:
    """Turns a value tree into (header tree, blobs). `fallback` handles unknown objects."""

    def __init__(self, fallback=None):
        self.blobs: list[bytes] = []
        self.fallback = fallback

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value if type(value) is int else int(value)
        if isinstance(value, float):
            if math.isfinite(value):
                return float(value)
            return {"__float__": repr(float(value))}
        if isinstance(value, torch.Tensor):
            return self._tensor(value)
        if isinstance(value, torch.dtype):
            return {"__dtype__": DTYPE_NAMES.get(value, str(value))}
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, (list, tuple)):
            items = [self.encode(v) for v in value]
            return items if isinstance(value, list) else {"__tuple__": items}
        if isinstance(value, dict):
            if all(type(k) is str for k in value) and not any(k.startswith("__") for k in value):
                return {k: self.encode(v) for k, v in value.items()}
            return {"__dict__": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if isinstance(value, slice):
            return {"__slice__": [self.encode(value.start), self.encode(value.stop),
                                  self.encode(value.step)]}
        if self.fallback is not None:
            return self.fallback(value)
        raise WireError(f"cannot send a value of type {type(value).__name__}")

    def _tensor(self, t: torch.Tensor) -> dict:
        # Base-class calls only: a tensor subclass cannot change what is sent.
        base = torch.Tensor
        dtype = base.__getattribute__(t, "dtype")
        if dtype not in DTYPE_NAMES:
            raise WireError(f"tensor dtype {dtype} cannot be sent")
        device = base.__getattribute__(t, "device")
        shape = list(base.size(t))
        meta = {"dtype": DTYPE_NAMES[dtype], "shape": shape, "device": str(device),
                "requires_grad": bool(base.__getattribute__(t, "requires_grad"))}
        if device.type == "meta":
            meta["__tensor__"] = None
            return meta
        plain = base.detach(t)
        plain = base.contiguous(base.to(plain, "cpu"))
        if dtype == torch.bool:
            plain = base.to(plain, torch.uint8)
        elif base.numel(plain):
            plain = base.view(base.reshape(plain, (-1,)), torch.uint8)
        data = bytes(base.numpy(plain).tobytes()) if base.numel(plain) else b""
        meta["__tensor__"] = len(self.blobs)
        self.blobs.append(data)
        return meta


def dumps(value: Any, fallback=None) -> bytes:
    enc = Encoder(fallback)
    header = json.dumps(enc.encode(value), allow_nan=False).encode()
    parts = [struct.pack("<I", len(header)), header, struct.pack("<I", len(enc.blobs))]
    for blob in enc.blobs:
        parts += [struct.pack("<Q", len(blob)), blob]
    return b"".join(parts)


# ----------------------------------------------------------------------------- decoding

class Decoder:
    """Rebuilds a value tree from (header tree, blobs), checking every tensor."""

    def __init__(self, blobs: list[bytes], handle=None, allowed_devices=None, ref=None):
        self.blobs = blobs
        self.handle = handle                # called for {"__handle__": ...} dicts (objects over there)
        self.ref = ref                      # called for {"__ref__": ...} dicts (objects here)
        self.allowed_devices = allowed_devices

    def decode(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "__tensor__" in node:
            return self._tensor(node)
        if "__tuple__" in node:
            return tuple(self.decode(v) for v in _as_list(node["__tuple__"]))
        if "__dict__" in node:
            return {_hashable(self.decode(k)): self.decode(v) for k, v in _pairs(node["__dict__"])}
        if "__float__" in node:
            return float(node["__float__"]) if node["__float__"] in ("nan", "inf", "-inf") else _bad("float")
        if "__dtype__" in node:
            name = node["__dtype__"]
            return DTYPES[name] if name in DTYPES else name
        if "__device__" in node:
            return torch.device(_device(node["__device__"]))
        if "__slice__" in node:
            return slice(*[self.decode(v) for v in _as_list(node["__slice__"])])
        if "__handle__" in node:
            if self.handle is None:
                _bad("handle")
            return self.handle(node)
        if "__ref__" in node:
            if self.ref is None:
                _bad("ref")
            return self.ref(node["__ref__"])
        if "__error__" in node:
            return node
        return {k: self.decode(v) for k, v in node.items()}

    def _tensor(self, node: dict) -> torch.Tensor:
        dtype = DTYPES.get(node.get("dtype"))
        if dtype is None:
            _bad(f"dtype {node.get('dtype')!r}")
        shape = node.get("shape")
        if not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
            _bad("shape")
        device = _device(node.get("device"))
        if self.allowed_devices is not None and torch.device(device).type not in self.allowed_devices:
            _bad(f"device {device}")
        numel = math.prod(shape)
        index = node["__tensor__"]
        if torch.device(device).type == "meta":
            out = torch.empty(shape, dtype=dtype, device="meta")
        else:
            if type(index) is not int or not 0 <= index < len(self.blobs):
                _bad("tensor blob index")
            data = self.blobs[index]
            itemsize = 1 if dtype == torch.bool else torch.empty((), dtype=dtype).element_size()
            if len(data) != numel * itemsize:
                _bad(f"tensor of shape {shape} and dtype {node['dtype']} with {len(data)} bytes")
            if numel == 0:
                out = torch.empty(shape, dtype=dtype)
            else:
                raw = torch.frombuffer(bytearray(data), dtype=torch.uint8)
                out = raw.to(torch.bool) if dtype == torch.bool else raw.view(dtype)
                out = out.reshape(shape)
            out = out.to(device)
        if node.get("requires_grad") is True and (out.is_floating_point() or out.is_complex()):
            out.requires_grad_(True)
        return out


def loads(data: bytes, handle=None, allowed_devices=None, ref=None) -> Any:
    view = memoryview(data)
    try:
        (hlen,) = struct.unpack_from("<I", view, 0)
        if hlen > MAX_HEADER_BYTES:
            _bad("header too large")
        header = json.loads(bytes(view[4:4 + hlen]))
        pos = 4 + hlen
        (count,) = struct.unpack_from("<I", view, pos)
        pos += 4
        blobs = []
        for _ in range(count):
            (n,) = struct.unpack_from("<Q", view, pos)
            pos += 8
            if pos + n > len(view):
                _bad("truncated blob")
            blobs.append(bytes(view[pos:pos + n]))
            pos += n
    except (struct.error, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WireError(f"malformed message: {exc}") from None
    try:
        return Decoder(blobs, handle, allowed_devices, ref).decode(header)
    except WireError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RuntimeError) as exc:
        raise WireError(f"malformed message: {type(exc).__name__}: {exc}") from None


# ----------------------------------------------------------------------------- framing

def send(fd: int, payload: bytes) -> None:
    """Write one framed message (u64 length + payload) to a file descriptor."""
    data = struct.pack("<Q", len(payload)) + payload
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def recv_exact(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(fd: int) -> bytes:
    (n,) = struct.unpack("<Q", recv_exact(fd, 8))
    if n > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {n} bytes is over the limit")
    return recv_exact(fd, n)


# ----------------------------------------------------------------------------- helpers

def _bad(what: str):
    raise WireError(f"malformed message: bad {what}")


def _as_list(node) -> list:
    return node if isinstance(node, list) else _bad("list")


def _pairs(node) -> list:
    pairs = _as_list(node)
    if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        _bad("dict")
    return pairs


def _hashable(key):
    if isinstance(key, (str, int, float, bool, tuple)) or key is None:
        return key
    _bad("dict key")


def _device(name) -> str:
    if not isinstance(name, str):
        _bad("device")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        _bad(f"device {name!r}")
    if device.type not in DEVICE_TYPES:
        _bad(f"device {name!r}")
    return str(device)
