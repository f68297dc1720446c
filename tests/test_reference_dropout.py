"""The reference dropout (solutions/04_dropout) against torch.nn.functional.dropout.

Dropout is random, so most checks are statistical. Every random check is seeded
(a rerun gives the same numbers) and would also fail with probability below 1e-6
under a fresh seed: counts over 10**6 Bernoulli draws are allowed 6 standard
deviations (two-sided normal tail 2e-9 per check; about 1e-7 for all checks of
this file together), and "masks differ" checks compare 1000 independent coin
flips (2**-1000). The behavioural checks also run on autograder/torch_refs, to
prove they hold for PyTorch itself.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from references import load_reference

ref = load_reference("dropout")
from autograder.torch_refs import dropout as torch_ref  # noqa: E402

IMPLS = {"reference": ref, "torch": torch_ref}
DTYPES = [torch.float32, torch.float64]
N_BIG = 10**6
SIGMAS = 6.0


def tol(dtype):
    return dict(rtol=1e-10, atol=1e-10) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-6)


@pytest.fixture(params=sorted(IMPLS))
def impl(request):
    return IMPLS[request.param]


def away_from_zero(shape, device, dtype, seed=0):
    """Inputs in [1, 2) (sign random): a zero in the output means a dropped element."""
    g = torch.Generator().manual_seed(seed)
    x = 1 + torch.rand(shape, generator=g, dtype=torch.float64)
    sign = torch.randint(0, 2, shape, generator=g) * 2 - 1
    return (x * sign).to(device=device, dtype=dtype)


# --- distribution ---------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", DTYPES)
def test_zeroed_fraction_is_p_within_six_sigma(impl, device, dtype, p):
    torch.manual_seed(1)
    x = torch.ones(N_BIG, device=device, dtype=dtype)
    zeroed = (impl.dropout(x, p) == 0).sum().item()
    sigma = math.sqrt(N_BIG * p * (1 - p))
    assert abs(zeroed - N_BIG * p) < SIGMAS * sigma, (zeroed, N_BIG * p, sigma)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", DTYPES)
def test_kept_values_are_scaled_by_one_over_one_minus_p(impl, device, dtype, p):
    torch.manual_seed(2)
    x = away_from_zero((1000, 100), device, dtype)
    out = impl.dropout(x, p)
    kept = out != 0
    assert 0 < kept.sum() < x.numel()
    torch.testing.assert_close(out[kept], x[kept] / (1 - p), **tol(dtype))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_mean_output_equals_input(impl, device, p):
    """E[out] = x: the scaling happens at train time (inverted dropout)."""
    torch.manual_seed(3)
    out = impl.dropout(torch.ones(N_BIG, device=device, dtype=torch.float64), p)
    # each element is 0 or 1/(1-p): variance p/(1-p)
    sigma_of_mean = math.sqrt(p / (1 - p) / N_BIG)
    assert abs(out.mean().item() - 1.0) < SIGMAS * sigma_of_mean


@pytest.mark.parametrize("p", [0.2, 0.7])
def test_same_distribution_as_torch_dropout(device, p):
    """Zeroed fractions of the reference and of F.dropout agree (two-sample, 6 sigma)."""
    torch.manual_seed(4)
    x = torch.ones(N_BIG, device=device)
    ours = (ref.dropout(x, p) == 0).double().mean().item()
    theirs = (F.dropout(x, p) == 0).double().mean().item()
    sigma = math.sqrt(2 * p * (1 - p) / N_BIG)
    assert abs(ours - theirs) < SIGMAS * sigma, (ours, theirs, sigma)
    # and both take only the values 0 and 1/(1-p)
    values = torch.unique(ref.dropout(x, p))
    torch.testing.assert_close(values, torch.tensor([0.0, 1 / (1 - p)], device=device))


def test_mask_is_independent_per_element_not_per_row_or_column(impl, device):
    torch.manual_seed(5)
    kept = impl.dropout(torch.ones(1000, 1000, device=device), 0.5) != 0
    # a shared mask would make whole rows (or columns) equal; each has prob 2 * 2**-1000
    for along in (0, 1):
        per_line = kept.sum(along)
        assert not ((per_line == 0) | (per_line == 1000)).any()
    # neighbours are uncorrelated: they agree about half the time (6 sigma of 999000 pairs)
    agree = (kept[:, 1:] == kept[:, :-1]).double().mean().item()
    assert abs(agree - 0.5) < SIGMAS * math.sqrt(0.25 / kept[:, 1:].numel())


def test_a_fresh_mask_on_every_call(impl, device):
    torch.manual_seed(6)
    x = torch.ones(1000, device=device)
    first, second = impl.dropout(x, 0.5), impl.dropout(x, 0.5)
    assert not torch.equal(first != 0, second != 0)
    layer = impl.Dropout(0.5)
    assert not torch.equal(layer(x) != 0, layer(x) != 0)


# --- gradient -------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.3, 0.8])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gradient_is_upstream_times_the_same_mask_over_one_minus_p(impl, device, dtype, p):
    torch.manual_seed(7)
    x = away_from_zero((200, 50), device, dtype).requires_grad_()
    out = impl.dropout(x, p)
    upstream = torch.randn(out.shape, device=device, dtype=dtype)
    out.backward(upstream)
    mask = (out != 0).to(dtype)                                   # this forward's mask
    torch.testing.assert_close(x.grad, upstream * mask / (1 - p), **tol(dtype))


def test_gradient_at_p_one_is_zero_and_finite(impl, device):
    x = torch.randn(100, device=device, requires_grad=True)
    impl.dropout(x, 1.0).sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


# --- special values of p and of the mode -----------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_eval_returns_the_input_unchanged(impl, device, dtype):
    x = torch.randn(30, 7, device=device, dtype=dtype)
    before = x.clone()
    out = impl.dropout(x, 0.5, training=False)
    assert torch.equal(out, before) and torch.equal(x, before)
    layer = impl.Dropout(0.9).eval()
    assert torch.equal(layer(x), before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_p_zero_is_identity(impl, device, dtype):
    x = torch.randn(300, 7, device=device, dtype=dtype)
    assert torch.equal(impl.dropout(x, 0.0), x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_p_one_gives_zeros_without_nan(impl, device, dtype):
    x = torch.randn(300, 7, device=device, dtype=dtype)
    out = impl.dropout(x, 1.0)
    assert torch.equal(out, torch.zeros_like(x))
    assert impl.Dropout(1.0)(x).abs().sum().item() == 0


def test_input_is_not_modified(impl, device):
    x = torch.randn(100, 10, device=device)
    before = x.clone()
    impl.dropout(x, 0.5)
    assert torch.equal(x, before)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_probability_outside_unit_interval_is_a_value_error(impl, p):
    x = torch.randn(4)
    message = f"dropout probability has to be between 0 and 1, but got {p}"
    for training in (True, False):
        with pytest.raises(ValueError, match=message):
            impl.dropout(x, p, training=training)
    with pytest.raises(ValueError, match=message):
        impl.Dropout(p)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_dtype_device_and_shape_are_preserved(impl, device, dtype):
    x = torch.randn(3, 4, 5, device=device).to(dtype)
    for out in (impl.dropout(x, 0.5), impl.dropout(x, 0.5, training=False), impl.Dropout(0.3)(x)):
        assert out.dtype == dtype and out.device == x.device and out.shape == x.shape


def test_mask_is_drawn_on_the_input_device_meta():
    """On the meta device a CPU tensor mixed into the computation would raise."""
    out = ref.dropout(torch.empty(8, 3, device="meta"), 0.5)
    assert out.device.type == "meta" and out.shape == (8, 3)


# --- the module -----------------------------------------------------------------------

def test_module_follows_train_and_eval(impl, device):
    torch.manual_seed(8)
    layer = impl.Dropout(0.5)
    assert isinstance(layer, nn.Module) and layer.training and layer.p == 0.5
    assert list(layer.parameters()) == [] and layer.state_dict() == {}
    x = torch.ones(10_000, device=device)
    out = layer(x)
    assert (out == 0).any() and torch.equal(out[out != 0], torch.full_like(out[out != 0], 2.0))
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    assert (layer(x) == 0).any()


def test_module_default_and_repr():
    assert ref.Dropout().p == 0.5
    assert "p=0.3" in repr(ref.Dropout(0.3)) and repr(ref.Dropout(0.3)).startswith("Dropout(")


def test_module_inside_a_model_obeys_model_eval(device):
    model = nn.Sequential(nn.Linear(5, 5), ref.Dropout(0.5)).to(device)
    x = torch.randn(64, 5, device=device)
    model.eval()
    torch.testing.assert_close(model(x), model[0](x))


# --- the slide's convention: scaled_at_test_dropout ---------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_slide_convention_zeroes_a_fraction_p_and_keeps_x_unscaled(impl, device, p):
    torch.manual_seed(11)
    x = away_from_zero((1000, 1000), device, torch.float32)
    out = impl.scaled_at_test_dropout(x, p, True)
    zeroed = (out == 0).sum().item()
    sigma = math.sqrt(x.numel() * p * (1 - p))
    assert abs(zeroed - x.numel() * p) < SIGMAS * sigma, (zeroed, x.numel() * p, sigma)
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept], rtol=1e-6, atol=0.0)   # torch_refs: 1 rounding


@pytest.mark.parametrize("dtype", DTYPES)
def test_slide_convention_multiplies_by_one_minus_p_at_test_time(impl, device, dtype):
    x = torch.randn(30, 7, device=device, dtype=dtype)
    before = x.clone()
    for p in (0.0, 0.3, 1.0):
        out = impl.scaled_at_test_dropout(x, p, training=False)
        assert torch.equal(out, before * (1.0 - p)), p
    assert torch.equal(x, before)                              # a new tensor, x unchanged


def test_slide_convention_is_exactly_x_times_one_minus_p_at_test_time_for_the_reference(device):
    x = torch.randn(100, device=device, dtype=torch.float64)
    assert torch.equal(ref.scaled_at_test_dropout(x, 0.3, False), x * (1 - 0.3))


@pytest.mark.parametrize("dtype", DTYPES)
def test_slide_convention_p_zero_keeps_x_and_p_one_zeroes_in_training(impl, device, dtype):
    x = torch.randn(300, 7, device=device, dtype=dtype)
    torch.testing.assert_close(impl.scaled_at_test_dropout(x, 0.0, True), x, rtol=1e-12, atol=0.0)
    out = impl.scaled_at_test_dropout(x, 1.0, True)
    assert torch.equal(out, torch.zeros_like(x)) and not out.isnan().any()


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_slide_convention_rejects_p_outside_the_unit_interval_in_both_modes(impl, p):
    message = f"dropout probability has to be between 0 and 1, but got {p}"
    for training in (True, False):
        with pytest.raises(ValueError, match=message):
            impl.scaled_at_test_dropout(torch.randn(4), p, training=training)


def test_slide_convention_draws_a_fresh_mask_per_call_and_per_element(impl, device):
    torch.manual_seed(12)
    x = torch.ones(1000, 1000, device=device)
    first, second = impl.scaled_at_test_dropout(x, 0.5), impl.scaled_at_test_dropout(x, 0.5)
    assert not torch.equal(first != 0, second != 0)
    kept = first != 0
    for along in (0, 1):
        per_line = kept.sum(along)
        assert not ((per_line == 0) | (per_line == 1000)).any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_slide_convention_gradient_is_upstream_times_mask_then_times_one_minus_p(impl, device, dtype):
    torch.manual_seed(13)
    p = 0.4
    x = away_from_zero((200, 50), device, dtype).requires_grad_()
    out = impl.scaled_at_test_dropout(x, p, True)
    upstream = torch.randn(out.shape, device=device, dtype=dtype)
    out.backward(upstream)
    torch.testing.assert_close(x.grad, upstream * (out != 0).to(dtype), **tol(dtype))
    x.grad = None
    impl.scaled_at_test_dropout(x, p, False).backward(upstream)
    torch.testing.assert_close(x.grad, upstream * (1 - p), **tol(dtype))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_slide_convention_keeps_dtype_device_and_shape(impl, device, dtype):
    x = torch.randn(3, 4, 5, device=device).to(dtype)
    for training in (True, False):
        out = impl.scaled_at_test_dropout(x, 0.5, training)
        assert out.dtype == dtype and out.device == x.device and out.shape == x.shape


def test_slide_convention_mask_is_drawn_on_the_input_device_meta():
    for training in (True, False):
        out = ref.scaled_at_test_dropout(torch.empty(8, 3, device="meta"), 0.5, training)
        assert out.device.type == "meta" and out.shape == (8, 3)


@pytest.mark.parametrize("p", [0.2, 0.6])
def test_both_conventions_agree_in_expectation(impl, device, p):
    """Inverted: E[train] = x = test output. The slide's: E[train] = (1 - p) x = test output.
    Each input element is averaged over 20000 passes; 6 sigma per element (100 elements)."""
    torch.manual_seed(14)
    x = torch.randn(100, device=device, dtype=torch.float64)
    batch = x.expand(20_000, 100).contiguous()
    sd_inverted = x.abs() * math.sqrt(p / (1 - p) / 20_000)
    sd_slide = x.abs() * math.sqrt(p * (1 - p) / 20_000)
    inverted = impl.dropout(batch, p, True).mean(0)
    slide = impl.scaled_at_test_dropout(batch, p, True).mean(0)
    assert ((inverted - x).abs() <= SIGMAS * sd_inverted).all()
    assert ((slide - (1 - p) * x).abs() <= SIGMAS * sd_slide).all()
    torch.testing.assert_close(impl.dropout(x, p, False), x)
    torch.testing.assert_close(impl.scaled_at_test_dropout(x, p, False), (1 - p) * x)


def test_slide_convention_is_inverted_dropout_times_one_minus_p_with_the_same_mask(device):
    """The reference draws both masks with the same call: under one seed, the same mask."""
    x = away_from_zero((100, 100), device, torch.float64)
    torch.manual_seed(15)
    inverted = ref.dropout(x, 0.3, True)
    torch.manual_seed(15)
    slide = ref.scaled_at_test_dropout(x, 0.3, True)
    assert torch.equal(inverted != 0, slide != 0)
    torch.testing.assert_close(slide, inverted * (1 - 0.3), rtol=1e-12, atol=0.0)
