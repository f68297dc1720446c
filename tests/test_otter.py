"""otter-grader's own commands on the exported master notebooks.

`export otter` writes the master notebooks; the test runs `otter assign` on
normalization's, then `otter run` (otter's grading without a container) on the autograder
notebook (the reference: full marks), on the student notebook as handed out (0) and on the
student notebook with a bank bug in its cells (the score `grade` gives that code), and on a
zip with no notebook in it. `grader.check` is run as a student runs it, on the
definitions of the notebook's cells. One export and one `otter assign` serve the module.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import variants
from autograder.batch import grade_batch, hidden_plan
from autograder.checks import Check
from autograder.cli import main as cli_main
from autograder.config import Config
from autograder.exporters import cells, graded
from autograder.exporters import otter as otter_export
from autograder.topics import TOPICS

pytestmark = pytest.mark.slow

TOPIC = TOPICS["normalization"]
BIN = Path(sys.executable).parent
BUG = "biased running_var"


def otter(cwd: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.Popen([str(BIN / "otter"), *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def with_cells_from(nb: dict, source: str) -> dict:
    """The student notebook with each cell that defines a unit of `source` holding that unit."""
    units = cells.unit_sources(source)
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        text = "".join(cell["source"])
        try:
            names = {getattr(n, "name", None) for n in ast.parse(text).body}
        except SyntaxError:
            continue
        for name in names & set(units):
            cell["source"] = units[name]
    return nb


@pytest.fixture(scope="module")
def assigned(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("otter")
    assert cli_main(["export", "otter", str(root / "masters")]) == 0
    proc = otter(root, "assign", f"masters/{TOPIC.folder}/{TOPIC.module}.ipynb", "dist")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]
    return root


@pytest.fixture(scope="module")
def runs(assigned, tmp_path_factory):
    """`otter run` on four submissions, side by side, and `grade` on the buggy code meanwhile."""
    root = assigned
    dist = root / "dist"
    zip_path = next((dist / "autograder").glob("*.zip"))
    student = json.loads((dist / "student" / f"{TOPIC.module}.ipynb").read_text())
    subs = root / "submissions"
    subs.mkdir()
    (subs / "reference.ipynb").write_text((dist / "autograder" / f"{TOPIC.module}.ipynb").read_text())
    (subs / "student.ipynb").write_text(json.dumps(student))
    bug_source = variants.source_of(variants.by_name(BUG))
    (subs / "buggy.ipynb").write_text(json.dumps(with_cells_from(student, bug_source)))
    with zipfile.ZipFile(subs / "nothing.zip", "w") as archive:          # nothing otter can grade
        archive.writestr("README.txt", "my notebook is attached, I promise")
    procs = {}
    for name in ("reference", "student", "buggy", "nothing"):
        out = root / "out" / name
        out.mkdir(parents=True)
        file = next(subs.glob(f"{name}.*"))
        procs[name] = (otter(root, "run", "-a", str(zip_path), str(file), "-o", str(out)), out)
    grade_root = tmp_path_factory.mktemp("grade")
    (grade_root / "buggy").mkdir()
    (grade_root / "buggy" / TOPIC.filename).write_text(bug_source)
    expected = grade_batch([grade_root / "buggy"], grade_root / "out", Config(topics=("normalization",)),
                           regrade=True)[0].score
    results = {}
    for name, (proc, out) in procs.items():
        log, _ = proc.communicate(timeout=300)
        path = out / "results.json"
        results[name] = (proc.returncode, json.loads(path.read_text()) if path.exists() else None, log)
    return results, expected


def topic_row(results: dict) -> dict:
    return next(t for t in results["tests"] if t["name"] == "normalization")


# ----------------------------------------------------------------------------- the export

def test_master_notebooks_cover_every_topic_in_otter_syntax(assigned):
    plan = hidden_plan()
    for topic in TOPICS.values():
        nb = json.loads((assigned / "masters" / topic.folder / f"{topic.module}.ipynb").read_text())
        raws = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "raw"]
        assert raws[0].startswith("# ASSIGNMENT CONFIG") and otter_export.PLUGIN in raws[0]
        assert ["# BEGIN QUESTION" in r for r in raws].count(True) == 1
        assert "# BEGIN SOLUTION" in raws and "# BEGIN TESTS" in raws
        tests = [c for c in nb["cells"] if "BEGIN TEST CONFIG" in "".join(c["source"])]
        points = sum(float(t["source"].split("points: ")[1].split("\n")[0]) for t in tests)
        assert points == sum(i.points for i in graded.items(topic.name, plan)), topic.name


def test_student_notebook_reads_as_the_stub(assigned):
    nb = json.loads((assigned / "dist" / "student" / f"{TOPIC.module}.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert 'raise NotImplementedError("Task 3.1: batch_norm in normalization.py")' in code
    assert "BEGIN SOLUTION" not in code and "BEGIN PROMPT" not in code
    solution = TOPIC.solution_path().read_text()
    regions = re.findall(r"# BEGIN SOLUTION[^\n]*\n(.*?)# END SOLUTION", solution, re.S)
    handed_out = {line.strip() for line in (TOPIC.assignment_dir() / TOPIC.filename).read_text().splitlines()}
    lines = {line.strip() for line in code.splitlines()}
    leaked = [line.strip() for region in regions for line in region.splitlines()
              if len(line.strip()) > 20 and line.strip() not in handed_out and line.strip() in lines]
    assert not leaked, f"solution code in the student's notebook: {leaked[:3]}"
    assert 'grader.check("normalization")' in code
    hidden = [t for t in nb["metadata"]["otter"]["tests"]["normalization"]["suites"][0]["cases"]
              if t["hidden"]]
    assert not hidden, "the student's notebook holds the public test cases only"


def test_grader_check_runs_the_public_checks_on_the_notebooks_definitions(assigned, tmp_path, monkeypatch):
    import otter as otter_package
    monkeypatch.chdir(tmp_path)
    nb_path = tmp_path / f"{TOPIC.module}.ipynb"
    nb_path.write_text((assigned / "dist" / "student" / f"{TOPIC.module}.ipynb").read_text())
    grader = otter_package.Notebook(str(nb_path))
    good, bad = {}, {}
    exec(TOPIC.solution_path().read_text(), good)
    exec(variants.source_of(variants.by_name(BUG)), bad)
    assert grader.check("normalization", global_env=good).passed_all_public
    result = grader.check("normalization", global_env=bad)
    assert not result.passed_all_public
    assert "running_var differs from the expected value" in str(result)


# ----------------------------------------------------------------------------- otter run

def test_otter_run_gives_full_marks_to_the_reference_and_zero_to_the_stub(runs):
    results, _expected = runs
    full = sum(i.points for i in graded.items("normalization", hidden_plan(("normalization",))))
    code, reference, log = results["reference"]
    assert code == 0, log[-3000:]
    assert topic_row(reference)["score"] == topic_row(reference)["max_score"] == full
    code, student, log = results["student"]
    assert code == 0, log[-3000:]
    assert topic_row(student)["score"] == 0
    assert "Not attempted yet (Task 3.1" in topic_row(student)["output"]


def test_otter_run_gives_a_buggy_notebook_its_grade_score(runs):
    results, expected = runs
    code, buggy, log = results["buggy"]
    assert code == 0, log[-3000:]
    row = topic_row(buggy)
    assert (row["score"], row["max_score"]) == (expected.score, expected.max_score)
    assert 0 < row["score"] < row["max_score"]
    assert "Likely cause: running_var was updated with the biased variance" in row["output"]
    assert "in its sandbox" in buggy["output"]
    public = next(t for t in buggy["tests"] if t["name"] == "Public Tests")
    assert "running_var differs from the expected value" in public["output"]


def test_a_zip_without_its_notebook_is_told_so(runs):
    """Nothing otter can grade in the zip: otter's own message, and no result (a zip with the
    module's .py instead of the notebook is graded as a script, the plugin grading the .py)."""
    results, _expected = runs
    code, data, log = results["nothing"]
    assert code != 0 and data is None
    assert "No gradable files found in submission" in log


# ----------------------------------------------------------------------------- one source

def test_a_new_check_changes_the_master_notebook(tmp_path, monkeypatch):
    plan = hidden_plan(("normalization",))

    def new_check(impl, t):
        return {}
    plan["normalization"].checks.append(Check(
        id="normalization/brand_new_check", topic="normalization", name="brand_new_check",
        title="A new check.", points=7.0, driver=new_check))
    monkeypatch.setattr(graded, "hidden_plan", lambda topics=(): plan)
    otter_export.export(tmp_path, ("normalization",))
    nb = json.loads((tmp_path / TOPIC.folder / f"{TOPIC.module}.ipynb").read_text())
    test = next(c["source"] for c in nb["cells"] if "normalization/brand_new_check" in "".join(c["source"]))
    assert "hidden: true" in test and "points: 7" in test
