"""Hidden checks: ResidualBlock, PlainBlock, make_mlp.

The reference's weights are loaded into the student's block (seeded, the same
on both sides), so outputs and gradients can be compared exactly. While this
topic is graded, the student's `from normalization import BatchNorm1d` gets
torch.nn.BatchNorm1d (topics.py): a BatchNorm bug costs points only once.
"""
import torch

from autograder.checks import (RemoteError, call_with_grad, check, fetch, make_param,
                               module_types)

TOPIC = "residual"
PLACEMENT_POINTS = 1
F64 = torch.float64


def _block_state(t, n_in, n_out, hidden=None, dtype=F64, last_bn_weight=None):
    """A seeded state_dict with the brief's key names for a block of these widths."""
    hidden = hidden or n_out
    state = {}
    for index, (a, b) in ((0, (n_in, hidden)), (3, (hidden, n_out))):
        state[f"body.{index}.weight"] = t.randn(b, a, dtype=dtype) / a ** 0.5
        state[f"body.{index}.bias"] = t.randn(b, dtype=dtype) * 0.1
        bn = index + 1
        state[f"body.{bn}.weight"] = t.rand(b, dtype=dtype) + 0.5
        state[f"body.{bn}.bias"] = t.randn(b, dtype=dtype) * 0.2
        state[f"body.{bn}.running_mean"] = t.randn(b, dtype=dtype) * 0.1
        state[f"body.{bn}.running_var"] = t.rand(b, dtype=dtype) + 0.5
        state[f"body.{bn}.num_batches_tracked"] = torch.tensor(2, device=t.device)
    if last_bn_weight is not None:          # as after torchvision's zero_init_residual
        state["body.4.weight"] = torch.full_like(state["body.4.weight"], last_bn_weight)
        state["body.4.bias"] = torch.zeros_like(state["body.4.bias"])
    if n_in != n_out:
        state["shortcut.weight"] = t.randn(n_out, n_in, dtype=dtype) / n_in ** 0.5
    return state


def _shapes(state: dict) -> dict:
    return {key: list(value.shape) for key, value in state.items()}


def _loaded(impl, t, cls, n_in, n_out=None, hidden=None, **kw):
    args = (n_in,) if n_out is None else (n_in, n_out)
    block = getattr(impl, cls)(*args, **({"hidden_features": hidden} if hidden else {}))
    block = block.to(device=t.device, dtype=F64)
    state = _block_state(t, n_in, n_out or n_in, hidden, **kw)
    if cls == "PlainBlock":
        state = {k: v for k, v in state.items() if not k.startswith("shortcut")}
    block.load_state_dict(state)
    return block


@check(points=1, placement=False)
def state_dict_keys_same_width(impl, t):
    """ResidualBlock(6): state_dict keys body.0/1/3/4.* and no shortcut parameters (identity)."""
    return {"shapes": _shapes(impl.ResidualBlock(6).state_dict())}


@check(points=1, placement=False)
def projection_when_widths_differ(impl, t):
    """ResidualBlock(6, 4, hidden_features=5): a bias-free projection shortcut.weight (4, 6)."""
    return {"shapes": _shapes(impl.ResidualBlock(6, 4, hidden_features=5).state_dict())}


@check(points=2)
def forward_train_identity(impl, t):
    """ResidualBlock (identity shortcut), training: output and updated running statistics.

    x is returned too: adding into the caller's x in place fails this check either way
    (the in-place log), and comparing x names the mistake.
    """
    block = _loaded(impl, t, "ResidualBlock", 5)
    block.train()
    x = t.randn(12, 5, dtype=F64)
    out = block(x)
    return {"out": out, "state_dict": block.state_dict(), "x after the call": x}


@check(points=2)
def forward_eval_projection(impl, t):
    """ResidualBlock (projection shortcut), eval: output with the running statistics."""
    block = _loaded(impl, t, "ResidualBlock", 6, 3, hidden=4)
    block.eval()
    return {"out": block(t.randn(7, 6, dtype=F64) * 2)}


@check(points=2, tolerance=10)
def gradients_train(impl, t):
    """ResidualBlock, training: gradients of x and of every parameter."""
    block = _loaded(impl, t, "ResidualBlock", 4, 6, hidden=5)
    block.train()
    x = t.randn(10, 4, dtype=F64).requires_grad_(True)
    out, grads = call_with_grad(block, x, upstream=t.randn(10, 6, dtype=F64))
    names = ["body.0.weight", "body.0.bias", "body.1.weight", "body.3.weight", "body.4.bias",
             "shortcut.weight"]
    result = {"out": out, "grad_x": grads.get(0)}
    for name in names:
        ref = block
        for part in name.split("."):
            ref = ref[int(part)] if part.isdigit() else getattr(ref, part)
        result[f"grad {name}"] = fetch(ref.grad)
    return result


@check(points=2)
def zero_last_bn_gives_relu_of_skip(impl, t):
    """With the last BatchNorm's weight and bias at 0, the block returns ReLU(shortcut(x))."""
    out = {}
    for n_out in (5, 3):
        block = _loaded(impl, t, "ResidualBlock", 5, n_out, last_bn_weight=0.0)
        block.eval()
        out[f"out (5 -> {n_out})"] = block(t.randn(6, 5, dtype=F64))
    return out


@check(points=1)
def skip_added_before_final_relu(impl, t):
    """The skip is added BEFORE the final ReLU: ReLU(body(x) + x), not ReLU(body(x)) + x."""
    block = _loaded(impl, t, "ResidualBlock", 4)
    block.eval()
    x = -t.rand(8, 4, dtype=F64) - 1.0                  # negative inputs: the order shows
    return {"out": block(x)}


@check(points=1)
def plain_block(impl, t):
    """PlainBlock: ReLU(body(x)) with no skip, training and eval."""
    block = _loaded(impl, t, "PlainBlock", 5)
    block.train()
    out_train = block(t.randn(9, 5, dtype=F64))
    block.eval()
    return {"out_train": out_train, "out_eval": block(t.randn(4, 5, dtype=F64))}


@check(points=1, placement=False)
def make_mlp_structure(impl, t):
    """make_mlp(3, 8, in_features=5, out_features=2): Linear, 3 blocks, Linear; and without ends."""
    def layout(model):
        return [[name, cls] for name, cls, _ in module_types(model) if name.count(".") == 0]
    return {"with ends": layout(impl.make_mlp(3, 8, in_features=5, out_features=2)),
            "plain blocks": layout(impl.make_mlp(2, 4, residual=False)),
            "output": list(impl.make_mlp(3, 8, in_features=5, out_features=2).to(
                device=t.device)(t.randn(4, 5)).shape)}


@check(points=1)
def plain_block_widths_differ(impl, t):
    """PlainBlock(6, 3, hidden_features=4): state_dict shapes, training and eval outputs."""
    block = impl.PlainBlock(6, 3, hidden_features=4)
    shapes = _shapes(block.state_dict())
    state = {k: v for k, v in _block_state(t, 6, 3, 4).items() if not k.startswith("shortcut")}
    if shapes != _shapes(state):       # the outputs would not load: the shapes say why
        return {"shapes": shapes, "out_train": None, "out_eval": None}
    block = block.to(device=t.device, dtype=F64)
    block.load_state_dict(state)
    block.train()
    out_train = block(t.randn(9, 6, dtype=F64))
    block.eval()
    return {"shapes": shapes, "out_train": out_train, "out_eval": block(t.randn(4, 6, dtype=F64))}


@check(points=1, placement=False)
def make_mlp_one_end(impl, t):
    """make_mlp with only in_features, or only out_features: that one end Linear, and the output shape."""
    def layout(model):
        return [[name, cls] for name, cls, _ in module_types(model) if name.count(".") == 0]

    def output_shape(model, x):
        try:
            return list(model.to(device=t.device)(x).shape)
        except RemoteError as exc:      # compared with the reference's, so the mistake is named
            if exc.is_a("NotImplementedError"):
                raise
            return f"raised {exc.type}"
    first, last = impl.make_mlp(2, 4, in_features=3), impl.make_mlp(2, 4, out_features=2)
    return {"in_features=3 only": layout(first), "out_features=2 only": layout(last),
            "output shapes": [output_shape(first, t.randn(5, 3)), output_shape(last, t.randn(5, 4))]}


@check(points=1, placement=False)
def identity_shortcut_wide(impl, t):
    """ResidualBlock(300, 300) and ResidualBlock(300): identity shortcuts, no shortcut parameters.

    The widths arrive as two distinct int objects (Python shares only the small ints, up to
    256): comparing them with `is` instead of == takes 300 and 300 for different widths.
    """
    return {"ResidualBlock(300, 300)": _shapes(impl.ResidualBlock(300, 300).state_dict()),
            "ResidualBlock(300)": _shapes(impl.ResidualBlock(300).state_dict())}


@check(points=1)
def non_contiguous_input(impl, t):
    """ResidualBlock in eval mode on a transposed (non-contiguous) batch: the same output, x unchanged."""
    block = _loaded(impl, t, "ResidualBlock", 5)
    block.eval()
    base = make_param(impl, t.randn(5, 12, dtype=F64))       # x = base.T, a (12, 5) view
    return {"out": _or_error(lambda: block(base.data.T)), "x after the call": fetch(base)}


def _or_error(call):
    """The implementation's result, or "raised Kind" when it raised: compared with the
    reference's, so that a crash still lets a known mistake be named."""
    try:
        return call()
    except RemoteError as exc:
        if exc.is_a("NotImplementedError"):
            raise                   # an unfinished stub is "not attempted"
        return f"raised {exc.type}"


RESIDUAL_FORWARD = "        return (self.body(x) + self.shortcut(x)).relu()        # add, THEN ReLU\n"
