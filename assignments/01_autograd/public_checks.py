"""Public checks for autograd basics: run them with

    python -m autograder check autograd

from the folder that holds assignments/. The functions whose gradients are taken
come from autograder/testfns.py (for example tanh_sq_sum(x) = sum(tanh(x)**2));
the expected values come from PyTorch (torch.autograd.grad, and central
differences in float64). Passing them is a good sign, not a guarantee: the hidden
checks try more shapes, float32, non-contiguous inputs, side effects on x and
x.grad, and edge cases of relative_error.
"""
import torch

from autograder.checks import check, fetch, fns_on, make_param

TOPIC = "autograd"
F64 = torch.float64


@check(points=1, public=True, tolerance=10)
def numerical_gradient_tanh(impl, t):
    """numerical_gradient of sum(tanh(x)**2) at a (2, 3) float64 x: central differences."""
    x = t.randn(2, 3, dtype=F64)
    return {"grad": impl.numerical_gradient(fns_on(impl).tanh_sq_sum, x)}


@check(points=1, public=True, tolerance=10)
def numerical_gradient_quadratic(impl, t):
    """numerical_gradient of a quadratic form at a (3, 2) float64 x: each element put back, x unchanged."""
    x = t.randn(3, 2, dtype=F64)
    grad = impl.numerical_gradient(fns_on(impl).matrix_quadratic, x)
    return {"grad": grad, "x after the call": x}


@check(points=1, public=True)
def numerical_gradient_float32_input(impl, t):
    """numerical_gradient at a float32 x: computed in float64, returned in float32."""
    return {"grad": impl.numerical_gradient(fns_on(impl).tanh_sq_sum, t.randn(2, 3, dtype=torch.float32))}


@check(points=1, public=True)
def autograd_gradient_logsumexp(impl, t):
    """autograd_gradient of logsumexp at a float64 vector."""
    return {"grad": impl.autograd_gradient(fns_on(impl).logsumexp, t.randn(5, dtype=F64))}


@check(points=1, public=True)
def autograd_gradient_twice_x_requires_grad(impl, t):
    """autograd_gradient called twice at an x that requires grad: the same gradient, x.grad left None."""
    x = make_param(impl, t.randn(4, dtype=F64))
    f = fns_on(impl).tanh_sq_sum
    first = impl.autograd_gradient(f, x)
    second = impl.autograd_gradient(f, x)
    return {"first call": first, "second call": second, "x.grad after the calls": fetch(x.grad)}


@check(points=1, public=True, placement=False)
def relative_error_examples(impl, t):
    """relative_error: the largest element-wise |a - b| / max(1e-8, |a| + |b|), 0/0 counting as 0."""
    a = t.tensor([0.0, 1.0, 100.0, -2.0], dtype=F64)
    b = t.tensor([0.0, 1.1, 101.0, -2.0], dtype=F64)
    return {"relative_error": impl.relative_error(a, b)}


@check(points=1, public=True, placement=False)
def gradient_check_smooth(impl, t):
    """gradient_check of sum(x**2) at a float64 x is a Python float below 1e-6."""
    value = impl.gradient_check(fns_on(impl).sum_of_squares, t.randn(4, dtype=F64))
    return {"returns": type(value).__name__, "below 1e-6": isinstance(value, float) and value < 1e-6}
