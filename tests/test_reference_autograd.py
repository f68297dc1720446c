"""The autograd_basics reference agrees with PyTorch's autograd on every device present.

The reference (solutions/01_autograd/autograd_basics.py) is compared with
torch.autograd.grad through autograder/torch_refs/autograd_basics.py, and its
central differences with the analytic gradients. Tolerances: float64 1e-10
where both sides are exact up to rounding; central differences with h = 1e-6 in
float64 carry O(h**2) truncation plus ~1e-16 / h round-off, so they are
compared with a relative error below 1e-6 (measured: ~1e-9), and two central-
difference implementations with 1e-8 (fn's own round-off divided by 2h).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = _load(ROOT / "solutions" / "01_autograd" / "autograd_basics.py", "ref_autograd_basics")
tref = _load(ROOT / "autograder" / "torch_refs" / "autograd_basics.py", "torch_ref_autograd_basics")

DTYPES = [torch.float64, torch.float32]
TOL = {torch.float64: dict(rtol=1e-10, atol=1e-10), torch.float32: dict(rtol=1e-5, atol=1e-6)}


def _sum_tanh_sq(x):
    return torch.tanh(x).pow(2).sum()


def _quadratic_form(x):                       # x: (n,), A fixed, symmetric or not
    A = torch.arange(x.numel() ** 2, dtype=x.dtype, device=x.device).reshape(x.numel(), -1)
    return x @ (A / 10 - 1) @ x


def _matrix_fn(x):                            # x: (m, n)
    return (x.sin() * x.exp()).sum() + (x @ x.T).trace() ** 0.5 + x.logsumexp(dim=1).sum()


FUNCTIONS = {
    "scalar": (lambda x: x ** 2 + 3 * x, lambda g: torch.randn((), generator=g)),
    "vector_tanh": (_sum_tanh_sq, lambda g: torch.randn(7, generator=g)),
    "vector_quadratic": (_quadratic_form, lambda g: torch.randn(5, generator=g)),
    "matrix": (_matrix_fn, lambda g: torch.randn(3, 4, generator=g)),
    "transposed": (_matrix_fn, lambda g: torch.randn(5, 2, generator=g).T),   # non-contiguous
    "3d_softmax": (lambda x: (x.softmax(-1) * torch.linspace(-1, 1, x.shape[-1], dtype=x.dtype,
                                                             device=x.device)).sum(),
                   lambda g: torch.randn(2, 3, 4, generator=g)),
}


def _point(name, device, dtype):
    fn, make = FUNCTIONS[name]
    g = torch.Generator().manual_seed(sum(map(ord, name)))
    x = make(g).to(dtype)
    return fn, x.to(device) if x.is_contiguous() else x.T.contiguous().to(device).T


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_autograd_gradient_matches_torch_autograd_grad(name, dtype, device):
    fn, x = _point(name, device, dtype)
    got = ref.autograd_gradient(fn, x)
    expected = tref.autograd_gradient(fn, x)
    assert got.shape == x.shape and got.dtype == dtype and got.device == x.device
    torch.testing.assert_close(got, expected, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_numerical_gradient_matches_autograd_and_torch_ref(name, dtype, device):
    fn, x = _point(name, device, dtype)
    got = ref.numerical_gradient(fn, x)
    assert got.shape == x.shape and got.dtype == dtype and got.device == x.device
    analytic = tref.autograd_gradient(fn, x.double()).to(dtype)
    # float64 differences then a cast: float32 results are the rounded float64 ones.
    assert tref.relative_error(got, analytic) < (1e-6 if dtype == torch.float64 else 1e-5)
    # Two implementations may round fn's value differently (BLAS paths); the
    # 1/(2h) then amplifies eps * |fn| = 1e-15 to ~5e-10: rtol/atol 1e-8 here.
    tol = dict(rtol=1e-8, atol=1e-8) if dtype == torch.float64 else TOL[dtype]
    torch.testing.assert_close(got, tref.numerical_gradient(fn, x), **tol)


def test_lecture_example_gradient_is_13():
    fn = lambda x: x ** 2 + 3 * x                              # dy/dx = 2x + 3
    x = torch.tensor(5.0)
    assert ref.autograd_gradient(fn, x).item() == 13.0
    assert abs(ref.numerical_gradient(fn, x, h=1e-4).item() - 13.0) < 1e-5


@pytest.mark.parametrize("requires_grad", [False, True])
def test_gradients_leave_x_and_its_grad_untouched(requires_grad, device):
    x = torch.randn(4, 3, dtype=torch.float64, device=device).T            # non-contiguous view
    x_before = x.clone()
    if requires_grad:
        x.requires_grad_(True)
        x.grad = torch.full_like(x, 7.0)
    ref.numerical_gradient(_matrix_fn, x)
    ref.autograd_gradient(_matrix_fn, x)
    ref.gradient_check(_matrix_fn, x)
    assert x.requires_grad is requires_grad
    assert torch.equal(x.detach(), x_before)
    assert x.stride() == (1, 3)
    if requires_grad:
        assert torch.equal(x.grad, torch.full_like(x, 7.0))
    else:
        assert x.grad is None


def test_autograd_gradient_is_not_part_of_a_graph():
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    grad = ref.autograd_gradient(_sum_tanh_sq, x)
    assert grad.grad_fn is None
    assert ref.numerical_gradient(_sum_tanh_sq, x).grad_fn is None


def test_gradients_work_under_no_grad():
    x = torch.randn(3, dtype=torch.float64)
    with torch.no_grad():
        got = ref.autograd_gradient(_sum_tanh_sq, x)
    torch.testing.assert_close(got, tref.autograd_gradient(_sum_tanh_sq, x), rtol=1e-12, atol=0)


def test_gradient_of_a_function_that_ignores_x_is_zero():
    x = torch.randn(3, dtype=torch.float64)
    w = torch.ones(2, dtype=torch.float64, requires_grad=True)
    fn = lambda x: (w * 2).sum()
    assert torch.equal(ref.autograd_gradient(fn, x), torch.zeros(3, dtype=torch.float64))
    assert torch.equal(ref.numerical_gradient(fn, x), torch.zeros(3, dtype=torch.float64))


def test_numerical_gradient_of_an_empty_tensor_is_empty(device):
    x = torch.zeros(0, 3, device=device)
    got = ref.numerical_gradient(lambda x: x.sum(), x)
    assert got.shape == (0, 3) and got.device == x.device


RELATIVE_ERRORS = [
    ([1.0, 2.0], [1.0, 2.0], 0.0),
    ([0.0, 0.0], [0.0, 0.0], 0.0),                    # 0/0 -> 0 thanks to the 1e-8 floor
    ([1.0, 0.0], [1.1, 0.0], 0.1 / 2.1),
    ([3.0, -1.0], [3.0, 1.0], 1.0),                   # opposite signs
    ([0.0], [1e-3], 1.0),                             # one of the two is zero
    ([1e-9], [0.0], 1e-9 / 1e-8),                     # below the floor: 0.1, not 1
    ([[2.0, 4.0], [1.0, -5.0]], [[2.0, 5.0], [1.0, -5.0]], 1.0 / 9.0),
]


@pytest.mark.parametrize("a, b, expected", RELATIVE_ERRORS)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_relative_error_examples(a, b, expected, dtype, device):
    a = torch.tensor(a, dtype=dtype, device=device)
    b = torch.tensor(b, dtype=dtype, device=device)
    got = ref.relative_error(a, b)
    assert type(got) is float
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    assert got == pytest.approx(expected, rel=tol, abs=1e-15)
    assert got == pytest.approx(tref.relative_error(a, b), rel=1e-12, abs=1e-15)
    assert ref.relative_error(b, a) == got                                  # symmetric


def test_relative_error_of_empty_tensors_is_zero():
    assert ref.relative_error(torch.zeros(0), torch.zeros(0)) == 0.0


def test_relative_error_rejects_different_shapes():
    with pytest.raises(ValueError):
        ref.relative_error(torch.zeros(3), torch.zeros(2, 3))


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_gradient_check_is_small_for_smooth_functions_in_float64(name, device):
    fn, x = _point(name, device, torch.float64)
    assert ref.gradient_check(fn, x) < 1e-6


def test_gradient_check_catches_a_wrong_backward():
    class WrongSquare(torch.autograd.Function):          # backward forgets the factor 2
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x

    x = torch.randn(5, dtype=torch.float64) + 3
    assert ref.gradient_check(lambda x: WrongSquare.apply(x).sum(), x) > 0.3
    assert ref.gradient_check(lambda x: (x * x).sum(), x) < 1e-8


def test_too_small_h_loses_to_round_off():
    x = torch.linspace(-1, 1, 6, dtype=torch.float64)
    good = ref.gradient_check(_sum_tanh_sq, x, h=1e-5)
    tiny = ref.gradient_check(_sum_tanh_sq, x, h=1e-13)
    assert good < 1e-8 < tiny
