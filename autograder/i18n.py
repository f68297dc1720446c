"""The course's language: every text a student reads, in English or Russian.

Messages are written in English in the code and wrapped where they are made:

    _("{name} differs from the expected value.").format(name=name)
    ngettext("{n} submission", "{n} submissions", n).format(n=n)

The English text is the message id; placeholders are named (`{name}`, with a format
spec where one is needed: `{percent:.1f}`) and filled by str.format AFTER translation,
so a translator may move them. Texts that are data rather than code (a known
mistake's message, a check's title) keep their English text as the id too and are
looked up when shown: `gettext(mistake.message)`, `localize_causes(message)`.
Translations live in gettext catalogs, one a language and domain:

    autograder/locale/<lang>/LC_MESSAGES/autograder.po     messages (grader, checker, feedback)
    autograder/locale/<lang>/LC_MESSAGES/assignments.po    stubs' docstrings, notebooks' prose
                                                           (msgctxt: file and qualified name)

English needs no catalog: a message without a translation is shown as written.
The language is one per process (`set_language`, from `--lang`; default "en"):
a batch is graded for one course, and its grading threads share it.

Why the .po files are read directly (a small reader below) and not compiled to .mo:

- One source. A committed .mo is a binary copy of the .po that can drift from it;
  a test would have to rebuild it with Babel to notice. Here what is reviewed in a
  diff is what runs.
- Nothing to build or install where the texts are used: the grader in Gradescope's
  image (torch, numpy, nbformat, IPython only) and the student's checker (the kit
  copies this module and its catalogs) need the standard library only. Babel is a
  test-time dependency (tests/test_i18n.py reads every catalog with it too, and the
  two readers must agree).
- The format's subset the course uses is small: msgctxt, msgid, msgid_plural,
  msgstr[N], continued lines, C escapes, flags (fuzzy entries are ignored, as msgfmt
  ignores them) and the Plural-Forms header, evaluated by the standard library's
  own gettext.c2py. The result is a gettext.NullTranslations, so the usual API holds.
"""
from __future__ import annotations

import gettext as _gettext
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

LANGS = ("en", "ru")
DEFAULT = "en"
LOCALE = Path(__file__).resolve().parent / "locale"
DOMAIN = "autograder"
CAUSE = "Likely cause: "            # the English prefix of a named mistake (audit, class report)

_current = DEFAULT
_catalogs: dict[tuple[str, str], "Catalog"] = {}


# ----------------------------------------------------------------------------- the language

def set_language(lang: str | None) -> str:
    """Make `lang` the language of every message from now on; returns the previous one."""
    global _current
    lang = lang or DEFAULT
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}")
    previous, _current = _current, lang
    return previous


def current() -> str:
    return _current


@contextmanager
def language(lang: str | None):
    """`lang` while the block runs (then the previous language again)."""
    previous = set_language(lang)
    try:
        yield
    finally:
        set_language(previous)


# ----------------------------------------------------------------------------- lookups

def _(message: str) -> str:
    """The translation of a literal English message (extracted by tests/test_i18n.py)."""
    return catalog(_current).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalog(_current).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return catalog(_current).pgettext(context, message)


def N_(message: str) -> str:
    """Marks a literal for extraction without translating it (a constant shown later)."""
    return message


def gettext(message: str, lang: str | None = None) -> str:
    """The translation of a text that is data, not a literal in the code (a known mistake's
    message, a check's title): unchanged when the catalog has none."""
    return catalog(lang or _current).gettext(message)


CAUSE_LABEL = N_("Likely cause: {cause}")
_CAUSE_LINE = re.compile(re.escape(CAUSE) + r"(?P<text>[^\n]*)")


def localize_causes(text: str, lang: str | None = None) -> str:
    """`text` with each "Likely cause: <message>" line in the language: the label always,
    the message when the catalog has it (judges write these lines themselves)."""
    lang = lang or _current
    if lang == "en" or CAUSE not in text:
        return text
    books = catalog(lang)
    label = books.gettext(CAUSE_LABEL)
    return _CAUSE_LINE.sub(lambda m: label.format(cause=books.gettext(m["text"])), text)


def translations(message: str) -> list[str]:
    """The message as every language writes it, English first (to read a text back)."""
    out = [message]
    for lang in LANGS:
        text = catalog(lang).gettext(message)
        if text not in out:
            out.append(text)
    return out


def catalog(lang: str, domain: str = DOMAIN, locale: Path | None = None) -> "Catalog":
    """The language's catalog of `domain` (empty for English or a missing file), cached."""
    key = (lang, domain) if locale is None else (lang, f"{domain}@{locale}")
    if key not in _catalogs:
        path = (locale or LOCALE) / lang / "LC_MESSAGES" / f"{domain}.po"
        _catalogs[key] = Catalog.from_po(path.read_text(encoding="utf-8")) \
            if lang != "en" and path.exists() else Catalog([])
    return _catalogs[key]


# ----------------------------------------------------------------------------- .po files

@dataclass
class Entry:
    msgid: str
    msgstr: list[str] = field(default_factory=lambda: [""])   # one, or one per plural form
    context: str | None = None
    plural: str | None = None
    flags: set[str] = field(default_factory=set)
    comments: list[str] = field(default_factory=list)         # "#." and "#:" lines, as written
    line: int = 0

    @property
    def key(self) -> tuple[str | None, str]:
        return self.context, self.msgid

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translated(self) -> bool:
        return not self.fuzzy and all(self.msgstr)


class PoError(ValueError):
    """A .po file this reader cannot read; names the line."""


_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "a": "\a", "b": "\b",
            "f": "\f", "v": "\v"}


def _unquote(text: str, line: int) -> str:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise PoError(f"line {line}: expected a quoted string, got {text!r}")
    out, body, i = [], text[1:-1], 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            if i + 1 >= len(body) or body[i + 1] not in _ESCAPES:
                raise PoError(f"line {line}: unknown escape in {text!r}")
            out.append(_ESCAPES[body[i + 1]])
            i += 2
        elif c == '"':
            raise PoError(f"line {line}: unescaped quote in {text!r}")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def read_po(text: str) -> list[Entry]:
    """The entries of a .po file, the header (msgid "") included; obsolete ones ("#~") left out."""
    entries: list[Entry] = []
    flags: set[str] = set()
    comments: list[str] = []
    fields: dict[str, str] = {}
    target: str | None = None
    start = 0

    def finish():
        nonlocal fields, flags, comments
        if fields:
            if "msgid" not in fields:
                raise PoError(f"line {start}: an entry without msgid")
            forms = sorted((k for k in fields if k.startswith("msgstr")),
                           key=lambda k: int(k[7:-1]) if "[" in k else 0)
            entries.append(Entry(fields["msgid"], [fields[k] for k in forms] or [""],
                                 fields.get("msgctxt"), fields.get("msgid_plural"), flags,
                                 comments, start))
        fields, flags, comments = {}, set(), []

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if fields and target is not None and any(k.startswith("msgstr") for k in fields):
                finish()
                target = None
            if line.startswith("#,"):
                flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            elif line.startswith(("#.", "#:")):
                comments.append(line)
            continue
        m = _KEYWORD.match(line)
        if m:
            keyword = m[1]
            if keyword in ("msgctxt", "msgid") and any(k.startswith("msgstr") for k in fields):
                finish()
            if not fields:
                start = number
            if keyword in fields:
                raise PoError(f"line {number}: {keyword} twice in one entry")
            fields[keyword] = _unquote(m[3], number)
            target = keyword
        elif line.startswith('"') and target is not None:
            fields[target] += _unquote(line, number)
        else:
            raise PoError(f"line {number}: cannot read {raw!r}")
    finish()
    return entries


def header(entries: list[Entry]) -> dict[str, str]:
    head = next((e for e in entries if e.msgid == "" and e.context is None), None)
    out = {}
    for line in (head.msgstr[0] if head else "").splitlines():
        name, _sep, value = line.partition(":")
        if _sep:
            out[name.strip()] = value.strip()
    return out


class Catalog(_gettext.NullTranslations):
    """A .po file's translations, with the standard gettext API (fuzzy and empty ones left out)."""

    def __init__(self, entries: list[Entry]):
        super().__init__()
        self._messages: dict[tuple[str | None, str], list[str]] = {
            e.key: e.msgstr for e in entries if e.msgid and e.translated}
        forms = header(entries).get("Plural-Forms", "")
        m = re.search(r"plural\s*=\s*([^;]+)", forms)
        self._plural = _gettext.c2py(m[1].strip()) if m else (lambda n: int(n != 1))

    @classmethod
    def from_po(cls, text: str) -> "Catalog":
        return cls(read_po(text))

    def __contains__(self, key) -> bool:
        return (key if isinstance(key, tuple) else (None, key)) in self._messages

    def gettext(self, message: str) -> str:
        found = self._messages.get((None, message))
        return found[0] if found else message

    def pgettext(self, context: str, message: str) -> str:
        found = self._messages.get((context, message))
        return found[0] if found else message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        found = self._messages.get((None, singular))
        if not found or len(found) < 2:
            return singular if n == 1 else plural
        return found[min(self._plural(n), len(found) - 1)]

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        found = self._messages.get((context, singular))
        if not found or len(found) < 2:
            return singular if n == 1 else plural
        return found[min(self._plural(n), len(found) - 1)]
