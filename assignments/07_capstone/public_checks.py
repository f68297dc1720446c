"""Public checks for the capstone: run them with

    python -m autograder check capstone

from the folder that holds assignments/ (your normalization, dropout, residual
and optimizers must work too). The hidden check trains your model with your
train_model on the digits and scores held-out accuracy within a time budget.
"""
import torch

from autograder.checks import check, module_types

TOPIC = "capstone"
OWN = {"BatchNorm1d": "normalization", "Dropout": "dropout", "ResidualBlock": "residual"}


def _judge_model(got):
    found = {cls: module for _, cls, module in got["modules"]}
    missing = [f"{c} (from {m}.py)" for c, m in OWN.items() if not found.get(c, "").endswith(m)]
    if missing:
        return "build_model must use your own layers; missing: " + ", ".join(missing) + "."
    out = got["out"]
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (7, 10):
        return f"build_model(64, 10) maps (7, 64) to {getattr(out, 'shape', type(out).__name__)}; expected (7, 10) logits."
    return None


@check(points=1, public=True, judge=_judge_model)
def build_model_shape_and_layers(impl, t):
    """build_model(64, 10) maps (N, 64) to (N, 10) logits and contains your own layers."""
    model = impl.build_model(64, 10)
    model.eval()
    return {"out": model(t.randn(7, 64)), "modules": module_types(model)}
