"""The reference normalization (solutions/03_normalization) against torch.nn.

Every test feeds the same seeded inputs to the reference and to PyTorch's
built-ins (torch.nn.functional.batch_norm / layer_norm, torch.nn.BatchNorm1d /
BatchNorm2d / LayerNorm) and compares outputs, gradients (with a random
upstream gradient: with ones, BN's true input gradient is identically 0) and
running statistics, on every device present and in float32 and float64.

Tolerances: float64 rtol = atol = 1e-10; float32 rtol = atol = 1e-5. The two
sides compute the same formulas in a different order (PyTorch multiplies by
1/sqrt(var + eps), and on the CPU accumulates the statistics in its own
order), so float32 results differ by a few ulps of values of order 1, well
inside 1e-5.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = _load("ref_normalization", ROOT / "solutions" / "03_normalization" / "normalization.py")
torch_ref = _load("torch_ref_normalization", ROOT / "autograder" / "torch_refs" / "normalization.py")

DTYPES = [torch.float32, torch.float64]
SHAPES = {"NC": (16, 5), "NCL": (8, 5, 7), "NCHW": (4, 5, 3, 6)}
STEPS = 5


def tol(dtype):
    return dict(rtol=1e-10, atol=1e-10) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-5)


def close(got, expected, dtype, msg=""):
    torch.testing.assert_close(got, expected, **tol(dtype), msg=lambda m: f"{msg}: {m}")


@pytest.fixture(params=DTYPES, ids=["float32", "float64"])
def dtype(request):
    return request.param


def gen(seed):
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed, device, dtype):
    """Seeded on the CPU, then moved: the same numbers on every device."""
    return torch.randn(*shape, generator=gen(seed), dtype=torch.float64).to(device=device, dtype=dtype)


def leaf(t):
    return t.detach().clone().requires_grad_(True)


def run_both(fn_ref, fn_torch, inputs, dy):
    """Call both on cloned leaf inputs, backprop dy; return (outputs, grads) pairs."""
    a = [leaf(t) if t is not None else None for t in inputs]
    b = [leaf(t) if t is not None else None for t in inputs]
    out_a, out_b = fn_ref(*a), fn_torch(*b)
    out_a.backward(dy)
    out_b.backward(dy)
    grads = [(ta.grad, tb.grad) for ta, tb in zip(a, b) if ta is not None]
    return (out_a, out_b), grads


# --------------------------------------------------------------------------- batch_norm


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_batch_norm_training_steps_then_eval_match_torch(device, dtype, shape):
    C = shape[1]
    weight = randn(C, seed=1, device=device, dtype=dtype) + 1
    bias = randn(C, seed=2, device=device, dtype=dtype)
    rm_a, rv_a = torch.zeros(C, device=device, dtype=dtype), torch.ones(C, device=device, dtype=dtype)
    rm_b, rv_b = rm_a.clone(), rv_a.clone()
    for step in range(STEPS):
        x = randn(*shape, seed=10 + step, device=device, dtype=dtype) * 3 + 2
        dy = randn(*shape, seed=100 + step, device=device, dtype=dtype)
        (out_a, out_b), grads = run_both(
            lambda x, w, b: ref.batch_norm(x, rm_a, rv_a, w, b, True, 0.1, 1e-5),
            lambda x, w, b: F.batch_norm(x, rm_b, rv_b, w, b, True, 0.1, 1e-5),
            [x, weight, bias], dy)
        close(out_a, out_b, dtype, f"output, step {step}")
        close(rm_a, rm_b, dtype, f"running_mean, step {step}")
        close(rv_a, rv_b, dtype, f"running_var, step {step}")
        for name, (ga, gb) in zip(["x", "weight", "bias"], grads):
            close(ga, gb, dtype, f"grad {name}, step {step}")
    x = randn(*shape, seed=7, device=device, dtype=dtype)
    dy = randn(*shape, seed=8, device=device, dtype=dtype)
    before = rm_a.clone(), rv_a.clone()
    (out_a, out_b), grads = run_both(
        lambda x, w, b: ref.batch_norm(x, rm_a, rv_a, w, b, False, 0.1, 1e-5),
        lambda x, w, b: F.batch_norm(x, rm_b, rv_b, w, b, False, 0.1, 1e-5),
        [x, weight, bias], dy)
    close(out_a, out_b, dtype, "eval output")
    for name, (ga, gb) in zip(["x", "weight", "bias"], grads):
        close(ga, gb, dtype, f"eval grad {name}")
    assert torch.equal(rm_a, before[0]) and torch.equal(rv_a, before[1]), "eval changed the running stats"
    assert out_a.dtype == dtype and out_a.device.type == device and out_a.shape == x.shape


def test_batch_norm_large_mean_float64(device):
    dtype = torch.float64
    shape = (32, 4, 9)
    rm_a, rv_a = torch.zeros(4, device=device, dtype=dtype), torch.ones(4, device=device, dtype=dtype)
    rm_b, rv_b = rm_a.clone(), rv_a.clone()
    for step in range(STEPS):
        x = randn(*shape, seed=20 + step, device=device, dtype=dtype) * 10 + 1000
        close(ref.batch_norm(x, rm_a, rv_a, None, None, True, 0.2),
              F.batch_norm(x, rm_b, rv_b, None, None, True, 0.2), dtype, f"output, step {step}")
        close(rm_a, rm_b, dtype, "running_mean")
        close(rv_a, rv_b, dtype, "running_var")
    close(ref.batch_norm(x, rm_a, rv_a, None, None, False),
          F.batch_norm(x, rm_b, rv_b, None, None, False), dtype, "eval output")


@pytest.mark.parametrize("layout", ["transposed", "channels_last", "strided_NC"])
def test_batch_norm_non_contiguous_inputs(device, dtype, layout):
    if layout == "transposed":
        x = randn(5, 8, 4, 6, seed=3, device=device, dtype=dtype).transpose(0, 1)   # (8, 5, 4, 6)
    elif layout == "channels_last":
        x = randn(8, 5, 4, 6, seed=3, device=device, dtype=dtype).to(memory_format=torch.channels_last)
    else:
        x = randn(5, 24, seed=3, device=device, dtype=dtype).t()[::2]               # (12, 5)
    assert not x.is_contiguous()
    C = x.shape[1]
    rm_a, rv_a = torch.zeros(C, device=device, dtype=dtype), torch.ones(C, device=device, dtype=dtype)
    rm_b, rv_b = rm_a.clone(), rv_a.clone()
    close(ref.batch_norm(x, rm_a, rv_a, None, None, True),
          F.batch_norm(x, rm_b, rv_b, None, None, True), dtype, "output")
    close(rm_a, rm_b, dtype, "running_mean")
    close(rv_a, rv_b, dtype, "running_var")


def test_running_stats_updated_in_place_without_history(device):
    x = randn(6, 3, 4, seed=4, device=device, dtype=torch.float32).requires_grad_(True)
    weight = torch.ones(3, device=device, requires_grad=True)
    rm, rv = torch.zeros(3, device=device), torch.ones(3, device=device)
    ids, ptrs = (id(rm), id(rv)), (rm.data_ptr(), rv.data_ptr())
    out = ref.batch_norm(x, rm, rv, weight, None, True)
    assert out.requires_grad
    assert (id(rm), id(rv)) == ids and (rm.data_ptr(), rv.data_ptr()) == ptrs
    assert not rm.requires_grad and not rv.requires_grad
    assert rm.grad_fn is None and rv.grad_fn is None
    assert not torch.equal(rm, torch.zeros_like(rm)) and not torch.equal(rv, torch.ones_like(rv))

    module = ref.BatchNorm1d(3, device=device)
    buffers = {name: (id(b), b.data_ptr()) for name, b in module.named_buffers()}
    module(x).backward(torch.randn_like(x))
    assert {name: (id(b), b.data_ptr()) for name, b in module.named_buffers()} == buffers
    assert all(b.grad_fn is None and not b.requires_grad for b in module.buffers())


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (1, 3, 1, 1)])
def test_one_value_per_channel_in_training_raises_value_error(device, shape):
    x = torch.randn(shape, device=device)
    with pytest.raises(ValueError) as expected:
        F.batch_norm(x, None, None, training=True)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training") as got:
        ref.batch_norm(x, torch.zeros(3, device=device), torch.ones(3, device=device), None, None, True)
    assert str(got.value) == str(expected.value)
    module = (ref.BatchNorm2d if len(shape) == 4 else ref.BatchNorm1d)(3, device=device)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        module(x)
    module.eval()                                   # eval with one sample is fine
    close(module(x), (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(3, device=device).eval()(x),
          torch.float32, "eval output with N=1")
    if len(shape) == 2:
        with pytest.raises(ValueError, match="more than 1 value per channel"):
            ref.BatchNormFunction.apply(x, None, None, 1e-5)


def test_batch_of_one_with_length_is_fine(device, dtype):
    x = randn(1, 3, 5, seed=5, device=device, dtype=dtype)
    rm_a, rv_a = torch.zeros(3, device=device, dtype=dtype), torch.ones(3, device=device, dtype=dtype)
    rm_b, rv_b = rm_a.clone(), rv_a.clone()
    close(ref.batch_norm(x, rm_a, rv_a, None, None, True),
          F.batch_norm(x, rm_b, rv_b, None, None, True), dtype, "output")
    close(rv_a, rv_b, dtype, "running_var")


def test_eval_without_running_stats_raises_runtime_error(device):
    x = torch.randn(4, 3, device=device)
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        ref.batch_norm(x, None, None, None, None, False)


def test_training_without_running_stats_uses_batch_stats(device, dtype):
    x = randn(7, 4, 3, seed=6, device=device, dtype=dtype) * 2 - 1
    close(ref.batch_norm(x, None, None, None, None, True),
          F.batch_norm(x, None, None, None, None, True), dtype, "output")


@pytest.mark.filterwarnings("ignore:var\\(\\)")
def test_empty_batch_gives_empty_output_and_keeps_running_stats(device):
    x = torch.randn(0, 3, 4, device=device)
    rm_a, rv_a = torch.zeros(3, device=device), torch.ones(3, device=device)
    rm_b, rv_b = rm_a.clone(), rv_a.clone()
    out_a = ref.batch_norm(x, rm_a, rv_a, None, None, True)
    out_b = F.batch_norm(x, rm_b, rv_b, None, None, True)
    assert out_a.shape == out_b.shape == x.shape
    assert torch.equal(rm_a, rm_b) and torch.equal(rv_a, rv_b)


# ------------------------------------------------------------------------ BatchNorm modules

MODULE_CASES = {
    "1d_NC": ("BatchNorm1d", (16, 6), {}),
    "1d_NCL_momentum_none": ("BatchNorm1d", (8, 6, 5), {"momentum": None}),
    "2d_momentum_0.3": ("BatchNorm2d", (4, 6, 3, 5), {"momentum": 0.3, "eps": 1e-3}),
    "1d_affine_false": ("BatchNorm1d", (16, 6), {"affine": False}),
    "2d_bias_false": ("BatchNorm2d", (4, 6, 3, 5), {"bias": False}),
    "1d_no_running_stats": ("BatchNorm1d", (8, 6, 5), {"track_running_stats": False}),
    "2d_no_running_stats_no_affine": ("BatchNorm2d", (4, 6, 3, 5),
                                      {"track_running_stats": False, "affine": False}),
}


def make_pair(cls_name, C, kwargs, device, dtype):
    mod_a = getattr(ref, cls_name)(C, device=device, dtype=dtype, **kwargs)
    mod_b = getattr(nn, cls_name)(C, device=device, dtype=dtype, **kwargs)
    if mod_b.weight is not None:                     # something other than the init
        with torch.no_grad():
            for p_b in mod_b.parameters():
                p_b.copy_(torch.randn(p_b.shape, generator=gen(9)).to(p_b))
        mod_a.load_state_dict(mod_b.state_dict())
    return mod_a, mod_b


def compare_modules(mod_a, mod_b, dtype, what):
    sd_a, sd_b = mod_a.state_dict(), mod_b.state_dict()
    assert list(sd_a) == list(sd_b), what
    for key in sd_b:
        if key == "num_batches_tracked":
            assert torch.equal(sd_a[key], sd_b[key]), f"{what}: {key}"
        else:
            close(sd_a[key], sd_b[key], dtype, f"{what}: {key}")


def step_both(mod_a, mod_b, x, dy, dtype, what):
    xa, xb = leaf(x), leaf(x)
    for m in (mod_a, mod_b):
        m.zero_grad()
    out_a, out_b = mod_a(xa), mod_b(xb)
    close(out_a, out_b, dtype, f"{what}: output")
    out_a.backward(dy)
    out_b.backward(dy)
    close(xa.grad, xb.grad, dtype, f"{what}: grad x")
    for (name, p_a), p_b in zip(mod_a.named_parameters(), mod_b.parameters()):
        close(p_a.grad, p_b.grad, dtype, f"{what}: grad {name}")
    compare_modules(mod_a, mod_b, dtype, what)


@pytest.mark.parametrize("case", MODULE_CASES.values(), ids=MODULE_CASES.keys())
def test_batchnorm_module_train_then_eval_matches_torch(device, dtype, case):
    cls_name, shape, kwargs = case
    mod_a, mod_b = make_pair(cls_name, shape[1], kwargs, device, dtype)
    for step in range(STEPS):
        x = randn(*shape, seed=30 + step, device=device, dtype=dtype) * (1 + step) + step
        dy = randn(*shape, seed=60 + step, device=device, dtype=dtype)
        step_both(mod_a, mod_b, x, dy, dtype, f"train step {step}")
    mod_a.eval()
    mod_b.eval()
    for step in range(2):
        x = randn(*shape, seed=90 + step, device=device, dtype=dtype) * 2 + 1
        dy = randn(*shape, seed=95 + step, device=device, dtype=dtype)
        step_both(mod_a, mod_b, x, dy, dtype, f"eval step {step}")
    mod_a.train()
    mod_b.train()
    x = randn(*shape, seed=99, device=device, dtype=dtype)
    step_both(mod_a, mod_b, x, torch.randn_like(x), dtype, "train again")
    if kwargs.get("track_running_stats", True):
        assert int(mod_a.num_batches_tracked) == STEPS + 1


def test_momentum_none_is_the_plain_average_of_batch_statistics(device):
    dtype = torch.float64
    module = ref.BatchNorm1d(3, momentum=None, device=device, dtype=dtype)
    xs = [randn(10, 3, seed=40 + i, device=device, dtype=dtype) * (i + 1) for i in range(STEPS)]
    for x in xs:
        module(x)
    close(module.running_mean, torch.stack([x.mean(0) for x in xs]).mean(0), dtype, "running_mean")
    close(module.running_var, torch.stack([x.var(0) for x in xs]).mean(0), dtype, "running_var")


@pytest.mark.parametrize("case", MODULE_CASES.values(), ids=MODULE_CASES.keys())
def test_batchnorm_module_init_state_and_repr_match_torch(device, case):
    cls_name, _, kwargs = case
    mod_a = getattr(ref, cls_name)(6, device=device, dtype=torch.float64, **kwargs)
    mod_b = getattr(nn, cls_name)(6, device=device, dtype=torch.float64, **kwargs)
    assert repr(mod_a) == repr(mod_b)
    assert [n for n, _ in mod_a.named_parameters()] == [n for n, _ in mod_b.named_parameters()]
    for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
        a, b = getattr(mod_a, name), getattr(mod_b, name)
        assert (a is None) == (b is None), name
        if b is not None:
            assert (a.shape, a.dtype, a.device, a.requires_grad) == (b.shape, b.dtype, b.device, b.requires_grad), name
            assert torch.equal(a, b), name
            assert isinstance(a, nn.Parameter) == isinstance(b, nn.Parameter), name
    assert mod_a.training


@pytest.mark.parametrize("cls_name,shape", [("BatchNorm1d", (8, 4, 3)), ("BatchNorm2d", (4, 4, 3, 2))])
def test_batchnorm_state_dict_loads_both_ways(device, dtype, cls_name, shape):
    for source_lib, target_lib in ((nn, ref), (ref, nn)):
        source = getattr(source_lib, cls_name)(4, momentum=None, device=device, dtype=dtype)
        with torch.no_grad():
            source.weight.uniform_(0.5, 1.5)
            source.bias.uniform_(-1, 1)
        for step in range(3):
            source(randn(*shape, seed=50 + step, device=device, dtype=dtype) * 2 + 3)
        target = getattr(target_lib, cls_name)(4, momentum=None, device=device, dtype=dtype)
        target.load_state_dict(source.state_dict())        # strict: same keys and shapes
        compare_modules(target, source, dtype, f"loaded {source_lib.__name__} -> {target_lib.__name__}")
        x = randn(*shape, seed=58, device=device, dtype=dtype)
        step_both(target, source, x, torch.randn_like(x), dtype, "train after loading")
        target.eval()
        source.eval()
        step_both(target, source, x, torch.randn_like(x), dtype, "eval after loading")


@pytest.mark.parametrize("cls_name,dims", [("BatchNorm1d", (1, 4)), ("BatchNorm2d", (2, 3, 5))])
def test_batchnorm_module_rejects_wrong_input_dims(cls_name, dims):
    for d in dims:
        x = torch.randn((2, 3, 2, 2, 2)[:d])
        with pytest.raises(ValueError) as expected:
            getattr(nn, cls_name)(3 if d > 1 else 2)(x)
        with pytest.raises(ValueError) as got:
            getattr(ref, cls_name)(3 if d > 1 else 2)(x)
        assert str(got.value) == str(expected.value)


# ------------------------------------------------------------------------------ layer_norm

LN_CASES = {
    "int": ((6, 7), 7, True, True),
    "tuple_2": ((2, 4, 3, 5), (3, 5), True, True),
    "tuple_1_weight_only": ((3, 4, 5), (5,), True, False),
    "tuple_3_no_affine": ((2, 3, 4, 5), (3, 4, 5), False, False),
}


@pytest.mark.parametrize("case", LN_CASES.values(), ids=LN_CASES.keys())
def test_layer_norm_matches_torch(device, dtype, case):
    shape, normalized_shape, with_weight, with_bias = case
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    x = randn(*shape, seed=11, device=device, dtype=dtype) * 4 + 3
    weight = randn(*ns, seed=12, device=device, dtype=dtype) + 1 if with_weight else None
    bias = randn(*ns, seed=13, device=device, dtype=dtype) if with_bias else None
    dy = randn(*shape, seed=14, device=device, dtype=dtype)
    (out_a, out_b), grads = run_both(
        lambda x, w, b: ref.layer_norm(x, normalized_shape, w, b, 1e-5),
        lambda x, w, b: F.layer_norm(x, ns, w, b, 1e-5),
        [x, weight, bias], dy)
    close(out_a, out_b, dtype, "output")
    for name, (ga, gb) in zip(["x", "weight", "bias"], grads):
        close(ga, gb, dtype, f"grad {name}")
    x_nc = randn(*reversed(shape), seed=15, device=device, dtype=dtype).permute(*reversed(range(len(shape))))
    close(ref.layer_norm(x_nc, normalized_shape, weight, bias),
          F.layer_norm(x_nc, ns, weight, bias), dtype, "non-contiguous output")


def test_layer_norm_large_mean_float64(device):
    x = randn(5, 3, 16, seed=16, device=device, dtype=torch.float64) * 10 + 1000
    close(ref.layer_norm(x, 16), F.layer_norm(x, (16,)), torch.float64, "output")


def test_layer_norm_wrong_trailing_shape_raises_like_torch():
    x = torch.randn(3, 4)
    with pytest.raises(RuntimeError) as expected:
        F.layer_norm(x, (5,))
    with pytest.raises(RuntimeError) as got:
        ref.layer_norm(x, (5,))
    assert str(got.value) == str(expected.value)


LN_MODULE_CASES = {
    "int": (7, {}),
    "tuple": ((3, 5), {"eps": 1e-3}),
    "no_affine": ((3, 5), {"elementwise_affine": False}),
    "bias_false": (5, {"bias": False}),
}


@pytest.mark.parametrize("case", LN_MODULE_CASES.values(), ids=LN_MODULE_CASES.keys())
def test_layer_norm_module_matches_torch_and_loads_both_ways(device, dtype, case):
    normalized_shape, kwargs = case
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    x = randn(4, 2, *ns, seed=17, device=device, dtype=dtype) * 3 - 1
    fresh_a = ref.LayerNorm(normalized_shape, device=device, dtype=dtype, **kwargs)
    fresh_b = nn.LayerNorm(normalized_shape, device=device, dtype=dtype, **kwargs)
    assert repr(fresh_a) == repr(fresh_b)
    assert fresh_a.normalized_shape == fresh_b.normalized_shape == tuple(ns)
    compare_modules(fresh_a, fresh_b, dtype, "init")
    for p_a, p_b in zip(fresh_a.parameters(), fresh_b.parameters()):
        assert (p_a.shape, p_a.dtype, p_a.device) == (p_b.shape, p_b.dtype, p_b.device)
    for source_lib, target_lib in ((nn, ref), (ref, nn)):
        source = getattr(source_lib, "LayerNorm")(normalized_shape, device=device, dtype=dtype, **kwargs)
        with torch.no_grad():
            for p in source.parameters():
                p.uniform_(-1, 2)
        target = getattr(target_lib, "LayerNorm")(normalized_shape, device=device, dtype=dtype, **kwargs)
        target.load_state_dict(source.state_dict())
        a, b = (target, source) if target_lib is ref else (source, target)
        step_both(a, b, x, torch.randn_like(x), dtype, "train")
        a.eval()
        b.eval()
        step_both(a, b, x, torch.randn_like(x), dtype, "eval")


# ----------------------------------------------------------------------- BatchNormFunction

AFFINE = {"weight_and_bias": (True, True), "weight_only": (True, False), "none": (False, False)}


@pytest.mark.parametrize("affine", AFFINE.values(), ids=AFFINE.keys())
def test_batch_norm_function_matches_torch(device, dtype, affine):
    with_weight, with_bias = affine
    x = randn(12, 5, seed=21, device=device, dtype=dtype) * 3 + 2
    weight = randn(5, seed=22, device=device, dtype=dtype) + 1 if with_weight else None
    bias = randn(5, seed=23, device=device, dtype=dtype) if with_bias else None
    dy = randn(12, 5, seed=24, device=device, dtype=dtype)
    (out_a, out_b), grads = run_both(
        lambda x, w, b: ref.BatchNormFunction.apply(x, w, b, 1e-3),
        lambda x, w, b: F.batch_norm(x, None, None, w, b, True, 0.0, 1e-3),
        [x, weight, bias], dy)
    close(out_a, out_b, dtype, "output")
    for name, (ga, gb) in zip(["x", "weight", "bias"], grads):
        close(ga, gb, dtype, f"grad {name}")


@pytest.mark.parametrize("affine", AFFINE.values(), ids=AFFINE.keys())
def test_batch_norm_function_gradcheck(device, affine):
    with_weight, with_bias = affine
    x = leaf(randn(6, 4, seed=25, device=device, dtype=torch.float64) * 2 + 1)
    weight = leaf(randn(4, seed=26, device=device, dtype=torch.float64)) if with_weight else None
    bias = leaf(randn(4, seed=27, device=device, dtype=torch.float64)) if with_bias else None
    assert torch.autograd.gradcheck(lambda x, w, b: ref.BatchNormFunction.apply(x, w, b, 1e-5),
                                    (x, weight, bias))


def test_batch_norm_function_skips_grads_not_needed(device):
    x = randn(6, 4, seed=28, device=device, dtype=torch.float64).requires_grad_(True)
    weight = torch.ones(4, device=device, dtype=torch.float64)        # no grad wanted
    bias = torch.zeros(4, device=device, dtype=torch.float64, requires_grad=True)
    ref.BatchNormFunction.apply(x, weight, bias, 1e-5).backward(torch.randn_like(x))
    assert weight.grad is None and x.grad is not None and bias.grad is not None


# -------------------------------------------------------------------------- torch_refs adapter


def test_torch_refs_adapter_agrees_with_reference(device):
    """autograder/torch_refs/normalization.py: the same API, the same numbers."""
    dtype = torch.float64
    x = randn(9, 4, 3, seed=31, device=device, dtype=dtype) + 5
    stats = [(torch.zeros(4, device=device, dtype=dtype), torch.ones(4, device=device, dtype=dtype))
             for _ in range(2)]
    outs = [impl.batch_norm(x, rm, rv, None, None, True, 0.3) for impl, (rm, rv) in zip((ref, torch_ref), stats)]
    close(outs[0], outs[1], dtype, "batch_norm")
    close(stats[0][1], stats[1][1], dtype, "running_var")
    close(ref.layer_norm(x, 3), torch_ref.layer_norm(x, 3), dtype, "layer_norm int")
    close(ref.layer_norm(x, (4, 3)), torch_ref.layer_norm(x, (4, 3)), dtype, "layer_norm tuple")
    x2 = x[:, :, 0]
    w = torch.rand(4, device=device, dtype=dtype)
    close(ref.BatchNormFunction.apply(x2, w, None, 1e-5), torch_ref.BatchNormFunction.apply(x2, w, None, 1e-5),
          dtype, "BatchNormFunction")
    for name, shape, kwargs in [("BatchNorm1d", (9, 4, 3), {"momentum": None}), ("BatchNorm2d", (9, 4, 3, 1), {}),
                                ("LayerNorm", (9, 4, 3), {})]:
        arg = (4, 3) if name == "LayerNorm" else 4
        mod_a = getattr(ref, name)(arg, device=device, dtype=dtype, **kwargs)
        mod_b = getattr(torch_ref, name)(arg, device=device, dtype=dtype, **kwargs)
        assert isinstance(mod_b, getattr(nn, name))
        xi = x.reshape(shape)
        step_both(mod_a, mod_b, xi, torch.randn_like(xi), dtype, name)


# ------------------------------------------------------------------ the lecture's claims (issue 13)

def _features(n, seed, device, dtype=torch.float64):
    """(n, 3): features on the scales 1, 1000 and 0.01."""
    x = randn(n, 3, seed=seed, device=device, dtype=torch.float64)
    x = x * torch.tensor([1.0, 1000.0, 0.01], device=device, dtype=torch.float64)
    return (x + torch.tensor([5.0, -300.0, 40.0], device=device, dtype=torch.float64)).to(dtype)


def test_standardizer_matches_sklearns_standard_scaler(device):
    sklearn = pytest.importorskip("sklearn.preprocessing")
    train, test = _features(40, 1, device), _features(9, 2, device) * 1.5 + 2
    train[:, 1] = 0.1                                            # a constant feature
    s = ref.Standardizer().fit(train)
    scaler = sklearn.StandardScaler().fit(train.cpu().numpy())
    expected = torch.from_numpy(scaler.transform(test.cpu().numpy())).to(device)
    close(s.transform(test), expected, torch.float64, "transform(test)")
    close(s.mean_, torch.from_numpy(scaler.mean_).to(device), torch.float64, "mean_")
    close(s.scale_, torch.from_numpy(scaler.scale_).to(device), torch.float64, "scale_")
    assert s.scale_[1] == 1.0 and s.mean_.dtype == s.scale_.dtype == torch.float64
    assert s.mean_.device.type == torch.device(device).type
    close(s.inverse_transform(s.transform(test)), test, torch.float64, "round trip")
    z = s.fit_transform(train)
    close(z.mean(0), torch.zeros(3, device=device, dtype=torch.float64), torch.float64, "mean 0")
    close(z.std(0, correction=0)[[0, 2]], torch.ones(2, device=device, dtype=torch.float64),
          torch.float64, "std 1")


def test_standardizer_returns_the_inputs_dtype_and_keeps_float64_statistics(device):
    x32 = (randn(50, 2, seed=3, device=device, dtype=torch.float64) * 0.01 + 1e4).float()
    s = ref.Standardizer().fit(x32)
    z = s.transform(x32)
    assert z.dtype == torch.float32 and s.transform(x32.double()).dtype == torch.float64
    assert s.inverse_transform(z).dtype == torch.float32
    exact = (x32.double() - x32.double().mean(0)) / x32.double().std(0, correction=0)
    torch.testing.assert_close(z, exact.float())
    # the docstring's claim: in float32 the rounding of the mean is a tenth of the spread
    in_float32 = (x32 - x32.mean(0)) / x32.std(0, correction=0)
    assert (in_float32.double() - exact).abs().max() > 0.02


def test_a_constant_columns_hand_written_std_is_not_zero_as_the_docstring_says():
    x = torch.cat([torch.randn(7, 1, dtype=torch.float64), torch.full((7, 1), 0.1, dtype=torch.float64)], 1)
    assert x.mean(0)[1].item() == 0.09999999999999999
    by_hand = ((x - x.mean(0)) ** 2).mean(0).sqrt()[1]
    assert 0 < by_hand < 1e-16
    assert ref.Standardizer().fit(x).scale_[1] == 1.0
    assert ref.Standardizer().fit_transform(x)[:, 1].abs().max() < 1e-15


FOLD_CASES = {"affine, bias": ({}, True), "affine=False": ({"affine": False}, True),
              "Linear(bias=False)": ({}, False), "eps=0.1, square": ({"eps": 0.1}, True)}


@pytest.mark.parametrize("case", FOLD_CASES)
def test_fold_batchnorm_equals_eval_batchnorm_and_torchs_fusion(device, dtype, case):
    options, bias = FOLD_CASES[case]
    n_in, n_out = (4, 4) if "square" in case else (6, 4)
    linear = nn.Linear(n_in, n_out, bias=bias, device=device, dtype=dtype)
    bn = nn.BatchNorm1d(n_out, device=device, dtype=dtype, **options)
    with torch.no_grad():
        bn.running_mean.copy_(randn(n_out, seed=4, device=device, dtype=dtype) * 3)
        bn.running_var.copy_(torch.rand(n_out, generator=gen(5)).to(device, dtype) * 4 + 0.05)
        if bn.weight is not None:
            bn.weight.copy_(randn(n_out, seed=6, device=device, dtype=dtype))
            bn.bias.copy_(randn(n_out, seed=7, device=device, dtype=dtype))
    before = ({k: v.clone() for k, v in linear.state_dict().items()},
              {k: v.clone() for k, v in bn.state_dict().items()})
    folded = ref.fold_batchnorm(linear, bn)                       # bn still in training mode
    assert type(folded) is nn.Linear and folded.bias is not None and folded is not linear
    assert folded.weight.dtype == dtype and folded.weight.device.type == torch.device(device).type
    assert bn.training and linear.training                        # modes untouched
    for old, module in zip(before, (linear, bn)):
        for k, v in module.state_dict().items():
            assert torch.equal(v, old[k]), k
    x = randn(200, n_in, seed=8, device=device, dtype=dtype) * 2
    with torch.no_grad():
        expected = bn.eval()(linear(x))
        close(folded(x), expected, dtype, case)
        if bn.weight is not None:                                 # fusion needs an affine BN
            fused = torch.nn.utils.fusion.fuse_linear_bn_eval(linear.eval(), bn)
            close(folded.weight, fused.weight, dtype, "weight")
            close(folded.bias, fused.bias, dtype, "bias")


def test_fold_batchnorm_needs_running_statistics():
    linear, bn = nn.Linear(3, 2), nn.BatchNorm1d(2, track_running_stats=False)
    with pytest.raises(ValueError, match="running statistics"):
        ref.fold_batchnorm(linear, bn)


def _accumulation_model(norm: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    layer = {"layer": nn.LayerNorm(8), "batch": nn.BatchNorm1d(8), "none": nn.Identity()}[norm]
    return nn.Sequential(nn.Linear(5, 8), layer, nn.Tanh(), nn.Linear(8, 3)).double()


def _full_batch_grads(model, loss_fn, x, y) -> dict:
    params = dict(model.named_parameters())
    grads = torch.autograd.grad(loss_fn(model(x), y), list(params.values()))
    return dict(zip(params, grads))


@pytest.mark.parametrize("norm", ["none", "layer"])
@pytest.mark.parametrize("n, micro_batch", [(24, 8), (23, 5), (7, 7), (7, 100)])
def test_accumulated_gradients_equal_the_full_batch_without_batchnorm(norm, n, micro_batch):
    model = _accumulation_model(norm, 0)
    x, y = torch.randn(n, 5, dtype=torch.float64), torch.randint(0, 3, (n,))
    loss_fn = nn.CrossEntropyLoss()
    got = ref.accumulated_gradients(model, loss_fn, x, y, micro_batch)
    expected = _full_batch_grads(model, loss_fn, x, y)
    assert got.keys() == expected.keys()
    for name, g in expected.items():
        close(got[name], g, torch.float64, name)


def test_accumulated_gradients_with_batchnorm_in_training_differ_from_the_full_batch():
    """The lecture's self-check 2: the forward pass depends on the batch, so the gradient
    depends on how it is split; the reference equals an explicit loop over micro-batches."""
    model, twin = _accumulation_model("batch", 1), _accumulation_model("batch", 1)
    x, y = torch.randn(24, 5, dtype=torch.float64) * 2 + 1, torch.randn(24, 3, dtype=torch.float64)
    loss_fn = nn.MSELoss()
    got = ref.accumulated_gradients(model, loss_fn, x, y, 6)
    manual = {name: torch.zeros_like(p) for name, p in twin.named_parameters()}
    for xb, yb in zip(x.split(6), y.split(6)):
        grads = torch.autograd.grad(loss_fn(twin(xb), yb) * len(xb) / len(x), list(twin.parameters()))
        for name, g in zip(manual, grads):
            manual[name] += g
    for name, g in manual.items():
        close(got[name], g, torch.float64, name)
    close(model[1].running_mean, twin[1].running_mean, torch.float64, "running_mean, per micro-batch")
    full = _full_batch_grads(_accumulation_model("batch", 1), loss_fn, x, y)
    assert (got["0.weight"] - full["0.weight"]).abs().max() > 1e-3


def test_accumulated_gradients_leave_grad_and_mode_as_they_were():
    model = _accumulation_model("none", 2).eval()
    old = torch.randn(8, 5, dtype=torch.float64)
    model[0].weight.grad = old.clone()
    kept = model[0].weight.grad
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = torch.randn(20, 5, dtype=torch.float64), torch.randn(20, 3, dtype=torch.float64)
    got = ref.accumulated_gradients(model, nn.MSELoss(), x, y, 7)
    assert model[0].weight.grad is kept and torch.equal(kept, old)
    assert all(p.grad is None for name, p in model.named_parameters() if name != "0.weight")
    assert not model.training
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    close(got["0.weight"], _full_batch_grads(model, nn.MSELoss(), x, y)["0.weight"], torch.float64, "grad")


def test_the_new_drivers_agree_on_reference_and_torch_refs():
    """Every hidden and public check of the new tasks gives the same outputs on solutions/
    and on autograder/torch_refs (sklearn-style statistics, torch.nn.utils.fusion,
    torch.autograd.grad), through the drivers themselves (CPU)."""
    from autograder.batch import hidden_plan, public_plan
    from autograder.compare import compare
    from autograder.config import Config
    from autograder.reference import ReferenceSide
    checks = [c for plan in (hidden_plan(("normalization",)), public_plan(("normalization",)))
              for c in plan["normalization"].checks if c.task]
    assert len(checks) >= 14
    solutions, pytorch = ReferenceSide("solutions"), ReferenceSide("torch")
    try:
        for c in checks:
            seed = c.seed(Config.base_seed)
            a, b = solutions.expected(c, "cpu", seed), pytorch.expected(c, "cpu", seed)
            assert a.error is None and b.error is None, (c.name, a.error, b.error)
            for name, value in a.outputs.items():
                assert compare(name, b.outputs.get(name), value, c.tolerance) is None, (c.name, name)
    finally:
        solutions.close()
        pytorch.close()
