"""nbgrader's own commands on both sides of the course's grader.

`export nbgrader` writes a course folder; the test then runs nbgrader's real commands in
it: `nbgrader generate_assignment` (the student version), `nbgrader autograde` (graded by
autograder.on_nbgrader in place of nbgrader's kernel), `nbgrader generate_feedback` and
`nbgrader export`. The scores in nbgrader's gradebook and grades.csv must equal `grade`'s on
the same code: the reference, the untouched student version, two bank bugs, and a notebook
whose cells were deleted, reordered and had their metadata edited. Only normalization is
submitted (the other notebooks are missing: nbgrader scores them 0 itself), so the
comparison is with `grade --topic normalization`. One export and one nbgrader run serve
the whole module.
"""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import variants
from autograder.batch import grade_batch, hidden_plan
from autograder.checks import Check
from autograder.cli import main as cli_main
from autograder.config import Config
from autograder.exporters import cells, graded
from autograder.exporters import nbgrader as nbgrader_export
from autograder.stubs import BEGIN, END, make_stub
from autograder.topics import TOPICS

pytestmark = pytest.mark.slow

ASSIGNMENT = "ps1"
TOPIC = TOPICS["normalization"]
BIN = Path(sys.executable).parent
# student -> what their solution cells hold
SUBMISSIONS = {"alice": "reference", "bob": "stubs", "carol": "biased running_var",
               "dave": "layer_norm over last dim only", "erin": "reference, cells damaged"}


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}   # nbgrader runs alembic
    return subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=300)


def filled(release: dict, source: str | None) -> dict:
    """The release notebook with its solution cells written from `source` (a module laid out as
    the solution); None leaves nbgrader's stubs."""
    nb = copy.deepcopy(release)
    if source is not None:
        units = cells.unit_sources(source)
        for cell in nb["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id", "")
            if grade_id.startswith("solution_"):
                cell["source"] = units[grade_id[len("solution_"):]]
    return nb


def damaged(nb: dict) -> dict:
    """erin: a solution cell deleted, cells reordered, a grade cell's metadata edited, a
    solution cell's id lost, a helper cell added, a Markdown cell with a script in it."""
    nb = copy.deepcopy(nb)
    by_id = {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in nb["cells"]}
    nb["cells"].remove(by_id["solution_layer_norm"])
    nb["cells"].remove(by_id["solution_batch_norm"])
    nb["cells"].insert(nb["cells"].index(by_id["solution_BatchNormFunction"]) + 1, by_id["solution_batch_norm"])
    meta = by_id["check_batch_norm_train_2d"]["metadata"]["nbgrader"]
    meta["grade"], meta["points"] = False, 100
    by_id["solution__BatchNorm"]["metadata"]["nbgrader"]["grade_id"] = "my_batchnorm"
    helper = {"cell_type": "code", "execution_count": None, "id": "mine", "metadata": {}, "outputs": [],
              "source": "HELPER_SCALE = 1.0"}
    nb["cells"].insert(nb["cells"].index(by_id["solution_batch_norm"]) + 1, helper)
    nb["cells"].append({"cell_type": "markdown", "id": "note", "metadata": {},
                        "source": "My notes <script>window.agPwned = 1</script>"})
    return nb


def erin_source() -> str:
    """erin's module as `grade` should see it: the reference, layer_norm not attempted."""
    reference = TOPIC.solution_path().read_text()
    _doc, units = cells.module_parts(reference)
    unit = next(u for u in units if u.name == "layer_norm")
    start = reference.index(unit.source.strip("\n"))
    return reference[:start] + make_stub(unit.source, TOPIC.filename).strip("\n") \
        + reference[start + len(unit.source.strip("\n")):]


def source_of(kind: str) -> str | None:
    if kind == "stubs":
        return None
    if kind.startswith("reference"):
        return TOPIC.solution_path().read_text()
    return variants.source_of(variants.by_name(kind))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The exported course after generate_assignment, autograde, generate_feedback, export."""
    root = tmp_path_factory.mktemp("nbgrader") / "course"
    assert cli_main(["export", "nbgrader", str(root), "--assignment", ASSIGNMENT]) == 0
    runs = {"generate_assignment": nbgrader(root, "generate_assignment", ASSIGNMENT)}
    assert runs["generate_assignment"].returncode == 0, runs["generate_assignment"].stderr[-3000:]
    release = json.loads((root / "release" / ASSIGNMENT / f"{TOPIC.module}.ipynb").read_text())
    for student, kind in SUBMISSIONS.items():
        nb = filled(release, source_of(kind))
        if student == "erin":
            nb = damaged(nb)
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{TOPIC.module}.ipynb").write_text(json.dumps(nb))
    frank = root / "submitted" / "frank" / ASSIGNMENT          # normalization saved under another name,
    frank.mkdir(parents=True)                                   # and dropout as it was released
    (frank / "Normalization (1).ipynb").write_text(json.dumps(filled(release, source_of("reference"))))
    (frank / "dropout.ipynb").write_text((root / "release" / ASSIGNMENT / "dropout.ipynb").read_text())
    for step in ("autograde", "generate_feedback"):
        runs[step] = nbgrader(root, step, ASSIGNMENT)
    runs["export"] = nbgrader(root, "export")
    for step, run in runs.items():
        assert run.returncode == 0, f"nbgrader {step} failed:\n{run.stderr[-3000:]}"
    return root, runs


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> dict[str, float]:
    """`grade --topic normalization` on the same code, as .py files."""
    root = tmp_path_factory.mktemp("grade")
    for student, kind in SUBMISSIONS.items():
        source = erin_source() if student == "erin" else source_of(kind)
        (root / "in" / student).mkdir(parents=True)
        (root / "in" / student / TOPIC.filename).write_text(
            source if source is not None else (TOPIC.assignment_dir() / TOPIC.filename).read_text())
    graded_ = grade_batch([root / "in"], root / "out", Config(topics=("normalization",)), regrade=True)
    return {g.name: g.score.score for g in graded_}


def exported_scores(course_root: Path, name: str = "grades.csv") -> dict[str, float]:
    lines = (course_root / name).read_text().splitlines()
    head = lines[0].split(",")
    rows = [dict(zip(head, line.split(","))) for line in lines[1:]]
    return {r["student_id"]: float(r["score"]) for r in rows if r["assignment"] == ASSIGNMENT}


# ----------------------------------------------------------------------------- the export

def test_source_notebooks_are_nbgrader_schema_3_with_points_from_the_checks(course):
    root, _runs = course
    plan = hidden_plan()
    for topic in TOPICS.values():
        nb = json.loads((root / "source" / ASSIGNMENT / f"{topic.module}.ipynb").read_text())
        metas = [c["metadata"]["nbgrader"] for c in nb["cells"]]
        assert all(m["schema_version"] == 3 for m in metas)
        grades = {m["grade_id"]: m["points"] for m in metas if m["grade"]}
        want = {f"check_{i.name}": i.points for i in graded.items(topic.name, plan)}
        assert grades == want, topic.name
        solutions = [c for c, m in zip(nb["cells"], metas) if m["solution"]]
        assert solutions and all("### BEGIN SOLUTION" in c["source"] and not m["locked"]
                                 for c, m in zip(solutions, [c["metadata"]["nbgrader"] for c in solutions]))
        others = [m for m in metas if not m["solution"]]
        assert all(m["locked"] for m in others), "instructions, read-only code and grade cells are locked"


def test_student_version_has_no_solution_code(course):
    root, _runs = course
    for topic in TOPICS.values():
        reference = topic.solution_path().read_text()
        stub_lines = {line.strip() for line in make_stub(reference, topic.filename).splitlines()}
        inside, secret = False, set()
        for line in reference.splitlines():
            if BEGIN.match(line):
                inside = True
            elif END.match(line):
                inside = False
            elif inside and line.strip() and line.strip() not in stub_lines:
                secret.add(line.strip())
        nb = json.loads((root / "release" / ASSIGNMENT / f"{topic.module}.ipynb").read_text())
        shipped = {line.strip() for c in nb["cells"] for line in "".join(c["source"]).splitlines()}
        assert secret and not (secret & shipped), f"{topic.name}: {sorted(secret & shipped)[:3]}"
        assert "BEGIN SOLUTION" not in json.dumps(nb)


def test_a_grade_cell_run_by_nbgrader_itself_scores_zero(monkeypatch):
    """Should nbgrader_config.py lose GradeWithAutograder, nbgrader's kernel would run the grade
    cells: they must fail there (a zero), never pass as empty tests."""
    item = graded.items("normalization", hidden_plan(("normalization",)))[0]
    code = nbgrader_export.grade_cell_source(item)
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    exec(code, {})                                        # the student's own validate: passes
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(AssertionError):
        exec(code, {})


# ----------------------------------------------------------------------------- grading

def test_nbgrader_export_has_the_scores_grade_gives(course, expected):
    root, _runs = course
    scores = exported_scores(root)
    for student in SUBMISSIONS:
        assert scores[student] == pytest.approx(expected[student]), student
    assert expected["alice"] == sum(i.points for i in graded.items("normalization", hidden_plan()))
    assert expected["bob"] == 0
    assert 0 < expected["carol"] < expected["alice"] and 0 < expected["dave"] < expected["alice"]


def test_gradebook_holds_every_grade_cell_for_formgrader(course, expected):
    from nbgrader.api import Gradebook
    root, _runs = course
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in SUBMISSIONS:
            nb = gb.find_submission_notebook(TOPIC.module, ASSIGNMENT, student)
            assert nb.score == pytest.approx(expected[student])
            assert all(g.auto_score is not None and not g.needs_manual_grade for g in nb.grades), student
        frank = gb.find_submission_notebook(TOPIC.module, ASSIGNMENT, "frank")
        assert frank.score == 0 and all(g.auto_score == 0 for g in frank.grades)


def test_manual_grading_adjusts_the_exported_score(course, expected):
    from nbgrader.api import Gradebook
    root, _runs = course
    db = f"sqlite:///{root / 'gradebook.db'}"
    with Gradebook(db) as gb:
        grade = gb.find_grade("check_batch_norm_train_2d", TOPIC.module, ASSIGNMENT, "carol")
        assert grade.auto_score == 0
        grade.manual_score = 2.0
        gb.db.commit()
    try:
        run = nbgrader(root, "export", "--to", "adjusted.csv")
        assert run.returncode == 0, run.stderr[-2000:]
        assert exported_scores(root, "adjusted.csv")["carol"] == pytest.approx(expected["carol"] + 2)
    finally:
        with Gradebook(db) as gb:
            gb.find_grade("check_batch_norm_train_2d", TOPIC.module, ASSIGNMENT, "carol").manual_score = None
            gb.db.commit()


def test_feedback_shows_the_graders_feedback(course):
    root, _runs = course
    html = (root / "feedback" / "carol" / ASSIGNMENT / f"{TOPIC.module}.html").read_text()
    assert "Likely cause: running_var was updated with the biased variance" in html
    results = json.loads((root / "autograder_results" / ASSIGNMENT / "carol" / TOPIC.module /
                          "results.json").read_text())
    assert results["extra_data"]["isolation"], "graded in the sandbox, with its layers recorded"


def test_damaged_notebook_is_graded_for_what_it_holds_with_a_message(course, expected):
    root, runs = course
    log = runs["autograde"].stderr
    erin = [line for line in log.splitlines() if "erin/normalization" in line]
    said = "\n".join(erin)
    assert "reordered" in said
    assert "solution_layer_norm" in said and "not attempted" in said
    assert "lost its nbgrader metadata" in said
    assert "check_batch_norm_train_2d" in said and "metadata had been changed" in said
    assert exported_scores(root)["erin"] == pytest.approx(expected["erin"])
    feedback = (root / "autograder_results" / ASSIGNMENT / "erin" / TOPIC.module / "feedback.txt").read_text()
    assert "reordered" in feedback
    html = (root / "feedback" / "erin" / ASSIGNMENT / f"{TOPIC.module}.html").read_text()
    assert "My notes" in html and "<script>window.agPwned" not in html, "a student's HTML is shown as text"


def test_missing_notebook_scores_zero_and_keeps_everyone_else(course, expected):
    root, runs = course
    log = runs["autograde"].stderr
    assert re.search(r"No submitted file: .*frank.*normalization\.ipynb", log)
    assert re.search(r"Skipping unknown notebook: .*frank.*Normalization \(1\)\.ipynb", log)
    assert "frank/dropout: 0 / " in log                    # what frank did submit was graded
    scores = exported_scores(root)
    assert scores["frank"] == 0
    assert set(SUBMISSIONS) | {"frank"} <= set(scores)


# ----------------------------------------------------------------------------- one source

def test_a_new_check_changes_the_export(tmp_path, monkeypatch):
    """Points, titles and visibility come from the checks: a check added to the plan appears
    as a grade cell worth its points."""
    plan = hidden_plan(("normalization",))

    def new_check(impl, t):
        """A new check's title."""
        return {}
    extra = Check(id="normalization/brand_new_check", topic="normalization", name="brand_new_check",
                  title="A new check's title, public.", points=7.0, driver=new_check, public=True)
    plan["normalization"].checks.append(extra)
    monkeypatch.setattr(graded, "hidden_plan", lambda topics=(): plan)
    nbgrader_export.export(tmp_path, ASSIGNMENT, ("normalization",))
    nb = json.loads((tmp_path / "source" / ASSIGNMENT / "normalization.ipynb").read_text())
    cell = next(c for c in nb["cells"] if c["metadata"]["nbgrader"]["grade_id"] == "check_brand_new_check")
    assert cell["metadata"]["nbgrader"]["points"] == 7.0
    assert "A new check's title, public." in cell["source"]
