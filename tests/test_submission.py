"""submission.py: folder, .zip or notebooks in; the student's source files out.

Loading never raises for bad student input: problems become sentences, and
nothing from an archive is ever written to disk.
"""
import io
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest

from autograder import submission
from autograder.submission import MAX_FILE_BYTES, discover, load, notebook_source

NORM = "normalization.py"
SOURCE = "import torch\n\n\ndef batch_norm(x):\n    return x\n"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def make_zip(path: Path, members: dict) -> Path:
    """members: name -> text, or name -> (ZipInfo-adjusting function, text)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            if isinstance(content, tuple):
                adjust, content = content
                adjust(info)
            zf.writestr(info, content)
    return path


def nb(*cells) -> str:
    """A notebook from (cell_type, source) pairs."""
    return json.dumps({"cells": [{"cell_type": kind, "metadata": {}, "source": src,
                                  **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                                 for kind, src in cells],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def problems_text(sub) -> str:
    return "\n".join(sub.problems)


# ----------------------------------------------------------------------------- layouts

def test_flat_folder_gives_its_course_file(tmp_path):
    write(tmp_path / "alice" / NORM, SOURCE)
    write(tmp_path / "alice" / "notes.txt", "hello")
    sub = load(tmp_path / "alice")
    assert sub.name == "alice"
    assert sub.files == {NORM: SOURCE}
    assert sub.problems == []


def test_assignments_tree_is_searched_by_file_name(tmp_path):
    write(tmp_path / "bob" / "assignments" / "03_normalization" / NORM, SOURCE)
    write(tmp_path / "bob" / "assignments" / "03_normalization" / "public_checks.py", "x = 1\n")
    sub = load(tmp_path / "bob")
    assert sub.files == {NORM: SOURCE}
    assert sub.problems == []


def test_zip_with_a_nested_folder_gives_the_shallowest_copy(tmp_path):
    path = make_zip(tmp_path / "carol.zip", {
        "carol/": "",
        f"carol/{NORM}": SOURCE,
        f"carol/old/backup/{NORM}": "OLD = True\n",
        f"__MACOSX/carol/._{NORM}": "\x00\x05junk",
    })
    sub = load(path)
    assert sub.name == "carol"
    assert sub.files == {NORM: SOURCE}
    assert sub.problems == []


def test_single_python_file_is_a_submission(tmp_path):
    sub = load(write(tmp_path / NORM, SOURCE))
    assert sub.files == {NORM: SOURCE}


def test_py_file_wins_over_a_notebook_of_the_same_topic(tmp_path):
    write(tmp_path / "s" / NORM, SOURCE)
    write(tmp_path / "s" / "normalization.ipynb", nb(("code", "NOTEBOOK = 1")))
    assert load(tmp_path / "s").files == {NORM: SOURCE}


# ----------------------------------------------------------------------------- notebooks

def test_notebook_code_cells_are_joined_and_magics_commented_out(tmp_path):
    path = write(tmp_path / "grace" / "normalization.ipynb", nb(
        ("markdown", "# Homework\n%not code"),
        ("code", ["%matplotlib inline\n", "print('hello')"]),
        ("code", "!pip install torch\n  %timeit f()\nimport torch"),
        ("code", "from __future__ import annotations\n\ndef f(x: Tensor) -> Tensor:\n    return x"),
    ))
    sub = load(path.parent)
    text = sub.files[NORM]
    assert sub.problems == []
    assert text.splitlines()[0] == "from __future__ import annotations"
    assert "# %matplotlib inline" in text
    assert "# !pip install torch" in text
    assert "#   %timeit f()" in text
    assert "# Homework" not in text                       # markdown is not code
    assert text.index("print('hello')") < text.index("import torch") < text.index("def f(")
    compile(text, NORM, "exec")                           # a valid module, future import first
    namespace = {}
    exec(compile(text.replace("print('hello')", ""), NORM, "exec"), namespace)
    assert namespace["f"](3) == 3


def test_notebook_that_is_not_json_is_a_problem_not_an_exception(tmp_path):
    write(tmp_path / "s" / "normalization.ipynb", "{ this is not json")
    sub = load(tmp_path / "s")
    assert sub.files == {}
    assert "normalization.ipynb is not a valid notebook" in problems_text(sub)


def test_notebook_without_cells_list_is_a_problem(tmp_path):
    write(tmp_path / "s" / "normalization.ipynb", json.dumps({"nbformat": 4}))
    sub = load(tmp_path / "s")
    assert sub.files == {} and "not a valid notebook" in problems_text(sub)


def test_notebook_without_code_cells_is_a_problem(tmp_path):
    write(tmp_path / "s" / "normalization.ipynb", nb(("markdown", "only words")))
    sub = load(tmp_path / "s")
    assert sub.files == {}
    assert "has no code cells" in problems_text(sub)


def test_notebook_source_helper_reports_into_the_submission():
    sub = submission.Submission("x")
    assert notebook_source(sub, "n.ipynb", "[]") is None
    assert sub.problems and "n.ipynb" in sub.problems[0]


# ----------------------------------------------------------------------------- bad archives

def test_corrupted_zip_is_a_problem(tmp_path):
    path = write(tmp_path / "broken.zip", b"PK\x03\x04 this is not really a zip" * 10)
    sub = load(path)
    assert sub.files == {}
    assert "broken.zip is not a readable zip file" in problems_text(sub)


def test_truncated_zip_is_a_problem(tmp_path):
    good = make_zip(tmp_path / "good.zip", {NORM: SOURCE * 50}).read_bytes()
    path = write(tmp_path / "cut.zip", good[: len(good) // 2])
    sub = load(path)
    assert sub.files == {}
    assert sub.problems


def test_empty_zip_says_no_course_files_were_found(tmp_path):
    path = make_zip(tmp_path / "empty.zip", {})
    sub = load(path)
    assert sub.files == {}
    assert "No course files were found" in problems_text(sub)
    assert NORM in problems_text(sub)


def test_zip_members_outside_the_archive_are_skipped_and_nothing_is_written(tmp_path):
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    path = make_zip(inner / "sneaky.zip", {
        "../evil.py": "EVIL = 1\n",
        f"../../{NORM}": "EVIL = 2\n",
        f"/tmp/{NORM}": "EVIL = 3\n",
        f"ok/{NORM}": SOURCE,
    })
    before = {p for p in tmp_path.rglob("*")}
    cwd = os.getcwd()
    os.chdir(inner)
    try:
        sub = load(path)
    finally:
        os.chdir(cwd)
    assert sub.files == {NORM: SOURCE}
    text = problems_text(sub)
    assert "Skipped ../evil.py: paths outside the archive are not allowed." in text
    assert f"Skipped ../../{NORM}" in text
    assert f"Skipped /tmp/{NORM}" in text
    assert {p for p in tmp_path.rglob("*")} == before          # nothing extracted anywhere


def test_zip_symlink_member_is_skipped(tmp_path):
    def symlink(info):
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        info.create_system = 3
    path = make_zip(tmp_path / "link.zip", {NORM: (symlink, "/etc/passwd")})
    sub = load(path)
    assert sub.files == {}
    assert f"Skipped {NORM}: symbolic links are not read." in problems_text(sub)


def test_zip_member_over_the_size_limit_is_skipped(tmp_path):
    big = "# padding\n" * (MAX_FILE_BYTES // 10 + 10)
    assert len(big) > MAX_FILE_BYTES
    path = make_zip(tmp_path / "big.zip", {NORM: big})
    sub = load(path)
    assert NORM not in sub.files
    assert "too large" in problems_text(sub)


def test_file_over_the_size_limit_in_a_folder_is_not_graded(tmp_path):
    write(tmp_path / "s" / NORM, "#" * (MAX_FILE_BYTES + 1))
    sub = load(tmp_path / "s")
    assert sub.files == {}
    assert "larger than" in problems_text(sub)


# ----------------------------------------------------------------------------- bad folders and files

def test_empty_folder_is_a_problem(tmp_path):
    (tmp_path / "nobody").mkdir()
    sub = load(tmp_path / "nobody")
    assert sub.files == {}
    assert "The submission folder is empty." in sub.problems


def test_missing_path_is_a_problem(tmp_path):
    sub = load(tmp_path / "ghost")
    assert sub.files == {}
    assert "does not exist" in problems_text(sub)


def test_wrong_case_file_name_names_the_expected_file(tmp_path):
    write(tmp_path / "s" / "Normalization.py", SOURCE)
    sub = load(tmp_path / "s")
    assert sub.files == {}
    assert "Found Normalization.py, but the grader looks for normalization.py" in problems_text(sub)


def test_non_utf8_source_is_a_problem_but_still_loaded_with_replacement_chars(tmp_path):
    write(tmp_path / "s" / NORM, b"# caf\xe9\nx = 1\n")
    sub = load(tmp_path / "s")
    assert "is not UTF-8 text (byte 5)" in problems_text(sub)
    assert sub.files[NORM] == "# caf\ufffd\nx = 1\n"


def test_utf8_bom_is_dropped(tmp_path):
    write(tmp_path / "s" / NORM, b"\xef\xbb\xbfx = 1\n")
    sub = load(tmp_path / "s")
    assert sub.files[NORM] == "x = 1\n" and sub.problems == []


def test_unknown_file_type_is_a_problem(tmp_path):
    sub = load(write(tmp_path / "homework.rar", b"Rar!"))
    assert sub.files == {}
    assert "expected a folder, a .zip, a .py or an .ipynb file" in problems_text(sub)


# ----------------------------------------------------------------------------- discovery

def test_discover_expands_a_folder_of_submissions(tmp_path):
    root = tmp_path / "submissions"
    write(root / "alice" / NORM, SOURCE)
    write(root / "bob" / "assignments" / "03_normalization" / NORM, SOURCE)
    make_zip(root / "carol.zip", {f"carol/{NORM}": SOURCE})
    write(root / "grace.ipynb", nb(("code", "x = 1")))
    write(root / "README.txt", "not a submission")
    write(root / ".hidden" / NORM, SOURCE)
    assert discover([root]) == [root / "alice", root / "bob", root / "carol.zip", root / "grace.ipynb"]


def test_discover_keeps_a_single_submission_folder_whole(tmp_path):
    flat = write(tmp_path / "alice" / NORM, SOURCE).parent
    tree = write(tmp_path / "bob" / "assignments" / "03_normalization" / NORM, SOURCE).parents[2]
    assert discover([flat]) == [flat]
    assert discover([tree]) == [tree]


def test_discover_passes_files_and_missing_paths_through(tmp_path):
    zipped = make_zip(tmp_path / "x.zip", {NORM: SOURCE})
    assert discover([zipped, tmp_path / "ghost"]) == [zipped, tmp_path / "ghost"]


def test_bundled_examples_are_discovered_one_per_student():
    root = Path(__file__).resolve().parents[1] / "examples" / "submissions"
    names = [p.name for p in discover([root])]
    assert names == ["alice", "bob", "carol.zip", "dave", "erin", "frank", "grace", "heidi"]
