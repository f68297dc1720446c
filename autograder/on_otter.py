"""Grading inside otter-grader's autograder: the plugin the exported notebooks name.

`otter run` (and otter's Gradescope container) grades a submission by executing it in a
Jupyter kernel and running the test files against the kernel's variables; the kernel
pickles the results and otter unpickles them. Student code and the tests share that
kernel, and what the kernel writes decides the grade. This plugin takes the student's
code out of it:

- `before_execution` (otter calls it with the submission, before any kernel starts)
  grades the submission file with this package's grader: the module made of its code
  cells (otter's own `grader.check` and `import otter` lines left out), the student's code
  run in the sandboxed worker, the hidden checks and then the public checks. It returns
  a notebook with no code of the student's, which is what otter's kernel executes: the
  kernel runs otter's cells and the test code only.
- `after_grading` writes the grader's result into every test case of the topic's
  question (a hidden check's points, a public check's status and message) and the
  grader's total as the question's score, with the notes about the submission as the
  results' output.

So `otter run` gives the score `grade` gives to the same notebook. What stays otter's:
reading the submission (a zip without a notebook is otter's "No gradable files found"),
its kernel (which now runs no student code), results.json.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from pathlib import Path

import nbformat
from otter.plugins import AbstractOtterPlugin
from otter.test_files.abstract_test import TestCaseResult

from . import course as courses
from . import i18n, one_by_one
from .config import Config
from .exporters.otter import check_id_of
from .outcome import Outcome
from .report import case_text
from .topics import TOPICS

# otter's own lines in a student notebook (its init and check cells); never the module's.
OTTER_LINE = re.compile(r"^(import otter\s*|grader\s*=\s*otter\.Notebook\(.*\)\s*|"
                        r"grader\.(check|check_all|export|run_plugin)\(.*\)\s*)$")
SENTINEL = "__graded_by_the_course_grader__"
WORDS = {"passed": "PASS", "failed": "FAIL", "not_implemented": "TODO", "error": "ERROR",
         "timeout": "TIME", "forbidden": "FORBIDDEN", "skipped": "SKIP"}


class GradeWithAutograder(AbstractOtterPlugin):
    """config: topic (required), devices ("all", "cpu", "cuda"), course_file (a course.toml)."""

    def before_execution(self, submission):
        topic = TOPICS[self.plugin_config["topic"]]
        path = Path(self.submission_path)
        hide = (str(path.parent.parent.resolve()),)       # otter's autograder folder: tests, source
        config, lang = self._config()
        with i18n.language(lang), tempfile.TemporaryDirectory(prefix="ag-otter-") as tmp:
            folder, notes = module_copy(path, topic, Path(tmp))
            self.hidden = one_by_one.session(replace(config, topics=(topic.name,)), hide).grade(
                folder, Path(tmp) / "out", "submission", (topic.name,), notes)
            self.public = one_by_one.session(replace(config, topics=(topic.name,), public_only=True,
                                                     reference="torch"), hide).grade(
                folder, Path(tmp) / "public", "submission", (topic.name,), [])
            self.feedback = (self.hidden.folder / "feedback.txt").read_text(encoding="utf-8")
        neutral = nbformat.v4.new_notebook(metadata=getattr(submission, "metadata", {}) or {})
        neutral.cells = [nbformat.v4.new_markdown_cell(
                             "Graded by the course's grader in its sandbox; no student code runs here."),
                         nbformat.v4.new_code_cell(f"{SENTINEL} = True")]
        return neutral

    def after_grading(self, results):
        topic = self.plugin_config["topic"]
        hidden = _by_check(self.hidden.outcomes)
        public = _by_check(self.public.outcomes)
        base_seed = Config.base_seed
        for test_file in list(results.results.values()):
            case_results = []
            for case in test_file.test_cases:
                check_id = check_id_of(str(case.body)) or ""
                runs = (public if not case.hidden else hidden).get(check_id, [])
                passed = bool(runs) and all(o.status in ("passed", "skipped") for o in runs)
                case_results.append(TestCaseResult(case, _case_message(check_id, runs, base_seed), passed))
            test_file.test_case_results = case_results
            if test_file.name == topic:
                test_file.update_score(sum(o.points for o in self.hidden.outcomes))
        total = self.hidden.graded.score
        results.set_output(f"The course's grader (in its sandbox): {total.score:g} / {total.max_score:g}.\n\n"
                           + self.feedback)

    def _config(self) -> tuple[Config, str]:
        config, lang = Config(jobs=1), i18n.DEFAULT
        course_file = self.plugin_config.get("course_file") or ""
        if course_file:
            loaded = courses.load(Path(course_file))
            config, lang = loaded.configure(config), loaded.language
        devices = self.plugin_config.get("devices") or ""
        if devices:
            config = replace(config, devices=("cpu", "cuda") if devices == "all" else (devices,))
        return config, lang


def module_copy(path: Path, topic, folder: Path) -> tuple[Path, list[str]]:
    """The submission as `grade` reads it, in a folder: the topic's file under its own name
    (a notebook without otter's own lines, or a .py file as it is), and beside it the course's
    other files the upload holds (the capstone imports normalization.py, dropout.py, ...)."""
    notes: list[str] = []
    folder = folder / "submission"
    folder.mkdir()
    for other in TOPICS.values():
        for name in (other.filename, f"{other.module}.ipynb"):
            sibling = path.parent / name
            if other is not topic and sibling.is_file() and not sibling.is_symlink():
                _copy_without_otter(sibling, folder / name)
    _copy_without_otter(path, folder / (f"{topic.module}.ipynb" if path.suffix == ".ipynb" else topic.filename))
    return folder, notes


def _copy_without_otter(path: Path, target: Path) -> None:
    if path.suffix != ".ipynb":
        target.write_bytes(path.read_bytes())
        return
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8", errors="replace"), as_version=4)
    except Exception:                  # noqa: BLE001 - the grader's reader words it for the student
        target.write_bytes(path.read_bytes())
        return
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            lines = str(cell.get("source", "")).split("\n")
            kept = [line for line in lines if not OTTER_LINE.match(line)]
            cell["source"] = "\n".join(kept)
    target.write_text(nbformat.writes(nb), encoding="utf-8")


def _by_check(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    found: dict[str, list[Outcome]] = {}
    for o in outcomes:
        found.setdefault(o.check_id, []).append(o)
    return found


def _case_message(check_id: str, runs: list[Outcome], base_seed: int) -> str:
    if not runs:
        return f"{check_id}: not graded (the grader has no such check for this submission)."
    ran = [o for o in runs if o.status != "skipped"] or runs
    earned, possible = sum(o.points for o in ran), sum(o.max_points for o in ran)
    public = runs[0].public                       # public checks count for nothing here
    lines = [f"{runs[0].title.rstrip('.')} ({check_id})" + ("" if public or not possible
                                                             else f": {earned:g} / {possible:g}")]
    for o in ran:
        detail = case_text(o, base_seed, for_instructor=False)
        lines.append(f"  [{o.device}] {WORDS.get(o.status, o.status)}"
                     + (": " + detail.replace("\n", "\n      ") if detail else ""))
    return "\n".join(lines)
