"""Grading inside Gradescope's container: what `run_autograder` calls.

Gradescope puts the student's upload in /autograder/submission and reads
/autograder/results/results.json. This grades the upload as one submission with the
same engine as `grade` (so the same files get the same score), reports which
isolation layers worked inside the container, and always leaves a results.json:
a grader failure becomes a plain sentence for the student, never a missing result.

With the course file the zip ships (course.toml), its settings apply; its late
policy reads the submission time and the due date from Gradescope's
/autograder/submission_metadata.json (a student's own due date, an extension, first).
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import traceback
from dataclasses import replace
from pathlib import Path

from . import course as courses
from . import i18n, isolation
from . import submission as intake
from .batch import grade_batch
from .store import write_atomic
from .config import Config


def run(submission: Path, results: Path, hidden_visibility: str | None = None, devices=None,
        course: Path | None = None, metadata: Path | None = None, lang: str | None = None) -> int:
    """Grade the upload into `results`. hidden_visibility, devices and lang: the command
    line's, or None for the course file's (or the defaults); course: its course.toml;
    metadata: Gradescope's submission_metadata.json (for the late policy)."""
    layers = isolation.detect()
    isolation_line = f"Isolation layers in this container: {', '.join(layers.names())}."
    if layers.missing():
        isolation_line += f" Not available here: {', '.join(layers.missing())}."
    print(isolation_line, file=sys.stderr)
    try:
        config = _config(hidden_visibility, devices, course, metadata, lang)
    except courses.CourseError as exc:             # checked at export: only a changed grader gets here
        print(exc, file=sys.stderr)
        data = {"score": 0.0, "tests": [], "visibility": "visible", "stdout_visibility": "hidden",
                "output": "The autograder's course file cannot be used, so this upload was not graded "
                          "(the instructor finds why in the autograder's output). This is not a verdict "
                          "on your work: please tell your instructor."}
        write_atomic(results, json.dumps(data, indent=1))
        return 0
    with tempfile.TemporaryDirectory(prefix="ag-gradescope-") as tmp:
        upload = Path(tmp) / "submission"          # one submission, whatever the upload's layout
        try:
            _copy_upload(submission, upload)
            zips = sorted(upload.glob("*.zip"))
            if not intake.looks_like_submission(upload) and len(zips) == 1:
                upload = zips[0]                   # a zip Gradescope did not unpack: grade it
            if intake.looks_like_submission(upload):
                graded = grade_batch([upload], Path(tmp) / "out", config, regrade=True)
                data = json.loads((Path(tmp) / "out" / graded[0].name / "results.json").read_text())
            else:
                data = _nothing_to_grade(intake.load(upload).problems)
        except Exception as exc:                   # noqa: BLE001 - a result must still be written
            traceback.print_exc()
            data = {"score": 0.0, "tests": [], "visibility": "visible", "stdout_visibility": "hidden",
                    "output": f"The autograder could not grade this upload ({type(exc).__name__}: "
                              f"{exc}). This is not a verdict on your work: please tell your "
                              "instructor."}
    data["output"] = data.get("output", "") + "\n" + isolation_line
    data.setdefault("extra_data", {})["isolation"] = layers.names()
    write_atomic(results, json.dumps(data, indent=1))
    return 0


def _config(hidden_visibility: str | None, devices, course: Path | None, metadata: Path | None,
            lang: str | None = None) -> Config:
    config = Config(jobs=1)
    loaded = courses.load(course) if course is not None else None
    if lang or loaded is not None:                 # the language of what the student reads
        i18n.set_language(lang or loaded.language)
    if loaded is not None:                         # course.toml, shipped in the zip
        config = loaded.configure(config)
        submitted_at, due = courses.gradescope_times(metadata) if metadata else ("", "")
        config = replace(config, submitted_at=submitted_at, due=due or config.due)
    return replace(config, devices=tuple(devices or config.devices),
                   hidden_visibility=hidden_visibility or config.hidden_visibility)


def _nothing_to_grade(problems: list[str]) -> dict:
    lines = ["Score 0: nothing in this upload could be graded."] + [f"- {p}" for p in problems]
    return {"score": 0.0, "tests": [], "visibility": "visible", "stdout_visibility": "hidden",
            "output": "\n".join(lines)}


def _copy_upload(source: Path, target: Path) -> None:
    """Copy the upload into one folder (links are left behind: intake reports them)."""
    target.mkdir(parents=True)
    if not source.is_dir():
        raise FileNotFoundError(f"{source} is not a folder")
    for path in sorted(source.iterdir()):
        if path.is_symlink():
            (target / path.name).symlink_to(path.readlink())
        elif path.is_dir():
            shutil.copytree(path, target / path.name, symlinks=True)
        else:
            shutil.copy2(path, target / path.name)
