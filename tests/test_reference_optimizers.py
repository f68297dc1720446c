"""The optimizers reference takes the same steps as torch.optim on every device present.

Each case trains two identical copies of a small two-layer network on the same
data, one with the reference (solutions/02_optimizers/optimizers.py) and one
with autograder/torch_refs/optimizers.py (torch.optim itself, PyTorch's default
implementation: per tensor on the CPU, foreach on CUDA), for 24 steps, with
three parameter groups carrying different hyperparameters, a parameter that
gets a gradient only on even steps (so per-parameter step counts differ), a
parameter that never gets one, and the learning rates halved through
param_groups after step 12. Parameters are compared after every step and the
optimizer state key by key at the end.

Tolerances: float64 rtol = atol = 1e-10; float32 rtol 1e-5, atol 1e-6 (the two
sides round differently: lerp vs mul/add, sqrt(v / bc2) vs sqrt(v) / sqrt(bc2)).
"""
from __future__ import annotations

import copy
import importlib.util
import inspect
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = _load(ROOT / "solutions" / "02_optimizers" / "optimizers.py", "ref_optimizers")
tref = _load(ROOT / "autograder" / "torch_refs" / "optimizers.py", "torch_ref_optimizers")

NAMES = ["SGDMomentum", "RMSProp", "Adam", "AdamW"]
DTYPES = [torch.float64, torch.float32]
TOL = {torch.float64: dict(rtol=1e-10, atol=1e-10), torch.float32: dict(rtol=1e-5, atol=1e-6)}
STEPS = 24
LR_CHANGE_AT = 12

# (class name, constructor kwargs, overrides for group 1, overrides for group 2);
# group 0 uses the constructor's values. Together they cover every hyperparameter.
CASES = {
    "sgd_plain": ("SGDMomentum", dict(lr=0.1), dict(lr=0.05), dict(weight_decay=0.1)),
    "sgd_momentum_nesterov": ("SGDMomentum", dict(lr=0.05, momentum=0.9),
                              dict(nesterov=True, momentum=0.5), dict(momentum=0, weight_decay=0.1)),
    "sgd_dampening_decay": ("SGDMomentum", dict(lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.01),
                            dict(dampening=0.1, momentum=0.8), dict(lr=0.02, weight_decay=0)),
    "rmsprop_default": ("RMSProp", dict(), dict(centered=True), dict(momentum=0.9)),
    "rmsprop_centered_momentum": ("RMSProp", dict(lr=3e-3, alpha=0.9, centered=True, momentum=0.5,
                                                  weight_decay=0.1),
                                  dict(centered=False, eps=1e-3), dict(momentum=0, alpha=0.99)),
    "adam_default": ("Adam", dict(), dict(amsgrad=True), dict(weight_decay=0.1, betas=(0.8, 0.99))),
    "adam_amsgrad_decay": ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=0.05),
                           dict(eps=1e-4), dict(amsgrad=False, lr=3e-2)),
    "adamw_default": ("AdamW", dict(), dict(amsgrad=True, weight_decay=0.1), dict(weight_decay=0)),
    "adamw_amsgrad": ("AdamW", dict(lr=1e-2, betas=(0.5, 0.9), amsgrad=True),
                      dict(lr=3e-2, weight_decay=0.5), dict(eps=1e-3, amsgrad=False)),
}


def _make_params(dtype, device):
    """w1, b1 | w2, b2 | w3 (gradient on even steps only), unused (never a gradient)."""
    g = torch.Generator().manual_seed(0)
    shapes = [(5, 4), (5,), (3, 5), (3,), (3, 4), (2,)]
    return [(torch.randn(s, generator=g) * 0.5).to(dtype=dtype, device=device).requires_grad_()
            for s in shapes]


def _data(dtype, device):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(16, 4, generator=g).to(dtype=dtype, device=device)
    y = torch.randn(16, 3, generator=g).to(dtype=dtype, device=device)
    return x, y


def _loss(params, x, y, step):
    w1, b1, w2, b2, w3, _unused = params
    out = torch.tanh(x @ w1.T + b1) @ w2.T + b2
    if step % 2 == 0:
        out = out + x @ w3.T
    return ((out - y) ** 2).mean()


def _groups(params, g1, g2):
    return [{"params": params[:2]}, {"params": params[2:4], **g1}, {"params": params[4:], **g2}]


def _assert_same_state(opt_ref, opt_torch, params_ref, params_torch, tol):
    for p_ref, p_torch in zip(params_ref, params_torch):
        s_ref, s_torch = opt_ref.state.get(p_ref, {}), opt_torch.state.get(p_torch, {})
        assert sorted(s_ref) == sorted(s_torch)
        for key in s_torch:
            if key == "step":
                assert float(s_ref[key]) == float(s_torch[key])
            else:
                torch.testing.assert_close(s_ref[key], s_torch[key], **tol, msg=lambda m: f"{key}: {m}")
    sd_ref, sd_torch = opt_ref.state_dict(), opt_torch.state_dict()
    assert sorted(sd_ref["state"]) == sorted(sd_torch["state"])
    for group_ref, group_torch in zip(sd_ref["param_groups"], sd_torch["param_groups"], strict=True):
        assert group_ref == {k: group_torch[k] for k in group_ref}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("case", list(CASES))
def test_steps_and_state_match_torch_optim(case, dtype, device):
    name, kwargs, g1, g2 = CASES[case]
    tol = TOL[dtype]
    x, y = _data(dtype, device)
    params_ref, params_torch = _make_params(dtype, device), _make_params(dtype, device)
    opt_ref = getattr(ref, name)(_groups(params_ref, g1, g2), **kwargs)
    opt_torch = getattr(tref, name)(_groups(params_torch, g1, g2), **kwargs)
    for step in range(STEPS):
        if step == LR_CHANGE_AT:
            for opt in (opt_ref, opt_torch):
                for group in opt.param_groups:
                    group["lr"] *= 0.5
        for opt, params in ((opt_ref, params_ref), (opt_torch, params_torch)):
            opt.zero_grad()
            _loss(params, x, y, step).backward()
            opt.step()
        for i, (p_ref, p_torch) in enumerate(zip(params_ref, params_torch)):
            torch.testing.assert_close(p_ref, p_torch, **tol,
                                       msg=lambda m: f"step {step}, parameter {i}: {m}")
    unused = params_ref[-1]
    assert unused.grad is None and unused not in opt_ref.state        # skipped: no state
    assert torch.equal(unused, _make_params(dtype, device)[-1])
    _assert_same_state(opt_ref, opt_torch, params_ref, params_torch, tol)


@pytest.mark.parametrize("name", NAMES)
def test_step_returns_the_closures_loss_and_uses_its_gradients(name, device):
    x, y = _data(torch.float64, device)
    params_ref, params_torch = _make_params(torch.float64, device), _make_params(torch.float64, device)
    opt_ref, opt_torch = getattr(ref, name)(params_ref, lr=0.01), getattr(tref, name)(params_torch, lr=0.01)
    for step in range(3):
        losses = []
        for opt, params in ((opt_ref, params_ref), (opt_torch, params_torch)):
            def closure(opt=opt, params=params):
                opt.zero_grad()
                loss = _loss(params, x, y, step)
                loss.backward()
                return loss
            with torch.no_grad():                                 # step() enables grad for the closure
                losses.append(opt.step(closure))
        torch.testing.assert_close(losses[0], losses[1], rtol=1e-10, atol=1e-10)
        for p_ref, p_torch in zip(params_ref, params_torch):
            torch.testing.assert_close(p_ref, p_torch, rtol=1e-10, atol=1e-10)
    assert opt_ref.step() is None                                  # no closure: None


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trips_with_torch_optim(name):
    """A torch.optim state_dict loads into the reference and training goes on identically."""
    x, y = _data(torch.float64, "cpu")
    params_ref, params_torch = _make_params(torch.float64, "cpu"), _make_params(torch.float64, "cpu")
    kwargs = dict(lr=0.01, momentum=0.9) if name in ("SGDMomentum", "RMSProp") else dict(lr=0.01, amsgrad=True)
    opt_torch = getattr(tref, name)(params_torch, **kwargs)
    for step in range(3):
        opt_torch.zero_grad()
        _loss(params_torch, x, y, step).backward()
        opt_torch.step()
    with torch.no_grad():
        for p_ref, p_torch in zip(params_ref, params_torch):
            p_ref.copy_(p_torch)
    opt_ref = getattr(ref, name)(params_ref, **kwargs)
    # load_state_dict keeps tensors that already have the right dtype and device:
    # deep copies, or two optimizers would update the same buffers in place.
    opt_ref.load_state_dict(copy.deepcopy(opt_torch.state_dict()))
    params_back = _make_params(torch.float64, "cpu")
    with torch.no_grad():
        for p_back, p_torch in zip(params_back, params_torch):
            p_back.copy_(p_torch)
    back = getattr(tref, name)(params_back, **kwargs)             # and the other way round
    back.load_state_dict(copy.deepcopy(opt_ref.state_dict()))
    for step in range(3, 6):
        for opt, params in ((opt_ref, params_ref), (opt_torch, params_torch), (back, params_back)):
            opt.zero_grad()
            _loss(params, x, y, step).backward()
            opt.step()
        for p_ref, p_torch, p_back in zip(params_ref, params_torch, params_back):
            torch.testing.assert_close(p_ref, p_torch, rtol=1e-10, atol=1e-10)
            torch.testing.assert_close(p_back, p_torch, rtol=1e-10, atol=1e-10)
    _assert_same_state(opt_ref, opt_torch, params_ref, params_torch, dict(rtol=1e-10, atol=1e-10))


def test_adam_state_step_is_a_float32_cpu_tensor_as_in_pytorch():
    p = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    for cls in (ref.Adam, ref.AdamW, ref.RMSProp):
        opt = cls([p])
        p.grad = torch.ones_like(p)
        opt.step()
        opt.step()
        step = opt.state[p]["step"]
        assert isinstance(step, torch.Tensor) and step.dtype == torch.float32
        assert step.device.type == "cpu" and step.dim() == 0 and float(step) == 2.0
        assert opt.state[p]["exp_avg" if cls is not ref.RMSProp else "square_avg"].dtype == torch.float64


def test_step_does_not_modify_grad():
    p = torch.ones(4, dtype=torch.float64, requires_grad=True)
    for cls, kwargs in ((ref.SGDMomentum, dict(momentum=0.9, weight_decay=0.1)),
                        (ref.RMSProp, dict(weight_decay=0.1, momentum=0.5, centered=True)),
                        (ref.Adam, dict(weight_decay=0.1)), (ref.AdamW, {})):
        opt = cls([p], **kwargs)
        grad = torch.arange(4.0, dtype=torch.float64)
        p.grad = grad.clone()
        opt.step()
        opt.step()
        assert torch.equal(p.grad, grad)


@pytest.mark.parametrize("name", NAMES)
def test_defaults_and_signature_match_torch_optim(name):
    def params_of(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]

    assert params_of(getattr(ref, name)) == params_of(getattr(tref, name))
    torch_cls = {"SGDMomentum": torch.optim.SGD, "RMSProp": torch.optim.RMSprop,
                 "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW}[name]
    assert issubclass(getattr(tref, name), torch_cls)
    assert issubclass(getattr(ref, name), torch.optim.Optimizer)
    assert not issubclass(getattr(ref, name), torch_cls)
    torch_defaults = {k: v.default for k, v in inspect.signature(torch_cls).parameters.items()}
    for k, v in inspect.signature(getattr(ref, name)).parameters.items():
        if k != "params":
            assert v.default == torch_defaults[k], k
    p = torch.zeros(2, requires_grad=True)
    group_ref = getattr(ref, name)([p]).param_groups[0]
    group_torch = torch_cls([p]).param_groups[0]
    assert group_ref == {k: group_torch[k] for k in group_ref}


BAD_ARGUMENTS = [
    ("SGDMomentum", dict(lr=-0.1)),
    ("SGDMomentum", dict(momentum=-0.5)),
    ("SGDMomentum", dict(weight_decay=-1e-4)),
    ("SGDMomentum", dict(nesterov=True)),                       # needs momentum > 0
    ("SGDMomentum", dict(nesterov=True, momentum=0.9, dampening=0.1)),
    ("RMSProp", dict(lr=-1e-3)),
    ("RMSProp", dict(alpha=-0.5)),
    ("RMSProp", dict(eps=-1e-8)),
    ("RMSProp", dict(momentum=-0.9)),
    ("RMSProp", dict(weight_decay=-0.1)),
    ("Adam", dict(lr=-1e-3)),
    ("Adam", dict(eps=-1e-8)),
    ("Adam", dict(betas=(1.0, 0.999))),
    ("Adam", dict(betas=(0.9, -0.1))),
    ("Adam", dict(weight_decay=-0.1)),
    ("AdamW", dict(lr=-1e-3)),
    ("AdamW", dict(betas=(-0.1, 0.999))),
    ("AdamW", dict(betas=(0.9, 1.0))),
    ("AdamW", dict(weight_decay=-0.01)),
    ("AdamW", dict(eps=-1.0)),
]


@pytest.mark.parametrize("name, kwargs", BAD_ARGUMENTS, ids=lambda v: str(v))
def test_invalid_arguments_raise_value_error_like_torch(name, kwargs):
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError) as expected:
        getattr(tref, name)([p], **kwargs)
    with pytest.raises(ValueError) as got:
        getattr(ref, name)([p], **kwargs)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("name, kwargs", [("SGDMomentum", dict(lr=0.0, nesterov=True, momentum=0.1)),
                                          ("RMSProp", dict(alpha=0.0, eps=0.0)),
                                          ("Adam", dict(betas=(0.0, 0.0), eps=0.0)),
                                          ("AdamW", dict(weight_decay=0.0))])
def test_boundary_arguments_are_accepted(name, kwargs):
    getattr(ref, name)([torch.zeros(2, requires_grad=True)], **kwargs)
