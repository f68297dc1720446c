"""Topic 1 (autograd basics) written with PyTorch's built-ins.

The same names and signatures as solutions/01_autograd/autograd_basics.py, so
the same drivers run on both. PyTorch has no public "numerical gradient"
function (torch.autograd.gradcheck only answers pass/fail), so
numerical_gradient is written here independently of the reference: all the
perturbed points are built at once as rows of x + h * I, then fn is evaluated
row by row, in float64.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor


def numerical_gradient(fn: Callable[[Tensor], Tensor], x: Tensor,
                       h: float = 1e-6) -> Tensor:
    """Central differences (fn(x + h e_i) - fn(x - h e_i)) / 2h, in float64."""
    with torch.no_grad():
        base = x.detach().to(torch.float64).reshape(-1)              # a copy or a view
        n = base.numel()
        step = h * torch.eye(n, dtype=torch.float64, device=x.device)  # (n, n)
        plus, minus = base + step, base - step                         # (n, n) new tensors
        values = [torch.as_tensor(fn(plus[i].reshape(x.shape)) - fn(minus[i].reshape(x.shape)),
                                  dtype=torch.float64, device=x.device).reshape(())
                  for i in range(n)]
        diff = torch.stack(values) if values else base.new_zeros(0)
        return (diff / (2 * h)).reshape(x.shape).to(x.dtype)


def autograd_gradient(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """dfn/dx by torch.autograd.grad on a detached copy of x (x is left alone)."""
    leaf = x.detach().clone().requires_grad_()
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(fn(leaf), leaf, allow_unused=True)
    return grad if grad is not None else torch.zeros_like(leaf)


def relative_error(a: Tensor, b: Tensor) -> float:
    """max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|) in float64 (0.0 when empty)."""
    if a.shape != b.shape:
        raise ValueError(f"relative_error needs equal shapes, not {tuple(a.shape)} and {tuple(b.shape)}")
    a64 = a.detach().double()
    b64 = b.detach().double().to(a64.device)
    rel = torch.abs(a64 - b64) / torch.clamp_min(a64.abs() + b64.abs(), 1e-8)
    return float(rel.max()) if rel.numel() else 0.0


def gradient_check(fn: Callable[[Tensor], Tensor], x: Tensor, h: float = 1e-6) -> float:
    """relative_error(autograd_gradient(fn, x), numerical_gradient(fn, x, h))."""
    return relative_error(autograd_gradient(fn, x), numerical_gradient(fn, x, h))
