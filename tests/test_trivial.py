"""No credit for doing nothing: every trivial submission of the bug bank earns 0 points.

Each entry of TRIVIAL in autograder/bank/<topic>.py is the whole topic done trivially in
one way (autograder.audit.trivial_source: the reference with every solution region's
body replaced by one that raises ValueError, returns None, returns its input or returns
zeros; constructors do nothing). A check that such a submission passes rewards a
property that doing nothing satisfies ("returns None without a closure", "leaves p.grad
unchanged"): it must earn only together with the behaviour it guards.

The audit tests (test_audit.py) grade these entries with the
rest of the bank; here they are graded alone, one batch a topic (seconds, not minutes).
The counts below are floors, so the family cannot shrink silently.
"""
from __future__ import annotations

import re
import time

import pytest

from autograder import audit, variants
from autograder.config import Config
from autograder.topics import TOPICS

# topic: at least this many trivial entries
FLOORS = {"autograd": 4, "optimizers": 3, "normalization": 4, "dropout": 4, "residual": 4,
          "ensembles": 5, "capstone": 5}
TRIVIAL = [v for v in variants.every() if v.kind == "trivial"]


def _regions(topic: str) -> int:
    return TOPICS[topic].solution_path().read_text().count("# BEGIN SOLUTION")


def test_every_topic_has_a_trivial_family():
    assert set(FLOORS) == set(TOPICS)
    for topic, floor in FLOORS.items():
        entries = [t for t in TRIVIAL if t.topic == topic]
        assert len(entries) >= floor, (topic, len(entries))
        assert {"raise", "none", "identity"} <= {t.body_kind for t in entries}, topic


@pytest.mark.parametrize("topic", sorted(FLOORS))
def test_trivial_entries_are_well_formed(topic):
    """Cheap, no grading: unique names across the whole bank, a stated reason, and a source
    that compiles, keeps every region's fence and has no solution code or stub left."""
    names = [e.name for e in variants.every()]
    assert len(names) == len(set(names))
    sources = []
    for entry in (t for t in TRIVIAL if t.topic == topic):
        assert entry.why, entry.name
        source = audit.entry_source(entry)
        compile(source, entry.name, "exec")
        assert source.count("# ===== YOUR CODE:") == _regions(topic), entry.name
        assert "NotImplementedError" not in source and "# BEGIN SOLUTION" not in source, entry.name
        sources.append(source)
    assert len(sources) == len(set(sources)), "two trivial entries are the same submission"


def _body(source: str, task: str) -> str:
    """The lines between a region's fences, stripped."""
    match = re.search(rf"# ===== YOUR CODE: {re.escape(task)} =====\n(.*?)\n\s*# ===== END YOUR CODE",
                      source, re.S)
    return "\n".join(line.strip() for line in match[1].splitlines())


def test_trivial_source_gives_each_region_the_body_of_its_kind():
    none = audit.trivial_source("optimizers", "none")
    assert _body(none, "Task 2.1") == "pass"                  # a constructor does nothing
    assert _body(none, "Task 2.2") == "return None"           # step() returns None at once
    assert _body(audit.trivial_source("optimizers", "identity"), "Task 2.2") == "pass"  # -> loss
    assert _body(audit.trivial_source("autograd", "identity"), "Task 1.1") == "return x"  # not fn
    assert _body(audit.trivial_source("normalization", "zeros"), "Task 3.1") == \
        "return torch.zeros_like(x)"
    assert _body(audit.trivial_source("dropout", "raise"), "Task 4.2") == \
        'raise ValueError("trivial submission")'
    given = audit.trivial_source("residual", "identity", (("Task 5.5", "return nn.Sequential()"),))
    assert _body(given, "Task 5.5") == "return nn.Sequential()"
    with pytest.raises(ValueError, match="no region Task 9.9"):
        audit.trivial_source("residual", "none", (("Task 9.9", "pass"),))
    with pytest.raises(ValueError, match="unknown body kind"):
        audit.trivial_source("residual", "nothing")


@pytest.mark.slow
@pytest.mark.parametrize("topic", sorted(FLOORS))
def test_trivial_submissions_earn_zero(topic):
    """Every trivial entry of the topic, graded on its topic only, earns exactly 0 points."""
    started = time.monotonic()
    config = Config(devices=("cpu",), jobs=2, timeout_scale=3.0)
    try:
        entries = audit.run_audit(config, only=topic, kinds=("trivial",))
    except SystemError as exc:
        # CPython 3.11 < 3.11.8 (gh-106905), as in test_audit_part_a: grade the topic again.
        if "AST constructor recursion depth mismatch" not in str(exc):
            raise
        entries = audit.run_audit(config, only=topic, kinds=("trivial",))
    print()
    print(audit.report(entries, time.monotonic() - started))
    assert len(entries) >= FLOORS[topic]
    assert all(e.kind == "trivial" for e in entries)
    earned = [f"{e.name}: {e.problem}" for e in entries if not e.ok]
    assert not earned, "\n".join(earned)
