"""Which known mistakes do the public checks catch, and which only the hidden ones?

    python tools/classic_mistakes.py           # write docs/CLASSIC_MISTAKES.md
    python tools/classic_mistakes.py --check   # exit 1 when the page is stale

The known mistakes are those of the bank (autograder/bank/<topic>.py, kind "mistake"):
every one is caught by the hidden checks, each with its own likely cause
(tests/test_audit.py proves it). The classic ones (`classic=True`: the few mistakes of
each topic that the lecture and the well-known course assignments warn about) must also
be caught by a public check, so that a student whose public checks all pass has made
none of them (tests/test_classic_mistakes.py).

Here each mistake is run, on the trusted side, through every public check of its topic
(the reference with the mistake's patch, the course's base seed, the CPU): a public check
catches it when the patched reference fails it (an error, an output that differs from the
reference's, an input changed in place that the reference leaves alone, or a judge's
verdict). It is named publicly when the student kit's checker can give its likely cause:
from the mistakes' outputs on the public inputs (autograder/likely_causes.py), or because
a public judge names it itself (a `cause` of the mistake's name in the verdict).
"""
from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from autograder import variants  # noqa: E402
from autograder.batch import public_plan  # noqa: E402
from autograder.compare import compare  # noqa: E402
from autograder.config import Config  # noqa: E402
from autograder.likely_causes import public_mistakes  # noqa: E402
from autograder.reference import ReferenceSide  # noqa: E402
from autograder.topics import TOPICS  # noqa: E402

PAGE = ROOT / "docs" / "CLASSIC_MISTAKES.md"


@dataclass(frozen=True)
class Row:
    """One known mistake: the public checks that catch it, and whether the kit names it."""
    name: str
    classic: bool
    caught_by: tuple[str, ...]
    named: bool


def _verdict(check, outputs) -> str | None:
    """A judge's failure message for these outputs, None when it passes them."""
    verdict = check.judge(outputs)
    if isinstance(verdict, tuple):
        return verdict[1] if verdict[0] < 1.0 else None
    return verdict


def _run(check, reference, mistake, seed) -> tuple[bool, str]:
    """(whether the reference with `mistake` fails `check`, the judge's message if any)."""
    right = reference.expected(check, "cpu", seed)
    wrong = reference.mistaken(mistake, check, "cpu", seed)
    if wrong.error is not None:
        return True, ""
    if check.judge is not None:
        try:
            verdict = _verdict(check, wrong.outputs)
        except Exception as exc:        # noqa: BLE001 - what the checker reports as a failure
            return True, f"the judge could not use the outputs: {exc}"
        return verdict is not None, verdict or ""
    if wrong.mutated != right.mutated:
        return True, ""
    return any(compare(name, wrong.outputs.get(name), value, check.tolerance) is not None
               for name, value in right.outputs.items()), ""


def survey(topics=None) -> dict[str, list[Row]]:
    """{topic: [Row for each known mistake, in the bank's order]}."""
    topics = tuple(topics or TOPICS)
    plan = public_plan(topics)
    base = Config.base_seed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shipped = {entry["name"] for entries in public_mistakes(plan, base).values() for entry in entries}
        reference = ReferenceSide("solutions")
        try:
            found = {}
            for topic in topics:
                public = plan.get(topic)
                checks = public.checks if public else []
                causes = {c.name: str(c) for c in public.causes} if public else {}
                rows = []
                for m in variants.mistakes(topic):
                    caught, named = [], m.name in shipped
                    for c in checks:
                        failed, message = _run(c, reference, m, c.seed(base))
                        if failed:
                            caught.append(c.name)
                            named = named or (m.name in causes and causes[m.name] in message)
                    rows.append(Row(m.name, m.classic, tuple(caught), named))
                found[topic] = rows
        finally:
            reference.close()
    return found


def false_failures(topics=None) -> list[str]:
    """"topic: variant: check" for every correct variant of the bank that a public check fails
    (a public check must pass every correct way of writing the code, as the hidden ones do)."""
    topics = tuple(topics or TOPICS)
    plan = public_plan(topics)
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = ReferenceSide("solutions")
        try:
            for topic in topics:
                for v in (v for v in variants.of_topic(topic) if v.kind == "correct"):
                    found += [f"{topic}: {v.name}: {c.name}" for c in (plan[topic].checks if topic in plan else [])
                              if _run(c, reference, v, c.seed(Config.base_seed))[0]]
        finally:
            reference.close()
    return found


def uncaught_classics(found: dict[str, list[Row]]) -> list[str]:
    """"topic: mistake" for every classic mistake that no public check catches."""
    return [f"{topic}: {r.name}" for topic, rows in found.items() for r in rows
            if r.classic and not r.caught_by]


def page(found: dict[str, list[Row]]) -> str:
    def counts(rows):
        classic = [r for r in rows if r.classic]
        return (len(rows), sum(bool(r.caught_by) for r in rows), sum(r.named for r in rows),
                len(classic), sum(bool(r.caught_by) for r in classic), sum(r.named for r in classic))

    lines = ["# Classic mistakes: what the public checks catch", "",
             "Written by `python tools/classic_mistakes.py` (do not edit by hand). The known",
             "mistakes are those of the bank (`autograder/bank/`); the hidden checks catch and name",
             "every one of them (`tests/test_audit.py`). The classic ones (`classic=True` in the",
             "bank: the few mistakes of each topic that the lecture and the well-known course",
             "assignments, CS231n, CMU 10-714 and 11-785, d2l.ai, warn about) are caught by a public",
             "check too (`tests/test_classic_mistakes.py`): a student whose public checks all pass",
             "has made none of them. A public check catches a mistake when the reference with that",
             "mistake fails it (the CPU, the course's base seed); the student's checker names it when",
             "it can tell it from the others on the public inputs, or when a public check's own",
             "verdict names it. A mistake no public check catches is found only at grading time.", "",
             "| topic | known mistakes | caught by a public check | named by the checker "
             "| classic | classic caught publicly | classic named |",
             "|---|---|---|---|---|---|---|"]
    for topic, rows in list(found.items()) + [("all", [r for rows in found.values() for r in rows])]:
        lines.append(f"| {topic} | " + " | ".join(str(n) for n in counts(rows)) + " |")
    for topic, rows in found.items():
        _, _, _, classic, caught, _ = counts(rows)
        lines += ["", f"## {topic}", "", f"classic mistakes caught publicly: {caught} / {classic}", "",
                  "| mistake | classic | public checks that catch it | named |", "|---|---|---|---|"]
        for r in rows:
            cell = ", ".join(f"`{c}`" for c in r.caught_by) if r.caught_by else "none: hidden checks only"
            lines.append(f"| {r.name.replace('|', '/')} | {'classic' if r.classic else ''} | {cell} | "
                         f"{'yes' if r.named else 'no'} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="exit 1 when the page is stale")
    args = parser.parse_args()
    found = survey()
    text = page(found)
    for line in uncaught_classics(found):
        print(f"classic mistake caught by no public check: {line}", file=sys.stderr)
    if args.check:
        stale = not PAGE.exists() or PAGE.read_text() != text
        print(f"{PAGE.relative_to(ROOT)} is {'stale: run tools/classic_mistakes.py' if stale else 'up to date'}")
        return 1 if stale else 0
    PAGE.write_text(text)
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
