"""Run a topic notebook top to bottom against the reference solutions.

The notebook is copied into a scratch folder together with every reference
module it may import (flat, as the worker sees a submission), then executed
with nbclient. A failing cell raises with the cell's traceback.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def reference_modules() -> list[Path]:
    """Every reference module under solutions/ (one or more per topic folder)."""
    return sorted(p for p in (ROOT / "solutions").glob("[0-9][0-9]_*/*.py"))


def run_notebook(notebook: Path, workdir: Path, timeout: int = 120) -> nbformat.NotebookNode:
    """Execute `notebook` in `workdir` with the reference modules importable."""
    workdir.mkdir(parents=True, exist_ok=True)
    for module in reference_modules():
        shutil.copy(module, workdir / module.name)
    nb = nbformat.read(notebook, as_version=4)
    os.environ.setdefault("MPLBACKEND", "Agg")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return nb


def stdout_of(nb: nbformat.NotebookNode) -> str:
    """Everything the notebook's code cells printed to stdout, in order."""
    return "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []) if out.get("output_type") == "stream"
                   and out.get("name") == "stdout")


def images_of(nb: nbformat.NotebookNode) -> list:
    """The PNG outputs (plots) of the notebook's code cells."""
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
            if "image/png" in out.get("data", {})]
