"""Public checks for normalization: run them with

    python -m autograder check normalization

from the folder that holds assignments/. Each check runs your code in a separate
process and compares it with PyTorch's built-in (torch.nn.functional.batch_norm,
torch.nn.BatchNorm1d, ...) on the same inputs. Passing them is a good sign, not
a guarantee: the hidden checks try more shapes, dtypes, devices and edge cases.
"""
import torch

from autograder.checks import call_with_grad, check, raised

TOPIC = "normalization"


@check(points=1, public=True)
def batch_norm_train(impl, t):
    """batch_norm, training, (N, C): output and running statistics."""
    x = t.randn(16, 5) * 3 + 7
    mean, var = t.zeros(5), t.ones(5)
    out = impl.batch_norm(x, mean, var, None, None, training=True)
    return {"out": out, "running_mean": mean, "running_var": var}


@check(points=1, public=True)
def batch_norm_eval(impl, t):
    """batch_norm, eval, (N, C, L): uses the running statistics."""
    x = t.randn(4, 3, 6)
    mean, var = t.randn(3), t.rand(3) + 0.5
    return {"out": impl.batch_norm(x, mean, var, t.randn(3), t.randn(3), training=False)}


@check(points=1, public=True)
def batch_norm_train_3d(impl, t):
    """batch_norm, training, (N, C, L), eps=0.5: per-channel statistics over N and L."""
    x = t.randn(6, 3, 5) * 2 + 1
    mean, var = t.zeros(3), t.ones(3)
    out = impl.batch_norm(x, mean, var, t.randn(3), t.randn(3), training=True, momentum=0.2, eps=0.5)
    return {"out": out, "running_mean": mean, "running_var": var}


@check(points=1, public=True)
def batch_norm_batch_of_one(impl, t):
    """batch_norm: a batch of one value per channel in training is a ValueError."""
    return {"error": raised(lambda: impl.batch_norm(t.randn(1, 3), t.zeros(3), t.ones(3),
                                                    None, None, True))}


@check(points=1, public=True)
def layer_norm_forward(impl, t):
    """layer_norm over the last dimension, with weight and bias."""
    x = t.randn(4, 10) * 2 + 3
    return {"out": impl.layer_norm(x, 10, t.randn(10), t.randn(10))}


@check(points=1, public=True)
def layer_norm_trailing_dims(impl, t):
    """layer_norm of a (2, 3, 4, 5) input over its last two dimensions, normalized_shape (4, 5)."""
    x = t.randn(2, 3, 4, 5) * 2 + 3
    return {"out": impl.layer_norm(x, (4, 5), t.randn(4, 5), t.randn(4, 5))}


@check(points=1, public=True)
def batchnorm1d_train_then_eval(impl, t):
    """BatchNorm1d: two training steps, eval, and the state_dict."""
    bn = impl.BatchNorm1d(4)
    bn(t.randn(8, 4) * 2 + 1)
    bn(t.randn(8, 4) * 2 + 1)
    bn.eval()
    return {"out_eval": bn(t.randn(3, 4)), "state_dict": bn.state_dict()}


@check(points=1, public=True, tolerance=10)
def batchnorm_function_backward(impl, t):
    """BatchNormFunction: gradients of x, weight and bias (random upstream gradient)."""
    x = t.randn(10, 4, dtype=torch.float64).requires_grad_(True)
    w = t.randn(4, dtype=torch.float64).requires_grad_(True)
    b = t.randn(4, dtype=torch.float64).requires_grad_(True)
    out, grads = call_with_grad(impl.BatchNormFunction.apply, x, w, b, 1e-5,
                                upstream=t.randn(10, 4, dtype=torch.float64))
    return {"out": out, "grad_x": grads.get(0), "grad_weight": grads.get(1), "grad_bias": grads.get(2)}
