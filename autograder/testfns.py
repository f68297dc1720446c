"""Scalar test functions for checks that pass a function (gradient checks).

Functions cannot cross the wire, so a driver names one of these instead:
`fns_on(impl).tanh_sq_sum` is resolved on the implementation's side, where this
file is part of the worker's runtime (next to worker.py and wire.py). Each maps
a tensor of any shape, dtype and device (the meta device included) to a 0-dim
tensor, with smooth, non-trivial gradients, and creates what it needs on the
input's device and in its dtype.

This module is public (students may read it) and imports nothing but torch.
"""
from __future__ import annotations

import torch
from torch import Tensor


def sum_of_squares(x: Tensor) -> Tensor:
    """sum(x**2); gradient 2x."""
    return (x * x).sum()


def tanh_sq_sum(x: Tensor) -> Tensor:
    """sum(tanh(x)**2); gradient 2 tanh(x) (1 - tanh(x)**2)."""
    return torch.tanh(x).pow(2).sum()


def softplus_mean(x: Tensor) -> Tensor:
    """mean(log(1 + exp(x))); gradient sigmoid(x) / numel."""
    return torch.nn.functional.softplus(x).mean()


def logsumexp(x: Tensor) -> Tensor:
    """log(sum(exp(x))) over all elements; gradient softmax(x)."""
    return torch.logsumexp(x.reshape(-1), dim=0)


def matrix_quadratic(x: Tensor) -> Tensor:
    """v^T A v + sum(sin(v)) with v = x flattened and A[i, j] = cos(i + 2 j) (not symmetric)."""
    v = x.reshape(-1)
    i = torch.arange(v.numel(), dtype=x.dtype, device=x.device)
    a = torch.cos(i[:, None] + 2 * i[None, :])
    return v @ (a @ v) + torch.sin(v).sum()


class _SquareWithWrongBackward(torch.autograd.Function):
    """x**2 forward, but a backward that returns x instead of 2x (a classic bug)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * x                 # should be grad_out * 2 * x


def wrong_backward_sum(x: Tensor) -> Tensor:
    """sum(x**2) through a custom autograd.Function whose backward is off by a factor 2."""
    return _SquareWithWrongBackward.apply(x).sum()


FUNCTIONS = ("sum_of_squares", "tanh_sq_sum", "softplus_mean", "logsumexp",
             "matrix_quadratic", "wrong_backward_sum")
