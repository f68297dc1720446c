"""course.toml (autograder/course.py): read, validated, and applied.

- every problem a course file can have is one message naming the file, the key and
  what is wrong (an unknown key with "did you mean", a wrong type, a check or topic that
  does not exist, negative points, a multiplier outside [0, 1], late rows out of order);
- the repository's course.toml is all defaults, and grading with it gives the same
  results.json, gradebook and scores as grading without it;
- points per topic and per check scale the cases they cover, partial credit in proportion;
- the late policy multiplies the total, from the roster's submitted_at or from
  Gradescope's submission_metadata.json, and feedback.txt and results.json say so.
"""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from autograder import course as courses
from autograder.batch import hidden_plan
from autograder.config import Config
from autograder.course import CourseError, apply_points, lateness, load
from autograder.gradebook import RosterError, read_roster
from autograder.topics import ROOT, TOPICS

EXAMPLES = ROOT / "examples" / "submissions"


@pytest.fixture(scope="module")
def plan():
    return hidden_plan()


def write(tmp_path: Path, text: str, name: str = "course.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path: Path, text: str, plan) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(CourseError) as caught:
        load(path, plan)
    for line in caught.value.problems:
        assert line.startswith(f"{path}: "), line          # every message names the file
    return caught.value.problems


def autograder(*args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def results(out: Path, name: str) -> dict:
    return json.loads((out / name / "results.json").read_text())


# ----------------------------------------------------------------------------- validation

def test_an_unknown_key_is_named_with_what_it_might_have_meant(tmp_path, plan):
    found = problems(tmp_path, 'languge = "ru"\n[limits]\ntimout_scale = 2\n', plan)
    assert any(p.endswith("languge: unknown key; did you mean 'language'? (known here: language, "
                          "devices, due, tasks_off, points, gradescope, limits, late)") for p in found), found
    assert any("limits.timout_scale: unknown key; did you mean 'timeout_scale'?" in p for p in found), found


def test_a_topic_total_written_directly_under_points_is_pointed_to_points_topics(tmp_path, plan):
    found = problems(tmp_path, "[points]\nnormalization = 60\n", plan)
    assert found == [f"{tmp_path / 'course.toml'}: points.normalization: unknown key; a topic's total "
                     "goes under [points.topics] (normalization = ...) (known here: topics, checks)"]


@pytest.mark.parametrize("text, message", [
    ('language = 1', "language: expected a string, got a whole number 1"),
    ('devices = ["cpu"]', "devices: expected a string, got an array ['cpu']"),
    ('[limits]\ntimeout_scale = true', "limits.timeout_scale: expected a number, got a boolean True"),
    ('[limits]\nmemory_mib = 1.5', "limits.memory_mib: expected a whole number, got a number 1.5"),
    ('[points.topics]\ndropout = "ten"', "points.topics.dropout: expected a number of points, got a "
                                         "string 'ten'"),
    ('late = 3', "late: expected an array of tables ([[late]] rows), got a whole number 3"),
    ('[[late]]\nafter_hours = "1 day"\nmultiplier = 0.5',
     "[[late]] row 1, after_hours: expected a number, got a string '1 day'"),
    ('points = 5', "points: expected a table, got a whole number 5"),
])
def test_a_wrong_type_names_the_key_the_type_expected_and_the_value(tmp_path, plan, text, message):
    assert problems(tmp_path, text, plan) == [f"{tmp_path / 'course.toml'}: {message}"]


@pytest.mark.parametrize("text, message", [
    ('language = "de"', "language: 'de' is not one of en, ru"),
    ('devices = "gpu"', "devices: 'gpu' is not one of cpu, cuda, all"),
    ('[gradescope]\nhidden_visibility = "after_due"',
     "gradescope.hidden_visibility: 'after_due' is not one of hidden, after_due_date, after_published, "
     "visible; did you mean 'after_due_date'?"),
    ('[limits]\ntimeout_scale = 0', "limits.timeout_scale: must be greater than 0, got 0"),
    ('due = 2026-03-01T23:59:00', "due: 2026-03-01 23:59:00 has no UTC offset"),
    ('due = "next monday"', "due: 'next monday' is not a date and time"),
])
def test_a_value_outside_its_choices_is_named_with_the_choices(tmp_path, plan, text, message):
    found = problems(tmp_path, text, plan)
    assert len(found) == 1 and found[0].startswith(f"{tmp_path / 'course.toml'}: {message}"), found


def test_a_points_override_for_a_check_that_does_not_exist_is_an_error(tmp_path, plan):
    found = problems(tmp_path, """
        [points.checks]
        "normalization/batch_norm_trian_2d" = 3
        "batch_norm_train_4d" = 2
        "normalization/no_such_thing_at_all" = 1
        """, plan)
    assert len(found) == 3, found
    assert "points.checks.\"normalization/batch_norm_trian_2d\": no such check; did you mean " \
           "'normalization/batch_norm_train_2d'?" in found[0]
    assert "did you mean 'normalization/batch_norm_train_4d'?" in found[1]
    assert "points.checks.\"normalization/no_such_thing_at_all\": no such check" in found[2]
    assert all("course check FILE --checks` lists every check" in p for p in found)


def test_a_topic_that_does_not_exist_is_an_error(tmp_path, plan):
    found = problems(tmp_path, "[points.topics]\nnormalisation = 60\n", plan)
    assert found == [f"{tmp_path / 'course.toml'}: points.topics.normalisation: no such topic; did you "
                     "mean 'normalization'? (topics: " + ", ".join(plan) + ")"]


@pytest.mark.parametrize("text, key", [
    ("[points.topics]\ndropout = -1", "points.topics.dropout"),
    ('[points.checks]\n"dropout/device_placement" = -0.5', 'points.checks."dropout/device_placement"'),
])
def test_negative_points_are_an_error(tmp_path, plan, text, key):
    found = problems(tmp_path, text, plan)
    assert len(found) == 1 and found[0].endswith(f"{key}: points cannot be negative, got "
                                                 f"{text.rsplit('= ', 1)[1]}"), found


def test_a_topic_total_below_its_checks_overrides_is_an_error(tmp_path, plan):
    found = problems(tmp_path, """
        [points.topics]
        dropout = 2
        [points.checks]
        "dropout/device_placement" = 5
        """, plan)
    assert found == [f"{tmp_path / 'course.toml'}: points.topics.dropout: 2 is less than the 5 points "
                     "that points.checks gives its checks"]


@pytest.mark.parametrize("multiplier", [1.5, -0.1])
def test_a_late_multiplier_outside_0_and_1_is_an_error(tmp_path, plan, multiplier):
    found = problems(tmp_path, f"due = 2026-03-01T23:59:00Z\n[[late]]\nafter_hours = 0\n"
                               f"multiplier = {multiplier}\n", plan)
    assert found == [f"{tmp_path / 'course.toml'}: [[late]] row 1, multiplier: must be between 0 and 1, "
                     f"got {multiplier}"]


def test_late_rows_out_of_order_are_an_error(tmp_path, plan):
    found = problems(tmp_path, """
        [[late]]
        after_hours = 24
        multiplier = 0.8
        [[late]]
        after_hours = 0
        multiplier = 0.9
        """, plan)
    assert found == [f"{tmp_path / 'course.toml'}: [[late]] row 2, after_hours: the [[late]] rows must "
                     "be sorted by after_hours, each later than the one before; 0 follows 24"]


def test_a_late_row_with_a_misspelt_or_missing_key_says_both(tmp_path, plan):
    found = problems(tmp_path, "[[late]]\nafter_hours = 1\nmultipler = 0.5\n", plan)
    assert any("[[late]] row 1, multipler: unknown key; did you mean 'multiplier'?" in p for p in found)
    assert any("[[late]] row 1, multiplier: missing" in p for p in found)


def test_a_file_that_is_not_toml_says_where(tmp_path, plan):
    found = problems(tmp_path, "language = \n", plan)
    assert len(found) == 1 and "is not valid TOML" in found[0] and "line 1" in found[0], found


def test_every_problem_is_reported_at_once(tmp_path, plan):
    found = problems(tmp_path, """
        languge = "en"
        devices = "gpu"
        [points.topics]
        dropout = -1
        [[late]]
        after_hours = 1
        multiplier = 2
        """, plan)
    assert len(found) == 4, found


def test_the_course_check_command_prints_the_settings_or_the_problems(tmp_path):
    good = autograder("course", "check", "course.toml", timeout=300)
    assert good.returncode == 0, good.stderr
    assert "course.toml: valid" in good.stdout
    total = next(line for line in good.stdout.splitlines() if line.split()[:1] == ["total"])
    full = sum(sum(c.points for c in tc.checks) + tc.placement_points for tc in hidden_plan().values())
    assert total.split()[1] == f"{full:g}"
    bad = write(tmp_path, '[points.topics]\nnormalization = 108\n[[late]]\nafter_hours = 0\n'
                          'multiplier = 3\n')
    proc = autograder("course", "check", bad, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"{bad}: [[late]] row 1, multiplier: must be between 0 and 1, got 3"
    graded = autograder("grade", EXAMPLES / "bob", "--out", tmp_path / "out", "--course", bad, timeout=300)
    assert graded.returncode == 2 and "multiplier: must be between 0 and 1" in graded.stderr
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- defaults

def test_the_repositorys_course_file_is_every_default(plan):
    course = load(ROOT / "course.toml", plan)
    assert replace(course, path="") == courses.Course()
    assert course.configure(Config()) == Config()


@pytest.mark.slow
def test_grading_with_the_default_course_file_gives_todays_results(tmp_path):
    """bob, through the command line, without a course file and with the repository's."""
    runs = {}
    for run, extra in (("without", ()), ("with", ("--course", ROOT / "course.toml"))):
        out = tmp_path / run
        proc = autograder("grade", EXAMPLES / "bob", "--out", out, "--device", "cpu", "--quiet", *extra)
        assert proc.returncode == 0, proc.stderr
        data = results(out, "bob")
        data.pop("execution_time")
        runs[run] = (data, (out / "bob" / "feedback.txt").read_text(),
                     (out / "gradebook.csv").read_text(), (out / "scores.csv").read_text())
    assert runs["with"][0] == runs["without"][0]          # results.json, fingerprint included
    # 196 before issue 13, whose new checks (21 points) bob's reference-based files pass
    assert runs["with"][0]["score"] == 217 and "late" not in runs["with"][0]["extra_data"]
    assert runs["with"][1:] == runs["without"][1:]        # feedback, gradebook.csv, scores.csv


# ----------------------------------------------------------------------------- points

def test_points_resolve_to_each_check_in_proportion(tmp_path, plan):
    doubled = 2 * (sum(c.points for c in plan["normalization"].checks) + plan["normalization"].placement_points)
    course = load(write(tmp_path, f"""
        [points.topics]
        normalization = {doubled:g}
        capstone = 36
        [points.checks]
        "capstone/digits_accuracy" = 3
        "dropout/device_placement" = 4
        """), plan)
    points = dict(course.points)
    for c in plan["normalization"].checks:
        assert points[c.id] == pytest.approx(2 * c.points)
    assert points["normalization/device_placement"] == 2
    capstone = {c.id: c.points for c in plan["capstone"].checks}
    assert points["capstone/digits_accuracy"] == 3
    factor = (36 - 3) / (sum(capstone.values()) - capstone["capstone/digits_accuracy"])
    for check_id, before in capstone.items():
        if check_id != "capstone/digits_accuracy":
            assert points[check_id] == pytest.approx(before * factor)
    assert sum(points[i] for i in capstone) == pytest.approx(36)
    assert points["dropout/device_placement"] == 4
    assert not any(i.startswith(("autograd/", "optimizers/")) for i in points)   # untouched topics
    scaled = apply_points(plan, course.points)
    assert sum(c.points for c in scaled["dropout"].checks) + scaled["dropout"].placement_points == \
        sum(c.points for c in plan["dropout"].checks) + 4


def test_a_plan_cut_by_only_keeps_its_placement_probe_out(plan):
    cut = {"dropout": replace(plan["dropout"], checks=plan["dropout"].checks[:1], placement_points=0.0)}
    scaled = apply_points(cut, (("dropout/device_placement", 4.0), (plan["dropout"].checks[0].id, 7.0)))
    assert scaled["dropout"].placement_points == 0 and scaled["dropout"].checks[0].points == 7


@pytest.mark.slow
def test_points_overrides_scale_the_cases_and_keep_partial_credit_in_proportion(tmp_path):
    """carol's capstone earns part of digits_accuracy; the course doubles the topic and gives
    that check 3 points, so the other checks share the remaining 33."""
    course = write(tmp_path, """
        [points.topics]
        capstone = 36
        [points.checks]
        "capstone/digits_accuracy" = 3
        """)
    outs = {}
    for run, extra in (("today", ()), ("course", ("--course", course))):
        outs[run] = tmp_path / run
        proc = autograder("grade", EXAMPLES / "carol.zip", "--out", outs[run], "--device", "cpu",
                          "--topic", "capstone", "--quiet", *extra)
        assert proc.returncode == 0, proc.stderr
    today, scaled = results(outs["today"], "carol"), results(outs["course"], "carol")
    before = {o["check_id"]: o for o in today["extra_data"]["outcomes"]}
    after = {o["check_id"]: o for o in scaled["extra_data"]["outcomes"]}
    assert before.keys() == after.keys()
    partial = before["capstone/digits_accuracy"]
    assert 0 < partial["points"] < partial["max_points"], "carol's example no longer earns part of it"
    rest = sum(c.points for c in hidden_plan(("capstone",))["capstone"].checks) - partial["max_points"]
    for check_id, old in before.items():
        new = after[check_id]
        factor = 3 / old["max_points"] if check_id == "capstone/digits_accuracy" else 33 / rest
        assert new["status"] == old["status"], check_id
        assert new["max_points"] == pytest.approx(old["max_points"] * factor, abs=1e-6), check_id
        assert new["points"] == pytest.approx(old["points"] * factor, abs=1e-5), check_id
    assert after["capstone/digits_accuracy"]["max_points"] == 3
    assert scaled["score"] == pytest.approx(sum(o["points"] for o in after.values()), abs=1e-5)
    assert scaled["extra_data"]["max_score"] == pytest.approx(36 - 33 / rest, abs=1e-5)  # GPU check skipped
    assert scaled["extra_data"]["fingerprint"] != today["extra_data"]["fingerprint"]


# ----------------------------------------------------------------------------- tasks off

NEW_TASKS = ("normalization.Standardizer", "normalization.fold_batchnorm",
             "normalization.accumulated_gradients")


def _total(plan) -> float:
    return sum(sum(c.points for c in tc.checks) + tc.placement_points for tc in plan.values())


def test_every_task_tag_names_a_function_or_class_with_a_solution_region(plan):
    """A check's task= is a top-level def or class of its topic's solution file that holds a
    region, so that `tasks_off` names what the stub asks for; public checks included."""
    from autograder.batch import public_plan
    from autograder.stubs import tasks as regions
    for which in (plan, public_plan()):
        for topic, tc in which.items():
            owners = {where.split(".")[0] for where in
                      regions(TOPICS[topic].solution_path().read_text()).values()}
            for c in tc.checks:
                assert not c.task or c.task in owners, (c.id, c.task, sorted(owners))
    assert set(NEW_TASKS) <= set(courses.tasks(plan))


def test_the_course_files_comments_name_every_task_a_course_can_switch_off(plan):
    text = (ROOT / "course.toml").read_text()
    assert all(task in text for task in courses.tasks(plan)), sorted(courses.tasks(plan))


def test_a_task_switched_off_leaves_the_plan_and_the_total(tmp_path, plan):
    course = load(write(tmp_path, 'tasks_off = ["normalization.Standardizer", "Task 3.12"]\n'), plan)
    assert course.tasks_off == ("normalization.Standardizer", "normalization.fold_batchnorm")
    off = {c.id: c.points for c in plan["normalization"].checks
           if c.task in ("Standardizer", "fold_batchnorm")}
    assert len(off) == 7 and dict(course.points) == dict.fromkeys(off)   # None: off, nothing else
    graded = apply_points(plan, course.configure(Config()).points)
    left = {c.id for c in graded["normalization"].checks}
    assert not left & set(off) and len(left) == len(plan["normalization"].checks) - len(off)
    assert {c.task for c in graded["normalization"].checks} == {"", "accumulated_gradients"}
    assert _total(graded) == pytest.approx(_total(plan) - sum(off.values()))
    assert all(graded[t] == plan[t] for t in plan if t != "normalization")
    text = courses.describe(course, plan)
    assert "tasks off           normalization.Standardizer (4 checks, 4 points, leave the plan" in text
    assert f"normalization     {_total({'n': graded['normalization']}):g}  (was " in text
    listed = courses.list_checks(plan)
    assert "normalization/fold_batchnorm_options  1  (task normalization.fold_batchnorm)" in listed


def test_a_topic_total_is_shared_by_the_checks_a_course_leaves_on(tmp_path, plan):
    course = load(write(tmp_path, 'tasks_off = ["normalization.accumulated_gradients"]\n'
                                  "[points.topics]\nnormalization = 100\n"), plan)
    graded = apply_points(plan, course.points)["normalization"]
    assert sum(c.points for c in graded.checks) + graded.placement_points == pytest.approx(100)
    assert not any(c.task == "accumulated_gradients" for c in graded.checks)


def test_the_exporters_plan_leaves_an_off_task_out(tmp_path):
    from autograder.exporters.graded import graded_plan, items
    course = write(tmp_path, f"tasks_off = {list(NEW_TASKS)!r}\n".replace("'", '"'))
    names = {i.name for i in items("normalization", graded_plan(("normalization",), course))}
    assert names and not names & {"standardizer_dtypes", "fold_batchnorm_options",
                                  "accumulated_gradients_mlp"}


@pytest.mark.parametrize("entry, message", [
    ("normalization.Standardiser", "no such task; did you mean 'normalization.Standardizer'?"),
    ("fold_batchnorm", "no such task; a task is named module.Name: did you mean "
                       "'normalization.fold_batchnorm'?"),
    ("normalization.batch_norm", "no check is tagged with this task, so it cannot be switched off"),
    ("Task 3.1", "no check is tagged with this task, so it cannot be switched off"),
    ("3.99", "no such task"),
])
def test_a_task_that_cannot_be_switched_off_is_named_with_the_ones_that_can(tmp_path, plan, entry, message):
    found = problems(tmp_path, f'tasks_off = ["{entry}"]\n', plan)
    assert len(found) == 1 and f"tasks_off: {entry!r}: {message}" in found[0], found
    assert "(tasks a course can switch off: " in found[0] and all(t in found[0] for t in NEW_TASKS)


def test_points_for_a_check_of_an_off_task_are_an_error(tmp_path, plan):
    found = problems(tmp_path, 'tasks_off = ["normalization.fold_batchnorm"]\n[points.checks]\n'
                               '"normalization/fold_batchnorm_options" = 3\n', plan)
    assert found == [f"{tmp_path / 'course.toml'}: points.checks.\"normalization/fold_batchnorm_options\": "
                     "this check grades normalization.fold_batchnorm, which tasks_off switches off"]
    assert problems(tmp_path, 'tasks_off = "normalization.Standardizer"\n', plan) == [
        f"{tmp_path / 'course.toml'}: tasks_off: expected an array of strings, got a string "
        "'normalization.Standardizer'"]


@pytest.mark.slow
def test_grading_with_tasks_off_leaves_their_checks_out_of_results(tmp_path):
    sub = tmp_path / "subs" / "ref"
    sub.mkdir(parents=True)
    shutil.copy(TOPICS["normalization"].solution_path(), sub / TOPICS["normalization"].filename)
    course = write(tmp_path, f"tasks_off = {list(NEW_TASKS)!r}\n".replace("'", '"'))
    proc = autograder("grade", sub, "--out", tmp_path / "out", "--topic", "normalization", "--device",
                      "cpu", "--course", course, "--quiet")
    assert proc.returncode == 0, proc.stderr
    data = results(tmp_path / "out", "ref")
    ids = {o["check_id"] for o in data["extra_data"]["outcomes"]}
    tagged = {c.id for c in hidden_plan(("normalization",))["normalization"].checks if c.task}
    assert ids and not ids & tagged
    full = _total(hidden_plan(("normalization",))) - sum(
        c.points for c in hidden_plan(("normalization",))["normalization"].checks if c.task)
    assert data["score"] == data["extra_data"]["max_score"] == pytest.approx(full)


# ----------------------------------------------------------------------------- late policy

POLICY = Config(late=((0.0, 0.9), (24.0, 0.8), (72.0, 0.0)), due="2026-03-01T23:59:00+03:00")


@pytest.mark.parametrize("submitted, multiplier, reason", [
    ("2026-03-01T23:59:00+03:00", 1.0, "submitted on time"),
    ("2026-03-01T20:59:00Z", 1.0, "submitted on time"),                   # the same instant
    ("2026-03-02T00:29:00+03:00", 0.9, "submitted 30 min late: x 0.9"),
    ("2026-03-02T23:59:00+03:00", 0.9, "submitted 24 h late: x 0.9"),      # not MORE than 24 h
    ("2026-03-03T05:59:00+03:00", 0.8, "submitted 30 h late: x 0.8"),
    ("2026-03-03 05:59", 0.8, "submitted 30 h late: x 0.8"),              # no offset: the due date's
    ("2026-03-05T00:00:00+03:00", 0.0, "submitted 72 h late: x 0"),
])
def test_the_last_late_row_that_applies_gives_the_multiplier(submitted, multiplier, reason):
    late = lateness(POLICY, submitted, "roster")
    assert (late.multiplier, late.reason) == (multiplier, reason)


def test_the_late_policy_says_when_it_cannot_be_applied():
    assert lateness(Config(), "2026-03-09T00:00:00Z") is None                # no policy: nothing
    assert "no submitted_at" in lateness(POLICY, "", "roster").reason
    assert "no due date" in lateness(replace(POLICY, due=""), "2026-03-09T00:00:00Z").reason
    grace = lateness(replace(POLICY, late=((1.0, 0.5),)), "2026-03-02T00:29:00+03:00", "roster")
    assert (grace.multiplier, grace.reason) == (1.0, "submitted 30 min late: x 1 (the first late "
                                                     "penalty starts after 1 h)")


def test_a_roster_submission_time_that_cannot_be_read_stops_with_the_line(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("submission,submitted_at\nann,2026-03-02T10:00:00Z\nbob,yesterday\n")
    with pytest.raises(RosterError, match=r"line 3: submitted_at 'yesterday' is not a date and time"):
        read_roster(roster)


def test_gradescope_metadata_gives_the_submission_time_and_the_due_date_an_extension_first(tmp_path):
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps({"created_at": "2026-03-03T05:59:00.123456+03:00",
                                "assignment": {"due_date": "2026-03-01T23:59:00.000000+03:00"},
                                "users": [{"email": "s@example.com", "name": "S"}]}))
    assert courses.gradescope_times(meta) == ("2026-03-03T05:59:00.123456+03:00",
                                              "2026-03-01T23:59:00.000000+03:00")
    meta.write_text(json.dumps({"created_at": "2026-03-03T05:59:00+03:00",
                                "assignment": {"due_date": "2026-03-01T23:59:00+03:00"},
                                "users": [{"assignment": {"due_date": "2026-03-03T23:59:00+03:00"}}]}))
    assert courses.gradescope_times(meta)[1] == "2026-03-03T23:59:00+03:00"
    assert courses.gradescope_times(tmp_path / "absent.json") == ("", "")


LATE_COURSE = """
    due = 2026-03-01T23:59:00+03:00
    tasks_off = ["dropout.scaled_at_test_dropout"]
    [[late]]
    after_hours = 0
    multiplier = 0.9
    [[late]]
    after_hours = 24
    multiplier = 0.8
    """


def dropout_reference(folder: Path) -> Path:
    """A submission with the reference dropout.py only: 20 points of dropout (LATE_COURSE
    switches its newest task, scaled_at_test_dropout, off), quick to grade."""
    folder.mkdir(parents=True)
    shutil.copy(TOPICS["dropout"].solution_path(), folder / TOPICS["dropout"].filename)
    return folder


@pytest.mark.slow
def test_the_late_policy_from_a_roster_multiplies_the_total_and_says_why(tmp_path):
    for name in ("late", "ontime", "unknown"):
        dropout_reference(tmp_path / "subs" / name)
    roster = tmp_path / "roster.csv"
    roster.write_text("submission,student_id,submitted_at\n"
                      "late,1,2026-03-03T05:59:00+03:00\n"          # 30 h late: x 0.8
                      "ontime,2,2026-03-01T12:00:00+03:00\n"
                      "unknown,3,\n")
    course, out = write(tmp_path, LATE_COURSE), tmp_path / "out"
    args = ("grade", tmp_path / "subs", "--out", out, "--topic", "dropout", "--device", "cpu",
            "--course", course, "--roster", roster, "--quiet")
    proc = autograder(*args)
    assert proc.returncode == 0, proc.stderr
    late = results(out, "late")
    assert late["score"] == 16 and late["extra_data"]["max_score"] == 20
    assert late["extra_data"]["topics"]["dropout"] == [20, 20]          # topics as graded
    assert late["extra_data"]["late"] == {
        "multiplier": 0.8, "hours": 30.0, "reason": "submitted 30 h late: x 0.8",
        "submitted_at": "2026-03-03T05:59:00+03:00", "due": "2026-03-01T23:59:00+03:00",
        "source": "roster"}
    line = ("Late policy: submitted 30 h late: x 0.8 (due 2026-03-01T23:59:00+03:00, submitted "
            "2026-03-03T05:59:00+03:00; 20 / 20 points before it, 16 after).")
    assert late["output"].splitlines()[0] == "Score 16 / 20. Base seed 20261127."
    assert f"- {line}" in late["output"]
    feedback = (out / "late" / "feedback.txt").read_text()
    assert feedback.startswith("Feedback for late: 16 / 20 points (80.0%)")
    assert f"  - {line}" in feedback
    ontime, unknown = results(out, "ontime"), results(out, "unknown")
    assert ontime["score"] == 20 and "Late policy" not in ontime["output"]
    assert ontime["extra_data"]["late"]["reason"] == "submitted on time"
    assert unknown["score"] == 20 and "the roster gives no submitted_at" in unknown["output"]
    with open(out / "gradebook.csv", newline="") as fh:
        book = {row["Student"]: row for row in csv.DictReader(fh)}
    assert (book["late"]["score"], book["late"]["dropout"], book["ontime"]["score"]) == ("16", "20", "20")
    with open(out / "scores.csv", newline="") as fh:
        scores = {row["submission"]: row for row in csv.DictReader(fh)}
    assert scores["late"]["percent"] == "80.0" and "30 h late: x 0.8" in scores["late"]["notes"]

    again = autograder(*args)                       # reused, and still multiplied
    assert again.returncode == 0, again.stderr
    assert results(out, "late")["extra_data"]["fingerprint"] == late["extra_data"]["fingerprint"]
    with open(out / "gradebook.csv", newline="") as fh:
        assert {row["Student"]: row["score"] for row in csv.DictReader(fh)}["late"] == "16"
    roster.write_text(roster.read_text().replace("2026-03-03T05:59", "2026-03-02T05:59"))  # 6 h late
    moved = autograder(*args)
    assert moved.returncode == 0, moved.stderr
    assert results(out, "late")["score"] == 18                          # graded again: x 0.9


@pytest.mark.slow
def test_the_late_policy_on_gradescope_reads_submission_metadata(tmp_path):
    from autograder.on_gradescope import run
    upload = dropout_reference(tmp_path / "submission")
    course = write(tmp_path, LATE_COURSE.replace("2026-03-01T23:59", "2026-01-01T00:00"))  # Gradescope's wins
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps({"id": 1, "created_at": "2026-03-03T05:59:00.000000+03:00",
                                "assignment": {"due_date": "2026-03-01T23:59:00.000000+03:00"},
                                "users": [{"email": "s@example.com", "id": 7, "name": "S"}]}))
    out = tmp_path / "results.json"
    assert run(upload, out, None, ("cpu",), course, meta) == 0
    data = json.loads(out.read_text())
    assert data["score"] == pytest.approx(0.8 * data["extra_data"]["topics"]["dropout"][0])
    assert data["extra_data"]["topics"]["dropout"] == [20, 20]
    assert data["extra_data"]["late"]["source"] == "Gradescope"
    assert data["extra_data"]["late"]["due"] == "2026-03-01T23:59:00.000000+03:00"
    assert "Late policy: submitted 30 h late: x 0.8" in data["output"]
    hidden = [t for t in data["tests"] if not t["extra_data"]["public"]]
    assert hidden and all(t["visibility"] == "after_due_date" for t in hidden)


def test_the_gradescope_zip_ships_the_course_file_and_grades_with_it(tmp_path):
    from autograder.exporters.gradescope import autograder_zip
    course = write(tmp_path, '[gradescope]\nhidden_visibility = "after_published"\n')
    proc = autograder("export", "gradescope", tmp_path / "ag.zip", "--course", course, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "hidden checks are shown after published" in proc.stdout
    with zipfile.ZipFile(tmp_path / "ag.zip") as archive:
        assert archive.read("course.toml").decode() == course.read_text()
        script = archive.read("run_autograder").decode()
    assert "--hidden-visibility after_published" in script
    assert "--course course.toml --metadata /autograder/submission_metadata.json" in script
    names = autograder_zip(tmp_path / "plain.zip", ROOT)                 # no course: as before
    assert "course.toml" not in names
