"""The normalization notebook runs top to bottom on the reference solution.

It must also make its point: the final training loss printed for the MLP with
BatchNorm is clearly lower than the one without, and the figure is produced.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from nbrun import run_notebook, stdout_of

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "assignments" / "03_normalization" / "normalization.ipynb"

pytestmark = pytest.mark.slow


def test_notebook_runs_and_batchnorm_trains_faster(tmp_path):
    nb = run_notebook(NOTEBOOK, tmp_path)
    text = stdout_of(nb)
    assert "BatchNorm1d matches torch.nn.BatchNorm1d" in text
    plain = float(re.search(r"final loss without BatchNorm: ([0-9.]+)", text).group(1))
    bn = float(re.search(r"final loss with BatchNorm: ([0-9.]+)", text).group(1))
    assert bn < 0.2 and plain > 2 * bn, f"BN loss {bn} vs plain {plain}"
    acc_bn = float(re.search(r"test accuracy with BatchNorm: ([0-9.]+)", text).group(1))
    assert acc_bn > 0.9, f"held-out accuracy with BatchNorm (eval mode) {acc_bn}"
    images = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
              if "image/png" in out.get("data", {})]
    assert len(images) == 1, "the loss-curve figure was not displayed"


def test_notebook_is_saved_without_outputs():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert any("from normalization import BatchNorm1d" in cell.source for cell in code)
