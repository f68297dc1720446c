"""The ensembles notebook runs top to bottom on the reference solution.

It must also make its points: probability and logit averages disagree on the
constructed example, a tie goes to the smallest class, both ensembles beat the
average member, MC dropout is less confident where it is wrong, and, comparing the
sources of diversity, bagged members (about 63% distinct digits per bag) are weaker
but disagree more and gain the most from ensembling, with mixed architectures in
between.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbrun import run_notebook, stdout_of, images_of

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "assignments" / "06_ensembles" / "ensembles.ipynb"

pytestmark = pytest.mark.slow


def number(text: str, label: str) -> float:
    match = re.search(re.escape(label) + r"\s*([0-9.]+)", text)
    assert match, f"no '{label}' in the output:\n{text}"
    return float(match.group(1))


def test_notebook_runs_and_makes_its_points(tmp_path):
    nb = run_notebook(NOTEBOOK, tmp_path)
    text = stdout_of(nb)
    assert number(text, "argmax of the mean logits:") == 0
    assert number(text, "argmax of the mean probabilities:") == 1
    assert number(text, "vote of [2, 0, 2, 0] (a tie):") == 0
    members = [float(a) for a in re.search(r"members' accuracy: ([0-9. ]+)", text).group(1).split()]
    assert len(members) == 7
    average = number(text, "average member:")
    assert abs(average - sum(members) / 7) < 1e-3
    assert number(text, "mean of probabilities:") > average + 0.005
    assert number(text, "majority vote:") > average
    assert number(text, "on wrong ones:") < number(text, "mean confidence on right answers:") - 0.1
    assert "net is still in eval mode: True" in text
    assert len(images_of(nb)) == 2, "the two accuracy plots were not both displayed"
    diversity_makes_its_points(text)


def diversity_makes_its_points(text: str) -> None:
    distinct = number(text, "distinct training digits per bag:")
    assert abs(distinct - 63.4) < 6, distinct         # 1 - (1 - 1/100)^100; 7 bags: sd 1.8
    rows = {}
    for kind in ("seeds only", "bagging", "mixed architectures"):
        match = re.search(re.escape(kind) + r"\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+([+-][0-9.]+)\s+([0-9.]+)", text)
        assert match, f"no row '{kind}' in the table:\n{text}"
        average, best, ensemble, gain, disagreement = map(float, match.groups())
        assert abs(ensemble - average - gain) < 2e-3 and best >= average
        rows[kind] = {"average": average, "ensemble": ensemble, "gain": gain, "disagreement": disagreement}
    seeds, bagging, mixed = rows["seeds only"], rows["bagging"], rows["mixed architectures"]
    assert all(row["gain"] > 0 for row in rows.values()), rows
    assert bagging["average"] < seeds["average"] - 0.01, rows           # weaker members
    assert bagging["disagreement"] > 1.5 * seeds["disagreement"], rows  # but more diverse
    assert bagging["gain"] > max(seeds["gain"], mixed["gain"]), rows    # the largest gain
    assert seeds["disagreement"] < mixed["disagreement"] < bagging["disagreement"], rows
    assert seeds["gain"] < mixed["gain"] < bagging["gain"], rows
    assert abs(bagging["ensemble"] - seeds["ensemble"]) <= 0.02, rows   # level, not above


def test_notebook_is_saved_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert any("from ensembles import" in cell.source for cell in code)
