"""What a check's driver holds: one implementation, reached through a connection.

`Impl` looks like the topic's module: `impl.batch_norm(x, ...)`,
`bn = impl.BatchNorm1d(5)`, `bn(x)`, `bn.train()`. Every call becomes a request
to an `Executor` (worker.py): in the worker process for the student, in this
process for the reference. Both go through the same wire encoding, so the
driver cannot tell them apart and both are treated the same way:

- tensors go over as values; objects that are not data stay on their side and
  come back as `Ref`s (handles);
- an argument changed in place on the other side is changed in place here too,
  and the change is logged, so a check can tell "updated running_mean in place"
  from "modified its input x". The other side sends back every tensor argument
  that differs after the call from what it received (and says UNCHANGED for the
  others, which saves sending large inputs back); what changed is compared here
  with a copy kept here, and copied into the local tensor;
- an exception on the other side is raised here as `RemoteError`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from . import wire
from .sandbox import Worker
from .worker import UNCHANGED, Executor, _tensor_args, same_tensor   # the same rules on both sides


class RemoteError(Exception):
    """The implementation raised. `info` is the plain-data description of it."""

    def __init__(self, info: dict):
        self.info = info if isinstance(info, dict) else {"type": "?", "message": str(info)}
        super().__init__(f"{self.info.get('type')}: {self.info.get('message')}")

    @property
    def type(self) -> str:
        return str(self.info.get("type", "?"))

    def is_a(self, name: str) -> bool:
        types = self.info.get("types") or [self.type]
        return name in types


# ----------------------------------------------------------------------------- connections

class LocalConnection:
    """Runs requests in this process (the trusted side: reference solutions)."""

    def __init__(self, executor: Executor):
        self.executor = executor

    def request(self, payload: bytes, timeout: float | None = None) -> bytes:
        return self.executor.handle_bytes(payload)


class WorkerConnection:
    """Runs requests in a worker process, with a time limit per request."""

    def __init__(self, worker: Worker, timeout: float):
        self.worker = worker
        self.timeout = timeout

    def request(self, payload: bytes, timeout: float | None = None) -> bytes:
        return self.worker.request(payload, timeout or self.timeout)


# ----------------------------------------------------------------------------- the proxy

@dataclass
class CallLog:
    """What one driver run did on the other side: calls and in-place changes."""
    calls: list[str] = field(default_factory=list)              # top-level names called
    mutated: list[tuple[str, Any]] = field(default_factory=list)  # (call name, argument key)


class Impl:
    """One implementation of a topic's module, as seen by a driver."""

    def __init__(self, connection, module: str, topic: str, timeout: float | None = None,
                 hangs: "HangLog | None" = None):
        self._connection = connection
        self._module = module
        self._topic = topic
        self._timeout = timeout
        self._hangs = hangs
        self._seed: int | None = None      # manual_seed's, sent with the next request
        self.log = CallLog()

    def __getattr__(self, name: str) -> "Ref":
        if name.startswith("_"):
            raise AttributeError(name)
        return Ref(self, {"module": self._module}, [["attr", name]], name)

    # -- requests
    def _request(self, message: dict, timeout: float | None = None) -> dict:
        if self._seed is not None:          # one round trip fewer a case (manual_seed)
            message = {**message, "seed": self._seed}
            self._seed = None
        reply_bytes = self._connection.request(wire.dumps(message, fallback=_send_ref),
                                               timeout or self._timeout)
        reply = wire.loads(reply_bytes, handle=self._handle)
        if not isinstance(reply, dict):
            raise wire.WireError("malformed reply")
        if "error" in reply:
            raise RemoteError(reply["error"])
        return reply

    def _handle(self, node: dict) -> "Ref":
        handle = node.get("__handle__")
        if type(handle) is not int:
            raise wire.WireError("malformed handle")
        return Ref(self, {"handle": handle}, [], str(node.get("type", "object")))

    def _call(self, ref: "Ref", args, kwargs, backward=None):
        message = {"op": "call", "target": ref._spec(), "args": list(args), "kwargs": kwargs,
                   "topic": self._topic}
        if backward is not None:
            message["backward"] = backward
        self.log.calls.append(ref._root)
        sent = {key: t.detach().clone() for key, t in _tensor_args(args, kwargs)}
        if self._hangs is None:
            reply = self._request(message)
        else:
            reply = self._hangs.run(ref._label(), self._timeout, lambda limit: self._request(message, limit))
        back = {}
        for pair in reply.get("args_after") or []:
            if isinstance(pair, (list, tuple)) and len(pair) == 2:
                back[pair[0]] = pair[1]
        for key, before in sent.items():
            new = back.get(key)
            if _same(before, new):
                continue
            self.log.mutated.append((ref._label(), key))        # a missing one counts as changed
            local = args[key] if isinstance(key, int) else kwargs[key]
            if isinstance(new, torch.Tensor) and local.shape == new.shape and local.dtype == new.dtype:
                with torch.no_grad():
                    local.copy_(new.to(local.device))
        if backward is not None:
            return reply.get("value"), {k: g for k, g in reply.get("grads") or []}
        return reply.get("value")


class HangLog:
    """Functions that ran past the time limit once, for one submission: a later call to one
    of them gets `short` seconds instead of the whole limit (an endless loop costs one full
    limit per function, not one per check; a call that finishes in time is judged as ever).
    Timeouts raised through it carry `limit` (the seconds the call had) and `earlier` (the
    label of the call that hung first, when this one had the short limit)."""

    def __init__(self, short: float, timeout_types: tuple[type, ...]):
        self.short = short
        self.timeout_types = timeout_types
        self.hung: dict[str, float] = {}            # label -> the limit it ran past

    def run(self, label: str, limit: float | None, call):
        earlier = label in self.hung and limit is not None and limit > self.short
        used = self.short if earlier else limit
        try:
            return call(used)
        except self.timeout_types as exc:
            self.hung.setdefault(label, limit or 0.0)
            exc.limit, exc.label, exc.earlier = used, label, (self.hung[label] if earlier else None)
            raise


class Ref:
    """A function, class, object or attribute that lives on the implementation's side."""

    __slots__ = ("_impl", "_base", "_path", "_root")

    def __init__(self, impl: Impl, base: dict, path: list, root: str):
        self._impl, self._base, self._path, self._root = impl, base, path, root

    def __getattr__(self, name: str) -> "Ref":
        if name.startswith("__"):
            raise AttributeError(name)
        return Ref(self._impl, self._base, self._path + [["attr", name]], self._root)

    def __getitem__(self, key) -> "Ref":
        return Ref(self._impl, self._base, self._path + [["item", key]], self._root)

    def __call__(self, *args, **kwargs):
        return self._impl._call(self, args, kwargs)

    def __repr__(self):
        return f"<Ref {self._label()}>"

    def _spec(self) -> dict:
        return {**self._base, "path": self._path}

    def _label(self) -> str:
        tail = "".join(f".{k}" if kind == "attr" else f"[{k!r}]" for kind, k in self._path)
        return self._root + tail if "handle" in self._base else tail.lstrip(".")


def _same(sent: torch.Tensor, back) -> bool:
    """Whether the tensor that came back equals the one sent (the other side says UNCHANGED
    instead of sending back an argument as it came: trusting that gives a submission no more
    than restoring its input itself would)."""
    return (isinstance(back, str) and back == UNCHANGED) or same_tensor(sent, back)


def _send_ref(value):
    """A Ref passed as an argument is named, and resolved on the implementation's side."""
    if isinstance(value, Ref):
        return {"__ref__": value._spec()}
    raise wire.WireError(f"cannot send a value of type {type(value).__name__}")


# ----------------------------------------------------------------------------- driver helpers

def torch_on(impl: Impl) -> Ref:
    """PyTorch as the implementation's side sees it, to build test models there:
    `nn = torch_on(impl).nn; m = nn.Linear(4, 3)`. (Refs are resolved over there.)"""
    return Ref(impl, {"library": "torch"}, [], "torch")


def fns_on(impl: Impl) -> Ref:
    """The scalar test functions of autograder/testfns.py on the implementation's side, to
    pass as an argument: `impl.numerical_gradient(fns_on(impl).tanh_sq_sum, x)`."""
    return Ref(impl, {"library": "testfns"}, [], "testfns")


def fetch(ref: Ref) -> Any:
    """The value of an attribute on the implementation's side, as plain data."""
    return ref._impl._request({"op": "get", "target": ref._spec()}).get("value")


def assign(ref: Ref, value: Any) -> None:
    """Set an attribute or item on the implementation's side (e.g. an optimizer's lr)."""
    ref._impl._request({"op": "set", "target": ref._spec(), "value": value})


def call_with_grad(ref: Ref, *args, upstream, **kwargs):
    """Call, then backpropagate `upstream` from the output; returns (output, {arg key: grad})."""
    return ref._impl._call(ref, args, kwargs, backward=upstream)


def make_param(impl: Impl, value: torch.Tensor) -> Ref:
    """A leaf tensor (nn.Parameter) on the implementation's side, for optimizers."""
    node = impl._request({"op": "param", "value": value})["value"]
    return impl._handle(node if isinstance(node, dict) else {})   # the handle, sent as plain data


def make_params(impl: Impl, values: list[torch.Tensor]) -> list[Ref]:
    """make_param for each of `values`, in one request."""
    nodes = impl._request({"op": "param", "values": list(values)})["value"]
    if not isinstance(nodes, list) or len(nodes) != len(values):
        raise wire.WireError("malformed reply")
    return [impl._handle(node if isinstance(node, dict) else {}) for node in nodes]


def module_types(ref: Ref) -> list[tuple[str, str, str]]:
    """(name, class name, module the class is defined in) for every submodule of `ref`."""
    return [tuple(row) for row in ref._impl._request({"op": "modules", "target": ref._spec()})["value"]]


def manual_seed(impl: Impl, seed: int) -> None:
    """Seed the implementation's global generators (torch, random, numpy) just before its
    next request runs: sent with that request, so it costs no round trip of its own."""
    impl._seed = int(seed)
