"""The translation catalogs, for maintainers: what needs translating, and the .po files.

    python -m autograder.catalog check      # what lacks a translation, is fuzzy or mismatched
    python -m autograder.catalog update     # add new message ids to every catalog, drop old ones

Message ids come from two places (i18n.py says how they are used):

- the code: literal arguments of `_()`, `N_()`, `ngettext()` and `pgettext()` in
  autograder/ and kit/coursecheck/ (an ast walk: no import needed);
- the course's data: the known mistakes' messages (autograder/bank/), the causes the
  judges name (hidden checks' CAUSES), and the title of every hidden and public check;
- for the assignments domain: the docstrings of the solution files (which the stubs
  copy; msgctxt "NN_topic/file.py:Qualified.name", ":" alone for the module's) and the
  markdown cells of the topics' notebooks (msgctxt "NN_topic/name.ipynb").

Every message of the autograder domain must be translated. In the assignments domain
the module docstrings and the topics in FULL must be; elsewhere a missing translation
leaves the English text in the Russian kit (`release` reports how many).
"""
from __future__ import annotations

import ast
import json
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .i18n import LANGS, LOCALE, Entry, read_po
from .topics import ROOT, TOPICS

DOMAINS = ("autograder", "assignments")
CODE = ("autograder", "kit/coursecheck")
MARKERS = {"_": 1, "N_": 1, "ngettext": 2, "pgettext": 2}     # name -> literal arguments
FULL = ("01_autograd", "02_optimizers", "03_normalization",   # assignments translated in full
        "04_dropout", "05_residual", "06_ensembles", "07_capstone")


@dataclass
class Message:
    msgid: str
    context: str | None = None
    plural: str | None = None
    sources: set[str] = field(default_factory=set)
    required: bool = True

    @property
    def key(self) -> tuple[str | None, str]:
        return self.context, self.msgid


def _add(found: dict, msgid: str, source: str, context: str | None = None,
         plural: str | None = None, required: bool = True) -> None:
    if not msgid:
        return
    m = found.setdefault((context, msgid), Message(msgid, context, plural, required=required))
    m.sources.add(source)
    m.required = m.required or required
    m.plural = m.plural or plural


# ----------------------------------------------------------------------------- extraction

def code_messages(root: Path = ROOT) -> dict:
    """Literal arguments of the markers in the code (autograder/ and kit/coursecheck/)."""
    found: dict = {}
    for top in CODE:
        code_messages_in(root / top, root, found)
    return found


def code_messages_in(folder: Path, root: Path | None = None, found: dict | None = None) -> dict:
    """Literal arguments of the markers in the .py files under `folder`; a marker with a
    non-literal argument is an error (it could never be extracted, so never translated)."""
    found = {} if found is None else found
    root = folder if root is None else root
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), rel)):
            marker = _marker(node)
            if marker is None:
                continue
            args = node.args[:MARKERS[marker]]
            if len(args) < MARKERS[marker] or not all(
                    isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
                raise ValueError(f"{rel}:{node.lineno}: {marker}() needs literal strings")
            values = [a.value for a in args]
            if marker == "ngettext":
                _add(found, values[0], rel, plural=values[1])
            elif marker == "pgettext":
                _add(found, values[1], rel, context=values[0])
            else:
                _add(found, values[0], rel)
    return found


def _marker(node) -> str | None:
    """The marker a call is (`_(...)`, or `i18n._(...)` where `_` is taken), else None."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Name) and func.id in MARKERS:
        return func.id
    if isinstance(func, ast.Attribute) and func.attr in MARKERS and isinstance(func.value, ast.Name) \
            and func.value.id == "i18n":
        return func.attr
    return None


def data_messages() -> dict:
    """Known mistakes' messages, the judges' causes and every check's title."""
    from . import variants
    from .plans import hidden_plan, public_plan
    found: dict = {}
    for name in TOPICS:
        for mistake in variants.mistakes(name):
            _add(found, mistake.message, f"autograder/bank/{name}.py")
    for name, checks in hidden_plan().items():
        for c in checks.causes:
            _add(found, c.message, f"autograder/hidden/{name}.py")
        for c in checks.checks:
            _add(found, c.title, f"autograder/hidden/{name}.py")
    for name, checks in public_plan().items():
        for c in checks.checks:
            _add(found, c.title, f"assignments/{TOPICS[name].folder}/public_checks.py")
    return found


def docstrings(source: str) -> list[tuple[str, ast.Constant]]:
    """(qualified name, the docstring's literal) of the module ("") and of every def and class."""
    out = []

    def visit(node, prefix: str):
        body = getattr(node, "body", [])
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            out.append((prefix, body[0].value))
        for child in body:
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, f"{prefix}.{child.name}" if prefix else child.name)

    visit(ast.parse(source), "")
    return out


def clean(doc: str) -> str:
    import inspect
    return inspect.cleandoc(doc)


def markdown_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c["cell_type"] == "markdown"]


def assignment_messages(root: Path = ROOT) -> dict:
    found: dict = {}
    for topic in TOPICS.values():
        solution = topic.solution_path(root)
        if solution.exists():
            for qualname, literal in docstrings(solution.read_text(encoding="utf-8")):
                context = f"{topic.folder}/{topic.filename}:{qualname}"
                _add(found, clean(literal.value), f"solutions/{topic.folder}/{topic.filename}",
                     context, required=topic.folder in FULL or qualname == "")
        for notebook in sorted(topic.assignment_dir(root).glob("*.ipynb")):
            context = f"{topic.folder}/{notebook.name}"
            for text in markdown_cells(notebook):
                _add(found, text, f"assignments/{context}", context, required=topic.folder in FULL)
    return found


def messages(domain: str, root: Path = ROOT) -> dict:
    if domain == "autograder":
        found = code_messages(root)
        for key, m in data_messages().items():
            for source in m.sources:
                _add(found, m.msgid, source, m.context, m.plural)
        return found
    return assignment_messages(root)


# ----------------------------------------------------------------------------- checking

def fields(text: str) -> list[str]:
    """The placeholders of a str.format template, with their format specs, sorted."""
    try:
        return sorted(f"{{{name}{':' + spec if spec else ''}}}"
                      for _lit, name, spec, _conv in string.Formatter().parse(text) if name is not None)
    except ValueError as exc:
        return [f"<unreadable: {exc}>"]


def po_path(lang: str, domain: str, locale: Path = LOCALE) -> Path:
    return locale / lang / "LC_MESSAGES" / f"{domain}.po"


def problems(lang: str = "ru", domain: str = "autograder", root: Path = ROOT,
             locale: Path = LOCALE, wanted: dict | None = None) -> list[str]:
    """Every reason the catalog is not complete: a message id the code uses with no
    translation (required ones), a fuzzy or partly empty translation, placeholders that
    differ between msgid and msgstr, and entries no code uses any longer."""
    wanted = messages(domain, root) if wanted is None else wanted
    path = po_path(lang, domain, locale)
    entries = {e.key: e for e in read_po(path.read_text(encoding="utf-8"))} if path.exists() else {}
    out = []
    for key, m in sorted(wanted.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        e = entries.get(key)
        where = f"{m.context + ': ' if m.context else ''}{m.msgid[:70]!r} ({', '.join(sorted(m.sources))})"
        if e is None or not any(e.msgstr):
            if m.required:
                out.append(f"no {lang} translation: {where}")
            continue
        if e.fuzzy:
            out.append(f"fuzzy translation: {where}")
        elif not all(e.msgstr):
            out.append(f"empty translation (a plural form): {where}")
        if (m.plural is None) != (e.plural is None) or len(e.msgstr) > 1 and m.plural is None:
            out.append(f"plural forms differ from the code's: {where}")
        ids = [m.msgid] + ([m.plural] if m.plural else [])
        if domain == "autograder":
            for text in e.msgstr:
                if text and fields(text) not in [fields(i) for i in ids]:
                    out.append(f"placeholders differ: {where}: {fields(ids[0])} in the msgid, "
                               f"{fields(text)} in {text[:70]!r}")
    for key, e in entries.items():
        if e.msgid and key not in wanted:
            out.append(f"not used by the code any more: {(e.context + ': ') if e.context else ''}"
                       f"{e.msgid[:70]!r} (line {e.line} of {path.relative_to(root) if path.is_relative_to(root) else path})")
    return out


# ----------------------------------------------------------------------------- writing

HEADERS = {
    "ru": ("Language: ru\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
           "Content-Transfer-Encoding: 8bit\nPlural-Forms: nplurals=3; plural=(n%10==1 && "
           "n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);\n"),
}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") \
        .replace("\r", "\\r").replace("\n", "\\n") + '"'


def _pieces(text: str, width: int = 76) -> list[str]:
    lines = text.splitlines(keepends=True) or [""]
    out = []
    for line in lines:
        while len(line) > width:
            cut = line.rfind(" ", 0, width)
            if cut <= 0:
                break
            out.append(line[:cut + 1])
            line = line[cut + 1:]
        out.append(line)
    return out


def _field(keyword: str, text: str) -> list[str]:
    if "\n" not in text and len(text) <= 70:
        return [f"{keyword} {_quote(text)}"]
    return [f'{keyword} ""'] + [_quote(p) for p in _pieces(text)]


def format_entry(e: Entry, obsolete: bool = False) -> str:
    lines = list(e.comments)
    if e.flags:
        lines.append("#, " + ", ".join(sorted(e.flags)))
    body = []
    if e.context is not None:
        body += _field("msgctxt", e.context)
    body += _field("msgid", e.msgid)
    if e.plural is not None:
        body += _field("msgid_plural", e.plural)
        for i, text in enumerate(e.msgstr):
            body += _field(f"msgstr[{i}]", text)
    else:
        body += _field("msgstr", e.msgstr[0])
    lines += ["#~ " + b for b in body] if obsolete else body
    return "\n".join(lines) + "\n"


def format_po(entries: list[Entry], lang: str, title: str, obsolete: list[Entry] = ()) -> str:
    head = Entry("", [HEADERS.get(lang, f"Language: {lang}\nContent-Type: text/plain; charset=UTF-8\n")],
                 comments=[f"# {title}"])
    return "\n".join(format_entry(e) for e in [head, *entries]) \
        + "".join("\n" + format_entry(e, obsolete=True) for e in obsolete)


TITLES = {"autograder": "Messages of the grader and of the student's checker (autograder/i18n.py).",
          "assignments": "Docstrings of the stubs and prose of the notebooks (autograder/catalog.py)."}


def update(lang: str, domain: str, root: Path = ROOT, locale: Path = LOCALE) -> tuple[int, int]:
    """Rewrite the catalog with the message ids in use: translations kept, new ids added
    untranslated, ids no longer used kept as obsolete (#~). Returns (added, obsoleted)."""
    wanted = messages(domain, root)
    path = po_path(lang, domain, locale)
    old = {e.key: e for e in read_po(path.read_text(encoding="utf-8")) if e.msgid} if path.exists() else {}
    entries, added = [], 0
    for key, m in sorted(wanted.items(), key=lambda kv: (sorted(kv[1].sources)[0], kv[0][0] or "", kv[0][1])):
        e = old.get(key)
        forms = 3 if lang == "ru" else 2
        if e is None:
            added += 1
            e = Entry(m.msgid, [""] * (forms if m.plural else 1), m.context, m.plural)
        e.comments = ["#: " + " ".join(sorted(m.sources))]
        entries.append(e)
    gone = [e for key, e in old.items() if key not in wanted]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_po(entries, lang, TITLES[domain], gone), encoding="utf-8")
    return added, len(gone)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] not in (["check"], ["update"]):
        print(__doc__.split("\n\n")[1])
        return 2
    status = 0
    for lang in (lang for lang in LANGS if lang != "en"):
        for domain in DOMAINS:
            if argv[0] == "update":
                added, gone = update(lang, domain)
                print(f"{po_path(lang, domain).relative_to(ROOT)}: {added} new message(s), {gone} obsolete")
            else:
                found = problems(lang, domain)
                for p in found:
                    print(f"{lang}/{domain}: {p}")
                status |= bool(found)
    return status


if __name__ == "__main__":
    sys.exit(main())
