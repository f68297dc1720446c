"""Hidden checks: the capstone (a classifier from the student's own modules, trained
with the student's own Adam on scikit-learn's digits).

The student's `train_model` runs in the worker under a time budget. The held-out
labels never leave the grader: the worker only sees the test features, and the
accuracy is computed here. Partial credit: 0 at 50% accuracy or below, rising
linearly to full marks at 95%.
"""
import functools
import time

import torch

from autograder.checks import check, fetch, module_types

TOPIC = "capstone"
TIME_BUDGET = 60.0          # seconds handed to train_model; the reference needs about 10
FULL_MARKS_AT = 0.95
ZERO_AT = 0.50
OWN_CLASSES = {"BatchNorm1d": "normalization", "Dropout": "dropout", "ResidualBlock": "residual"}


@functools.lru_cache(maxsize=1)
def digits_split():
    """Digits, raw features, a fixed stratified 75/25 split (the same for every student)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    as_x = lambda a: torch.tensor(a, dtype=torch.float32)            # noqa: E731
    as_y = lambda a: torch.tensor(a, dtype=torch.int64)              # noqa: E731
    return as_x(Xtr), as_y(ytr), as_x(Xte), as_y(yte)


def _own_module_problem(types) -> str | None:
    """None when the model contains the student's own BatchNorm1d, Dropout and ResidualBlock."""
    found = {cls: module for _, cls, module in types}
    missing = []
    for cls, module in OWN_CLASSES.items():
        if not found.get(cls, "").endswith(module):
            missing.append(f"{cls} (from your {module}.py)")
    if missing:
        return ("The model must be built from your own layers; it does not contain: "
                + ", ".join(missing) + ".")
    return None


def _judge_accuracy(got):
    problem = _own_module_problem(got["modules"])
    if problem:
        return problem
    logits, labels = got["logits"], got["labels"]
    if not isinstance(logits, torch.Tensor) or logits.shape != (labels.shape[0], 10):
        return f"The model returned {getattr(logits, 'shape', type(logits).__name__)} for the test " \
               f"features; expected logits of shape ({labels.shape[0]}, 10)."
    if got["training"]:
        return "train_model must return the model in eval mode (call model.eval() at the end)."
    accuracy = float((logits.argmax(1).cpu() == labels.cpu()).double().mean())
    fraction = (accuracy - ZERO_AT) / (FULL_MARKS_AT - ZERO_AT)
    if fraction >= 1.0:
        return None
    return (max(0.0, fraction),
            f"Held-out accuracy {100 * accuracy:.1f}% (training took {got['seconds']:.1f} s of a "
            f"{TIME_BUDGET:.0f} s budget); full marks from {100 * FULL_MARKS_AT:.0f}%, none at "
            f"{100 * ZERO_AT:.0f}% or below. Look at the training loss in the notebook: a learning "
            "rate, too few epochs or a model left in training mode are the usual causes.")


@check(points=6, judge=_judge_accuracy, timeout=TIME_BUDGET * 2 + 30, placement=False)
def digits_accuracy(impl, t):
    """Your model, trained by your train_model, classifies held-out digits (95% for full marks)."""
    Xtr, ytr, Xte, yte = digits_split()
    model = impl.build_model(64, 10)
    started = time.monotonic()
    model = impl.train_model(model, Xtr.to(t.device), ytr.to(t.device), time_budget=TIME_BUDGET)
    seconds = time.monotonic() - started
    return {"logits": model(Xte.to(t.device)), "labels": yte, "seconds": seconds,
            "training": fetch(model.training), "modules": module_types(model)}


def _judge_budget(got):
    if got["training"]:
        return "train_model must return the model in eval mode (call model.eval() at the end)."
    if got["seconds"] > 20:
        return (f"With time_budget=0 and 1000 epochs, train_model took {got['seconds']:.1f} s: it "
                "must stop after the first epoch whose end is past the budget.")
    return None


@check(points=1, judge=_judge_budget, timeout=60, placement=False)
def time_budget_is_respected(impl, t):
    """train_model(time_budget=0) stops after one epoch and returns the model in eval mode."""
    Xtr, ytr, _, _ = digits_split()
    model = impl.build_model(64, 10)
    started = time.monotonic()
    model = impl.train_model(model, Xtr.to(t.device), ytr.to(t.device), epochs=1000, time_budget=0.0)
    return {"seconds": time.monotonic() - started, "training": fetch(model.training)}
