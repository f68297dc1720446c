"""The same submission gets the same grade on every run.

A submission may draw from the global generators (weight initialisation, its own
dropout masks, `random`, numpy). The grader seeds them in the worker with the
check's seed before every driver, so a run in a fresh worker, a later run of the
batch and the student's own `check` with the seed from the feedback all see the
same draws; a different base seed gives different ones.
"""
import dataclasses

import pytest

from autograder import grader
from autograder.checks import Check, TopicChecks
from autograder.config import Config
from autograder.reference import ReferenceSide
from autograder.sandbox import Limits, WorkerPool
from autograder.submission import Submission
from autograder.topics import ROOT, TOPICS

pytestmark = pytest.mark.slow

TOPIC = TOPICS["normalization"]
DRAWS = '''

def draws():
    import random
    import numpy
    return [float(torch.rand(1)), random.random(), float(numpy.random.rand())]
'''
SUBMISSION = Submission(name="draws", files={TOPIC.filename: TOPIC.solution_path(ROOT).read_text() + DRAWS})


def _driver(impl, t):
    return {"draws": impl.draws()}


def _judge(got):
    return f"draws: {got['draws']}"            # fails, and says what it saw


CHECK = Check(id="normalization/global_draws", topic="normalization", name="global_draws",
              title="Global random draws", points=1.0, driver=_driver, judge=_judge, placement=False)
PLAN = TopicChecks(topic="normalization", checks=[CHECK, dataclasses.replace(
    CHECK, id="normalization/global_draws_again", name="global_draws_again")])


def _messages(base_seed: int) -> list[str]:
    reference, pool = ReferenceSide("solutions"), WorkerPool(Limits(), spare=1)
    try:
        result = grader.grade_submission(SUBMISSION, {"normalization": PLAN}, reference, pool,
                                         Config(devices=("cpu",), topics=("normalization",),
                                                base_seed=base_seed))
    finally:
        pool.close()
        reference.close()
    return [o.message for o in result.outcomes]


def test_global_draws_are_seeded_per_check_and_repeat_across_runs():
    first, again = _messages(0), _messages(0)
    assert all("draws: [" in m for m in first), first
    assert first == again                       # fresh workers, same draws
    assert first[0] != first[1]                 # each check has its own seed
    assert _messages(1) != first                # and the base seed changes them
