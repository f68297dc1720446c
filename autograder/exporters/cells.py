"""A reference solution cut into notebook cells: what the nbgrader and otter exports share.

A topic's solution file (solutions/NN_topic/<module>.py) becomes, in order:

- its module docstring, the topic's instructions (a Markdown cell);
- its top-level statements, as code cells: every statement that holds a solution
  region (`# BEGIN SOLUTION Task N.M` ... `# END SOLUTION`, autograder/stubs.py) is a
  cell of its own, named after what it defines (`batch_norm`, `BatchNorm1d`);
  consecutive statements without a region share one cell (`setup`, `code_<name>`).

Each exporter then writes the regions in its platform's syntax (`with_markers`). The
same cutting applied to any file that keeps the solution's top-level layout (a bank
variant, a student's module) gives cells with the same names, so a test can put a
buggy solution into a notebook cell by cell (`unit_sources`).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ..stubs import BEGIN, END

# Lines an exporter must not find outside the regions: the platforms would take them
# for markers of their own (nbgrader: any line holding these words; otter: "# SOLUTION"
# line tags, "# IGNORE", "# SEED", prompt blocks).
FOREIGN = re.compile(r"BEGIN SOLUTION|END SOLUTION|HIDDEN TESTS|# ?SOLUTION|# IGNORE|# SEED|"
                     r"# (BEGIN|END) (PROMPT|IGNORE)|BEGIN MARK SCHEME|END MARK SCHEME")


@dataclass(frozen=True)
class Unit:
    """One code cell of the module."""
    name: str                 # "batch_norm", "BatchNorm1d", "setup", "code_extra_repr"
    source: str               # the code, with the solution's own region markers
    tasks: tuple[str, ...]    # ("Task 3.1",): the regions it holds; () for a read-only cell

    @property
    def is_solution(self) -> bool:
        return bool(self.tasks)


class CellError(ValueError):
    """A solution file that cannot be cut into cells (or holds a platform's marker)."""


def module_parts(source: str, filename: str = "<module>") -> tuple[str, list[Unit]]:
    """(the module docstring, the code cells) of a solution file."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    body = list(tree.body)
    doc = ""
    start = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        doc = ast.get_docstring(tree, clean=True) or ""
        start = body[0].end_lineno
        body = body[1:]
    firsts = [min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", [])]) - 1 for s in body]
    units: list[Unit] = []
    pending: list[str] = []                    # statements without a region, waiting for a cell
    pending_name = ""

    def flush() -> None:
        nonlocal pending, pending_name
        text = "".join(pending).strip("\n")
        if text:
            units.append(Unit(pending_name or f"code_{len(units)}", text + "\n", ()))
        pending, pending_name = [], ""

    for i, stmt in enumerate(body):
        begin = firsts[i] if i else start
        end = firsts[i + 1] if i + 1 < len(body) else len(lines)
        chunk = lines[begin:end]
        tasks = tuple(m["task"] for line in chunk if (m := BEGIN.match(line)) and m["task"])
        name = _defined_name(stmt)
        if tasks:
            flush()
            units.append(Unit(name or f"code_{len(units)}", "".join(chunk).strip("\n") + "\n", tasks))
        else:
            if not pending:
                pending_name = "setup" if not units else (name or f"code_{len(units)}")
            pending.extend(chunk)
    flush()
    for unit in units:
        _check_foreign(unit, filename)
    names = [u.name for u in units]
    if len(set(names)) != len(names):
        raise CellError(f"{filename}: two cells would have the same name: {names}")
    return doc, units


def _defined_name(stmt: ast.stmt) -> str:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return stmt.name
    if isinstance(stmt, ast.Assign) and stmt.targets and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    return ""


def _check_foreign(unit: Unit, filename: str) -> None:
    inside = False
    for number, line in enumerate(unit.source.splitlines(), 1):
        if BEGIN.match(line):
            inside = True
        elif END.match(line):
            inside = False
        elif not inside and FOREIGN.search(line):
            raise CellError(f"{filename}, cell {unit.name}, line {number}: {line.strip()!r} would be "
                            "read as a marker by nbgrader or otter-grader; reword it")


def with_markers(unit: Unit, begin, end) -> str:
    """The unit's code with each region's markers rewritten: begin(indent, task) and
    end(indent) return the lines (with their newlines) that replace them."""
    out = []
    for line in unit.source.splitlines(keepends=True):
        m = BEGIN.match(line)
        if m:
            out.append(begin(m["indent"], m["task"]))
        elif END.match(line):
            out.append(end(line[:len(line) - len(line.lstrip())]))
        else:
            out.append(line)
    return "".join(out)


def without_markers(unit: Unit) -> str:
    """The unit's code as a student would write it: the regions' code, no markers."""
    return with_markers(unit, lambda indent, task: "", lambda indent: "")


def unit_sources(source: str, filename: str = "<module>") -> dict[str, str]:
    """name -> code (markers removed) of every cell of a file laid out as a solution."""
    _doc, units = module_parts(source, filename)
    return {u.name: without_markers(u) for u in units}


def markdown_of_docstring(doc: str, heading: str) -> str:
    """The module docstring as Markdown: its first line as the heading, the rest as
    preformatted text (it is written for a terminal: aligned columns, formulas)."""
    first, _, rest = doc.partition("\n")
    text = f"# {heading}: {first.strip()}\n"
    if rest.strip():
        text += "\n```text\n" + rest.strip("\n") + "\n```\n"
    return text
