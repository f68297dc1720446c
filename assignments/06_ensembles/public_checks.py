"""Public checks for ensembles: run them with

    python -m autograder check ensembles

from the folder that holds assignments/. PyTorch has no built-in for these, so
each check states the expected answer itself. The members and models are small
PyTorch layers built where your code runs. The hidden checks test more: stacked
inputs, score inputs, ties, dtypes, and MC dropout's output.
"""
import torch

from autograder.checks import cause, check, fetch, torch_on

TOPIC = "ensembles"

AVERAGED_LOGITS = cause(
    "averaged logits",
    "the ensemble averaged the members' logits; mode=\"mean\" averages their softmax "
    "probabilities (softmax each member's output first, then take the mean).")
SOFTMAX_OF_MEAN = cause(
    "softmax of the averaged logits",
    "the ensemble took the softmax of the averaged logits; mode=\"mean\" averages the "
    "members' probabilities: softmax each member's logits, then take the mean.")
SOFTMAX_DIM = cause(
    "softmax over the wrong dim",
    "the softmax was taken over the batch (dim 0); each row of logits is one sample, so "
    "take it over the classes: torch.softmax(z, dim=1).")
PLAIN_LIST = cause(
    "members in a plain list",
    "the members are kept in a Python list, which hides them from state_dict(), .to() and "
    ".eval(); keep them in nn.ModuleList(models) named models.")
WHOLE_MODEL_TRAINING = cause(
    "whole model in train mode",
    "the whole model was put in training mode, so BatchNorm used (and updated) batch "
    "statistics; only the Dropout modules go to training mode, everything else to eval.")
NOT_RESTORED = cause(
    "modes not restored",
    "the modules' train/eval flags were not restored afterwards; remember each module's "
    "flag before and set it back (in a finally block).")
ALL_TRAINING = cause(
    "model.train() instead of restoring",
    "afterwards every module was put in training mode; restore each module's own previous "
    "flag instead (the model may have been in eval mode, or partly in training mode).")


def _judge_average(got):
    want = (got["a"] + got["b"] + got["c"]) / 3
    out = got["out"]
    if not isinstance(out, torch.Tensor) or out.shape != want.shape:
        return f"average_predictions returned {type(out).__name__}; expected a tensor of shape {tuple(want.shape)}."
    if not torch.allclose(out, want, rtol=1e-5, atol=1e-6):
        return "average_predictions([a, b, c]) is not (a + b + c) / 3 (nothing else should be applied)."
    return None


@check(points=1, public=True, judge=_judge_average)
def average_three(impl, t):
    """average_predictions([a, b, c]) equals (a + b + c) / 3."""
    a, b, c = t.randn(4, 3), t.randn(4, 3), t.randn(4, 3)
    return {"a": a, "b": b, "c": c, "out": impl.average_predictions([a, b, c])}


def _judge_vote(got):
    out = got["out"]
    want = torch.tensor([0, 1, 2], device=out.device if isinstance(out, torch.Tensor) else "cpu")
    if not isinstance(out, torch.Tensor) or out.dtype != torch.int64:
        return f"majority_vote returned {getattr(out, 'dtype', type(out).__name__)}; expected an int64 tensor."
    if not torch.equal(out, want):
        return (f"majority_vote gave {out.tolist()}; expected [0, 1, 2]. Sample 0 has votes "
                "[2, 0, 2, 0]: a tie, which goes to the smallest class index.")
    return None


@check(points=1, public=True, judge=_judge_vote)
def vote_with_tie(impl, t):
    """majority_vote of 4 members: the most frequent label; a tie goes to the smallest class."""
    members = [t.tensor([2, 1, 2], dtype=torch.int64), t.tensor([0, 1, 2], dtype=torch.int64),
               t.tensor([2, 0, 1], dtype=torch.int64), t.tensor([0, 1, 2], dtype=torch.int64)]
    return {"out": impl.majority_vote(members)}


def _judge_mean(got):
    out, (z1, z2) = got["out"], got["members' logits"]
    want = (z1.softmax(1) + z2.softmax(1)) / 2
    if not isinstance(out, torch.Tensor) or out.shape != want.shape:
        return f"Ensemble(mode=\"mean\") returned {getattr(out, 'shape', type(out).__name__)}; expected {tuple(want.shape)}."
    if torch.allclose(out, want, rtol=1e-5, atol=1e-6):
        return None
    message = "Ensemble(mode=\"mean\") is not the mean of the members' softmax probabilities."
    for other, found in (((z1 + z2) / 2, AVERAGED_LOGITS), (((z1 + z2) / 2).softmax(1), SOFTMAX_OF_MEAN),
                         ((z1.softmax(0) + z2.softmax(0)) / 2, SOFTMAX_DIM)):
        if torch.allclose(out, other, rtol=1e-5, atol=1e-6):
            return f"{message}\n{found}"
    return message


@check(points=1, public=True, judge=_judge_mean)
def ensemble_mean_of_probabilities(impl, t):
    """Ensemble([m1, m2]) (mode="mean") returns the mean of the members' softmax probabilities."""
    nn = torch_on(impl).nn
    members = [nn.Linear(4, 3).to(str(t.device)) for _ in range(2)]
    x = t.randn(6, 4) * 3
    return {"out": impl.Ensemble(members)(x), "members' logits": [m(x) for m in members]}


def _judge_registered(got):
    want = ["models.0.weight", "models.0.bias", "models.1.weight", "models.1.bias"]
    if sorted(got["keys"]) == sorted(want):
        return None
    message = f"Ensemble([m1, m2]).state_dict() has the keys {got['keys']}; expected {want}."
    return f"{message}\n{PLAIN_LIST}" if not got["keys"] else message


@check(points=1, public=True, judge=_judge_registered)
def ensemble_registers_members(impl, t):
    """Ensemble keeps its members in an nn.ModuleList named models: its state_dict holds theirs."""
    nn = torch_on(impl).nn
    return {"keys": list(impl.Ensemble([nn.Linear(4, 3), nn.Linear(4, 3)]).state_dict())}


LAYERS = ["Sequential", "Linear", "BatchNorm1d", "Dropout", "Linear"]


def _judge_modes(got):
    out, flags = got["out"], got["training flags after the call"]
    if not isinstance(out, torch.Tensor) or out.shape != (6, 3):
        return f"mc_dropout_predict returned {getattr(out, 'shape', type(out).__name__)}; expected (6, 3)."
    if not torch.equal(got["running_mean before"], got["running_mean after"]):
        return ("The BatchNorm's running_mean changed: it ran in training mode during the passes; "
                f"only the Dropout modules go to training mode.\n{WHOLE_MODEL_TRAINING}")
    if any(flags):
        found = ", ".join(f"{name} ({i})" for i, (name, flag) in enumerate(zip(LAYERS, flags)) if flag)
        message = (f"The model was in eval mode before the call; afterwards these modules are in "
                   f"training mode: {found}. Restore every module's own flag.")
        return f"{message}\n{ALL_TRAINING if all(flags) else NOT_RESTORED}"
    return None


@check(points=1, public=True, judge=_judge_modes)
def mc_dropout_modes(impl, t):
    """mc_dropout_predict on a model in eval mode: BatchNorm stays in eval, every flag restored."""
    nn = torch_on(impl).nn
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 3))
    model = model.to(str(t.device))
    model.eval()
    before = fetch(model[1].running_mean)
    out = impl.mc_dropout_predict(model, t.randn(6, 4), 4)
    return {"out": out, "running_mean before": before, "running_mean after": fetch(model[1].running_mean),
            "training flags after the call": [fetch(model.training)] + [fetch(model[i].training) for i in range(4)]}


def _judge_mixed(got):
    out, logits = got["out"], got["members' logits"]
    want = sum(z.softmax(1) for z in logits) / len(logits)
    if not isinstance(out, torch.Tensor) or out.shape != want.shape:
        return (f"Ensemble of three different members returned {getattr(out, 'shape', type(out).__name__)}; "
                f"expected {tuple(want.shape)}.")
    if not torch.allclose(out, want, rtol=1e-5, atol=1e-6):
        return ("Ensemble of a Linear layer, a one-hidden-layer and a two-hidden-layer MLP is not the "
                "mean of their softmax probabilities: call each member on x, whatever its architecture.")
    return None


@check(points=1, public=True, judge=_judge_mixed)
def ensemble_of_mixed_members(impl, t):
    """Ensemble of members with different architectures (depth 0, 1 and 2) averages their probabilities."""
    nn = torch_on(impl).nn
    members = [nn.Linear(4, 3), nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)),
               nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))]
    members = [m.to(str(t.device)) for m in members]
    x = t.randn(6, 4) * 2
    return {"out": impl.Ensemble(members)(x), "members' logits": [m(x) for m in members]}


WITHOUT_REPLACEMENT = cause(
    "drawn without replacement",
    "each bag was a permutation of range(n) (torch.randperm, or sampling without replacement): "
    "no index repeats, so every member sees the same data in another order. A bootstrap sample "
    "draws n indices WITH replacement: torch.randint(n, (members, n), generator=generator, "
    "device=generator.device).")


def _judge_bags(got):
    bags, again = got["bags"], got["same seed again"]
    if not isinstance(bags, torch.Tensor) or tuple(bags.shape) != (50, 200) or bags.dtype != torch.int64:
        found = f"{bags.dtype} {tuple(bags.shape)}" if isinstance(bags, torch.Tensor) else type(bags).__name__
        return f"bootstrap_indices(200, 50, generator) returned {found}; expected int64 (50, 200)."
    bags = bags.cpu()
    if int(bags.min()) < 0 or int(bags.max()) > 199:
        return f"The indices go from {int(bags.min())} to {int(bags.max())}; expected 0 .. 199."
    distinct = sum(len(set(row.tolist())) for row in bags) / 50
    if not 122.8 <= distinct <= 130.4:   # with replacement: 126.6 +/- 3.75 (6 sigma)
        message = (f"A bag of 200 draws holds {distinct:.1f} distinct indices on average; drawn with "
                   "replacement it holds about 126.6 (63.2%).")
        return f"{message}\n{WITHOUT_REPLACEMENT}" if distinct > 199.5 else message
    if not isinstance(again, torch.Tensor) or not torch.equal(again.cpu(), bags):
        return ("A generator seeded alike gave different bags: draw from the generator "
                "(generator=generator), not from the global random state.")
    return None


@check(points=1, public=True, judge=_judge_bags, task="bootstrap_indices")
def bootstrap_bags(impl, t):
    """bootstrap_indices(200, 50, generator): (50, 200) int64 bags drawn with replacement, the same for the same seed."""
    def generator():
        return torch_on(impl).Generator(device=str(t.device)).manual_seed(7)
    return {"bags": impl.bootstrap_indices(200, 50, generator()),
            "same seed again": impl.bootstrap_indices(200, 50, generator())}
