"""guard.py: a topic's forbidden built-ins are unreachable in the worker, by every road.

Each road runs in a fork of this process (torch is imported once) that installs the
topic's guard first, as a worker does at `configure`: a road to a forbidden built-in
must end the fork with guard.FORBIDDEN_EXIT and name what it touched; an allowed
computation must run to the end. Then, through real workers: a worker's guard holds
against a submission that tries to undo it, and a zygote's worker cannot read the
files that would rebuild a blocked built-in.
"""
from __future__ import annotations

import os
import textwrap

import pytest
import torch

from autograder import guard, isolation, launch, topics, wire
from autograder.sandbox import Limits, Worker, WorkerDied

FORBIDDEN = guard.FORBIDDEN_EXIT

# (topic's guard, what the submission runs, the name the guard must report (a substring))
ROADS = [
    # normalization: the three roads, and more
    ("NORM_GUARD", "F.batch_norm(x, None, None, training=True)", "batch_norm"),
    ("NORM_GUARD", "getattr(F, 'batch' + '_norm')(x, None, None, training=True)", "batch_norm"),
    ("NORM_GUARD", "getattr(torch.ops.aten, 'native_layer' + '_norm')(x, [4], None, None, 1e-5)",
     "aten::native_layer_norm"),
    ("NORM_GUARD", "type('Mine', (torch.nn.LayerNorm,), {})(4)(x)", "LayerNorm"),
    ("NORM_GUARD", "type('Mine', (torch.nn.BatchNorm1d,), {})(4)(x)", "BatchNorm"),
    # a built-in module only built (its parameters, its state_dict), never called
    ("NORM_GUARD", "type('Mine', (getattr(torch.nn, 'Layer' + 'Norm'),), {})(4).state_dict()",
     "LayerNorm.__init__"),
    ("NORM_GUARD", "torch.nn.modules.batchnorm._BatchNorm.__init__(object.__new__(torch.nn.Module), 4)",
     "_BatchNorm.__init__"),
    # roads found here: Python decompositions that compute a norm from plain ops
    ("NORM_GUARD", "torch._refs.native_layer_norm(x, [4], None, None, 1e-5)", "native_layer_norm"),
    ("NORM_GUARD", "torch._refs.native_layer_norm.__wrapped__(x, [4], None, None, 1e-5)",
     "native_layer_norm"),
    ("NORM_GUARD", "import torch._decomp.decompositions as d\n"
                   "d.native_batch_norm(x, None, None, None, None, True, 0.1, 1e-5)", "native_batch_norm"),
    # ... and other backends, modes and namespaces of the same kernels
    ("NORM_GUARD", "torch.ops.aten.native_batch_norm(x.to_mkldnn(), None, None, None, None, True, 0.1, 1e-5)",
     "aten::native_batch_norm"),
    ("NORM_GUARD", "torch.nn.BatchNorm1d(4)(x.to('meta'))", "BatchNorm"),
    ("NORM_GUARD", "with torch.inference_mode():\n    torch.layer_norm(x, (4,))", "layer_norm"),
    ("NORM_GUARD", "torch.group_norm(x, 1)", "group_norm"),
    ("NORM_GUARD", "from torch.nn.utils import fusion\n"
                   "fusion.fuse_linear_bn_weights(x, None, x[0], x[0], 1e-5, x[0], x[0])",
     "fuse_linear_bn_weights"),
    ("NORM_GUARD", "torch._native_batch_norm_legit(x, None, None, torch.zeros(4), torch.ones(4), True, 0.1, 1e-5)",
     "_native_batch_norm_legit"),
    ("DROPOUT_GUARD", "F.dropout(x, 0.5)", "dropout"),
    ("DROPOUT_GUARD", "torch.nn.Dropout(0.5)(x)", "Dropout"),
    ("DROPOUT_GUARD", "torch.ops.aten.native_dropout(x, 0.5, True)", "aten::native_dropout"),
    ("DROPOUT_GUARD", "torch._refs.nn.functional.dropout(x, 0.5)", "dropout"),
    ("DROPOUT_GUARD", "torch.feature_alpha_dropout(x, 0.5, True)", "dropout"),
    ("DROPOUT_GUARD", "type('Mine', (torch.nn.Dropout,), {'forward': lambda s, v: v})(0.5).p", "Dropout"),
    ("OPTIM_GUARD", "p = torch.nn.Parameter(x.clone()); p.grad = x\ntorch.optim.Adam([p]).step()", "Adam"),
    ("OPTIM_GUARD", "p = torch.nn.Parameter(x.clone()); p.grad = x\n"
                    "getattr(torch.optim, 'S' + 'GD')([p], lr=0.1).step()", "SGD"),
    ("OPTIM_GUARD", "import torch.optim.adam as a\n"
                    "a._single_tensor_adam([x], [x], [x], [x], [], [torch.tensor(0.)], None, None, "
                    "amsgrad=False, has_complex=False, beta1=0.9, beta2=0.99, lr=0.1, weight_decay=0, "
                    "eps=1e-8, maximize=False, capturable=False, differentiable=False)", "_single_tensor_adam"),
    ("OPTIM_GUARD", "torch._fused_adam_([x], [x], [x], [x], [], [torch.tensor(1.)], lr=0.1, beta1=0.9, "
                    "beta2=0.99, weight_decay=0., eps=1e-8, amsgrad=False, maximize=False)", "_fused_adam_"),
    ("AUTOGRAD_GUARD", "torch.func.grad(lambda v: v.sum())(x)", "grad"),
    ("AUTOGRAD_GUARD", "torch.autograd.functional.jacobian(lambda v: v.sum(), x)", "jacobian"),
    ("AUTOGRAD_GUARD", "torch.autograd.gradcheck(lambda v: v.sum(), x.double().requires_grad_())",
     "gradcheck"),
    ("AUTOGRAD_GUARD", "torch.gradient(x)", "aten::gradient"),
    ("ENSEMBLE_GUARD", "torch.func.stack_module_state([torch.nn.Linear(2, 2)])", "stack_module_state"),
]

# What a correct submission does under the same guards: it must run.
ALLOWED = [
    ("NORM_GUARD", "mu = x.mean(0); v = x.var(0, correction=0)\n"
                   "out = (x - mu) / torch.sqrt(v + 1e-5)\nout.sum()"),
    ("NORM_GUARD", "torch.var_mean(x, dim=1); torch.nn.functional.normalize(x); x.norm()"),
    ("NORM_GUARD", "y = x.clone().requires_grad_(); ((y - y.mean(0)) ** 2).sum().backward()"),
    ("DROPOUT_GUARD", "m = torch.rand_like(x) > 0.5; (x * m / 0.5).sum(); torch.bernoulli(x.sigmoid())"),
    ("OPTIM_GUARD", "p = torch.nn.Parameter(x.clone()); o = torch.optim.Optimizer([p], {'lr': 0.1})\n"
                    "p.grad = x; p.data.add_(p.grad, alpha=-0.1); torch._foreach_mul_([p.data], 0.5)"),
    ("AUTOGRAD_GUARD", "y = x.clone().requires_grad_(); torch.autograd.grad((y ** 2).sum(), y)"),
    ("ENSEMBLE_GUARD", "torch.func.vmap(lambda v: v * 2)(x); torch.nn.Dropout(0.5)(x)"),
]


def run_guarded(guard_name: str, code: str) -> tuple[int, str]:
    """Fork, install the guard, run `code`; (exit status, what was written to stderr)."""
    spec = getattr(topics, guard_name).as_data()
    guard.preload(spec["python"])
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                      # the child: a worker in miniature
        exit_now, write = os._exit, os.write          # the road may replace os's own
        os.close(read_end)
        os.dup2(write_end, 2)
        try:
            guard.install(spec)
            namespace = {"torch": torch, "F": torch.nn.functional, "x": torch.randn(6, 4)}
            exec(compile(textwrap.dedent(code), "<road>", "exec"), namespace)
        except BaseException as exc:                  # noqa: BLE001 - reported by status
            write(2, f"raised {type(exc).__name__}: {exc}".encode())
            exit_now(3)
        exit_now(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 1 << 16):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("guard_name,code,name", ROADS, ids=[f"{g}:{c.splitlines()[-1][:50]}" for g, c, _ in ROADS])
def test_every_road_to_a_forbidden_builtin_ends_the_worker_and_names_it(guard_name, code, name):
    status, log = run_guarded(guard_name, code)
    assert status == FORBIDDEN, f"the road ran (status {status}): {log[-300:]}"
    reported = [line for line in log.splitlines() if line.startswith(guard.LOG_PREFIX)]
    assert reported and name in reported[-1], log


@pytest.mark.parametrize("guard_name,code", ALLOWED, ids=[f"{g}:{c.splitlines()[0][:40]}" for g, c in ALLOWED])
def test_what_a_correct_submission_does_still_runs_under_the_guard(guard_name, code):
    status, log = run_guarded(guard_name, code)
    assert status == 0, log[-500:]


def test_no_python_object_unregisters_the_blocked_kernels():
    """Library._destroy on every object, and a kernel registered on top: neither brings back
    the original kernel (the registration is held by a reference no object has)."""
    status, log = run_guarded("NORM_GUARD", """
        import gc
        for o in gc.get_objects():
            try:
                if callable(getattr(o, "_destroy", None)):
                    o._destroy()
            except Exception:
                pass
        lib = torch.library.Library("aten", "IMPL")
        lib.impl("native_layer_norm", lambda *a: (a[0], a[0], a[0]), "CPU")
        lib._destroy()                         # back to the guard's kernel, not PyTorch's
        torch.ops.aten.native_layer_norm(x, [4], None, None, 1e-5)
    """)
    assert status == FORBIDDEN, log[-300:]


def test_rewriting_the_guard_itself_gains_nothing():
    """A submission that replaces the guard's own exit gets its own code, not the built-in."""
    status, log = run_guarded("NORM_GUARD", """
        import os, sys
        os._exit = lambda code: None          # the poisoned code calls os._exit: now a no-op
        out = F.layer_norm(x, (4,))
        assert out is None, "the original layer_norm ran"
    """)
    assert status == 0, log[-300:]


def test_each_topic_blocks_only_its_own_builtins():
    assert topics.TOPICS["residual"].guard == topics.Guard()          # builds on nn.BatchNorm1d
    assert topics.TOPICS["ensembles"].guard == topics.ENSEMBLE_GUARD  # uses nn.Dropout
    capstone = topics.TOPICS["capstone"].guard
    for part in (topics.NORM_GUARD, topics.DROPOUT_GUARD, topics.OPTIM_GUARD):
        assert set(part.kernels) <= set(capstone.kernels) and set(part.python) <= set(capstone.python)


# ----------------------------------------------------------------------------- real workers

ZYGOTE = launch.use_zygote()
NAMESPACES = isolation.detect().namespaces


def ask(worker: Worker, message: dict, timeout: float = 120):
    return wire.loads(worker.request(wire.dumps(message), timeout))


def test_a_worker_configured_for_a_topic_dies_on_its_forbidden_builtin():
    worker = Worker(Limits())
    try:
        reply = ask(worker, {"op": "configure", "threads": 1, "guard": topics.NORM_GUARD.as_data()})
        assert reply["value"]["kernels"] > 50 and reply["value"]["python"] > 10
        source = "import torch\n\ndef run(x):\n    return torch.layer_norm(x, (x.shape[-1],))\n"
        ask(worker, {"op": "write", "files": {"student.py": source}})
        assert ask(worker, {"op": "import", "module": "student"}) == {"value": None}
        with pytest.raises(WorkerDied) as info:
            ask(worker, {"op": "call", "target": {"module": "student", "path": [["attr", "run"]]},
                         "args": [torch.randn(3, 4)]}, timeout=30)
        assert info.value.code == FORBIDDEN
        assert f"{guard.LOG_PREFIX}torch.nn.functional.layer_norm" in worker.output_log() or \
            f"{guard.LOG_PREFIX}aten::layer_norm" in worker.output_log()
    finally:
        worker.close()


@pytest.mark.skipif(not (ZYGOTE and NAMESPACES), reason="needs the zygote and the mount namespace")
def test_a_zygote_worker_cannot_read_the_sources_of_blocked_builtins():
    """Reloading torch._refs or loading torch.optim.adam's bytecode would rebuild a blocked
    built-in: inside the worker those files read as empty."""
    files = launch.guarded_sources()
    assert any(f.endswith("optim/adam.py") for f in files)
    assert any("_refs" in f for f in files)
    worker = Worker(Limits())
    try:
        ask(worker, {"op": "configure", "threads": 1})
        source = "def sizes(paths):\n    return [len(open(p, 'rb').read()) for p in paths]\n"
        ask(worker, {"op": "write", "files": {"student.py": source}})
        ask(worker, {"op": "import", "module": "student"})
        reply = ask(worker, {"op": "call", "target": {"module": "student", "path": [["attr", "sizes"]]},
                             "args": [files]})
        assert reply["value"] == [0] * len(files)
    finally:
        worker.close()
