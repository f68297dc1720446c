"""The tests a topic's hidden checks get, built for one topic by `suite(topic, ...)`.

Graded end to end through `grade_batch`, on every device present (CUDA reported
as skipped without one): the reference solution earns full marks and no "Likely
cause"; the untouched stub earns zero with every check reported. The drivers give
the same outputs on the reference and on PyTorch's side (`ReferenceSide("torch")`),
and the public checks give the reference full marks. The known mistakes and the rest
of the bank are proven by the audit (tests/test_audit.py), each with its exact cause.

A test module uses it as `globals().update(suite("optimizers", "torch.optim"))`.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from autograder.batch import grade_batch, hidden_plan
from autograder.cli import main as cli_main
from autograder.compare import compare
from autograder.config import Config
from autograder.reference import ReferenceSide
from autograder.topics import TOPICS

SEED = Config.base_seed


def suite(TOPIC: str, pytorch_side: str) -> dict:  # noqa: N803 - reads as the constant it was
    """The fixtures and tests for one topic; `pytorch_side` names what the reference's
    outputs are compared with."""
    T = TOPICS[TOPIC]
    PLAN = hidden_plan((TOPIC,))
    CHECKS = PLAN[TOPIC].checks

    def _grade(folder: Path, texts: dict[str, str], plan) -> dict[str, dict]:
        for name, text in texts.items():
            (folder / "submissions" / name).mkdir(parents=True)
            (folder / "submissions" / name / T.filename).write_text(text)
        grade_batch([folder / "submissions"], folder / "out",
                    Config(devices=("cpu", "cuda"), topics=(TOPIC,)), plan=plan)
        return {name: json.loads((folder / "out" / name / "results.json").read_text()) for name in texts}


    @pytest.fixture(scope="module")
    def graded(tmp_path_factory):
        """{submission name: results.json}: the reference and the stub on every check."""
        return _grade(tmp_path_factory.mktemp(f"hidden_{TOPIC}"),
                      {"reference": T.solution_path().read_text(),
                       "stub": (T.assignment_dir() / T.filename).read_text()}, PLAN)


    def _outcomes(results: dict) -> list[dict]:
        return results["extra_data"]["outcomes"]


    def test_reference_earns_full_marks(graded):
        results = graded["reference"]
        assert results["score"] == sum(t["max_score"] for t in results["tests"]) > 0
        for o in _outcomes(results):
            assert o["status"] in ("passed", "skipped"), (o["check_id"], o["device"], o["message"])
            assert "Likely cause" not in o["message"]


    def test_stub_earns_zero_and_every_check_is_reported(graded):
        results = graded["stub"]
        assert results["score"] == 0
        outcomes = _outcomes(results)
        on_cpu = {o["check_id"] for o in outcomes if o["device"] == "cpu"}
        assert on_cpu == {c.id for c in CHECKS}
        assert any(o["check_id"] == f"{TOPIC}/device_placement" for o in outcomes)
        for o in outcomes:
            assert o["status"] in ("not_implemented", "skipped"), (o["check_id"], o["status"], o["message"])


    def test_drivers_agree_on_reference_and_pytorch():
        solutions, pytorch = ReferenceSide("solutions"), ReferenceSide("torch")
        try:
            for c in CHECKS:
                seed = c.seed(SEED)
                a, b = solutions.expected(c, "cpu", seed), pytorch.expected(c, "cpu", seed)
                assert a.error is None and b.error is None, (c.name, a.error, b.error)
                for name, value in a.outputs.items():
                    assert compare(name, b.outputs.get(name), value, c.tolerance) is None, c.name
                assert a.mutated == b.mutated, c.name
        finally:
            solutions.close()
            pytorch.close()


    def test_public_checks_give_the_reference_full_marks(tmp_path, capsys):
        folder = tmp_path / "assignments" / T.folder
        shutil.copytree(T.assignment_dir(), folder)
        shutil.copy(T.solution_path(), folder / T.filename)
        assert cli_main(["check", TOPIC, "--root", str(tmp_path)]) == 0
        text = capsys.readouterr().out
        match = re.search(r"Public checks on your code: ([\d.]+) / ([\d.]+) points", text)
        assert match and match[1] == match[2] and float(match[2]) >= 3, text
        assert "FAIL" not in text, text

    test_drivers_agree_on_reference_and_pytorch.__doc__ = (
        f"Every hidden check gives the same outputs on solutions/ and on {pytorch_side} (CPU).")
    return {name: value for name, value in locals().items()
            if name.startswith("test_") or name == "graded"}
