"""Hidden checks: optimizers (SGDMomentum, RMSProp, Adam, AdamW).

Every long check trains the same four parameters on both sides for 20 steps:

    w1 (4, 3), b1 (3,)   group 0: the constructor's hyperparameters
    w2 (3, 2)            group 1: its own hyperparameters; gets its first gradient at
                         step 4 only, so its own step count lags the others' by 3
    frozen (2,)          group 1: never gets a gradient (grad_none_skipped checks that
                         such a parameter stays unchanged and gets no state)

The gradients are made from the parameters' current values (a pull towards 0.5
plus noise drawn here, on the trusted side, from the check's seed) and handed over
as in a training loop: `opt.zero_grad()`, then `torch.autograd.backward(params,
grads)`, which gives each leaf a fresh p.grad, then `opt.step()`. The loop runs on
the implementation's side in one request (testfns.train_steps; four requests a
step made latency most of a check's time). Both sides see the same gradient
sequence as long as they take the same steps. The parameters are compared after every step, the optimizer state
(`state_dict()["state"]`) after the last one, in a form every honest layout
shares: "step" read as a float (a 0-dim tensor, as PyTorch stores it, and a
Python number both pass), keys other than PyTorch's state names ignored, and an
entry that is None or empty counted as no state.

float64 throughout (the table's 1e-7 relative tolerance), except adam_float32 and
optim_float32.

The meta-device probe (PLACEMENT_POINTS) runs one check per optimizer, each with
every state buffer of its class (sgd_nesterov, rmsprop_centered_momentum,
adam_amsgrad, adamw_large_decay): code that is only inconclusive on meta in one
class (an .item() in Adam, legal on a GPU) is still probed in the others.
"""
import copy

import torch

from autograder.checks import (RemoteError, assign, check, fetch, fns_on, make_param, make_params,
                               raised, torch_on)

TOPIC = "optimizers"
PLACEMENT_POINTS = 1

F64 = torch.float64
STEPS = 20
LATE = 3                        # w2 gets gradients from step LATE + 1 on
NAMES = ("w1", "b1", "w2", "frozen")
SHAPES = ((4, 3), (3,), (3, 2), (2,))
STATE_KEYS = ("step", "momentum_buffer", "square_avg", "grad_avg", "exp_avg", "exp_avg_sq",
              "max_exp_avg_sq")


# ----------------------------------------------------------------------------- the driver

def _plain_step(value):
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.device.type != "meta":
        return float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _state(state_dict, names=NAMES, skip=()):
    """state_dict()["state"] by parameter name, in a form every honest layout shares
    (parameters named in `skip` left out)."""
    state = state_dict.get("state") if isinstance(state_dict, dict) else state_dict
    if not isinstance(state, dict):
        return state
    out = {}
    for key, entry in state.items():
        name = names[key] if isinstance(key, int) and 0 <= key < len(names) else key
        if name in skip:
            continue
        if not isinstance(entry, dict):
            out[name] = entry
            continue
        kept = {k: (_plain_step(v) if k == "step" else v) for k, v in entry.items()
                if k in STATE_KEYS and v is not None}
        if kept:                                # an empty entry is no state
            out[name] = kept
    return out


def _train(impl, t, make, group1=None, *, dtype=F64, steps=STEPS, scale=1.0, late=LATE,
           lr_change=None):
    """Train w1, b1, w2 (and frozen) for `steps` steps with the optimizer `make(groups)`.

    scale: the gradients' size, a number or a function of the step (0-based).
    lr_change: (step, lr for group 0, lr for group 1), set through param_groups before it.
    The loop itself runs on the implementation's side (testfns.train_steps, one request);
    the noise is drawn here, from the check's seed, in the order a step-by-step loop drew it.
    """
    if t.device.type == "meta":       # the placement probe: every code path (first steps,
        steps = min(steps, late + 2)  # w2's late first step, steady state) at a quarter the cost
    values = [t.randn(*shape, dtype=dtype) for shape in SHAPES]
    params = make_params(impl, values)
    opt = make([{"params": params[:2]}, {"params": params[2:], **(group1 or {})}])
    noises, scales = [], []
    for step in range(steps):
        active = [i for i in range(3) if i != 2 or step >= late]
        drawn = {i: t.randn(*SHAPES[i], dtype=dtype) for i in active}
        noises.append([drawn.get(i) for i in range(3)])
        scales.append(float(scale(step)) if callable(scale) else float(scale))
    flats = fns_on(impl).train_steps(opt, params, noises, scales, late,
                                     list(lr_change) if lr_change is not None else None)
    if not isinstance(flats, list) or len(flats) != steps:
        raise TypeError(f"the training loop returned {type(flats).__name__}, not {steps} steps")
    history = {}
    for step, flat in enumerate(flats):
        history[f"after step {step + 1}"] = dict(zip(NAMES, [
            part.reshape(shape) for part, shape in
            zip(flat.split([_numel(s) for s in SHAPES[:3]]), SHAPES[:3])]))
    # frozen's value and (absent) state are grad_none_skipped's business
    return {"params": history, "state": _state(opt.state_dict(), skip=("frozen",))}


def _numel(shape):
    n = 1
    for size in shape:
        n *= size
    return n


# ----------------------------------------------------------------------------- SGDMomentum

# The first torch.optim.Optimizer built in a fresh worker imports torch._dynamo (its
# methods are wrapped by torch._disable_dynamo, which imports it on first call): 7.9 s
# measured on this loaded 2-core machine, against the topic's 10 s limit per call. An
# unchanged copy of the reference lost sgd_plain's point once in an audit under that load.
# sgd_plain is the topic's first check, so it gets the room; a later check only meets a
# fresh worker after an earlier one crashed or timed out.
FIRST_CHECK_TIMEOUT = 60


@check(points=1, placement=False, timeout=FIRST_CHECK_TIMEOUT)
def sgd_plain(impl, t):
    """SGDMomentum without momentum (lr 0.1; group 1 lr 0.05): 20 steps, no state."""
    return _train(impl, t, lambda g: impl.SGDMomentum(g, lr=0.1), {"lr": 0.05})


@check(points=2, placement=False)
def sgd_momentum(impl, t):
    """SGDMomentum with momentum 0.9 (group 1: momentum 0.5, lr 0.1): 20 steps and momentum_buffer."""
    return _train(impl, t, lambda g: impl.SGDMomentum(g, lr=0.05, momentum=0.9),
                  {"momentum": 0.5, "lr": 0.1})


@check(points=1, placement=False)
def sgd_dampening(impl, t):
    """SGDMomentum with dampening 0.5 (group 1: 0.2): the first step is not dampened."""
    return _train(impl, t, lambda g: impl.SGDMomentum(g, lr=0.05, momentum=0.9, dampening=0.5),
                  {"dampening": 0.2})


@check(points=1)
def sgd_nesterov(impl, t):
    """SGDMomentum with nesterov=True (momentum 0.9; group 1 momentum 0.6): 20 steps."""
    return _train(impl, t, lambda g: impl.SGDMomentum(g, lr=0.05, momentum=0.9, nesterov=True),
                  {"momentum": 0.6})


@check(points=1, placement=False)
def sgd_weight_decay(impl, t):
    """SGDMomentum with weight_decay 0.1 and momentum 0.9 (group 1: decay 0.3, no momentum)."""
    return _train(impl, t, lambda g: impl.SGDMomentum(g, lr=0.05, momentum=0.9, weight_decay=0.1),
                  {"weight_decay": 0.3, "momentum": 0.0})


@check(points=1, placement=False)
def sgd_lr_change(impl, t):
    """SGDMomentum: lr changed through param_groups after step 10 takes effect."""
    return _train(impl, t, lambda g: impl.SGDMomentum(g, lr=0.1, momentum=0.9), {"lr": 0.02},
                  lr_change=(10, 0.01, 0.2))


@check(points=1, placement=False)
def sgd_nesterov_weight_decay(impl, t):
    """SGDMomentum with nesterov and weight_decay 0.1 (group 1: 0.3): the decayed g in both terms."""
    return _train(impl, t, lambda g: impl.SGDMomentum(g, lr=0.05, momentum=0.9, nesterov=True,
                                                      weight_decay=0.1), {"weight_decay": 0.3})


# ----------------------------------------------------------------------------- RMSProp

@check(points=1, placement=False)
def rmsprop_plain(impl, t):
    """RMSProp with the defaults (group 1: alpha 0.9, lr 0.005): 20 steps and square_avg."""
    return _train(impl, t, lambda g: impl.RMSProp(g), {"alpha": 0.9, "lr": 0.005})


@check(points=1, placement=False)
def rmsprop_weight_decay(impl, t):
    """RMSProp with weight_decay 0.1 (group 1: 0.5): the decay enters g before square_avg."""
    return _train(impl, t, lambda g: impl.RMSProp(g, lr=0.01, weight_decay=0.1),
                  {"weight_decay": 0.5})


@check(points=1, placement=False)
def rmsprop_momentum(impl, t):
    """RMSProp with momentum 0.9 (group 1: 0.5): 20 steps and momentum_buffer."""
    return _train(impl, t, lambda g: impl.RMSProp(g, lr=0.003, momentum=0.9), {"momentum": 0.5})


@check(points=1, placement=False)
def rmsprop_centered(impl, t):
    """RMSProp centered (group 1: alpha 0.9): divides by sqrt(v - mean(g)**2) + eps."""
    return _train(impl, t, lambda g: impl.RMSProp(g, lr=0.01, centered=True), {"alpha": 0.9})


@check(points=1)
def rmsprop_centered_momentum(impl, t):
    """RMSProp centered with momentum 0.8 (group 1: not centered, momentum 0.5)."""
    return _train(impl, t, lambda g: impl.RMSProp(g, lr=0.003, centered=True, momentum=0.8),
                  {"centered": False, "momentum": 0.5})


@check(points=1, placement=False)
def rmsprop_small_gradients(impl, t):
    """RMSProp on gradients of size 1e-4: eps (1e-8) is added after the square root."""
    return _train(impl, t, lambda g: impl.RMSProp(g, lr=0.01), {"lr": 0.02}, scale=1e-4)


@check(points=1, placement=False)
def rmsprop_lr_change(impl, t):
    """RMSProp with momentum 0.9: lr changed through param_groups after step 10 takes effect."""
    return _train(impl, t, lambda g: impl.RMSProp(g, lr=0.003, momentum=0.9), {"lr": 0.01},
                  lr_change=(10, 0.001, 0.05))


@check(points=1, placement=False)
def rmsprop_invalid_momentum_weight_decay(impl, t):
    """RMSProp: ValueError for a negative momentum or weight_decay, none for valid ones."""
    p = make_param(impl, t.randn(3, dtype=F64))
    return {"RMSProp(momentum=-0.5)": raised(lambda: impl.RMSProp([p], momentum=-0.5)),
            "RMSProp(weight_decay=-1)": raised(lambda: impl.RMSProp([p], weight_decay=-1.0)),
            "RMSProp(momentum=0.5, weight_decay=0.1) (valid)":
                raised(lambda: impl.RMSProp([p], momentum=0.5, weight_decay=0.1))}


# ----------------------------------------------------------------------------- Adam

@check(points=2, placement=False)
def adam_defaults(impl, t):
    """Adam with the defaults (group 1: lr 0.01, betas (0.8, 0.99)): 20 steps and state."""
    return _train(impl, t, lambda g: impl.Adam(g), {"lr": 0.01, "betas": (0.8, 0.99)})


@check(points=1, placement=False)
def adam_weight_decay(impl, t):
    """Adam with weight_decay 0.1 (group 1: 0.5), an L2 term added to the gradient."""
    return _train(impl, t, lambda g: impl.Adam(g, lr=0.01, weight_decay=0.1), {"weight_decay": 0.5})


def _shrinking(step):
    return 4.0 if step < 5 else 0.5         # v falls after step 5: amsgrad's maximum matters


@check(points=1)
def adam_amsgrad(impl, t):
    """Adam with amsgrad (group 1: betas (0.8, 0.9)) on gradients that shrink after step 5."""
    return _train(impl, t, lambda g: impl.Adam(g, lr=0.01, amsgrad=True), {"betas": (0.8, 0.9)},
                  scale=_shrinking)


@check(points=1, placement=False)
def adam_bias_correction(impl, t):
    """Adam with lr 0.5, after steps 1, 2 and 3: both bias corrections, per parameter."""
    return _train(impl, t, lambda g: impl.Adam(g, lr=0.5), {"lr": 0.3}, steps=3, late=1)


@check(points=1, placement=False)
def adam_small_gradients(impl, t):
    """Adam on gradients of size 1e-4: eps (1e-8) is added after the square root."""
    return _train(impl, t, lambda g: impl.Adam(g, lr=0.01), {"lr": 0.02}, scale=1e-4)


@check(points=1, placement=False)
def adam_lr_change(impl, t):
    """Adam: lr changed through param_groups after step 10 takes effect."""
    return _train(impl, t, lambda g: impl.Adam(g, lr=0.01), {"lr": 0.02},
                  lr_change=(10, 0.05, 0.001))


@check(points=1, placement=False)
def adam_float32(impl, t):
    """Adam in float32 (lr 0.01; group 1: amsgrad): parameters stay float32, values match."""
    return _train(impl, t, lambda g: impl.Adam(g, lr=0.01), {"amsgrad": True},
                  dtype=torch.float32)


# ----------------------------------------------------------------------------- AdamW

@check(points=1, placement=False)
def adamw_defaults(impl, t):
    """AdamW with the defaults (weight_decay 0.01; group 1: lr 0.01): decoupled decay."""
    return _train(impl, t, lambda g: impl.AdamW(g), {"lr": 0.01})


@check(points=1)
def adamw_large_decay(impl, t):
    """AdamW with lr 0.05 and weight_decay 0.5 (group 1: decay 2, amsgrad): decay before the step."""
    return _train(impl, t, lambda g: impl.AdamW(g, lr=0.05, weight_decay=0.5),
                  {"weight_decay": 2.0, "amsgrad": True})


@check(points=1, placement=False)
def adamw_lr_change(impl, t):
    """AdamW with weight_decay 0.5: lr changed after step 10 applies to the decay and the step."""
    return _train(impl, t, lambda g: impl.AdamW(g, lr=0.1, weight_decay=0.5), {"lr": 0.02},
                  lr_change=(10, 0.001, 0.1))


# ----------------------------------------------------------------------------- all four

def _one_step_each(impl, t, kwargs):
    """One step of each optimizer on a fresh parameter with a gradient; what it returned."""
    out = {}
    for name, extra in kwargs.items():
        p = make_param(impl, t.randn(3, 2, dtype=F64))
        g = t.randn(3, 2, dtype=F64)
        opt = getattr(impl, name)([p], **extra)
        assign(p.grad, g)
        out[name] = {"returned": opt.step(), "grad": fetch(p.grad), "param": fetch(p)}
    return out


@check(points=1, placement=False)
def grad_none_skipped(impl, t):
    """A parameter whose grad is None is skipped: unchanged, and no state (all four optimizers)."""
    out = {}
    for name, kwargs in (("SGDMomentum", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}),
                         ("RMSProp", {"momentum": 0.5, "centered": True, "weight_decay": 0.1}),
                         ("Adam", {"amsgrad": True, "weight_decay": 0.1}), ("AdamW", {})):
        p, frozen = (make_param(impl, t.randn(3, dtype=F64)) for _ in range(2))
        opt = getattr(impl, name)([p, frozen], **kwargs)
        for _ in range(3):
            assign(p.grad, t.randn(3, dtype=F64))
            opt.step()
        out[name] = {"frozen after 3 steps": fetch(frozen),
                     "state": _state(opt.state_dict(), names=("p", "frozen"))}
    return out


# The next two checks are about what step() must NOT do (return something, touch p.grad),
# which a step() that does nothing satisfies too: each also compares the parameter after
# the step, so that its point is earned only together with the update it guards.

@check(points=1, placement=False)
def step_returns_none(impl, t):
    """step() without a closure updates p and returns None (all four optimizers)."""
    got = _one_step_each(impl, t, {
        "SGDMomentum": {"lr": 0.1, "momentum": 0.9, "nesterov": True},
        "RMSProp": {"momentum": 0.5, "centered": True},
        "Adam": {"amsgrad": True}, "AdamW": {"amsgrad": True}})
    out = {f"{name} returned": value["returned"] for name, value in got.items()}
    return {**out, **{f"{name} p after the step": value["param"] for name, value in got.items()}}


@check(points=1, placement=False)
def grad_left_unchanged(impl, t):
    """step() with weight decay updates p and leaves p.grad unchanged (all four optimizers)."""
    got = _one_step_each(impl, t, {
        "SGDMomentum": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.5},
        "RMSProp": {"weight_decay": 0.5}, "Adam": {"weight_decay": 0.5},
        "AdamW": {"weight_decay": 0.5}})
    out = {f"{name} p.grad": value["grad"] for name, value in got.items()}
    return {**out, **{f"{name} p after the step": value["param"] for name, value in got.items()}}


# The state buffer each optimizer fills from g (where weight decay makes g depend on p).
_GRAPH_STATE = {"SGDMomentum": ({"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}, "momentum_buffer"),
                "RMSProp": ({"weight_decay": 0.1}, "square_avg"),
                "Adam": ({"weight_decay": 0.1}, "exp_avg"),
                "AdamW": ({"weight_decay": 0.1}, "exp_avg")}


@check(points=1, placement=False)
def step_builds_no_graph(impl, t):
    """step() records no autograd graph: with weight decay, the state and p stay free of history.

    Without torch.no_grad(), g = p.grad + weight_decay * p is recorded (p requires grad), and
    every buffer built from it carries the graph of all the steps before: memory and time
    grow with every step. (p.data.add_ silences the in-place error, not the recording.)
    """
    out = {}
    for name, (kwargs, key) in _GRAPH_STATE.items():
        p = make_param(impl, t.randn(3, dtype=F64))
        opt = getattr(impl, name)([p], **kwargs)
        for _ in range(2):
            assign(p.grad, t.randn(3, dtype=F64))
            opt.step()
        out[f"{name}: state['{key}'].requires_grad"] = fetch(opt.state[p][key].requires_grad)
        out[f"{name}: p is still a leaf"] = fetch(p.is_leaf)
    return out


@check(points=1, placement=False)
def sgd_invalid_arguments(impl, t):
    """SGDMomentum: ValueError for negative lr, momentum or weight_decay and for bad nesterov; lr = 0 is valid."""
    p = make_param(impl, t.randn(3, dtype=F64))
    sgd = impl.SGDMomentum
    return {"lr=-0.1": raised(lambda: sgd([p], lr=-0.1)),
            "momentum=-0.5": raised(lambda: sgd([p], lr=0.1, momentum=-0.5)),
            "weight_decay=-1": raised(lambda: sgd([p], lr=0.1, weight_decay=-1.0)),
            "nesterov, dampening=0.1": raised(lambda: sgd([p], lr=0.1, momentum=0.9, dampening=0.1,
                                                          nesterov=True)),
            "nesterov, momentum=0": raised(lambda: sgd([p], lr=0.1, nesterov=True)),
            "nesterov, momentum=0.9 (valid)": raised(lambda: sgd([p], lr=0.1, momentum=0.9,
                                                                 nesterov=True)),
            "lr=0.0, weight_decay=0.0 (valid)": raised(lambda: sgd([p], lr=0.0, weight_decay=0.0))}


@check(points=1, placement=False)
def adaptive_invalid_arguments(impl, t):
    """RMSProp, Adam, AdamW: ValueError for negative lr, eps, alpha, weight_decay and for betas outside [0, 1).

    The bounds themselves are valid: lr = 0 (a frozen schedule's last value) raises nothing.
    """
    p = make_param(impl, t.randn(3, dtype=F64))
    return {"RMSProp(lr=-0.01)": raised(lambda: impl.RMSProp([p], lr=-0.01)),
            "RMSProp(alpha=-0.5)": raised(lambda: impl.RMSProp([p], alpha=-0.5)),
            "RMSProp(eps=-1e-8)": raised(lambda: impl.RMSProp([p], eps=-1e-8)),
            "RMSProp(lr=0.0, alpha=0.0, eps=0.0) (valid)":
                raised(lambda: impl.RMSProp([p], lr=0.0, alpha=0.0, eps=0.0)),
            "Adam(lr=-0.001)": raised(lambda: impl.Adam([p], lr=-0.001)),
            "Adam(eps=-1e-8)": raised(lambda: impl.Adam([p], eps=-1e-8)),
            "Adam(betas=(1.0, 0.999))": raised(lambda: impl.Adam([p], betas=(1.0, 0.999))),
            "Adam(betas=(0.9, 1.5))": raised(lambda: impl.Adam([p], betas=(0.9, 1.5))),
            "Adam(weight_decay=-0.1)": raised(lambda: impl.Adam([p], weight_decay=-0.1)),
            "Adam(lr=0.0, betas=(0.0, 0.0), eps=0.0) (valid)":
                raised(lambda: impl.Adam([p], lr=0.0, betas=(0.0, 0.0), eps=0.0)),
            "AdamW(lr=-0.001)": raised(lambda: impl.AdamW([p], lr=-0.001)),
            "AdamW(eps=-1.0)": raised(lambda: impl.AdamW([p], eps=-1.0)),
            "AdamW(betas=(1.0, 0.999))": raised(lambda: impl.AdamW([p], betas=(1.0, 0.999))),
            "AdamW(betas=(0.9, 1.0))": raised(lambda: impl.AdamW([p], betas=(0.9, 1.0))),
            "AdamW(weight_decay=-0.01)": raised(lambda: impl.AdamW([p], weight_decay=-0.01)),
            "AdamW(lr=0.0, weight_decay=0.0) (valid)": raised(lambda: impl.AdamW([p], lr=0.0, weight_decay=0.0)),
            "AdamW(lr=0.01, betas=(0.5, 0.9)) (valid)": raised(lambda: impl.AdamW([p], lr=0.01,
                                                                            betas=(0.5, 0.9)))}


@check(points=1, placement=False)
def adaptive_custom_eps_betas(impl, t):
    """RMSProp, Adam and AdamW read eps (and AdamW its betas) from the group, on gradients of size 1e-3."""
    small, steps = 1e-3, 8
    return {"RMSProp(eps=1e-3)": _train(impl, t, lambda g: impl.RMSProp(g, lr=0.01, eps=1e-3),
                                        {"eps": 1e-4}, steps=steps, scale=small),
            "Adam(eps=1e-2)": _train(impl, t, lambda g: impl.Adam(g, lr=0.01, eps=1e-2),
                                     {"eps": 1e-4}, steps=steps, scale=small),
            "AdamW(betas=(0.5, 0.9), eps=1e-3)": _train(
                impl, t, lambda g: impl.AdamW(g, lr=0.01, betas=(0.5, 0.9), eps=1e-3),
                {"betas": (0.8, 0.99)}, steps=steps, scale=small)}


@check(points=1, placement=False)
def optim_float32(impl, t):
    """SGDMomentum, RMSProp and AdamW in float32: parameters and state stay float32, values match."""
    steps, f32 = 8, torch.float32
    return {"SGDMomentum(nesterov)": _train(
                impl, t, lambda g: impl.SGDMomentum(g, lr=0.05, momentum=0.9, nesterov=True),
                {"momentum": 0.5}, dtype=f32, steps=steps),
            "RMSProp(centered, momentum)": _train(
                impl, t, lambda g: impl.RMSProp(g, lr=0.003, centered=True, momentum=0.8),
                {"centered": False}, dtype=f32, steps=steps),
            "AdamW": _train(impl, t, lambda g: impl.AdamW(g, lr=0.01), {"amsgrad": True},
                            dtype=f32, steps=steps)}


_ALL_FOUR = {"SGDMomentum": {"lr": 0.1, "momentum": 0.9}, "RMSProp": {"momentum": 0.5},
             "Adam": {"lr": 0.01}, "AdamW": {"lr": 0.01, "weight_decay": 0.1}}


@check(points=1, placement=False)
def optim_zero_grad_keeps_tensors(impl, t):
    """After zero_grad(set_to_none=False) a zero gradient is still a gradient: p keeps moving (all four)."""
    out = {}
    for name, kwargs in _ALL_FOUR.items():
        p = make_param(impl, t.randn(3, 2, dtype=F64))
        opt = getattr(impl, name)([p], **kwargs)
        for _ in range(2):
            assign(p.grad, t.randn(3, 2, dtype=F64))
            opt.step()
        opt.zero_grad(set_to_none=False)            # p.grad is now a tensor of zeros
        for i in range(2):
            opt.step()
            out[f"{name}: p after zero-gradient step {i + 1}"] = fetch(p)
        out[f"{name}: state"] = _state(opt.state_dict(), names=("p",))
    return out


@check(points=1, placement=False)
def optim_step_with_closure(impl, t):
    """step(closure) updates p and returns what the closure returned (all four optimizers)."""
    out = {}
    for name, kwargs in _ALL_FOUR.items():
        p = make_param(impl, t.randn(3, 2, dtype=F64))
        opt = getattr(impl, name)([p], **kwargs)
        assign(p.grad, t.randn(3, 2, dtype=F64))
        out[f"{name} returned"] = opt.step(p.sum)  # the closure: p.sum, on the implementation's side
        out[f"{name} p after the step"] = fetch(p)
    return out


# Each optimizer with every state buffer of its class, for the checks below.
_FULL_STATE = {"SGDMomentum": {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
               "RMSProp": {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
               "Adam": {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1},
               "AdamW": {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}}
LOW_STEPS = 5
# In 16 bits: eps 1e-3, since float16 cannot hold the default 1e-8 (it rounds to 0, and a
# gradient whose square underflows then divides by zero), and Adam's beta2 0.99, so that
# (1 - beta2) g**2 stays above float16's smallest normal number for gradients down to 0.1.
_LOW_PRECISION = {"SGDMomentum": _FULL_STATE["SGDMomentum"],
                  **{name: {**kwargs, "eps": 1e-3} for name, kwargs in _FULL_STATE.items()
                     if name != "SGDMomentum"}}
_LOW_PRECISION["Adam"]["betas"] = _LOW_PRECISION["AdamW"]["betas"] = (0.9, 0.99)
_LOW_PRECISION["RMSProp"]["alpha"] = 0.9


@check(points=1, placement=False, tolerance=4)
def optim_low_precision(impl, t):
    """SGDMomentum, RMSProp, Adam and AdamW on float16 and bfloat16 parameters: state and update in p's dtype.

    torch.optim keeps the state of a 16-bit parameter in its dtype (zeros_like(p)) and
    updates p in it; float32 state for it (the habit of mixed-precision optimizers:
    apex, fairseq) or a float32 copy of p is another optimizer. Five steps of each
    optimizer with every state buffer of its class (eps 1e-3 and betas (0.9, 0.99):
    see _LOW_PRECISION).

    Tolerance: 4 times the table's, so float16 4e-3 + 4e-3 |expected| and bfloat16
    4e-2 + 6.4e-2 |expected|: 8 and 13 units in the last place of a value near 1
    (float16's spacing there is 2^-10, bfloat16's 2^-7). Every step rounds p and each
    state buffer to 16 bits, and the order of the operations (m.mul_().add_() against
    torch's lerp_, sqrt(v / bc2) against sqrt(v) / sqrt(bc2), g + momentum * buf against
    a fused foreach add) moves that rounding: over nine seeds the reference, torch.optim
    and the bank's correct variants differed by at most 1.9 times the table's tolerance
    (an SGD momentum_buffer in bfloat16; docs/PROPERTIES.md, "16-bit tolerances, measured").
    Float32 state fails on its dtype whatever the tolerance, and lost updates (a few
    hundredths to a few tenths a step) on the values.
    """
    out = {}
    for dtype in (torch.float16, torch.bfloat16):
        for name, kwargs in _LOW_PRECISION.items():
            out[f"{name}, {_dtype_name(dtype)}"] = _train(
                impl, t, lambda g, name=name, kwargs=kwargs: getattr(impl, name)(g, **kwargs),
                dtype=dtype, steps=LOW_STEPS)
    return out


def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


@check(points=1, placement=False)
def optim_non_contiguous_params(impl, t):
    """A Parameter that is a transposed view of another tensor is updated in place (all four optimizers).

    The parameter shares its storage with a base tensor, as a transposed (tied)
    weight or a parameter viewing a flat buffer (FSDP, DDP's gradient buckets) does:
    its strides are not those of a contiguous tensor. An in-place update (p.add_,
    p.mul_, p.addcdiv_) reaches the base; p.reshape(-1) and p.flatten() are copies
    of such a p, p.view(-1) raises on it, and p.data = ... replaces p's storage
    instead of updating it. The parameter after each step and the base after the
    last are compared.
    """
    there = torch_on(impl)
    out = {}
    for name, kwargs in _FULL_STATE.items():
        base = make_param(impl, t.randn(3, 4, dtype=F64))           # (3, 4) in memory
        p = there.nn.ParameterList([base.data.T])[0]                # a (4, 3) Parameter viewing it
        grads = [t.randn(4, 3, dtype=F64) for _ in range(3)]
        result = {"error": None, "p after each step": [], "the base tensor after 3 steps": None,
                  "state": None}
        try:
            opt = getattr(impl, name)([p], **kwargs)
            for g in grads:
                assign(p.grad, g)
                opt.step()
                result["p after each step"].append(fetch(p))
            result["the base tensor after 3 steps"] = fetch(base)
            result["state"] = _state(opt.state_dict(), names=("p",))
        except RemoteError as exc:          # p.view(-1) raises here only: an output, so the
            if exc.is_a("NotImplementedError") or str(t.device) == "meta":   # mistake is named
                raise
            result["error"] = f"{exc.type}: {exc.info.get('message')}"[:76]   # shown whole
        out[name] = result
    return out


# The torch.optim class each state_dict is loaded into (on this, the trusted, side).
_TORCH_CLASS = {"RMSProp": torch.optim.RMSprop, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW}


def _continue_in_torch(name, kwargs, values, state_dict, grads, foreach):
    """Load `state_dict` into torch.optim's class over parameters holding `values`, take one
    step a gradient; the parameters after each step, or the error loading or stepping raised."""
    params = [torch.nn.Parameter(v.detach().clone()) for v in values]
    try:
        opt = _TORCH_CLASS[name](params, **kwargs)
        opt.load_state_dict(copy.deepcopy(state_dict))
        for group in opt.param_groups:          # loading takes the saved groups' keys
            group["foreach"] = foreach
        after = []
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = None if g is None else g.clone()
            opt.step()
            after.append([p.detach().clone() for p in params])
    except Exception as exc:                # noqa: BLE001 - the error is the output
        return {"error": f"{type(exc).__name__}: {exc}"[:76], "params": None}   # shown whole
    return {"error": None, "params": after}


@check(points=1, placement=False)
def optim_state_dict_continues_in_torch(impl, t):
    """RMSProp, Adam, AdamW: the state_dict loads into torch.optim's class, which goes on identically.

    What the docstrings pin about state["step"] is this property, not its Python
    type: a 0-dim float32 CPU tensor (PyTorch's own), a float64 or one-element
    tensor and a Python number (torch.optim converts it when loading) all load
    and go on. An integer tensor (torch.tensor(0)) loads, and PyTorch's per-tensor
    loop even steps with it, but its foreach loop (the default for CUDA
    parameters) refuses it; both loops are run here. Three steps of the
    implementation (a second parameter never gets a gradient), then three steps
    of torch.optim from its state_dict.
    """
    out = {}
    for name, kwargs in (("RMSProp", {"lr": 0.01, "momentum": 0.5, "centered": True}),
                         ("Adam", {"lr": 0.05, "amsgrad": True}), ("AdamW", {"lr": 0.05})):
        p, frozen = (make_param(impl, t.randn(3, 2, dtype=F64)) for _ in range(2))
        opt = getattr(impl, name)([p, frozen], **kwargs)
        for _ in range(3):
            assign(p.grad, t.randn(3, 2, dtype=F64))
            opt.step()
        state_dict = opt.state_dict()
        values = [fetch(p), fetch(frozen)]
        grads = [[t.randn(3, 2, dtype=F64), None] for _ in range(3)]
        for foreach in (False, True):
            out[f"torch.optim.{_TORCH_CLASS[name].__name__}(foreach={foreach}) from {name}'s state_dict"] = \
                _continue_in_torch(name, kwargs, values, state_dict, grads, foreach)
    return out
