"""The trusted side: reference implementations, their outputs, and known mistakes.

Everything here runs in the grader's own process and never reaches a worker.
Expected outputs are computed once per batch (per check, device and seed) and
shared by every submission; so are the outputs of the known mistakes.

With a cache folder, those outputs are also kept on disk (one file per topic, device and
seed), keyed by the grader's digest (its code and the reference solutions), PyTorch's
version and each driver's own code: a later batch, or a Gradescope run whose zip ships
them, reads what an earlier one computed (the reference's runs are seconds of every small
batch: the capstone's reference trains models).

The reference sources are read once, when the side is made, and every topic's
reference is imported then: before any student code runs. Nothing a worker could
write to the disk later (where no mount namespace or uid hides the course, as may
be the case inside a Gradescope container) changes what the reference computes.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import tempfile
import threading
import types
import warnings
from pathlib import Path

import torch

from . import isolation, wire
from .checks import Check, DriverRun, run_driver  # noqa: F401 - run_driver re-exported
from .impl import Impl, LocalConnection
from .topics import ROOT, TOPICS, Topic
from .variants import Variant, apply
from .worker import Executor


class ReferenceSide:
    """Runs drivers on a trusted implementation: `solutions/` or PyTorch's built-ins."""

    def __init__(self, kind: str = "solutions", root: Path = ROOT, cache: Path | None = None):
        self.kind = kind
        self.root = root
        self._disk = DiskCache(cache, kind, root) if cache is not None else None
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
                stored = self._disk.get(check, device, seed) if self._disk else None
                if stored is None:
                    stored = run_driver(check, self.impl(TOPICS[check.topic]), device, seed)
                    if self._disk:
                        self._disk.put(check, device, seed, stored)
                self._cache[key] = stored
            return self._cache[key]

    def mistaken(self, mistake: Variant, check: Check, device: str, seed: int) -> DriverRun:
        """The outputs of the reference with `mistake` applied (solutions only)."""
        key = ("mistake", mistake.name, check.id, device, seed)
        with self._lock:
            if key not in self._cache:
                topic = TOPICS[check.topic]
                stored = self._disk.get(check, device, seed, mistake.name) if self._disk else None
                if stored is None:
                    executor = self._mistakes.get(mistake.name)
                    if executor is None:
                        source = apply(self._sources[topic.name], mistake.patch, mistake.name)
                        executor = Executor(self._dir / f"mistake{len(self._mistakes)}",
                                            module_prefix=f"agmis{id(self)}_{len(self._mistakes)}_")
                        self._load(executor, topic, source)
                        self._mistakes[mistake.name] = executor
                    impl = Impl(LocalConnection(executor), topic.module, topic.name)
                    stored = run_driver(check, impl, device, seed)
                    if self._disk:
                        self._disk.put(check, device, seed, stored, mistake.name)
                self._cache[key] = stored
            return self._cache[key]

    def close(self) -> None:
        if self._disk:
            with self._lock:
                self._disk.save()
        shutil.rmtree(self._dir, ignore_errors=True)


def fill_cache(folder: Path, plan: dict, base_seed: int, root: Path = ROOT,
               devices: tuple[str, ...] = ("cpu", "meta")) -> list[Path]:
    """Compute (or find) the reference's outputs for every compared check of `plan` at
    `base_seed` on `devices` ('meta': the placement probe's), keep them in `folder`, and
    return the files that hold them (for a Gradescope zip to ship)."""
    side = ReferenceSide("solutions", root, cache=folder)
    try:
        for topic_checks in plan.values():
            for check in topic_checks.checks:
                if check.judge is not None:
                    continue
                for device in devices:
                    if device in check.devices or (device == "meta" and check.placement):
                        side.expected(check, device, check.seed(base_seed))
    finally:
        side.close()
    paths = {side._disk._path(topic, device) for topic in plan for device in devices}
    return sorted(p for p in paths if p.exists())


def _code_digest(code: types.CodeType) -> str:
    """A digest of a function's code that is the same in every process (marshal's output
    is not: it depends on reference counts), nested functions included."""
    parts = [code.co_code, repr((code.co_names, code.co_varnames, code.co_freevars)).encode()]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            parts.append(_code_digest(const).encode())
        elif isinstance(const, frozenset):          # its order follows the hash seed
            parts.append(repr(sorted(map(repr, const))).encode())
        else:
            parts.append(repr(const).encode())
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


class DiskCache:
    """The reference's outputs on disk: folder/<topic>-<device>-<key>.bin, a wire-encoded
    {entry: {"outputs", "mutated"}}. The key names the grader's digest (its code
    and solutions under `root`), PyTorch's version (without a local build tag: a CPU build and
    a CUDA build compute the same on the CPU) and the reference's kind; an entry names the
    check, the hash of its driver's code, the seed and, for a known mistake, the mistake. A run that
    raised is not kept. Files are read once and written whole, atomically, on save()."""

    def __init__(self, folder: Path, kind: str, root: Path):
        from .plans import grader_digest
        self.folder = Path(folder)
        self.base = f"{grader_digest(root)}:{torch.__version__.split('+')[0]}:{kind}"
        self._files: dict[Path, dict] = {}
        self._dirty: set[Path] = set()

    def _path(self, topic: str, device: str) -> Path:
        key = hashlib.sha256(f"{self.base}:{topic}:{device}".encode()).hexdigest()[:24]
        return self.folder / f"{topic}-{device}-{key}.bin"

    def _entries(self, path: Path) -> dict:
        if path not in self._files:
            try:
                data = wire.loads(path.read_bytes())
                self._files[path] = data if isinstance(data, dict) else {}
            except (OSError, wire.WireError):
                self._files[path] = {}
        return self._files[path]

    @staticmethod
    def _entry(check: Check, seed: int, mistake: str | None) -> str:
        return f"{check.id}:{_code_digest(check.driver.__code__)}:{seed}" + \
            (f":mistake:{mistake}" if mistake else "")

    def get(self, check: Check, device: str, seed: int, mistake: str | None = None) -> DriverRun | None:
        found = self._entries(self._path(check.topic, device)).get(self._entry(check, seed, mistake))
        if not isinstance(found, dict):
            return None
        return DriverRun(found["outputs"], frozenset(tuple(m) for m in found["mutated"]))

    def put(self, check: Check, device: str, seed: int, run: DriverRun, mistake: str | None = None) -> None:
        if run.error is not None or run.outputs is None:
            return
        entry = {"outputs": run.outputs, "mutated": [list(m) for m in run.mutated]}
        try:
            wire.dumps(entry)
        except (wire.WireError, TypeError, ValueError):
            return                                  # a value the wire cannot carry: not kept
        path = self._path(check.topic, device)
        self._entries(path)[self._entry(check, seed, mistake)] = entry
        self._dirty.add(path)

    def save(self) -> None:
        for path in self._dirty:
            entries = dict(self._entries(path))
            try:
                entries = {**wire.loads(path.read_bytes()), **entries}   # another grader's too
            except (OSError, wire.WireError, TypeError):
                pass
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.{threading.get_ident()}")
                tmp.write_bytes(wire.dumps(entries))
                os.replace(tmp, path)
            except OSError:
                pass                                # a read-only checkout: computed again next time
        self._dirty.clear()
