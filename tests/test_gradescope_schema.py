"""results.json follows Gradescope's documented schema, and the numbers add up.

tests/schemas/gradescope_results.schema.json is Gradescope's autograder results
format (https://gradescope-autograders.readthedocs.io/en/latest/specs/) as a JSON
Schema, with additionalProperties false at the top level and on every test.
"""
import csv
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import torch

from autograder.batch import grade_batch
from autograder.config import Config
from autograder.topics import ROOT, TOPICS

pytestmark = pytest.mark.slow

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "gradescope_results.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
TOPIC = TOPICS["normalization"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The reference, the stub, a syntax error and an empty folder, graded as on a CPU-only
    machine (CUDA reported absent), so every submission has skipped CUDA cases."""
    root = tmp_path_factory.mktemp("gradescope")
    sources = {"reference": TOPIC.solution_path(ROOT).read_text(),
               "stub": (TOPIC.assignment_dir(ROOT) / TOPIC.filename).read_text(),
               "broken": "def batch_norm(x:\n    return x\n"}
    for name, text in sources.items():
        (root / "subs" / name).mkdir(parents=True)
        (root / "subs" / name / TOPIC.filename).write_text(text)
    (root / "subs" / "empty").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch.cuda, "is_available", lambda: False)
        graded = grade_batch([root / "subs"], root / "out",
                             Config(devices=("cpu", "cuda"), topics=("normalization",), jobs=2),
                             regrade=True)
    results = {g.name: json.loads((root / "out" / g.name / "results.json").read_text()) for g in graded}
    with open(root / "out" / "scores.csv", newline="") as fh:
        gradebook = list(csv.DictReader(fh))
    yield {g.name: g for g in graded}, results, gradebook
    shutil.rmtree(root, ignore_errors=True)


def errors(data) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(data)]


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_schema_rejects_what_gradescope_does_not_document():
    good = {"score": 1.0, "tests": [{"name": "t", "score": 1.0, "max_score": 1.0, "status": "passed"}]}
    assert errors(good) == []
    assert errors({**good, "max_score": 1.0})                                   # not a top-level field
    assert errors({**good, "visibility": "sometimes"})
    assert errors({"score": 1.0, "tests": [{"score": 1, "status": "skipped"}]})  # only passed/failed
    assert errors({"score": 1.0, "tests": [{"score": 1, "points": 1}]})          # unknown test field
    assert errors({"tests": [{"name": "no score anywhere"}]})
    assert errors({"score": 1, "leaderboard": [{"name": "acc", "value": 1, "order": "up"}]})


@pytest.mark.parametrize("name", ["reference", "stub", "broken", "empty"])
def test_results_json_matches_gradescopes_schema(batch, name):
    _, results, _ = batch
    assert errors(results[name]) == []


def test_an_absent_device_is_one_line_of_the_output_not_a_row_per_check(batch):
    _, results, _ = batch
    reference = results["reference"]
    assert all(t["extra_data"]["device"] != "cuda" for t in reference["tests"])
    assert "CUDA: not on the grading machine" in reference["output"]
    assert reference["extra_data"]["skipped_devices"]["cuda"] > 0
    # (the meta-device placement probe is left out: it is load-sensitive, see test_sandbox.py)
    ran = [t for t in reference["tests"] if t["extra_data"]["device"] == "cpu"]
    assert ran and all(t["status"] == "passed" for t in ran)


def test_public_checks_are_visible_and_hidden_ones_after_the_due_date(batch):
    _, results, _ = batch
    tests = results["stub"]["tests"]
    assert tests and all(t["visibility"] == ("visible" if t["extra_data"]["public"] else "after_due_date")
                         for t in tests)
    assert results["stub"]["visibility"] == "visible"


def test_failing_cases_are_failed_with_an_output_that_says_why(batch):
    _, results, _ = batch
    for name in ("stub", "broken"):
        for t in results[name]["tests"]:
            assert t["status"] == "failed"
            assert t["score"] == 0 and t["max_score"] > 0
            assert "What it tried:" in t["output"] and "Reproduce:" not in t["output"]
    assert any("Not attempted yet" in t["output"] for t in results["stub"]["tests"])
    assert any("syntax error" in t["output"] for t in results["broken"]["tests"])


def test_per_test_scores_add_up_to_the_top_level_score(batch):
    graded, results, _ = batch
    for name, data in results.items():
        assert sum(t["score"] for t in data["tests"]) == pytest.approx(data["score"]), name
        assert data["score"] == pytest.approx(graded[name].score.score)
        assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(graded[name].score.max_score)
    cpu = [t for t in results["reference"]["tests"] if t["extra_data"]["device"] == "cpu"]
    assert cpu and sum(t["score"] for t in cpu) == pytest.approx(sum(t["max_score"] for t in cpu))
    assert results["stub"]["score"] == 0


def test_test_names_and_numbers_identify_each_case(batch):
    _, results, _ = batch
    tests = results["reference"]["tests"]
    assert [t["number"] for t in tests] == [str(i) for i in range(1, len(tests) + 1)]
    names = [t["name"] for t in tests]
    assert len(set(names)) == len(names)
    assert all(n.endswith(("[cpu]", "[cuda]", "[meta]")) for n in names)


def test_submission_problems_reach_the_top_level_output(batch):
    _, results, _ = batch
    assert "The submission folder is empty." in results["empty"]["output"]
    assert results["empty"]["score"] == 0


def test_scores_table_has_one_row_per_submission_with_its_totals(batch):
    graded, results, gradebook = batch
    assert sorted(row["submission"] for row in gradebook) == sorted(graded)
    for row in gradebook:
        g = graded[row["submission"]]
        assert float(row["score"]) == pytest.approx(g.score.score)
        assert float(row["max_score"]) == pytest.approx(g.score.max_score)
        assert float(row["normalization"]) == pytest.approx(results[row["submission"]]["score"])
        expected_percent = 100.0 * g.score.score / g.score.max_score if g.score.max_score else 0.0
        assert float(row["percent"]) == pytest.approx(expected_percent, abs=0.05)
    by_name = {row["submission"]: row for row in gradebook}
    assert float(by_name["reference"]["score"]) > 0
    assert float(by_name["stub"]["score"]) == 0.0
    assert "The submission folder is empty." in by_name["empty"]["notes"]
