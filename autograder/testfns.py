"""Scalar test functions for checks that pass a function (gradient checks), and a few
test objects that checks build on the implementation's side.

Functions cannot cross the wire, so a driver names one of these instead:
`fns_on(impl).tanh_sq_sum` is resolved on the implementation's side, where this
file is part of the worker's runtime (next to worker.py and wire.py). Each function
in FUNCTIONS maps a tensor of any shape, dtype and device (the meta device included)
to a 0-dim tensor, with smooth, non-trivial gradients, and creates what it needs on
the input's device and in its dtype. The functions after them return other kinds of
scalars, or ignore their input, for the cases a contract allows.

The classes at the end are built by a driver (`fns_on(impl).Dropout(0.5)`) and stay
on the implementation's side, where the driver keeps a handle to them: `Views`
(views the wire cannot carry), `Dropout` (a dropout layer that is not a
torch.nn.Dropout), `Recorder` (a Linear layer that notes the samples it sees), and
normalization layers written with plain operations (`EvalBatchNorm1d`, `RowNorm`,
`BatchStandardize`) for models built where PyTorch's own normalization is forbidden.

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


# ----------------------------------------------------------------------------- other scalars

def tanh_sq_sum_float(x: Tensor) -> float:
    """tanh_sq_sum as a Python float (float() of the 0-dim tensor); not on the meta device."""
    return float(tanh_sq_sum(x).detach())


def tanh_sq_sum_1d(x: Tensor) -> Tensor:
    """tanh_sq_sum as a one-element tensor of shape (1,)."""
    return tanh_sq_sum(x).reshape(1)


def ignores_x(x: Tensor) -> Tensor:
    """3 times a new 0-dim leaf that requires grad, on x's device and in x's dtype: a value
    that can be differentiated (backward works) but does not depend on x at all."""
    leaf = torch.ones((), dtype=x.dtype, device=x.device, requires_grad=True)
    return 3 * leaf


def offset_sq_sum(x: Tensor) -> Tensor:
    """sum((x - 0.1)**2); gradient 2 (x - 0.1), with 0.1 rounded to x's dtype.

    float32 and float64 round 0.1 differently (by 1.5e-9): at x = float32(0.1) the
    gradient is exactly 0 in float32 and 3e-9 in float64.
    """
    return (x - 0.1).pow(2).sum()


# ----------------------------------------------------------------------------- test objects

class Views:
    """Views of `base` made and kept on this side (the wire sends every tensor it carries
    as a contiguous copy): `views.expanded` is base.expand(*sizes), whose elements share
    memory (stride 0 along the expanded dims); `views.base` is base itself."""

    def __init__(self, base: Tensor, *sizes: int):
        self.base = base
        self.expanded = base.expand(*sizes)


def _dropout_init(self, p: float = 0.5) -> None:
    torch.nn.Module.__init__(self)
    self.p = p


def _dropout_forward(self, x: Tensor) -> Tensor:
    return torch.nn.functional.dropout(x, self.p, self.training)


# A dropout layer that is not a torch.nn.Dropout, as a student's own Dropout (topic 4) is
# not: a torch.nn.Module subclass whose class is named "Dropout". The name is joined at run
# time, so it is a str object of its own, equal to the literal "Dropout" but not the same
# object: code that tests the name must compare it with ==.
Dropout = type("".join(("Drop", "out")), (torch.nn.Module,),
               {"__init__": _dropout_init, "forward": _dropout_forward, "__module__": __name__,
                "__doc__": "Dropout with probability p in training mode, the identity in eval mode."})


class Recorder(torch.nn.Module):
    """A Linear(in_features, out_features) that appends, for every batch it is given with
    autograd on (a training step's forward pass; an evaluation under torch.no_grad() is
    left out), the list of the rows' first features to the list `seen`: a check that
    numbers its samples in that feature reads the order in which a training loop visits
    them."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.linear = torch.nn.Linear(in_features, out_features)
        self.seen: list[list[float]] = []

    def forward(self, x: Tensor) -> Tensor:
        if torch.is_grad_enabled():
            self.seen.append(x[:, 0].tolist())
        return self.linear(x)


# Normalization layers written with plain tensor operations: the normalization topic
# makes PyTorch's own (their kernels and classes) unreachable in the worker, and a check
# of another task must not depend on the student's BatchNorm1d or LayerNorm.

class EvalBatchNorm1d(torch.nn.Module):
    """A BatchNorm1d's state under torch.nn.BatchNorm1d's names (num_features, eps, affine,
    track_running_stats, weight, bias, running_mean, running_var, num_batches_tracked; a
    state_dict loads both ways), whose forward is the eval-mode formula
    (x - running_mean) / sqrt(running_var + eps) * weight + bias in every mode: for code
    that reads a BatchNorm's attributes (folding it into a Linear layer)."""

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = True,
                 track_running_stats: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, 0.1
        self.affine, self.track_running_stats = affine, track_running_stats
        for name, value in (("weight", torch.ones(num_features)), ("bias", torch.zeros(num_features))):
            self.register_parameter(name, torch.nn.Parameter(value) if affine else None)
        for name, value in (("running_mean", torch.zeros(num_features)),
                            ("running_var", torch.ones(num_features)),
                            ("num_batches_tracked", torch.tensor(0, dtype=torch.long))):
            self.register_buffer(name, value if track_running_stats else None)

    def forward(self, x: Tensor) -> Tensor:
        inv_std = 1 / torch.sqrt(self.running_var + self.eps)
        out = (x - self.running_mean) * inv_std
        return out * self.weight + self.bias if self.affine else out


class RowNorm(torch.nn.Module):
    """Layer normalization over the last dimension, with a weight and a bias of its size:
    each row is normalized with its own mean and (biased) variance, so rows never interact."""

    def __init__(self, features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(features))
        self.bias = torch.nn.Parameter(torch.zeros(features))

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(-1, keepdim=True)
        var = ((x - mean) ** 2).mean(-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class BatchStandardize(torch.nn.Module):
    """Training-mode batch normalization over dim 0 of (N, features), with a weight and a
    bias per feature and no running statistics (batch statistics in every mode): each row's
    output depends on every row of its batch."""

    def __init__(self, features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(features))
        self.bias = torch.nn.Parameter(torch.zeros(features))

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(0)
        var = ((x - mean) ** 2).mean(0)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


def train_steps(optimizer, params, noises, scales, late: int, lr_change=None) -> list:
    """The optimizer checks' training loop, run where the optimizer lives (one request for
    every step, where a request a call took four a step: latency was most of a check's time).

    Step k: if lr_change is [k, lr0, lr1], param_groups[0 and 1]["lr"] = lr0, lr1; then
    optimizer.zero_grad(); torch.autograd.backward(active, grads), which gives each active
    leaf a fresh p.grad = scales[k] * (0.5 * (p - 0.5) + noise) (a pull towards 0.5 plus the
    driver's seeded noise; params[2] is active from step `late` on); optimizer.step(). Returns
    parameters_to_vector(params[:3]) after each step.
    """
    history = []
    for step, (noise, scale) in enumerate(zip(noises, scales)):
        if lr_change is not None and step == lr_change[0]:
            optimizer.param_groups[0]["lr"] = lr_change[1]
            optimizer.param_groups[1]["lr"] = lr_change[2]
        active = [i for i in range(3) if i != 2 or step >= late]
        optimizer.zero_grad()
        torch.autograd.backward([params[i] for i in active],
                                [scale * (0.5 * (params[i].detach() - 0.5) + noise[i]) for i in active])
        optimizer.step()
        history.append(torch.nn.utils.parameters_to_vector(params[:3]))
    return history
