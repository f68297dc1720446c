"""The Gradescope autograder zip, run as Gradescope runs it.

`export gradescope` writes the zip; the test unpacks it into a folder, binds that
folder at /autograder in a private mount namespace (as root), puts an upload in
/autograder/submission and runs /autograder/run_autograder (setup.sh is not run: the
test's own virtual environment stands in for /autograder/venv). The results.json it
writes must give the same scores, check by check, as `grade` on the same files.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.batch import grade_batch
from autograder.config import Config
from autograder.exporters.gradescope import autograder_zip, unpack
from autograder.topics import ROOT, TOPICS

pytestmark = pytest.mark.slow

if os.geteuid() != 0 or not shutil.which("unshare"):
    pytest.skip("running run_autograder at /autograder needs root and unshare (CI has both)",
                allow_module_level=True)


def _flat(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _upload_of(example: Path, root: Path) -> Path:
    """An example as Gradescope hands it over: a folder (a .zip stays a .zip inside it)."""
    if example.is_dir():
        return example
    folder = root / example.stem
    folder.mkdir()
    shutil.copy(example, folder / example.name)
    return folder


@pytest.fixture(scope="module")
def uploads(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("uploads")
    return {
        "reference": _flat(root / "reference", {t.filename: t.solution_path().read_text()
                                                for t in TOPICS.values()}),
        "stubs": _flat(root / "stubs", {t.filename: (t.assignment_dir() / t.filename).read_text()
                                        for t in TOPICS.values()}),
        # every bundled example but frank, whose endless loop only waits out time limits
        **{p.stem: _upload_of(p, root) for p in sorted((ROOT / "examples" / "submissions").iterdir())
           if p.stem != "frank"},
    }


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    """The zip unpacked as Gradescope lays it out: /autograder/source and run_autograder."""
    home = tmp_path_factory.mktemp("gradescope") / "autograder"
    zip_path = home.parent / "autograder.zip"
    names = autograder_zip(zip_path, ROOT)
    assert {"setup.sh", "run_autograder"} <= set(names)
    unpack(zip_path, home)
    return home


def run_autograder(home: Path, upload: Path) -> dict:
    """One Gradescope run: the upload at /autograder/submission, results.json back."""
    for part in ("submission", "results"):
        shutil.rmtree(home / part, ignore_errors=True)
        (home / part).mkdir()
    for item in upload.iterdir():
        if item.is_dir():
            shutil.copytree(item, home / "submission" / item.name)
        else:
            shutil.copy(item, home / "submission" / item.name)
    made = not Path("/autograder").exists()
    Path("/autograder").mkdir(exist_ok=True)
    try:
        script = f"mount --bind '{home}' /autograder && exec /autograder/run_autograder"
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                              env={**os.environ, "AG_PYTHON": sys.executable},
                              capture_output=True, text=True, timeout=600)
    finally:
        if made:
            Path("/autograder").rmdir()
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((home / "results" / "results.json").read_text())


@pytest.fixture(scope="module")
def graded(tmp_path_factory, uploads) -> dict[str, dict]:
    """The same uploads through `grade`, for comparison."""
    out = tmp_path_factory.mktemp("grade-out")
    staged = tmp_path_factory.mktemp("grade-in")
    for name, path in uploads.items():
        zips = list(path.glob("*.zip"))
        if zips:
            shutil.copy(zips[0], staged / zips[0].name)
        else:
            shutil.copytree(path, staged / name)
    grade_batch([staged], out, Config(jobs=2), regrade=True)
    return {name: json.loads((out / name / "results.json").read_text()) for name in uploads}


@pytest.fixture(scope="module")
def runs(autograder, uploads):
    """run_autograder's results.json per upload, each run once."""
    done: dict[str, dict] = {}

    def get(name: str) -> dict:
        if name not in done:
            done[name] = run_autograder(autograder, uploads[name])
        return done[name]
    return get



def _by_check(results: dict) -> dict[str, float]:
    return {f"{t['extra_data']['check']}[{t['extra_data']['device']}]": t["score"] for t in results["tests"]}


EXAMPLES = ["alice", "bob", "carol", "dave", "erin", "grace", "heidi"]


@pytest.mark.parametrize("name", ["reference", "stubs", *EXAMPLES])
def test_run_autograder_scores_an_upload_as_grade_does(runs, graded, name):
    results = runs(name)
    assert results["score"] == pytest.approx(graded[name]["score"])
    assert _by_check(results) == pytest.approx(_by_check(graded[name]))
    assert "Isolation layers in this container" in results["output"]
    if name == "reference":
        assert results["score"] == pytest.approx(sum(_by_check(results).values()))
        assert all(t["status"] == "passed" for t in results["tests"])
    if name == "stubs":
        assert results["score"] == 0
    if name in ("bob", "carol", "dave", "heidi"):
        assert 0 < results["score"] < graded["reference"]["score"]


def test_hidden_cases_are_shown_after_the_due_date_and_public_ones_at_once(runs):
    for t in runs("bob")["tests"]:
        assert t["visibility"] == ("visible" if t["extra_data"]["public"] else "after_due_date")


def test_an_upload_without_course_files_gets_a_clear_zero(autograder, tmp_path):
    upload = _flat(tmp_path / "readme-only", {"README.md": "my homework\n", "notes.txt": "hi\n"})
    results = run_autograder(autograder, upload)
    assert results["score"] == 0 and results["tests"] == []
    assert "No course files were found" in results["output"]


def test_a_notebook_upload_is_graded(autograder, tmp_path):
    """An upload of the notebook instead of the .py file: its code cells are the module."""
    import nbformat
    source = TOPICS["dropout"].solution_path().read_text()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%matplotlib inline"),
                                         nbformat.v4.new_code_cell(source)])
    upload = _flat(tmp_path / "nb", {"dropout.ipynb": nbformat.writes(nb)})
    results = run_autograder(autograder, upload)
    dropout = [t for t in results["tests"] if t["extra_data"]["check"].startswith("dropout/")]
    assert dropout and all(t["status"] == "passed" for t in dropout)
