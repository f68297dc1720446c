"""Runs the public checks on the student's own code, in this process.

The work is local_run.py's, shared with the course grader's `python -m autograder
check` and copied from it unchanged (so are checks.py, impl.py, worker.py, wire.py,
compare.py and report.py): a case reads as it does in the grader's feedback. This
module adds what is the kit's own: the course as the kit ships it (course.json and
mistakes.bin, see course.py), finding the student's assignments/ folder, and the
command the feedback names.
"""
from __future__ import annotations

import torch

from .course import Course, UsageError, load_course, public_plan, select, student_files
from . import i18n
from .i18n import _
from .local_run import run_plan
from .report import feedback
from .scoring import score


def run(topic_names: list[str], root=None, only: list[str] = (), device=("cpu", "cuda"),
        seed: int | None = None, lang: str | None = None) -> str:
    """The feedback text for the public checks of `topic_names` on the code under `root`,
    in `lang` (default: the kit's language, chosen when it was built)."""
    course = load_course()
    with i18n.language(lang or course.lang):
        return _run(course, topic_names, root, only, device, seed)


def _run(course: Course, topic_names: list[str], root, only, device, seed) -> str:
    unknown = [t for t in topic_names if t not in course.topics]
    if unknown:
        raise UsageError(_("unknown topic {names}; topics are: {topics}").format(
            names=", ".join(map(repr, unknown)), topics=", ".join(course.topics)))
    found, files = student_files(course, root)
    names = list(topic_names) or list(course.topics)
    notes = [_("{file} was not found.").format(
                 file=f"assignments/{course.topics[n].folder}/{course.topics[n].filename}")
             for n in names if course.topics[n].filename not in files]
    plan = public_plan(course, [n for n in names if course.topics[n].filename in files], found)
    if only:
        plan = select(plan, list(only))
    if not plan:
        raise UsageError(_("no public checks found for: {topics}").format(topics=", ".join(names)))
    base_seed = course.base_seed if seed is None else int(seed)
    present = {"cpu"} | ({"cuda"} if torch.cuda.is_available() else set())
    run_on, absent = [d for d in device if d in present], [d for d in device if d not in present]
    outcomes = run_plan(course, plan, files, base_seed, run_on, absent)
    header = _("Devices: {devices}").format(devices=", ".join(run_on)) + (
        _(" (not on this machine, skipped: {devices})").format(devices=", ".join(absent))
        if absent else "")
    text = feedback("my-work", outcomes, score(outcomes), notes, base_seed, header)
    text = text.replace(_("Feedback for {name}:").format(name="my-work"),
                        _("Public checks on your code:"), 1)
    return text.replace("python -m autograder check", "python -m coursecheck check")


def run_and_print(topic_names, root=None, only=(), device=("cpu", "cuda"), seed=None, lang=None) -> None:
    print(run(list(topic_names), root=root, only=list(only), device=tuple(device), seed=seed, lang=lang))
