"""The tests a topic's hidden checks get, built for one topic by `suite(topic, ...)`.

Graded end to end through `grade_batch`, on every device present (CUDA reported
as skipped without one): the reference solution earns full marks and no "Likely
cause"; the untouched stub earns zero with every check reported; every known
mistake loses points and is named in a failed case. The drivers give the same
outputs on the reference and on PyTorch's side (`ReferenceSide("torch")`), and
the public checks give the reference full marks.

Grading is latency-bound (every call is a request to a worker), so the mistakes
are graded in a second batch, on their witness checks only: for each mistake, the
first check whose outputs its patch changes on the trusted side. They are also
packed into few submissions: mistakes whose checks are disjoint and whose
patches apply together share one. A mistake named in a failed case is proven on
its own: that case's outputs equal the reference with that one patch, and not
the reference's.

A test module uses it as `globals().update(suite("optimizers", "torch.optim"))`.
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from autograder.batch import grade_batch, hidden_plan
from autograder.cli import main as cli_main
from autograder.compare import compare
from autograder.config import Config
from autograder.reference import ReferenceSide, apply_patch
from autograder.topics import TOPICS

SEED = Config.base_seed


def suite(TOPIC: str, pytorch_side: str) -> dict:  # noqa: N803 - reads as the constant it was
    """The fixtures and tests for one topic; `pytorch_side` names what the reference's
    outputs are compared with."""
    T = TOPICS[TOPIC]
    PLAN = hidden_plan((TOPIC,))
    CHECKS = PLAN[TOPIC].checks
    MISTAKES = PLAN[TOPIC].mistakes

    def _differs(reference: ReferenceSide, mistake, check) -> bool:
        expected = reference.expected(check, "cpu", check.seed(SEED))
        wrong = reference.mistaken(mistake, check, "cpu", check.seed(SEED))
        return wrong.error is not None or any(
            compare(name, wrong.outputs.get(name), value, check.tolerance) is not None
            for name, value in expected.outputs.items())


    def _witnesses() -> dict[str, str | None]:
        """{mistake name: the first check (in its scope) whose CPU outputs its patch changes}."""
        reference = ReferenceSide("solutions")
        try:
            return {m.name: next((c.name for c in CHECKS if (not m.checks or c.name in m.checks)
                                  and _differs(reference, m, c)), None) for m in MISTAKES}
        finally:
            reference.close()


    def _pack(source: str) -> dict[str, tuple[str, list]]:
        """{submission name: (source, its mistakes)}: each mistake in exactly one submission."""
        groups: list[dict] = []
        for mistake in MISTAKES:
            scope = set(mistake.checks) or {c.name for c in CHECKS}
            for group in groups:
                if group["scope"].isdisjoint(scope):
                    try:
                        text = apply_patch(group["text"], mistake)
                    except ValueError:          # overlapping patches
                        continue
                    group.update(text=text, scope=group["scope"] | scope)
                    group["mistakes"].append(mistake)
                    break
            else:
                groups.append({"scope": scope, "text": apply_patch(source, mistake), "mistakes": [mistake]})
        return {f"mistakes-{i}": (g["text"], g["mistakes"]) for i, g in enumerate(groups)}


    SUBMISSION_OF = {m.name: name for name, (_, ms) in _pack(T.solution_path().read_text()).items()
                     for m in ms}


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


    @pytest.fixture(scope="module")
    def witnesses():
        return _witnesses()


    @pytest.fixture(scope="module")
    def graded_mistakes(tmp_path_factory, witnesses):
        """{submission name: results.json}: the packed mistakes, on the witness checks."""
        names = set(witnesses.values())
        plan = {TOPIC: replace(PLAN[TOPIC], checks=[c for c in CHECKS if c.name in names],
                               placement_points=0.0)}
        packed = _pack(T.solution_path().read_text())
        return _grade(tmp_path_factory.mktemp(f"hidden_{TOPIC}_mistakes"),
                      {name: text for name, (text, _) in packed.items()}, plan)


    def _outcomes(results: dict) -> list[dict]:
        return results["extra_data"]["outcomes"]


    def test_every_mistake_patch_applies_once():
        source = T.solution_path().read_text()
        for mistake in MISTAKES:
            assert apply_patch(source, mistake) != source, mistake.name
        assert len({m.name for m in MISTAKES}) == len(MISTAKES)


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


    @pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.name)
    def test_mistake_loses_points_and_is_named(graded_mistakes, witnesses, mistake):
        assert witnesses[mistake.name], "no check's outputs change with this mistake"
        results = graded_mistakes[SUBMISSION_OF[mistake.name]]
        assert results["score"] < sum(t["max_score"] for t in results["tests"])
        failed = [o for o in _outcomes(results) if o["status"] == "failed"]
        assert failed, "no check failed"
        named = [o for o in failed if f"Likely cause: {mistake.message}" in o["message"]]
        assert named, f"never named; failed checks: {[o['check_id'] for o in failed]}"


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
            if name.startswith("test_") or name in ("graded", "witnesses", "graded_mistakes")}
