"""Grading normalization end to end: the reference, the stub, every known mistake,
and the bugs the brief names (device placement, forbidden built-ins, in-place changes).

All submissions are built from the reference solution and graded in one batch
(module-scoped), the way an instructor grades a course.

Known mistakes share submissions to keep the batch small (a worker costs an
`import torch`): mistakes go into the same submission, their patches applied
together, only when each of them keeps a "witness" check on which the combined
code gives exactly that mistake's outputs (checked on the trusted side first).
The grader must then name each mistake on its witness.
"""
import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from autograder.batch import grade_batch, hidden_plan
from autograder.checks import Mistake
from autograder.compare import compare
from autograder.config import Config
from autograder.reference import ReferenceSide, apply_patch
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


def patch(*pairs) -> str:
    return apply_patch(SOLUTION, Mistake("variant", "variant", tuple(pairs)))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


VARIANTS = {
    "reference": SOLUTION,
    "stub": STUB,
    # like examples' dave: a tensor made on the CPU inside batch_norm
    "cpu-tensor": patch((
        "    out = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)\n"
        "    if weight is not None:\n",
        "    out = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)\n"
        "    if weight is None:\n"
        "        weight = torch.ones(x.shape[1])\n"
        "    if weight is not None:\n")),
    # like examples' heidi: F.batch_norm in batch_norm
    "functional": patch(
        ("import torch\n", "import torch\nimport torch.nn.functional as F\n"),
        ("    # BEGIN SOLUTION Task 3.1\n",
         "    # BEGIN SOLUTION Task 3.1\n"
         "    return F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)\n")),
    # the same built-in, imported by name at module level and used only in batch_norm
    "functional-from-import": patch(
        ("import torch\n", "import torch\nfrom torch.nn.functional import batch_norm as _bn\n"),
        ("    # BEGIN SOLUTION Task 3.1\n",
         "    # BEGIN SOLUTION Task 3.1\n"
         "    return _bn(x, running_mean, running_var, weight, bias, training, momentum, eps)\n")),
    # subtracts the mean from the caller's x in place
    "in-place": patch((
        "    out = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)\n",
        "    out = x.sub_(mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)\n")),
}


# ----------------------------------------------------------------------------- mistakes, trusted side

def same_run(a, b) -> bool:
    """Two driver runs that a comparison cannot tell apart."""
    if (a.error is None) != (b.error is None):
        return False
    if a.error is not None:
        return type(a.error) is type(b.error)
    return a.mutated == b.mutated and set(a.outputs) == set(b.outputs) and all(
        compare(n, b.outputs[n], v) is None for n, v in a.outputs.items())


def nameable(expected, wrong) -> bool:
    """The grader names a mistake only where both runs return outputs and some output differs."""
    return (expected.error is None and wrong.error is None
            and any(compare(n, wrong.outputs.get(n), v) is not None for n, v in expected.outputs.items()))


@pytest.fixture(scope="module")
def trusted():
    """{mistake name: checks on which it can be named}, and the submissions (groups) to grade."""
    reference = ReferenceSide("solutions")
    seeds = {c.name: c.seed(Config.base_seed) for c in CHECKS}
    by_name = {c.name: c for c in CHECKS}
    try:
        def run(mistake, name):
            return reference.mistaken(mistake, by_name[name], "cpu", seeds[name])

        affected = {}
        for m in hidden.MISTAKES:
            names = {c.name for c in CHECKS
                     if nameable(reference.expected(c, "cpu", seeds[c.name]), run(m, c.name))}
            affected[m.name] = names & set(m.checks) if m.checks else names

        def witnesses(members, combined):
            """member name -> checks on which the combined code behaves exactly like it alone."""
            return {m.name: {n for n in affected[m.name] if same_run(run(m, n), run(combined, n))}
                    for m in members}

        groups = []                              # [members, combined Mistake]
        for m in sorted(hidden.MISTAKES, key=lambda m: len(affected[m.name])):
            if not affected[m.name]:
                continue                         # reported by its own test below
            for group in groups:
                members = group[0] + [m]
                pairs = tuple(p for x in members for p in x.patch)
                combined = Mistake(" + ".join(x.name for x in members), "", pairs)
                try:
                    apply_patch(SOLUTION, combined)
                except ValueError:
                    continue                     # their patches touch the same text
                if all(witnesses(members, combined).values()):
                    group[:] = [members, combined]
                    break
            else:
                groups.append([[m], Mistake(m.name + " (alone)", "", m.patch)])
        yield affected, [(members, apply_patch(SOLUTION, combined)) for members, combined in groups]
    finally:
        reference.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, trusted):
    """name -> (Graded, [Outcome]) for every variant and mistake group, graded in one batch."""
    _, groups = trusted
    root = tmp_path_factory.mktemp("grading")
    sources = dict(VARIANTS)
    for i, (_, text) in enumerate(groups):
        sources[f"mistakes-{i}"] = text
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

def test_every_variant_was_graded(graded, trusted):
    assert set(graded) == set(VARIANTS) | {f"mistakes-{i}" for i in range(len(trusted[1]))}


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


# ----------------------------------------------------------------------------- known mistakes

MISTAKE_IDS = [m.name for m in hidden.MISTAKES]


@pytest.mark.parametrize("mistake", hidden.MISTAKES, ids=MISTAKE_IDS)
def test_each_known_mistake_applies_to_the_reference_and_changes_some_check(trusted, mistake):
    affected, _ = trusted
    assert apply_patch(SOLUTION, mistake) != SOLUTION
    assert affected[mistake.name], "no hidden check returns outputs that show this mistake"


@pytest.mark.parametrize("mistake", hidden.MISTAKES, ids=MISTAKE_IDS)
def test_each_known_mistake_loses_points_and_is_named(graded, trusted, mistake):
    affected, groups = trusted
    index = next((i for i, (members, _) in enumerate(groups) if mistake in members), None)
    assert index is not None, "no hidden check sees this mistake, so no submission shows it"
    g, outcomes = graded[f"mistakes-{index}"]
    assert g.score.score < g.score.max_score
    failed = [o for o in outcomes if o.status == "failed"]
    named = [o for o in failed if f"Likely cause: {mistake.message}" in o.message]
    assert named, [o.message.splitlines()[-1] for o in failed]
    for o in named:
        assert o.check_id.split("/")[1] in affected[mistake.name]
        assert o.points == 0


def test_known_mistakes_cost_only_checks_of_what_they_touch(trusted):
    affected, _ = trusted
    layer = {c.split("/")[1] for c in LAYER_NORM_CHECKS}
    function = {c.split("/")[1] for c in FUNCTION_CHECKS}
    assert affected["layer_norm unbiased variance"] and affected["layer_norm unbiased variance"] <= layer
    assert affected["biased running_var"] and not affected["biased running_var"] & (layer | function)


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
