"""Grades one submission: every check, on every device, against the reference.

For each check the same driver runs on the trusted side (reference.py) and in
the submission's worker (through impl.Impl); the outputs are compared
(compare.py), forbidden built-ins are looked for (forbidden.py and the worker's
recorder), and known mistakes are recognised. Each case ends as an Outcome;
one crash or timeout costs only the case it happened in, and the next case
gets a fresh worker.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from . import forbidden, guard, messages, wire
from .checks import Check, TopicChecks
from .compare import compare
from .config import Config
from .i18n import _, gettext
from .impl import HangLog, Impl, RemoteError, WorkerConnection, manual_seed
from .outcome import Outcome
from .placement import CLEAN, INCONCLUSIVE, NOTHING_PASSES, PLACEMENT_TITLE, judge_meta_run
from .reference import DriverRun, ReferenceSide, run_driver
from .sandbox import Worker, WorkerDied, WorkerPool, WorkerTimeout
from .submission import Submission
from .topics import TAMPER, TOPICS, Topic
from .verdicts import ImportState, Verdicts, import_failure


@dataclass
class SubmissionResult:
    submission: Submission
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    topic_seconds: dict[str, float] = field(default_factory=dict)   # where the time went


class StudentSession:
    """The submission's side: a worker with one topic's module imported.

    Each topic gets its own worker, started with that topic's forbidden built-ins
    made unreachable (guard.py) before any student file exists in it: a topic that
    forbids F.batch_norm is graded where F.batch_norm cannot run, while residual,
    which builds on PyTorch's BatchNorm, is graded where it can. The worker is
    replaced after a crash or a timeout; a module that failed to import (or hung
    while importing) is not imported again.
    """

    def __init__(self, submission: Submission, topics: list[Topic], pool: WorkerPool, config: Config):
        self.submission = submission
        self.topics = topics
        self.pool = pool
        self.config = config
        self.worker: Worker | None = None
        self.worker_topic: str | None = None
        self.imports: dict[str, ImportState] = {}
        self.hangs: dict[str, HangLog] = {}     # per topic: functions that ran past the limit

    def _request(self, worker: Worker, message: dict, timeout: float) -> dict:
        reply = wire.loads(worker.request(wire.dumps(message), timeout))
        if not isinstance(reply, dict):
            raise wire.WireError("malformed reply")
        return reply

    def ready_worker(self, topic: Topic) -> Worker:
        if self.worker is not None and not self.worker.dead and self.worker_topic == topic.name:
            return self.worker
        if self.worker is not None:
            self.worker.close()
        worker = self.pool.take()
        self.worker, self.worker_topic = worker, topic.name
        self._request(worker, {"op": "configure", "threads": self.config.worker_threads,
                               "guard": topic.guard.as_data(),
                               "cuda": "cuda" in self.config.devices}, 120)
        self._request(worker, {"op": "write", "files": self.submission.files}, 30)
        state = self.imports.get(topic.name)
        if (state is not None and not state.ok) or topic.filename not in self.submission.files:
            return worker
        message = {"op": "import", "module": topic.module, "as": topic.graded_name,
                   "stand_ins": topic.stand_ins}
        try:
            reply = self._request(worker, message, self.config.import_timeout)
        except WorkerTimeout:
            self.imports[topic.name] = ImportState(
                False, _("Importing {file} did not finish within {seconds:.0f} s: is there an "
                         "endless loop or a long computation at module level (outside any "
                         "function)?").format(file=topic.filename, seconds=self.config.import_timeout),
                status="timeout")
            worker.close()
            return self.ready_worker(topic)
        except (WorkerDied, wire.WireError) as exc:
            name = forbidden_use(exc, worker)
            if name is not None:
                self.imports[topic.name] = ImportState(
                    False, _("Importing {file} used {name}, which this assignment does not allow "
                             "(at module level, outside any function). Nothing in it could be "
                             "graded while it does.").format(file=topic.filename, name=name),
                    status="forbidden")
            else:
                self.imports[topic.name] = ImportState(
                    False, _("Importing {file} stopped the worker: {error}.").format(
                        file=topic.filename, error=exc),
                    detail=worker.output_log())
            worker.close()
            return self.ready_worker(topic)
        if "error" in reply:
            self.imports[topic.name] = import_failure(topic, reply["error"])
        else:
            self.imports[topic.name] = ImportState(True)
        return worker

    def impl(self, topic: Topic, timeout: float) -> Impl:
        worker = self.ready_worker(topic)
        hangs = None
        if topic.hang_limit is not None:
            hangs = self.hangs.setdefault(topic.name, HangLog(
                topic.hang_limit * self.config.timeout_scale, (WorkerTimeout,)))
        return Impl(WorkerConnection(worker, timeout), topic.graded_name, topic.name, timeout, hangs)

    def close(self):
        if self.worker is not None:
            self.worker.close()


def forbidden_use(error: BaseException | None, worker: Worker | None) -> str | None:
    """The built-in a worker died touching, if it died that way (guard.FORBIDDEN_EXIT).

    The exit status is read by the grader, outside the worker; the name comes from
    the worker's log and only decorates the message (a submission that fakes the
    status only costs itself points)."""
    if not isinstance(error, WorkerDied) or error.code != guard.FORBIDDEN_EXIT:
        return None
    lines = worker.output_log(limit=1 << 20).splitlines() if worker is not None else []
    names = [line[len(guard.LOG_PREFIX):].strip() for line in lines if line.startswith(guard.LOG_PREFIX)]
    name = names[-1][:120] if names else ""
    return name or _("a forbidden PyTorch built-in")


# ----------------------------------------------------------------------------- one case

class CaseRunner(Verdicts):
    """Runs one (check, device) case for one submission and decides its Outcome (the verdicts
    themselves are verdicts.py's, shared with the student's checker)."""

    def __init__(self, session: StudentSession, reference: ReferenceSide, topic_checks: TopicChecks,
                 config: Config, static: list[forbidden.Finding], refs: dict[str, set[str]]):
        self.session = session
        self.reference = reference
        self.topic = TOPICS[topic_checks.topic]
        self.topic_checks = topic_checks
        self.config = config
        self.static = static
        self.refs = refs
        self.base_seed = config.base_seed
        self.tamper = TAMPER

    def limit(self, check: Check) -> float:
        """Seconds one call of this check may take in the worker."""
        return (check.timeout or self.topic.timeout) * self.config.timeout_scale

    def run(self, check: Check, device: str, share: float) -> Outcome:
        state = self.session.imports.get(self.topic.name)
        if self.topic.filename not in self.session.submission.files:
            return self.outcome(check, device, share, "not_implemented",
                                _("{file} was not found in the submission.").format(
                                    file=self.topic.filename))
        if state is not None and not state.ok:
            return self.outcome(check, device, share, state.status, state.message, state.detail)
        seed = check.seed(self.config.base_seed)
        expected = None
        if check.judge is None:
            expected = self.reference.expected(check, device, seed)
            if expected.error is not None:
                return self.outcome(check, device, share, "error",
                                    _("The grader could not compute the expected values for this "
                                      "case; it is not counted against you. Please tell your "
                                      "instructor."),
                                    f"reference failed: {expected.error!r}")
        try:
            impl = self.session.impl(self.topic, self.limit(check))
        except (WorkerDied, wire.WireError) as exc:
            return self.outcome(check, device, share, "error",
                                _("The grader could not start the process that runs your code; "
                                  "this is not your fault: please tell your instructor."),
                                f"worker start: {exc}")
        state = self.session.imports.get(self.topic.name)
        if state is not None and not state.ok:
            return self.outcome(check, device, share, state.status, state.message, state.detail)
        try:                          # the submission's own random draws (weight init, dropout
            manual_seed(impl, seed)   # masks) are the same on every run: a grade is reproducible
        except Exception:             # noqa: BLE001 - the driver meets a broken worker itself
            pass
        got = run_driver(check, impl, device, seed)
        found = self.forbidden_in_source(impl.log.calls)
        if found:
            return self.outcome(check, device, share, "forbidden", found)
        if got.error is not None:
            return self._failed_run(check, device, share, got.error, seed)
        if check.judge is not None:
            return self.judged(check, device, share, got.outputs)
        return self.compared(check, device, share, expected, got, seed)

    def placement(self, on_cpu: dict[str, Outcome]) -> Outcome:
        """The topic's device-placement probe, one case: every check that passed on the CPU
        (`on_cpu`, by check id; a check not graded on the CPU is run there first) run again
        with its inputs on the 'meta' device, judged by placement.judge_meta_run. The first
        clear evidence fails it; passing code whose meta runs were all inconclusive keeps the
        points: failing a correct student is worse than missing a device bug the GPU run
        catches."""
        points = self.topic_checks.placement_points
        probe = Check(id=f"{self.topic_checks.topic}/device_placement", topic=self.topic_checks.topic,
                      name="device_placement", title=PLACEMENT_TITLE, points=points, driver=None)
        source = self.session.submission.files.get(self.topic.filename, "").splitlines()
        ran, statuses = 0, set()
        for check in self.topic_checks.checks:
            if not check.placement:
                continue
            first = on_cpu.get(check.id) or self.run(check, "cpu", points)
            statuses.add(first.status)
            if first.status != "passed":       # only code that works on the CPU is probed
                continue
            seed = check.seed(self.config.base_seed)
            expected = self.reference.expected(check, "meta", seed)
            if expected.error is not None:
                continue
            try:
                got = run_driver(check, self.session.impl(self.topic, self.limit(check)), "meta", seed)
            except (WorkerDied, wire.WireError):
                continue                       # the probe could not run: inconclusive
            verdict = judge_meta_run(check, got, expected, source, self.topic.filename)
            if verdict not in (CLEAN, INCONCLUSIVE):
                return self.outcome(probe, "meta", points, "failed", verdict)
            ran += verdict == CLEAN
        if ran == 0 and "passed" not in statuses:   # nothing works yet: nothing to probe
            status = "not_implemented" if statuses <= {"not_implemented"} else "failed"
            return self.outcome(probe, "meta", points, status, gettext(NOTHING_PASSES))
        return self.outcome(probe, "meta", points, "passed")

    def _failed_run(self, check: Check, device: str, share: float, error: BaseException,
                    seed: int) -> Outcome:
        if isinstance(error, WorkerTimeout):
            limit = getattr(error, "limit", None) or self.limit(check)
            if getattr(error, "earlier", None):
                return self.outcome(check, device, share, "timeout", _(
                    "Your code did not finish within {seconds:g} s on this check: {name} already "
                    "ran past the {limit:.0f} s limit in an earlier check, so later calls to it "
                    "get {seconds:g} s (an endless loop, or a very slow Python loop over "
                    "elements?).").format(seconds=limit, name=error.label, limit=error.earlier))
            return self.outcome(check, device, share, "timeout", _(
                "Your code did not finish within {seconds:.0f} s on this check (an endless loop, "
                "or a very slow Python loop over elements?).").format(seconds=limit))
        if isinstance(error, WorkerDied):
            name = forbidden_use(error, self.session.worker)
            if name is not None:
                return self.outcome(check, device, share, "forbidden", forbidden_message([name]))
            detail = self.session.worker.output_log() if self.session.worker else ""
            return self.outcome(check, device, share, "error",
                                _("Your code stopped the grading process: {error}.").format(error=error),
                                detail)
        if isinstance(error, RemoteError):
            return self.raised(check, device, share, error, seed)
        if isinstance(error, wire.WireError):
            if self.session.worker is not None:
                self.session.worker.kill()          # its later replies could be out of step
            return self.outcome(check, device, share, "error",
                                _("Your code returned something that could not be read back: "
                                  "{error}.").format(error=error))
        return self.unusable(check, device, share, error)

    def _mistaken_runs(self, check: Check, device: str, seed: int):
        """(mistake, the reference's run with that mistake) for each mistake of this check."""
        if self.reference.kind != "solutions":
            return
        for mistake in self.topic_checks.mistakes:
            if mistake.checks and check.name not in mistake.checks:
                continue
            try:
                yield mistake, self.reference.mistaken(mistake, check, device, seed)
            except Exception:                     # noqa: BLE001 - a broken hint must not stop grading
                continue

    def diagnose(self, check: Check, device: str, seed: int, got: DriverRun) -> str:
        """Name a known mistake when the submission's outputs match the mistaken reference's."""
        for mistake, wrong in self._mistaken_runs(check, device, seed):
            if wrong.error is not None or wrong.outputs is None:
                continue
            if all(compare(n, got.outputs.get(n), v, check.tolerance) is None
                   for n, v in wrong.outputs.items()):
                # English on purpose: a marker read back (report.py, audit, class report); report.py
                # shows it in the course's language (i18n.localize_causes)
                return f"\nLikely cause: {mistake.message}"
        return ""

    def diagnose_error(self, check: Check, device: str, seed: int, error: RemoteError) -> str:
        """Name a known mistake when the submission raises what the mistaken reference raises:
        the same exception type with the same message."""
        for mistake, wrong in self._mistaken_runs(check, device, seed):
            if isinstance(wrong.error, RemoteError) and wrong.error.type == error.type \
                    and str(wrong.error.info.get("message")) == str(error.info.get("message")):
                return f"\nLikely cause: {mistake.message}"
        return ""


# ----------------------------------------------------------------------------- a submission

def plan_devices(config: Config) -> tuple[list[str], list[str]]:
    """(devices to run, devices requested but absent)."""
    present = {"cpu"} | ({"cuda"} if torch.cuda.is_available() else set())
    run = [d for d in config.devices if d in present]
    return run, [d for d in config.devices if d not in present]


class Interrupted(Exception):
    """Grading was stopped (Ctrl-C); the submission's results must not be written."""


def grade_submission(submission: Submission, plan: dict[str, TopicChecks], reference: ReferenceSide,
                     pool: WorkerPool, config: Config, stop=None) -> SubmissionResult:
    started = time.monotonic()
    result = SubmissionResult(submission, notes=list(submission.problems))
    topics = [TOPICS[name] for name in plan]
    session = StudentSession(submission, topics, pool, config)
    run_devices, absent = plan_devices(config)
    try:
        for name, topic_checks in plan.items():
            topic_started = time.monotonic()
            topic = TOPICS[name]
            static, refs = static_findings(submission, topic)
            runner = CaseRunner(session, reference, topic_checks, config, static, refs)
            for check in topic_checks.checks:
                devices = [d for d in run_devices if d in check.devices]
                for device in devices:
                    if stop is not None and stop.is_set():
                        raise Interrupted(submission.name)
                    result.outcomes.append(runner.run(check, device, check.points / len(devices)))
                for device in absent:
                    if device in check.devices:
                        result.outcomes.append(runner.outcome(
                            check, device, 0.0, "skipped",
                            _("No {device} device on this machine.").format(device=device.upper())))
            if stop is not None and stop.is_set():
                raise Interrupted(submission.name)
            if topic_checks.placement_points:
                on_cpu = {o.check_id: o for o in result.outcomes if o.device == "cpu"}
                result.outcomes.append(runner.placement(on_cpu))
            result.topic_seconds[name] = round(time.monotonic() - topic_started, 4)
    finally:
        session.close()
    result.seconds = time.monotonic() - started
    return result


def forbidden_message(parts: list[str]) -> str:
    return messages.forbidden_message(parts, TAMPER)


def static_findings(submission: Submission, topic: Topic):
    source = submission.files.get(topic.filename)
    if source is None:
        return [], {}
    try:
        return forbidden.scan(source, topic.forbidden), forbidden.top_level_references(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, SystemError):
        return [], {}                 # unparsable here: the worker's import reports it
