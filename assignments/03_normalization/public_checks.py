"""Public checks for normalization: run them with

    python -m autograder check normalization

from the folder that holds assignments/. Each check runs your code in a separate
process and compares it with PyTorch's built-in (torch.nn.functional.batch_norm,
torch.nn.BatchNorm1d, ...) on the same inputs. Passing them is a good sign, not
a guarantee: the hidden checks try more shapes, dtypes, devices and edge cases.
"""
import torch

from autograder.checks import assign, call_with_grad, check, fetch, fns_on, raised, torch_on

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


# ----------------------------------------------------------------------------- the lecture's claims
# The test models are built from the hand-written layers of autograder/testfns.py
# (EvalBatchNorm1d, RowNorm): PyTorch's own normalization layers are forbidden in this topic.

F64 = torch.float64


@check(points=1, public=True, task="Standardizer")
def standardizer_train_then_test(impl, t):
    """Standardizer: fit on a training split (one feature constant), transform a test split, inverse_transform."""
    scales, means = t.tensor([1.0, 1000.0, 0.0], dtype=F64), t.tensor([5.0, -300.0, 0.1], dtype=F64)
    train = t.randn(12, 3, dtype=F64) * scales + means
    test = t.randn(5, 3, dtype=F64) * 2
    s = impl.Standardizer()
    z_train = s.fit_transform(train)
    z_test = s.transform(test)
    return {"fit_transform(train)": z_train, "transform(test)": z_test,
            "inverse_transform(transform(test))": s.inverse_transform(z_test),
            "mean_": fetch(s.mean_), "scale_": fetch(s.scale_)}


@check(points=1, public=True, task="fold_batchnorm")
def fold_batchnorm_eval(impl, t):
    """fold_batchnorm: the new Linear computes bn(linear(x)) of an eval-mode BatchNorm1d (eps = 0.1)."""
    nn = torch_on(impl).nn
    linear = nn.Linear(4, 3).to(device=t.device, dtype=F64)
    linear.load_state_dict({"weight": t.randn(3, 4, dtype=F64), "bias": t.randn(3, dtype=F64)})
    bn = fns_on(impl).EvalBatchNorm1d(3, eps=0.1).to(device=t.device, dtype=F64)
    bn.load_state_dict({"weight": t.randn(3, dtype=F64), "bias": t.randn(3, dtype=F64),
                        "running_mean": t.randn(3, dtype=F64) * 3, "running_var": t.rand(3, dtype=F64) + 0.2,
                        "num_batches_tracked": torch.tensor(5)})
    folded = impl.fold_batchnorm(linear, bn)
    x = t.randn(20, 4, dtype=F64)
    return {"folded(x)": folded(x) if type(folded).__name__ == "Ref" else folded}   # a module, or not


@check(points=1, public=True, task="accumulated_gradients")
def accumulated_gradients_uneven(impl, t):
    """accumulated_gradients: 10 rows in micro-batches of 4, 4 and 2; the batch's gradient, and .grad left as it was."""
    nn = torch_on(impl).nn
    model = nn.Sequential(nn.Linear(3, 4), fns_on(impl).RowNorm(4), nn.Tanh(), nn.Linear(4, 2))
    model = model.to(device=t.device, dtype=F64)
    model.load_state_dict({"0.weight": t.randn(4, 3, dtype=F64), "0.bias": t.randn(4, dtype=F64),
                           "1.weight": t.rand(4, dtype=F64) + 0.5, "1.bias": t.randn(4, dtype=F64),
                           "3.weight": t.randn(2, 4, dtype=F64), "3.bias": t.randn(2, dtype=F64)})
    assign(model[0].weight.grad, t.randn(4, 3, dtype=F64))
    x, y = t.randn(10, 3, dtype=F64), t.randn(10, 2, dtype=F64)
    grads = impl.accumulated_gradients(model, nn.MSELoss(), x, y, 4)
    return {"gradients": grads, "0.weight.grad after": fetch(model[0].weight.grad),
            "3.bias.grad after": fetch(model[3].bias.grad)}
