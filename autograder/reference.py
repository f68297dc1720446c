"""The trusted side: reference implementations, their outputs, and known mistakes.

Everything here runs in the grader's own process and never reaches a worker.
Expected outputs are computed once per batch (per check, device and seed) and
shared by every submission; so are the outputs of the known mistakes.

The reference sources are read once, when the side is made, and every topic's
reference is imported then: before any student code runs. Nothing a worker could
write to the disk later (where no mount namespace or uid hides the course, as may
be the case inside a Gradescope container) changes what the reference computes.
"""
from __future__ import annotations

import importlib
import shutil
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from . import isolation
from .checks import Check, Inputs
from .impl import Impl, LocalConnection
from .topics import ROOT, TOPICS, Topic
from .variants import Variant, apply
from .worker import Executor


@dataclass(frozen=True)
class DriverRun:
    """What one driver run produced: outputs and log, or the exception it raised."""
    outputs: dict | None
    mutated: frozenset
    error: BaseException | None = None


def run_driver(check: Check, impl: Impl, device: str, seed: int) -> DriverRun:
    try:
        outputs = check.driver(impl, Inputs(seed, device))
    except Exception as exc:        # noqa: BLE001 - reported by the caller
        return DriverRun(None, frozenset(impl.log.mutated), exc)
    if not isinstance(outputs, dict):
        outputs = {"result": outputs}
    return DriverRun(outputs, frozenset(impl.log.mutated))


class ReferenceSide:
    """Runs drivers on a trusted implementation: `solutions/` or PyTorch's built-ins."""

    def __init__(self, kind: str = "solutions", root: Path = ROOT):
        self.kind = kind
        self.root = root
        self._dir = Path(tempfile.mkdtemp(prefix=isolation.owned_prefix("ag_reference")))
        self._executor = Executor(self._dir / "modules", module_prefix=f"agref{id(self)}_")
        # The reference's own warnings (a variance of one sample, a graph kept by a known
        # mistake) are the course's business, not the grader's output: keep them off stderr.
        warnings.filterwarnings("ignore", module=r"ag(ref|mis)\d+_")
        self._mistakes: dict[str, Executor] = {}
        self._cache: dict[tuple, DriverRun] = {}
        self._lock = threading.RLock()
        self._loaded: set[str] = set()
        self._sources = {t.name: t.solution_path(root).read_text() for t in TOPICS.values()
                         if kind == "solutions" and t.solution_path(root).exists()}
        for name in self._sources:
            self.impl(TOPICS[name])

    # ------------------------------------------------------------------ loading
    def _load(self, executor: Executor, topic: Topic, source: str | None = None) -> None:
        if self.kind == "torch" and source is None:
            executor.modules[topic.module] = importlib.import_module(topic.torch_ref_module)
            return
        executor.module_dir.mkdir(parents=True, exist_ok=True)
        for name, text in self._sources.items():  # flat, as in a worker: train.py imports the rest
            path = executor.module_dir / TOPICS[name].filename
            if not path.exists():
                path.write_text(text)
        if source is not None:
            (executor.module_dir / topic.filename).write_text(source)
        reply = executor.handle({"op": "import", "module": topic.module})
        if "error" in reply:
            raise RuntimeError(f"the reference for {topic.name} failed to import: {reply['error']}")

    def impl(self, topic: Topic) -> Impl:
        with self._lock:
            if topic.name not in self._loaded:
                self._load(self._executor, topic)
                self._loaded.add(topic.name)
        return Impl(LocalConnection(self._executor), topic.module, topic.name)

    # ------------------------------------------------------------------ outputs
    def expected(self, check: Check, device: str, seed: int) -> DriverRun:
        key = (check.id, device, seed)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = run_driver(check, self.impl(TOPICS[check.topic]), device, seed)
            return self._cache[key]

    def mistaken(self, mistake: Variant, check: Check, device: str, seed: int) -> DriverRun:
        """The outputs of the reference with `mistake` applied (solutions only)."""
        key = ("mistake", mistake.name, check.id, device, seed)
        with self._lock:
            if key not in self._cache:
                executor = self._mistakes.get(mistake.name)
                topic = TOPICS[check.topic]
                if executor is None:
                    source = apply(self._sources[topic.name], mistake.patch, mistake.name)
                    executor = Executor(self._dir / f"mistake{len(self._mistakes)}",
                                        module_prefix=f"agmis{id(self)}_{len(self._mistakes)}_")
                    self._load(executor, topic, source)
                    self._mistakes[mistake.name] = executor
                impl = Impl(LocalConnection(executor), topic.module, topic.name)
                self._cache[key] = run_driver(check, impl, device, seed)
            return self._cache[key]

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
