"""Student stubs, generated from the reference solutions' marked regions.

In a solution file, each region

        # BEGIN SOLUTION Task 3.1
        ...reference code...
        # END SOLUTION

becomes, in the stub, with the same indentation,

        # ===== YOUR CODE: Task 3.1 =====
        raise NotImplementedError("Task 3.1: batch_norm in normalization.py")
        # ===== END YOUR CODE =====

Everything outside regions is copied as it is, so signatures and docstrings
have one source. `check()` reports stubs that drifted from their solution.
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path

from .topics import ROOT

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?:\s+(?P<task>Task\s+[\w.]+))?\s*$")
END = re.compile(r"^[ \t]*# END SOLUTION\s*$")
# Anything that looks like a marker but is not spelled exactly (it would leak the solution).
NEAR = re.compile(r"^\s*#\s*(BEGIN|END)\s*_?SOLUTION", re.IGNORECASE)
DEF = re.compile(r"^(?P<indent>[ \t]*)(?:async\s+)?(?:def|class)\s+(?P<name>\w+)")


class StubError(ValueError):
    """A solution file whose regions are malformed (unclosed, nested, unnamed)."""


def make_stub(source: str, filename: str) -> str:
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    scopes: list[tuple[int, str]] = []       # (indent, name) of enclosing defs/classes
    i = 0
    while i < len(lines):
        line = lines[i]
        d = DEF.match(line)
        if d:
            depth = len(d["indent"])
            scopes = [s for s in scopes if s[0] < depth] + [(depth, d["name"])]
        m = BEGIN.match(line)
        if not m and not END.match(line) and NEAR.match(line):
            raise StubError(f"{filename}:{i + 1}: malformed marker {line.strip()!r}; write "
                            "'# BEGIN SOLUTION Task N.M' or '# END SOLUTION'")
        if not m:
            if END.match(line):
                raise StubError(f"{filename}:{i + 1}: END SOLUTION without BEGIN")
            out.append(line)
            i += 1
            continue
        indent, task = m["indent"], m["task"]
        if not task:
            raise StubError(f"{filename}:{i + 1}: BEGIN SOLUTION needs a task id ('Task 3.1')")
        j = i + 1
        while j < len(lines) and not END.match(lines[j]):
            if BEGIN.match(lines[j]):
                raise StubError(f"{filename}:{j + 1}: nested BEGIN SOLUTION")
            j += 1
        if j == len(lines):
            raise StubError(f"{filename}:{i + 1}: BEGIN SOLUTION without END SOLUTION")
        inner = [s for s in scopes if s[0] < len(indent)]
        where = ".".join(name for _, name in inner[-2:]) or "module level"
        out += [f"{indent}# ===== YOUR CODE: {task} =====\n",
                f'{indent}raise NotImplementedError("{task}: {where} in {filename}")\n',
                f"{indent}# ===== END YOUR CODE =====\n"]
        i = j + 1
    return "".join(out)


def tasks(source: str) -> dict[str, str]:
    """The task ids of a solution file's regions, each with where it sits:
    {"3.1": "batch_norm", "3.4": "BatchNorm1d.__init__", ...} (the stub's wording)."""
    found: dict[str, str] = {}
    scopes: list[tuple[int, str]] = []
    for line in source.splitlines():
        d = DEF.match(line)
        if d:
            depth = len(d["indent"])
            scopes = [s for s in scopes if s[0] < depth] + [(depth, d["name"])]
        m = BEGIN.match(line)
        if m and m["task"]:
            inner = [s for s in scopes if s[0] < len(m["indent"])]
            task = m["task"].split()[-1]
            where = ".".join(name for _, name in inner[-2:]) or "module level"
            found[task] = f"{found[task]}, {where}" if task in found else where
    return found


def stub_pairs(root: Path = ROOT):
    """(solution file, stub file) for every solution file with regions."""
    for solution in sorted((root / "solutions").glob("[0-9][0-9]_*/*.py")):
        if "# BEGIN SOLUTION" in solution.read_text():
            yield solution, root / "assignments" / solution.parent.name / solution.name


def generate(root: Path = ROOT) -> list[Path]:
    written = []
    for solution, stub in stub_pairs(root):
        text = make_stub(solution.read_text(), solution.name)
        stub.parent.mkdir(parents=True, exist_ok=True)
        if not stub.exists() or stub.read_text() != text:
            stub.write_text(text)
            written.append(stub)
    return written


def check(root: Path = ROOT) -> list[str]:
    """One message a stub that is missing or differs from what its solution generates."""
    problems = []
    for solution, stub in stub_pairs(root):
        want = make_stub(solution.read_text(), solution.name)
        if not stub.exists():
            problems.append(f"{stub.relative_to(root)} is missing")
        elif stub.read_text() != want:
            diff = difflib.unified_diff(stub.read_text().splitlines(), want.splitlines(),
                                        str(stub.relative_to(root)), "generated", lineterm="", n=1)
            problems.append("\n".join(list(diff)[:20]))
    return problems
