"""Finds forbidden built-ins in a student's source, without running it.

Names are resolved through imports and aliases (`import torch.nn.functional as F`,
`from torch.nn.functional import batch_norm as bn`, `f = F.batch_norm`,
`getattr(F, "batch_norm")`, `importlib.import_module("torch.optim")`), so a
renamed import is still seen. What this cannot see (a name built from pieces
at run time) the worker cannot run at all: guard.py makes it unreachable there.
"""
from __future__ import annotations

import ast
import threading
from dataclasses import dataclass

# CPython 3.11's parser keeps state shared by all threads (python/cpython#106905): the
# batch's grading threads parse one at a time.
_PARSE_LOCK = threading.Lock()


def parse(source: str) -> ast.Module:
    with _PARSE_LOCK:
        return ast.parse(source)


@dataclass(frozen=True)
class Finding:
    name: str            # the forbidden name it resolved to: "torch.nn.functional.batch_norm"
    line: int
    scope: str | None    # the top-level function or class it sits in; None = module level


def matches(dotted: str, rules: tuple[str, ...] | list[str]) -> str | None:
    """The rule that `dotted` falls under: equal to it, or inside it (a module or class)."""
    for rule in rules:
        if dotted == rule or dotted.startswith(rule + "."):
            return rule
    return None


def scan(source: str, rules: tuple[str, ...] | list[str]) -> list[Finding]:
    """Every use of a forbidden name in `source`. A SyntaxError propagates."""
    tree = parse(source)
    finder = _Finder(rules)
    for node in tree.body:
        scope = node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else None
        finder.scope = scope
        finder.visit(node)
    return sorted(set(finder.found), key=lambda f: (f.line, f.name))


def top_level_references(source: str) -> dict[str, set[str]]:
    """For each top-level function or class, the other top-level names it mentions.

    The grader uses it to charge a forbidden use inside `batch_norm` also to the
    checks that call `BatchNorm1d`, when BatchNorm1d calls batch_norm.
    """
    tree = parse(source)
    names = {n.name for n in tree.body
             if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    refs: dict[str, set[str]] = {}
    for node in tree.body:
        if getattr(node, "name", None) in names:
            used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            refs[node.name] = (used & names) - {node.name}
    return refs


def reachable(start: str, refs: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(refs.get(name, ()))
    return seen


class _Finder(ast.NodeVisitor):
    def __init__(self, rules):
        self.rules = tuple(rules)
        self.aliases: dict[str, str] = {}       # local name -> dotted name it stands for
        self.found: list[Finding] = []
        self.scope: str | None = None

    def _report(self, dotted: str | None, node: ast.AST):
        if dotted:
            rule = matches(dotted, self.rules)
            if rule:
                self.found.append(Finding(rule, node.lineno, self.scope))

    # -- imports create aliases. An import is reported where the name is USED, so that a
    # module-level `from torch.nn.functional import batch_norm` costs only the checks of
    # the functions that call it; an import inside a function is reported right there.
    def visit_Import(self, node: ast.Import):
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.aliases[top] = top
            if self.scope is not None:
                self._report(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom):
        if node.module is None or node.level:
            return
        for alias in node.names:
            dotted = f"{node.module}.{alias.name}"
            if alias.name == "*":
                self._report(node.module, node)
                continue
            self.aliases[alias.asname or alias.name] = dotted
            if self.scope is not None:
                self._report(dotted, node)

    # -- assignments propagate aliases: f = F.batch_norm (reported where f is used
    # when the assignment is at module level)
    def visit_Assign(self, node: ast.Assign):
        dotted = self.resolve(node.value)
        if not (self.scope is None and dotted and matches(dotted, self.rules)):
            self.generic_visit(node)
        for target in node.targets:
            if isinstance(target, ast.Name) and dotted:
                self.aliases[target.id] = dotted

    def visit_Attribute(self, node: ast.Attribute):
        dotted = self.resolve(node)
        if dotted and matches(dotted, self.rules):
            self._report(dotted, node)
            return                              # report the longest chain once
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id in self.aliases:
            self._report(self.aliases[node.id], node)

    def visit_Call(self, node: ast.Call):
        dotted = self._dynamic(node)
        if dotted:
            self._report(dotted, node)
        self.generic_visit(node)

    # -- name resolution
    def resolve(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            return self._dynamic(node)
        return None

    def _dynamic(self, node: ast.Call) -> str | None:
        """getattr(F, "batch_norm"), __import__("torch"), importlib.import_module("torch.optim")."""
        func = node.func
        const = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
            base = self.resolve(node.args[0])
            if base and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                return f"{base}.{node.args[1].value}"
            return None
        name = self.resolve(func) if not isinstance(func, ast.Name) else self.aliases.get(func.id, func.id)
        if name in ("__import__", "importlib.import_module") and const:
            return const[0]
        return None
