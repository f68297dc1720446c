"""The dropout notebook runs top to bottom on the reference solution.

It must also make its point: on 200 digits with noisy labels the network
without dropout memorises the training set (lower training loss) and ends with
a clearly higher test loss and a lower test accuracy than the one with Dropout.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbrun import run_notebook, stdout_of, images_of

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "assignments" / "04_dropout" / "dropout.ipynb"

pytestmark = pytest.mark.slow


def pair(text: str, label: str) -> tuple[float, float]:
    match = re.search(label + r"\s+without dropout: ([0-9.]+)\s+with dropout: ([0-9.]+)", text)
    assert match, f"no line '{label} ...' in the output:\n{text}"
    return float(match.group(1)), float(match.group(2))


def test_notebook_runs_and_makes_its_points(tmp_path):
    nb = run_notebook(NOTEBOOK, tmp_path)
    text = stdout_of(nb)
    zeroed = float(re.search(r"zeroed fraction: ([0-9.]+)", text).group(1))
    assert abs(zeroed - 0.3) < 0.01
    assert "eval mode is the identity: True" in text
    train_plain, train_dropout = pair(text, "final train loss")
    test_plain, test_dropout = pair(text, "final test loss")
    acc_plain, acc_dropout = pair(text, "test accuracy")
    assert train_plain < train_dropout, "without dropout the network should memorise more"
    assert test_dropout < 0.8 * test_plain, (test_plain, test_dropout)
    assert acc_dropout > acc_plain, (acc_plain, acc_dropout)
    assert len(images_of(nb)) == 1, "the loss-curve figure was not displayed"


def test_notebook_is_saved_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert any("from dropout import" in cell.source for cell in code)
