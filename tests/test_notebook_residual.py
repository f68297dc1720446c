"""The residual notebook runs top to bottom on the reference solutions.

It must also make its points: at 16 and 32 blocks the plain network stays near
the loss of guessing while the residual one trains, and at initialization the
plain network's gradient norms spread over far more orders of magnitude.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbrun import run_notebook, stdout_of, images_of

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "assignments" / "05_residual" / "residual.ipynb"

pytestmark = pytest.mark.slow


def test_notebook_runs_and_makes_its_points(tmp_path):
    nb = run_notebook(NOTEBOOK, tmp_path)
    text = stdout_of(nb)
    losses = {int(d): (float(p), float(r)) for d, p, r in re.findall(
        r"depth\s+(\d+): final training loss plain ([0-9.]+), residual ([0-9.]+)", text)}
    assert set(losses) == {4, 16, 32}, text
    for depth in (16, 32):
        plain, residual = losses[depth]
        assert plain > 1.5 and residual < 0.5 * plain, (depth, plain, residual)
    ratios = re.search(r"block 1 / block 32: plain ([0-9.e+-]+), residual ([0-9.e+-]+)", text)
    plain_ratio, residual_ratio = float(ratios.group(1)), float(ratios.group(2))
    assert plain_ratio > 100 * residual_ratio, (plain_ratio, residual_ratio)
    assert len(images_of(nb)) == 2, "the gradient-norm and training-loss figures were not displayed"


def test_notebook_is_saved_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert "../03_normalization" in code[0].source             # siblings first
    assert any("from residual import" in cell.source for cell in code)
