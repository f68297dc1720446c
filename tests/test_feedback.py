"""The student's feedback groups failures by likely cause; the instructor's file keeps
every case with the line that replays it (autograder/report.py)."""
from autograder.outcome import Outcome
from autograder.report import feedback, instructor_feedback
from autograder.scoring import score

CAUSE = "running_var was updated with the biased variance."


def case(name, status="passed", points=1.0, message="", public=False, topic="normalization"):
    return Outcome(check_id=f"{topic}/{name}", device="cpu", topic=topic, title=f"{name}: what it checks.",
                   status=status, points=points if status == "passed" else 0.0, max_points=points,
                   message=message, public=public, seed=7)


OUTCOMES = [
    case("bn_train", "failed", 2, f"running_var differs.\nLikely cause: {CAUSE}"),
    case("bn_steps", "failed", 1, f"running_var differs by 0.1.\nLikely cause: {CAUSE}"),
    case("bn_public", "failed", 1, f"running_var differs.\nLikely cause: {CAUSE}", public=True),
    case("ln_eps", "failed", 1, "out differs from the expected value."),
    case("ln_forward"),
]


def _texts():
    total = score(OUTCOMES)
    return (feedback("bob", OUTCOMES, total, [], 1, "Devices: cpu"),
            instructor_feedback("bob", OUTCOMES, total, [], 1, "Devices: cpu"))


def test_one_cause_is_said_once_with_its_checks_and_the_points_they_cost():
    student, _ = _texts()
    assert student.count("Likely cause:") == 1
    assert f"Likely cause: {CAUSE}\n  It explains 3 failed checks (4 points lost):" in student
    block = student.split(f"Likely cause: {CAUSE}", 1)[1].split("\n\n", 1)[0]
    for name in ("bn_train", "bn_steps", "bn_public"):
        assert f"{name}: what it checks." in block
    assert "For example, on cpu:\n    running_var differs." in block
    assert "Run it alone: python -m autograder check normalization --only bn_public --device cpu" in block


def test_failures_without_a_cause_come_next_with_what_the_check_tried_and_passes_last():
    student, _ = _texts()
    rest = student.split("Failed, no known cause:", 1)[1]
    assert rest.index("ln_eps: what it checks.") < rest.index("Passed:") < rest.index("ln_forward")
    assert ("What it tried: ln_eps: what it checks (hidden check ln_eps, on cpu; its inputs are "
            "not shown).") in rest


def test_the_student_never_reads_how_to_replay_a_hidden_case_and_the_instructor_always_does():
    student, instructor = _texts()
    assert "Reproduce:" not in student
    for name in ("bn_train", "bn_steps", "ln_eps"):
        assert f"Reproduce: check normalization/{name}, device cpu, seed 7 (base seed 1)" in instructor
    assert instructor.count(f"Likely cause: {CAUSE}") == 3          # every case, whole
    assert "Run it alone:" in instructor                            # a public case: the student's command


def test_a_submission_that_passes_everything_lists_its_checks():
    passed = [case("ln_forward"), case("bn_train", points=2)]
    text = feedback("alice", passed, score(passed), [], 1)
    assert "All checks:" in text and "Likely cause" not in text and "Failed" not in text
