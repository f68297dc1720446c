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

from autograder.checks import check, fns_on

TOPIC = "autograd"
F64 = torch.float64


@check(points=1, public=True, tolerance=10)
def numerical_gradient_tanh(impl, t):
    """numerical_gradient of sum(tanh(x)**2) at a (2, 3) float64 x: central differences."""
    x = t.randn(2, 3, dtype=F64)
    return {"grad": impl.numerical_gradient(fns_on(impl).tanh_sq_sum, x)}


@check(points=1, public=True)
def autograd_gradient_logsumexp(impl, t):
    """autograd_gradient of logsumexp at a float64 vector."""
    return {"grad": impl.autograd_gradient(fns_on(impl).logsumexp, t.randn(5, dtype=F64))}


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
