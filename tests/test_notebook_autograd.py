"""The autograd notebook runs top to bottom on the reference solution.

It must also make its points: the lecture's x.grad is 13, gradient_check is
tiny for correct gradients and large for the buggy backward, and the h sweep
shows float64 reaching far smaller errors than float32, at a smaller best h.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbrun import run_notebook, stdout_of

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "assignments" / "01_autograd" / "autograd_basics.ipynb"

pytestmark = pytest.mark.slow


def test_notebook_runs_and_makes_its_points(tmp_path):
    nb = run_notebook(NOTEBOOK, tmp_path)
    text = stdout_of(nb)
    assert "x.grad = 13.0" in text
    checks = dict(re.findall(r"gradient_check\((.+?)\) = ([0-9.e+-]+)", text))
    assert len(checks) >= 5, checks
    wrong = float(checks.pop("WrongSquare"))
    assert wrong > 0.1, f"the buggy backward was not caught: {wrong}"
    assert all(float(v) < 1e-6 for v in checks.values()), checks
    best = {dtype: (float(err), float(h)) for dtype, err, h in
            re.findall(r"(float\d\d): smallest error ([0-9.e+-]+) at h = ([0-9.e+-]+)", text)}
    (err64, h64), (err32, h32) = best["float64"], best["float32"]
    assert err64 < 1e-8 < 1e-6 < err32, best
    assert h64 < h32, best
    images = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
              if "image/png" in out.get("data", {})]
    assert len(images) == 1, "the error-versus-h figure was not displayed"


def test_notebook_is_saved_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert any("from autograd_basics import" in cell.source for cell in code)
    assert any("torch.tensor(5.0, requires_grad=True)" in cell.source for cell in code)
