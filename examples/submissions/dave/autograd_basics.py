"""Topic 1: autograd basics and gradient checking.

PyTorch records every operation on a tensor that has requires_grad=True;
calling .backward() on a scalar result walks that record backwards and leaves
d(result)/d(x) in x.grad. You compute the same gradient two ways and compare:

- autograd_gradient: through requires_grad / backward, as in the lecture;
- numerical_gradient: with central differences, from function values only;
- relative_error and gradient_check: how far apart the two are.

A gradient check is how you test a hand-written backward pass (you will need
one for BatchNormFunction in topic 3): if the analytic gradient and the
finite-difference gradient agree to ~1e-7 in float64, the backward is right.

Forbidden here (the grader refuses them): torch.autograd.gradcheck,
torch.autograd.gradgradcheck, everything in torch.autograd.functional
(jacobian, vjp, ...) and in torch.func / functorch (grad, jacrev, vjp, ...),
and torch.gradient. Use .backward() and a loop over the elements of x.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor


def numerical_gradient(fn: Callable[[Tensor], Tensor], x: Tensor,
                       h: float = 1e-6) -> Tensor:
    """Gradient of a scalar function by central differences.

    For every element x_i of x (any shape, visited in flattened order):

        grad_i = (fn(x + h * e_i) - fn(x - h * e_i)) / (2 * h)

    where e_i is 1 at position i and 0 elsewhere. The error is O(h**2)
    (truncation), plus about eps_machine * |fn| / h from rounding the two
    function values: an h that is TOO SMALL makes the result worse, not
    better. 1e-6 suits float64; in float32 (eps ~1e-7) the same h would
    leave only one correct digit.

    Therefore work on a float64 COPY of x: fn is called with a float64 tensor
    on x's device, and the result is cast back to x's dtype at the end. Never
    modify x itself (it may be a view, non-contiguous, or needed by the caller):
    x, and x.grad if it has one, must be exactly as they were afterwards. No
    autograd graph is needed for finite differences (run under torch.no_grad()).

    Args:
        fn: maps a tensor shaped like x to a scalar (a 0-dim tensor, a
            one-element tensor or a Python float).
        x: the point, any shape, any floating dtype, on any device;
            may be non-contiguous (e.g. a transposed matrix).
        h: the step; the same h is used for every element.

    Returns:
        Tensor shaped like x, with x's dtype and device.
    """
    # BEGIN SOLUTION Task 1.1
    with torch.no_grad():
        xc = x.detach().to(torch.float64).clone(memory_format=torch.contiguous_format)
        flat = xc.view(-1)                                    # shares memory with xc
        grad = torch.zeros_like(flat)                         # (numel,) float64
        for i in range(flat.numel()):
            old = flat[i].clone()
            flat[i] = old + h
            f_plus = fn(xc)
            flat[i] = old - h
            f_minus = fn(xc)
            flat[i] = old                                     # restore before the next i
            grad[i] = (f_plus - f_minus) / (2 * h)
        return grad.view(x.shape).to(x.dtype)
    # END SOLUTION


def autograd_gradient(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Gradient of a scalar function by autograd (requires_grad + backward).

    The lecture's recipe, on a COPY so the caller's x is left alone:

        xc = a detached clone of x, with requires_grad=True
        y  = fn(xc)            # a scalar
        y.backward()           # fills xc.grad = dy/dx
        return xc.grad

    No side effects on x: x.requires_grad stays what it was, and x.grad is
    not created or changed (backward on x itself would ADD into x.grad, since
    gradients accumulate). Compute in x's own dtype; if fn does not depend on
    x at all, the gradient is zeros. (backward also accumulates into any other
    leaf tensor fn uses, such as a model's weights; that is fn's business.)

    Args:
        fn: maps a tensor shaped like x to a scalar tensor.
        x: the point, any shape, any floating dtype, on any device.

    Returns:
        Tensor shaped like x, with x's dtype and device.
    """
    # BEGIN SOLUTION Task 1.2
    xc = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():                                 # even if called under no_grad
        y = fn(xc)
        y.backward()
    if xc.grad is None:                                       # fn ignores x
        return torch.zeros_like(x)
    return xc.grad
    # END SOLUTION


def relative_error(a: Tensor, b: Tensor) -> float:
    """Largest element-wise relative error between two equally shaped tensors.

        rel_i = |a_i - b_i| / max(1e-8, |a_i| + |b_i|)
        relative_error = max over i of rel_i          (a Python float)

    The 1e-8 floor keeps elements that are zero in both from giving 0/0: they
    count as a relative error of 0. Work in float64 (cast a and b first), so
    that a float32 or 16-bit input does not round the answer: in float16 the
    sum |a| + |b| and the ratio alone would be off by about 1e-3. An empty pair
    of tensors has relative error 0.0.

    Args:
        a, b: tensors of the same shape (any dtype, on the same device).

    Returns:
        A Python float in [0, 1] (1 when the signs are opposite or exactly one
        of the two is zero).

    Raises:
        ValueError: if a and b have different shapes.
    """
    # BEGIN SOLUTION Task 1.3
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} and {tuple(b.shape)}")
    if a.numel() == 0:
        return 0.0
    a = a.detach().to(torch.float64)
    b = b.detach().to(device=a.device, dtype=torch.float64)
    denom = (a.abs() + b.abs()).clamp(min=1e-8)               # max(1e-8, |a| + |b|)
    return ((a - b).abs() / denom).max().item()
    # END SOLUTION


def gradient_check(fn: Callable[[Tensor], Tensor], x: Tensor,
                   h: float = 1e-6) -> float:
    """Relative error between the autograd and the central-difference gradients.

        gradient_check = relative_error(autograd_gradient(fn, x),
                                        numerical_gradient(fn, x, h))

    For a smooth fn and float64 x expect ~1e-7 or less; values near 1 mean
    a wrong backward (or a kink, such as ReLU at 0, right at x).

    Args:
        fn: maps a tensor shaped like x to a scalar tensor.
        x: the point, any shape, any floating dtype, on any device; unchanged.
        h: the central-difference step.

    Returns:
        A Python float.
    """
    # BEGIN SOLUTION Task 1.4
    analytic = autograd_gradient(fn, x)
    numeric = numerical_gradient(fn, x, h)
    return relative_error(analytic, numeric)
    # END SOLUTION
