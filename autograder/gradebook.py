"""The batch's tables: gradebook.csv for a learning platform, scores.csv for the instructor.

gradebook.csv holds only what a gradebook import takes: who (the submission's name,
or with a roster the platform's own identifiers) and one column of points per grade
item (the total, then each topic). Moodle and Canvas each turn every other column
into a grade item of its own, so maxima, percentages and notes live in scores.csv.

With a roster the identity columns are Canvas's (`Student`, `SIS User ID`,
`SIS Login ID`, `Section`) and an `Email` column for Moodle's "map from" step. A
roster row with no submission gets a row with empty scores (the platform then
records no grade rather than a zero); a submission with no roster row keeps its
submission name and a note.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from .i18n import _

ROSTER_COLUMNS = ("submission", "student_id", "email", "name", "section")
IDENTITY = ("Student", "SIS User ID", "SIS Login ID", "Section", "Email")


class RosterError(ValueError):
    """The roster file cannot be used (its message says why, for the instructor)."""


@dataclass(frozen=True)
class Student:
    submission: str
    student_id: str = ""
    email: str = ""
    name: str = ""
    section: str = ""
    submitted_at: str = ""      # when it was submitted (ISO 8601): course.toml's late policy


def read_roster(path: Path) -> dict[str, Student]:
    """Submission name -> Student. Columns: submission (required), student_id, email,
    name, section, submitted_at (a date and time, for course.toml's late policy); any
    others are ignored."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"the roster {path} cannot be read: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    if "submission" not in columns:
        raise RosterError(f"the roster {path} has no 'submission' column (columns: "
                          f"{', '.join(columns) or 'none'}); expected {', '.join(ROSTER_COLUMNS)}")
    students: dict[str, Student] = {}
    for number, row in enumerate(reader, 2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k}
        name = row.get("submission", "")
        if not name:
            raise RosterError(f"the roster {path}, line {number}: the submission column is empty")
        if name in students:
            raise RosterError(f"the roster {path}, line {number}: submission {name!r} appears twice")
        when = row.get("submitted_at", "")
        if when:
            from .course import parse_time
            try:
                parse_time(when)
            except ValueError:
                raise RosterError(f"the roster {path}, line {number}: submitted_at {when!r} is not a date "
                                  "and time (write ISO 8601, e.g. 2026-03-02T05:30:00+03:00)") from None
        students[name] = Student(name, *(row.get(c, "") for c in ROSTER_COLUMNS[1:]), submitted_at=when)
    return students


def roster_notes(names: list[str], roster: dict[str, Student]) -> tuple[dict[str, str], list[str]]:
    """(note for each submission with no roster row, roster rows with no submission)."""
    unmatched = {n: _("This submission matches no row of the roster: it is listed under its own "
                      "name in the gradebook.") for n in names if n not in roster}
    missing = sorted(set(roster) - set(names))
    return unmatched, missing


def write_tables(out: Path, graded: list, roster: dict[str, Student] | None, write_atomic) -> None:
    """gradebook.csv and scores.csv for `graded` (batch.Graded), in name order."""
    topics: list[str] = []
    for g in graded:
        for t in g.score.topics:
            if t.topic not in topics:
                topics.append(t.topic)
    by_name = {g.name: g for g in graded}
    write_atomic(out / "gradebook.csv", _gradebook(by_name, topics, roster))
    write_atomic(out / "scores.csv", _scores(by_name, topics, roster))


def _csv(rows: list[list]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def _points(g, topics: list[str]) -> list[str]:
    if g is None:
        return [""] * (1 + len(topics))
    by = {t.topic: t for t in g.score.topics}
    return [f"{g.score.score:g}"] + [f"{by[t].score:g}" if t in by else "" for t in topics]


def _gradebook(by_name: dict, topics: list[str], roster: dict[str, Student] | None) -> str:
    if roster is None:
        rows = [["submission", "score", *topics]]
        rows += [[name, *_points(by_name[name], topics)] for name in sorted(by_name)]
        return _csv(rows)
    rows = [[*IDENTITY, "score", *topics]]
    for name in sorted(set(by_name) | set(roster)):
        s = roster.get(name)
        who = [s.name or name, s.student_id, s.email, s.section, s.email] if s else [name, "", "", "", ""]
        rows.append([*who, *_points(by_name.get(name), topics)])
    return _csv(rows)


def _scores(by_name: dict, topics: list[str], roster: dict[str, Student] | None) -> str:
    rows = [["submission", "student_id", "score", "max_score", "percent",
             *topics, *(f"{t}_max" for t in topics), "notes"]]
    names = sorted(set(by_name) | set(roster or {}))
    for name in names:
        g, s = by_name.get(name), (roster or {}).get(name)
        if g is None:
            rows.append([name, s.student_id if s else "", "", "", "", *[""] * (2 * len(topics)),
                         "no submission"])
            continue
        by = {t.topic: t for t in g.score.topics}
        rows.append([name, s.student_id if s else "", f"{g.score.score:g}", f"{g.score.max_score:g}",
                     f"{g.score.percent:.1f}", *[f"{by[t].score:g}" if t in by else "" for t in topics],
                     *[f"{by[t].max_score:g}" if t in by else "" for t in topics], " | ".join(g.notes)])
    return _csv(rows)
