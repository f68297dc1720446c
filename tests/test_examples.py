"""The bundled example submissions (examples/submissions, built by tools/make_examples.py)
get the scores their stories say: each one is the reference with one student's change.
"""
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.batch import grade_batch, hidden_plan
from autograder.checks import TopicChecks
from autograder.config import Config
from autograder.hidden import normalization as hidden
from autograder.outcome import Outcome

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "submissions"
PLAN = hidden_plan(("normalization",))["normalization"]
CHECKS = PLAN.checks
FULL = sum(c.points for c in CHECKS) + hidden.PLACEMENT_POINTS
PLACEMENT = "normalization/device_placement"

BATCH_NORM = {c.id for c in CHECKS if c.name.startswith(("batch_norm_", "batchnorm1d_", "batchnorm2d_"))}
LAYER_NORM = {c.id for c in CHECKS if c.name.startswith(("layer_norm_", "layernorm_"))}
FUNCTION = {c.id for c in CHECKS if c.name.startswith("batchnorm_function_")}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """name -> (score, max_score, {check_id: Outcome}, feedback) for every example, graded once.

    The hidden plan as it is, except that the checks calling layer_norm get a 1 s time
    limit, so frank's endless loop costs 1 s a check instead of 5. (A smaller
    timeout_scale would shorten every other limit too, which honest code on a loaded
    machine needs.)
    """
    out = tmp_path_factory.mktemp("examples")
    checks = [dataclasses.replace(c, timeout=1.0) if c.id in LAYER_NORM else c for c in CHECKS]
    plan = {"normalization": TopicChecks("normalization", checks, PLAN.mistakes, PLAN.placement_points)}
    config = Config(topics=("normalization",), devices=("cpu",), jobs=2)
    graded = grade_batch([EXAMPLES], out, config, plan=plan, regrade=True)
    table = {}
    for g in graded:
        data = json.loads((out / g.name / "results.json").read_text())
        outcomes = [Outcome(**o) for o in data["extra_data"]["outcomes"]]
        table[g.name] = (g.score.score, g.score.max_score, {o.check_id: o for o in outcomes},
                         (out / g.name / "feedback.txt").read_text())
    return table


def failing(cases: dict) -> dict[str, Outcome]:
    return {c: o for c, o in cases.items() if o.status not in ("passed", "skipped")}


def test_every_example_is_graded(results):
    assert set(results) == {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}


def test_alice_the_reference_in_the_assignments_tree_gets_full_marks(results):
    score, top, cases, _ = results["alice"]
    assert score == top == FULL
    assert failing(cases) == {}


def test_bob_loses_the_running_var_checks_with_biased_variance_named(results):
    score, top, cases, feedback = results["bob"]
    lost = failing(cases)
    assert lost and score < top
    assert set(lost) <= BATCH_NORM
    for o in lost.values():
        assert o.status == "failed"
        assert "Likely cause: running_var was updated with the biased variance" in o.message
    assert any("running_var" in o.message.splitlines()[0] for o in lost.values())
    assert all(cases[c].status == "passed" for c in LAYER_NORM | FUNCTION)
    # the feedback says the cause once, with every check it explains under it
    assert feedback.count("Likely cause:") == 1
    header = "Likely cause: running_var was updated with the biased variance"
    block = feedback.split(header, 1)[1].split("\n\n", 1)[0]
    assert f"It explains {len(lost)} failed checks" in block
    assert all(o.title in block for o in lost.values())
    assert "Reproduce:" not in feedback


def test_carol_a_zip_loses_running_stat_checks_with_the_momentum_mistake_named(results):
    score, top, cases, _ = results["carol"]
    lost = {c: o for c, o in failing(cases).items() if c != PLACEMENT}
    assert lost and score < top
    assert set(lost) <= BATCH_NORM
    for o in lost.values():
        assert "Likely cause: momentum weighs the old running value" in o.message
        assert "differs from the expected value" in o.message.split(".")[0], o.message
    assert all(cases[c].status == "passed" for c in LAYER_NORM | FUNCTION)


def test_dave_loses_only_device_placement(results):
    score, _, cases, _ = results["dave"]
    assert list(failing(cases)) == [PLACEMENT]
    o = cases[PLACEMENT]
    assert o.status == "failed" and "device" in o.message
    assert score == FULL - hidden.PLACEMENT_POINTS


def test_erin_gets_zero_with_a_syntax_error_naming_the_line(results):
    source = (EXAMPLES / "erin" / "normalization.py").read_text()
    with pytest.raises(SyntaxError) as info:
        compile(source, "normalization.py", "exec")
    line = info.value.lineno
    score, top, cases, feedback = results["erin"]
    assert score == 0 and top == FULL
    for check_id, o in cases.items():
        if check_id != PLACEMENT:
            assert o.status == "error"
            assert f"normalization.py has a syntax error (line {line})" in o.message
    assert f"line {line}" in feedback


def test_frank_times_out_on_layer_norm_checks_and_keeps_batch_norm_points(results):
    score, _, cases, _ = results["frank"]
    timed_out = {c for c, o in cases.items() if o.status == "timeout" and c != PLACEMENT}
    assert timed_out == LAYER_NORM
    assert all(cases[c].status == "passed" for c in BATCH_NORM | FUNCTION)
    kept = sum(c.points for c in CHECKS if c.id in BATCH_NORM | FUNCTION)
    assert score >= kept


def test_frank_gets_timeouts_only_on_layer_norm_checks(results):
    _, _, cases, _ = results["frank"]
    assert {c for c, o in cases.items() if o.status == "timeout"} == LAYER_NORM


def test_grace_a_notebook_gets_full_normalization_marks(results):
    score, top, cases, _ = results["grace"]
    assert score == top == FULL
    assert failing(cases) == {}


def test_heidi_is_forbidden_on_batch_norm_checks_and_keeps_the_others(results):
    score, _, cases, _ = results["heidi"]
    for check_id in BATCH_NORM:
        assert cases[check_id].status == "forbidden", check_id
        assert "torch.nn.functional.batch_norm" in cases[check_id].message
    for check_id in LAYER_NORM | FUNCTION:
        assert cases[check_id].status == "passed", (check_id, cases[check_id].message)
    assert score >= sum(c.points for c in CHECKS if c.id in LAYER_NORM | FUNCTION)


def test_examples_are_up_to_date_with_the_solutions():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "make_examples.py"), "--check"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
