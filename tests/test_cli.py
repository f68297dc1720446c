"""The command line, run as students and instructors run it: `python -m autograder ...`."""
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.topics import ROOT, TOPICS

pytestmark = pytest.mark.slow

TOPIC = TOPICS["normalization"]


def autograder(*args, cwd=ROOT, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


# ----------------------------------------------------------------------------- usage

def test_grade_without_arguments_is_a_usage_error_with_exit_status_2():
    proc = autograder("grade")
    assert proc.returncode == 2
    assert "usage:" in proc.stderr


def test_no_command_at_all_is_a_usage_error():
    proc = autograder()
    assert proc.returncode == 2


def test_stubs_check_passes_on_the_repository():
    proc = autograder("stubs", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "stubs match their solutions" in proc.stdout


# ----------------------------------------------------------------------------- grade

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A folder of submissions (one with a syntax error: quick to grade) and a missing path,
    graded twice into the same output folder; what each run printed and left there."""
    root = tmp_path_factory.mktemp("cli")
    (root / "subs" / "zoe").mkdir(parents=True)
    (root / "subs" / "zoe" / TOPIC.filename).write_text("def batch_norm(x:\n    return x\n")
    out = root / "grades"
    args = ("grade", root / "subs", root / "ghost", "--out", out,
            "--topic", "normalization", "--device", "cpu", "--jobs", "1")
    runs = {}
    for run in ("first", "second"):
        proc = autograder(*args)
        runs[run] = (proc, (out / "zoe" / "results.json").read_text() if proc.returncode == 0 else "",
                     gradebook(out))
    yield root, out, args, runs
    shutil.rmtree(root, ignore_errors=True)


def gradebook(out: Path, table: str = "scores.csv") -> dict[str, dict]:
    """The rows of a batch table by submission: scores.csv (the instructor's, with maxima and
    notes) unless told otherwise."""
    path = out / table
    if not path.exists():
        return {}
    with open(path, newline="") as fh:
        return {row["submission"]: row for row in csv.DictReader(fh)}


def test_grading_a_missing_path_exits_0_and_reports_the_problem_in_the_feedback(course):
    _, out, _, runs = course
    first = runs["first"][0]
    assert first.returncode == 0, first.stdout + first.stderr
    feedback = (out / "ghost" / "feedback.txt").read_text()
    assert "does not exist" in feedback
    results = json.loads((out / "ghost" / "results.json").read_text())
    assert results["score"] == 0 and "does not exist" in results["output"]


def test_grade_writes_results_feedback_and_gradebook(course):
    _, out, _, runs = course
    first, _, book = runs["first"]
    assert (out / "zoe" / "results.json").exists()
    assert "syntax error (line 1)" in (out / "zoe" / "feedback.txt").read_text()
    assert (out / "gradebook.csv").read_text().startswith("submission,score,normalization\n")
    assert (out / "scores.csv").read_text().startswith("submission,student_id,score,max_score,percent")
    assert sorted(book) == ["ghost", "zoe"]
    assert sorted(gradebook(out, "gradebook.csv")) == ["ghost", "zoe"]
    assert "does not exist" in book["ghost"]["notes"]
    assert "zoe" in first.stdout and "ghost" in first.stdout        # the summary table


def test_grading_the_same_folder_again_reuses_the_first_results(course):
    _, _, _, runs = course
    again, results_after, book = runs["second"]
    assert again.returncode == 0, again.stdout + again.stderr
    assert "zoe: 0 / " in again.stderr and "(unchanged)" in again.stderr
    assert "unchanged, not regraded" in again.stdout
    assert results_after == runs["first"][1]                         # results.json untouched
    assert {n: r["score"] for n, r in book.items()} == {n: r["score"] for n, r in runs["first"][2].items()}


def test_a_reused_result_keeps_its_notes_in_the_gradebook(course):
    _, _, _, runs = course
    assert runs["second"][2]["ghost"]["notes"] == runs["first"][2]["ghost"]["notes"]


def test_regrade_grades_again_even_when_nothing_changed(course):
    _, out, args, _ = course
    again = autograder(*args, "--regrade")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "unchanged" not in again.stderr
    assert "unchanged" not in again.stdout
    assert json.loads((out / "zoe" / "results.json").read_text())["score"] == 0


def test_grade_writes_the_class_report_with_a_section_per_submission(course):
    _, out, _, _ = course
    report = (out / "report.html").read_text()
    assert 'id="sub-zoe"' in report and 'id="sub-ghost"' in report


def test_progress_is_plain_lines_with_done_and_total_when_stderr_is_not_a_terminal(course):
    first = course[3]["first"][0]
    assert "[1/2] " in first.stderr and "[2/2] " in first.stderr
    assert "\r" not in first.stderr                                 # no bar redrawn in a log


def test_json_prints_one_json_line_per_submission_and_nothing_else_on_stdout(course):
    _, _, args, _ = course
    proc = autograder(*args, "--json", "--regrade")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(r["name"] for r in lines) == ["ghost", "zoe"]
    zoe = next(r for r in lines if r["name"] == "zoe")
    assert set(zoe) == {"name", "score", "max_score", "seconds", "topics", "reused"}
    assert zoe["score"] == 0 and zoe["max_score"] > 0 and zoe["reused"] is False and zoe["seconds"] >= 0
    assert zoe["topics"] == {"normalization": {"score": 0, "max_score": zoe["max_score"]}}
    assert "Isolation layers" not in proc.stderr and "[1/2]" not in proc.stderr
    assert "2 submission(s) in" in proc.stderr                      # the last line, on stderr


def test_quiet_prints_only_errors_warnings_and_the_final_summary_line(course):
    _, out, args, _ = course
    proc = autograder(*args, "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(proc.stdout.splitlines()) == 1
    assert proc.stdout.startswith("2 submission(s) in ") and f"results in {out}/" in proc.stdout
    assert all(line.startswith(("WARNING", "warning", "note")) for line in proc.stderr.splitlines()), \
        proc.stderr


# ----------------------------------------------------------------------------- check

@pytest.fixture
def student_root(tmp_path):
    """A student's copy of the course: assignments/03_normalization with its public checks."""
    shutil.copytree(TOPIC.assignment_dir(ROOT), tmp_path / "assignments" / TOPIC.folder,
                    ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    return tmp_path


def test_check_with_the_reference_in_place_prints_full_marks(student_root):
    shutil.copy(TOPIC.solution_path(ROOT), student_root / "assignments" / TOPIC.folder / TOPIC.filename)
    proc = autograder("check", "normalization", "--root", student_root, "--device", "cpu")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first = proc.stdout.strip().splitlines()[0]
    assert "(100.0%)" in first, proc.stdout
    assert "Not attempted" not in proc.stdout
    assert "FAIL" not in proc.stdout


def test_check_on_the_untouched_stub_says_not_attempted(student_root):
    proc = autograder("check", "normalization", "--root", student_root, "--device", "cpu")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Not attempted" in proc.stdout
    assert "(0.0%)" in proc.stdout.strip().splitlines()[0]


def test_check_without_assignment_files_is_a_usage_error(tmp_path):
    proc = autograder("check", "normalization", "--root", tmp_path)
    assert proc.returncode == 2
    assert "No assignment files found" in proc.stderr


def test_a_failed_public_case_names_the_command_that_runs_it_alone(student_root):
    """The line under a failed case is a command the student can paste: it runs that one
    check, on that device, and fails the same way."""
    path = student_root / "assignments" / TOPIC.folder / TOPIC.filename
    path.write_text(TOPIC.solution_path(ROOT).read_text().replace(      # the classic bug: biased running_var
        "running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)",
        "running_var.copy_((1 - momentum) * running_var + momentum * var)"))
    proc = autograder("check", "normalization", "--root", student_root, "--device", "cpu")
    line = next(l.strip() for l in proc.stdout.splitlines() if l.strip().startswith("Run it alone:"))
    assert line == ("Run it alone: python -m autograder check normalization --only batch_norm_train "
                    "--device cpu")
    alone = autograder(*line.split()[6:], "--root", student_root)
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout.splitlines()[0] == "Public checks on your code: 0 / 1 points (0.0%)"
    assert "running_var differs" in alone.stdout and "layer_norm" not in alone.stdout


def test_check_only_with_an_unknown_name_lists_the_checks(student_root):
    proc = autograder("check", "normalization", "--root", student_root, "--only", "batchnorm_train")
    assert proc.returncode == 2
    assert "No public check named batchnorm_train" in proc.stderr
    assert "normalization/batch_norm_train" in proc.stderr


def test_check_with_another_seed_says_so_and_the_replay_line_keeps_it(student_root):
    proc = autograder("check", "normalization", "--root", student_root, "--device", "cpu", "--seed", "7",
                      "--only", "batch_norm_train")
    assert "Base seed 7:" in proc.stdout
    assert "--only batch_norm_train --device cpu --seed 7" in proc.stdout


# ----------------------------------------------------------------------------- grade --only

BOB = ROOT / "examples" / "submissions" / "bob"     # running_var updated with the biased variance


def test_grade_only_reruns_one_hidden_check_and_prints_its_feedback():
    proc = autograder("grade", BOB, "--only", "batch_norm_running_stats_five_steps", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert "Feedback for bob: 0 / 1 points" in proc.stdout
    assert "running_var differs" in proc.stdout and "Likely cause: running_var was updated" in proc.stdout
    assert "Reproduce: check normalization/batch_norm_running_stats_five_steps" in proc.stdout
    assert proc.stdout.count("[     FAIL]") + proc.stdout.count("[     PASS]") == 1   # that check alone
    assert "give --out to keep the results" in proc.stdout


def test_grade_only_keeps_results_where_out_says(tmp_path):
    proc = autograder("grade", BOB, "--only", "normalization/layer_norm_last_dim", "--only",
                      "batch_norm_train_2d", "--device", "cpu", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out" / "bob" / "results.json").read_text())
    assert {o["check_id"] for o in data["extra_data"]["outcomes"]} == {
        "normalization/layer_norm_last_dim", "normalization/batch_norm_train_2d"}


def test_grade_only_with_an_unknown_name_lists_the_hidden_checks():
    proc = autograder("grade", BOB, "--only", "batchnorm_train")
    assert proc.returncode == 2
    assert "No hidden check named batchnorm_train" in proc.stderr
    assert "normalization/batch_norm_running_stats_five_steps" in proc.stderr


def test_grade_without_out_or_only_is_a_usage_error():
    proc = autograder("grade", BOB)
    assert proc.returncode == 2
    assert "--out is required" in proc.stderr
