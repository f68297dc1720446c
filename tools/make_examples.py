"""Build examples/submissions/ from the reference solutions and variants of the bank.

    python tools/make_examples.py          # write the examples
    python tools/make_examples.py --check  # exit 1 if the committed examples are stale

Every example is the full set of reference files with one student's change: a
variant of autograder/bank/ (autograder/variants.py), named below, so its score
shows exactly what that change costs. tests/test_examples.py holds the scores each
one must get.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from autograder import variants  # noqa: E402
from autograder.topics import TOPICS  # noqa: E402

OUT = ROOT / "examples" / "submissions"
NORM = "normalization.py"

# name -> (layout, the bank's variants applied, what it shows)
EXAMPLES = {
    "alice": ("tree", (), "correct: the reference solutions, in the assignments/ tree"),
    "bob": ("flat", ("biased running_var",), "running_var updated with the biased variance"),
    "carol": ("zip", ("momentum reversed",),
              "momentum weighs the old value (CS231n's convention), submitted as a .zip"),
    "dave": ("flat", ("nm-tensor-made-on-the-cpu",),
             "creates a tensor on the CPU inside batch_norm (a GPU bug, caught without a GPU)"),
    "erin": ("flat", ("nm-syntax-error",), "a syntax error: normalization.py cannot be imported"),
    "frank": ("flat", ("nm-endless-loop-in-layer-norm",), "an endless loop in layer_norm"),
    "grace": ("notebook", (), "normalization only, submitted as a notebook with magics and prints"),
    "heidi": ("flat", ("nm-functional-batch-norm",), "calls the forbidden torch.nn.functional.batch_norm"),
}


def solution_files() -> dict[str, tuple[str, str]]:
    """file name -> (topic folder, text) for every reference module."""
    return {p.name: (p.parent.name, p.read_text())
            for p in sorted((ROOT / "solutions").glob("[0-9][0-9]_*/*.py"))}


def patched(files: dict, names: tuple[str, ...]) -> dict:
    """The reference files with each named variant of the bank applied to its topic's file."""
    out = dict(files)
    for name in names:
        variant = variants.by_name(name)
        filename = TOPICS[variant.topic].filename
        folder, text = out[filename]
        out[filename] = (folder, variants.apply(text, variant.patch, name))
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
