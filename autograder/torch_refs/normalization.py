"""Topic 3 (normalization) written with PyTorch's built-ins.

The same names and signatures as solutions/03_normalization/normalization.py,
so the same drivers run on both: the public checks take their expected values
from here, and tests/ prove that the reference agrees with these.
"""
from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_linear_bn_weights


def batch_norm(x: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None, bias: Tensor | None, training: bool,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """torch.nn.functional.batch_norm; updates running_mean/running_var in place."""
    return F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)


def layer_norm(x: Tensor, normalized_shape: int | tuple[int, ...],
               weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """torch.nn.functional.layer_norm, also taking an int normalized_shape.

    F.layer_norm itself rejects an int (TypeError in torch 2.13); the student
    API accepts one, as torch.nn.LayerNorm does.
    """
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    return F.layer_norm(x, tuple(normalized_shape), weight, bias, eps)


class BatchNorm1d(nn.BatchNorm1d):
    """torch.nn.BatchNorm1d, same constructor."""


class BatchNorm2d(nn.BatchNorm2d):
    """torch.nn.BatchNorm2d, same constructor."""


class LayerNorm(nn.LayerNorm):
    """torch.nn.LayerNorm, same constructor."""


class BatchNormFunction:
    """Training-mode batch norm on (N, C), differentiated by autograd."""

    @staticmethod
    def apply(x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float) -> Tensor:
        """F.batch_norm(x, None, None, weight, bias, training=True, eps=eps)."""
        return F.batch_norm(x, None, None, weight, bias, True, 0.0, eps)


class Standardizer:
    """sklearn's StandardScaler in torch: torch.std_mean (population std) in float64, scale 1
    for a feature whose values are all equal."""

    def __init__(self) -> None:
        self.mean_ = self.scale_ = None

    def fit(self, X: Tensor) -> "Standardizer":
        Xd = X.detach().double()
        std, self.mean_ = torch.std_mean(Xd, 0, correction=0)
        self.scale_ = torch.where(Xd.amax(0) == Xd.amin(0), torch.ones_like(std), std)
        return self

    def transform(self, X: Tensor) -> Tensor:
        return ((X.double() - self.mean_) / self.scale_).to(X.dtype)

    def fit_transform(self, X: Tensor) -> Tensor:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: Tensor) -> Tensor:
        return (self.mean_ + Z.double() * self.scale_).to(Z.dtype)


def fold_batchnorm(linear: nn.Linear, bn: nn.Module) -> nn.Linear:
    """torch.nn.utils.fusion.fuse_linear_bn_weights on a copy of linear (weight 1 and bias 0
    for an affine=False BatchNorm, which that function does not take)."""
    if bn.running_mean is None:
        raise ValueError("fold_batchnorm needs a BatchNorm with running statistics")
    ones, zeros = torch.ones_like(bn.running_mean), torch.zeros_like(bn.running_mean)
    out_features, in_features = linear.weight.shape
    w = linear.weight
    folded = nn.Linear(in_features, out_features, device=w.device, dtype=w.dtype)
    weight, bias = fuse_linear_bn_weights(
        linear.weight.detach(), None if linear.bias is None else linear.bias.detach(),
        bn.running_mean, bn.running_var, bn.eps,
        ones if bn.weight is None else bn.weight.detach(), zeros if bn.bias is None else bn.bias.detach())
    folded.load_state_dict({"weight": weight, "bias": bias})
    return folded


def accumulated_gradients(model: nn.Module, loss_fn, x: Tensor, y: Tensor,
                          micro_batch: int) -> dict[str, Tensor]:
    """torch.autograd.grad of each micro-batch's weighted mean loss, summed; .grad untouched."""
    names, params = zip(*[(n, p) for n, p in model.named_parameters() if p.requires_grad])
    total = [torch.zeros_like(p) for p in params]
    for rows in torch.split(torch.arange(len(x), device=x.device), micro_batch):
        share = loss_fn(model(x[rows]), y[rows]) * (len(rows) / len(x))
        grads = torch.autograd.grad(share, params, allow_unused=True)
        total = [t if g is None else t + g for t, g in zip(total, grads)]
    return dict(zip(names, total))
