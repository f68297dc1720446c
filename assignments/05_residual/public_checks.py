"""Public checks for residual blocks: run them with

    python -m autograder check residual

from the folder that holds assignments/. They check the structure (the names
that make reference weights load) and the identity property; the hidden checks
load reference weights into your block and compare outputs and gradients.
"""
import torch

from autograder.checks import check

TOPIC = "residual"

WANT_KEYS = {"body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias", "body.1.running_mean",
             "body.1.running_var", "body.1.num_batches_tracked", "body.3.weight", "body.3.bias",
             "body.4.weight", "body.4.bias", "body.4.running_mean", "body.4.running_var",
             "body.4.num_batches_tracked"}


def _judge_keys(got):
    same, proj = set(got["same_width"]), set(got["projection"])
    if same != WANT_KEYS:
        return ("ResidualBlock(6).state_dict() keys differ from the brief's: missing "
                f"{sorted(WANT_KEYS - same)}, unexpected {sorted(same - WANT_KEYS)}.")
    if proj != WANT_KEYS | {"shortcut.weight"}:
        return ("ResidualBlock(6, 4).state_dict() should add exactly 'shortcut.weight' (a Linear "
                f"without bias); got extra keys {sorted(proj - WANT_KEYS)}.")
    return None


@check(points=1, public=True, judge=_judge_keys)
def state_dict_keys(impl, t):
    """ResidualBlock: the brief's submodule names (body.0/1/3/4, shortcut only when widths differ)."""
    return {"same_width": list(impl.ResidualBlock(6).state_dict()),
            "projection": list(impl.ResidualBlock(6, 4).state_dict())}


def _judge_identity(got):
    x, out = got["x"], got["out"]
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        return f"The block returned {getattr(out, 'shape', type(out).__name__)}; expected shape {tuple(x.shape)}."
    if not torch.allclose(out, x.relu(), atol=1e-6):
        return ("With the last BatchNorm's weight and bias at 0 the body outputs 0, so the block "
                "must return ReLU(x): is the skip added before the final ReLU?")
    return None


@check(points=1, public=True, judge=_judge_identity)
def zero_body_gives_relu_x(impl, t):
    """ResidualBlock(5) in eval with the last BatchNorm zeroed returns ReLU(x)."""
    block = impl.ResidualBlock(5)
    block.body[4].weight.data.zero_()
    block.eval()
    x = t.randn(8, 5)
    return {"x": x, "out": block(x)}
