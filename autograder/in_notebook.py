"""Public checks on a notebook's own definitions, in the notebook's kernel.

What otter-grader's `grader.check("normalization")` and the "Check your work" cell of
the nbgrader notebooks call. It is the student's own kernel on the student's own code,
so there is no sandbox here (as with the kit's `check`): the public checks' drivers run
on the functions and classes the notebook defined (`globals()`), the expected values come
from PyTorch's built-ins (autograder/torch_refs/), and the comparison and the messages
are the grader's. Nothing here decides a grade: the course's grader grades the
submitted notebook again, in its sandbox, on the hidden checks.

    public_checks("normalization", globals())                  # prints the feedback
    assert_public("normalization/batch_norm_train", globals())  # raises AssertionError with it
"""
from __future__ import annotations

import shutil
import tempfile
import types
from pathlib import Path

import torch

from .plans import public_plan
from .checks import Check
from .compare import compare
from .config import Config
from .messages import in_place_message
from .i18n import _, gettext
from .impl import Impl, LocalConnection, RemoteError, manual_seed
from .outcome import Outcome
from .reference import run_driver
from .report import case_text
from .topics import TOPICS
from .worker import Executor


SENTINEL = "__graded_by_the_course_grader__"     # set by autograder.on_otter's empty notebook
WORDS = {"passed": "PASS", "failed": "FAIL", "not_implemented": "TODO", "error": "ERROR"}


def public_checks(topic: str, namespace: dict, device: str = "cpu") -> list[Outcome]:
    """Run every public check of `topic` on `namespace`; print one line a check and each
    failure's message; return the outcomes."""
    outcomes = run(topic, namespace, device=device)
    earned = sum(o.status == "passed" for o in outcomes)
    print(_("Public checks on your code:") + f" {earned} / {len(outcomes)}")
    for o in outcomes:
        print(f"  {WORDS.get(o.status, o.status.upper()):<5} {o.check_id.split('/', 1)[1]}: {o.title}")
        if o.status != "passed":
            print("        " + case_text(o, Config.base_seed, for_instructor=False).replace(
                "\n", "\n        "))
    return outcomes


def assert_public(check_id: str, namespace: dict, device: str = "cpu") -> None:
    """Run one public check; say nothing when it passes, raise AssertionError with the
    grader's message when it does not (otter's test cases fail that way)."""
    if SENTINEL in namespace:          # otter's autograder kernel: the grader's plugin scores it
        raise AssertionError(f"{check_id}: scored by the course's grader in its sandbox")
    topic, name = check_id.split("/", 1)
    outcomes = run(topic, namespace, only=(name,), device=device)
    if not outcomes:
        raise AssertionError(f"no public check named {check_id}")
    failed = [o for o in outcomes if o.status != "passed"]
    if failed:
        o = failed[0]
        raise AssertionError(f"{o.title}\n{o.status}: {case_text(o, Config.base_seed, for_instructor=False)}")


def run(topic_name: str, namespace: dict, only: tuple[str, ...] = (), device: str = "cpu") -> list[Outcome]:
    """The public checks of a topic (or those named in `only`) on `namespace`, in this process."""
    topic = TOPICS[topic_name]
    plan = public_plan((topic_name,)).get(topic_name)
    checks = [c for c in (plan.checks if plan else []) if not only or c.name in only]
    scratch = Path(tempfile.mkdtemp(prefix="ag-notebook-"))
    try:
        student = Executor(scratch / "student", module_prefix="agnb_student_")
        student.modules[topic.module] = _as_module(topic.module, namespace)
        reference = Executor(scratch / "reference", module_prefix="agnb_ref_")
        reference.modules[topic.module] = __import__(topic.torch_ref_module, fromlist=["_"])
        threads = torch.get_num_threads()
        torch.set_num_threads(1)                      # as in the grader's worker
        try:
            return [_case(check, topic, student, reference, device) for check in checks]
        finally:
            torch.set_num_threads(threads)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _as_module(name: str, namespace: dict) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update({k: v for k, v in namespace.items() if not k.startswith("__")})
    return module


def _case(check: Check, topic, student: Executor, reference: Executor, device: str) -> Outcome:
    seed = check.seed(Config.base_seed)

    def outcome(status: str, message: str = "") -> Outcome:
        return Outcome(check.id, device, check.topic, gettext(check.title), status,
                       1.0 if status == "passed" else 0.0, 1.0, message, "", True, seed)

    impl = Impl(LocalConnection(student), topic.module, topic.name)
    expected = None
    if check.judge is None:
        expected = run_driver(check, Impl(LocalConnection(reference), topic.module, topic.name), device, seed)
        if expected.error is not None:
            return outcome("error", _("The checker could not compute the expected values for this "
                                      "case; it is not counted against you. Please tell your "
                                      "instructor."))
    try:
        manual_seed(impl, seed)
    except Exception:                 # noqa: BLE001 - the driver meets the problem itself
        pass
    got = run_driver(check, impl, device, seed)
    if got.error is not None:
        error = got.error
        if isinstance(error, RemoteError):
            message = str(error.info.get("message") or "")
            if error.is_a("NotImplementedError") and message.startswith("Task "):
                return outcome("not_implemented", _("Not attempted yet ({task}).").format(
                    task=message.rstrip(".")))
            return outcome("error", _("Your code raised {kind}{where}: {message}").format(
                kind=error.info.get("type"), where="", message=message))
        return outcome("error", _("The check could not use what your code returned: {error}.").format(
            error=f"{type(error).__name__}: {error}"))
    if check.judge is not None:
        try:
            verdict = check.judge(got.outputs)
        except Exception as exc:      # noqa: BLE001
            verdict = _("The check could not use what your code returned: {error}.").format(error=exc)
        if isinstance(verdict, tuple):
            verdict = None if float(verdict[0]) >= 1.0 else verdict[1]
        return outcome("failed" if verdict else "passed", verdict or "")
    for name, value in expected.outputs.items():
        mismatch = compare(name, got.outputs.get(name), value, check.tolerance)
        if mismatch:
            return outcome("failed", mismatch.message)
    extra = sorted(got.mutated - expected.mutated, key=str)
    if extra:
        return outcome("failed", in_place_message(*extra[0], True))
    missing = sorted(expected.mutated - got.mutated, key=str)
    if missing:
        return outcome("failed", in_place_message(*missing[0], False))
    return outcome("passed")
