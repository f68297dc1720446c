"""An nbgrader course made from the one source: `python -m autograder export nbgrader COURSE_DIR`.

    COURSE_DIR/nbgrader_config.py              the course's settings (below)
    COURSE_DIR/source/NAME/<module>.ipynb      one notebook a topic (normalization.ipynb, ...)

Each notebook is the topic's reference solution cut into cells (cells.py): the module
docstring as a locked Markdown cell; every top-level definition that holds a solution
region as a solution cell, the region between nbgrader's `### BEGIN SOLUTION` and
`### END SOLUTION` (so `nbgrader generate_assignment` leaves the stub of
nbgrader_config.py's `ClearSolutions.code_stub` in its place); everything else as
locked read-only cells; then one locked cell of public checks for the student to run
(autograder.in_notebook), and one grade cell a hidden check (and the placement probe)
worth that check's points. A hidden check's cell shows its name and points, not its
title (what it tries): the feedback says that, once graded. (No `### BEGIN HIDDEN
TESTS` region: it would make every grade cell differ from the source's, and nbgrader
warn about each one of each student.)

The grade cells hold no test code: nbgrader_config.py puts
autograder.on_nbgrader.GradeWithAutograder in place of nbgrader's Execute step, so
`nbgrader autograde` grades each submitted notebook with this package's grader
(student code in its sandboxed worker, never in a kernel) and writes each check's
score as its grade cell's output, which nbgrader's own SaveAutoGrades puts in the
gradebook. Should the course's nbgrader_config.py lose that setting, each grade cell
fails when nbgrader executes it for autograding (NBGRADER_EXECUTION=autograde): a
zero, never full marks for code that was not graded.

Cell ids (nbgrader's grade_id): `text_*` Markdown, `code_<name>` read-only code,
`solution_<name>` solution cells, `public_checks`, `check_<check name>` grade cells.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..topics import ROOT, TOPICS
from . import cells
from .graded import Item, graded_plan, items, points_text, public_items

SCHEMA_VERSION = 3
PUBLIC_CELL = "public_checks"
CHECK_PREFIX = "check_"
CODE_STUB = '# YOUR CODE HERE\nraise NotImplementedError("Task: your code here")'

CONFIG = '''\
"""nbgrader settings for this course, written by `python -m autograder export nbgrader`.

Grading: `nbgrader autograde {assignment}` runs nbgrader's own pipeline (copy, restore
locked cells and grade cells, late penalties, the gradebook) with one step replaced:
instead of executing each notebook in a Jupyter kernel (nbgrader's Execute), the
course's grader grades the notebook's solution cells in its sandboxed worker and
writes each hidden check's score as its grade cell's output
(autograder.on_nbgrader.GradeWithAutograder). Student code never runs in a kernel
here. Its feedback, results.json and instructor.txt (with the line that replays each
case) land in autograder_results/<assignment>/<student>/<notebook>/.
"""
c = get_config()  # noqa: F821 - nbgrader provides it

c.CourseDirectory.course_id = {course_id!r}

# nbgrader 0.9's sanitising steps, with one added: every cell's nbgrader metadata put back
# as the gradebook has it, before OverwriteCells (which stops a notebook whose grade cell
# lost its `grade` flag).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "autograder.on_nbgrader.RestoreCellMetadata",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# nbgrader 0.9's autograde steps, with Execute replaced by the course's grader.
c.Autograde.autograde_preprocessors = [
    "autograder.on_nbgrader.GradeWithAutograder",        # in place of nbgrader.preprocessors.Execute
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# A grade cell a student deleted comes back (and is graded), rather than staying empty.
c.OverwriteCells.add_missing_cells = True
# What replaces a solution region in the student's notebook ("Task ..." reads as
# "not attempted" in the grader's feedback).
c.ClearSolutions.code_stub = {{"python": {code_stub!r}}}

# The course's grader: devices to grade on (cpu, cuda or all; a device this machine lacks
# is reported, not failed), an optional course.toml (points, language, limits), and
# where its own results go (relative to the course folder).
c.GradeWithAutograder.devices = {devices!r}
c.GradeWithAutograder.course_file = {course_file!r}
c.GradeWithAutograder.results = "autograder_results"
'''


def export(out: Path, assignment: str, topics: tuple[str, ...] = (), devices: str = "all",
           course_file: Path | None = None, course_id: str = "modern-deep-learning",
           root: Path = ROOT) -> list[Path]:
    """Write nbgrader_config.py and source/<assignment>/ under `out`; returns the files."""
    if not assignment or "/" in assignment or assignment.startswith("."):
        raise ValueError(f"assignment name {assignment!r}: expected a plain folder name (ps1)")
    plan = graded_plan(topics, course_file)
    wanted = _devices(devices)
    folder = out / "source" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    config = out / "nbgrader_config.py"
    config.write_text(CONFIG.format(assignment=assignment, course_id=course_id, code_stub=CODE_STUB,
                                    devices=devices, course_file=str(course_file.resolve()) if course_file else ""))
    written.append(config)
    for name in topics or TOPICS:
        topic = TOPICS[name]
        nb = notebook(name, items(name, plan, wanted), public_items(name, root), root)
        path = folder / f"{topic.module}.ipynb"
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def _devices(value: str) -> tuple[str, ...]:
    return ("cpu", "cuda") if value == "all" else (value,)


def notebook(topic_name: str, graded: list[Item], public: list[Item], root: Path = ROOT) -> dict:
    """One topic's source notebook (nbformat 4, nbgrader schema 3)."""
    topic = TOPICS[topic_name]
    doc, units = cells.module_parts(topic.solution_path(root).read_text(), topic.filename)
    total = sum(i.points for i in graded)
    out = [_markdown("text_intro", cells.markdown_of_docstring(doc, topic.filename) + INTRO.format(
        total=f"{total:g}", n=len(graded), file=topic.filename))]
    for unit in units:
        if unit.is_solution:
            out.append(_code(cell_id(unit), cells.with_markers(unit, _begin, _end), solution=True))
        else:
            out.append(_code(cell_id(unit), unit.source, locked=True))
    if public:
        out.append(_markdown("text_public", PUBLIC_TEXT))
        out.append(_code(PUBLIC_CELL, PUBLIC_CODE.format(topic=topic_name), locked=True))
    out.append(_markdown("text_graded", GRADED_TEXT.format(total=f"{total:g}")))
    for item in graded:
        out.append(_code(CHECK_PREFIX + item.name, grade_cell_source(item), locked=True, points=item.points))
    return {"cells": out, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                      "name": "python3"},
                                       "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def cell_id(unit: cells.Unit) -> str:
    return ("solution_" if unit.is_solution else "code_") + unit.name


def _begin(indent: str, task: str) -> str:
    return f"{indent}# {task}\n{indent}### BEGIN SOLUTION\n"


def _end(indent: str) -> str:
    return f"{indent}### END SOLUTION\n"


def grade_cell_source(item: Item) -> str:
    """A grade cell: what it is worth and (for a public check) what it checks. It runs no
    test: the course's grader writes its output (autograder.on_nbgrader)."""
    lines = [f"# {item.check_id}: {points_text(item.points)}, scored by the course's autograder when your",
             "# notebook is graded: it runs your solution cells in its sandbox against the reference."]
    lines += [f"# {item.title}"] if item.public else \
        ["# A hidden check: your feedback will say what it tried."]
    lines += ['assert __import__("os").environ.get("NBGRADER_EXECUTION") != "autograde", \\',
              '    "graded by autograder.on_nbgrader.GradeWithAutograder only (see nbgrader_config.py)"']
    return "\n".join(lines) + "\n"


INTRO = """
---

**How this notebook is graded.** Write your code in the cells marked as solutions (replace
each `raise NotImplementedError(...)`); the other code cells are read-only. When your
notebook is graded, the course's grader runs your solution cells in a sandbox and compares
them with the reference on hidden checks: {n} checks, {total} points, listed at the end.
You may add cells of your own (helpers, experiments): they are graded with your code as if
they were part of `{file}`, so keep long experiments out of them or behind
`if __name__ == "__main__":`.
"""

PUBLIC_TEXT = """## Check your work

The next cell runs the public checks on the functions and classes defined above (it needs
the course's `autograder` package in this environment). They count for nothing; the hidden
checks below decide the grade.
"""

PUBLIC_CODE = """\
from autograder.in_notebook import public_checks
public_checks({topic!r}, globals())
"""

GRADED_TEXT = """## Graded checks ({total} points)

Each cell below stands for one hidden check; the course's grader fills in its result.
"""


def _metadata(grade_id: str, *, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": points is not None, "grade_id": grade_id, "locked": locked,
            "schema_version": SCHEMA_VERSION, "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    extra = {"editable": False, "deletable": False} if locked else {}
    return {**extra, "nbgrader": meta}


def _markdown(grade_id: str, text: str) -> dict:
    return {"cell_type": "markdown", "id": grade_id[:64],
            "metadata": _metadata(grade_id, locked=True), "source": text}


def _code(grade_id: str, text: str, *, solution=False, locked=False, points=None) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": grade_id[:64],
            "metadata": _metadata(grade_id, solution=solution, locked=locked, points=points),
            "outputs": [], "source": text.rstrip("\n")}
