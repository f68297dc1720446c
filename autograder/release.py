"""The student kit: what students download, with nothing hidden in it.

    python -m autograder release OUT_DIR [--lang en|ru]

writes

    OUT_DIR/assignments/NN_topic/    stubs (generated from solutions/), notebooks, public checks
    OUT_DIR/coursecheck/             the student's checker: `python -m coursecheck check TOPIC`
                                     works from OUT_DIR as it is
    OUT_DIR/dist/coursecheck-*.whl   the same package as a wheel, for `pip install` (notebooks, Colab)
    OUT_DIR/README.md, kit.json      how to use it; what was built, from what

The checker is `kit/coursecheck/` (its own modules: the command line, the runner)
plus the grader's modules that import only torch and the standard library,
copied unchanged (SHARED), so a public case reads as it does in the grader's
feedback; guard.py and sandbox.py there are placeholders (no sandbox on the
student's side). Expected values come from PyTorch's built-ins
(autograder/torch_refs/), and "Likely cause" from the known mistakes' outputs on
the public inputs (likely_causes.py), shipped as data. Nothing from solutions/
or autograder/hidden/ ships: tests/test_kit.py searches every built file for
every solution line and every hidden check's id.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import i18n, stubs, wire
from .checks import collect
from .config import Config
from .topics import ROOT, TAMPER, TOPICS

PACKAGE = "coursecheck"
KIT_VERSION = "1.0"
LANGS = ("en", "ru")
SHARED = ("checks.py", "compare.py", "config.py", "forbidden.py", "i18n.py", "impl.py", "local_run.py",
          "outcome.py", "messages.py", "report.py", "scoring.py", "testfns.py", "verdicts.py", "wire.py",
          "worker.py")
# Text in shipped files that names the grader: (old, new), applied to public checks and notebooks.
RENAMES = (("from autograder.checks import", f"from {PACKAGE}.checks import"),
           ("python -m autograder check", f"python -m {PACKAGE} check"),
           ("autograder/testfns.py", f"{PACKAGE}/testfns.py"))
IMPORTS_GRADER = re.compile(r"^\s*(from|import)\s+autograder\b", re.M)


class ReleaseError(Exception):
    """The kit cannot be built as asked; `status` is the command's exit status."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Kit:
    root: Path
    wheel: Path
    version: str
    files: int
    lang: str
    notes: tuple[str, ...]


def build(out: Path, lang: str = "en", root: Path = ROOT, base_seed: int = Config.base_seed) -> Kit:
    """Build the kit into `out` (absent, empty, or an earlier kit, which is replaced)."""
    if lang not in LANGS:
        raise ReleaseError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}", 2)
    out = out.resolve()
    if out.exists() and any(out.iterdir()) and not (out / "kit.json").exists():
        raise ReleaseError(f"{out} is not empty and holds no earlier kit; name a new folder", 2)
    drift = stubs.check(root)
    if drift:
        raise ReleaseError(f"{len(drift)} stub(s) differ from their solutions: run "
                           "`python -m autograder stubs` first\n" + "\n".join(drift))
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    stage.chmod(0o755)                       # mkdtemp's 0700 would follow the kit when shared
    try:
        with i18n.language(lang):
            plan, untranslated = _copy_assignments(root, stage, lang)
            _write_package(root, stage / PACKAGE, plan, base_seed, lang)
            version = f"{KIT_VERSION}+g{_digest(stage / PACKAGE)[:10]}"
            wheel = write_wheel(stage / PACKAGE, stage / "dist", version)
            _write_readme(stage, wheel.name)
        notes = _language_notes(lang, untranslated)
        files = sum(1 for p in stage.rglob("*") if p.is_file()) + 1
        manifest = {"kit_version": version, "lang": lang, "lang_requested": lang, "notes": list(notes),
                    "base_seed": base_seed, "wheel": f"dist/{wheel.name}",
                    "topics": {t.name: t.folder for t in TOPICS.values()}}
        (stage / "kit.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        stage.rename(out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return Kit(out, out / "dist" / wheel.name, version, files, lang, notes)


def _language_notes(lang: str, untranslated: list[str]) -> tuple[str, ...]:
    """For the instructor: what the kit still shows in English (autograder/catalog.py's FULL)."""
    if lang == "en" or not untranslated:
        return ()
    return (f"{len(untranslated)} docstring(s) and notebook cell(s) have no {lang} translation yet "
            f"and stay in English ({', '.join(sorted(set(u.split(':')[0] for u in untranslated)))}); "
            "python -m autograder.catalog check lists what is missing",)


# ----------------------------------------------------------------------------- assignments

def _copy_assignments(root: Path, stage: Path, lang: str = "en") -> tuple[dict, list[str]]:
    """Every topic's folder, stubs generated from solutions/ (docstrings and notebooks' prose
    in `lang`); the topics' public checks, and what has no translation (msgctxt's)."""
    plan, untranslated = {}, []
    for topic in TOPICS.values():
        source = topic.assignment_dir(root)
        if not source.is_dir():
            continue
        target = stage / "assignments" / topic.folder
        target.mkdir(parents=True)
        for path in sorted(source.iterdir()):
            if not path.is_file() or path.name.startswith(".") or path.suffix in (".pyc", ".pyo"):
                continue
            if path.name == topic.filename and topic.solution_path(root).exists():
                text = stubs.make_stub(topic.solution_path(root).read_text(encoding="utf-8"), path.name)
                if lang != "en":
                    text, missing = localized_docstrings(text, f"{topic.folder}/{path.name}", lang)
                    untranslated += missing
                (target / path.name).write_text(text, encoding="utf-8")
            elif path.suffix in (".py", ".ipynb", ".md", ".txt"):
                text = path.read_text(encoding="utf-8")
                if lang != "en" and path.suffix == ".ipynb":
                    text, missing = localized_notebook(text, f"{topic.folder}/{path.name}", lang)
                    untranslated += missing
                text = _renamed(text)
                if path.suffix == ".py" and IMPORTS_GRADER.search(text):
                    raise ReleaseError(f"{path} imports the grader (autograder), which the kit "
                                       "does not ship; import from autograder.checks only")
                (target / path.name).write_text(text, encoding="utf-8")
            else:
                shutil.copyfile(path, target / path.name)
        public = source / "public_checks.py"
        if public.exists():
            plan[topic.name] = collect(_load(public, f"ag_release_{topic.name}"))
    return plan, untranslated


def localized_docstrings(source: str, prefix: str, lang: str) -> tuple[str, list[str]]:
    """`source` with each docstring the assignments catalog translates (msgctxt
    "<prefix>:<qualified name>") replaced, indented as the original; and the contexts
    left in English."""
    from .catalog import clean, docstrings
    books = i18n.catalog(lang, "assignments")
    lines = source.splitlines(keepends=True)
    missing = []
    for qualname, node in sorted(docstrings(source), key=lambda d: -d[1].lineno):
        context = f"{prefix}:{qualname}"
        english = clean(node.value)
        text = books.pgettext(context, english)
        if text == english:
            missing.append(context)
            continue
        first = lines[node.lineno - 1].encode()
        last = lines[node.end_lineno - 1].encode()
        head, tail = first[:node.col_offset].decode(), last[node.end_col_offset:].decode()
        indent = " " * node.col_offset
        body = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').splitlines()
        literal = '"""' + body[0] + "".join("\n" + (indent + b if b.strip() else "") for b in body[1:]) \
            + (("\n" + indent) if len(body) > 1 else "") + '"""'
        lines[node.lineno - 1:node.end_lineno] = [head + literal + tail]
    return "".join(lines), missing


def localized_notebook(text: str, context: str, lang: str) -> tuple[str, list[str]]:
    """The notebook with each markdown cell the catalog translates (msgctxt: the notebook's
    path in assignments/) in `lang`; code cells as they are. And the cells left in English."""
    books = i18n.catalog(lang, "assignments")
    notebook = json.loads(text)
    missing = []
    for number, cell in enumerate(notebook["cells"]):
        if cell.get("cell_type") != "markdown":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        translated = books.pgettext(context, source)
        if translated == source:
            missing.append(f"{context}:cell {number}")
            continue
        cell["source"] = translated.splitlines(keepends=True)
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", missing


def _renamed(text: str) -> str:
    for old, new in RENAMES:
        text = text.replace(old, new)
    return text


def _load(path: Path, name: str):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- the package

def _write_package(root: Path, target: Path, plan: dict, base_seed: int, lang: str = "en") -> None:
    from .likely_causes import public_mistakes
    shutil.copytree(root / "kit" / PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in SHARED:
        if (target / name).exists():
            raise ReleaseError(f"kit/{PACKAGE}/{name} would shadow the grader's shared {name}")
        shutil.copyfile(root / "autograder" / name, target / name)
    refs = target / "torch_refs"
    refs.mkdir()
    for path in sorted((root / "autograder" / "torch_refs").glob("*.py")):
        shutil.copyfile(path, refs / path.name)
    for name, topic_checks in plan.items():
        module = TOPICS[name].module
        if any(c.judge is None for c in topic_checks.checks) and not (refs / f"{module}.py").exists():
            raise ReleaseError(f"public checks of {name} compare with a reference, but "
                               f"autograder/torch_refs/{module}.py does not exist")
    course = {"base_seed": base_seed, "tamper": list(TAMPER), "lang": lang,
              "topics": [{"name": t.name, "folder": t.folder, "module": t.module,
                          "forbidden": list(t.forbidden), "stand_ins": dict(t.stand_ins),
                          "timeout": t.timeout}
                         for t in TOPICS.values()]}
    (target / "course.json").write_text(json.dumps(course, indent=1) + "\n", encoding="utf-8")
    known = public_mistakes(plan, base_seed, root)
    (target / "mistakes.bin").write_bytes(wire.dumps({"base_seed": base_seed, "checks": known}))
    _write_catalogs(target, plan, known)


def _write_catalogs(target: Path, plan: dict, known: dict) -> None:
    """The checker's catalogs: every language's, cut down to what the kit shows (its own
    messages, the public checks' titles, the shipped mistakes' messages), so that no hidden
    check's title or grader-only text ships."""
    from .catalog import TITLES, code_messages_in, format_po, po_path
    wanted = set(code_messages_in(target))
    wanted |= {(None, c.title) for checks in plan.values() for c in checks.checks}
    wanted |= {(None, m["message"]) for entries in known.values() for m in entries}
    for lang in i18n.LANGS:
        source = po_path(lang, i18n.DOMAIN)
        if lang == "en" or not source.exists():
            continue
        entries = [e for e in i18n.read_po(source.read_text(encoding="utf-8"))
                   if e.msgid and e.key in wanted]
        for e in entries:
            e.comments = []
        path = po_path(lang, i18n.DOMAIN, target / "locale")
        path.parent.mkdir(parents=True)
        path.write_text(format_po(entries, lang, TITLES[i18n.DOMAIN]), encoding="utf-8")


def _package_files(package: Path) -> list[tuple[str, bytes]]:
    return [(p.relative_to(package.parent).as_posix(), p.read_bytes())
            for p in sorted(package.rglob("*")) if p.is_file() and "__pycache__" not in p.parts]


def _digest(package: Path) -> str:
    h = hashlib.sha256()
    for name, data in _package_files(package):
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def write_wheel(package: Path, dist: Path, version: str) -> Path:
    """A pure-Python wheel of `package`, written directly (no build backend needed)."""
    info = f"{PACKAGE}-{version}.dist-info"
    metadata = (f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {version}\n"
                "Summary: Public checks of the course 'Modern deep learning', run on your own code\n"
                "Requires-Python: >=3.10\nRequires-Dist: torch>=2.0\n")
    wheel = "Wheel-Version: 1.0\nGenerator: autograder release\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    entry = f"[console_scripts]\n{PACKAGE} = {PACKAGE}.cli:main\n"
    files = _package_files(package) + [(f"{info}/METADATA", metadata.encode()),
                                       (f"{info}/WHEEL", wheel.encode()),
                                       (f"{info}/entry_points.txt", entry.encode())]
    record = io.StringIO()
    for name, data in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.write(f"{name},sha256={digest},{len(data)}\n")
    record.write(f"{info}/RECORD,,\n")
    files.append((f"{info}/RECORD", record.getvalue().encode()))
    dist.mkdir(parents=True, exist_ok=True)
    path = dist / f"{PACKAGE}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            entry_info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry_info.external_attr = 0o644 << 16
            entry_info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry_info, data)
    return path


# ----------------------------------------------------------------------------- README

def _write_readme(stage: Path, wheel: str) -> None:
    """The kit's README, in the language release runs in (i18n.language)."""
    _ = i18n._
    topics = ", ".join(TOPICS)
    lines = [
        _("# Modern deep learning: homework kit"),
        "",
        _("Each topic is a folder in `assignments/`: the module you complete (every\n"
          "`raise NotImplementedError(\"Task ...\")` between `# ===== YOUR CODE` fences), a notebook\n"
          "that explains the idea and runs an experiment on your code, and `public_checks.py`."),
        "",
        _("## Install the checker (once)"),
        "",
        _("Python 3.10 or later with PyTorch 2.x (Linux, macOS, Windows, Colab). From this folder:"),
        "",
        "```",
        f"pip install dist/{wheel}",
        "```",
        "",
        _("(on Colab: `!pip install dist/{wheel}` after uploading this folder). Without installing,\n"
          "the command below also works when run from this folder.").format(wheel=wheel),
        "",
        _("## Check your work"),
        "",
        _("From this folder (or any folder inside it):"),
        "",
        "```",
        _("python -m {package} check normalization      # or: {topics}").format(package=PACKAGE, topics=topics),
        "```",
        "",
        _("or in a notebook cell:"),
        "",
        "```",
        f'from {PACKAGE} import check; check("normalization")',
        "```",
        "",
        _("(a notebook outside this folder, as on Colab, names it: "
          "`check(\"normalization\", root=\"/content/kit\")`)."),
        "",
        _("Each check prints PASS or FAIL; a failed one says what differs, where and by how much,\n"
          "the likely cause when it is a known mistake, and the command that runs it alone\n"
          "(`--only NAME`). Your code runs in your own Python process and is compared with\n"
          "PyTorch's built-ins on the same inputs. Passing the public checks is a good sign, not\n"
          "a guarantee: the hidden checks try more shapes, dtypes, devices and edge cases, and\n"
          "the grader blocks the built-ins a topic forbids (here they are only found in your source)."),
        "",
    ]
    (stage / "README.md").write_text("\n".join(lines), encoding="utf-8")
