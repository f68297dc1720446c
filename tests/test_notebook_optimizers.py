"""The optimizers notebook runs top to bottom on the reference solution.

It must also make its points: on the axis-aligned valley momentum, RMSProp and
Adam end far below plain SGD; on the rotated valley SGD and momentum give the
same losses as before while RMSProp falls behind SGD; both figures are drawn.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbrun import run_notebook, stdout_of

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "assignments" / "02_optimizers" / "optimizers.ipynb"

pytestmark = pytest.mark.slow


def final_losses(text: str, tag: str) -> dict[str, float]:
    """{'SGD': ..., 'SGD + momentum': ..., 'RMSProp': ..., 'Adam': ...} from 'final loss<tag> NAME (lr=...) VALUE'."""
    pattern = rf"^final loss{re.escape(tag)}\s+(?!\()(.+?)(?: 0\.\d)?\s*\(lr=[0-9.]+\)\s+([0-9.e+-]+)$"
    return {name.strip(): float(value) for name, value in re.findall(pattern, text, flags=re.M)}


def test_notebook_runs_and_momentum_and_adaptive_steps_win(tmp_path):
    nb = run_notebook(NOTEBOOK, tmp_path)
    text = stdout_of(nb)
    aligned, rotated = final_losses(text, ""), final_losses(text, " (rotated)")
    assert set(aligned) == set(rotated) == {"SGD", "SGD + momentum", "RMSProp", "Adam"}, (aligned, rotated)
    sgd = aligned["SGD"]
    for name in ("SGD + momentum", "RMSProp", "Adam"):
        assert aligned[name] < sgd / 10, f"{name} {aligned[name]:.2e} is not well below SGD {sgd:.2e}"
    for name in ("SGD", "SGD + momentum"):        # rotation-invariant updates
        assert rotated[name] == pytest.approx(aligned[name], rel=1e-6, abs=1e-25), name
    assert rotated["RMSProp"] > rotated["SGD"] and rotated["RMSProp"] > 100 * aligned["RMSProp"]
    images = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
              if "image/png" in out.get("data", {})]
    assert len(images) == 2, "the trajectory and loss figures were not displayed"


def test_notebook_is_saved_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert any("from optimizers import" in cell.source for cell in code)
