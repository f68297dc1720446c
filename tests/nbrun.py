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
