"""Faults in student code cost only their own checks, and grading always completes.

One submission holds an endless loop (layer_norm) and a hard crash
(BatchNormFunction.forward calls os._exit): each timeout and each crash kills
the worker, the next check gets a fresh one, and every batch_norm check passes.
"""
import dataclasses

import pytest

from autograder import grader, sandbox
from autograder.batch import hidden_plan
from autograder.checks import TopicChecks
from autograder.config import Config
from autograder.reference import ReferenceSide
from autograder.variants import apply
from autograder.sandbox import Limits, WorkerDied, WorkerPool
from autograder.submission import Submission
from autograder.topics import ROOT, TOPICS

pytestmark = pytest.mark.slow

TOPIC = TOPICS["normalization"]
SOLUTION = TOPIC.solution_path(ROOT).read_text()
PLAN = hidden_plan(("normalization",))["normalization"]

LOOP = ("    # BEGIN SOLUTION Task 3.2\n",
        "    # BEGIN SOLUTION Task 3.2\n    while True:\n        pass\n")
CRASH = ("        # BEGIN SOLUTION Task 3.7\n",
         "        # BEGIN SOLUTION Task 3.7\n        import os\n        os._exit(1)\n")

# Every batch_norm / module / BatchNormFunction check, and two of the checks that call
# layer_norm (the function and the module), with a 1 s time limit: each timeout costs
# its whole limit. Every other limit is the grader's own.
LOOPING = {c.id for c in PLAN.checks if c.name in ("layer_norm_last_dim", "layernorm_module")}
KEPT = [dataclasses.replace(c, timeout=1.0) if c.id in LOOPING else c for c in PLAN.checks
        if c.id in LOOPING or not c.name.startswith(("layer_norm_", "layernorm_"))]
CRASHING = {c.id for c in KEPT if c.name.startswith("batchnorm_function_")}
HEALTHY = {c.id for c in KEPT} - LOOPING - CRASHING
PLACEMENT = "normalization/device_placement"
CONFIG = Config(devices=("cpu",), topics=("normalization",), jobs=1)


def submission(*pairs) -> Submission:
    source = apply(SOLUTION, tuple(pairs), "fault")
    return Submission(name="faulty", files={TOPIC.filename: source})


def grade(sub: Submission, plan: TopicChecks):
    reference = ReferenceSide("solutions")
    pool = WorkerPool(Limits(memory_bytes=CONFIG.memory_bytes), spare=1)
    try:
        return grader.grade_submission(sub, {"normalization": plan}, reference, pool, CONFIG)
    finally:
        pool.close()
        reference.close()


@pytest.fixture(scope="module")
def faulty():
    """(result, number of workers taken) for the submission with the loop and the crash."""
    taken = []
    original = WorkerPool.take

    def counting_take(self):
        worker = original(self)
        taken.append(worker.pid)
        return worker

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(WorkerPool, "take", counting_take)
        plan = TopicChecks("normalization", KEPT, PLAN.mistakes, PLAN.placement_points)
        result = grade(submission(LOOP, CRASH), plan)
    return result, taken


def cases(result):
    return {o.check_id: o for o in result.outcomes if o.device == "cpu"}


def test_grading_completes_with_an_outcome_for_every_case(faulty):
    result, _ = faulty
    assert set(cases(result)) == {c.id for c in KEPT}
    assert any(o.check_id == PLACEMENT for o in result.outcomes)


def test_endless_loop_is_reported_as_timeout_on_its_own_checks(faulty):
    result, _ = faulty
    for check_id in LOOPING:
        o = cases(result)[check_id]
        assert o.status == "timeout", (check_id, o.status, o.message)
        assert "did not finish within" in o.message
        assert o.points == 0


def test_os_exit_is_reported_as_an_error_on_its_own_checks(faulty):
    result, _ = faulty
    for check_id in CRASHING:
        o = cases(result)[check_id]
        assert o.status == "error", (check_id, o.status, o.message)
        assert "stopped the grading process" in o.message
        assert "status 1" in o.message


def test_every_other_check_still_passes(faulty):
    result, _ = faulty
    not_passed = {c: (o.status, o.message) for c, o in cases(result).items()
                  if c in HEALTHY and o.status != "passed"}
    assert not_passed == {}


def test_each_timeout_and_crash_gets_a_fresh_worker(faulty):
    _, taken = faulty
    assert len(taken) == len(set(taken))                 # never the same process twice
    assert len(taken) >= 1 + len(LOOPING) + len(CRASHING)


def test_device_placement_is_not_charged_for_another_checks_timeout(faulty):
    result, _ = faulty
    placement = next(o for o in result.outcomes if o.check_id == PLACEMENT)
    assert placement.status == "passed", (placement.status, placement.message)


def test_a_worker_that_cannot_restart_for_the_placement_probe_does_not_stop_grading(monkeypatch):
    """The probe that cannot run is inconclusive: grading completes and nothing else is charged."""
    crashing_only = TopicChecks("normalization",
                                [c for c in PLAN.checks if c.name in ("batch_norm_train_2d",
                                                                      "batchnorm_function_backward")],
                                [], PLAN.placement_points)
    probing = []
    original_placement = grader.CaseRunner.placement
    original_request = sandbox.Worker.request

    def placement(*args, **kwargs):
        probing.append(True)
        return original_placement(*args, **kwargs)

    def request(self, payload, timeout):
        if probing and b'"configure"' in payload:        # the new worker dies while starting
            self.kill()
            raise WorkerDied("the worker exited with status 1")
        return original_request(self, payload, timeout)

    monkeypatch.setattr(grader.CaseRunner, "placement", placement)
    monkeypatch.setattr(sandbox.Worker, "request", request)
    result = grade(submission(CRASH), crashing_only)            # returns: no WorkerDied escapes
    assert probing
    assert [o.check_id for o in result.outcomes if o.check_id == PLACEMENT] == [PLACEMENT]
    assert cases(result)["normalization/batch_norm_train_2d"].status == "passed"
    assert cases(result)["normalization/batchnorm_function_backward"].status == "error"
