"""Mutation testing (autograder/mutants.py): cosmic-ray's mutants of the solution regions,
graded by each topic's hidden checks. Only two small batches are graded here (a few
dropout mutants); everything else is enumeration, parsing and the report."""
import difflib
import json
from dataclasses import replace

import pytest
from cosmic_ray.commands.init import _all_work_items

from autograder import mutants
from autograder.batch import hidden_plan
from autograder.config import Config
from autograder.verdicts import import_failure
from autograder.topics import ROOT, TOPICS

CONFIG = Config(devices=("cpu",), jobs=2, timeout_scale=3.0)


def _by_line(topic: str, after: str) -> mutants.Mutant:
    """The one mutant of the topic whose mutated line is `after`."""
    source = TOPICS[topic].solution_path().read_text()
    found = [m for m in mutants.enumerate_mutants(topic)
             if mutants.changed_lines(source, mutants.mutated_source(m, source)) == after]
    assert len(found) == 1, f"{len(found)} mutants of {topic} give {after!r}"
    return found[0]


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_mutants_are_made_only_inside_solution_regions(topic):
    source = TOPICS[topic].solution_path().read_text()
    spans = mutants.regions(source)
    found = mutants.enumerate_mutants(topic)
    assert found and len({m.id for m in found}) == len(found)
    assert all(any(begin < m.line < end for _, begin, end in spans) for m in found)
    for m in mutants.sample(found, 12, seed=0):        # the change itself, not only its start
        mutated = mutants.mutated_source(m, source).splitlines()
        ops = difflib.SequenceMatcher(None, source.splitlines(), mutated, autojunk=False).get_opcodes()
        changed = [(i1 + 1, max(i1 + 1, i2)) for tag, i1, i2, _, _ in ops if tag != "equal"]
        assert changed and all(any(b < first and last < e for _, b, e in spans)
                               for first, last in changed), m.id


def test_mutations_outside_the_regions_are_left_out():
    """cosmic-ray would also mutate dropout's _check_probability (given, not written by students)."""
    path = TOPICS["dropout"].solution_path()
    everywhere = list(_all_work_items([path], {}))
    inside = mutants.enumerate_mutants("dropout")
    assert len(inside) < len(everywhere)
    assert not any("_check_probability" in m.before or "p < 0.0" in m.before for m in inside)


def test_sample_is_deterministic_for_a_seed_and_differs_between_seeds():
    found = mutants.enumerate_mutants("autograd")
    again = mutants.enumerate_mutants("autograd")       # a fresh enumeration: same ids, same order
    first = mutants.sample(found, 20, seed=7)
    assert [m.id for m in first] == [m.id for m in mutants.sample(again, 20, seed=7)]
    assert len(first) == 20 and len({m.id for m in first}) == 20
    assert {m.id for m in first} <= {m.id for m in found}
    assert [m.id for m in mutants.sample(found, 20, seed=8)] != [m.id for m in first]
    assert mutants.sample(found, None, seed=7) == found
    assert mutants.sample(found, len(found) + 5, seed=7) == found


def test_equivalents_table_parses_and_names_current_mutants():
    table = mutants.load_equivalents()
    assert table, "docs/MUTANTS.md has no equivalent mutants table"
    known = {}
    for e in table.values():
        assert e.reason and e.after
        topic = e.id.split(":", 1)[0]
        source = TOPICS[topic].solution_path().read_text()
        if topic not in known:
            known[topic] = {m.id: m for m in mutants.enumerate_mutants(topic)}
        ids = known[topic]
        assert e.id in ids, f"{e.id} is no longer a mutant"
        after = mutants.changed_lines(source, mutants.mutated_source(ids[e.id], source))
        assert mutants._same_line(after, e.after), f"{e.id} now mutates to {after!r}"


def test_equivalents_table_syntax():
    text = ("# x\n\n## Equivalent mutants\n\n| mutant | mutated line | reason |\n|---|---|---|\n"
            "| `t:1.1:Op:0` | `y = a \\| b` | a reason with \\| a pipe |\n\n## Next\n| a | b | c |\n")
    table = mutants.parse_equivalents(text)
    assert list(table) == ["t:1.1:Op:0"]
    assert table["t:1.1:Op:0"].after == "y = a | b"
    assert table["t:1.1:Op:0"].reason == "a reason with | a pipe"
    with pytest.raises(ValueError, match="reason"):
        mutants.parse_equivalents(text.replace("a reason with \\| a pipe", ""))
    with pytest.raises(ValueError, match="3 cells"):
        mutants.parse_equivalents(text.replace("a reason with \\| a pipe", "a | b"))


def test_an_import_failure_is_recognised_from_the_graders_own_message():
    topic = TOPICS["dropout"]
    for kind in ("SyntaxError", "ImportError", "NameError"):
        state = import_failure(topic, {"type": kind, "message": "boom", "line": 3})
        assert mutants._import_failed(state.message, "dropout.py")
    assert not mutants._import_failed("dropout.py raised NameError when imported", "train.py")
    assert not mutants._import_failed("The kept values are not scaled by 1 / (1 - p).", "dropout.py")


def test_a_weak_check_set_lets_a_wrong_mutant_survive_and_a_rerun_reads_the_cache(tmp_path, monkeypatch):
    """1 / (1 + p) scales the survivors wrongly: the eval-mode check alone cannot see it,
    the report names it as a missing check, and a rerun grades nothing."""
    wrong = _by_line("dropout", "scale = 0.0 if p == 1.0 else 1.0 / (1.0 + p)")
    plan = hidden_plan(("dropout",))
    weak = {"dropout": replace(plan["dropout"], placement_points=0.0,
                               checks=[c for c in plan["dropout"].checks if c.name == "eval_returns_input"])}
    [result] = mutants.grade_mutants("dropout", [wrong], CONFIG, plan=weak, cache_dir=tmp_path)
    assert result.verdict == "survived" and not result.cached and result.lost == 0
    text = mutants.report({"dropout": [result]}, {"dropout": 1.0}, {})
    assert f"dropout.py:{wrong.line}" in text and wrong.operator in text
    assert "1.0 / (1.0 + p)" in text and "MISSING CHECK" in text
    assert (tmp_path / ".gitignore").read_text().strip().endswith("*")

    def no_grading(*args, **kwargs):
        raise AssertionError("graded again although cached")
    monkeypatch.setattr(mutants, "grade_batch", no_grading)
    [again] = mutants.grade_mutants("dropout", [wrong], CONFIG, plan=weak, cache_dir=tmp_path)
    assert again.cached and again.verdict == "survived" and again.after == result.after
    cached = json.loads((tmp_path / "dropout.json").read_text())
    assert [k.rsplit(":", 4)[-4:] for k in cached] == [wrong.id.split(":")]


def test_the_hidden_checks_kill_it_and_keep_an_equivalent_one(tmp_path):
    wrong = _by_line("dropout", "scale = 0.0 if p == 1.0 else 1.0 / (1.0 + p)")
    same = _by_line("dropout", "scale = 0.0 if p >= 1.0 else 1.0 / (1.0 - p)")   # p <= 1 always
    killed, kept = mutants.grade_mutants("dropout", [wrong, same], CONFIG, cache_dir=tmp_path)
    assert killed.verdict == "killed" and "kept_values_scaled" in killed.failed
    assert kept.verdict == "survived"
    assert mutants.excused(kept, mutants.load_equivalents()) is not None
    assert mutants.excused(killed, mutants.load_equivalents()) is None


def test_exit_status_is_1_only_for_a_survivor_not_listed_as_equivalent(tmp_path, monkeypatch, capsys):
    m = mutants.Mutant("dropout:4.1:Op:0", "dropout", "core/Op", 0, 65, "y = a")
    survivor = mutants.Result(m, "survived", "y = b")
    monkeypatch.setattr(mutants, "enumerate_mutants", lambda topic: [m])
    monkeypatch.setattr(mutants, "grade_mutants", lambda *a, **k: [survivor])
    table = tmp_path / "MUTANTS.md"
    table.write_text("## Equivalent mutants\n\n| mutant | mutated line | reason |\n|---|---|---|\n")
    assert mutants.main(CONFIG, ("dropout",), equivalents_path=table) == 1
    assert "MISSING CHECK" in capsys.readouterr().out
    table.write_text(table.read_text() + "| `dropout:4.1:Op:0` | `y = b` | b equals a here |\n")
    assert mutants.main(CONFIG, ("dropout",), equivalents_path=table) == 0
    table.write_text(table.read_text().replace("`y = b`", "`y = c`"))      # names another mutation
    assert mutants.main(CONFIG, ("dropout",), equivalents_path=table) == 1
    assert "another line" in capsys.readouterr().out


def test_cli_rejects_mutant_options_without_mutants(capsys):
    from autograder.cli import main
    assert main(["audit", "--sample", "3"]) == 2
    assert "--mutants" in capsys.readouterr().err


@pytest.mark.slow
def test_a_sample_of_every_topics_mutants_is_killed_or_argued_equivalent(tmp_path, capsys):
    """CI's share of mutation testing (the full run is docs/MEASUREMENTS.md's): two mutants
    of every topic, drawn by a fixed seed, graded without a cache. A survivor that
    docs/MUTANTS.md does not argue equivalent fails this test with the report."""
    status = mutants.main(CONFIG, n=2, seed=0, cache_dir=tmp_path)
    report = capsys.readouterr().out
    assert status == 0, report
    assert all(f"{topic} " in report for topic in TOPICS), report
