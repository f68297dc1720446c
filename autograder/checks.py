"""What hidden and public checks are written with: @check, inputs, causes.

A check is a driver: a function `(impl, t) -> {name: value}` that makes seeded
inputs with `t`, calls the implementation `impl`, and returns named outputs.
The grader runs the same driver on the reference and on the submission and
compares the outputs name by name (`compare.py`). A check with a `judge`
instead is not compared to a reference: the judge looks at the submission's
outputs alone (statistical checks, properties) and returns a message or None.

    @check(points=2)
    def batch_norm_train(impl, t):
        \"\"\"BatchNorm (train): output and running statistics match the reference.\"\"\"
        x = t.randn(16, 5) * 3 + 7
        mean, var = t.zeros(5), t.ones(5)
        out = impl.batch_norm(x, mean, var, None, None, training=True)
        return {"out": out, "running_mean": mean, "running_var": var}
"""
from __future__ import annotations

import inspect
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

# Re-exported for check modules: everything a driver needs comes from here.
__all__ = ["Cause", "Check", "DriverRun", "Inputs", "TopicChecks", "cause", "check", "collect", "raised", "RemoteError",
           "assign", "call_with_grad", "fetch", "fns_on", "make_param", "make_params", "manual_seed",
           "module_types", "torch_on"]
from .impl import (RemoteError, assign, call_with_grad, fetch, fns_on, make_param,  # noqa: F401
                   make_params, manual_seed, module_types, torch_on)


@dataclass(frozen=True)
class Cause:
    """A cause that a judge names itself ("Likely cause: <message>"), by a name the bank
    can expect word for word (autograder/variants.py: `named=`). Known mistakes (patches
    of the reference) live in autograder/bank/; a judge's cause is a property of the
    submission's outputs, with no patch."""
    name: str
    message: str

    def __str__(self) -> str:
        return f"Likely cause: {self.message}"


def cause(name: str, message: str) -> Cause:
    """Register a judge's cause in the module it is defined in (its CAUSES)."""
    found = Cause(name, message)
    namespace = inspect.currentframe().f_back.f_globals
    namespace.setdefault("CAUSES", []).append(found)
    return found


@dataclass(frozen=True)
class Check:
    id: str                     # "normalization/batch_norm_train"
    topic: str
    name: str
    title: str                  # first docstring line: what students read
    points: float
    driver: Callable
    public: bool = False
    judge: Callable | None = None
    tolerance: float = 1.0      # scales the tolerance table for this check
    timeout: float | None = None
    placement: bool = True      # also run on the meta device to catch device bugs
    devices: tuple[str, ...] = ("cpu", "cuda")
    task: str = ""              # "Standardizer": what it grades, for course.toml's tasks_off

    def seed(self, base_seed: int) -> int:
        return zlib.crc32(f"{base_seed}:{self.id}".encode()) & 0x7FFFFFFF


def check(points: float, *, public: bool = False, judge: Callable | None = None,
          tolerance: float = 1.0, timeout: float | None = None, placement: bool | None = None,
          devices: tuple[str, ...] = ("cpu", "cuda"), task: str = ""):
    """Register a driver as a check of the module it is defined in.

    task: the function or class of the student's module that the check grades
    ("Standardizer"), for a task a course may switch off: course.toml's
    `tasks_off = ["normalization.Standardizer"]` takes every check tagged with it out of
    the plan and the total (autograder/course.py). Untagged checks cannot be switched off."""
    def register(driver: Callable) -> Callable:
        namespace = driver.__globals__            # the check module's globals
        topic = namespace.get("TOPIC")
        if topic is None:
            raise ValueError(f"{driver.__module__} must define TOPIC before its checks")
        doc = inspect.getdoc(driver) or driver.__name__
        found = Check(
            id=f"{topic}/{driver.__name__}", topic=topic, name=driver.__name__,
            title=doc.splitlines()[0], points=float(points), driver=driver, public=public,
            judge=judge, tolerance=tolerance, timeout=timeout,
            placement=(judge is None) if placement is None else placement, devices=devices,
            task=task)
        namespace.setdefault("CHECKS", []).append(found)
        return driver
    return register


class Inputs:
    """Seeded inputs on one device: the same values on every device and both sides.

    Values are drawn on the CPU from a private generator and then moved, so a
    check's inputs do not depend on the device or on anything the student did.
    """

    def __init__(self, seed: int, device: str):
        self.seed = seed
        self.device = torch.device(device)
        self.generator = torch.Generator().manual_seed(seed)

    def _place(self, t: torch.Tensor) -> torch.Tensor:
        return t.to(self.device)

    def randn(self, *shape, dtype=torch.float32) -> torch.Tensor:
        return self._place(torch.randn(*shape, generator=self.generator, dtype=torch.float64).to(dtype))

    def rand(self, *shape, dtype=torch.float32) -> torch.Tensor:
        return self._place(torch.rand(*shape, generator=self.generator, dtype=torch.float64).to(dtype))

    def randint(self, low: int, high: int, shape, dtype=torch.int64) -> torch.Tensor:
        return self._place(torch.randint(low, high, tuple(shape), generator=self.generator, dtype=dtype))

    def zeros(self, *shape, dtype=torch.float32) -> torch.Tensor:
        return torch.zeros(*shape, dtype=dtype, device=self.device)

    def ones(self, *shape, dtype=torch.float32) -> torch.Tensor:
        return torch.ones(*shape, dtype=dtype, device=self.device)

    def full(self, shape, value, dtype=torch.float32) -> torch.Tensor:
        return torch.full(tuple(shape), value, dtype=dtype, device=self.device)

    def tensor(self, data, dtype=torch.float32) -> torch.Tensor:
        return self._place(torch.tensor(data, dtype=dtype))

    def integer(self, low: int, high: int) -> int:
        return int(torch.randint(low, high, (1,), generator=self.generator))


@dataclass(frozen=True)
class DriverRun:
    """What one driver run produced: outputs and log, or the exception it raised."""
    outputs: dict | None
    mutated: frozenset
    error: BaseException | None = None


def run_driver(check: Check, impl, device: str, seed: int) -> DriverRun:
    """Run a check's driver on one implementation (an impl.Impl); its exception is returned."""
    try:
        outputs = check.driver(impl, Inputs(seed, device))
    except Exception as exc:        # noqa: BLE001 - reported by the caller
        return DriverRun(None, frozenset(impl.log.mutated), exc)
    if not isinstance(outputs, dict):
        outputs = {"result": outputs}
    return DriverRun(outputs, frozenset(impl.log.mutated))


@dataclass
class TopicChecks:
    """The checks of one topic, hidden or public, and the known mistakes the grader tries
    when one fails (autograder/bank/; hidden checks only)."""
    topic: str
    checks: list[Check] = field(default_factory=list)
    mistakes: list = field(default_factory=list)        # variants.Variant, kind "mistake"
    placement_points: float = 0.0
    causes: list[Cause] = field(default_factory=list)   # named by the judges themselves


def collect(module, mistakes=None) -> TopicChecks:
    """A check module's checks; a hidden module's come with the bank's known mistakes
    (autograder/bank/<topic>.py), which the grader tries when one of them fails."""
    if mistakes is None:
        mistakes = ()
        if getattr(module, "__name__", "") == f"autograder.hidden.{module.TOPIC}":
            from . import variants          # the grader's side only: the student kit has no bank
            mistakes = variants.mistakes(module.TOPIC)
    return TopicChecks(topic=module.TOPIC, checks=list(getattr(module, "CHECKS", [])),
                       mistakes=list(mistakes),
                       placement_points=float(getattr(module, "PLACEMENT_POINTS", 0.0)),
                       causes=list(getattr(module, "CAUSES", [])))


def raised(fn: Callable[[], Any]) -> str | None:
    """Call fn; the name of the exception it raised on the implementation's side, else None.

    For checks of error handling: `{"error": raised(lambda: impl.dropout(x, p=1.5))}`
    compares "ValueError" with what the reference raised.
    """
    try:
        fn()
    except RemoteError as exc:
        if exc.is_a("NotImplementedError"):
            raise                   # an unfinished stub is "not implemented", not a wrong error
        for name in ("ValueError", "TypeError", "RuntimeError"):
            if exc.is_a(name):
                return name
        return exc.type
    return None
