"""Notebooks in, one Python module out, read as Jupyter reads them.

Any nbformat version is read (and upgraded to 4); only code cells count, in
order. IPython syntax (`!ls`, `%time`, `len?`, `%%bash`) is turned into plain
Python by IPython's own transformer and the rewriting below, so the module the
grader imports needs no IPython. Problems become sentences in `problems`.
"""
from __future__ import annotations

import ast
import re

from .i18n import _

# Cell magics whose body is Python that Jupyter runs: the body stays, in place. Any
# other cell magic (%%bash, %%writefile, %%html, %%script ...) is not Python run by
# the kernel, and its cell contributes nothing.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}


def module_source(rel: str, text: str, problems: list[str]) -> str | None:
    """The code cells of a notebook, in order, as one module, read as Jupyter reads them.

    Any nbformat version is read (and upgraded to 4). IPython syntax (`!ls`, `%time`,
    `len?`, `%%bash`) becomes plain Python when the notebook is loaded (`_cell_code`),
    so the module imports without IPython. A cell that is not valid Python is left
    out with a sentence: in Jupyter it fails alone and the other cells still run.
    """
    cells = _code_cells(rel, text, problems)
    if cells is None:
        return None
    if not cells:
        problems.append(_("{path} has no code cells.").format(path=rel))
        return None
    from IPython.core.inputtransformer2 import TransformerManager   # only once a notebook is read
    ipython = TransformerManager()
    chunks = []
    for number, source in enumerate(cells, 1):
        code, error = _cell_code(ipython, source)
        if error is None:
            chunks.append(code)
        else:
            problems.append(_("{path}: code cell {number} is not valid Python ({error}); it was "
                              "left out, as Jupyter would run the other cells without it.").format(
                path=rel, number=number, error=error))
    if not chunks:
        return None
    # Jupyter compiles each cell alone, so `from __future__` may sit in any cell;
    # in one module it must come first.
    text = "\n\n".join(chunks) + "\n"
    future = [line for line in text.splitlines() if line.startswith("from __future__ import")]
    body = [("# (moved to the top) " + line) if line in future else line for line in text.splitlines()]
    return "\n".join(future + body) + "\n"


def _code_cells(rel: str, text: str, problems: list[str]) -> list[str] | None:
    """The sources of the code cells, or None (and a sentence) for an unreadable notebook.

    nbformat.reads without its schema validation, which only logs (to the
    terminal, mid-batch) what Jupyter itself forgives.
    """
    from nbformat import convert, reader                          # only once a notebook is read
    try:
        cells = convert(reader.reads(text), 4)["cells"]
        if not isinstance(cells, list):
            raise TypeError("'cells' is not a list")
    except Exception as exc:          # nbformat raises many kinds for a malformed notebook
        why = (str(exc).splitlines() or [""])[0][:200]
        problems.append(_("{path} is not a valid notebook ({error}).").format(
            path=rel, error=f"{exc.__class__.__name__}: {why}"))
        return None
    sources = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            sources.append("".join(source) if isinstance(source, list) else str(source))
    return sources


def _cell_code(ipython, source: str) -> tuple[str, str | None]:
    """One code cell as plain Python, or why it is not valid Python.

    IPython's own transformer turns `!ls`, `%time x`, `len?` and `%%bash` into calls
    on get_ipython(); those calls are then replaced: a Python cell magic (%%time)
    leaves its body in place, any other cell magic leaves a comment, `%time CODE`
    leaves CODE, and every other line magic or shell escape does nothing (as a
    value, `!ls` is an empty list).
    """
    header = ""
    while True:                            # %%time over %%capture over ...: one magic a turn
        source = source.replace("\r\n", "\n").replace("\r", "\n")
        try:
            code = ipython.transform_cell(source)
        except Exception:                  # IPython gives up on some broken input: judge it as is
            code = source
        tree, error = _parse(code)
        if error is not None:
            return "", error
        magic = _cell_magic(tree)
        if magic is None:
            break
        name, source = magic
        name = name if re.fullmatch(r"\w+", name) else "?"
        if name not in PYTHON_CELL_MAGICS:
            return f"{header}# (a %%{name} cell: not run by the grader)\n", None
        header += f"# %%{name}\n"
    code = _replace_ipython_calls(code, tree)
    _tree, error = _parse(code)
    return header + code, error


def _parse(code: str) -> tuple[ast.Module | None, str | None]:
    """The tree of `code` once it compiles, or the reason it does not."""
    try:
        tree = ast.parse(code)
        compile(tree, "<cell>", "exec", dont_inherit=True)     # what only the compiler finds
    except SyntaxError as exc:
        return None, _("line {line}: {message}").format(line=exc.lineno, message=exc.msg)
    except (ValueError, RecursionError, MemoryError, SystemError, OverflowError) as exc:
        return None, f"{exc.__class__.__name__}: {exc}"
    return tree, None


def _ipython_call(node) -> tuple[str, list] | None:
    """("system", ["ls"]) for get_ipython().system('ls'); None for anything else."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == "get_ipython"):
        return node.func.attr, [a.value if isinstance(a, ast.Constant) else None for a in node.args]
    return None


def _cell_magic(tree: ast.Module) -> tuple[str, str] | None:
    """(name, body) when the whole cell is one cell magic, as IPython writes %%name."""
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
        call = _ipython_call(tree.body[0].value)
        if call and call[0] == "run_cell_magic" and len(call[1]) == 3 and all(
                isinstance(a, str) for a in call[1]):
            return call[1][0], call[1][2]
    return None


def _replace_ipython_calls(code: str, tree: ast.Module) -> str:
    """`code` with each get_ipython() call replaced in place by plain Python."""
    statements = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    spans = sorted((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset,
                    _plain(*call, statement=id(node) in statements))
                   for node in ast.walk(tree) if (call := _ipython_call(node)))
    outermost, reach = [], (0, 0)
    for span in spans:
        if span[:2] >= reach:              # a call inside an argument goes with its call
            outermost.append(span)
            reach = span[2:4]
    lines = code.split("\n")
    for first, start, last, end, text in reversed(outermost):     # offsets are UTF-8 bytes
        head, tail = lines[first - 1].encode()[:start], lines[last - 1].encode()[end:]
        lines[first - 1:last] = [(head + text.encode() + tail).decode()]
    return "\n".join(lines)


def _plain(method: str, args: list, statement: bool) -> str:
    """What replaces get_ipython().method(*args): a statement, or an expression."""
    if method == "run_line_magic" and len(args) == 2 and args[0] == "time" and isinstance(args[1], str):
        timed = args[1]                    # %time CODE runs CODE and gives its value
        if statement and len(timed.splitlines()) == 1 and _compiles(timed, "exec"):
            return timed
        if not statement and _compiles(timed, "eval"):
            return f"({timed})"
    if statement:
        return "pass"
    return "[]" if method == "getoutput" else "None"


def _compiles(code: str, mode: str) -> bool:
    try:
        compile(code, "<magic>", mode, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, SystemError, OverflowError):
        return False
    return True
