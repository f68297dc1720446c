"""Hidden checks: normalization (batch_norm, layer_norm, the modules, BatchNormFunction)."""
import torch

from autograder.checks import Mistake, call_with_grad, check, fetch, raised

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
def batch_norm_channels_last(impl, t):
    """batch_norm on a channels-last (non-contiguous) input gives the same result."""
    x = (t.randn(4, 5, 6, 3) * 2 + 1).permute(0, 3, 1, 2)      # (N, C, H, W), channels last
    mean, var = t.zeros(3), t.ones(3)
    out = impl.batch_norm(x, mean, var, None, None, True)
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
]
