"""Runs public checks on the student's own code, in this process: the student's loop.

Shared by `python -m autograder check` and the student kit's `python -m coursecheck
check` (copied into the kit unchanged). The drivers, the proxy they call through and
the comparison are the grader's own code (checks.py, impl.py, worker.py, wire.py,
compare.py, report.py), so a case reads as it does in the grader's feedback. What
differs from grading:

- no sandbox, no worker process, no zygote: the student's module is imported here,
  from a fresh copy of their files (never a stale `import` of a notebook), with no
  time limit: a call that runs past the grader's limit gets a notice, and Ctrl-C
  stops it. It is the student's own code on the student's own machine;
- the expected values come from PyTorch's built-ins (torch_refs/), run here on
  the same inputs;
- "Likely cause" compares the outputs with those of the known mistakes on the same
  inputs, computed from the reference solutions ahead of time (`Course.mistakes`:
  the kit ships them as mistakes.bin), for the course's base seed;
- a forbidden built-in is found by reading the source only: the topic's file, and
  what it imports from the course's other modules (the grader also blocks it at run time).

A course (`Course`) says what this needs to know: its topics (name, folder, module,
forbidden names, stand-ins, time limit), the tamper list and the known mistakes.
"""
from __future__ import annotations

import ast
import importlib
import itertools
import shutil
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import forbidden, wire
from .checks import Check, DriverRun, TopicChecks, run_driver
from .compare import compare
from .i18n import _
from .impl import Impl, LocalConnection, RemoteError, manual_seed
from .outcome import Outcome
from .verdicts import ImportState, Verdicts, import_failure
from . import worker
from .worker import Executor


Topic = Any        # the kit's course.Topic or the grader's topics.Topic: the attributes above


@dataclass
class Course:
    """What the checker needs to know of a course. `topics`: name -> an object with name,
    folder, module, filename, graded_name, forbidden, stand_ins and timeout (the kit's
    course.Topic, or the grader's topics.Topic)."""
    topics: dict
    base_seed: int
    tamper: tuple[str, ...]
    mistakes: dict = field(default_factory=dict)    # check id -> [{name, message, outputs}]
    mistakes_seed: int | None = None
    lang: str = "en"                                # the kit's language (release --lang)


_RUNS = itertools.count(1)             # a fresh module prefix for every run in a process
def backward_as_sum(result, upstream) -> None:
    """worker._backward with the same gradients, by back-propagating sum(output * upstream).

    torch.autograd.backward with a gradient argument imports sympy on its first call
    (1-2 s: most of a check's time here; the grader's worker pays it before grading).
    The gradient reaching each output is upstream * 1, exactly. Anything out of the
    ordinary (dtypes or shapes that differ, complex values) goes the grader's way."""
    outs = result if isinstance(result, (list, tuple)) else [result]
    grads = upstream if isinstance(upstream, (list, tuple)) else [upstream]
    pairs = [(o, g) for o, g in zip(outs, grads) if isinstance(o, torch.Tensor) and g is not None]
    if not pairs or not all(isinstance(g, torch.Tensor) and o.requires_grad and o.is_floating_point()
                            and (o.shape, o.dtype, o.device) == (g.shape, g.dtype, g.device)
                            for o, g in pairs):
        return worker._backward(result, upstream)
    sum((o * g).sum() for o, g in pairs).backward()


# ----------------------------------------------------------------------------- both sides

@contextmanager
def like_the_grader():
    """One thread and no TF32, as in the grader's worker: the same rounding, and tiny inputs
    run fastest on one thread. The process's settings are put back afterwards."""
    threads = torch.get_num_threads()
    tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.set_num_threads(1)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32


@contextmanager
def fresh_modules(folder: Path, course: Course, prefix: str):
    """While checks run, the course's module names resolve to the copies in `folder`,
    whatever this process imported before (a notebook's own `import normalization`);
    the process's modules are put back afterwards."""
    names = {t.module for t in course.topics.values()} | {t.graded_name for t in course.topics.values()}
    saved = {n: sys.modules.pop(n) for n in names if n in sys.modules}
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        while str(folder) in sys.path:
            sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n in names or n.startswith(prefix)]:
            del sys.modules[name]
        sys.modules.update(saved)


class Session:
    """The student's modules (imported here) and PyTorch's built-ins, one Impl each."""

    def __init__(self, course: Course, folder: Path, files: dict[str, Path], prefix: str):
        self.course = course
        self.files = files
        self.student = Executor(folder, module_prefix=prefix, backward=backward_as_sum)
        self.reference = Executor(folder / "_reference", module_prefix=prefix + "ref_",
                                  backward=backward_as_sum)
        self.imports: dict[str, ImportState] = {}

    def student_impl(self, topic: Topic) -> Impl:
        if topic.name not in self.imports:
            reply = self.student.handle({"op": "import", "module": topic.module,
                                         "as": topic.graded_name, "stand_ins": topic.stand_ins})
            self.imports[topic.name] = import_failure(topic, reply["error"]) if "error" in reply \
                else ImportState(True)
        return Impl(LocalConnection(self.student), topic.graded_name, topic.name)

    def reference_impl(self, topic: Topic) -> Impl:
        if topic.module not in self.reference.modules:
            self.reference.modules[topic.module] = importlib.import_module(
                f"{__package__}.torch_refs.{topic.module}")
        return Impl(LocalConnection(self.reference), topic.module, topic.name)


# ----------------------------------------------------------------------------- one case

class CaseRunner(Verdicts):
    """One (check, device) case on the student's code: its Outcome, worded as the grader's
    (verdicts.py decides it, for both)."""

    def __init__(self, session: Session, topic: Topic, topic_checks: TopicChecks, base_seed: int):
        self.session = session
        self.topic = topic
        self.topic_checks = topic_checks
        self.base_seed = base_seed
        source = session.files[topic.filename].read_text(encoding="utf-8", errors="replace")
        try:
            self.static = forbidden.scan(source, topic.forbidden)
            self.refs = forbidden.top_level_references(source)
            self.imported = imported_findings(topic, source, session.course, session.files)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            self.static, self.refs, self.imported = [], {}, []     # the import reports it
        self.extra_forbidden = self.imported
        self.tamper = session.course.tamper

    def run(self, check: Check, device: str, share: float) -> Outcome:
        impl = self.session.student_impl(self.topic)
        state = self.session.imports[self.topic.name]
        if not state.ok:
            return self.outcome(check, device, share, state.status, state.message, state.detail)
        seed = check.seed(self.base_seed)
        expected = None
        if check.judge is None:
            expected = run_driver(check, self.session.reference_impl(self.topic), device, seed)
            if expected.error is not None:
                return self.outcome(check, device, share, "error",
                                    _("The checker could not compute the expected values for this "
                                      "case; it is not counted against you. Please tell your "
                                      "instructor."),
                                    f"reference failed: {expected.error!r}")
        try:
            manual_seed(impl, seed)
        except Exception:             # noqa: BLE001 - the driver meets the problem itself
            pass
        with slow_notice(check, self.topic.timeout):
            got = run_driver(check, impl, device, seed)
        found = self.forbidden_in_source(impl.log.calls)
        if found:
            return self.outcome(check, device, share, "forbidden", found)
        if isinstance(got.error, RemoteError):
            return self.raised(check, device, share, got.error, seed)
        if isinstance(got.error, wire.WireError):
            return self.outcome(check, device, share, "error",
                                _("Your code returned something that could not be read back: "
                                  "{error}.").format(error=got.error))
        if got.error is not None:
            return self.unusable(check, device, share, got.error)
        if check.judge is not None:
            return self.judged(check, device, share, got.outputs)
        return self.compared(check, device, share, expected, got, seed)

    def diagnose(self, check: Check, device: str, seed: int, got: DriverRun) -> str:
        """Name a known mistake when the outputs match its outputs on these inputs."""
        if self.base_seed != self.session.course.mistakes_seed:
            return ""                     # shipped for the course's base seed only
        for known in self.session.course.mistakes.get(check.id, []):
            wrong = _on_device(known["outputs"], device)
            if all(compare(n, got.outputs.get(n), v, check.tolerance) is None for n, v in wrong.items()):
                return f"\nLikely cause: {known['message']}"
        return ""


def imported_findings(topic: Topic, source: str, course: Course, files: dict[str, Path]) -> list[str]:
    """Forbidden names in what this topic's file imports from the course's other modules
    (those not replaced by stand-ins), e.g. the capstone's BatchNorm1d from normalization.py:
    the grader's worker blocks them there too, at run time."""
    modules = {t.module for t in course.topics.values()} - set(topic.stand_ins) - {topic.module}
    wanted: dict[str, set | None] = {}              # module -> names imported from it; None: all
    for node in ast.walk(forbidden.parse(source)):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module in modules:
            names = {a.name for a in node.names}
            if wanted.get(node.module, set()) is not None:
                wanted[node.module] = None if "*" in names else wanted.get(node.module, set()) | names
        elif isinstance(node, ast.Import):
            wanted.update({a.name: None for a in node.names if a.name in modules})
    found = []
    for module, names in sorted(wanted.items()):
        path = files.get(f"{module}.py")
        if path is None:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            findings, refs = forbidden.scan(text, topic.forbidden), forbidden.top_level_references(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue                                # its own topic reports it
        reach = set(refs) if names is None else set().union(*(forbidden.reachable(n, refs) for n in names))
        found += [_("{name} ({file}, line {line})").format(name=f.name, file=f"{module}.py", line=f.line)
                  for f in findings if f.scope is None or f.scope in reach]
    return list(dict.fromkeys(found))


@contextmanager
def slow_notice(check: Check, seconds: float):
    """Say so when a check runs past the grader's limit on one call (there it would fail)."""
    def notice():
        print(_("{check} is still running after {seconds:g} s; the grader stops a call after "
                "{seconds:g} s. An endless loop? Ctrl-C (in a notebook: interrupt the kernel) "
                "stops it.").format(check=check.id, seconds=seconds), file=sys.stderr, flush=True)
    timer = threading.Timer(seconds, notice)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _on_device(value, device: str):
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: _on_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_device(v, device) for v in value)
    return value


# ----------------------------------------------------------------------------- a run

def run_plan(course: Course, plan: dict[str, TopicChecks], files: dict[str, Path], base_seed: int,
             run_on: list[str], absent: list[str]) -> list[Outcome]:
    """Every case of the plan, on a fresh copy of the student's modules."""
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="agcheck-") as tmp:
        folder = Path(tmp) / "my-work"
        folder.mkdir()
        for name, path in files.items():     # every module, so cross-topic imports work
            shutil.copyfile(path, folder / name)
        prefix = f"agcheck_run{next(_RUNS)}_"
        with fresh_modules(folder, course, prefix), like_the_grader():
            session = Session(course, folder, files, prefix)
            for name, topic_checks in plan.items():
                runner = CaseRunner(session, course.topics[name], topic_checks, base_seed)
                for check in topic_checks.checks:
                    devices = [d for d in run_on if d in check.devices]
                    for d in devices:
                        outcomes.append(runner.run(check, d, check.points / len(devices)))
                    for d in absent:
                        if d in check.devices:
                            outcomes.append(runner.outcome(check, d, 0.0, "skipped", _(
                                "No {device} device on this machine.").format(device=d.upper())))
    return outcomes
