"""The dropout notebook runs top to bottom on the reference solution.

It must also make its points: on 200 digits with noisy labels the network
without dropout memorises the training set (lower training loss) and ends with
a clearly higher test loss and a lower test accuracy than the one with Dropout;
and a network trained with one dropout convention (inverted, or the slide's
scaled_at_test_dropout) and evaluated with the other sees activations off by the
factor 1 - p or 1 / (1 - p) and a test loss about twice as high, while each is
best with its own test rule.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbrun import run_notebook, stdout_of, images_of

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "assignments" / "04_dropout" / "dropout.ipynb"

pytestmark = pytest.mark.slow


def pair(text: str, label: str) -> tuple[float, float]:
    match = re.search(label + r"\s+without dropout: ([0-9.]+)\s+with dropout: ([0-9.]+)", text)
    assert match, f"no line '{label} ...' in the output:\n{text}"
    return float(match.group(1)), float(match.group(2))


def test_notebook_runs_and_makes_its_points(tmp_path):
    nb = run_notebook(NOTEBOOK, tmp_path)
    text = stdout_of(nb)
    zeroed = float(re.search(r"zeroed fraction: ([0-9.]+)", text).group(1))
    assert abs(zeroed - 0.3) < 0.01
    assert "eval mode is the identity: True" in text
    train_plain, train_dropout = pair(text, "final train loss")
    test_plain, test_dropout = pair(text, "final test loss")
    acc_plain, acc_dropout = pair(text, "test accuracy")
    assert train_plain < train_dropout, "without dropout the network should memorise more"
    assert test_dropout < 0.8 * test_plain, (test_plain, test_dropout)
    assert acc_dropout > acc_plain, (acc_plain, acc_dropout)
    assert len(images_of(nb)) == 2, "the loss-curve and the test-rule figures were not both displayed"
    conventions_make_their_points(text)


def conventions_make_their_points(text: str) -> None:
    """Each convention: E[training output] = test output; swapped test rules are off by the
    factor 1 - p (or its inverse), cost about twice the loss, leave the accuracy nearly alone."""
    for name, want in (("inverted", 1.0), ("slide's", 0.7)):
        train, test = re.search(name + r":\s+mean training output ([0-9.]+)\s+test output ([0-9.]+)", text).groups()
        assert abs(float(train) - want) < 0.01 and abs(float(test) - want) < 1e-3, (name, train, test)
    rows = {}
    for trained, rule, ratio, loss, acc in re.findall(
            r"trained (\S+)\s+tested with the (\S+) rule.*?activation ratio ([0-9.]+)\s+"
            r"test loss ([0-9.]+)\s+accuracy ([0-9.]+)", text):
        rows[trained, rule] = float(ratio), float(loss), float(acc)
    assert len(rows) == 4, rows
    p = 0.5
    expected_ratio = {("inverted", "inverted"): 1.0, ("inverted", "slide's"): 1 - p,
                      ("slide's", "inverted"): 1 / (1 - p), ("slide's", "slide's"): 1.0}
    for key, want in expected_ratio.items():
        assert abs(rows[key][0] - want) < 0.03 * want, (key, rows[key])
    for trained, wrong in (("inverted", "slide's"), ("slide's", "inverted")):
        right_loss, right_acc = rows[trained, trained][1:]
        wrong_loss, wrong_acc = rows[trained, wrong][1:]
        assert wrong_loss > 1.7 * right_loss, (trained, right_loss, wrong_loss)
        assert abs(wrong_acc - right_acc) < 0.03, (trained, right_acc, wrong_acc)
    assert abs(rows["inverted", "inverted"][1] - rows["slide's", "slide's"][1]) < 0.1
    for name, own in (("inverted", 1.0), ("slide's", 1 - p)):
        best = float(re.search(f"trained {name}: lowest test loss at s = ([0-9.]+)", text).group(1))
        assert own / 1.25 <= best <= own * 1.25, (name, best, own)


def test_notebook_is_saved_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert any("from dropout import" in cell.source for cell in code)
