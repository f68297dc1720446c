"""otter-grader master notebooks made from the one source: `python -m autograder export otter DIR`.

    DIR/NN_topic/<module>.ipynb      one otter-assign master notebook a topic
    DIR/README.md                    the commands (otter assign, otter run)

Each master notebook, in otter-assign's syntax (raw cells: `# ASSIGNMENT CONFIG`,
`# BEGIN QUESTION`, `# BEGIN SOLUTION`, `# BEGIN TESTS`), holds one question named after
the topic:

- its prompt: the module docstring;
- its solution: the reference solution cut into cells (cells.py); each solution region
  becomes otter's `# BEGIN SOLUTION NO PROMPT` ... `# END SOLUTION` after a prompt block
  holding the stub's `raise NotImplementedError("Task N.M: ...")`, so the student
  notebook reads exactly as the stub in assignments/ does;
- its tests: one test case a public check (public, 0 points: `grader.check("normalization")`
  runs them in the student's kernel, autograder.in_notebook) and one a hidden check (hidden,
  the check's points), plus the placement probe.

The hidden test cases hold no test: the autograder zip's otter_config.json names the
plugin autograder.on_otter.GradeWithAutograder, which grades the submission with this
package's grader before otter's kernel starts (student code in the sandboxed worker),
gives otter's kernel a notebook with no student code in it, and writes the grader's
result into every test case afterwards. Without the plugin every hidden case fails (a
zero, never marks for ungraded code).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..stubs import make_stub
from ..topics import ROOT, TOPICS
from . import cells
from .graded import Item, graded_plan, items, public_items

PLUGIN = "autograder.on_otter.GradeWithAutograder"
HIDDEN_TEST = ('raise AssertionError("{check_id}: scored by the course\'s grader '
               '(autograder.on_otter.GradeWithAutograder), not in this kernel")')
# In otter's autograder kernel (the plugin's empty notebook defines the sentinel) a public
# test does nothing: the plugin has graded it in the sandbox, and torch need not load there.
PUBLIC_TEST = ('if "__graded_by_the_course_grader__" not in globals():\n'
               '    from autograder.in_notebook import assert_public\n'
               '    assert_public("{check_id}", globals())')
CHECK_ID = re.compile(r"[\"'](\w+/\w+)")            # the check a test case stands for, in its code


def export(out: Path, topics: tuple[str, ...] = (), devices: str = "all",
           course_file: Path | None = None, root: Path = ROOT) -> list[Path]:
    """Write one master notebook a topic under `out`; returns the files."""
    plan = graded_plan(topics, course_file)
    wanted = ("cpu", "cuda") if devices == "all" else (devices,)
    written = []
    for name in topics or TOPICS:
        topic = TOPICS[name]
        nb = master_notebook(name, items(name, plan, wanted), public_items(name, root), devices,
                             str(course_file.resolve()) if course_file else "", root)
        path = out / topic.folder / f"{topic.module}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    readme = out / "README.md"
    readme.write_text(README.format(folders=", ".join(TOPICS[t].folder for t in (topics or TOPICS))))
    written.append(readme)
    return written


def master_notebook(topic_name: str, graded: list[Item], public: list[Item], devices: str,
                    course_file: str, root: Path = ROOT) -> dict:
    topic = TOPICS[topic_name]
    doc, units = cells.module_parts(topic.solution_path(root).read_text(), topic.filename)
    total = sum(i.points for i in graded)
    out = [_raw(ASSIGNMENT_CONFIG.format(name=topic_name, plugin=PLUGIN, topic=topic_name,
                                         devices=devices, course_file=course_file)),
           _markdown(cells.markdown_of_docstring(doc, topic.filename)),
           _raw(f"# BEGIN QUESTION\nname: {topic_name}"),
           _markdown(PROMPT.format(topic=topic_name, total=f"{total:g}", n=len(graded),
                                   public=len(public), file=topic.filename)),
           _raw("# BEGIN SOLUTION")]
    for unit in units:
        out.append(_code(_otter_regions(unit, topic.filename) if unit.is_solution else unit.source))
    out += [_raw("# END SOLUTION"), _raw("# BEGIN TESTS")]
    out += [_code(test_cell(item)) for item in public + graded]
    out += [_raw("# END TESTS"), _raw("# END QUESTION")]
    return {"cells": out, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                      "name": "python3"},
                                       "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 4}


def _otter_regions(unit: cells.Unit, filename: str) -> str:
    """A solution unit in otter's syntax: each region after a prompt block that holds the
    stub's own `raise NotImplementedError(...)` line."""
    stub_raises = iter(line.strip() for line in make_stub(unit.source, filename).splitlines()
                       if line.strip().startswith("raise NotImplementedError(\"Task"))

    def begin(indent: str, task: str) -> str:
        return (f'{indent}""" # BEGIN PROMPT\n{indent}{next(stub_raises)}\n{indent}""" # END PROMPT\n'
                f"{indent}# BEGIN SOLUTION NO PROMPT\n")
    return cells.with_markers(unit, begin, lambda indent: f"{indent}# END SOLUTION\n")


def test_cell(item: Item) -> str:
    config = f'""" # BEGIN TEST CONFIG\nhidden: {str(not item.public).lower()}\npoints: {item.points:g}\n' \
             f'""" # END TEST CONFIG\n'
    code = PUBLIC_TEST if item.public else HIDDEN_TEST
    return config + code.format(check_id=item.check_id)


def check_id_of(test_code: str) -> str | None:
    """The check a test case of these notebooks stands for."""
    m = CHECK_ID.search(test_code)
    return m.group(1) if m else None


ASSIGNMENT_CONFIG = """\
# ASSIGNMENT CONFIG
name: {name}
init_cell: true
check_all_cell: false
export_cell: false
run_tests: false
solutions_pdf: false
template_pdf: false
generate:
  show_hidden: false
  plugins:
    - {plugin}:
        topic: {topic}
        devices: "{devices}"
        course_file: "{course_file}"
"""

PROMPT = """\
## Your work

Replace each `raise NotImplementedError(...)` below with your code (the docstrings say what
each function must do). `grader.check("{topic}")` runs the {public} public checks on your code,
here in your kernel. When your notebook is graded, the course's grader runs your code in a
sandbox against the reference on {n} hidden checks worth {total} points: only they count.
Cells you add are graded with your code as part of `{file}`.
"""

README = """\
# otter-grader master notebooks

Written by `python -m autograder export otter`; one master notebook a topic ({folders}).
For each one (course staff, from this folder; the course's `autograder` package must be
installed where `otter` runs):

    otter assign 03_normalization/normalization.ipynb dist/03_normalization

writes `dist/03_normalization/student/normalization.ipynb` (hand it out) and
`dist/03_normalization/autograder/` (the autograder notebook and its zip). Grade one
submission without a container:

    otter run -a dist/03_normalization/autograder/normalization-autograder_*.zip SUBMISSION.ipynb -o OUT

which writes OUT/results.json (Gradescope's format): the score of the course's grader.
"""


def _raw(text: str) -> dict:
    return {"cell_type": "raw", "metadata": {}, "source": text.rstrip("\n")}


def _markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text.rstrip("\n")}


def _code(text: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
            "source": text.rstrip("\n")}

