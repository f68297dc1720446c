"""Topic 3: normalization layers (BatchNorm and LayerNorm), written by hand.

Everything here behaves exactly as its PyTorch counterpart with the same
arguments, so you can test your work against torch.nn.functional and torch.nn:

    batch_norm         as torch.nn.functional.batch_norm
    layer_norm         as torch.nn.functional.layer_norm
    BatchNorm1d        as torch.nn.BatchNorm1d   (same state_dict: they load both ways)
    BatchNorm2d        as torch.nn.BatchNorm2d
    LayerNorm          as torch.nn.LayerNorm
    BatchNormFunction  training-mode batch norm on (N, C) with a hand-written backward

and three exercises on what normalization does (the lecture's claims):

    Standardizer           input normalization, as sklearn's StandardScaler
    fold_batchnorm         a Linear layer followed by an eval-mode BatchNorm as one Linear
    accumulated_gradients  the gradient of a batch, computed micro-batch by micro-batch

Not allowed in this file (a submission that uses one gets no credit for that
part): F.batch_norm, F.layer_norm, F.group_norm, F.instance_norm,
torch.batch_norm, torch.layer_norm, torch.native_batch_norm, the modules
torch.nn.BatchNorm*, LayerNorm, GroupNorm, InstanceNorm*, and torch.nn.utils.fusion
(its fuse_linear_bn_eval is fold_batchnorm). Tensor methods such as x.mean,
x.var, torch.var_mean and torch.sqrt are fine.

Your code must work for any device and floating dtype the inputs come on: make
new tensors with device=/dtype= taken from the inputs (or with *_like), never
with the defaults. float16 and bfloat16 included: outputs and running
statistics stay in x's dtype (compute in it, or in float32 and cast the result
back; running statistics are updated in place, in their own dtype). In 16 bits
the order of operations moves the last bits of every output, so those checks
allow a few units in the last place of the outputs' scale: any honest order of
operations passes.
"""
from __future__ import annotations

import numbers

import torch
from torch import Tensor, nn


def batch_norm(x: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None, bias: Tensor | None, training: bool,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization, exactly as torch.nn.functional.batch_norm.

    The channel dimension is dim 1. Each channel c is normalized with
    statistics taken over EVERY OTHER dimension:

        x of shape (N, C)        -> statistics over dim 0,         n = N
        x of shape (N, C, L)     -> statistics over dims (0, 2),    n = N * L
        x of shape (N, C, H, W)  -> statistics over dims (0, 2, 3), n = N * H * W

    Training mode (training=True) uses this batch's statistics:

        mean = mean of x over those dims                    # (C,)
        var  = mean of (x - mean)**2 over those dims        # (C,)  BIASED (divide by n)
        out  = (x - mean) / sqrt(var + eps) * weight + bias

    eps goes INSIDE the square root. When running_mean and running_var are
    given (not None), they are then updated in place:

        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * n / (n - 1)

    Two traps here. momentum weighs the NEW value (PyTorch's convention; some
    course notes write 0.9 * old + 0.1 * new and call 0.9 the momentum). And
    running_var stores the UNBIASED variance (divide by n - 1), while the
    output above is normalized with the biased one. The update happens without
    autograd (under torch.no_grad(): the buffers never get a gradient history)
    and in place (the caller's tensors change, no new tensors are returned).
    With one value per channel (n == 1) the variance is meaningless:
    raise ValueError("Expected more than 1 value per channel when training,
    got input size ...") as PyTorch does. An empty batch (N = 0) gives an
    empty output and leaves the running statistics unchanged.

    Evaluation mode (training=False) normalizes with the running statistics
    instead and changes nothing:

        out = (x - running_mean) / sqrt(running_var + eps) * weight + bias

    and raises RuntimeError("running_mean must be defined in evaluation mode")
    when running_mean is None. In training mode running_mean/running_var may
    be None: then the batch statistics are used and nothing is updated.

    The cumulative average of torch.nn.BatchNorm1d(momentum=None) is not this
    function's business: the module computes momentum = 1 / num_batches_tracked
    and passes it in as a float.

    Args:
        x: input of shape (N, C), (N, C, L) or (N, C, H, W).
        running_mean, running_var: shape (C,), or None; updated in place when
            training.
        weight, bias: shape (C,), or None for no scale / no shift.
        training: use (and update) batch statistics if True, running ones if False.
        momentum: weight of the new batch statistics in the running update.
        eps: added to the variance inside the square root.

    Returns:
        Tensor shaped like x, with x's dtype and device.
    """
    # BEGIN SOLUTION Task 3.1
    dims = [0] + list(range(2, x.dim()))           # every dim but the channels
    shape = [1, -1] + [1] * (x.dim() - 2)           # (C,) -> broadcasts against x
    n = x.numel() // x.shape[1]                     # values per channel
    if training:
        if n == 1:
            raise ValueError("Expected more than 1 value per channel when training, "
                             f"got input size {x.size()}")
        mean = x.mean(dims)                         # (C,)
        var = x.var(dims, correction=0)             # (C,)  biased: normalizes the batch
        if running_mean is not None and n > 0:      # an empty batch updates nothing
            with torch.no_grad():
                var_unbiased = var    # (C,)  unbiased: the running estimate
                running_mean.copy_((1 - momentum) * running_mean + momentum * mean)
                running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)
    else:
        if running_mean is None:
            raise RuntimeError("running_mean must be defined in evaluation mode")
        mean, var = running_mean, running_var       # (C,), (C,)
    out = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out
    # END SOLUTION


def layer_norm(x: Tensor, normalized_shape: int | tuple[int, ...],
               weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Layer normalization, as torch.nn.functional.layer_norm.

    normalized_shape names the LAST dimensions of x: an int D means the last
    dim (of size D), a tuple such as (3, 5) the last two (of sizes 3 and 5).
    Each sample is normalized with its own statistics over ALL those trailing
    dims together (there is no batch dimension involved and no running state,
    so training and evaluation are the same):

        mean = mean of x over the trailing dims              # x.shape[:-k] + (1,) * k
        var  = mean of (x - mean)**2 over the trailing dims  # BIASED (divide by their size)
        out  = (x - mean) / sqrt(var + eps) * weight + bias

    eps goes INSIDE the square root. Unlike BatchNorm, weight and bias have
    one value per ELEMENT of normalized_shape (not per channel) and simply
    broadcast against x. (Unlike F.layer_norm, which wants a tuple, an int
    normalized_shape is accepted here, as in torch.nn.LayerNorm.)

    Args:
        x: input of shape (*, *normalized_shape), any number of leading dims.
        normalized_shape: int or tuple of ints, the trailing shape of x.
        weight, bias: shape normalized_shape, or None for no scale / no shift.
        eps: added to the variance inside the square root.

    Returns:
        Tensor shaped like x, with x's dtype and device.

    Raises:
        RuntimeError if x's trailing dims do not match normalized_shape.
    """
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    if tuple(x.shape[x.dim() - len(normalized_shape):]) != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, normalized_shape))}], "
                           f"but got input of size{list(x.shape)}")
    # BEGIN SOLUTION Task 3.2
    dims = list(range(-len(normalized_shape), 0))   # the trailing dims, e.g. [-2, -1]
    mean = x.mean(dims, keepdim=True)               # (*, 1, ..., 1)
    var = x.var(dims, correction=0, keepdim=True)   # (*, 1, ..., 1)  biased
    out = (x - mean) / torch.sqrt(var + eps)
    if weight is not None:
        out = out * weight                          # normalized_shape broadcasts
    if bias is not None:
        out = out + bias
    return out
    # END SOLUTION


class _BatchNorm(nn.Module):
    """What BatchNorm1d and BatchNorm2d share: parameters, buffers, forward.

    _BatchNorm(num_features, eps=1e-5, momentum=0.1, affine=True,
               track_running_stats=True, device=None, dtype=None, *, bias=True)

    Parameters and buffers must have exactly torch.nn.BatchNorm1d's names,
    shapes, dtypes and initial values (C = num_features), so that state_dicts
    load both ways:

        weight               Parameter (C,), ones    }  only when affine=True
        bias                 Parameter (C,), zeros   }  (bias=False: no bias)
        running_mean         buffer (C,), zeros      }  only when
        running_var          buffer (C,), ones       }  track_running_stats=True
        num_batches_tracked  buffer, 0-dim int64 (torch.long) tensor, 0

    Names that are absent are still attributes set to None: use
    self.register_parameter("weight", None) and
    self.register_buffer("running_mean", None). The float tensors get the
    constructor's device and dtype; num_batches_tracked gets the device only
    (its dtype is always int64).

    forward:
      * training and track_running_stats: add 1 to num_batches_tracked, then
        normalize with the batch statistics and update the running ones with
        momentum, or, when momentum is None, with 1 / num_batches_tracked:
        a cumulative average, the plain mean of all batch statistics so far
        (the initial running_var = 1 is forgotten after the first batch);
      * eval with running statistics: normalize with them, change nothing;
      * no running statistics (track_running_stats=False): the buffers are
        None and the BATCH statistics are used in training AND in eval.

    forward may call batch_norm above; what it has to decide is the training
    flag and the momentum to pass. Let batch_norm update the buffers in place:
    never assign new tensors to self.running_mean / self.running_var.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        # BEGIN SOLUTION Task 3.3
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features, device=device, dtype=dtype))
            if bias:
                self.bias = nn.Parameter(torch.zeros(num_features, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean",
                                 torch.zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var",
                                 torch.ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked",
                                 torch.tensor(0, device=device, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        # END SOLUTION

    def _check_input_dim(self, x: Tensor) -> None:
        """BatchNorm1d and BatchNorm2d check x's number of dimensions (given code)."""
        raise TypeError("_BatchNorm is a base class: use BatchNorm1d or BatchNorm2d")

    def forward(self, x: Tensor) -> Tensor:
        """Normalize x (see the class docstring); shape, dtype and device of x."""
        self._check_input_dim(x)
        # BEGIN SOLUTION Task 3.4
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)                     # in place, counts batches
            if momentum is None:                                 # cumulative average:
                momentum = 1.0 / float(self.num_batches_tracked)  # 1, 1/2, 1/3, ...
        # batch statistics in training, and in eval when there are no running ones
        use_batch_stats = self.training or self.running_mean is None
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          use_batch_stats, momentum, self.eps)
        # END SOLUTION

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) inputs, as torch.nn.BatchNorm1d.

    BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True,
                track_running_stats=True, device=None, dtype=None)

    num_features is C. Parameters, buffers, train/eval behaviour and the
    momentum=None cumulative average are described in _BatchNorm's docstring.

    Shape: input (N, C) or (N, C, L); output the same. Any other number of
    dims raises ValueError("expected 2D or 3D input (got 4D input)").
    """

    def _check_input_dim(self, x: Tensor) -> None:
        if x.dim() != 2 and x.dim() != 3:
            raise ValueError(f"expected 2D or 3D input (got {x.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) inputs, as torch.nn.BatchNorm2d.

    Same constructor, parameters, buffers and behaviour as BatchNorm1d (see
    _BatchNorm); the statistics of channel c are taken over N, H and W.

    Shape: input (N, C, H, W); output the same. Any other number of dims
    raises ValueError("expected 4D input (got 3D input)").
    """

    def _check_input_dim(self, x: Tensor) -> None:
        if x.dim() != 4:
            raise ValueError(f"expected 4D input (got {x.dim()}D input)")


class LayerNorm(nn.Module):
    """Layer normalization over the trailing dims, as torch.nn.LayerNorm.

    LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
              device=None, dtype=None)

    forward(x) is layer_norm(x, normalized_shape, weight, bias, eps); no
    running statistics, so training and evaluation behave the same.

    self.normalized_shape is always a tuple (an int D becomes (D,)).
    Parameters (torch.nn.LayerNorm's names, so state_dicts load both ways),
    with the constructor's device and dtype:

        weight  Parameter of shape normalized_shape, ones   } only when
        bias    Parameter of shape normalized_shape, zeros  } elementwise_affine=True
                                                              (bias=False: no bias)

    Absent ones are attributes set to None (self.register_parameter(name, None)).

    Shape: input (*, *normalized_shape); output the same.
    """

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        # BEGIN SOLUTION Task 3.5
        if elementwise_affine:
            self.weight = nn.Parameter(
                torch.ones(self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = nn.Parameter(
                    torch.zeros(self.normalized_shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """Normalize x over its trailing normalized_shape dims; shape of x."""
        # BEGIN SOLUTION Task 3.6
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        # END SOLUTION

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class BatchNormFunction(torch.autograd.Function):
    """Training-mode batch norm on (N, C) with a hand-written backward.

    Call it as  out = BatchNormFunction.apply(x, weight, bias, eps)  with
    x (N, C), weight and bias (C,) or None, eps a float. The forward is
    batch_norm(x, None, None, weight, bias, training=True, eps=eps): batch
    statistics over dim 0 (biased variance), no running statistics. Inside
    forward autograd is off, so backward must produce the gradients itself.

    Forward, per channel (all means and sums over the batch dim 0):

        mean  = mean of x                                # (C,)
        sigma = sqrt(mean of (x - mean)**2 + eps)        # (C,)
        x_hat = (x - mean) / sigma                       # (N, C)
        out   = x_hat * weight + bias                    # (N, C)

    Backward, given dout (N, C) = dLoss/dout, with g = dout * weight
    (g = dout when weight is None):

        dx      = (g - mean of g - x_hat * mean of (g * x_hat)) / sigma   # (N, C)
        dweight = sum of dout * x_hat                                     # (C,)
        dbias   = sum of dout                                             # (C,)

    The two subtracted means are the gradient flowing through the batch
    mean and the batch variance: every sample influences every output. A
    trap when you test this: with loss = out.sum(), dout is all ones and the
    true dx is exactly 0, so a backward that returns zeros looks right. Use a
    random dout (out.backward(torch.randn_like(out))).

    backward returns one gradient per forward input: (dx, dweight, dbias,
    None); None for eps, and None for weight or bias when they were None or
    need no gradient (ctx.needs_input_grad tells which). Save what backward
    needs with ctx.save_for_backward (it accepts None too).

    As in training-mode batch norm, N == 1 raises ValueError("Expected more
    than 1 value per channel when training, got input size ...").
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor | None, bias: Tensor | None,
                eps: float) -> Tensor:
        # BEGIN SOLUTION Task 3.7
        if x.shape[0] == 1:
            raise ValueError("Expected more than 1 value per channel when training, "
                             f"got input size {x.size()}")
        mean = x.mean(0)                                  # (C,)
        sigma = torch.sqrt(x.var(0, correction=0) + eps)  # (C,)
        x_hat = (x - mean) / sigma                        # (N, C)
        out = x_hat
        if weight is not None:
            out = out * weight
        if bias is not None:
            out = out + bias
        ctx.save_for_backward(x_hat, sigma, weight)
        return out
        # END SOLUTION

    @staticmethod
    def backward(ctx, dout: Tensor):
        # BEGIN SOLUTION Task 3.8
        x_hat, sigma, weight = ctx.saved_tensors
        g = dout if weight is None else dout * weight     # (N, C)
        dx = (g - g.mean(0) - x_hat * (g * x_hat).mean(0)) / sigma
        dweight = (dout * x_hat).sum(0) if ctx.needs_input_grad[1] else None
        dbias = dout.sum(0) if ctx.needs_input_grad[2] else None
        return dx, dweight, dbias, None
        # END SOLUTION


# ----------------------------------------------------------------------------- the lecture's claims

class Standardizer:
    """Input normalization: every feature shifted to mean 0 and scaled to std 1.

    Features on very different scales (one of order 1, another of order 1000)
    stretch the loss surface into a long narrow valley: the weight of the large
    feature gets gradients about 1000 times larger than the other's, so a learning
    rate small enough for it leaves the other weight almost still. Standardized,
    both features play an equal role and gradient steps have the same order in
    every direction. Per feature j (a column of X), over the N samples (dim 0):

        fit(X):                mean_[j]  = mean of X[:, j]                            # (D,)
                               scale_[j] = sqrt(mean of (X[:, j] - mean_[j])**2)      # (D,)
        transform(X):          (X - mean_) / scale_                                   # (M, D)
        inverse_transform(Z):  Z * scale_ + mean_                                     # (M, D)
        fit_transform(X):      fit(X), then transform(X)  (given)

    Fit on the TRAINING split only, then transform the training, validation and
    test splits with those same statistics; transform never recomputes them. Test
    statistics would leak the test set into the model (its score would no longer
    be an honest estimate), and a deployed model sees one example at a time, with
    no batch to take statistics from: it must use the ones it was trained with.

    Traps:
      * scale_ is the POPULATION standard deviation (divide by N, as sklearn's
        StandardScaler); torch.std and pandas' .std() divide by N - 1 by default
        (X.std(0, correction=0) divides by N).
      * a constant feature (all its values equal) has std 0: its scale_ is 1, so
        it becomes 0 instead of NaN. Test "all values equal" (for example
        X.amax(0) == X.amin(0)), not std == 0: the mean of a constant column is
        rounded (the mean of seven 0.1 is 0.09999999999999999), so a std written
        as sqrt(mean((x - mean)**2)) comes out near 1e-17 instead of 0, and
        dividing by that gives +-1.
      * mean_ and scale_ are float64, computed from X converted to float64 on
        X's device: in float32 a feature around 10**4 with a spread of 0.01 loses
        its spread to the rounding of the mean. transform and inverse_transform
        compute in float64 and return their input's dtype.

    Attributes (None until fit):
        mean_:  (D,) float64 tensor on X's device.
        scale_: (D,) float64 tensor on X's device; 1.0 for a constant feature.
    """

    def __init__(self) -> None:
        self.mean_: Tensor | None = None
        self.scale_: Tensor | None = None

    def fit(self, X: Tensor) -> "Standardizer":
        """Learn mean_ and scale_ from X of shape (N, D), N >= 1; returns self.

        Returning self lets calls chain: Standardizer().fit(X_train).transform(X_test).
        """
        # BEGIN SOLUTION Task 3.9
        Xd = X.detach().to(torch.float64)                     # (N, D), X's device
        self.mean_ = Xd.mean(0)                               # (D,)
        std = Xd.std(0, correction=0)                         # (D,)  population: divide by N
        constant = (Xd == Xd[:1]).all(0)                      # (D,)  every value equal
        self.scale_ = torch.where(constant, torch.ones_like(std), std)
        return self
        # END SOLUTION

    def transform(self, X: Tensor) -> Tensor:
        """(X - mean_) / scale_ for X of shape (M, D), any M; X's dtype and device."""
        if self.mean_ is None:
            raise RuntimeError("Standardizer: call fit(X_train) before transform")
        # BEGIN SOLUTION Task 3.10
        return ((X.to(torch.float64) - self.mean_) / self.scale_).to(X.dtype)
        # END SOLUTION

    def fit_transform(self, X: Tensor) -> Tensor:
        """fit(X), then transform(X): the training split, standardized."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: Tensor) -> Tensor:
        """Z * scale_ + mean_ for Z of shape (M, D): back to the original units; Z's dtype and device."""
        if self.mean_ is None:
            raise RuntimeError("Standardizer: call fit(X_train) before inverse_transform")
        # BEGIN SOLUTION Task 3.11
        return (Z.to(torch.float64) * self.scale_ + self.mean_).to(Z.dtype)
        # END SOLUTION


def fold_batchnorm(linear: nn.Linear, bn: nn.Module) -> nn.Linear:
    """One new Linear layer that computes bn(linear(x)) for a BatchNorm1d in eval mode.

    In eval mode a BatchNorm normalizes feature j with fixed numbers, its running
    statistics, so it is an affine map of each feature:

        bn(z)[:, j] = (z[:, j] - running_mean[j]) / sqrt(running_var[j] + eps) * weight[j] + bias[j]
                    = s[j] * z[:, j] + bias[j] - s[j] * running_mean[j]
        with s = weight / sqrt(running_var + eps)                           # (out,)

    and an affine map of a Linear layer's output z = x W^T + b is a Linear layer:

        W_folded = s[:, None] * W                      # (out, in): row j times s[j]
        b_folded = s * (b - running_mean) + bias       # (out,)

    So at inference BatchNorm adds nothing a Linear layer could not compute (the
    lecture's self-check 1): it changes how training goes, not what the trained
    network can express. Deployed networks fold it away, one matrix product
    instead of a product and a normalization.

    Traps: eps goes inside the square root. Scale the ROWS of W (its output
    features): W * s scales the columns instead, and still runs when in == out.
    The Linear's bias is scaled too; a Linear without a bias counts as b = 0. An
    affine=False BatchNorm has weight and bias None: count them as 1 and 0. Use the
    running statistics whatever bn.training says: the result reproduces bn in eval
    mode. Change neither linear nor bn (not their parameters, not their mode):
    make a new nn.Linear(in, out) on linear's device and dtype (device=, dtype=)
    and fill its weight and bias under torch.no_grad(). A BatchNorm without running
    statistics (track_running_stats=False) cannot be folded: raise ValueError.

    Args:
        linear: nn.Linear(in, out), with or without a bias.
        bn: a BatchNorm1d(out) (torch.nn's, yours, or any module with the same
            attributes): running_mean and running_var (out,), eps a float, weight and
            bias (out,) or None. Only these are read.

    Returns:
        A new nn.Linear(in, out, bias=True) with linear's device and dtype whose
        output equals bn(linear(x)) in eval mode, for every x of shape (N, in).
    """
    # BEGIN SOLUTION Task 3.12
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("fold_batchnorm needs a BatchNorm with running statistics "
                         "(track_running_stats=True)")
    with torch.no_grad():
        s = 1 / torch.sqrt(bn.running_var + bn.eps)                  # (out,)
        if bn.weight is not None:
            s = s * bn.weight
        b = linear.bias if linear.bias is not None else torch.zeros_like(bn.running_mean)
        shift = s * (b - bn.running_mean)                            # (out,)
        if bn.bias is not None:
            shift = shift + bn.bias
        folded = nn.Linear(linear.in_features, linear.out_features, bias=True,
                           device=linear.weight.device, dtype=linear.weight.dtype)
        folded.weight.copy_(s[:, None] * linear.weight)              # row j times s[j]
        folded.bias.copy_(shift)
    return folded
    # END SOLUTION


def accumulated_gradients(model: nn.Module, loss_fn, x: Tensor, y: Tensor,
                          micro_batch: int) -> dict[str, Tensor]:
    """The gradient of the batch's mean loss, computed micro-batch by micro-batch.

    When a batch does not fit in memory, split it into micro-batches of at most
    micro_batch rows, in order (rows 0 to m-1, m to 2m-1, ...; the last one may be
    smaller), and run forward and backward on each: backward ADDS to every
    parameter's .grad (the reason training loops call zero_grad). With N = len(x)
    and micro-batches B_1, B_2, ... of n_1, n_2, ... rows:

        mean loss over the batch = sum over k of (n_k / N) * (mean loss over B_k)

    so backpropagate each micro-batch's mean loss times n_k / N. The weights matter
    when micro_batch does not divide N: the plain average of the micro-batch
    means over-weights the rows of the smaller last one.

    Is the result the full batch's gradient? It is when each row's loss depends on
    that row alone, as in a plain MLP or with LayerNorm (each row normalized with
    its own statistics): the batch gradient is then the mean of the per-example
    gradients, however the rows are grouped (the lecture's self-check 2). With
    BatchNorm in training mode it is NOT: each row is normalized with the
    statistics of the micro-batch it is in, so the forward pass itself changes with
    the split, and so does the gradient.

    Leave the model as you found it, apart from what its forward passes do
    themselves (BatchNorm's running statistics): its mode, its parameters' values
    and their .grad. Save every .grad (a tensor, or None), set it to None,
    accumulate, read the results, and put back what you saved: None stays None,
    and a tensor that was there is there again with its values unchanged.

    Args:
        model: a module mapping x (N, ...) to outputs; used in the mode it is in.
        loss_fn: loss_fn(output, target) -> 0-dim tensor, the MEAN over the rows it
            is given (as nn.MSELoss() and nn.CrossEntropyLoss() by default).
        x: inputs of shape (N, ...); y: targets, row i of y for row i of x.
        micro_batch: the most rows one forward pass gets (>= 1).

    Returns:
        {name: gradient of the mean loss} for every parameter of
        model.named_parameters() that requires grad, shaped, typed and placed like
        the parameter (zeros for one the loss does not depend on).
    """
    # BEGIN SOLUTION Task 3.13
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    saved = {name: p.grad for name, p in params.items()}      # the caller's .grad, or None
    for p in params.values():
        p.grad = None
    n = x.shape[0]
    for start in range(0, n, micro_batch):
        xb, yb = x[start:start + micro_batch], y[start:start + micro_batch]
        loss = loss_fn(model(xb), yb) * (xb.shape[0] / n)     # this micro-batch's share
        loss.backward()                                       # adds to every .grad
    grads = {name: p.grad if p.grad is not None else torch.zeros_like(p)
             for name, p in params.items()}
    for name, p in params.items():
        p.grad = saved[name]                                  # as we found it
    return grads
    # END SOLUTION
