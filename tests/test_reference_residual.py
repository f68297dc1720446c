"""The reference residual blocks (solutions/05_residual) against a torch.nn twin.

There is no PyTorch built-in for an MLP residual block, so each test builds the
brief's block from torch.nn.Linear / torch.nn.BatchNorm1d, loads the reference
block's state_dict into it, and compares outputs, running statistics and
gradients. residual.py imports BatchNorm1d from the reference normalization.py.
"""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch
from torch import nn

from references import load_reference


res = load_reference("residual")
norm = load_reference("normalization")

DTYPES = [torch.float32, torch.float64]
BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def tol(dtype):
    return dict(rtol=1e-10, atol=1e-10) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-6)


class TorchBlock(nn.Module):
    """The brief's block written with torch.nn modules only."""

    def __init__(self, d_in, d_out, d_hidden, residual=True):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d_in, d_hidden), nn.BatchNorm1d(d_hidden), nn.ReLU(),
                                  nn.Linear(d_hidden, d_out), nn.BatchNorm1d(d_out))
        self.residual = residual
        if residual:
            self.shortcut = nn.Identity() if d_in == d_out else nn.Linear(d_in, d_out, bias=False)

    def forward(self, x):
        h = self.body[4](self.body[3](torch.relu(self.body[1](self.body[0](x)))))
        if self.residual:
            h = h + self.shortcut(x)                          # skip added before the ReLU
        return torch.relu(h)


def randomize_batchnorm(block, seed=0):
    """Non-trivial BN affine parameters and running statistics (defaults hide bugs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (block.body[1], block.body[4]):
            for tensor, low, high in ((bn.weight, 0.5, 1.5), (bn.bias, -0.5, 0.5),
                                      (bn.running_mean, -1, 1), (bn.running_var, 0.5, 2)):
                tensor.copy_(torch.empty(tensor.shape).uniform_(low, high, generator=g))


def twin_of(block, residual=True):
    """A TorchBlock holding exactly the block's parameters and buffers."""
    twin = TorchBlock(block.in_features, block.out_features, block.hidden_features, residual)
    twin.load_state_dict(block.state_dict())                  # strict: same keys and shapes
    p = next(block.parameters())
    return twin.to(device=p.device, dtype=p.dtype)


def expected_keys(projection, prefix=""):
    keys = {f"body.{i}.{k}" for i in (0, 3) for k in ("weight", "bias")}
    keys |= {f"body.{i}.{k}" for i in (1, 4) for k in BN_KEYS}
    if projection:
        keys.add("shortcut.weight")
    return {prefix + k for k in keys}


def defined_in(obj, module) -> bool:
    return Path(inspect.getfile(type(obj))).resolve() == Path(module.__file__).resolve()


# --- structure -------------------------------------------------------------------------

@pytest.mark.parametrize("widths, projection", [((6,), False), ((6, 6, 9), False),
                                                ((6, 4), True), ((6, 4, 8), True)])
def test_state_dict_keys_and_shapes(widths, projection):
    block = res.ResidualBlock(*widths)
    d_in = widths[0]
    d_out = widths[1] if len(widths) > 1 else d_in
    d_hidden = widths[2] if len(widths) > 2 else d_out
    state = block.state_dict()
    assert set(state) == expected_keys(projection)
    assert state["body.0.weight"].shape == (d_hidden, d_in)
    assert state["body.1.running_var"].shape == (d_hidden,)
    assert state["body.3.weight"].shape == (d_out, d_hidden)
    assert state["body.4.weight"].shape == (d_out,)
    if projection:
        assert state["shortcut.weight"].shape == (d_out, d_in)
    # and they load both ways with the torch.nn twin
    twin = TorchBlock(d_in, d_out, d_hidden)
    twin.load_state_dict(state)
    block.load_state_dict(twin.state_dict())


def test_projection_exactly_when_widths_differ():
    assert isinstance(res.ResidualBlock(5).shortcut, nn.Identity)
    assert isinstance(res.ResidualBlock(5, 5, 12).shortcut, nn.Identity)
    shortcut = res.ResidualBlock(5, 3).shortcut
    assert type(shortcut) is nn.Linear and shortcut.bias is None
    assert shortcut.weight.shape == (3, 5)


def test_body_layers_and_own_batchnorm():
    block = res.ResidualBlock(4, 7, 5)
    body = block.body
    assert isinstance(body, nn.Sequential) and len(body) == 5
    assert type(body[0]) is nn.Linear and type(body[3]) is nn.Linear and type(body[2]) is nn.ReLU
    for bn, width in ((body[1], 5), (body[4], 7)):
        assert isinstance(bn, norm.BatchNorm1d) and defined_in(bn, norm)
        assert bn.num_features == width
    assert (block.in_features, block.out_features, block.hidden_features) == (4, 7, 5)


def test_widths_default_to_in_then_out():
    block = res.ResidualBlock(4, 9)
    assert block.body[0].weight.shape == (9, 4)               # hidden defaults to out
    assert res.ResidualBlock(4).body[3].weight.shape == (4, 4)


def test_plain_block_has_the_same_body_and_no_shortcut():
    block = res.PlainBlock(6, 4, 8)
    assert not hasattr(block, "shortcut")
    assert set(block.state_dict()) == expected_keys(projection=False)
    assert block.body[0].weight.shape == (8, 6) and block.body[3].weight.shape == (4, 8)
    assert isinstance(block.body[4], norm.BatchNorm1d)


# --- forward and backward against the torch.nn twin ------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("widths", [(6,), (6, 4), (6, 6, 10), (5, 8, 3)])
@pytest.mark.parametrize("kind", ["residual", "plain"])
def test_forward_backward_and_running_stats_match_the_torch_twin(device, dtype, widths, kind):
    torch.manual_seed(0)
    cls = res.ResidualBlock if kind == "residual" else res.PlainBlock
    block = cls(*widths).to(device=device, dtype=dtype)
    randomize_batchnorm(block)
    twin = twin_of(block, residual=kind == "residual")
    x = torch.randn(32, widths[0], device=device, dtype=dtype) * 2 + 0.5

    for mode in ("train", "eval"):
        block.train(mode == "train")
        twin.train(mode == "train")
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        out, expected = block(xa), twin(xb)
        assert out.shape == expected.shape and out.dtype == dtype and out.device == x.device
        torch.testing.assert_close(out, expected, **tol(dtype))
        upstream = torch.randn_like(out)
        out.backward(upstream)
        expected.backward(upstream)
        torch.testing.assert_close(xa.grad, xb.grad, **tol(dtype))
        # Parameter gradients are sums over the batch with heavy cancellation (the
        # biases in front of a training-mode BN have a true gradient of exactly 0), so
        # their absolute tolerance scales with the largest gradient entry of the block.
        grads = {n: p.grad for n, p in block.named_parameters()}
        scale = max(p.grad.abs().max().item() for p in twin.parameters())
        for name, p in twin.named_parameters():
            torch.testing.assert_close(grads[name], p.grad, rtol=tol(dtype)["rtol"],
                                       atol=tol(dtype)["atol"] * max(1.0, scale),
                                       msg=lambda m, name=name: f"{mode}: {name}: {m}")
        for name, buf in twin.named_buffers():                # train updated both alike
            torch.testing.assert_close(block.get_buffer(name), buf, **tol(dtype),
                                       msg=lambda m, name=name: f"{name}: {m}")
        block.zero_grad(set_to_none=True)
        twin.zero_grad(set_to_none=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_last_batchnorm_weight_gives_relu_of_the_shortcut(device, dtype):
    x = torch.randn(16, 5, device=device, dtype=dtype)
    for widths in ((5,), (5, 3)):
        block = res.ResidualBlock(*widths).to(device=device, dtype=dtype)
        with torch.no_grad():
            block.body[4].weight.zero_()
        expected = torch.relu(block.shortcut(x))
        for mode in (True, False):
            block.train(mode)
            torch.testing.assert_close(block(x), expected.detach(), **tol(dtype))
    torch.testing.assert_close(expected, torch.relu(x @ block.shortcut.weight.T), **tol(dtype))


def test_skip_is_added_before_the_final_relu(device):
    """body = -1 everywhere: ReLU(x - 1), not ReLU(-1) + x = x."""
    block = res.ResidualBlock(4).to(device)
    with torch.no_grad():
        block.body[4].weight.zero_()
        block.body[4].bias.fill_(-1.0)
    x = torch.linspace(-2, 3, 40, device=device).reshape(10, 4)
    torch.testing.assert_close(block(x), torch.relu(x - 1))
    assert (block(x) >= 0).all()


# --- make_mlp --------------------------------------------------------------------------

@pytest.mark.parametrize("residual", [True, False])
def test_make_mlp_layers_shapes_and_block_count(device, residual):
    torch.manual_seed(1)
    block_cls = res.ResidualBlock if residual else res.PlainBlock
    model = res.make_mlp(5, 16, in_features=10, out_features=3, residual=residual).to(device)
    assert isinstance(model, nn.Sequential) and len(model) == 7
    assert type(model[0]) is nn.Linear and model[0].weight.shape == (16, 10)
    assert type(model[-1]) is nn.Linear and model[-1].weight.shape == (3, 16)
    blocks = list(model)[1:-1]
    assert all(type(b) is block_cls for b in blocks)
    assert all(b.in_features == b.out_features == b.hidden_features == 16 for b in blocks)
    if residual:
        assert all(isinstance(b.shortcut, nn.Identity) for b in blocks)
    assert model(torch.randn(8, 10, device=device)).shape == (8, 3)


def test_make_mlp_without_input_and_output_layers():
    model = res.make_mlp(3, 8)
    assert len(model) == 3 and all(type(b) is res.ResidualBlock for b in model)
    assert model(torch.randn(4, 8)).shape == (4, 8)
    assert len(res.make_mlp(2, 8, in_features=5)) == 3
    assert len(res.make_mlp(2, 8, out_features=5)) == 3
    assert res.make_mlp(2, 8, out_features=5)(torch.randn(4, 8)).shape == (4, 5)
    assert len(res.make_mlp(0, 8, in_features=5, out_features=2)) == 2


def test_make_mlp_blocks_are_independent():
    model = res.make_mlp(3, 8)
    assert len({id(p) for p in model.parameters()}) == len(list(model.parameters()))
    assert model[0].body[0].weight is not model[1].body[0].weight
    assert not torch.equal(model[0].body[0].weight, model[1].body[0].weight)
