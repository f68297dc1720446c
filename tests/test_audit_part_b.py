"""The bug bank for optimizers, autograd and the capstone, graded by the audit.

Every known bug in tests/bugbank/{optimizers,autograd,capstone}.py must lose points in
one of the checks meant to catch it, every correct variant must earn full marks, every
trivial submission (tests/test_trivial.py) must earn 0 points, and a
bug that declares the mistake it shows (`named=`) must get that mistake's message as
the "Likely cause" of its feedback. The counts below are floors, so the bank cannot
shrink silently; raise them when entries are added.

Slow: every entry is one submission with its own worker (an `import torch`, and for the
optimizers the `torch._dynamo` import the first Optimizer triggers), and every capstone
entry trains a model. Run with `pytest -m slow tests/test_audit_part_b.py -s` to see the
reports.
"""
from __future__ import annotations

import importlib
import time

import pytest

from autograder import audit
from autograder.config import Config

# topic: (bugs, correct variants, bugs whose mistake is named), all at least
FLOORS = {
    "optimizers": (64, 9, 62),
    "autograd": (37, 7, 31),
    "capstone": (18, 3, 16),        # on a CPU machine: cap-y-not-moved (GPU only) is not graded
}


def _messages(topic: str) -> dict[str, str]:
    module = importlib.import_module(f"autograder.hidden.{topic}")
    return {m.name: m.message for m in getattr(module, "MISTAKES", [])}


@pytest.mark.slow
@pytest.mark.parametrize("topic", sorted(FLOORS))
def test_bank_is_caught_and_variants_pass(topic):
    started = time.monotonic()
    entries = audit.run_audit(Config(devices=("cpu",), jobs=2), only=topic)
    print(f"\n{audit.report(entries, time.monotonic() - started)}")

    problems = [f"{e.kind} {e.name}: {e.problem}" for e in entries if not e.ok]
    assert not problems, "\n".join(problems)

    bugs = {b.name: b for b in audit.load_bank()[0] if b.topic == topic}
    messages = _messages(topic)
    misnamed = []
    for e in entries:
        expected = bugs[e.name].named if e.kind == "bug" else None
        if expected is None:
            continue
        assert expected in messages, f"{e.name}: no Mistake called {expected!r} in the hidden checks"
        if e.named != messages[expected]:
            misnamed.append(f"{e.name}: expected {expected!r}, feedback said {e.named or 'nothing'!r}")
    assert not misnamed, "\n".join(misnamed)

    min_bugs, min_variants, min_named = FLOORS[topic]
    found_bugs = [e for e in entries if e.kind == "bug"]
    found_variants = [e for e in entries if e.kind == "variant"]
    assert len(found_bugs) >= min_bugs, f"{len(found_bugs)} bugs; the bank had {min_bugs}"
    assert len(found_variants) >= min_variants, f"{len(found_variants)} variants; the bank had {min_variants}"
    named = sum(bool(e.named) for e in found_bugs)
    assert named >= min_named, f"{named} bugs named; the bank had {min_named}"
