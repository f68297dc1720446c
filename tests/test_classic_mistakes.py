"""The classic mistakes (autograder/bank/, `classic=True`) are caught by the public checks.

A student whose public checks all pass has made none of the classic mistakes of a topic:
each one fails at least one public check (tools/classic_mistakes.py runs every known
mistake through every public check, on the trusted side) and, where the public outputs
tell it from the others, the student's checker names it. docs/CLASSIC_MISTAKES.md, which
lists what the public checks catch and what only the hidden ones do, is that survey and
must be up to date. And the public checks, like the hidden ones, pass every correct
variant of the bank.
"""
from __future__ import annotations

import importlib.util
import sys

import pytest

from autograder import audit, variants
from autograder.batch import hidden_plan, public_plan
from autograder.topics import ROOT, TOPICS

TOOL = ROOT / "tools" / "classic_mistakes.py"
# Classic mistakes the checker cannot name, and why (the grader names them: tests/test_audit.py).
UNNAMED = {
    "optimizers: shared step count":
        "on the public inputs its outputs are those of 'state for grad-None parameters' "
        "(both count b's steps without a gradient), so the checker names neither",
}


def _tool():
    if "classic_mistakes" not in sys.modules:
        spec = importlib.util.spec_from_file_location("classic_mistakes", TOOL)
        module = importlib.util.module_from_spec(spec)
        sys.modules["classic_mistakes"] = module         # its dataclass looks itself up there
        spec.loader.exec_module(module)
    return sys.modules["classic_mistakes"]


@pytest.fixture(scope="module")
def survey():
    tool = _tool()
    return tool, tool.survey()


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_every_topic_marks_three_to_eight_classic_mistakes(topic):
    """Three to eight for the topic's own exercises, and one or two more for each task a
    course can switch off (its checks tagged with task=): a classic mistake belongs to the
    task whose checks it is caught in."""
    checks = hidden_plan((topic,))[topic].checks
    tag = {c.name: c.task for c in checks}
    found: dict[str, list[str]] = {}
    for m in variants.classic(topic):
        tasks = {tag.get(name, "") for name in m.catches}
        found.setdefault(tasks.pop() if len(tasks) == 1 else "", []).append(m.name)
    own = found.pop("", [])
    assert 3 <= len(own) <= 8, own
    for task in {c.task for c in checks if c.task}:
        assert 1 <= len(found.pop(task, [])) <= 2, f"{topic}: task {task} needs one or two classic mistakes"


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_a_cause_a_public_check_names_reads_as_the_banks(topic):
    """A public judge that names a known mistake (or a hidden judge's cause) gives the same
    message as the grader, so the student reads one explanation, translated once."""
    known = audit.cause_messages(topic)
    plan = public_plan((topic,))
    for c in plan[topic].causes if topic in plan else []:
        assert c.name in known, f"{topic}: public cause {c.name!r} is no known mistake or hidden cause"
        assert c.message == known[c.name], f"{topic}: {c.name!r} reads differently in the bank"


@pytest.mark.slow
def test_every_classic_mistake_fails_a_public_check(survey):
    tool, found = survey
    assert not tool.uncaught_classics(found), tool.uncaught_classics(found)


@pytest.mark.slow
def test_the_checker_names_every_classic_mistake_it_can_tell_apart(survey):
    _, found = survey
    unnamed = {f"{t}: {r.name}" for t, rows in found.items() for r in rows if r.classic and not r.named}
    assert unnamed == set(UNNAMED), sorted(unnamed ^ set(UNNAMED))


@pytest.mark.slow
def test_the_page_is_up_to_date(survey):
    """What `python tools/classic_mistakes.py --check` checks, on the survey made once here."""
    tool, found = survey
    assert tool.PAGE.read_text() == tool.page(found), "run: python tools/classic_mistakes.py"


@pytest.mark.slow
def test_no_correct_variant_fails_a_public_check():
    assert not _tool().false_failures()
