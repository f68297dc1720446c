"""How a case's run becomes its Outcome: shared by the grader (grader.CaseRunner) and
the student's checker (local_run.CaseRunner, copied into the kit unchanged), so that a
case reads the same in both.

A runner subclasses `Verdicts` and gives it `base_seed`, `static` and `refs` (the
forbidden names found in the topic's source and its top-level references); it may add
`extra_forbidden` (names found elsewhere) and override `diagnose` / `diagnose_error`
(the likely cause of a mismatch or of an exception). Everything else a runner decides
for itself: where the code runs, time limits, what a dead worker means.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from . import forbidden
from .checks import Check
from .compare import compare
from .i18n import _, gettext
from .impl import RemoteError
from .messages import forbidden_message, in_place_message
from .outcome import Outcome


@dataclass
class ImportState:
    """A topic's module as its import left it: ok, or why not (the outcome of every case)."""
    ok: bool
    message: str = ""
    detail: str = ""
    status: str = "error"


def import_failure(topic, error: dict) -> ImportState:
    """What a student reads when the module did not import (`error`: worker.describe_error's)."""
    kind, msg, line = error.get("type"), error.get("message", ""), error.get("line")
    where = _(" (line {line})").format(line=line) if line else ""
    if kind in ("SyntaxError", "IndentationError", "TabError"):
        text = _("{file} has a syntax error{where}: {message}. Nothing in it could be graded.")
    elif kind == "BlockingIOError" or "Resource temporarily unavailable" in str(msg):
        text = _("{file} started more processes or threads than a worker may have{where} "
                 "({message}): a fork or thread loop at import? Nothing in it could be graded.")
    elif kind in ("ModuleNotFoundError", "ImportError"):
        text = _("{file} could not be imported{where}: {message}. Only torch, numpy and the "
                 "course's own modules are available.")
    else:
        text = _("{file} raised {kind} when imported{where}: {message}.")
    text = text.format(file=topic.filename, where=where, message=msg, kind=kind)
    return ImportState(False, text, detail=error.get("traceback", ""))


class Verdicts:
    base_seed: int
    static: list = []                       # forbidden.Finding in the topic's source
    refs: dict = {}                         # forbidden.top_level_references of that source
    extra_forbidden: list[str] = []         # found elsewhere (the modules it imports)
    tamper: tuple[str, ...] = ()

    def outcome(self, check: Check, device: str, share: float, status: str, message: str = "",
                detail: str = "") -> Outcome:
        earned = share if status == "passed" else 0.0
        return Outcome(check.id, device, check.topic, gettext(check.title), status, earned, share,
                       message, detail, check.public, check.seed(self.base_seed))

    # -- what a runner may override
    def diagnose(self, check: Check, device: str, seed: int, got) -> str:
        """"\\nLikely cause: ..." when the outputs match a known mistake's, else ""."""
        return ""

    def diagnose_error(self, check: Check, device: str, seed: int, error: RemoteError) -> str:
        """The same for an exception the code raised."""
        return ""

    # -- the verdicts
    def judged(self, check: Check, device: str, share: float, outputs) -> Outcome:
        """A judge's verdict on the outputs: None passes, a message fails, (fraction, message)
        gives partial credit."""
        try:
            verdict = check.judge(outputs)
        except Exception as exc:          # noqa: BLE001 - a value the judge could not read
            verdict = _("The check could not use what your code returned: {error}.").format(error=exc)
        if isinstance(verdict, tuple):
            fraction, message = verdict
            fraction = min(1.0, max(0.0, float(fraction)))
            if fraction < 1.0:
                failed = self.outcome(check, device, share, "failed", message)
                return replace(failed, points=round(share * fraction, 6))
            verdict = None
        return self.outcome(check, device, share, "failed" if verdict else "passed", verdict or "")

    def compared(self, check: Check, device: str, share: float, expected, got, seed: int) -> Outcome:
        """The outputs against the reference's, name by name, then the in-place changes."""
        for name, value in expected.outputs.items():
            mismatch = compare(name, got.outputs.get(name), value, check.tolerance)
            if mismatch:
                return self.outcome(check, device, share, "failed",
                                    mismatch.message + self.diagnose(check, device, seed, got))
        extra = sorted(got.mutated - expected.mutated, key=str)
        if extra:
            return self.outcome(check, device, share, "failed", in_place_message(*extra[0], True))
        missing = sorted(expected.mutated - got.mutated, key=str)
        if missing:
            return self.outcome(check, device, share, "failed", in_place_message(*missing[0], False))
        return self.outcome(check, device, share, "passed")

    def raised(self, check: Check, device: str, share: float, error: RemoteError, seed: int) -> Outcome:
        """The code raised: not attempted (a stub's "Task ..." NotImplementedError) or an error."""
        info = error.info
        where = _(" ({file}, line {line})").format(file=info.get("file"), line=info["line"]) \
            if info.get("line") and info.get("file") else ""
        msg = str(info.get("message") or "")
        if error.is_a("NotImplementedError") and msg.startswith("Task "):
            return self.outcome(check, device, share, "not_implemented",
                                _("Not attempted yet ({task}).").format(task=msg.rstrip(".")))
        return self.outcome(check, device, share, "error",
                            _("Your code raised {kind}{where}: {message}").format(
                                kind=info.get("type"), where=where, message=info.get("message"))
                            + self.diagnose_error(check, device, seed, error),
                            str(info.get("traceback", "")))

    def unusable(self, check: Check, device: str, share: float, error: BaseException) -> Outcome:
        """What came back could not be used (read back, or given to the driver)."""
        return self.outcome(check, device, share, "error",
                            _("The check could not use what your code returned: {error}.").format(
                                error=f"{type(error).__name__}: {error}"))

    def forbidden_in_source(self, calls: list[str]) -> str:
        """The forbidden names in the source of what the driver called (or at module level),
        as the message a forbidden case gets; "" when none."""
        called = set()
        for root in calls:
            called |= forbidden.reachable(root, self.refs)
        lines = {}
        for finding in self.static:
            if finding.scope is None or finding.scope in called:
                lines.setdefault(finding.name, finding.line)
        parts = [_("{name} (line {line})").format(name=n, line=line)
                 for n, line in sorted(lines.items())] + list(self.extra_forbidden)
        return forbidden_message(parts, self.tamper)
