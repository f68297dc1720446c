"""What a batch writes, and reads back: each submission's files, the gradebook, the
resume records, and the merge of sharded outputs.

Per submission, in OUT/<name>/: feedback.txt (the student's), instructor.txt (every case
with the line that replays it), results.json (Gradescope's format: an export) and
resume.json, the record a later run reads to skip a submission whose fingerprint is
unchanged, and `merge` reads to join shards. Every file is written atomically, so an
interrupted batch loses nothing already graded.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import course as courses
from . import i18n, isolation
from .class_report import write_report
from .config import Config
from .exporters.gradescope import results_json
from .gradebook import Student, write_tables
from .grader import SubmissionResult, plan_devices
from .outcome import Outcome
from .report import feedback, instructor_feedback
from .scoring import Score, score, with_late

RESUME = "resume.json"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass
class Graded:
    """One submission's result, as a batch returns it."""
    name: str
    score: Score
    seconds: float
    notes: list[str]
    reused: bool = False                                   # from an earlier run (resume.json)
    outcomes: list[Outcome] = field(default_factory=list)  # every case, as graded


def write_submission(out: Path, name: str, result: SubmissionResult, config: Config, fp: str,
                     late: courses.Late | None = None) -> Graded:
    total = score(result.outcomes)
    if late is not None:                     # course.toml's late policy: the total only
        before, total = total, with_late(total, late.as_data())
        if late.noted:
            result.notes.append(courses.late_note(late, before.score, total.score, total.max_score))
    folder = out / name
    run_devices, absent = plan_devices(config)
    header = (i18n._("Devices: {devices}").format(devices=", ".join(run_devices))
              + (i18n._(" (not on this machine, skipped: {devices})").format(devices=", ".join(absent))
                 if absent else ""))
    write_atomic(folder / "feedback.txt",
                 feedback(name, result.outcomes, total, result.notes, config.base_seed, header))
    write_atomic(folder / "instructor.txt",          # every case with the line that replays it
                 instructor_feedback(name, result.outcomes, total, result.notes, config.base_seed, header))
    data = results_json(result.outcomes, total, result.seconds, result.notes, config.base_seed,
                        config.hidden_visibility)
    data["extra_data"]["fingerprint"] = fp
    data["extra_data"]["notes"] = list(result.notes)
    data["extra_data"]["isolation"] = isolation.detect().names()
    data["extra_data"]["outcomes"] = [o.to_dict() for o in result.outcomes]
    if late is not None:
        data["extra_data"]["late"] = late.as_data()
    write_atomic(folder / "results.json", json.dumps(data, indent=1))
    record = {"fingerprint": fp, "seconds": result.seconds, "topic_seconds": result.topic_seconds,
              "notes": list(result.notes),
              "late": late.as_data() if late is not None else None,
              "outcomes": [o.to_dict() for o in result.outcomes]}
    write_atomic(folder / RESUME, json.dumps(record))     # last: a record means the rest is there
    return Graded(name, total, result.seconds, result.notes, outcomes=list(result.outcomes))


def reuse(out: Path, name: str, fp: str) -> Graded | None:
    """The result already written for this submission, if made from the same fingerprint."""
    record = _record(out / name)
    if record is None or record.get("fingerprint") != fp:
        return None
    return read_graded(out / name)


def _record(folder: Path) -> dict | None:
    try:
        record = json.loads((folder / RESUME).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_gradebook(out: Path, graded: list[Graded], roster: dict[str, Student] | None = None) -> None:
    """gradebook.csv (for a learning platform's import) and scores.csv (gradebook.py)."""
    write_tables(out, graded, roster, write_atomic)


def read_graded(folder: Path) -> Graded | None:
    """A submission's Graded from its resume record (any fingerprint)."""
    record = _record(folder)
    try:
        outcomes = [Outcome(**o) for o in record["outcomes"]]
        notes = [str(n) for n in record.get("notes", [])]
        total = with_late(score(outcomes), record.get("late"))
        return Graded(folder.name, total, float(record.get("seconds", 0)), notes, reused=True,
                      outcomes=outcomes)
    except (TypeError, KeyError, ValueError):
        return None


def shard_of(name: str, shards: int) -> int:
    """Which of `shards` shards (1-based) grades this submission: stable, whatever the batch."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % shards + 1


def merge(outs: list[Path], into: Path, roster: dict[str, Student] | None = None) -> list[Graded]:
    """The results of several shards' output folders as one: their submission folders side
    by side in `into`, and one gradebook. A name in two shards is an error (it means the
    shards were not cut from the same batch)."""
    graded: dict[str, Graded] = {}
    sources: dict[str, Path] = {}
    for out in outs:
        for folder in sorted(p for p in out.iterdir() if p.is_dir() and (p / RESUME).exists()):
            g = read_graded(folder)
            if g is None:
                raise ValueError(f"{folder / RESUME} cannot be read")
            if g.name in graded:
                raise ValueError(f"{g.name} was graded in two shards ({sources[g.name]} and {out})")
            graded[g.name], sources[g.name] = g, out
    into.mkdir(parents=True, exist_ok=True)
    for name, out in sources.items():
        if out.resolve() != into.resolve():
            shutil.copytree(out / name, into / name, dirs_exist_ok=True)
    write_gradebook(into, list(graded.values()), roster)
    write_report(into, list(graded))                                  # class report (issue 10)
    return list(graded.values())
