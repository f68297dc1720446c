"""Hidden checks: normalization (batch_norm, layer_norm, the modules, BatchNormFunction)."""
import torch

from autograder.checks import Mistake, call_with_grad, check, fetch, make_param, raised

TOPIC = "normalization"
PLACEMENT_POINTS = 1

F64 = torch.float64


def _bn_inputs(t, *shape, dtype=torch.float32, scale=3.0, shift=7.0):
    """x with a clearly non-zero mean and non-unit variance, and fresh running statistics."""
    c = shape[1]
    x = t.randn(*shape, dtype=dtype) * scale + shift
    return x, t.zeros(c, dtype=dtype), t.ones(c, dtype=dtype)


# ----------------------------------------------------------------------------- batch_norm

@check(points=2)
def batch_norm_train_2d(impl, t):
    """batch_norm, training, (N, C): output and running statistics."""
    x, mean, var = _bn_inputs(t, 16, 5)
    out = impl.batch_norm(x, mean, var, None, None, training=True, momentum=0.1, eps=1e-5)
    return {"out": out, "running_mean": mean, "running_var": var}


@check(points=2)
def batch_norm_train_3d_float64(impl, t):
    """batch_norm, training, (N, C, L) in float64: statistics over dims 0 and 2."""
    x, mean, var = _bn_inputs(t, 6, 4, 7, dtype=F64)
    w, b = t.randn(4, dtype=F64), t.randn(4, dtype=F64)
    out = impl.batch_norm(x, mean, var, w, b, True, 0.2, 1e-5)
    return {"out": out, "running_mean": mean, "running_var": var}


@check(points=2)
def batch_norm_train_4d(impl, t):
    """batch_norm, training, (N, C, H, W): statistics over dims 0, 2 and 3."""
    x, mean, var = _bn_inputs(t, 4, 3, 5, 6)
    w, b = t.randn(3), t.randn(3)
    out = impl.batch_norm(x, mean, var, w, b, True)
    return {"out": out, "running_mean": mean, "running_var": var}


@check(points=1)
def batch_norm_eval_uses_running_stats(impl, t):
    """batch_norm, eval: normalizes with the running statistics and leaves them unchanged."""
    x = t.randn(8, 4, dtype=F64) * 2 + 1
    mean, var = t.randn(4, dtype=F64), t.rand(4, dtype=F64) + 0.5
    w, b = t.randn(4, dtype=F64), t.randn(4, dtype=F64)
    out = impl.batch_norm(x, mean, var, w, b, training=False, momentum=0.1, eps=1e-3)
    return {"out": out, "running_mean": mean, "running_var": var}


@check(points=1)
def batch_norm_running_stats_five_steps(impl, t):
    """batch_norm: running statistics after five training steps with momentum 0.3."""
    mean, var = t.zeros(3, dtype=F64), t.ones(3, dtype=F64)
    outs = []
    for step in range(5):
        x = t.randn(10, 3, 4, dtype=F64) * (step + 1) + step
        outs.append(impl.batch_norm(x, mean, var, None, None, True, 0.3, 1e-5))
    return {"running_mean": mean, "running_var": var, "last_out": outs[-1]}


@check(points=1)
def batch_norm_eps(impl, t):
    """batch_norm: eps is added to the variance inside the square root."""
    x = t.randn(6, 3, dtype=F64) * 0.05
    mean, var = t.zeros(3, dtype=F64), t.ones(3, dtype=F64)
    out = impl.batch_norm(x, mean, var, None, None, True, 0.1, 0.01)
    return {"out": out}


@check(points=2, tolerance=10)
def batch_norm_backward(impl, t):
    """batch_norm, training: gradients of x, weight and bias (random upstream gradient)."""
    x = t.randn(12, 4, 3, dtype=F64).requires_grad_(True)
    w = (t.rand(4, dtype=F64) + 0.5).requires_grad_(True)
    b = t.randn(4, dtype=F64).requires_grad_(True)
    upstream = t.randn(12, 4, 3, dtype=F64)
    out, grads = call_with_grad(impl.batch_norm, x, None, None, w, b, True, upstream=upstream)
    return {"out": out, "grad_x": grads.get(0), "grad_weight": grads.get(3), "grad_bias": grads.get(4)}


@check(points=1, placement=False)
def batch_norm_batch_of_one(impl, t):
    """batch_norm: one value per channel in training is a ValueError; (1, C, L) is fine."""
    mean, var = t.zeros(3), t.ones(3)
    error = raised(lambda: impl.batch_norm(t.randn(1, 3), mean, var, None, None, True))
    out = impl.batch_norm(t.randn(1, 3, 4), mean, var, None, None, True)
    return {"error_for_(1,C)": error, "out_for_(1,C,L)": out}


@check(points=1)
def batch_norm_large_mean(impl, t):
    """batch_norm on values around 1000 (float64): the variance does not lose precision."""
    x = t.randn(32, 4, dtype=F64) * 0.5 + 1000.0
    mean, var = t.zeros(4, dtype=F64), t.ones(4, dtype=F64)
    out = impl.batch_norm(x, mean, var, None, None, True)
    return {"out": out, "running_var": var}


@check(points=1)
def batch_norm_large_mean_float32(impl, t):
    """batch_norm on float32 values around 1000: the variance keeps its precision.

    E[x^2] - E[x]^2 subtracts two numbers near 10^6 whose float32 rounding
    errors (about 0.06) exceed the variance itself (about 1): compute the mean
    of (x - mean)^2, or accumulate in float64. Only the running statistics are
    compared: the output also depends on how the float32 mean was rounded.
    """
    x = t.randn(64, 4) + 1000.0
    mean, var = t.zeros(4), t.ones(4)
    impl.batch_norm(x, mean, var, None, None, True)
    return {"running_mean": mean, "running_var": var}


@check(points=1)
def batch_norm_non_contiguous(impl, t):
    """batch_norm on a non-contiguous (N, C, H, W) view (a transposed tensor) gives the same result.

    Channels-last and transposed tensors are not contiguous in memory: x.view(...)
    raises on them, while reductions over dims (0, 2, 3) and x.reshape(...) work on
    any layout. (The tensor is made on the implementation's side because the wire
    would make it contiguous.)
    """
    stored = make_param(impl, t.randn(4, 3, 6, 5) * 2 + 1)      # (N, C, W, H) in memory
    mean, var = t.zeros(3), t.ones(3)
    out = impl.batch_norm(stored.data.mT, mean, var, None, None, True)   # (N, C, H, W) view
    return {"out": out, "running_mean": mean, "running_var": var}


# ----------------------------------------------------------------------------- layer_norm

@check(points=1)
def layer_norm_last_dim(impl, t):
    """layer_norm over the last dimension, with weight and bias."""
    x = t.randn(4, 6, 10) * 2 + 3
    w, b = t.randn(10), t.randn(10)
    return {"out": impl.layer_norm(x, 10, w, b, eps=1e-5)}


@check(points=1)
def layer_norm_tuple_shape(impl, t):
    """layer_norm over the last two dimensions (normalized_shape a tuple), no affine."""
    x = t.randn(3, 4, 5, dtype=F64) * 4 - 2
    return {"out": impl.layer_norm(x, (4, 5))}


@check(points=1, tolerance=10)
def layer_norm_backward(impl, t):
    """layer_norm: gradients of x, weight and bias (random upstream gradient)."""
    x = t.randn(5, 8, dtype=F64).requires_grad_(True)
    w = t.randn(8, dtype=F64).requires_grad_(True)
    b = t.randn(8, dtype=F64).requires_grad_(True)
    upstream = t.randn(5, 8, dtype=F64)
    out, grads = call_with_grad(impl.layer_norm, x, (8,), w, b, upstream=upstream)
    return {"out": out, "grad_x": grads.get(0), "grad_weight": grads.get(2), "grad_bias": grads.get(3)}


# ----------------------------------------------------------------------------- modules

def _to(module, t, dtype=torch.float32):
    return module.to(device=t.device, dtype=dtype)


@check(points=2)
def batchnorm1d_train_steps_state_dict(impl, t):
    """BatchNorm1d: three training steps, then the outputs and the whole state_dict."""
    bn = _to(impl.BatchNorm1d(6), t)
    outs = [bn(t.randn(8, 6) * 2 + 1) for _ in range(3)]
    return {"outs": outs, "state_dict": bn.state_dict()}


@check(points=1)
def batchnorm1d_eval_after_training(impl, t):
    """BatchNorm1d: after training, eval mode uses the running statistics and changes nothing."""
    bn = _to(impl.BatchNorm1d(4, momentum=0.5), t, F64)
    bn.train()
    for _ in range(2):
        bn(t.randn(16, 4, dtype=F64) * 3 + 2)
    bn.eval()
    out = bn(t.randn(5, 4, dtype=F64))
    return {"out": out, "state_dict": bn.state_dict()}


@check(points=1)
def batchnorm1d_momentum_none(impl, t):
    """BatchNorm1d(momentum=None): the running statistics are the plain average of the batches'."""
    bn = _to(impl.BatchNorm1d(3, momentum=None), t, F64)
    for step in range(4):
        bn(t.randn(10, 3, 2, dtype=F64) * (step + 1))
    return {"state_dict": bn.state_dict()}


@check(points=1)
def batchnorm1d_no_running_stats(impl, t):
    """BatchNorm1d(track_running_stats=False, affine=False): batch statistics in eval too."""
    bn = _to(impl.BatchNorm1d(3, affine=False, track_running_stats=False), t)
    bn.eval()
    out = bn(t.randn(7, 3) * 2 + 5)
    return {"out": out, "state_dict": bn.state_dict()}


@check(points=1)
def batchnorm1d_loads_torch_state_dict(impl, t):
    """BatchNorm1d: a state_dict saved from torch.nn.BatchNorm1d loads and is used in eval."""
    state = {"weight": t.randn(5), "bias": t.randn(5), "running_mean": t.randn(5),
             "running_var": t.rand(5) + 0.5, "num_batches_tracked": torch.tensor(7, device=t.device)}
    bn = _to(impl.BatchNorm1d(5), t)
    bn.load_state_dict(state)
    bn.eval()
    return {"out": bn(t.randn(4, 5)), "state_dict": bn.state_dict()}


@check(points=1)
def batchnorm2d_train_and_eval(impl, t):
    """BatchNorm2d: a training step on (N, C, H, W), then eval."""
    bn = _to(impl.BatchNorm2d(3), t)
    out_train = bn(t.randn(4, 3, 5, 5) * 2 + 1)
    bn.eval()
    out_eval = bn(t.randn(2, 3, 5, 5))
    return {"out_train": out_train, "out_eval": out_eval, "state_dict": bn.state_dict()}


@check(points=1, tolerance=10)
def batchnorm1d_parameter_gradients(impl, t):
    """BatchNorm1d: gradients reach weight and bias (and x) in training."""
    bn = _to(impl.BatchNorm1d(4), t, F64)
    bn.load_state_dict({"weight": t.randn(4, dtype=F64), "bias": t.randn(4, dtype=F64),
                        "running_mean": t.zeros(4, dtype=F64), "running_var": t.ones(4, dtype=F64),
                        "num_batches_tracked": torch.tensor(0, device=t.device)})
    x = (t.randn(9, 4, dtype=F64) * 2).requires_grad_(True)
    out, grads = call_with_grad(bn, x, upstream=t.randn(9, 4, dtype=F64))
    return {"out": out, "grad_x": grads.get(0), "grad_weight": fetch(bn.weight.grad),
            "grad_bias": fetch(bn.bias.grad)}


@check(points=1)
def layernorm_module(impl, t):
    """LayerNorm: parameters, state_dict and output over a tuple normalized_shape."""
    ln = _to(impl.LayerNorm((4, 5)), t)
    ln.load_state_dict({"weight": t.randn(4, 5), "bias": t.randn(4, 5)})
    return {"out": ln(t.randn(3, 4, 5) * 3 + 1), "state_dict": ln.state_dict()}


# ----------------------------------------------------------------------------- BatchNormFunction

@check(points=2, tolerance=10)
def batchnorm_function_backward(impl, t):
    """BatchNormFunction: forward and hand-written backward (x, weight, bias)."""
    x = (t.randn(10, 4, dtype=F64) * 2 + 1).requires_grad_(True)
    w = t.randn(4, dtype=F64).requires_grad_(True)
    b = t.randn(4, dtype=F64).requires_grad_(True)
    out, grads = call_with_grad(impl.BatchNormFunction.apply, x, w, b, 1e-5,
                                upstream=t.randn(10, 4, dtype=F64))
    return {"out": out, "grad_x": grads.get(0), "grad_weight": grads.get(1), "grad_bias": grads.get(2)}


@check(points=1, tolerance=10)
def batchnorm_function_without_affine(impl, t):
    """BatchNormFunction with weight and bias None: forward and gradient of x (float32)."""
    x = (t.randn(16, 3) * 3 + 2).requires_grad_(True)
    out, grads = call_with_grad(impl.BatchNormFunction.apply, x, None, None, 1e-5,
                                upstream=t.randn(16, 3))
    return {"out": out, "grad_x": grads.get(0)}


# ----------------------------------------------------------------------------- known mistakes

MISTAKES = [
    Mistake("biased running_var",
            "running_var was updated with the biased variance; PyTorch stores the unbiased one "
            "(multiply the batch variance by n / (n - 1) before the update).",
            (("var_unbiased = var * n / (n - 1)", "var_unbiased = var"),)),
    Mistake("momentum reversed",
            "momentum weighs the old running value instead of the new batch statistic; in PyTorch "
            "running = (1 - momentum) * running + momentum * batch_statistic.",
            (("running_mean.copy_((1 - momentum) * running_mean + momentum * mean)",
              "running_mean.copy_(momentum * running_mean + (1 - momentum) * mean)"),
             ("running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)",
              "running_var.copy_(momentum * running_var + (1 - momentum) * var_unbiased)"))),
    Mistake("eps outside sqrt",
            "eps is added after the square root; it belongs inside: (x - mean) / sqrt(var + eps).",
            (("/ torch.sqrt(var.reshape(shape) + eps)", "/ (torch.sqrt(var.reshape(shape)) + eps)"),)),
    Mistake("unbiased variance to normalize",
            "the batch was normalized with the unbiased variance (divide by n - 1); normalization "
            "uses the biased one (divide by n), only running_var stores the unbiased one.",
            (("x.var(dims, correction=0)", "x.var(dims)"),
             ("var_unbiased = var * n / (n - 1)", "var_unbiased = var"))),
    Mistake("layer_norm unbiased variance",
            "layer_norm used the unbiased variance (divide by n - 1); it uses the biased one.",
            (("var = x.var(dims, correction=0, keepdim=True)", "var = x.var(dims, keepdim=True)"),)),
    Mistake("layer_norm over last dim only",
            "layer_norm took statistics over the last dimension only; it normalizes over all of "
            "normalized_shape's dimensions (the last len(normalized_shape) ones).",
            (("dims = list(range(-len(normalized_shape), 0))", "dims = [-1]"),)),
    Mistake("n counts the batch only",
            "the factor n / (n - 1) for running_var used n = N, the batch size; n counts every "
            "value of a channel, N * L for (N, C, L) and N * H * W for (N, C, H, W).",
            (("n = x.numel() // x.shape[1]                     # values per channel",
              "n = x.shape[0]"),)),
    Mistake("running_var initialised to 0",
            "running_var starts at 0; PyTorch initialises it to ones (running_mean to zeros).",
            (("            self.register_buffer(\"running_var\",\n"
              "                                 torch.ones(num_features, device=device, dtype=dtype))",
              "            self.register_buffer(\"running_var\",\n"
              "                                 torch.zeros(num_features, device=device, dtype=dtype))"),)),
    Mistake("bias added before the scale",
            "the bias was added before multiplying by the weight; the affine step is "
            "x_hat * weight + bias (scale first, then shift).",
            (("    if weight is not None:\n"
              "        out = out * weight.reshape(shape)\n"
              "    if bias is not None:\n"
              "        out = out + bias.reshape(shape)\n",
              "    if bias is not None:\n"
              "        out = out + bias.reshape(shape)\n"
              "    if weight is not None:\n"
              "        out = out * weight.reshape(shape)\n"),)),
    Mistake("statistics over x.reshape(-1, C)",
            "the statistics were taken over x.reshape(-1, C), which mixes the channels of an "
            "(N, C, L) or (N, C, H, W) tensor; reduce over dims (0, 2, ...) instead, or move the "
            "channels last first (x.transpose(1, -1).reshape(-1, C)).",
            (("        mean = x.mean(dims)                         # (C,)\n"
              "        var = x.var(dims, correction=0)             # (C,)  biased: normalizes the batch\n",
              "        flat = x.reshape(-1, x.shape[1])\n"
              "        mean = flat.mean(0)\n"
              "        var = flat.var(0, correction=0)\n"),)),
    Mistake("one-pass variance",
            "the variance was computed as E[x^2] - E[x]^2, which cancels catastrophically in "
            "float32 when the mean is large; compute the mean of (x - mean)^2 (or use x.var).",
            (("var = x.var(dims, correction=0)             # (C,)  biased: normalizes the batch",
              "var = (x * x).mean(dims) - mean ** 2"),)),
    Mistake("running statistics not updated in place",
            "the running statistics were assigned to a new tensor instead of updated in place, so "
            "the caller's buffers never change; write into them with running_mean.copy_(...).",
            (("                running_mean.copy_((1 - momentum) * running_mean + momentum * mean)\n"
              "                running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)\n",
              "                running_mean = (1 - momentum) * running_mean + momentum * mean\n"
              "                running_var = (1 - momentum) * running_var + momentum * var_unbiased\n"),)),
    Mistake("running statistics replaced",
            "the running statistics were replaced by the batch statistics; they are a moving "
            "average: running = (1 - momentum) * running + momentum * batch_statistic.",
            (("                running_mean.copy_((1 - momentum) * running_mean + momentum * mean)\n"
              "                running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)\n",
              "                running_mean.copy_(mean)\n"
              "                running_var.copy_(var_unbiased)\n"),)),
    Mistake("running statistics updated in eval mode",
            "the running statistics were updated in evaluation mode; only training updates them "
            "(move the update inside the `if training:` branch).",
            (("        mean, var = running_mean, running_var       # (C,), (C,)\n",
              "        mean, var = running_mean.clone(), running_var.clone()\n"
              "        with torch.no_grad():\n"
              "            running_mean.copy_((1 - momentum) * running_mean + momentum * x.mean(dims))\n"
              "            running_var.copy_((1 - momentum) * running_var + momentum * x.var(dims))\n"),)),
    Mistake("momentum=None ignored",
            "with momentum=None the running statistics must be the plain (cumulative) average of "
            "all batches: pass momentum = 1 / num_batches_tracked after incrementing the counter.",
            (("momentum = 1.0 / float(self.num_batches_tracked)  # 1, 1/2, 1/3, ...",
              "momentum = 0.1"),)),
    Mistake("eval mode uses batch statistics",
            "in eval mode the module normalized with the batch statistics (and updated the running "
            "ones); after .eval() it must use running_mean and running_var (check self.training).",
            (("use_batch_stats = self.training or self.running_mean is None",
              "use_batch_stats = True"),)),
    Mistake("statistics stored in float32",
            "the per-channel statistics were stored in a tensor made with the default dtype "
            "(float32), which rounds float64 inputs; create it with dtype=x.dtype, device=x.device.",
            (("        mean = x.mean(dims)                         # (C,)\n"
              "        var = x.var(dims, correction=0)             # (C,)  biased: normalizes the batch\n",
              "        mean = torch.empty(x.shape[1])\n"
              "        var = torch.empty(x.shape[1])\n"
              "        for c in range(x.shape[1]):\n"
              "            mean[c] = x.select(1, c).mean()\n"
              "            var[c] = x.select(1, c).var(correction=0)\n"),)),
    Mistake("batch statistics detached",
            "no gradient flows through the batch mean and variance (.detach(), .data, .item() or a "
            "new tensor); in training they depend on x, so build them from x with tensor operations.",
            (("        mean = x.mean(dims)                         # (C,)\n"
              "        var = x.var(dims, correction=0)             # (C,)  biased: normalizes the batch\n",
              "        mean = x.mean(dims).detach()\n"
              "        var = x.var(dims, correction=0).detach()\n"),)),
    Mistake("layer_norm over every non-batch dim",
            "layer_norm took statistics over every dimension but the first; it normalizes over the "
            "last len(normalized_shape) dimensions only.",
            (("dims = list(range(-len(normalized_shape), 0))", "dims = list(range(1, x.dim()))"),)),
    Mistake("layer_norm statistics detached",
            "no gradient flows through layer_norm's mean and variance (.detach() or .data); build "
            "them from x with tensor operations so autograd sees them.",
            (("    mean = x.mean(dims, keepdim=True)               # (*, 1, ..., 1)\n"
              "    var = x.var(dims, correction=0, keepdim=True)   # (*, 1, ..., 1)  biased\n",
              "    mean = x.mean(dims, keepdim=True).detach()\n"
              "    var = x.var(dims, correction=0, keepdim=True).detach()\n"),)),
    Mistake("backward drops the variance term",
            "the hand-written dx misses the path through the batch variance; "
            "dx = (g - mean(g) - x_hat * mean(g * x_hat)) / sigma.",
            (("dx = (g - g.mean(0) - x_hat * (g * x_hat).mean(0)) / sigma",
              "dx = (g - g.mean(0)) / sigma"),)),
    Mistake("backward treats the statistics as constants",
            "the hand-written dx is g / sigma, as if the batch mean and variance did not depend on "
            "x; subtract mean(g) and x_hat * mean(g * x_hat) before dividing by sigma.",
            (("dx = (g - g.mean(0) - x_hat * (g * x_hat).mean(0)) / sigma", "dx = g / sigma"),)),
    Mistake("backward forgets the weight",
            "the hand-written dx ignores the weight; the gradient reaching x_hat is dout * weight.",
            (("g = dout if weight is None else dout * weight     # (N, C)", "g = dout"),)),
    Mistake("parameter gradients averaged",
            "dweight and dbias were averaged over the batch; they are sums: "
            "dweight = sum of dout * x_hat, dbias = sum of dout.",
            (("        dweight = (dout * x_hat).sum(0) if ctx.needs_input_grad[1] else None\n"
              "        dbias = dout.sum(0) if ctx.needs_input_grad[2] else None\n",
              "        dweight = (dout * x_hat).mean(0) if ctx.needs_input_grad[1] else None\n"
              "        dbias = dout.mean(0) if ctx.needs_input_grad[2] else None\n"),)),
]
