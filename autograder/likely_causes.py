"""Known mistakes as data: what each one outputs on the public checks' inputs.

The student kit names a likely cause without the mistakes' patches (they quote
the reference): here, on the trusted side, the reference is run with each known
mistake of the topic (autograder/bank/) applied, through each compared public
check, on the course's base seed; the kit ships those outputs and the mistake's
message, and the student's checker compares its outputs with them as the grader
does (grader.CaseRunner._diagnose).

A mistake limited to some hidden checks (its `checks`, autograder/bank/) is offered to a public
check when the public check names it too, or when everything the public driver
calls is called by those hidden checks (a mistake in `gradient_check` is offered
to the public check of `gradient_check`). Mistakes whose outputs equal the
correct ones on the public inputs are left out (they could never be the cause), and
so are mistakes whose outputs equal another's there (the checker could not tell
them apart; the grader, with more outputs to compare, can).
"""
from __future__ import annotations

import importlib
import warnings

from . import wire
from . import variants
from .checks import Check, TopicChecks, collect
from .compare import compare
from .reference import DriverRun, ReferenceSide, run_driver
from .topics import ROOT, TOPICS


def public_mistakes(plan: dict[str, TopicChecks], base_seed: int, root=ROOT,
                    device: str = "cpu") -> dict[str, list[dict]]:
    """{public check id: [{"name", "message", "outputs"}, ...]} in the order the grader tries them."""
    reference = ReferenceSide("solutions", root)
    found: dict[str, list[dict]] = {}
    try:
        with warnings.catch_warnings():     # some mistakes warn (backward(create_graph=True))
            warnings.simplefilter("ignore")
            for name, public in plan.items():
                try:
                    hidden = collect(importlib.import_module(TOPICS[name].hidden_module))
                except ModuleNotFoundError:
                    continue
                calls = _Calls(reference, hidden, base_seed, device)
                for check in public.checks:
                    if check.judge is None and hidden.mistakes:   # a judge names no mistake
                        entries = _distinct(_mistaken(check, hidden, calls, reference), check)
                        if entries:
                            found[check.id] = entries
    finally:
        reference.close()
    return found


def _mistaken(check: Check, hidden: TopicChecks, calls: "_Calls", reference: ReferenceSide) -> list[dict]:
    """Each offered mistake's outputs on the check's inputs, where they differ from the right ones."""
    right, called = calls.of(check)
    if right.error is not None:
        raise RuntimeError(f"the reference fails public check {check.id}: {right.error!r}")
    entries = []
    for mistake in hidden.mistakes:
        if not _offered(mistake, check, called, calls):
            continue
        wrong = reference.mistaken(mistake, check, calls.device, check.seed(calls.base_seed))
        if wrong.error is not None or wrong.outputs is None or _equal(wrong.outputs, right.outputs, check):
            continue
        try:
            wire.dumps(wrong.outputs)          # plain data only (no handles)
        except wire.WireError:
            continue
        entries.append({"name": mistake.name, "message": mistake.message, "outputs": wrong.outputs})
    return entries


class _Calls:
    """What a driver calls on the reference (top-level names and handle types), cached."""

    def __init__(self, reference: ReferenceSide, hidden: TopicChecks, base_seed: int, device: str):
        self.reference, self.base_seed, self.device = reference, base_seed, device
        self.hidden = {c.name: c for c in hidden.checks}
        self._cache: dict[str, tuple[DriverRun, frozenset]] = {}

    def of(self, check: Check) -> tuple[DriverRun, frozenset]:
        if check.id not in self._cache:
            impl = self.reference.impl(TOPICS[check.topic])
            run = run_driver(check, impl, self.device, check.seed(self.base_seed))
            self._cache[check.id] = (run, frozenset(impl.log.calls))
        return self._cache[check.id]

    def of_hidden(self, names) -> frozenset:
        out = frozenset()
        for name in names:
            if name in self.hidden:
                out |= self.of(self.hidden[name])[1]
        return out


def _offered(mistake: variants.Variant, check: Check, called: frozenset, calls: _Calls) -> bool:
    if not mistake.checks or check.name in mistake.checks:
        return True
    return bool(called) and called <= calls.of_hidden(mistake.checks)


def _equal(a: dict, b: dict, check: Check) -> bool:
    return set(a) == set(b) and all(compare(n, a[n], v, check.tolerance) is None for n, v in b.items())


def _distinct(entries: list[dict], check: Check) -> list[dict]:
    """The entries no other entry could be mistaken for: when two mistakes give the same
    outputs on these inputs (a check that returns only True/False), neither is named."""
    return [e for e in entries
            if not any(o is not e and _equal(o["outputs"], e["outputs"], check) for o in entries)]
