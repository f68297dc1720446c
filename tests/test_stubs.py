"""stubs.py: student stubs generated from the reference solutions' marked regions."""
import shutil
import textwrap

import pytest

from autograder import stubs
from autograder.stubs import StubError, make_stub
from autograder.topics import ROOT, TOPICS

SOLUTION = textwrap.dedent('''\
    """Module docstring stays."""
    import torch


    def batch_norm(x):
        """Docstring stays."""
        # BEGIN SOLUTION Task 3.1
        secret = x * 2
        return secret
        # END SOLUTION


    class Norm:
        """Class docstring."""

        def method(self, x):
            if x is not None:
                # BEGIN SOLUTION Task 3.2
                return "hidden"
                # END SOLUTION
            return None


    TAIL = 1
''')


def fence(indent: str, task: str, where: str, filename: str = "x.py") -> str:
    return (f"{indent}# ===== YOUR CODE: {task} =====\n"
            f'{indent}raise NotImplementedError("{task}: {where} in {filename}")\n'
            f"{indent}# ===== END YOUR CODE =====\n")


def test_region_becomes_the_fence_with_a_raise_naming_task_function_and_file():
    stub = make_stub(SOLUTION, "x.py")
    assert fence("    ", "Task 3.1", "batch_norm") in stub
    assert 'raise NotImplementedError("Task 3.1: batch_norm in x.py")' in stub


def test_region_in_a_method_names_class_dot_method_and_keeps_its_indentation():
    stub = make_stub(SOLUTION, "x.py")
    assert fence(" " * 12, "Task 3.2", "Norm.method") in stub


def test_solution_code_is_gone_and_everything_outside_regions_is_kept():
    stub = make_stub(SOLUTION, "x.py")
    assert "secret" not in stub and "hidden" not in stub
    assert "BEGIN SOLUTION" not in stub and "END SOLUTION" not in stub
    outside = [line for line in SOLUTION.splitlines()
               if line.strip() not in ("# BEGIN SOLUTION Task 3.1", "# BEGIN SOLUTION Task 3.2",
                                       "# END SOLUTION", "secret = x * 2", "return secret",
                                       'return "hidden"')]
    assert [line for line in stub.splitlines() if "YOUR CODE" not in line
            and "NotImplementedError" not in line] == outside


def test_stub_compiles_and_raises_the_task_id():
    namespace = {}
    exec(compile(make_stub(SOLUTION, "x.py"), "x.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match=r"^Task 3\.1: batch_norm in x\.py$"):
        namespace["batch_norm"](1)
    with pytest.raises(NotImplementedError, match=r"^Task 3\.2: Norm\.method in x\.py$"):
        namespace["Norm"]().method(1)
    assert namespace["Norm"]().method(None) is None


def test_source_without_regions_is_unchanged():
    source = "def f():\n    return 1\n"
    assert make_stub(source, "x.py") == source


def test_module_level_region_says_module_level():
    stub = make_stub("# BEGIN SOLUTION Task 1.0\nX = 1\n# END SOLUTION\n", "m.py")
    assert 'raise NotImplementedError("Task 1.0: module level in m.py")' in stub


@pytest.mark.parametrize("source, words", [
    ("def f():\n    # BEGIN SOLUTION Task 1.1\n    return 1\n", "without END SOLUTION"),
    ("def f():\n    # BEGIN SOLUTION Task 1.1\n    # BEGIN SOLUTION Task 1.2\n    return 1\n"
     "    # END SOLUTION\n    # END SOLUTION\n", "nested BEGIN SOLUTION"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", "needs a task id"),
    ("def f():\n    return 1\n    # END SOLUTION\n", "END SOLUTION without BEGIN"),
], ids=["unclosed", "nested", "unnamed", "end-without-begin"])
def test_malformed_regions_raise_stub_error_with_file_and_line(source, words):
    with pytest.raises(StubError, match=words) as info:
        make_stub(source, "bad.py")
    assert str(info.value).startswith("bad.py:")


def test_mistyped_markers_do_not_leak_the_solution_into_the_stub():
    source = "def f():\n    #BEGIN SOLUTION Task 1.1\n    return 'the answer'\n    #END SOLUTION\n"
    try:
        stub = make_stub(source, "x.py")
    except StubError:
        return
    assert "the answer" not in stub


# ----------------------------------------------------------------------------- the repository

def test_repository_stubs_match_their_solutions():
    assert stubs.check() == []


def test_normalization_stub_is_generated_from_its_solution():
    topic = TOPICS["normalization"]
    solution = topic.solution_path().read_text()
    stub = (topic.assignment_dir() / topic.filename).read_text()
    assert make_stub(solution, topic.filename) == stub
    assert 'raise NotImplementedError("Task 3.1: batch_norm in normalization.py")' in stub
    assert 'raise NotImplementedError("Task 3.4: _BatchNorm.forward in normalization.py")' in stub
    assert 'raise NotImplementedError("Task 3.8: BatchNormFunction.backward in normalization.py")' in stub


@pytest.fixture
def copy_root(tmp_path):
    """A repository root holding only the normalization solution and stub."""
    topic = TOPICS["normalization"]
    for kind in ("solutions", "assignments"):
        folder = tmp_path / kind / topic.folder
        folder.mkdir(parents=True)
        src = topic.solution_path() if kind == "solutions" else topic.assignment_dir() / topic.filename
        shutil.copy(src, folder / topic.filename)
    return tmp_path


def test_copied_root_is_clean(copy_root):
    assert stubs.check(copy_root) == []


def test_a_modified_stub_is_reported_with_a_diff(copy_root):
    stub = copy_root / "assignments" / "03_normalization" / "normalization.py"
    stub.write_text(stub.read_text().replace('"Task 3.2: layer_norm in', '"Task 3.2: LAYER in'))
    problems = stubs.check(copy_root)
    assert len(problems) == 1
    assert "assignments/03_normalization/normalization.py" in problems[0]
    assert "LAYER" in problems[0]


def test_a_missing_stub_is_reported_and_generate_writes_it_back(copy_root):
    stub = copy_root / "assignments" / "03_normalization" / "normalization.py"
    want = stub.read_text()
    stub.unlink()
    assert stubs.check(copy_root) == ["assignments/03_normalization/normalization.py is missing"]
    assert stubs.generate(copy_root) == [stub]
    assert stub.read_text() == want
    assert stubs.check(copy_root) == []
    assert stubs.generate(copy_root) == []          # nothing to do the second time
