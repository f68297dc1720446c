"""The student kit (`python -m autograder release`): nothing hidden in it, and its checker
works where students are: installed from the wheel into a fresh venv, on the stubs
as shipped and on the reference solutions, without Unix-only modules, from a
notebook cell."""
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import torch

from autograder import likely_causes, release, stubs, variants
from autograder.batch import hidden_plan, public_plan
from autograder.i18n import read_po
from autograder.checks import collect
from autograder.cli import main as cli_main
from autograder.topics import ROOT, TOPICS

# Lines of the course's own notebooks (teaching code, public before any kit existed) that
# a solution region happens to use too. Anything else found in the kit is a leak.
NOTEBOOK_LINES = {
    ("assignments/03_normalization/normalization.ipynb", "return nn.Sequential(*layers)"),
    ("assignments/03_normalization/normalization.ipynb", "start = time.perf_counter()"),
    ("assignments/04_dropout/dropout.ipynb", "return nn.Sequential(*layers)"),
    ("assignments/07_capstone/train.ipynb", "start = time.perf_counter()"),
    ("assignments/07_capstone/train.ipynb", "batch = order[i:i + batch_size]"),
}
BLOCKED = ("resource", "fcntl", "autograder")
N_PUBLIC = len(public_plan(("normalization",))["normalization"].checks)   # normalization's public checks


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return release.build(tmp_path_factory.mktemp("release") / "kit")


def public_points(root: Path) -> float:
    total = 0.0
    for topic in TOPICS.values():
        path = topic.assignment_dir(root) / "public_checks.py"
        if path.exists():
            total += sum(c.points for c in collect(release._load(path, f"test_kit_{topic.name}")).checks)
    return total


# ----------------------------------------------------------------------------- what ships

def region_lines(source: str) -> list[str]:
    """Stripped lines between `# BEGIN SOLUTION` and `# END SOLUTION` (stubs.py's markers)."""
    out, inside = [], False
    for line in source.splitlines():
        if stubs.BEGIN.match(line):
            inside = True
        elif stubs.END.match(line):
            inside = False
        elif inside:
            out.append(line.strip())
    return out


def secrets() -> tuple[dict[str, str], set[str]]:
    """{line: where it comes from} for every solution-region line and every known-mistake patch
    line of 25+ characters that the generated stubs do not show anyway (docstrings that spell
    out a formula are written outside the regions, on purpose); and the hidden-only check ids."""
    shown = "\n".join(stubs.make_stub(p.read_text(), p.name) for p in (ROOT / "solutions").rglob("*.py"))
    found = {}
    for path in sorted((ROOT / "solutions").rglob("*.py")):
        for line in region_lines(path.read_text()):
            found.setdefault(line, f"solution region of {path.relative_to(ROOT)}")
    hidden_ids, public_ids = set(), set()
    for topic in TOPICS.values():
        hidden = collect(__import__(topic.hidden_module, fromlist=["CHECKS"]))
        hidden_ids |= {c.id for c in hidden.checks}
        for variant in variants.of_topic(topic.name):
            # the reference text every patch quotes, and the new text of a known mistake (its
            # likely cause is shipped, never its code) or of a correct variant (a solution);
            # a plain import line gives nothing away
            for old, new in variant.patch:
                text = old + ("\n" + new if variant.kind in ("mistake", "correct") else "")
                for line in text.splitlines():
                    if not line.strip().startswith(("import ", "from ")):
                        found.setdefault(line.strip(), f"patch of {variant.kind} {variant.name!r}")
        path = topic.assignment_dir() / "public_checks.py"
        if path.exists():
            public_ids |= {c.id for c in collect(release._load(path, f"test_kit_ids_{topic.name}")).checks}
    lines = {line: src for line, src in found.items() if len(line) >= 25 and line not in shown}
    return lines, hidden_ids - public_ids


def kit_texts(kit_root: Path):
    """(name, text) of every file in the kit; a wheel's members one by one, a notebook's cells."""
    for path in sorted(p for p in kit_root.rglob("*") if p.is_file()):
        rel = path.relative_to(kit_root).as_posix()
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as wheel:
                for member in wheel.namelist():
                    yield f"{rel}!{member}", wheel.read(member).decode("utf-8", "replace")
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        if path.suffix == ".ipynb":
            cells = json.loads(text)["cells"]
            text += "\n" + "\n".join("".join(c.get("source", [])) for c in cells)
        yield rel, text


def test_no_solution_line_patch_or_hidden_check_id_is_in_any_file_of_the_kit(kit):
    lines, hidden_only = secrets()
    assert len(lines) > 150 and len(hidden_only) > 100          # the search has something to find
    ids = [re.compile(re.escape(i) + r"(?![\w])") for i in sorted(hidden_only)]
    hits = []
    for name, text in kit_texts(kit.root):
        hits += [f"{name}: {src}: {line}" for line, src in lines.items()
                 if line in text and (name, line) not in NOTEBOOK_LINES]
        hits += [f"{name}: hidden check id {i.pattern}" for i in ids if i.search(text)]
    assert not hits, "\n".join(hits)


def test_the_kit_holds_stubs_notebooks_public_checks_and_the_checker_and_no_grader(kit):
    for topic in TOPICS.values():
        folder = kit.root / "assignments" / topic.folder
        assert (folder / topic.filename).read_text() == stubs.make_stub(
            topic.solution_path().read_text(), topic.filename)
        assert (folder / "public_checks.py").exists() and list(folder.glob("*.ipynb"))
    names = {p.name for p in (kit.root / "coursecheck").iterdir()}
    assert {"cli.py", "runner.py", "course.json", "mistakes.bin", "torch_refs"} <= names
    assert not {"grader.py", "batch.py", "audit.py", "reference.py", "isolation.py", "launch.py",
                "zygote.py", "release.py", "likely_causes.py", "hidden", "solutions"} & names
    for name, text in kit_texts(kit.root):
        assert not re.search(r"^\s*(from|import)\s+autograder\b", text, re.M), name
        assert not re.search(r"^\s*(from|import)\s+(resource|fcntl)\b|unshare\(", text, re.M), name
    with zipfile.ZipFile(kit.wheel) as wheel:
        members = set(wheel.namelist())
    assert {f"coursecheck/{n}" for n in ("__init__.py", "runner.py", "mistakes.bin")} <= members
    readme = (kit.root / "README.md").read_text()
    assert f"pip install dist/{kit.wheel.name}" in readme and 'check("normalization")' in readme


def test_a_russian_kit_has_russian_stubs_notebooks_readme_and_checker_messages(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(likely_causes, "public_mistakes", lambda *a, **k: {})   # not what is tested
    assert cli_main(["release", str(tmp_path / "ru"), "--lang", "ru"]) == 0
    kit_root = tmp_path / "ru"
    manifest = json.loads((kit_root / "kit.json").read_text())
    assert manifest["lang_requested"] == "ru" and manifest["lang"] == "ru"
    assert manifest["notes"] == []                            # every topic is translated
    assert "stay in English" not in capsys.readouterr().err
    readme = (kit_root / "README.md").read_text()
    assert readme.startswith("# Современное глубокое обучение") and "pip install dist/" in readme
    stub = (kit_root / "assignments" / "03_normalization" / "normalization.py").read_text()
    assert "Батч-нормализация, в точности как torch.nn.functional.batch_norm." in stub
    assert 'raise NotImplementedError("Task 3.1: batch_norm in normalization.py")' in stub
    notebook = json.loads((kit_root / "assignments" / "04_dropout" / "dropout.ipynb").read_text())
    assert "".join(notebook["cells"][0]["source"]).startswith("# Тема 4: дропаут")
    assert json.loads((kit_root / "coursecheck" / "course.json").read_text())["lang"] == "ru"
    shipped = (kit_root / "coursecheck" / "locale" / "ru" / "LC_MESSAGES" / "autograder.po").read_text()
    assert 'msgstr "Открытые проверки вашего кода:"' in shipped
    hidden = [c.title for tc in hidden_plan().values() for c in tc.checks]
    public = {c.title for tc in public_plan().values() for c in tc.checks}
    ids = {e.msgid for e in read_po(shipped)}
    assert public <= ids and not [t for t in hidden if t not in public and t in ids]   # no hidden title


def test_the_checker_speaks_russian(kit, kit_runner, tmp_path):
    shutil.copytree(kit.root / "assignments", tmp_path / "assignments")
    bob = ROOT / "examples" / "submissions" / "bob" / "normalization.py"    # biased running_var
    shutil.copy(bob, tmp_path / "assignments" / "03_normalization" / "normalization.py")
    text = kit_runner.run(["normalization"], root=tmp_path, lang="ru")
    assert text.startswith("Открытые проверки вашего кода:")
    assert "Вероятная причина: running_var обновлялась смещённой дисперсией" in text
    assert "running_var отличается от ожидаемого значения." in text
    assert "Запустить отдельно: python -m coursecheck check normalization --only" in text
    assert "Likely cause" not in text


def test_release_refuses_a_folder_that_holds_something_else(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(release.ReleaseError) as error:
        release.build(tmp_path)
    assert error.value.status == 2 and (tmp_path / "notes.txt").exists()


def interpreter(version: str) -> str | None:
    """A working python<version>: on PATH, or one of pyenv's installed versions."""
    found = [shutil.which(f"python{version}")]
    found += sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{version}*/bin/python{version}"))
    for python in filter(None, found):
        if subprocess.run([python, "--version"], capture_output=True).returncode == 0:
            return python
    return None


@pytest.mark.parametrize("version", ["3.10", "3.12"])
def test_the_checker_compiles_on_python(kit, version):
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no python{version} here")
    files = [str(p) for p in (kit.root / "coursecheck").rglob("*.py")]
    code = "import sys\nfor f in sys.argv[1:]:\n    compile(open(f, encoding='utf-8').read(), f, 'exec')"
    result = subprocess.run([python, "-c", code, *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------------------- feedback

@pytest.fixture
def kit_runner(kit):
    """The kit's runner module, imported from the kit folder into this process, then forgotten."""
    sys.path.insert(0, str(kit.root))
    try:
        from coursecheck import runner
        yield runner
    finally:
        sys.path.remove(str(kit.root))
        for name in [n for n in sys.modules if n == "coursecheck" or n.startswith("coursecheck.")]:
            del sys.modules[name]


def test_a_known_mistake_is_named_and_the_failed_check_can_be_run_alone(kit, kit_runner, tmp_path):
    shutil.copytree(kit.root / "assignments", tmp_path / "assignments")
    bob = ROOT / "examples" / "submissions" / "bob" / "normalization.py"    # biased running_var
    shutil.copy(bob, tmp_path / "assignments" / "03_normalization" / "normalization.py")
    text = kit_runner.run(["normalization"], root=tmp_path)
    assert "running_var differs from the expected value." in text
    assert "greatest difference at index (2,)" in text and "tolerance 1e-05" in text
    assert "Likely cause: running_var was updated with the biased variance" in text
    assert "Run it alone: python -m coursecheck check normalization --only batch_norm_train --device cpu" in text
    alone = kit_runner.run(["normalization"], root=tmp_path, only=["batch_norm_train"])
    # one check, one line: under its likely cause, indented (report.feedback groups by cause)
    assert [line.strip()[:11] for line in alone.splitlines() if line.strip().startswith("[")] == ["[     FAIL]"]
    assert "0 / 1 points" in alone


def test_a_notebook_s_earlier_import_is_not_what_gets_checked_and_is_put_back(kit, kit_runner, tmp_path):
    shutil.copytree(kit.root / "assignments", tmp_path / "assignments")
    shutil.copy(TOPICS["normalization"].solution_path(), tmp_path / "assignments" / "03_normalization")
    stale = type(sys)("normalization")                  # what `import normalization` gave earlier
    sys.modules["normalization"] = stale
    threads = torch.get_num_threads()
    try:
        text = kit_runner.run(["normalization"], root=tmp_path)
        assert sys.modules["normalization"] is stale and torch.get_num_threads() == threads
    finally:
        del sys.modules["normalization"]
    assert text.startswith(f"Public checks on your code: {N_PUBLIC} / {N_PUBLIC} points (100.0%)"), text


def test_a_call_past_the_graders_limit_gets_a_notice(kit_runner, capsys):
    check = collect(release._load(TOPICS["normalization"].assignment_dir() / "public_checks.py",
                                  "test_kit_notice")).checks[0]
    local_run = importlib.import_module("coursecheck.local_run")   # shared with `autograder check`
    with local_run.slow_notice(check, 0.05):
        import time
        time.sleep(0.3)
    err = capsys.readouterr().err
    assert "normalization/batch_norm_train is still running after 0.05 s" in err and "Ctrl-C" in err


# ----------------------------------------------------------------------------- where students are

@pytest.fixture(scope="module")
def venv(kit, tmp_path_factory):
    """A fresh venv with the kit's wheel installed by pip, offline, and torch from this one."""
    folder = tmp_path_factory.mktemp("venv") / "student"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(folder)],
                   check=True)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # This test's interpreter is itself a venv, so --system-site-packages reaches a Python
    # without torch: point the new venv at the folder torch is installed in (no download).
    Path(site, "torch_from_test_venv.pth").write_text(str(Path(torch.__file__).parents[1]) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", str(kit.wheel)], check=True)
    return python


@pytest.fixture(scope="module")
def reference_copy(kit, tmp_path_factory):
    """The kit's assignments/ with every stub replaced by its reference solution."""
    work = tmp_path_factory.mktemp("reference")
    shutil.copytree(kit.root / "assignments", work / "assignments")
    for topic in TOPICS.values():
        shutil.copy(topic.solution_path(), work / "assignments" / topic.folder / topic.filename)
    return work


def student_run(python, args, cwd, code=None):
    command = [str(python), "-c", code] if code else [str(python), "-m", "coursecheck", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": ""})


@pytest.mark.slow
def test_installed_checker_on_the_stubs_gives_zero_and_says_not_attempted(kit, venv, tmp_path):
    shutil.copytree(kit.root / "assignments", tmp_path / "assignments")     # the wheel, not kit/coursecheck
    result = student_run(venv, ["check", "normalization"], cwd=tmp_path / "assignments" / "03_normalization")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"Public checks on your code: 0 / {N_PUBLIC} points (0.0%)"), out
    checks = [line for line in out.splitlines() if line.startswith("[")]
    assert len(checks) == N_PUBLIC and all(line.startswith("[     TODO]") for line in checks), out
    assert out.count("Not attempted yet (Task 3.") == N_PUBLIC
    assert out.count("Run it alone: python -m coursecheck check normalization --only ") == N_PUBLIC


@pytest.mark.slow
def test_installed_checker_gives_full_marks_to_the_reference_solutions(venv, reference_copy, tmp_path):
    result = student_run(venv, ["check", "--root", str(reference_copy)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    total = public_points(ROOT)              # the same checks as the kit's, read from the repository
    assert result.stdout.startswith(f"Public checks on your code: {total:g} / {total:g} points (100.0%)"), \
        result.stdout
    assert all(line.startswith(("[     PASS]", "[     SKIP]"))
               for line in result.stdout.splitlines() if line.startswith("[")), result.stdout


BLOCKER = textwrap.dedent("""
    import os, sys
    BLOCKED = {blocked!r}
    def _importer():
        frame = sys._getframe(2)
        while frame and ("importlib" in frame.f_code.co_filename or "<frozen" in frame.f_code.co_filename):
            frame = frame.f_back
        return frame.f_code.co_filename if frame else ""
    class Block:
        # Python's own modules import fcntl where the platform has it (subprocess, which torch
        # imports): allowed. The checker and the student's code may not import any of BLOCKED.
        def find_spec(self, name, path=None, target=None):
            where = _importer()
            top = name.split(".")[0]
            own = where.startswith(sys.base_prefix) or os.sep + "torch" + os.sep in where
            if top in BLOCKED and (top == "autograder" or not own):
                raise ImportError(f"{{name}} is blocked (imported from {{where}})")
            return None
    sys.meta_path.insert(0, Block())
    for name in BLOCKED:
        sys.modules.pop(name, None)
    def _no_unshare(*args, **kwargs):
        raise OSError("unshare is blocked")
    os.unshare = _no_unshare
""").format(blocked=BLOCKED)


@pytest.mark.slow
def test_checker_runs_with_resource_fcntl_unshare_and_the_grader_blocked(venv, reference_copy):
    code = BLOCKER + textwrap.dedent("""
        from coursecheck.cli import main
        status = main(["check", "normalization"])
        assert "resource" not in sys.modules and "autograder" not in sys.modules
        sys.exit(status)
    """)
    result = student_run(venv, [], cwd=reference_copy, code=code)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"Public checks on your code: {N_PUBLIC} / {N_PUBLIC} points (100.0%)"), result.stdout


@pytest.mark.slow
def test_one_line_in_a_notebook_cell_prints_the_feedback(venv, reference_copy):
    folder = reference_copy / "assignments" / "03_normalization"          # a notebook's own folder
    result = student_run(venv, [], cwd=folder, code='from coursecheck import check; check("normalization")')
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Public checks on your code: {N_PUBLIC} / {N_PUBLIC} points (100.0%)"), result.stdout
    assert "[     PASS] batch_norm, training, (N, C): output and running statistics." in result.stdout
