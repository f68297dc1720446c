"""The course as the checker sees it: its topics (course.json), the known mistakes'
outputs (mistakes.bin), the student's assignments/ folder and its public checks.
Both data files are written by the course's `python -m autograder release`.
"""
from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, replace
from pathlib import Path

from . import wire
from .checks import TopicChecks, collect
from .i18n import _
from .local_run import Course

PACKAGE = Path(__file__).resolve().parent


class UsageError(Exception):
    """A request the checker cannot serve: no assignments/ folder, an unknown name."""


@dataclass(frozen=True)
class Topic:
    name: str                   # "normalization"
    folder: str                 # "03_normalization"
    module: str                 # "normalization"
    forbidden: tuple[str, ...]  # built-ins the assignment forbids (the grader blocks them)
    stand_ins: dict             # modules replaced by PyTorch's while this topic is checked
    timeout: float              # the grader's limit on one call, in seconds

    @property
    def filename(self) -> str:
        return f"{self.module}.py"

    @property
    def graded_name(self) -> str:
        return f"graded_{self.module}" if self.stand_ins else self.module


def load_course() -> Course:
    data = json.loads((PACKAGE / "course.json").read_text(encoding="utf-8"))
    topics = {t["name"]: Topic(t["name"], t["folder"], t["module"], tuple(t["forbidden"]),
                               dict(t["stand_ins"]), float(t["timeout"])) for t in data["topics"]}
    course = Course(topics, int(data["base_seed"]), tuple(data["tamper"]), lang=data.get("lang", "en"))
    path = PACKAGE / "mistakes.bin"
    if path.exists():
        known = wire.loads(path.read_bytes())
        course.mistakes, course.mistakes_seed = known["checks"], known["base_seed"]
    return course


def find_root(start: Path) -> Path | None:
    """The nearest folder, from `start` up, that holds assignments/."""
    for folder in [start, *start.parents]:
        if (folder / "assignments").is_dir():
            return folder
    return None


def student_files(course: Course, root=None) -> tuple[Path, dict[str, Path]]:
    """The folder that holds assignments/ (`root`, or found from here up) and the
    student's module files in it, by file name."""
    start = Path(root).resolve() if root is not None else Path.cwd()
    found = find_root(start) if root is None else (start if (start / "assignments").is_dir() else None)
    if found is None:
        raise UsageError((_("no assignments/ folder in {folder}") if root is not None else
                          _("no assignments/ folder in {folder} or above it: run from the folder "
                            "that holds assignments/, or pass --root")).format(folder=start))
    files = {t.filename: found / "assignments" / t.folder / t.filename for t in course.topics.values()}
    return found, {name: path for name, path in files.items() if path.is_file()}


def public_plan(course: Course, names: list[str], root: Path) -> dict[str, TopicChecks]:
    plan = {}
    for name in names:
        path = root / "assignments" / course.topics[name].folder / "public_checks.py"
        if not path.exists():
            continue
        spec = importlib.util.spec_from_file_location(f"coursecheck_public_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        plan[name] = collect(module)
    return plan


def select(plan: dict[str, TopicChecks], wanted: list[str]) -> dict[str, TopicChecks]:
    """The plan cut down to the checks named (by name or topic/name)."""
    known = {c.name: c.id for tc in plan.values() for c in tc.checks}
    unknown = [w for w in wanted if w not in known and w not in known.values()]
    if unknown:
        raise UsageError(_("no public check named {names}. The checks are:").format(
            names=", ".join(unknown)) + "\n  " + "\n  ".join(sorted(known.values())))
    keep = {known.get(w, w) for w in wanted}
    cut = {t: replace(tc, checks=[c for c in tc.checks if c.id in keep]) for t, tc in plan.items()}
    return {t: tc for t, tc in cut.items() if tc.checks}
