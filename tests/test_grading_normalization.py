"""Grading normalization end to end: the reference, the stub, and the bugs the brief
names (device placement, forbidden built-ins, in-place changes), case by case.

All submissions are built from the reference solution and variants of the bank
(autograder/bank/normalization.py) and graded in one batch (module-scoped), the way
an instructor grades a course. The known mistakes are proven by the audit
(tests/test_audit.py), each with its exact cause.
"""
import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from autograder import variants
from autograder.batch import grade_batch, hidden_plan
from autograder.config import Config
from autograder.hidden import normalization as hidden
from autograder.outcome import Outcome
from autograder.topics import ROOT, TOPICS

pytestmark = pytest.mark.slow

TOPIC = TOPICS["normalization"]
SOLUTION = TOPIC.solution_path(ROOT).read_text()
STUB = (TOPIC.assignment_dir(ROOT) / TOPIC.filename).read_text()
CHECKS = hidden_plan(("normalization",))["normalization"].checks
CUDA = torch.cuda.is_available()

BATCH_NORM_CHECKS = {c.id for c in CHECKS if c.name.startswith(("batch_norm_", "batchnorm1d_", "batchnorm2d_"))}
LAYER_NORM_CHECKS = {c.id for c in CHECKS if c.name.startswith(("layer_norm_", "layernorm_"))}
FUNCTION_CHECKS = {c.id for c in CHECKS if c.name.startswith("batchnorm_function_")}
PLACEMENT = "normalization/device_placement"


def variant(name: str) -> str:
    """normalization.py as the bank's variant `name` has it."""
    return variants.source_of(variants.by_name(name))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


VARIANTS = {
    "reference": SOLUTION,
    "stub": STUB,
    "cpu-tensor": variant("nm-tensor-made-on-the-cpu"),          # examples' dave
    "functional": variant("nm-functional-batch-norm"),           # examples' heidi
    "functional-from-import": variant("nm-functional-imported-by-name"),
    "in-place": variant("nm-input-changed-in-place"),            # x.sub_(mean)
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """name -> (Graded, [Outcome]) for every variant, graded in one batch."""
    root = tmp_path_factory.mktemp("grading")
    sources = dict(VARIANTS)
    for name, text in sources.items():
        (root / "subs" / name).mkdir(parents=True)
        (root / "subs" / name / TOPIC.filename).write_text(text)
    config = Config(devices=("cpu", "cuda"), topics=("normalization",), jobs=2)
    results = grade_batch([root / "subs"], root / "out", config, regrade=True)
    out = {}
    for g in results:
        data = json.loads((root / "out" / g.name / "results.json").read_text())
        out[g.name] = (g, [Outcome(**o) for o in data["extra_data"]["outcomes"]])
    yield out
    shutil.rmtree(root, ignore_errors=True)


def by_case(outcomes) -> dict[tuple[str, str], Outcome]:
    return {(o.check_id, o.device): o for o in outcomes}


def ran(outcomes) -> list[Outcome]:
    return [o for o in outcomes if o.status != "skipped"]


FULL_MARKS = sum(c.points for c in CHECKS) + hidden.PLACEMENT_POINTS


# ----------------------------------------------------------------------------- reference and stub

def test_every_variant_was_graded(graded):
    assert set(graded) == set(VARIANTS)


def test_reference_earns_full_marks(graded):
    g, outcomes = graded["reference"]
    assert g.score.score == g.score.max_score == FULL_MARKS
    assert [o.case_id for o in ran(outcomes) if o.status != "passed"] == []


def test_correct_or_unrelated_failures_never_get_a_likely_cause(graded):
    for name in ("reference", "stub", "cpu-tensor", "functional", "in-place"):
        _, outcomes = graded[name]
        assert not [o.case_id for o in outcomes if "Likely cause" in o.message], name


def test_stub_scores_zero_and_every_check_is_reported_not_implemented(graded):
    g, outcomes = graded["stub"]
    assert g.score.score == 0
    assert g.score.max_score == FULL_MARKS
    cases = by_case(outcomes)
    expected = {(c.id, d) for c in CHECKS for d in ("cpu", "cuda")} | {(PLACEMENT, "meta")}
    assert set(cases) == expected                            # none missing, none extra
    for (check_id, device), o in cases.items():
        if device == "cuda" and not CUDA:
            assert o.status == "skipped"
        else:
            assert o.status == "not_implemented", (o.case_id, o.status, o.message)
            if check_id != PLACEMENT:
                assert re.search(r"Not attempted yet \(Task 3\.\d", o.message), o.message


@pytest.mark.skipif(CUDA, reason="this machine has a GPU: CUDA cases run")
def test_cuda_cases_are_skipped_with_no_points_at_stake_without_a_gpu(graded):
    for name in ("reference", "stub"):
        g, outcomes = graded[name]
        cuda = [o for o in outcomes if o.device == "cuda"]
        assert len(cuda) == len(CHECKS)
        for o in cuda:
            assert (o.status, o.points, o.max_points) == ("skipped", 0.0, 0.0)
            assert "No CUDA device" in o.message
        cpu = {o.check_id: o.max_points for o in outcomes if o.device == "cpu"}
        assert cpu == {c.id: c.points for c in CHECKS}      # the CPU case carries all the points


@pytest.mark.gpu
def test_cuda_cases_run_and_share_the_points_with_cpu_on_a_gpu(graded):
    g, outcomes = graded["reference"]
    for check in CHECKS:
        cases = [o for o in outcomes if o.check_id == check.id]
        assert {o.device for o in cases} == {"cpu", "cuda"}
        assert sum(o.max_points for o in cases) == pytest.approx(check.points)
        assert all(o.status == "passed" for o in cases)


# ----------------------------------------------------------------------------- named student bugs

def test_cpu_tensor_inside_batch_norm_fails_only_device_placement(graded):
    g, outcomes = graded["cpu-tensor"]
    not_passed = [o for o in ran(outcomes) if o.status != "passed"]
    assert [o.check_id for o in not_passed] == [PLACEMENT]
    o = not_passed[0]
    assert o.status == "failed" and o.device == "meta"
    assert "device" in o.message and "weight" in o.message       # the line that fails on meta
    assert g.score.score == FULL_MARKS - hidden.PLACEMENT_POINTS


def test_functional_batch_norm_is_forbidden_on_batch_norm_checks_only(graded):
    g, outcomes = graded["functional"]
    cases = by_case(ran(outcomes))
    for (check_id, _), o in cases.items():
        if check_id in BATCH_NORM_CHECKS:
            assert o.status == "forbidden", o.case_id
            assert "torch.nn.functional.batch_norm" in o.message
            assert o.points == 0
        elif check_id in LAYER_NORM_CHECKS | FUNCTION_CHECKS:
            assert o.status == "passed", (o.case_id, o.message)
    kept = sum(c.points for c in CHECKS if c.id in LAYER_NORM_CHECKS | FUNCTION_CHECKS)
    assert g.score.score >= kept


def test_functional_imported_by_name_at_module_level_still_keeps_layer_norm_points(graded):
    _, outcomes = graded["functional-from-import"]
    cases = by_case(ran(outcomes))
    assert all(cases[(c, "cpu")].status == "forbidden" for c in BATCH_NORM_CHECKS)
    assert all(cases[(c, "cpu")].status == "passed" for c in LAYER_NORM_CHECKS | FUNCTION_CHECKS)


def test_changing_the_input_in_place_is_reported_as_an_in_place_change(graded):
    g, outcomes = graded["in-place"]
    cases = by_case(outcomes)
    o = cases[("normalization/batch_norm_train_2d", "cpu")]
    assert o.status == "failed"
    assert "batch_norm(...) modified its argument 0 in place" in o.message
    assert "inputs unchanged" in o.message
    module = cases[("normalization/batchnorm1d_train_steps_state_dict", "cpu")]
    assert module.status == "failed" and "modified its argument 0 in place" in module.message
    assert all(cases[(c, "cpu")].status == "passed" for c in LAYER_NORM_CHECKS)
    assert g.score.score < g.score.max_score


def test_updating_running_stats_in_place_is_not_called_an_in_place_change(graded):
    _, outcomes = graded["reference"]
    assert not [o for o in outcomes if "in place" in o.message]
