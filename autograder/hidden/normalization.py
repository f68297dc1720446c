"""Hidden checks: normalization (batch_norm, layer_norm, the modules, BatchNormFunction)."""
import torch

from autograder.checks import (Mistake, RemoteError, call_with_grad, check, fetch, make_param,
                               raised)

TOPIC = "normalization"
PLACEMENT_POINTS = 1

F64 = torch.float64


def _bn_inputs(t, *shape, dtype=torch.float32, scale=3.0, shift=7.0):
    """x with a clearly non-zero mean and non-unit variance, and fresh running statistics."""
    c = shape[1]
    x = t.randn(*shape, dtype=dtype) * scale + shift
    return x, t.zeros(c, dtype=dtype), t.ones(c, dtype=dtype)


def _attempt(t, call):
    """("Type: message" of the error the call raised, or None; its result, or None).

    For calls the reference makes without error: the error becomes an output
    compared with the reference's None, so a known mistake that raises (x.view on
    a transposed tensor, a forward under torch.no_grad()) can still be named as
    the likely cause, and only when the messages agree. On the meta device the
    error is left to the placement probe.
    """
    try:
        return None, call()
    except RemoteError as exc:
        if exc.is_a("NotImplementedError") or str(t.device) == "meta":
            raise
        return f"{exc.type}: {exc.info.get('message')}", None


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
    x = t.randn(1, 3, 4)
    error_3d, out = _attempt(t, lambda: impl.batch_norm(x, mean, var, None, None, True))
    return {"error_for_(1,C)": error, "error_for_(1,C,L)": error_3d, "out_for_(1,C,L)": out}


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
    error, out = _attempt(t, lambda: impl.batch_norm(stored.data.mT, mean, var, None, None, True))
    return {"error": error, "out": out, "running_mean": mean, "running_var": var}


@check(points=1)
def batch_norm_weight_only_bias_only(impl, t):
    """batch_norm with a weight and no bias, then a bias and no weight: each is applied on its own."""
    x = t.randn(8, 3, 4) * 2 + 1
    w, b = t.randn(3), t.randn(3)
    return {"out_weight_only": impl.batch_norm(x, None, None, w, None, True),
            "out_bias_only": impl.batch_norm(x, None, None, None, b, True)}


@check(points=1, placement=False)
def batch_norm_eval_requires_running_stats(impl, t):
    """batch_norm, eval, without running statistics: RuntimeError, as in PyTorch."""
    x = t.randn(6, 3) * 2 + 1
    error = raised(lambda: impl.batch_norm(x, None, None, None, None, False))
    out = impl.batch_norm(x, t.randn(3), t.rand(3) + 0.5, None, None, False)
    return {"error_without_running_stats": error, "out_with_running_stats": out}


@check(points=1)
def batch_norm_eval_single_sample(impl, t):
    """batch_norm, eval, on a single sample (1, C): works; one value per channel is a training error only."""
    x = t.randn(1, 3) * 2 + 1
    mean, var = t.randn(3), t.rand(3) + 0.5
    w, b = t.randn(3), t.randn(3)
    error, out = _attempt(t, lambda: impl.batch_norm(x, mean, var, w, b, False))
    return {"error": error, "out": out, "running_mean": mean, "running_var": var}


@check(points=1)
def batch_norm_empty_batch(impl, t):
    """batch_norm, training, on an empty batch (N = 0): empty output, running statistics unchanged."""
    mean, var = t.zeros(3), t.ones(3)
    out = impl.batch_norm(t.randn(5, 3, 4) * 2 + 1, mean, var, None, None, True)
    after_batch = {"out": out, "running_mean": mean.clone(), "running_var": var.clone()}
    empty = impl.batch_norm(t.randn(0, 3, 4), mean, var, None, None, True)
    return {"after_a_batch": after_batch,
            "after_an_empty_batch": {"out": empty, "running_mean": mean, "running_var": var}}


@check(points=1, tolerance=10)
def batch_norm_eval_backward(impl, t):
    """batch_norm, eval: gradients of x, weight and bias (random upstream gradient).

    In evaluation mode the running statistics are constants, so
    dx = dout * weight / sqrt(running_var + eps); the output must still be
    built with autograd on (an evaluated model can be fine-tuned or explained).
    """
    x = t.randn(6, 4, 3, dtype=F64).requires_grad_(True)
    w = (t.rand(4, dtype=F64) + 0.5).requires_grad_(True)
    b = t.randn(4, dtype=F64).requires_grad_(True)
    mean, var = t.randn(4, dtype=F64), t.rand(4, dtype=F64) + 0.5
    upstream = t.randn(6, 4, 3, dtype=F64)
    error, result = _attempt(t, lambda: call_with_grad(impl.batch_norm, x, mean, var, w, b, False,
                                                       upstream=upstream))
    out, grads = result if result is not None else (None, {})
    return {"error": error, "out": out, "grad_x": grads.get(0), "grad_weight": grads.get(3),
            "grad_bias": grads.get(4)}


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


@check(points=1)
def layer_norm_weight_only_bias_only(impl, t):
    """layer_norm with a weight and no bias, then a bias and no weight: each is applied on its own."""
    x = t.randn(5, 6) * 2 + 1
    w, b = t.randn(6), t.randn(6)
    return {"out_weight_only": impl.layer_norm(x, 6, w, None),
            "out_bias_only": impl.layer_norm(x, 6, None, b)}


@check(points=1)
def layer_norm_eps(impl, t):
    """layer_norm: the eps argument is used, inside the square root."""
    x = t.randn(4, 10, dtype=F64) * 0.05
    w, b = t.randn(10, dtype=F64), t.randn(10, dtype=F64)
    return {"out": impl.layer_norm(x, 10, w, b, eps=0.1)}


@check(points=1)
def layer_norm_non_contiguous(impl, t):
    """layer_norm on a non-contiguous view (a transposed tensor) gives the same result.

    x.view(...) raises on a transposed tensor; reductions over the trailing dims
    and x.reshape(...) work on any layout. (The tensor is made on the
    implementation's side because the wire would make it contiguous.)
    """
    stored = make_param(impl, t.randn(3, 4, 6, 5) * 2 + 1)     # (3, 4, 6, 5) in memory
    error, out = _attempt(t, lambda: impl.layer_norm(stored.data.mT, (5, 6)))   # a (3, 4, 5, 6) view
    return {"error": error, "out": out}


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
    upstream = t.randn(9, 4, dtype=F64)
    error, result = _attempt(t, lambda: call_with_grad(bn, x, upstream=upstream))
    out, grads = result if result is not None else (None, {})
    return {"error": error, "out": out, "grad_x": grads.get(0),
            "grad_weight": fetch(bn.weight.grad), "grad_bias": fetch(bn.bias.grad)}


@check(points=1)
def layernorm_module(impl, t):
    """LayerNorm: parameters, state_dict and output over a tuple normalized_shape."""
    ln = _to(impl.LayerNorm((4, 5)), t)
    ln.load_state_dict({"weight": t.randn(4, 5), "bias": t.randn(4, 5)})
    return {"out": ln(t.randn(3, 4, 5) * 3 + 1), "state_dict": ln.state_dict()}


@check(points=1)
def batchnorm1d_passes_eps(impl, t):
    """BatchNorm1d uses the eps given to its constructor, in training and in eval."""
    bn = _to(impl.BatchNorm1d(4, eps=0.1), t, F64)
    out_train = bn(t.randn(6, 4, dtype=F64) * 0.05)
    bn.eval()
    out_eval = bn(t.randn(6, 4, dtype=F64) * 0.05)
    return {"out_train": out_train, "out_eval": out_eval}


@check(points=1)
def layernorm_module_passes_eps(impl, t):
    """LayerNorm uses the eps given to its constructor."""
    ln = _to(impl.LayerNorm(10, eps=0.1), t, F64)
    return {"out": ln(t.randn(3, 10, dtype=F64) * 0.05)}


@check(points=1)
def batchnorm1d_constructor_options(impl, t):
    """BatchNorm1d: affine=False, track_running_stats=False and bias=False, each on its own."""
    no_affine = _to(impl.BatchNorm1d(3, affine=False), t)
    train = no_affine(t.randn(8, 3) * 2 + 1)
    no_affine.eval()
    no_affine_eval = no_affine(t.randn(4, 3))
    untracked = _to(impl.BatchNorm1d(3, track_running_stats=False), t)
    untracked.load_state_dict({"weight": t.randn(3), "bias": t.randn(3)})
    untracked.eval()
    untracked_eval = untracked(t.randn(5, 3) * 2 + 1)
    no_bias = _to(impl.BatchNorm1d(3, bias=False), t)
    no_bias_train = no_bias(t.randn(6, 3) * 3 - 1)
    return {"affine=False": [train, no_affine_eval, no_affine.state_dict()],
            "track_running_stats=False": [untracked_eval, untracked.state_dict()],
            "bias=False": [no_bias_train, no_bias.state_dict()]}


@check(points=1)
def norm_modules_factory_kwargs(impl, t):
    """BatchNorm1d and LayerNorm honour device= and dtype=: float64 tensors, an int64 counter."""
    bn = impl.BatchNorm1d(4, device=t.device, dtype=F64)
    ln = impl.LayerNorm((2, 3), device=t.device, dtype=F64)
    return {"batchnorm_state_dict": bn.state_dict(), "layernorm_state_dict": ln.state_dict()}


@check(points=1)
def batchnorm1d_train_eval_train(impl, t):
    """BatchNorm1d: train, eval, train again, eval again: each eval uses the latest running statistics."""
    bn = _to(impl.BatchNorm1d(4, momentum=0.5), t, F64)
    x = t.randn(5, 4, dtype=F64)
    outs = []
    for step in range(2):
        bn.train()
        for _ in range(2):
            bn(t.randn(12, 4, dtype=F64) * (step + 2) + 3 * step)
        bn.eval()
        outs.append(bn(x))
    return {"first_eval": outs[0], "second_eval": outs[1], "state_dict": bn.state_dict()}


@check(points=1)
def batchnorm1d_buffers_free_of_autograd(impl, t):
    """BatchNorm1d: the running statistics never require grad, even when x does."""
    bn = _to(impl.BatchNorm1d(4), t, F64)
    for _ in range(2):
        x = (t.randn(9, 4, dtype=F64) * 2 + 1).requires_grad_(True)
        call_with_grad(bn, x, upstream=t.randn(9, 4, dtype=F64))
    return {"running_mean_requires_grad": fetch(bn.running_mean.requires_grad),
            "running_var_requires_grad": fetch(bn.running_var.requires_grad),
            "state_dict": bn.state_dict()}


@check(points=1)
def batchnorm2d_non_contiguous(impl, t):
    """BatchNorm2d on a non-contiguous (N, C, H, W) view (a transposed tensor) gives the same result.

    x.view(...) raises on a transposed or channels-last tensor; pass x to
    batch_norm as it is, or use x.reshape(...). (The tensor is made on the
    implementation's side because the wire would make it contiguous.)
    """
    bn = _to(impl.BatchNorm2d(3), t)
    stored = make_param(impl, t.randn(4, 3, 6, 5) * 2 + 1)      # (N, C, W, H) in memory
    error, out = _attempt(t, lambda: bn(stored.data.mT))             # (N, C, H, W) view
    return {"error": error, "out": out, "state_dict": bn.state_dict()}


@check(points=1)
def layernorm_module_options(impl, t):
    """LayerNorm(elementwise_affine=False) and LayerNorm(bias=False): parameters and output."""
    plain = _to(impl.LayerNorm((4, 5), elementwise_affine=False), t)
    no_bias = _to(impl.LayerNorm(5, bias=False), t)
    x = t.randn(3, 4, 5) * 2 + 1
    return {"elementwise_affine=False": [plain(x), plain.state_dict()],
            "bias=False": [no_bias(x), no_bias.state_dict()]}


@check(points=1, tolerance=10)
def layernorm_module_gradients(impl, t):
    """LayerNorm: gradients reach weight, bias and x (random upstream gradient)."""
    ln = _to(impl.LayerNorm(6), t, F64)
    ln.load_state_dict({"weight": t.randn(6, dtype=F64), "bias": t.randn(6, dtype=F64)})
    x = (t.randn(5, 6, dtype=F64) * 2 + 1).requires_grad_(True)
    upstream = t.randn(5, 6, dtype=F64)
    error, result = _attempt(t, lambda: call_with_grad(ln, x, upstream=upstream))
    out, grads = result if result is not None else (None, {})
    return {"error": error, "out": out, "grad_x": grads.get(0),
            "grad_weight": fetch(ln.weight.grad), "grad_bias": fetch(ln.bias.grad)}


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


@check(points=1, tolerance=10)
def batchnorm_function_weight_only_bias_only(impl, t):
    """BatchNormFunction with a weight and no bias, then a bias and no weight: forward and gradients."""
    x = (t.randn(10, 3, dtype=F64) * 2 + 1).requires_grad_(True)
    w = t.randn(3, dtype=F64).requires_grad_(True)
    b = t.randn(3, dtype=F64).requires_grad_(True)
    up_w, up_b = t.randn(10, 3, dtype=F64), t.randn(10, 3, dtype=F64)
    out_w, grads_w = call_with_grad(impl.BatchNormFunction.apply, x, w, None, 1e-5, upstream=up_w)
    out_b, grads_b = call_with_grad(impl.BatchNormFunction.apply, x, None, b, 1e-5, upstream=up_b)
    return {"out_weight_only": out_w, "grad_x_weight_only": grads_w.get(0),
            "grad_weight": grads_w.get(1), "out_bias_only": out_b,
            "grad_x_bias_only": grads_b.get(0), "grad_bias": grads_b.get(2)}


@check(points=1, tolerance=10)
def batchnorm_function_eps(impl, t):
    """BatchNormFunction: the eps argument is used, inside the square root (forward and backward)."""
    x = (t.randn(8, 3, dtype=F64) * 0.05).requires_grad_(True)
    w = t.randn(3, dtype=F64).requires_grad_(True)
    b = t.randn(3, dtype=F64).requires_grad_(True)
    out, grads = call_with_grad(impl.BatchNormFunction.apply, x, w, b, 0.1,
                                upstream=t.randn(8, 3, dtype=F64))
    return {"out": out, "grad_x": grads.get(0), "grad_weight": grads.get(1), "grad_bias": grads.get(2)}


@check(points=1, placement=False)
def batchnorm_function_batch_of_one(impl, t):
    """BatchNormFunction: a batch of one sample is a ValueError, as in training-mode batch norm."""
    one, two = t.randn(1, 3), t.randn(2, 3) * 2 + 1
    error = raised(lambda: impl.BatchNormFunction.apply(one, None, None, 1e-5))
    out = impl.BatchNormFunction.apply(two, None, None, 1e-5)
    return {"error_for_N=1": error, "out_for_N=2": out}


# ----------------------------------------------------------------------------- float16 and bfloat16
#
# HALF_TOLERANCE, the tolerance of the three checks below: 8 times the table's, so
# float16 8e-3 + 8e-3 |expected| and bfloat16 8e-2 + 0.128 |expected|.
#
# Why not the table's (about one unit in the last place of each element): in 16 bits the
# error of a normalized value is set by the largest intermediate it went through, not by
# its own size. x - mean is exact, but mean itself is rounded to half a unit of |mean|;
# the folded form x * s - mean * s rounds two products of size |mean| / std before they
# cancel; float32 inside (then one rounding) is the most accurate of all. So honest orders
# of operations differ by a few units of eps * (max |out| + |mean| / std) in every element,
# near-zero ones included. With |mean| / std = 2 here (x = 2 + randn), outputs up to about
# 5, eps = 2^-10 (float16) and 2^-7 (bfloat16), that is some 1e-2 and 1e-1. Measured over
# ten seeds against the reference: bn-rsqrt-folded-affine differs by up to 7.8e-3 in
# float16 (3.2 times the table's tolerance) and 6.3e-2 in bfloat16 (1.6 times), the other
# correct variants of the bank and PyTorch's built-ins by at most 2.1 times (docs/
# PROPERTIES.md, "16-bit tolerances, measured", has the table). Eight leaves a margin of 2.5. What it lets through is
# rounding: a result returned in float32 or running statistics kept in float32 fail on
# their dtype, running statistics never updated fail by 4 (bfloat16) to 60 (float16) times
# this tolerance, and the one-pass variance E[x^2] - E[x]^2 accumulated in 16
# bits fails the running_var of a batch around 32 (|mean| / std = 32) by 8 to 36 times it
# (four seeds). That batch's output is not compared: it depends on how the mean was
# rounded, as in batch_norm_large_mean_float32.
HALF_TOLERANCE = 8
HALF = (torch.float16, torch.bfloat16)


def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


@check(points=1, tolerance=HALF_TOLERANCE)
def batch_norm_half_precision(impl, t):
    """batch_norm and BatchNorm1d on float16 and bfloat16 inputs: output and running statistics in x's dtype.

    For each dtype: batch_norm in training (then in eval with the statistics it
    updated) on x = 2 + randn; a training step on a batch around 32, where only the
    running statistics are compared; BatchNorm1d(4).to(dtype) for two training steps
    and an eval step. Tolerance: see HALF_TOLERANCE (8 times the table's: a few units in
    the last place of the outputs' scale, the spread of honest orders of operations in
    16 bits).
    """
    out = {}
    for dtype in HALF:
        x, mean, var = _bn_inputs(t, 16, 4, 5, dtype=dtype, scale=1.0, shift=2.0)
        w, b = (t.rand(4) + 0.5).to(dtype), t.randn(4, dtype=dtype)
        train = impl.batch_norm(x, mean, var, w, b, True, 0.1, 1e-5)
        evaluated = impl.batch_norm(t.randn(6, 4, 5, dtype=dtype) + 2, mean, var, w, b, False, 0.1, 1e-5)
        far, far_mean, far_var = _bn_inputs(t, 32, 4, dtype=dtype, scale=1.0, shift=32.0)
        impl.batch_norm(far, far_mean, far_var, w, b, True, 0.5, 1e-5)
        bn = _to(impl.BatchNorm1d(4), t, dtype)
        module_train = [bn(t.randn(12, 4, dtype=dtype) * 1.5 + 3) for _ in range(2)]
        bn.eval()
        module_eval = bn(t.randn(5, 4, dtype=dtype) * 1.5 + 3)
        out[_dtype_name(dtype)] = {
            "batch_norm": {"out": train, "running_mean": mean, "running_var": var,
                           "eval_out": evaluated},
            "batch_norm, mean 32: running statistics": {"running_mean": far_mean,
                                                        "running_var": far_var},
            "BatchNorm1d": {"train_outs": module_train, "eval_out": module_eval,
                            "state_dict": bn.state_dict()}}
    return out


@check(points=1, tolerance=HALF_TOLERANCE)
def layer_norm_half_precision(impl, t):
    """layer_norm on float16 and bfloat16 inputs: output in x's dtype.

    Over the last two dims of x = 3 + 1.5 randn, with weight and bias. Tolerance: see
    HALF_TOLERANCE (8 times the table's).
    """
    out = {}
    for dtype in HALF:
        x = t.randn(4, 6, 10, dtype=dtype) * 1.5 + 3
        w, b = (t.rand(6, 10) + 0.5).to(dtype), t.randn(6, 10, dtype=dtype)
        out[_dtype_name(dtype)] = impl.layer_norm(x, (6, 10), w, b)
    return out


@check(points=1, tolerance=HALF_TOLERANCE)
def batchnorm_function_half_precision(impl, t):
    """BatchNormFunction on float16 and bfloat16 inputs: forward and backward in x's dtype.

    x = 2 + randn (16, 4), weight and bias, a random upstream gradient. Tolerance: see
    HALF_TOLERANCE (8 times the table's).
    """
    out = {}
    for dtype in HALF:
        x = (t.randn(16, 4, dtype=dtype) + 2).requires_grad_(True)
        w = (t.rand(4) + 0.5).to(dtype).requires_grad_(True)
        b = t.randn(4, dtype=dtype).requires_grad_(True)
        result, grads = call_with_grad(impl.BatchNormFunction.apply, x, w, b, 1e-5,
                                       upstream=t.randn(16, 4, dtype=dtype))
        out[_dtype_name(dtype)] = {"out": result, "grad_x": grads.get(0), "grad_weight": grads.get(1),
                                   "grad_bias": grads.get(2)}
    return out


# ----------------------------------------------------------------------------- known mistakes

# Reference text the mistakes below patch.
_STATS = ("        mean = x.mean(dims)                         # (C,)\n"
          "        var = x.var(dims, correction=0)             # (C,)  biased: normalizes the batch\n")
_BATCH_OF_ONE = ("        if n == 1:\n"
                 "            raise ValueError(\"Expected more than 1 value per channel when training, \"\n"
                 "                             f\"got input size {x.size()}\")\n")
_UPDATE = ("            with torch.no_grad():\n"
           "                var_unbiased = var * n / (n - 1)    # (C,)  unbiased: the running estimate\n"
           "                running_mean.copy_((1 - momentum) * running_mean + momentum * mean)\n"
           "                running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)\n")
_AFFINE = ("    if weight is not None:\n"
           "        out = out * weight.reshape(shape)\n"
           "    if bias is not None:\n"
           "        out = out + bias.reshape(shape)\n")
_LN_AFFINE = ("    if weight is not None:\n"
              "        out = out * weight                          # normalized_shape broadcasts\n"
              "    if bias is not None:\n"
              "        out = out + bias\n")
_LN_STATS = ("    mean = x.mean(dims, keepdim=True)               # (*, 1, ..., 1)\n"
             "    var = x.var(dims, correction=0, keepdim=True)   # (*, 1, ..., 1)  biased\n"
             "    out = (x - mean) / torch.sqrt(var + eps)\n")
_BNF_AFFINE = ("        out = x_hat\n"
               "        if weight is not None:\n"
               "            out = out * weight\n"
               "        if bias is not None:\n"
               "            out = out + bias\n")
_MODULE_CALL = ("        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,\n"
                "                          use_batch_stats, momentum, self.eps)\n")
_LN_CALL = "        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)\n"
_BIAS_FLAG = ("            if bias:\n"
              "                self.bias = nn.Parameter(torch.zeros(num_features, device=device, dtype=dtype))\n"
              "            else:\n"
              "                self.register_parameter(\"bias\", None)\n")
_LN_BIAS_FLAG = ("            if bias:\n"
                 "                self.bias = nn.Parameter(\n"
                 "                    torch.zeros(self.normalized_shape, device=device, dtype=dtype))\n"
                 "            else:\n"
                 "                self.register_parameter(\"bias\", None)\n")

_BN_DIMS = "    dims = [0] + list(range(2, x.dim()))           # every dim but the channels\n"
_LN_DIMS = "    dims = list(range(-len(normalized_shape), 0))   # the trailing dims, e.g. [-2, -1]\n"
_BNF_MEAN = "        mean = x.mean(0)                                  # (C,)\n"
_UPCAST = "    if x.dtype in (torch.float16, torch.bfloat16):\n        x = x.float()\n"
_HALF_ADVICE = ("keep the result in x's dtype: compute in it, or compute in float32 and cast the "
                "result back with .to(x.dtype).")

# First: on the 16-bit checks they are more precise than the older mistakes whose outputs
# are float32 too (statistics stored in a default-dtype tensor).
_HALF_MISTAKES = [
    Mistake("batch_norm result in float32 for a 16-bit input",
            "batch_norm returned a float32 result for a float16/bfloat16 input (x.float() and no "
            "cast back, the mixed-precision habit); " + _HALF_ADVICE,
            ((_BN_DIMS, _UPCAST + _BN_DIMS),), checks=("batch_norm_half_precision",)),
    Mistake("BatchNorm statistics updated in float32 copies",
            "BatchNorm1d/2d normalized a 16-bit input with float32 copies of its buffers "
            "(self.running_mean.float() is a copy of a float16 tensor, and the tensor itself for a "
            "float32 one), so a 16-bit module's running statistics never changed. Pass the buffers "
            "themselves to batch_norm; it updates them in place, in their dtype.",
            ((_MODULE_CALL,
              "        if x.dtype in (torch.float16, torch.bfloat16):\n"
              "            f32 = lambda t: None if t is None else t.float()\n"
              "            return batch_norm(x.float(), f32(self.running_mean), f32(self.running_var),\n"
              "                              f32(self.weight), f32(self.bias), use_batch_stats, momentum,\n"
              "                              self.eps).to(x.dtype)\n" + _MODULE_CALL),),
            checks=("batch_norm_half_precision",)),
    Mistake("layer_norm result in float32 for a 16-bit input",
            "layer_norm returned a float32 result for a float16/bfloat16 input (x.float() and no "
            "cast back); " + _HALF_ADVICE,
            ((_LN_DIMS, _UPCAST + _LN_DIMS),), checks=("layer_norm_half_precision",)),
    Mistake("BatchNormFunction result in float32 for a 16-bit input",
            "BatchNormFunction.forward returned a float32 result for a float16/bfloat16 input "
            "(x.float() and no cast back); " + _HALF_ADVICE,
            ((_BNF_MEAN, "    " + _UPCAST.replace("\n    ", "\n        ") + _BNF_MEAN),),
            checks=("batchnorm_function_half_precision",)),
]

MISTAKES = _HALF_MISTAKES + [
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
    Mistake("one-value test on the batch size",
            "the one-value-per-channel test looked at the batch size N; it is about the values per "
            "channel, n = N * L for (N, C, L): a (1, C, L) batch with L > 1 is fine.",
            (("        if n == 1:\n", "        if x.shape[0] == 1:\n"),),
            checks=("batch_norm_batch_of_one",)),
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
    Mistake("x.view on a non-contiguous input",
            "x.view(...) raised on a non-contiguous input (a transposed or channels-last tensor); "
            "reduce over the dims (0, 2, ...) directly, or use x.reshape(...), which works on any layout.",
            ((_STATS,
              "        flat = x.view(x.shape[0], x.shape[1], -1)\n"
              "        mean = flat.mean((0, 2))\n"
              "        var = flat.var((0, 2), correction=0)\n"),),
            checks=("batch_norm_non_contiguous",)),
    Mistake("num_batches_tracked not incremented",
            "num_batches_tracked never changed; add 1 to it in place (self.num_batches_tracked.add_(1)) "
            "on every training forward that tracks running statistics, as torch.nn.BatchNorm1d does.",
            (("            self.num_batches_tracked.add_(1)                     # in place, counts batches\n",
              ""),)),
    Mistake("module forward under no_grad",
            "forward ran under torch.no_grad(), so no gradient reaches x, weight or bias; only the "
            "running-statistics update belongs under no_grad (batch_norm already does it).",
            ((_MODULE_CALL,
              "        with torch.no_grad():\n"
              "            return batch_norm(x, self.running_mean, self.running_var, self.weight,\n"
              "                              self.bias, use_batch_stats, momentum, self.eps)\n"),),
            checks=("batchnorm1d_parameter_gradients",)),
    Mistake("affine step only with both weight and bias",
            "batch_norm applied weight and bias only when both were given; each is optional on its "
            "own: scale by weight when it is not None, then shift by bias when it is not None.",
            ((_AFFINE,
              "    if weight is not None and bias is not None:\n"
              "        out = out * weight.reshape(shape) + bias.reshape(shape)\n"),)),
    Mistake("eval without running statistics uses the batch",
            "in eval mode without running statistics the batch statistics were used; batch_norm must "
            "raise RuntimeError(\"running_mean must be defined in evaluation mode\"), as PyTorch does.",
            (("            raise RuntimeError(\"running_mean must be defined in evaluation mode\")\n",
              "            return batch_norm(x, None, None, weight, bias, True, momentum, eps)\n"),),
            checks=("batch_norm_eval_requires_running_stats",)),
    Mistake("running statistics updated with autograd on",
            "the running statistics were updated with autograd recording, so after a training step "
            "on an x that requires grad the buffers require grad too (and keep the batch's graph "
            "alive); do the update under torch.no_grad().",
            ((_UPDATE,
              "            var_unbiased = var * n / (n - 1)\n"
              "            running_mean.copy_((1 - momentum) * running_mean + momentum * mean)\n"
              "            running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)\n"),),
            checks=("batchnorm1d_buffers_free_of_autograd",)),
    Mistake("one-value test in eval mode too",
            "the one-value-per-channel ValueError was raised in eval mode too; only training needs more "
            "than one value per channel (eval normalizes with the running statistics).",
            (("    if training:\n" + _BATCH_OF_ONE,
              "    if n == 1:\n"
              "        raise ValueError(\"Expected more than 1 value per channel when training, \"\n"
              "                         f\"got input size {x.size()}\")\n"
              "    if training:\n"),),
            checks=("batch_norm_eval_single_sample",)),
    Mistake("empty batch updates the running statistics",
            "an empty batch (N = 0) updated the running statistics with NaN (the mean of no values); "
            "skip the update when there are no values (n == 0).",
            (("        if running_mean is not None and n > 0:", "        if running_mean is not None:"),),
            checks=("batch_norm_empty_batch",)),
    Mistake("eval output under no_grad",
            "batch_norm computed its eval-mode output under torch.no_grad(), so no gradient reaches x, "
            "weight or bias; eval changes which statistics are used, not whether autograd records.",
            (("        mean, var = running_mean, running_var       # (C,), (C,)\n",
              "        with torch.no_grad():\n"
              "            out = (x - running_mean.reshape(shape)) / torch.sqrt(running_var.reshape(shape) + eps)\n"
              "            if weight is not None:\n"
              "                out = out * weight.reshape(shape)\n"
              "            if bias is not None:\n"
              "                out = out + bias.reshape(shape)\n"
              "            return out\n"),),
            checks=("batch_norm_eval_backward",)),
    Mistake("layer_norm affine step only with both weight and bias",
            "layer_norm applied weight and bias only when both were given; each is optional on its "
            "own: scale by weight when it is not None, then shift by bias when it is not None.",
            ((_LN_AFFINE,
              "    if weight is not None and bias is not None:\n"
              "        out = out * weight + bias\n"),)),
    Mistake("layer_norm eps ignored",
            "layer_norm added the literal 1e-5 inside the square root instead of its eps argument.",
            (("    out = (x - mean) / torch.sqrt(var + eps)\n",
              "    out = (x - mean) / torch.sqrt(var + 1e-5)\n"),),
            checks=("layer_norm_eps",)),
    Mistake("layer_norm x.view on a non-contiguous input",
            "x.view(...) raised on a non-contiguous input (a transposed tensor); reduce over the "
            "trailing dims directly, or use x.reshape(...), which works on any layout.",
            ((_LN_STATS,
              "    flat = x.view(*x.shape[:x.dim() - len(normalized_shape)], -1)\n"
              "    mean = flat.mean(-1, keepdim=True)\n"
              "    var = flat.var(-1, correction=0, keepdim=True)\n"
              "    out = ((flat - mean) / torch.sqrt(var + eps)).view(x.shape)\n"),),
            checks=("layer_norm_non_contiguous",)),
    Mistake("BatchNorm module ignores eps",
            "forward did not pass self.eps to batch_norm, so the default 1e-5 was used instead of the "
            "eps given to the constructor.",
            ((_MODULE_CALL,
              "        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,\n"
              "                          use_batch_stats, momentum)\n"),)),
    Mistake("LayerNorm module ignores eps",
            "LayerNorm normalized with eps = 1e-5 instead of the eps given to its constructor: "
            "forward must pass self.eps to layer_norm (and layer_norm must use its eps argument).",
            ((_LN_CALL,
              "        return layer_norm(x, self.normalized_shape, self.weight, self.bias)\n"),),
            checks=("layernorm_module_passes_eps",)),
    Mistake("BatchNorm bias=False ignored",
            "bias=False was ignored: a bias Parameter was created anyway; with bias=False register it "
            "as None (self.register_parameter(\"bias\", None)), as torch.nn.BatchNorm1d does.",
            ((_BIAS_FLAG,
              "            self.bias = nn.Parameter(torch.zeros(num_features, device=device, dtype=dtype))\n"),)),
    Mistake("num_batches_tracked in the constructor's dtype",
            "num_batches_tracked was created with the constructor's dtype; it is always an int64 "
            "(torch.long) counter, and only its device follows device=.",
            (("torch.tensor(0, device=device, dtype=torch.long)", "torch.tensor(0, device=device, dtype=dtype)"),)),
    Mistake("LayerNorm ignores device= and dtype=",
            "LayerNorm's weight and bias were made with the default dtype and device; pass "
            "device=device, dtype=dtype to torch.ones / torch.zeros.",
            (("                torch.ones(self.normalized_shape, device=device, dtype=dtype))",
              "                torch.ones(self.normalized_shape))"),
             ("                    torch.zeros(self.normalized_shape, device=device, dtype=dtype))",
              "                    torch.zeros(self.normalized_shape))"))),
    Mistake("eval scale and shift cached",
            "eval's scale and shift were computed once and kept; the running statistics (and the "
            "parameters) change with every training step, so compute them from the current buffers "
            "on every eval forward.",
            ((_MODULE_CALL,
              "        if not use_batch_stats:\n"
              "            if getattr(self, \"_folded\", None) is None:\n"
              "                scale = torch.rsqrt(self.running_var + self.eps)\n"
              "                if self.weight is not None:\n"
              "                    scale = scale * self.weight\n"
              "                shift = -self.running_mean * scale\n"
              "                if self.bias is not None:\n"
              "                    shift = shift + self.bias\n"
              "                self._folded = (scale.detach(), shift.detach())\n"
              "            scale, shift = self._folded\n"
              "            shape = [1, -1] + [1] * (x.dim() - 2)\n"
              "            return x * scale.reshape(shape) + shift.reshape(shape)\n" + _MODULE_CALL),),
            checks=("batchnorm1d_train_eval_train",)),
    Mistake("BatchNorm module x.view on a non-contiguous input",
            "forward reshaped x with x.view(...), which raises on a non-contiguous (transposed or "
            "channels-last) input; pass x to batch_norm as it is, or use x.reshape(...).",
            ((_MODULE_CALL,
              "        shape = x.shape\n"
              "        x = x.view(x.shape[0], x.shape[1], -1)\n" + _MODULE_CALL.replace(
                  "self.eps)\n", "self.eps).view(shape)\n")),),
            checks=("batchnorm2d_non_contiguous",)),
    Mistake("LayerNorm bias=False ignored",
            "bias=False was ignored: a bias Parameter was created anyway; with bias=False register it "
            "as None (self.register_parameter(\"bias\", None)), as torch.nn.LayerNorm does.",
            ((_LN_BIAS_FLAG,
              "            self.bias = nn.Parameter(\n"
              "                torch.zeros(self.normalized_shape, device=device, dtype=dtype))\n"),)),
    Mistake("LayerNorm forward under no_grad",
            "LayerNorm's forward ran under torch.no_grad(), so no gradient reaches x, weight or bias.",
            ((_LN_CALL,
              "        with torch.no_grad():\n"
              "            return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)\n"),),
            checks=("layernorm_module_gradients",)),
    Mistake("BatchNormFunction affine step only with both weight and bias",
            "BatchNormFunction.forward applied weight and bias only when both were given; each is "
            "optional on its own: scale by weight when it is not None, then shift by bias.",
            ((_BNF_AFFINE,
              "        out = x_hat\n"
              "        if weight is not None and bias is not None:\n"
              "            out = x_hat * weight + bias\n"),)),
    Mistake("BatchNormFunction eps ignored",
            "BatchNormFunction added the literal 1e-5 to the variance instead of its eps argument.",
            (("sigma = torch.sqrt(x.var(0, correction=0) + eps)",
              "sigma = torch.sqrt(x.var(0, correction=0) + 1e-5)"),)),
    Mistake("BatchNormFunction accepts a batch of one",
            "BatchNormFunction.forward accepted a batch of one sample; with one value per channel the "
            "variance is 0 and the output meaningless: raise ValueError as training-mode batch_norm does.",
            (("        if x.shape[0] == 1:\n"
              "            raise ValueError(\"Expected more than 1 value per channel when training, \"\n"
              "                             f\"got input size {x.size()}\")\n", ""),),
            checks=("batchnorm_function_batch_of_one",)),
]
