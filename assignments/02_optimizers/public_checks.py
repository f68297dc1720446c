"""Public checks for optimizers: run them with

    python -m autograder check optimizers

from the folder that holds assignments/. Each check trains two small float64
parameters (two parameter groups, the second with its own learning rate) for 10
steps with your optimizer and with PyTorch's own (torch.optim.SGD, RMSprop, Adam,
AdamW), feeding both the same gradients, and compares the parameters after every
step. SGDMomentum's learning rate changes halfway, as a scheduler would change it;
Adam's second parameter has no gradient for its first steps (it keeps its own step
count for the bias corrections) and then gradients small enough for eps to matter.
Passing them is a good sign, not a guarantee: the hidden checks try every
hyperparameter, more steps, parameters without gradients, learning-rate changes,
the optimizer state, float32 and other devices.
"""
import torch

from autograder.checks import assign, check, fetch, make_param, raised

TOPIC = "optimizers"
F64 = torch.float64


def _train(impl, t, make, steps=10, new_lr=None, b_from=1, b_scale=1.0):
    """w (3, 2) in group 0, b (2,) in group 1 (lr 0.02); seeded gradients; values after each step.

    new_lr=(k, lr): group 0's lr is set to lr after step k, as a scheduler would. b_from=k:
    b has no gradient (None) before step k. b_scale: b's gradients are this small."""
    w = make_param(impl, t.randn(3, 2, dtype=F64))
    b = make_param(impl, t.randn(2, dtype=F64))
    opt = make([{"params": [w]}, {"params": [b], "lr": 0.02}])
    after = {}
    for step in range(1, steps + 1):
        assign(w.grad, t.randn(3, 2, dtype=F64))
        if step >= b_from:
            assign(b.grad, t.randn(2, dtype=F64) * b_scale)
        opt.step()
        after[f"after step {step}"] = {"w": fetch(w), "b": fetch(b)}
        if new_lr is not None and step == new_lr[0]:
            assign(opt.param_groups[0]["lr"], new_lr[1])
    return after


@check(points=1, public=True)
def sgd_momentum_steps(impl, t):
    """SGDMomentum(lr=0.05, momentum=0.9, dampening=0.1), lr 0.1 from step 6: 10 steps match torch.optim.SGD."""
    return _train(impl, t, lambda g: impl.SGDMomentum(g, lr=0.05, momentum=0.9, dampening=0.1),
                  new_lr=(5, 0.1))


@check(points=1, public=True)
def rmsprop_steps(impl, t):
    """RMSProp(lr=0.01, momentum=0.5, centered=True): 10 steps match torch.optim.RMSprop."""
    return _train(impl, t, lambda g: impl.RMSProp(g, lr=0.01, momentum=0.5, centered=True))


@check(points=1, public=True)
def adam_steps(impl, t):
    """Adam(lr=0.01): 10 steps match torch.optim.Adam; b gets small gradients (1e-4), from step 4 on."""
    return _train(impl, t, lambda g: impl.Adam(g, lr=0.01), b_from=4, b_scale=1e-4)


@check(points=1, public=True)
def adamw_steps(impl, t):
    """AdamW(lr=0.01, weight_decay=0.1): 10 steps match torch.optim.AdamW (decoupled decay)."""
    return _train(impl, t, lambda g: impl.AdamW(g, lr=0.01, weight_decay=0.1))


@check(points=1, public=True)
def invalid_arguments(impl, t):
    """A negative learning rate, and nesterov with dampening, are ValueErrors."""
    p = make_param(impl, t.randn(3, dtype=F64))
    return {"SGDMomentum(lr=-0.1)": raised(lambda: impl.SGDMomentum([p], lr=-0.1)),
            "SGDMomentum(nesterov, dampening)": raised(lambda: impl.SGDMomentum(
                [p], lr=0.1, momentum=0.9, dampening=0.5, nesterov=True)),
            "Adam(lr=-0.001)": raised(lambda: impl.Adam([p], lr=-0.001))}
