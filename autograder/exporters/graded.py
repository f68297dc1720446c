"""What a platform's notebook grades: one item a hidden check, plus the placement probe.

Points, titles and visibility come from the checks themselves (autograder/hidden/,
with course.toml's points when a course file is given), so adding or changing a check
changes every export: the nbgrader grade cells, the otter test cases.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import course as courses
from ..batch import hidden_plan, public_plan
from ..checks import TopicChecks
from ..i18n import gettext
from ..placement import PLACEMENT_TITLE
from ..topics import ROOT, TOPICS

PLACEMENT = "device_placement"


@dataclass(frozen=True)
class Item:
    check_id: str          # "normalization/batch_norm_train"
    topic: str
    name: str              # "batch_norm_train": a grade cell's or a test case's name
    title: str             # what the check checks, in a sentence (its docstring's first line)
    points: float
    public: bool           # visibility: a public check's title is shown to students


def graded_plan(topics: tuple[str, ...] = (), course_file: Path | None = None) -> dict[str, TopicChecks]:
    """The hidden checks `grade` runs, with the course file's points."""
    plan = hidden_plan(topics)
    if course_file is not None:
        plan = courses.apply_points(plan, courses.load(course_file).points)
    return plan


def items(topic: str, plan: dict[str, TopicChecks], devices: tuple[str, ...] = ("cpu", "cuda")) -> list[Item]:
    """The topic's graded items; a check that runs on none of `devices` is left out."""
    tc = plan.get(topic)
    if tc is None:
        return []
    found = [Item(c.id, topic, c.name, gettext(c.title), c.points, c.public)
             for c in tc.checks if any(d in c.devices for d in devices)]
    if tc.placement_points:
        found.append(Item(f"{topic}/{PLACEMENT}", topic, PLACEMENT, gettext(PLACEMENT_TITLE),
                          tc.placement_points, False))
    return found


def public_items(topic: str, root: Path = ROOT) -> list[Item]:
    """The topic's public checks (what students run themselves; no points in the grade)."""
    tc = public_plan((topic,), root).get(topic)
    return [Item(c.id, topic, c.name, gettext(c.title), 0.0, True) for c in (tc.checks if tc else [])]


def topic_of_notebook(stem: str):
    """The topic whose student module is `stem` (normalization.ipynb -> normalization)."""
    for topic in TOPICS.values():
        if topic.module == stem:
            return topic
    return None


def points_text(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")
