"""Build examples/submissions/ from the reference solutions and a few realistic bugs.

    python tools/make_examples.py          # write the examples
    python tools/make_examples.py --check  # exit 1 if the committed examples are stale

Every example is the full set of reference files with one student's change, so
its score shows exactly what that change costs. tests/test_examples.py holds the
scores each one must get.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "examples" / "submissions"
NORM = "normalization.py"

# name -> (layout, {file: [(old, new), ...]}, what it shows)
EXAMPLES = {
    "alice": ("tree", {}, "correct: the reference solutions, in the assignments/ tree"),
    "bob": ("flat", {NORM: [("var_unbiased = var * n / (n - 1)", "var_unbiased = var")]},
            "running_var updated with the biased variance"),
    "carol": ("zip", {NORM: [
        ("running_mean.copy_((1 - momentum) * running_mean + momentum * mean)",
         "running_mean.copy_(momentum * running_mean + (1 - momentum) * mean)"),
        ("running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)",
         "running_var.copy_(momentum * running_var + (1 - momentum) * var_unbiased)")]},
        "momentum weighs the old value (CS231n's convention), submitted as a .zip"),
    "dave": ("flat", {NORM: [(
        "    out = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)\n"
        "    if weight is not None:\n",
        "    out = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)\n"
        "    if weight is None:\n"
        "        weight = torch.ones(x.shape[1])         # made on the CPU\n"
        "    if weight is not None:\n")]},
        "creates a tensor on the CPU inside batch_norm (a GPU bug, caught without a GPU)"),
    "erin": ("flat", {NORM: [("def layer_norm(x: Tensor, normalized_shape: int | tuple[int, ...],",
                              "def layer_norm(x: Tensor, normalized_shape: int | tuple[int, ...]")]},
             "a syntax error: normalization.py cannot be imported"),
    "frank": ("flat", {NORM: [(
        "    dims = list(range(-len(normalized_shape), 0))   # the trailing dims, e.g. [-2, -1]\n",
        "    dims, i = [], 1\n"
        "    while len(dims) < len(normalized_shape):        # forgot i += 1: loops forever\n"
        "        if -i not in dims:\n"
        "            pass\n")]},
        "an endless loop in layer_norm"),
    "grace": ("notebook", {}, "normalization only, submitted as a notebook with magics and prints"),
    "heidi": ("flat", {NORM: [(
        "    # BEGIN SOLUTION Task 3.1\n",
        "    # BEGIN SOLUTION Task 3.1\n"
        "    if x.dim() > 0:\n"
        "        return F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)\n"),
        ("import torch\n", "import torch\nimport torch.nn.functional as F\n")]},
        "calls the forbidden torch.nn.functional.batch_norm"),
}


def solution_files() -> dict[str, tuple[str, str]]:
    """file name -> (topic folder, text) for every reference module."""
    return {p.name: (p.parent.name, p.read_text())
            for p in sorted((ROOT / "solutions").glob("[0-9][0-9]_*/*.py"))}


def patched(files: dict, changes: dict) -> dict:
    out = dict(files)
    for name, pairs in changes.items():
        folder, text = out[name]
        for old, new in pairs:
            if text.count(old) != 1:
                raise SystemExit(f"make_examples: {old!r} must occur once in {name}")
            text = text.replace(old, new, 1)
        out[name] = (folder, text)
    return out


def notebook(text: str) -> str:
    """A notebook a student might hand in: the module split at top-level defs, plus noise."""
    chunks, current = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith(("def ", "class ")) and current:
            chunks.append("".join(current))
            current = []
        current.append(line)
    chunks.append("".join(current))
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# Homework 3: normalization"},
             {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": "%matplotlib inline\nprint('hello')"}]
    cells += [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
               "source": c} for c in chunks]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


def build() -> dict[str, bytes]:
    """Relative path under OUT -> content, for every example."""
    base = solution_files()
    out: dict[str, bytes] = {}
    for name, (layout, changes, _) in EXAMPLES.items():
        files = patched(base, changes)
        if layout == "tree":
            for fname, (folder, text) in files.items():
                out[f"{name}/assignments/{folder}/{fname}"] = text.encode()
        elif layout == "flat":
            for fname, (_, text) in files.items():
                out[f"{name}/{fname}"] = text.encode()
        elif layout == "zip":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as zf:
                for fname, (_, text) in sorted(files.items()):
                    info = zipfile.ZipInfo(f"{name}/{fname}", date_time=(2026, 11, 27, 0, 0, 0))
                    zf.writestr(info, text)
            out[f"{name}.zip"] = buf.getvalue()
        elif layout == "notebook":
            out[f"{name}/normalization.ipynb"] = notebook(files[NORM][1]).encode()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    want = build()
    have = {str(p.relative_to(OUT)): p.read_bytes() for p in OUT.rglob("*") if p.is_file()} \
        if OUT.exists() else {}
    if args.check:
        stale = sorted(set(want) ^ set(have) | {k for k in want if have.get(k) != want[k]})
        for k in stale:
            print(f"stale: examples/submissions/{k}")
        return 1 if stale else 0
    for rel in set(have) - set(want):
        (OUT / rel).unlink()
    for rel, data in want.items():
        path = OUT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {len(want)} files under examples/submissions/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
