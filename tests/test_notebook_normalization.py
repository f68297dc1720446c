"""The normalization notebook runs top to bottom on the reference solution.

It must also make its points: the final training loss printed for the MLP with
BatchNorm is clearly lower than the one without; standardized inputs make gradient
descent converge in a few steps where raw ones (scales 1 and 1000) do not in 5000;
the folded network has no BatchNorm and the same outputs; the accumulated gradient is
the batch's with LayerNorm and not with BatchNorm. Each section draws its figure.
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
    assert len(images) == 4, "the loss curves, the loss surfaces, the timings and the gradient gaps"

    # 1. input normalization: a stretched loss surface, then a round one
    curv = re.search(r"curvatures of the loss, raw features: ([0-9.e+-]+) and ([0-9.e+-]+); "
                     r"standardized: ([0-9.e+-]+) and ([0-9.e+-]+)", text)
    raw_lo, raw_hi, std_lo, std_hi = map(float, curv.groups())
    assert raw_hi / raw_lo > 1e5 and std_hi / std_lo < 1.1, curv.group(0)
    assert "steps to converge with raw features: more than 5000" in text
    assert int(re.search(r"steps to converge with standardized features: (\d+)", text)[1]) <= 20
    # 2. BatchNorm folded away: no BatchNorm left, the same outputs, timed
    assert re.search(r"layers: 13 with BatchNorm, 9 folded \(0 BatchNorm left\)", text)
    gap = float(re.search(r"folded and the BatchNorm model \(eval\): ([0-9.e+-]+)", text)[1])
    assert gap < 1e-4 and "same predictions on the test set: True" in text
    assert len(re.findall(r"inference, batch of \d+: with BatchNorm [0-9.]+ ms, folded [0-9.]+ ms", text)) == 3
    # 3. per-example gradients: LayerNorm yes, BatchNorm no
    ln = float(re.search(r"per-example gradients is the batch gradient, largest relative "
                         r"difference ([0-9.e+-]+)", text)[1])
    bn_min = float(re.search(r"smaller than the batch: ([0-9.e+-]+)", text)[1])
    assert ln < 1e-12 and bn_min > 1e-2, (ln, bn_min)
    seconds = [float(s) for s in re.findall(r"\(section \d: ([0-9.]+) s\)", text)]
    assert len(seconds) == 3 and max(seconds) < 10, seconds        # each new section stays quick


def test_notebook_is_saved_without_outputs():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert any("from normalization import BatchNorm1d" in cell.source for cell in code)
