"""Grading inside `nbgrader autograde`: the step that replaces nbgrader's Execute.

Why this design. nbgrader's own grading executes each submitted notebook in a Jupyter
kernel, its grade cells (the tests) after the student's cells, in the same process. Two
ways to bring this package's grader in were open:

1. grade cells that call the grader from that kernel. The student's code has then run
   in the very process that runs the grade cell, before it: it can replace the grader's
   functions, `sys.modules`, the notebook file on disk or the assertion itself. Every
   score would rest on the student's good behaviour.
2. a step of nbgrader's pipeline that grades without a kernel. `nbgrader autograde`
   is a list of preprocessors (`Autograde.autograde_preprocessors`, configurable); the
   exported nbgrader_config.py puts `GradeWithAutograder` where `Execute` was. Every
   other step stays nbgrader's: sanitising (restoring locked cells and grade cells from
   the gradebook, deleted grade cells included), the timestamp and late penalty, and
   `SaveAutoGrades`, which reads each grade cell's output into gradebook.db exactly as
   it reads an executed test's. So formgrader shows the scores, manual grading overrides
   them, `nbgrader generate_feedback` and `nbgrader export` read them.

This module is (2). For each course notebook (normalization.ipynb, ...) it builds the
module from the cells (the assignment's read-only cells as the gradebook holds them,
the student's solution cells and added cells), grades it with the grader of `grade`
(`one_by_one`: the same functions, the student's code in the sandboxed worker, the
course folder hidden from it), and writes each hidden check's result into its grade
cell: the feedback as printed text, the points as the cell's value (nbgrader's partial
credit). A notebook that is not a course topic is executed by nbgrader's Execute, as
nbgrader would.

What a student can change and what it does:
- reordered cells: the module is built in the assignment's order (a cell the student
  added stays after the cell it followed); said in the feedback;
- a deleted solution cell: graded as not attempted; a deleted read-only cell: put back;
- a solution cell whose nbgrader metadata lost its id: found by what it defines;
- edited metadata (grade, solution, locked, points) on a known cell: put back as the
  gradebook has it, before nbgrader's own sanitising (`RestoreCellMetadata`, configured
  ahead of OverwriteCells, which stops a notebook whose grade cell lost its flag);
- a Markdown or raw cell of the student's own: shown as text (HTML in it would run in the
  grader's browser when formgrader or the feedback renders it).
Each case is one sentence in the notebook's feedback, in the first grade cell's output,
and a warning line in nbgrader's log, naming the student and the notebook.
"""
from __future__ import annotations

import ast
import re
import tempfile
from dataclasses import replace
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Unicode

from . import course as courses
from . import i18n, one_by_one
from .config import Config
from .exporters import cells
from .exporters.graded import topic_of_notebook
from .exporters.nbgrader import CHECK_PREFIX, PUBLIC_CELL, cell_id
from .outcome import Outcome
from .report import case_text
from .stubs import make_stub
from .topics import TOPICS, Topic

WORDS = {"passed": "PASS", "failed": "FAIL", "not_implemented": "TODO", "error": "ERROR",
         "timeout": "TIME", "forbidden": "FORBIDDEN", "skipped": "SKIP"}


NOTES_KEY = "autograder_notes"      # notebook metadata: RestoreCellMetadata's notes, for the grading step


def _gradebook_cells(resources) -> tuple[dict[str, str], dict[str, bool], dict[str, float], set[str]]:
    """The notebook's cells as the gradebook holds them: sources, locked flags, grade cells'
    points, solution cells."""
    info = resources["nbgrader"]
    with Gradebook(info["db_url"]) as gb:
        book = gb.find_notebook(info["notebook"], info["assignment"])
        return ({c.name: c.source for c in book.source_cells}, {c.name: bool(c.locked) for c in book.source_cells},
                {c.name: float(c.max_score) for c in book.grade_cells}, {c.name for c in book.solution_cells})


class RestoreCellMetadata(NbGraderPreprocessor):
    """A sanitising step, before nbgrader's OverwriteCells: every cell's nbgrader metadata as
    the gradebook has it. (nbgrader restores a locked cell's source and points, but a grade
    cell whose `grade` flag a student cleared stops its whole notebook: "Inconsistent
    checksums".) A cell whose id the gradebook does not know becomes a plain cell."""

    def preprocess(self, nb, resources):
        notes = []
        if topic_of_notebook(resources["nbgrader"]["notebook"]) is not None:
            _source, locked, graded, solutions = _gradebook_cells(resources)
            notes = restore_metadata(nb, graded, solutions, locked)
            as_text(nb, set(locked) | set(graded) | solutions)
        nb.metadata[NOTES_KEY] = notes              # replaces whatever the submission carried
        return nb, resources


def as_text(nb, known: set[str]) -> None:
    """A Markdown or raw cell the student added, shown as text: formgrader and the feedback
    render notebooks as HTML, and a student's `<script>` there would run in the grader's
    browser, next to the Jupyter server (measured: nbgrader renders it as is)."""
    for cell in nb.cells:
        if cell.get("cell_type") in ("markdown", "raw") and _meta(cell).get("grade_id") not in known:
            text = str(cell.get("source", ""))
            fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
            cell["cell_type"] = "markdown"
            cell["source"] = f"{fence}text\n{text}\n{fence}"
            cell.pop("attachments", None)
            cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k == "nbgrader"}


class GradeWithAutograder(NbGraderPreprocessor):
    """nbgrader's autograde step that grades a course notebook with this package's grader."""

    devices = Unicode("", help="cpu, cuda or all; empty: the course file's, or all").tag(config=True)
    course_file = Unicode("", help="a course.toml (points, language, limits), or empty").tag(config=True)
    results = Unicode("autograder_results",
                      help="folder (relative to the course root) for the grader's own files").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        topic = topic_of_notebook(info["notebook"])
        if topic is None:                              # not a course notebook: nbgrader's own way
            self.log.info("%s is not a course notebook: executed by nbgrader", info["notebook"])
            return Execute(parent=self).preprocess(nb, resources)
        who = f"{info['student']}/{info['notebook']}"
        source, locked, graded, solutions = _gradebook_cells(resources)
        notes = list(nb.metadata.pop(NOTES_KEY, None) or []) + restore_metadata(nb, graded, solutions, locked)
        skip = {source[g] for g in graded if g in source} | {source.get(PUBLIC_CELL)}
        codes, more = assemble(nb, topic, source, set(graded) | {PUBLIC_CELL}, skip)
        notes += more
        config, lang = self._config()
        root = Path(CourseDirectory(parent=self).root).resolve()
        session = one_by_one.session(config, hide=(str(root),))
        with i18n.language(lang), tempfile.TemporaryDirectory(prefix="ag-nbgrader-") as tmp:
            folder = Path(tmp) / "submission"
            folder.mkdir()
            _write_module(folder, topic, codes)
            self._other_notebooks(folder, topic, resources)     # the capstone imports the others
            out = root / self.results / info["assignment"] / info["student"]
            result = session.grade(folder, out, info["notebook"], (topic.name,), notes)
            fill_grade_cells(nb, topic, result.outcomes, result.notes, graded, solutions, config.base_seed)
        for note in notes:
            self.log.warning("%s: %s", who, note)
        self.log.info("%s: %g / %g by the course's grader (feedback in %s)", who, result.graded.score.score,
                      result.graded.score.max_score, result.folder)
        return nb, resources

    def _other_notebooks(self, folder: Path, topic: Topic, resources) -> None:
        """The student's other course notebooks of this assignment, as modules beside this
        one (built the same way): a topic that imports another (the capstone imports
        normalization, dropout, optimizers and residual) gets the student's own, as `grade`
        does with a folder that holds them all."""
        info = resources["nbgrader"]
        coursedir = CourseDirectory(parent=self)
        submitted = Path(coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"]))
        for other in TOPICS.values():
            path = submitted / f"{other.module}.ipynb"
            if other is topic or not path.is_file():
                continue
            try:
                nb = nbformat.read(str(path), as_version=4)
                source, locked, graded, solutions = _gradebook_cells(
                    {"nbgrader": {**info, "notebook": other.module}})
            except Exception as exc:           # noqa: BLE001 - its own grading reports it
                self.log.warning("%s/%s: not used beside %s (%s)", info["student"], other.module,
                                 topic.module, exc)
                continue
            restore_metadata(nb, graded, solutions, locked)
            skip = {source[g] for g in graded if g in source} | {source.get(PUBLIC_CELL)}
            codes, _notes = assemble(nb, other, source, set(graded) | {PUBLIC_CELL}, skip)
            _write_module(folder, other, codes)

    def _config(self) -> tuple[Config, str]:
        config, lang = Config(jobs=1), i18n.DEFAULT
        if self.course_file:
            loaded = courses.load(Path(self.course_file))
            config, lang = loaded.configure(config), loaded.language
        if self.devices:
            config = replace(config, devices=("cpu", "cuda") if self.devices == "all" else (self.devices,))
        return config, lang


# ----------------------------------------------------------------------------- the notebook in

def _write_module(folder: Path, topic: Topic, codes: list[str]) -> None:
    """The module's cells as the notebook `grade` reads (folder/<module>.ipynb)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in codes])
    (folder / f"{topic.module}.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def restore_metadata(nb, graded: dict[str, float], solutions: set[str], locked: dict[str, bool]) -> list[str]:
    """Put back the nbgrader flags of every cell the gradebook knows, as it knows them."""
    notes = []
    for cell in nb.cells:
        meta = _meta(cell)
        if not meta:
            continue
        grade_id = meta.get("grade_id")
        if grade_id is None or (grade_id not in graded and grade_id not in solutions and grade_id not in locked):
            del cell.metadata["nbgrader"]
            notes.append(f"A cell carried nbgrader metadata with an id the assignment does not have "
                         f"({grade_id!r}); it was graded as a cell of your own.")
            continue
        want = {"grade": grade_id in graded, "solution": grade_id in solutions,
                "locked": locked.get(grade_id, bool(meta.get("locked")))}
        changed = [key for key, value in want.items() if bool(meta.get(key)) != value]
        meta.update(want)
        if grade_id in graded and meta.get("points") != graded[grade_id]:
            changed.append("points")
            meta["points"] = graded[grade_id]
        if changed:
            notes.append(f"cell {grade_id}: its nbgrader metadata had been changed ({', '.join(changed)}); "
                         "it was graded as the assignment defines it.")
    return notes


def assemble(nb, topic: Topic, source: dict[str, str], not_code: set[str],
             skip_sources: set) -> tuple[list[str], list[str]]:
    """The code cells of the module, in the assignment's order, and what was repaired.

    Read-only cells come from the gradebook (what the students were given), solution cells
    from the submission (by their grade_id), and cells the student added follow the cell
    they followed in the submission."""
    _doc, units = cells.module_parts(topic.solution_path().read_text(), topic.filename)
    layout = [(cell_id(u), u) for u in units]
    known = {cid for cid, _ in layout}
    seen: dict[str, str] = {}
    order: list[str] = []
    added: dict[str | None, list[str]] = {}
    anchor = None
    notes: list[str] = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        grade_id = _meta(cell).get("grade_id")
        text = cell.get("source", "")
        if grade_id in not_code or text in skip_sources:
            continue
        if grade_id in known:
            if grade_id in seen:
                notes.append(f"cell {grade_id} appears twice; the first one was graded.")
                continue
            seen[grade_id] = text
            order.append(grade_id)
            anchor = grade_id
        else:
            added.setdefault(anchor, []).append(text)
    if order != [cid for cid, _ in layout if cid in seen]:
        notes.append("The notebook's cells were reordered; they were graded in the assignment's order "
                     "(a cell you added stays after the cell it followed).")
    codes = list(added.get(None, []))
    for cid, unit in layout:
        if cid in seen:
            codes.append(seen[cid] if unit.is_solution else source.get(cid, seen[cid]))
        elif not unit.is_solution:
            codes.append(source.get(cid, cells.without_markers(unit)))
            notes.append(f"The read-only cell {cid} was missing; it was put back.")
        else:
            adopted = _defining(added, unit.name)
            if adopted is None:
                codes.append(make_stub(unit.source, topic.filename))
                notes.append(f"The solution cell {cid} ({unit.name}) was missing from the notebook; "
                             f"{', '.join(unit.tasks)} graded as not attempted.")
            else:
                notes.append(f"The solution cell {cid} had lost its nbgrader metadata; the cell that "
                             f"defines {unit.name} was graded in its place.")
        codes.extend(added.get(cid, []))
    return codes, notes


def _defining(added: dict, name: str) -> str | None:
    """A cell the student added that defines `name` at top level (kept where it was)."""
    for texts in added.values():
        for text in texts:
            try:
                tree = ast.parse(text)
            except SyntaxError:
                continue
            if any(getattr(node, "name", None) == name for node in tree.body):
                return text
    return None


# ----------------------------------------------------------------------------- the results out

def fill_grade_cells(nb, topic: Topic, outcomes: list[Outcome], notes: list[str], graded: dict[str, float],
                     solutions: set[str], base_seed: int) -> None:
    """Each grade cell's output: its check's cases as text, and its points as the value
    nbgrader's SaveAutoGrades reads (partial credit)."""
    by_check: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_check.setdefault(o.check_id, []).append(o)
    count = 0
    for cell in nb.cells:
        grade_id = _meta(cell).get("grade_id")
        if grade_id not in graded or grade_id in solutions or cell.get("cell_type") != "code":
            continue
        count += 1
        most = graded[grade_id]
        name = grade_id[len(CHECK_PREFIX):] if grade_id.startswith(CHECK_PREFIX) else grade_id
        score, text = _cell_result(by_check.get(f"{topic.name}/{name}", []), most, base_seed)
        if count == 1:
            total = sum(o.points for o in outcomes)
            possible = sum(o.max_points for o in outcomes)
            head = [f"The course's grader: {total:g} / {possible:g} for {topic.filename}."]
            absent = sorted({o.device.upper() for o in outcomes if o.status == "skipped"})
            if absent:
                head.append(f"- {', '.join(absent)}: not on the grading machine; those cases were skipped "
                            "and count neither for nor against you.")
            head += [f"- {n}" for n in notes]
            text = "\n".join(head) + "\n\n" + text
        cell["execution_count"] = count
        cell["outputs"] = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n"),
                           nbformat.v4.new_output("execute_result", data={"text/plain": repr(score)},
                                                  execution_count=count)]


def _cell_result(runs: list[Outcome], most: float, base_seed: int) -> tuple[float, str]:
    ran = [o for o in runs if o.status != "skipped"]
    if not runs:
        return 0.0, ("This check is not among the grader's checks any more (the assignment was "
                     "exported from another version); scored 0: adjust it by hand if it should count.")
    title = runs[0].title
    if not ran:
        devices = ", ".join(sorted({o.device.upper() for o in runs}))
        return 0.0, (f"{title}\nNot run: no {devices} device on the grading machine. Grade on a machine "
                     "with one, or adjust this cell by hand.")
    earned, possible = sum(o.points for o in ran), sum(o.max_points for o in ran)
    score = round(min(most, earned * most / possible if possible else 0.0), 6)
    lines = [f"{title.rstrip('.')}: {score:g} / {most:g}"]
    for o in ran:                                      # an absent device is said once, at the top
        word = WORDS.get(o.status, o.status)
        detail = case_text(o, base_seed, for_instructor=False)
        lines.append(f"  [{o.device}] {word}" + (": " + detail.replace("\n", "\n      ") if detail else ""))
    return score, "\n".join(lines)


__all__ = ["GradeWithAutograder", "RestoreCellMetadata"]
