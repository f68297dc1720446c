"""The worker never receives expected outputs or reference code.

Every payload sent to a worker while grading is recorded (by wrapping
sandbox.Worker.request) and searched for the reference's own code lines and for
the bytes of every expected output. The submissions are written independently
of the reference (so their own text cannot contain the reference's lines): one
correct, one with a known mistake (which makes the grader compute the mistaken
reference's outputs too, to name the mistake).
"""
import json
import shutil

import pytest
import torch

from autograder import impl as impl_module
from autograder import sandbox, wire
from autograder.batch import grade_batch, hidden_plan
from autograder.config import Config
from autograder.reference import ReferenceSide
from autograder.topics import ROOT, TOPICS

pytestmark = pytest.mark.slow

TOPIC = TOPICS["normalization"]
PLAN = hidden_plan(("normalization",))["normalization"]
ALLOWED_OPS = {"configure", "write", "import", "call", "get", "set", "param", "seed", "hello"}

# A correct implementation written without looking at the reference's text.
OWN = '''\
import torch
from torch import nn


def _channel_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def batch_norm(x, running_mean, running_var, weight, bias, training, momentum=0.1, eps=1e-5):
    view = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    count = x.numel() // x.shape[1]
    if training:
        if count == 1:
            raise ValueError("need more than one value per channel in training")
        mu = torch.mean(x, dim=_channel_axes(x))
        centered = x - mu.view(view)
        sigma2 = (centered * centered).mean(dim=_channel_axes(x))
        if running_mean is not None and count > 0:
            with torch.no_grad():
                running_mean.mul_(1 - momentum).add_(mu.detach(), alpha=momentum)
                UNBIASED
                running_var.mul_(1 - momentum).add_(estimate, alpha=momentum)
    else:
        if running_mean is None:
            raise RuntimeError("running_mean must be defined in evaluation mode")
        sigma2 = running_var
        centered = x - running_mean.view(view)
    y = centered * torch.rsqrt(sigma2.view(view) + eps)
    if weight is not None:
        y = y * weight.view(view)
    if bias is not None:
        y = y + bias.view(view)
    return y


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mu = x.mean(dim=axes, keepdim=True)
    sigma2 = ((x - mu) ** 2).mean(dim=axes, keepdim=True)
    y = (x - mu) * torch.rsqrt(sigma2 + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


class _Norm(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.register_parameter("weight", nn.Parameter(torch.ones(num_features, **kw)) if affine else None)
        self.register_parameter("bias", nn.Parameter(torch.zeros(num_features, **kw))
                                if affine and bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **kw))
            self.register_buffer("running_var", torch.ones(num_features, **kw))
            self.register_buffer("num_batches_tracked", torch.zeros((), dtype=torch.long, device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def forward(self, x):
        self._dims(x)
        factor = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if factor is None:
                factor = 1.0 / float(self.num_batches_tracked)
        batch_stats = self.training or not self.track_running_stats
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          batch_stats, 0.0 if factor is None else factor, self.eps)


class BatchNorm1d(_Norm):
    def _dims(self, x):
        if x.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.ndim}D input)")


class BatchNorm2d(_Norm):
    def _dims(self, x):
        if x.ndim != 4:
            raise ValueError(f"expected 4D input (got {x.ndim}D input)")


class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps = tuple(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        kw = {"device": device, "dtype": dtype}
        self.register_parameter("weight", nn.Parameter(torch.ones(self.normalized_shape, **kw))
                                if elementwise_affine else None)
        self.register_parameter("bias", nn.Parameter(torch.zeros(self.normalized_shape, **kw))
                                if elementwise_affine and bias else None)

    def forward(self, x):
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)


class BatchNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        if x.shape[0] < 2:
            raise ValueError("need more than one value per channel in training")
        centered = x - x.mean(0, keepdim=True)
        inv = torch.rsqrt((centered * centered).mean(0, keepdim=True) + eps)
        normed = centered * inv
        y = normed if weight is None else normed * weight
        if bias is not None:
            y = y + bias
        ctx.save_for_backward(normed, inv, weight)
        return y

    @staticmethod
    def backward(ctx, dy):
        normed, inv, weight = ctx.saved_tensors
        n = dy.shape[0]
        g = dy if weight is None else dy * weight
        dx = inv / n * (n * g - g.sum(0, keepdim=True) - normed * (g * normed).sum(0, keepdim=True))
        dw = (dy * normed).sum(0) if ctx.needs_input_grad[1] else None
        db = dy.sum(0) if ctx.needs_input_grad[2] else None
        return dx, dw, db, None


class Standardizer:
    def __init__(self):
        self.mean_ = None
        self.scale_ = None

    def fit(self, X):
        data = X.detach().double()
        centre = data.sum(0) / data.shape[0]
        spread = ((data - centre) ** 2).sum(0).div(data.shape[0]).sqrt()
        flat = data.amax(0) == data.amin(0)
        spread[flat] = 1.0
        self.mean_, self.scale_ = centre, spread
        return self

    def transform(self, X):
        if self.mean_ is None:
            raise RuntimeError("not fitted")
        return X.double().sub(self.mean_).div(self.scale_).to(X.dtype)

    def fit_transform(self, X):
        self.fit(X)
        return self.transform(X)

    def inverse_transform(self, Z):
        if self.mean_ is None:
            raise RuntimeError("not fitted")
        return Z.double().mul(self.scale_).add(self.mean_).to(Z.dtype)


def fold_batchnorm(linear, bn):
    if bn.running_var is None:
        raise ValueError("no running statistics to fold")
    gain = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        gain = gain * bn.weight
    offset = -bn.running_mean * gain
    if bn.bias is not None:
        offset = offset + bn.bias
    old_bias = linear.bias if linear.bias is not None else torch.zeros_like(bn.running_mean)
    out = nn.Linear(linear.in_features, linear.out_features,
                    device=linear.weight.device, dtype=linear.weight.dtype)
    with torch.no_grad():
        out.weight.copy_(gain[:, None] * linear.weight)
        out.bias.copy_(gain * old_bias + offset)
    return out


def accumulated_gradients(model, loss_fn, x, y, micro_batch):
    named = [(k, p) for k, p in model.named_parameters() if p.requires_grad]
    kept = [p.grad for _, p in named]
    for _, p in named:
        p.grad = None
    total = len(x)
    for xs, ys in zip(torch.split(x, micro_batch), torch.split(y, micro_batch)):
        (loss_fn(model(xs), ys) * len(xs) / total).backward()
    found = {k: torch.zeros_like(p) if p.grad is None else p.grad for k, p in named}
    for (_, p), g in zip(named, kept):
        p.grad = g
    return found
'''
CORRECT = OWN.replace("UNBIASED", "estimate = sigma2.detach() * (count / (count - 1))")
BIASED = OWN.replace("UNBIASED", "estimate = sigma2.detach()")


def reference_only_lines() -> list[str]:
    """Code lines of the reference that the stub does not share (its solution regions)."""
    stub = {line.strip() for line in (TOPIC.assignment_dir(ROOT) / TOPIC.filename).read_text().splitlines()}
    lines = []
    for line in TOPIC.solution_path(ROOT).read_text().splitlines():
        text = line.strip()
        if len(text) > 30 and text not in stub and not text.startswith("#"):
            lines.append(text)
    return lines


def strings_in(value):
    """Every string inside a decoded payload."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings_in(k)
            yield from strings_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings_in(v)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """(payloads sent to workers, {name: Graded}) for grading CORRECT and BIASED."""
    root = tmp_path_factory.mktemp("isolation")
    for name, text in (("own-correct", CORRECT), ("own-biased", BIASED)):
        (root / "subs" / name).mkdir(parents=True)
        (root / "subs" / name / TOPIC.filename).write_text(text)
    payloads = []
    original = sandbox.Worker.request

    def recording(self, payload, timeout):
        payloads.append(bytes(payload))
        return original(self, payload, timeout)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sandbox.Worker, "request", recording)
        graded = grade_batch([root / "subs"], root / "out",
                             Config(devices=("cpu", "cuda"), topics=("normalization",), jobs=2),
                             regrade=True)
    results = {g.name: g for g in graded}
    outcomes = {g.name: json.loads((root / "out" / g.name / "results.json").read_text())
                ["extra_data"]["outcomes"] for g in graded}
    yield payloads, results, outcomes
    shutil.rmtree(root, ignore_errors=True)


def test_own_correct_submission_passes_every_check(recorded):
    """Without this the search below would prove little: a correct, independent submission.
    (The meta-device placement probe is left out: it is load-sensitive, see test_sandbox.py.)"""
    _, results, outcomes = recorded
    assert results["own-correct"].score.max_score > 0
    assert [(o["check_id"], o["message"]) for o in outcomes["own-correct"]
            if o["device"] == "cpu" and o["status"] != "passed"] == []


def test_own_biased_submission_is_caught_and_named(recorded):
    _, results, outcomes = recorded
    assert results["own-biased"].score.score < results["own-biased"].score.max_score
    assert any("Likely cause: running_var was updated with the biased variance" in o["message"]
               for o in outcomes["own-biased"])


def test_only_the_protocol_ops_are_sent(recorded):
    payloads, _, _ = recorded
    assert payloads
    ops = {wire.loads(p, handle=lambda node: node, ref=lambda node: node)["op"] for p in payloads}
    assert ops <= ALLOWED_OPS
    assert {"configure", "write", "import", "call"} <= ops


def test_no_payload_contains_a_line_of_the_reference_solution(recorded):
    payloads, _, _ = recorded
    lines = reference_only_lines()
    assert len(lines) > 20                        # the check below is not vacuous
    own = CORRECT + BIASED
    lines = [line for line in lines if line not in own]
    texts = [s for p in payloads for s in strings_in(wire.loads(p, handle=lambda n: n, ref=lambda n: n))]
    raw = b"".join(payloads)
    leaked = [line for line in lines if any(line in t for t in texts) or line.encode() in raw]
    assert leaked == []


def test_no_payload_contains_the_bytes_of_an_expected_output(recorded):
    payloads, _, _ = recorded
    raw = b"\n".join(payloads)
    reference = ReferenceSide("solutions")
    sent_to_reference = []
    original = impl_module.LocalConnection.request

    def recording(self, payload, timeout=None):
        sent_to_reference.append(bytes(payload))
        return original(self, payload, timeout)

    expected_blobs = []
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(impl_module.LocalConnection, "request", recording)
            for check in PLAN.checks:
                run = reference.expected(check, "cpu", check.seed(Config.base_seed))
                assert run.error is None, (check.id, run.error)
                inputs = b"\n".join(sent_to_reference)      # what the driver itself sent
                sent_to_reference.clear()
                for tensor in tensors_in(run.outputs):
                    if tensor.numel() >= 8 and tensor.device.type != "meta":
                        flat = tensor.detach().cpu().contiguous()
                        if flat.dtype == torch.bfloat16:       # numpy has no bfloat16: the same bytes
                            flat = flat.view(torch.int16)
                        blob = flat.numpy().tobytes()
                        if blob not in inputs:             # an input echoed back is no secret
                            expected_blobs.append((check.id, blob))
    finally:
        reference.close()
    assert len(expected_blobs) > 20
    leaked = sorted({check_id for check_id, blob in expected_blobs if blob in raw})
    assert leaked == []


def tensors_in(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from tensors_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from tensors_in(v)
