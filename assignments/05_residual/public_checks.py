"""Public checks for residual blocks: run them with

    python -m autograder check residual

from the folder that holds assignments/. They check the structure (the names
that make reference weights load, and make_mlp's layout) and what a block
computes when its body's output is known; the hidden checks load reference
weights into your blocks and compare outputs and gradients.
"""
import torch

from autograder.checks import cause, check, module_types

TOPIC = "residual"

WANT_KEYS = {"body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias", "body.1.running_mean",
             "body.1.running_var", "body.1.num_batches_tracked", "body.3.weight", "body.3.bias",
             "body.4.weight", "body.4.bias", "body.4.running_mean", "body.4.running_var",
             "body.4.num_batches_tracked"}

NO_PROJECTION = cause(
    "no projection when the widths differ",
    "the shortcut is the identity even when in_features != out_features; then it must be a "
    "projection, nn.Linear(in_features, out_features, bias=False), named shortcut.")
PROJECTION_BIAS = cause(
    "projection with a bias",
    "the projection shortcut has a bias; make it nn.Linear(in_features, out_features, bias=False), "
    "whose only parameter is shortcut.weight.")
NEEDLESS_PROJECTION = cause(
    "projection although the widths match",
    "the shortcut is a projection even though in_features == out_features; use nn.Identity() "
    "then, and the bias-free Linear only when the widths differ.")
RELU_BEFORE_SKIP = cause(
    "ReLU before the skip",
    "the ReLU was applied to the body before adding the skip; the block returns "
    "ReLU(body(x) + shortcut(x)): add first, then apply the ReLU.")
NO_FINAL_RELU = cause(
    "no final ReLU",
    "the block returns body(x) + shortcut(x) without the final ReLU.")
RELU_IN_BODY = cause(
    "ReLU at the end of the body",
    "the body ends with a ReLU; it ends with the second BatchNorm1d, and the only ReLU after it "
    "comes once the skip has been added: ReLU(body(x) + shortcut(x)).")
ONE_BLOCK = cause(
    "one block repeated",
    "make_mlp repeated one block object ([block] * depth), so all blocks share one set of weights; "
    "create a new block for each position: [block(width) for _ in range(depth)].")
FLAG_IGNORED = cause(
    "residual flag ignored",
    "make_mlp built ResidualBlocks even with residual=False; it must use PlainBlock then.")


def _judge_keys(got):
    same, proj = set(got["same_width"]), set(got["projection"])
    if same != WANT_KEYS:
        message = ("ResidualBlock(6).state_dict() keys differ from the brief's: missing "
                   f"{sorted(WANT_KEYS - same)}, unexpected {sorted(same - WANT_KEYS)}.")
        if same - WANT_KEYS == {"shortcut.weight"}:
            message += f"\n{NEEDLESS_PROJECTION}"
        return message
    if proj != WANT_KEYS | {"shortcut.weight"}:
        message = ("ResidualBlock(6, 4).state_dict() should add exactly 'shortcut.weight' (a Linear "
                   f"without bias); got extra keys {sorted(proj - WANT_KEYS)}.")
        if proj == WANT_KEYS:
            message += f"\n{NO_PROJECTION}"
        elif proj == WANT_KEYS | {"shortcut.weight", "shortcut.bias"}:
            message += f"\n{PROJECTION_BIAS}"
        return message
    return None


@check(points=1, public=True, judge=_judge_keys)
def state_dict_keys(impl, t):
    """ResidualBlock: the brief's submodule names (body.0/1/3/4, shortcut only when widths differ)."""
    return {"same_width": list(impl.ResidualBlock(6).state_dict()),
            "projection": list(impl.ResidualBlock(6, 4).state_dict())}


def _judge_known_body(got):
    x, out = got["x"], got["out"]
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        return f"The block returned {getattr(out, 'shape', type(out).__name__)}; expected shape {tuple(x.shape)}."
    if torch.allclose(out, (x - 1).relu(), atol=1e-6):
        return None
    message = ("With the last BatchNorm's weight at 0 and its bias at -1, the body outputs -1 "
               "everywhere, so the block must return ReLU(x - 1): the skip added, then the ReLU.")
    for want, found in ((x, RELU_BEFORE_SKIP), (x - 1, NO_FINAL_RELU), (x.relu(), RELU_IN_BODY)):
        if torch.allclose(out, want, atol=1e-6):
            return f"{message}\n{found}"
    return message


@check(points=1, public=True, judge=_judge_known_body)
def known_body_gives_relu_x_minus_1(impl, t):
    """ResidualBlock(5) in eval, the last BatchNorm's weight 0 and bias -1 (body(x) = -1): returns ReLU(x - 1)."""
    block = impl.ResidualBlock(5).to(str(t.device))
    block.body[4].weight.data.zero_()
    block.body[4].bias.data.fill_(-1.0)
    block.eval()
    x = t.randn(8, 5) * 2
    return {"x": x, "out": block(x)}


def _judge_layout(got):
    for key, block in (("residual", "ResidualBlock"), ("plain", "PlainBlock")):
        rows = [(name, cls) for name, cls, _ in got[key] if name and "." not in name]
        want = [("0", "Linear")] + [(str(i), block) for i in (1, 2, 3)] + [("4", "Linear")]
        if rows == want:
            continue
        message = (f"make_mlp(3, 8, in_features=5, out_features=2, residual={key == 'residual'}) "
                   f"holds {rows}; expected {want}.")
        if len(rows) < len(want) and all(r in want for r in rows):
            message += ("\nIts modules list one block under several names only once: the same "
                        f"block object is repeated.\n{ONE_BLOCK}")
        elif key == "plain" and rows == [(n, "ResidualBlock" if c == block else c) for n, c in want]:
            message += f"\n{FLAG_IGNORED}"
        return message
    return None


@check(points=1, public=True, judge=_judge_layout)
def make_mlp_layout(impl, t):
    """make_mlp(3, 8, in_features=5, out_features=2): Linear, three distinct blocks, Linear (residual and plain)."""
    return {key: module_types(impl.make_mlp(3, 8, in_features=5, out_features=2, residual=residual))
            for key, residual in (("residual", True), ("plain", False))}
