"""The hidden checks of normalization, dropout, residual and ensembles, proven on a bank
of known student bugs and correct variants (tests/bugbank/, autograder/audit.py).

Every bug must lose points in one of the checks meant to catch it, every correct
variant must earn full marks, and every trivial submission (the topic done trivially,
tests/test_trivial.py) must earn 0 points. The bank may grow but not shrink: the counts
below are floors. Run with `pytest -s` to see the audit's report. The audits take a few minutes
(one per topic, each grading only its own topic) and are marked slow.
"""
import importlib
import time

import pytest

from autograder import audit
from autograder.config import Config

# topic: (at least this many bugs, at least this many variants)
FLOORS = {
    "normalization": (55, 12),
    "dropout": (16, 5),
    "residual": (15, 4),
    "ensembles": (26, 5),
}
BUGS, VARIANTS = audit.load_bank()


def _check_names(topic: str) -> set[str]:
    hidden = importlib.import_module(f"autograder.hidden.{topic}")
    names = {c.name for c in hidden.CHECKS}
    if getattr(hidden, "PLACEMENT_POINTS", 0):
        names.add("device_placement")
    return names


def _run_audit(topic: str) -> list[audit.Entry]:
    # timeout_scale=3: the audit judges verdicts, not speed. On a loaded machine an honest
    # call can overrun its limit, and timeouts on the meta device leave the placement probe
    # without a conclusive run, which placement.py counts as a lost point.
    config = Config(devices=("cpu",), jobs=2, timeout_scale=3.0)
    try:
        return audit.run_audit(config, only=topic)
    except SystemError as exc:
        # CPython 3.11 < 3.11.8 (gh-106905): ast.parse in two threads at once (grade_batch's
        # jobs, forbidden.scan) can raise this spuriously and stop the batch. An engine
        # issue, not a verdict on the bank: grade the topic once more.
        if "AST constructor recursion depth mismatch" not in str(exc):
            raise
        return audit.run_audit(config, only=topic)


@pytest.mark.parametrize("topic", sorted(FLOORS))
def test_bank_entries_are_well_formed(topic):
    """Cheap, no grading: unique names, patches that apply, `catches` naming real checks,
    a stated misconception for every entry, and at least two thirds of the bugs named."""
    bugs = [b for b in BUGS if b.topic == topic]
    variants = [v for v in VARIANTS if v.topic == topic]
    names = [e.name for e in bugs + variants]
    assert len(names) == len(set(names))
    checks = _check_names(topic)
    for bug in bugs:
        assert bug.catches and set(bug.catches) <= checks, (bug.name, set(bug.catches) - checks)
        assert bug.why, bug.name
        audit.patched_source(topic, bug.patch)            # each old text occurs exactly once
    for variant in variants:
        assert variant.why, variant.name
        audit.patched_source(topic, variant.patch)
    named = sum(bool(b.named) for b in bugs)
    assert 3 * named >= 2 * len(bugs), f"only {named} of {len(bugs)} bugs expect a named mistake"


@pytest.mark.slow
@pytest.mark.parametrize("topic", sorted(FLOORS))
def test_audit(topic):
    """Every bug of the topic is caught, every correct variant earns full marks, every
    trivial submission earns 0 points."""
    started = time.monotonic()
    entries = _run_audit(topic)
    print()
    print(audit.report(entries, time.monotonic() - started))
    bugs = [e for e in entries if e.kind == "bug"]
    variants = [e for e in entries if e.kind == "variant"]
    min_bugs, min_variants = FLOORS[topic]
    assert len(bugs) >= min_bugs and len(variants) >= min_variants, (len(bugs), len(variants))
    problems = [f"{e.name}: {e.problem}" for e in entries if not e.ok]
    assert not problems, "\n".join(problems)
    expected_named = {b.name for b in BUGS if b.topic == topic and b.named}
    unnamed = sorted(e.name for e in bugs if e.name in expected_named and not e.named)
    assert not unnamed, f"bugs expected to be named but not: {unnamed}"
