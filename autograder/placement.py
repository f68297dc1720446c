"""Device bugs without a GPU: what a run on PyTorch's `meta` device shows.

Checks that passed on the CPU are run again with inputs on the `meta` device, where
a tensor created on the CPU inside the student's code raises ("Tensor on device cpu
is not on the expected device meta!") or comes back on the wrong device. The grader
runs those cases (grader.CaseRunner.placement); this module judges each run. Only
clear evidence fails: an error that names the device, a line that moves data to the
CPU, or an output on the wrong device. What only the meta device forbids (.item(),
.tolist(); legal on a GPU) is inconclusive and ignored.
"""
from __future__ import annotations

import re

from .checks import Check
from .compare import compare
from .i18n import N_, _, gettext
from .impl import RemoteError

PLACEMENT_TITLE = N_("New tensors are created on the input's device (checked on the 'meta' device)")
_TO_CPU = re.compile(r"\.cpu\(|\.numpy\(|['\"]cpu['\"]")

CLEAN, INCONCLUSIVE = "clean", "inconclusive"


def judge_meta_run(check: Check, got, expected, source: list[str], filename: str) -> str:
    """CLEAN, INCONCLUSIVE, or the message that fails the probe, for one meta run (`got`, a
    reference.DriverRun) against the reference's (`expected`); `source`: the student's file's
    lines, named `filename`."""
    if isinstance(got.error, RemoteError):
        info = got.error.info
        message = str(info.get("message", ""))
        line = info.get("line") if info.get("file") == filename else None
        text = source[line - 1].strip() if line and 0 < line <= len(source) else ""
        if "meta" in message and "device" in message:
            return _placement_message(check, f"{info.get('type')}: {message}", line, text)
        if "Cannot copy out of meta tensor" in message and _TO_CPU.search(text):
            return _placement_message(check, _("a tensor is moved to the CPU"), line, text)
        return INCONCLUSIVE
    if got.error is not None:
        return INCONCLUSIVE
    for name, value in expected.outputs.items():
        mismatch = compare(name, got.outputs.get(name), value, check.tolerance)
        if mismatch and mismatch.kind == "device":
            return _placement_message(check, mismatch.message, None, "")
    return CLEAN


NOTHING_PASSES = N_("Device placement is checked on code that passes on the CPU; no check passes yet.")


def _placement_message(check: Check, what: str, line, text: str) -> str:
    where = _(" at line {line}: `{text}`").format(line=line, text=text) if line else ""
    return _("In '{title}', run with inputs on another device than the CPU: {what}{where}.\n"
             "Your code would fail on a GPU. Create new tensors on the input's device "
             "(device=x.device, or torch.zeros_like(x) and friends) and do not move data to the "
             "CPU.").format(title=gettext(check.title), what=what, where=where)
