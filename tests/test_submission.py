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

def test_notebook_code_cells_are_joined_in_order_with_future_imports_first(tmp_path):
    path = write(tmp_path / "grace" / "normalization.ipynb", nb(
        ("markdown", "# Homework\n%not code"),
        ("code", ["%matplotlib inline\n", "print('hello')"]),
        ("code", "!pip install torch\n%timeit f()\nimport torch"),
        ("code", "from __future__ import annotations\n\ndef f(x: Tensor) -> Tensor:\n    return x"),
    ))
    sub = load(path.parent)
    text = sub.files[NORM]
    assert sub.problems == []
    assert text.splitlines()[0] == "from __future__ import annotations"
    assert "# Homework" not in text                       # markdown is not code
    assert "get_ipython" not in text                      # the worker has no IPython
    assert text.index("print('hello')") < text.index("import torch") < text.index("def f(")
    compile(text, NORM, "exec")                           # a valid module, future import first
    namespace = {}
    exec(compile(text.replace("print('hello')", ""), NORM, "exec"), namespace)
    assert namespace["f"](3) == 3


F = "def f(x):\n    return x + 1\n"


def module_of(notebook: str) -> str:
    """The module a notebook becomes; it must come with no problem."""
    sub = submission.Submission("s")
    source = notebook_source(sub, "n.ipynb", notebook)
    assert sub.problems == []
    assert "get_ipython" not in source and "IPython" not in source
    return source


def run_module(source: str) -> dict:
    """Execute the module as the worker would import it: no IPython, a fresh namespace."""
    namespace = {}
    exec(compile(source, "nb", "exec"), namespace)
    assert namespace["f"](1) == 2
    return namespace


@pytest.mark.parametrize("cells", [
    ["files = !ls\nn = len(files)", F],
    ["!pip install numpy", F],
    ["%matplotlib inline\n" + F],
    ["%load_ext autoreload\n%autoreload 2", F],
    ["len?\nf??", F],
    ["if True:\n    !ls\n    %env\n" + F],
    ["%timeit -n1 f(1)", F],
], ids=["getoutput", "pip", "matplotlib", "autoreload", "help", "indented", "timeit-line"])
def test_notebook_line_magics_and_shell_escapes_do_nothing(cells):
    run_module(module_of(nb(*[("code", c) for c in cells])))


def test_notebook_shell_output_as_a_value_is_an_empty_list():
    namespace = run_module(module_of(nb(("code", F + "files = !ls\ncount = len(files)"))))
    assert namespace["files"] == [] and namespace["count"] == 0


def test_notebook_time_line_magic_runs_its_code_and_gives_its_value():
    namespace = run_module(module_of(nb(("code", F + "x = %time 1+1\n%time y = f(2)"))))
    assert namespace["x"] == 2 and namespace["y"] == 3


@pytest.mark.parametrize("magic", ["time", "timeit -n1 -r1", "capture out", "prun -q"])
def test_notebook_python_cell_magic_keeps_its_body_in_place(magic):
    source = module_of(nb(("code", f"%%{magic}\nfiles = !ls\n{F}")))
    run_module(source)


def test_notebook_nested_python_cell_magics_keep_the_body():
    run_module(module_of(nb(("code", "%%time\n%%capture\n" + F))))


@pytest.mark.parametrize("magic", ["bash", "sh", "script bash", "writefile helper.py", "html",
                                   "javascript", "latex", "markdown", "svg"])
def test_notebook_cell_magic_that_is_not_python_contributes_nothing(magic):
    source = module_of(nb(("code", f"%%{magic}\n<b>not python</b> && echo $HOME\n"), ("code", F)))
    assert "not python" not in source
    run_module(source)


def test_notebook_in_nbformat_3_is_read(tmp_path):
    worksheet = {"metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# Homework"},
        {"cell_type": "code", "metadata": {}, "language": "python", "outputs": [], "collapsed": False,
         "input": ["%matplotlib inline\n", "def f(x):\n", "    return x + 1\n"]},
    ]}
    write(tmp_path / "s" / "normalization.ipynb",
          json.dumps({"metadata": {"name": ""}, "nbformat": 3, "nbformat_minor": 0, "worksheets": [worksheet]}))
    sub = load(tmp_path / "s")
    assert sub.problems == []
    run_module(sub.files[NORM])


def test_notebook_cell_that_is_not_python_is_left_out_with_a_sentence():
    sub = submission.Submission("s")
    source = notebook_source(sub, "n.ipynb", nb(("code", "x = 1"), ("code", "def broken(:\n    pass"),
                                                 ("code", F)))
    assert problems_text(sub) == ("n.ipynb: code cell 2 is not valid Python (line 1: invalid syntax); "
                                  "it was left out, as Jupyter would run the other cells without it.")
    assert "broken" not in source
    run_module(source)


def test_truncated_notebook_is_a_problem_not_an_exception(tmp_path):
    whole = nb(("code", F))
    write(tmp_path / "s" / "normalization.ipynb", whole[: len(whole) // 2])
    sub = load(tmp_path / "s")
    assert sub.files == {}
    assert "normalization.ipynb is not a valid notebook (NotJSONError" in problems_text(sub)


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


# ----------------------------------------------------------------------------- symbolic links

SECRET = "REFERENCE = 'the course solution: never to be read'\n"
LINKED = {"03_normalization": NORM, "04_dropout": "dropout.py", "05_optimizers": "optimizers.py"}


def solutions(tmp_path) -> Path:
    """A stand-in for the course's solutions/ folder, with recognisable content."""
    for folder, name in LINKED.items():
        write(tmp_path / "solutions" / folder / name, SECRET)
    return tmp_path / "solutions"


def link(path: Path, target: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)
    return path


def not_graded(rel: str) -> str:
    return f"{rel} is a symbolic link; links are not graded."


def test_folder_of_links_into_solutions_is_one_submission_and_nothing_is_read(tmp_path):
    ref = solutions(tmp_path)
    mallory = tmp_path / "mallory"
    for folder, name in LINKED.items():
        link(mallory / name, ref / folder / name)
    assert discover([mallory]) == [mallory]
    sub = load(mallory)
    assert sub.name == "mallory" and sub.files == {}
    assert sub.problems[:3] == [not_graded(n) for n in sorted(LINKED.values())]
    assert "No course files were found" in sub.problems[3]


def test_folder_of_submissions_lists_a_linked_entry_under_its_own_name_with_a_reason(tmp_path):
    ref = solutions(tmp_path)
    root = tmp_path / "submissions"
    write(root / "alice" / NORM, SOURCE)
    link(root / "mallory", ref / "03_normalization")
    link(root / "eve.zip", make_zip(tmp_path / "real.zip", {NORM: SECRET}))
    link(root / "trent.py", ref / "04_dropout" / "dropout.py")
    link(root / "ghost", tmp_path / "nowhere")
    found = discover([root])
    assert found == [root / n for n in ["alice", "eve.zip", "ghost", "mallory", "trent.py"]]
    subs = {s.name: s for s in map(load, found)}
    assert subs["alice"].files == {NORM: SOURCE} and subs["alice"].problems == []
    for name, entry in [("eve", "eve.zip"), ("ghost", "ghost"), ("mallory", "mallory"), ("trent", "trent.py")]:
        assert subs[name].files == {} and subs[name].problems == [not_graded(entry)]


@pytest.mark.parametrize("entry", [NORM, "assignments", "03_normalization"])
def test_course_named_link_makes_its_folder_one_submission(tmp_path, entry):
    ref = solutions(tmp_path)
    folder = tmp_path / "mallory"
    write(folder / "scratch" / "notes.py", "x = 1\n")
    link(folder / entry, ref / "03_normalization" / NORM if entry == NORM else ref)
    assert discover([folder]) == [folder]
    sub = load(folder)
    assert sub.files == {} and not_graded(entry) in sub.problems


def test_link_beside_real_files_is_reported_and_the_real_files_are_graded(tmp_path):
    ref = solutions(tmp_path)
    write(tmp_path / "alice" / NORM, SOURCE)
    link(tmp_path / "alice" / "dropout.py", ref / "04_dropout" / "dropout.py")
    sub = load(tmp_path / "alice")
    assert sub.files == {NORM: SOURCE}
    assert sub.problems == [not_graded("dropout.py")]


def test_link_three_deep_in_an_assignments_tree_is_reported_by_its_path_and_not_read(tmp_path):
    ref = solutions(tmp_path)
    bob = tmp_path / "bob"
    write(bob / "assignments" / "03_normalization" / NORM, SOURCE)
    link(bob / "assignments" / "04_dropout" / "dropout.py", ref / "04_dropout" / "dropout.py")
    sub = load(bob)
    assert sub.files == {NORM: SOURCE}
    assert sub.problems == [not_graded("assignments/04_dropout/dropout.py")]


def test_link_to_a_folder_is_reported_and_not_entered(tmp_path):
    ref = solutions(tmp_path)
    link(tmp_path / "carol" / "assignments", ref)
    sub = load(tmp_path / "carol")
    assert sub.files == {}
    assert sub.problems[0] == not_graded("assignments")
    assert "03_normalization" not in problems_text(sub)       # nothing inside was listed


def test_dangling_link_is_reported_not_an_error(tmp_path):
    link(tmp_path / "dave" / NORM, tmp_path / "nowhere.py")
    sub = load(tmp_path / "dave")
    assert sub.files == {}
    assert sub.problems[0] == not_graded(NORM)


@pytest.mark.parametrize("suffix", [".py", ".ipynb", ".zip"])
def test_single_file_given_as_a_link_is_reported_not_read(tmp_path, suffix):
    real = {".py": lambda p: write(p, SECRET),
            ".ipynb": lambda p: write(p, nb(("code", SECRET))),
            ".zip": lambda p: make_zip(p, {NORM: SECRET})}[suffix](tmp_path / f"normalization{suffix}")
    given = link(tmp_path / "given" / f"alice{suffix}", real)
    assert discover([given]) == [given]
    sub = load(given)
    assert sub.name == "alice" and sub.files == {}
    assert sub.problems == [not_graded(f"alice{suffix}")]


def test_submission_folder_given_as_a_link_is_reported_not_read(tmp_path):
    ref = solutions(tmp_path)
    given = link(tmp_path / "alice", ref / "03_normalization")
    assert discover([given]) == [given]
    sub = load(given)
    assert sub.name == "alice" and sub.files == {}
    assert sub.problems == [not_graded("alice")]


def test_many_links_are_counted_after_the_first_few(tmp_path):
    target = write(tmp_path / "target.py", SECRET)
    for i in range(submission.MAX_LINKS_REPORTED + 5):
        link(tmp_path / "s" / f"l{i:02}.py", target)
    sub = load(tmp_path / "s")
    assert sub.problems[submission.MAX_LINKS_REPORTED] == "5 more symbolic links were not graded."
    assert len(sub.problems) == submission.MAX_LINKS_REPORTED + 2        # and: no course files


def test_a_link_put_in_place_of_a_file_after_the_walk_is_refused_when_read(tmp_path):
    path = link(tmp_path / NORM, write(tmp_path / "target.py", SECRET))
    with pytest.raises(OSError):
        submission._read(path)
