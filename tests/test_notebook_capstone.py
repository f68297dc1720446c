"""The capstone notebook runs top to bottom on the reference solutions.

It must also make its point: the student's model trained with the student's
Adam reaches at least 95% held-out accuracy on the digits, both in the
written-out loop and through train_model, which returns the model in eval mode.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbrun import run_notebook, stdout_of, images_of

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "assignments" / "07_capstone" / "train.ipynb"

pytestmark = pytest.mark.slow


def test_notebook_runs_and_makes_its_points(tmp_path):
    nb = run_notebook(NOTEBOOK, tmp_path)
    text = stdout_of(nb)
    curve = float(re.search(r"held-out accuracy after epoch 30: ([0-9.]+)", text).group(1))
    final = re.search(r"held-out accuracy: ([0-9.]+) \(train_model took ([0-9.]+) s\)", text)
    assert final, text
    assert curve >= 0.95 and float(final.group(1)) >= 0.95, text
    assert "returned in eval mode: True" in text
    for part in ("BatchNorm1d(64", "Dropout(p=", "ResidualBlock("):
        assert part in text, f"{part} missing from the printed model"
    assert len(images_of(nb)) == 1, "the learning-curve figure was not displayed"


def test_notebook_is_saved_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert all(f"../{topic}" in code[0].source for topic in
               ("02_optimizers", "03_normalization", "04_dropout", "05_residual"))
    assert any("from train import" in cell.source for cell in code)
    assert any("from optimizers import Adam" in cell.source for cell in code)
