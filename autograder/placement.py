"""Device bugs without a GPU: the 'meta' device probe.

Checks that passed on the CPU are run again with inputs on PyTorch's `meta`
device, where a tensor created on the CPU inside the student's code raises
("Tensor on device cpu is not on the expected device meta!") or comes back on
the wrong device. Only clear evidence fails the probe; what only the meta device
forbids (.item(), .tolist(); legal on a GPU) is inconclusive and ignored.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import wire
from .checks import Check, TopicChecks
from .compare import compare
from .i18n import N_, _, gettext
from .impl import RemoteError
from .outcome import Outcome
from .reference import run_driver
from .sandbox import WorkerDied

if TYPE_CHECKING:
    from .grader import CaseRunner

PLACEMENT_TITLE = N_("New tensors are created on the input's device (checked on the 'meta' device)")
_TO_CPU = re.compile(r"\.cpu\(|\.numpy\(|['\"]cpu['\"]")


def placement_outcome(runner: CaseRunner, topic_checks: TopicChecks, on_cpu: dict[str, Outcome]) -> Outcome:
    """Device bugs without a GPU: run the checks on the 'meta' device, where a tensor
    made on the CPU inside the student's code raises or comes back on the wrong device.

    Only clear evidence fails: an error that names the device, a line that moves
    data to the CPU, or an output on the wrong device. What only the meta device
    forbids (.item(), .tolist(); legal on a GPU) is inconclusive and ignored.
    """
    points = topic_checks.placement_points
    probe = Check(id=f"{topic_checks.topic}/device_placement", topic=topic_checks.topic,
                  name="device_placement", title=PLACEMENT_TITLE, points=points, driver=None)
    source = runner.session.submission.files.get(runner.topic.filename, "").splitlines()
    ran = 0
    statuses = set()
    for check in topic_checks.checks:
        if not check.placement:
            continue
        first = on_cpu.get(check.id) or runner.run(check, "cpu", points)
        statuses.add(first.status)
        if first.status != "passed":       # only code that works on the CPU is probed
            continue
        seed = check.seed(runner.config.base_seed)
        expected = runner.reference.expected(check, "meta", seed)
        if expected.error is not None:
            continue
        timeout = (check.timeout or runner.topic.timeout) * runner.config.timeout_scale
        try:
            got = run_driver(check, runner.session.impl(runner.topic, timeout), "meta", seed)
        except (WorkerDied, wire.WireError):
            continue                       # the probe could not run: inconclusive
        if isinstance(got.error, RemoteError):
            info = got.error.info
            message = str(info.get("message", ""))
            line = info.get("line") if info.get("file") == runner.topic.filename else None
            text = source[line - 1].strip() if line and 0 < line <= len(source) else ""
            if "meta" in message and "device" in message:
                return runner.outcome(probe, "meta", points, "failed", _placement_message(
                    check, f"{info.get('type')}: {message}", line, text))
            if "Cannot copy out of meta tensor" in message and _TO_CPU.search(text):
                return runner.outcome(probe, "meta", points, "failed", _placement_message(
                    check, _("a tensor is moved to the CPU"), line, text))
            continue                                    # inconclusive on meta
        if got.error is not None:
            continue
        for name, value in expected.outputs.items():
            mismatch = compare(name, got.outputs.get(name), value, check.tolerance)
            if mismatch and mismatch.kind == "device":
                return runner.outcome(probe, "meta", points, "failed",
                                      _placement_message(check, mismatch.message, None, ""))
        ran += 1
    if ran == 0 and "passed" not in statuses:   # nothing works yet: nothing to probe
        status = "not_implemented" if statuses <= {"not_implemented"} else "failed"
        return runner.outcome(probe, "meta", points, status,
                              _("Device placement is checked on code that passes on the CPU; "
                                "no check passes yet."))
    # Passing code whose meta runs were all inconclusive (.item(), a slow machine) keeps the
    # point: failing a correct student is worse than missing a device bug the GPU run catches.
    return runner.outcome(probe, "meta", points, "passed")


def _placement_message(check: Check, what: str, line, text: str) -> str:
    where = _(" at line {line}: `{text}`").format(line=line, text=text) if line else ""
    return _("In '{title}', run with inputs on another device than the CPU: {what}{where}.\n"
             "Your code would fail on a GPU. Create new tensors on the input's device "
             "(device=x.device, or torch.zeros_like(x) and friends) and do not move data to the "
             "CPU.").format(title=gettext(check.title), what=what, where=where)
