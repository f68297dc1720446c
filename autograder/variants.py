"""Variants of the reference: one record, one place, one way to apply them.

A variant is a topic's reference solution with a few texts replaced (`patch`, pairs of
old text and new). It plays one of these parts:

- a known **mistake** (`message` set): a student bug the grader recognises. When a
  check fails and the submission's outputs match the reference with this patch, the
  feedback says "Likely cause: <message>". Mistakes are tried in the order they are
  listed, and only on `checks` when that is not empty.
- a **bug** of the bank: a realistic student bug that must lose points in one of
  `catches` (every check when empty); `named` is the cause its feedback must give,
  word for word (a mistake's or a judge's cause name; checks.cause). A mistake is a
  bug too, expected to be named by itself.
- a **correct** variant: written differently, right all the same; it must earn full
  marks.
- a **trivial** submission: every solution region replaced by one do-nothing body
  (audit.trivial_source); it must earn 0 points.

They live beside the hidden checks, in autograder/bank/<topic>.py, in the lists
MISTAKES, BUGS, VARIANTS (correct ones) and TRIVIAL. The grader reads the mistakes;
the audit (`python -m autograder audit`) grades all of them; tools/make_examples.py
builds the bundled example submissions from them; tests patch the reference with
`apply` like everyone else. Nothing here ships to students: patches quote the
reference.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from functools import lru_cache

Patch = tuple[tuple[str, str], ...]

KINDS = ("mistake", "bug", "correct", "trivial")
SHARED = ("habits",)                    # bank modules whose variants span every topic


@dataclass(frozen=True)
class Variant:
    """The reference of `topic` with `patch` applied, and what grading it must show."""
    name: str
    topic: str
    patch: Patch = ()
    kind: str = "bug"                 # one of KINDS
    message: str | None = None        # mistake: the grader's "Likely cause" text
    checks: tuple[str, ...] = ()      # mistake: the checks it is tried on (() = all)
    catches: tuple[str, ...] = ()     # bug: at least one of these loses points (() = any check)
    named: str | None = None          # bug: the cause (by name) its feedback must give
    why: str = ""                     # the misconception behind it, or why it is correct
    body_kind: str = ""               # trivial: which do-nothing body (audit.BODY_KINDS)
    bodies: tuple[tuple[str, str], ...] = ()   # trivial: (task, body) where the kind does not fit
    slow: bool = False                # left out of the audit unless asked for (an endless loop)
    devices: tuple[str, ...] = ()     # bug: devices its checks need ("cuda" for GPU-only checks);
                                      # where one is missing the audit reports it as not graded
    classic: bool = False             # mistake: one of its topic's most common mistakes, which
                                      # a public check must catch (docs/CLASSIC_MISTAKES.md)

    @property
    def is_bug(self) -> bool:
        """Must lose points: a bank bug or a known mistake."""
        return self.kind in ("bug", "mistake")

    @property
    def expected_cause(self) -> str | None:
        return self.name if self.kind == "mistake" else self.named


# --------------------------------------------------------------------------- constructors
# The bank files read as lists of these calls; the topic is filled in from the module's T.

def Mistake(name: str, message: str, patch: Patch, checks: tuple[str, ...] = (), *,
            catches: tuple[str, ...] | None = None, why: str = "", topic: str = "",
            devices: tuple[str, ...] = (), classic: bool = False) -> Variant:
    """A known mistake; audited as a bug caught in `catches` (default: its `checks`).
    classic=True: a public check must catch it too (tests/test_classic_mistakes.py)."""
    return Variant(name, topic, tuple(patch), "mistake", message=message, checks=tuple(checks),
                   catches=tuple(checks if catches is None else catches), why=why,
                   devices=tuple(devices), classic=classic)


def Bug(name: str, topic: str, patch: Patch, catches: tuple[str, ...] = (), named: str | None = None,
        why: str = "", slow: bool = False, devices: tuple[str, ...] = ()) -> Variant:
    return Variant(name, topic, tuple(patch), "bug", catches=tuple(catches), named=named, why=why,
                   slow=slow, devices=tuple(devices))


def Correct(name: str, topic: str, patch: Patch, why: str = "") -> Variant:
    return Variant(name, topic, tuple(patch), "correct", why=why)


def Trivial(name: str, topic: str, body_kind: str, bodies=(), why: str = "") -> Variant:
    return Variant(name, topic, (), "trivial", why=why, body_kind=body_kind, bodies=tuple(bodies))


# --------------------------------------------------------------------------- applying

class PatchError(ValueError):
    """A patch whose old text does not occur exactly once in the source."""


def apply(source: str, patch: Patch, name: str = "variant") -> str:
    """`source` with each (old, new) of `patch` replaced, in order. Each old text must occur
    exactly once, so a patch never lands somewhere its author did not mean."""
    for old, new in patch:
        count = source.count(old)
        if count != 1:
            raise PatchError(f"{name}: its text must occur exactly once in the reference "
                             f"(found {count} times): {old!r}")
        source = source.replace(old, new)
    return source


def source_of(variant: Variant, root=None) -> str:
    """The topic file this variant stands for."""
    from .topics import ROOT, TOPICS
    topic = TOPICS[variant.topic]
    if variant.kind == "trivial":
        from .audit import trivial_source
        return trivial_source(variant.topic, variant.body_kind, variant.bodies)
    return apply(topic.solution_path(root or ROOT).read_text(), variant.patch, variant.name)


# --------------------------------------------------------------------------- the bank

@lru_cache(maxsize=None)
def of_topic(topic: str) -> tuple[Variant, ...]:
    """Every variant of a topic, in the bank file's order: mistakes, bugs, correct, trivial."""
    try:
        module = importlib.import_module(f"autograder.bank.{topic}")
    except ModuleNotFoundError as exc:
        if exc.name != f"autograder.bank.{topic}":
            raise
        return ()
    found = []
    for listing in ("MISTAKES", "BUGS", "VARIANTS", "TRIVIAL"):
        for v in getattr(module, listing, []):
            found.append(v if v.topic else replace(v, topic=topic))
    for shared in SHARED:               # variants made for every topic at once
        found += [v for v in importlib.import_module(f"autograder.bank.{shared}").VARIANTS
                  if v.topic == topic]
    names = [v.name for v in found]
    doubles = sorted({n for n in names if names.count(n) > 1})
    if doubles:
        raise ValueError(f"autograder/bank/{topic}.py: names used twice: {', '.join(doubles)}")
    return tuple(found)


def every(topics=None) -> list[Variant]:
    from .topics import TOPICS
    return [v for t in (topics or TOPICS) for v in of_topic(t)]


def mistakes(topic: str) -> list[Variant]:
    """The known mistakes the grader tries, in order."""
    return [v for v in of_topic(topic) if v.kind == "mistake"]


def classic(topic: str) -> list[Variant]:
    """The topic's classic mistakes (`classic=True`), in the bank's order."""
    return [v for v in mistakes(topic) if v.classic]


def by_name(name: str) -> Variant:
    for v in every():
        if v.name == name:
            return v
    raise KeyError(f"no variant named {name!r} in autograder/bank/")
