"""Grading inside Gradescope's container: what `run_autograder` calls.

Gradescope puts the student's upload in /autograder/submission and reads
/autograder/results/results.json. This grades the upload as one submission with the
same engine as `grade` (so the same files get the same score), reports which
isolation layers worked inside the container, and always leaves a results.json:
a grader failure becomes a plain sentence for the student, never a missing result.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

from . import isolation
from . import submission as intake
from .batch import grade_batch, write_atomic
from .config import Config


def run(submission: Path, results: Path, hidden_visibility: str, devices=("cpu", "cuda")) -> int:
    layers = isolation.detect()
    isolation_line = f"Isolation layers in this container: {', '.join(layers.names())}."
    if layers.missing():
        isolation_line += f" Not available here: {', '.join(layers.missing())}."
    print(isolation_line, file=sys.stderr)
    config = Config(devices=tuple(devices), jobs=1, hidden_visibility=hidden_visibility)
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
