"""Topic 2 (optimizers) written with PyTorch's built-ins.

The same names, constructor signatures and defaults as
solutions/02_optimizers/optimizers.py; each class is the torch.optim optimizer
itself with the student's arguments (maximize, foreach, fused, capturable,
differentiable keep PyTorch's defaults). PyTorch then picks its default
implementation: the per-tensor loop on the CPU, the foreach (multi-tensor)
kernels on CUDA. Those round differently from a per-parameter loop, so compare
with a float tolerance, never bit for bit.
"""
from __future__ import annotations

from typing import Iterable

import torch


class SGDMomentum(torch.optim.SGD):
    """torch.optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov)."""

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0,
                 nesterov: bool = False) -> None:
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=nesterov)


class RMSProp(torch.optim.RMSprop):
    """torch.optim.RMSprop(params, lr, alpha, eps, weight_decay, momentum, centered)."""

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False) -> None:
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                         momentum=momentum, centered=centered)


class Adam(torch.optim.Adam):
    """torch.optim.Adam(params, lr, betas, eps, weight_decay, amsgrad)."""

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps,
                         weight_decay=weight_decay, amsgrad=amsgrad)


class AdamW(torch.optim.AdamW):
    """torch.optim.AdamW(params, lr, betas, eps, weight_decay, amsgrad)."""

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps,
                         weight_decay=weight_decay, amsgrad=amsgrad)
