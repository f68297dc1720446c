"""Hidden checks: ensembles (averaging, voting, Ensemble, MC dropout, bootstrap samples).

Member models are built from PyTorch's own layers on the submission's side
(`torch_on`) and get the same seeded weights on both sides, so only the
student's ensembling code is under test. While this topic is graded, the
student's `from dropout import Dropout` gets torch.nn.Dropout (topics.py).
"""
import math

import torch

from autograder.checks import (RemoteError, cause, check, fetch, fns_on, make_param, manual_seed,
                               raised, torch_on)

TOPIC = "ensembles"
PLACEMENT_POINTS = 1
F64 = torch.float64


def _mlp(impl, t, sizes, dtype=torch.float32, dropout=None, batchnorm=False, dropout_cls=None):
    """A small MLP on the implementation's side with seeded weights (its dropout layers made
    by `dropout_cls`, nn.Dropout unless given)."""
    nn = torch_on(impl).nn
    dropout_cls = dropout_cls or nn.Dropout
    layers, state, index = [], {}, 0
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        state[f"{index}.weight"] = t.randn(b, a, dtype=dtype) / a ** 0.5
        state[f"{index}.bias"] = t.randn(b, dtype=dtype) * 0.1
        index += 1
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(nn.BatchNorm1d(b))
                state[f"{index}.weight"] = t.rand(b, dtype=dtype) + 0.5
                state[f"{index}.bias"] = t.randn(b, dtype=dtype) * 0.1
                state[f"{index}.running_mean"] = t.randn(b, dtype=dtype) * 0.1
                state[f"{index}.running_var"] = t.rand(b, dtype=dtype) + 0.5
                state[f"{index}.num_batches_tracked"] = torch.tensor(3, device=t.device)
                index += 1
            layers.append(nn.ReLU())
            index += 1
            if dropout is not None:
                layers.append(dropout_cls(dropout))
                index += 1
    model = nn.Sequential(*layers).to(device=t.device, dtype=dtype)
    model.load_state_dict(state)
    return model


def _or_error(call):
    """The implementation's result, or "raised Kind" when it raised: compared with the
    reference's, so that a crash on one input still lets a known mistake be named."""
    try:
        return call()
    except RemoteError as exc:
        if exc.is_a("NotImplementedError"):
            raise                   # an unfinished stub is "not attempted"
        return f"raised {exc.type}"


# ----------------------------------------------------------------------------- averaging

@check(points=1)
def average_list(impl, t):
    """average_predictions: the element-wise mean of a list of 4 tensors (N, C)."""
    return {"out": impl.average_predictions([t.randn(6, 3) for _ in range(4)])}


@check(points=1)
def average_stacked(impl, t):
    """average_predictions: members stacked on dim 0 as one (M, N, C) float64 tensor."""
    return {"out": impl.average_predictions(t.randn(5, 4, 3, dtype=F64))}


@check(points=1)
def average_single_member(impl, t):
    """average_predictions of a single member returns its predictions (and of two, their mean).

    Returning the first member passes the one-member case without averaging anything, so
    the same member with a second one must give their mean.
    """
    first = t.randn(7, 2)
    return {"out": impl.average_predictions([first]),
            "with a second member": impl.average_predictions([first, t.randn(7, 2)])}


# ----------------------------------------------------------------------------- voting

@check(points=1)
def vote_labels(impl, t):
    """majority_vote over 5 members' label tensors (N,): the most frequent label, int64."""
    return {"out": impl.majority_vote([t.randint(0, 4, (50,)) for _ in range(5)])}


@check(points=2)
def vote_ties_smallest_class(impl, t):
    """majority_vote with an even number of members: ties go to the smallest class index."""
    members = t.tensor([[2, 1, 3, 0, 4, 1], [0, 3, 1, 0, 4, 2],
                        [2, 3, 3, 1, 0, 2], [0, 1, 1, 1, 0, 1]], dtype=torch.int64)
    return {"out": impl.majority_vote(list(members))}


@check(points=1)
def vote_scores(impl, t):
    """majority_vote over 3 members' score tensors (N, C): each member votes its argmax."""
    return {"out": impl.majority_vote([t.randn(40, 5) for _ in range(3)])}


@check(points=1)
def vote_stacked_scores(impl, t):
    """majority_vote over members stacked as one (M, N, C) tensor, M even."""
    return {"out": impl.majority_vote(t.randn(4, 30, 3))}


# ----------------------------------------------------------------------------- Ensemble

@check(points=2)
def ensemble_mean_probabilities(impl, t):
    """Ensemble(mode="mean"): the mean of the members' softmax probabilities."""
    members = [_mlp(impl, t, (6, 8, 4)) for _ in range(3)]
    ensemble = impl.Ensemble(members, mode="mean")
    return {"out": ensemble(t.randn(10, 6) * 3)}


@check(points=1)
def ensemble_vote(impl, t):
    """Ensemble(mode="vote"): the majority vote of the members' argmax labels (N,) int64."""
    members = [_mlp(impl, t, (5, 6, 3)) for _ in range(4)]
    ensemble = impl.Ensemble(members, mode="vote")
    return {"out": ensemble(t.randn(25, 5) * 2)}


@check(points=1, placement=False)
def ensemble_members_registered(impl, t):
    """Ensemble keeps its members in an nn.ModuleList named models (state_dict keys, .to())."""
    members = [_mlp(impl, t, (3, 2)) for _ in range(2)]
    ensemble = impl.Ensemble(members)
    return {"state_dict": ensemble.state_dict(),
            "bad_mode": raised(lambda: impl.Ensemble(members, mode="median"))}


# ----------------------------------------------------------------------------- MC dropout

@check(points=2)
def mc_dropout_batchnorm_in_eval(impl, t):
    """mc_dropout_predict: BatchNorm uses its running statistics and does not update them."""
    model = _mlp(impl, t, (4, 16, 3), dtype=F64, dropout=0.0, batchnorm=True)
    model.train()
    out = impl.mc_dropout_predict(model, t.randn(8, 4, dtype=F64) * 2 + 1, 3)
    return {"out": out, "state_dict": model.state_dict()}


@check(points=1)
def mc_dropout_restores_modes(impl, t):
    """mc_dropout_predict restores every module's train/eval flag, also a mixed one (and predicts).

    Leaving the flags alone is also what doing nothing does: the prediction is compared
    too. Its dropout has p=0, so it is deterministic: the eval-mode output, with the
    BatchNorm left in training mode switched to its running statistics for the passes.
    """
    model = _mlp(impl, t, (4, 8, 8, 2), dropout=0.0, batchnorm=True)
    model.eval()
    model[1].train()                  # one BatchNorm left in training mode on purpose
    out = impl.mc_dropout_predict(model, t.randn(5, 4), 2)
    return {"modes": [fetch(model[i].training) for i in range(9)] + [fetch(model.training)],
            "prediction": out}


DROPOUT_INACTIVE = ("With dropout p=0.5 on 64 hidden units, one MC-dropout pass equals the "
                    "eval-mode output: dropout was not active. Put the Dropout modules in "
                    "training mode.")
# Causes the MC-dropout judges name themselves (the bank expects them by name, word for word).
DROPOUT_LEFT_IN_EVAL = "\n" + str(cause(
    "dropout left in eval mode",
    "the Dropout modules were left in eval mode; after model.eval(), call .train() on every "
    "module that is a dropout layer."))
OWN_DROPOUT_LEFT_IN_EVAL = "\n" + str(cause(
    "only nn.Dropout switched on",
    "only nn.Dropout modules were switched to training mode, and these dropout layers are of "
    "another class named \"Dropout\" (as your own from topic 4 is). Test isinstance(m, "
    "nn.Dropout) or type(m).__name__ == \"Dropout\", with == (`is` asks whether two strings "
    "are one object, not whether they are equal)."))
AUTOGRAD_LEFT_ON = "\n" + str(cause(
    "autograd left on",
    "autograd was left on, so every pass built a graph; wrap the forward passes in "
    "`with torch.no_grad():`."))


def _judge_mc(got):
    one, many, plain = got["one_sample"], got["many_samples"], got["eval_output"]
    for name, value in (("one_sample", one), ("many_samples", many)):
        if not isinstance(value, torch.Tensor) or value.shape != plain.shape:
            return f"mc_dropout_predict returned {type(value).__name__} for {name}; expected a tensor " \
                   f"of shape {tuple(plain.shape)}."
        if value.requires_grad:
            return ("mc_dropout_predict's output requires grad: run the passes under "
                    "torch.no_grad()." + AUTOGRAD_LEFT_ON)
    if torch.allclose(one, plain):
        return DROPOUT_INACTIVE + DROPOUT_LEFT_IN_EVAL
    if torch.allclose(one, many):
        return "Averaging 50 passes gave the same result as one pass: each pass needs a fresh mask."
    return None


@check(points=2, judge=_judge_mc)
def mc_dropout_keeps_dropout_active(impl, t):
    """mc_dropout_predict: dropout stays active (fresh masks), no autograd graph."""
    model = _mlp(impl, t, (6, 64, 3), dropout=0.5)
    x = t.randn(4, 6)
    model.eval()
    plain = model(x)
    return {"one_sample": impl.mc_dropout_predict(model, x, 1),
            "many_samples": impl.mc_dropout_predict(model, x, 50), "eval_output": plain}


# ----------------------------------------------------------------------------- other inputs

@check(points=1)
def predictions_as_tuple(impl, t):
    """average_predictions and majority_vote accept a tuple of members as well as a list."""
    scores = tuple(t.randn(5, 4) for _ in range(3))
    labels = tuple(t.randint(0, 3, (12,)) for _ in range(4))
    return {"average_predictions(tuple)": _or_error(lambda: impl.average_predictions(scores)),
            "majority_vote(tuple)": _or_error(lambda: impl.majority_vote(labels))}


@check(points=1)
def average_leaves_members_unchanged(impl, t):
    """average_predictions leaves every member's tensor unchanged (no accumulating into the first)."""
    members = [make_param(impl, t.randn(6, 3)).data for _ in range(3)]   # the tensors themselves
    out = impl.average_predictions(members)
    return {"out": out, "members after the call": [fetch(m) for m in members]}


@check(points=1)
def vote_stacked_labels(impl, t):
    """majority_vote over labels stacked as one (M, N) tensor: the most frequent label, int64."""
    return {"out": _or_error(lambda: impl.majority_vote(t.randint(0, 4, (6, 20))))}


@check(points=1)
def vote_int32_labels(impl, t):
    """majority_vote over int32 and uint8 label tensors: the most frequent label, still int64."""
    return {"int32": _or_error(lambda: impl.majority_vote(
                [t.randint(0, 5, (30,), dtype=torch.int32) for _ in range(5)])),
            "uint8": _or_error(lambda: impl.majority_vote(
                [t.randint(0, 3, (30,), dtype=torch.uint8) for _ in range(3)]))}


@check(points=1)
def vote_single_member_or_sample(impl, t):
    """majority_vote with one member, or one sample: shapes kept, (N,) int64, nothing squeezed away."""
    return {"one member, labels (7,)": _or_error(lambda: impl.majority_vote([t.randint(0, 4, (7,))])),
            "one sample, 4 members' scores (1, 3)": _or_error(
                lambda: impl.majority_vote([t.randn(1, 3) for _ in range(4)])),
            "one sample, stacked labels (4, 1)": _or_error(
                lambda: impl.majority_vote(t.randint(0, 3, (4, 1))))}


@check(points=1)
def ensemble_float64(impl, t):
    """Ensemble(mode="mean") of float64 members: float64 probabilities."""
    members = [_mlp(impl, t, (5, 7, 3), dtype=F64) for _ in range(3)]
    ensemble = impl.Ensemble(members, mode="mean")
    return {"out": ensemble(t.randn(8, 5, dtype=F64) * 3)}


@check(points=1, placement=False)
def mc_dropout_restores_modes_on_error(impl, t):
    """mc_dropout_predict restores every module's flag even when a forward pass raises (try/finally).

    A valid prediction comes first (p=0 dropout: deterministic), so that leaving the flags
    alone and predicting nothing does not pass.
    """
    model = _mlp(impl, t, (4, 8, 8, 2), dropout=0.0, batchnorm=True)
    model.eval()
    model[1].train()                  # one BatchNorm left in training mode on purpose
    out = impl.mc_dropout_predict(model, t.randn(5, 4), 2)
    error = raised(lambda: impl.mc_dropout_predict(model, t.randn(5, 3), 2))   # wrong width
    return {"prediction": out, "error of a pass on the wrong width": error,
            "modes after the error": [fetch(model[i].training) for i in range(9)] + [fetch(model.training)]}


@check(points=1, placement=False)
def mc_dropout_invalid_n_samples(impl, t):
    """mc_dropout_predict raises ValueError for n_samples < 1 (and predicts with n_samples=2)."""
    model = _mlp(impl, t, (4, 6, 2), dropout=0.0)
    x = t.randn(3, 4)
    return {"prediction": impl.mc_dropout_predict(model, x, 2),
            "n_samples=0": raised(lambda: impl.mc_dropout_predict(model, x, 0)),
            "n_samples=-1": raised(lambda: impl.mc_dropout_predict(model, x, -1))}


@check(points=1)
def vote_no_samples_or_one_class(impl, t):
    """majority_vote of members with no samples (an empty int64 (0,)), and when every member votes class 0.

    Labels give no classes to count when there are no samples (votes.max() of nothing
    raises), and a single class 0 when every vote is 0. A vote over 5 members' mixed labels
    is asked too: the degenerate answers alone are what returning the first member gives.
    """
    return {"labels, no samples": _or_error(
                lambda: impl.majority_vote([t.randint(0, 3, (0,)) for _ in range(3)])),
            "scores, no samples": _or_error(lambda: impl.majority_vote(t.randn(4, 0, 3))),
            "every member votes class 0": _or_error(
                lambda: impl.majority_vote([t.zeros(6, dtype=torch.int64) for _ in range(3)])),
            "mixed labels": _or_error(
                lambda: impl.majority_vote([t.randint(0, 4, (20,)) for _ in range(5)]))}


def _judge_mc_own_class(got):
    verdict = _judge_mc(got)
    if verdict == DROPOUT_INACTIVE + DROPOUT_LEFT_IN_EVAL:
        return DROPOUT_INACTIVE + OWN_DROPOUT_LEFT_IN_EVAL
    return verdict


@check(points=1, judge=_judge_mc_own_class)
def mc_dropout_own_dropout_class(impl, t):
    """mc_dropout_predict keeps a dropout layer active whose class is named "Dropout" but is no nn.Dropout.

    The student's own Dropout (topic 4) is such a class. The model's dropout layers are
    testfns.Dropout, whose class name is built at run time: testing the name with `is`
    instead of == fails here, as isinstance(m, nn.Dropout) alone does.
    """
    model = _mlp(impl, t, (6, 64, 3), dropout=0.5, dropout_cls=fns_on(impl).Dropout)
    x = t.randn(4, 6)
    model.eval()
    plain = model(x)
    return {"one_sample": impl.mc_dropout_predict(model, x, 1),
            "many_samples": impl.mc_dropout_predict(model, x, 50), "eval_output": plain}


# ----------------------------------------------------------------------------- mixed members

@check(points=1)
def ensemble_mixed_architectures(impl, t):
    """Ensemble of members with different architectures (widths, depths, BatchNorm, dropout): mean and vote.

    The members: a single Linear layer, a 6-16-4 MLP, a 6-8-8-4 MLP, and a 6-12-4 MLP with
    BatchNorm and dropout in eval mode. All give logits of shape (N, 4) and nothing else is
    alike: code that stacks their parameters into one vectorised model cannot run them.
    """
    members = [_mlp(impl, t, (6, 4)), _mlp(impl, t, (6, 16, 4)), _mlp(impl, t, (6, 8, 8, 4)),
               _mlp(impl, t, (6, 12, 4), dropout=0.3, batchnorm=True).eval()]
    x = t.randn(10, 6) * 2
    return {"mean": _or_error(lambda: impl.Ensemble(members, mode="mean")(x)),
            "vote": _or_error(lambda: impl.Ensemble(members, mode="vote")(x))}


# ----------------------------------------------------------------------------- bagging
# bootstrap_indices draws from a torch.Generator made on the implementation's side: the
# checks judge what bagging needs (shape, range, distribution, reproducibility), never the
# particular numbers, so that any correct draw from the generator passes (its docstring).

WITHOUT_REPLACEMENT = cause(
    "drawn without replacement",
    "each bag was a permutation of range(n) (torch.randperm, or sampling without replacement): "
    "no index repeats, so every member sees the same data in another order. A bootstrap sample "
    "draws n indices WITH replacement: torch.randint(n, (members, n), generator=generator, "
    "device=generator.device).")
TRANSPOSED = cause(
    "shape (n, members)",
    "the indices have shape (n, members); each member's bag is one ROW of n indices: "
    "shape (members, n).")
FLOAT_INDICES = cause(
    "float indices",
    "the indices are floating-point numbers (from torch.rand * n); indexing needs integers: "
    "draw them with torch.randint, which gives int64, or convert with .long().")
HIGH_EXCLUSIVE = cause(
    "upper bound n - 1",
    "the last index, n - 1, was never drawn: torch.randint's upper bound is exclusive, so "
    "torch.randint(n, ...) draws from 0 .. n - 1, and torch.randint(n - 1, ...) misses the "
    "last example.")
LOW_ONE = cause(
    "lower bound 1",
    "the index 0 was never drawn: indices start at 0, and torch.randint(n, ...) (low = 0) "
    "draws from 0 .. n - 1.")
ONE_BAG = cause(
    "one bag for every member",
    "every row holds the same indices: one bag was drawn and repeated for every member, so "
    "the members see the same data; draw members * n indices, shape (members, n).")
ENDS_HALVED = cause(
    "rounded uniform",
    "the first and the last index come up about half as often as the others: rounding "
    "rand * (n - 1) gives them half-width intervals. Draw integers directly, with "
    "torch.randint(n, ...).")
GENERATOR_IGNORED = cause(
    "generator ignored",
    "the same generator state gave different bags, so they were drawn from the global random "
    "state; pass generator=generator to the random call (and device=generator.device).")
GENERATOR_RESEEDED = cause(
    "generator re-seeded",
    "generators with different seeds gave the same bags, or a second call on the same generator "
    "repeated the first: the generator is re-seeded (manual_seed) inside; draw from it as it "
    "is given, so that it advances from call to call.")
BOOT_SIGMAS = 6.0


def _generator(impl, t, seed: int):
    """A torch.Generator on the implementation's side, on the device under test, seeded."""
    return torch_on(impl).Generator(device=str(t.device)).manual_seed(int(seed))


def _bags_problem(value, n: int, members: int, device: str) -> str | None:
    """None when `value` is an int64 (members, n) tensor on `device` with entries in 0 .. n - 1."""
    what = f"bootstrap_indices({n}, {members}, generator)"
    if isinstance(value, str):
        return f"{what} {value}."
    if not isinstance(value, torch.Tensor):
        return f"{what} returned {type(value).__name__}; expected a tensor of shape ({members}, {n})."
    if tuple(value.shape) != (members, n):
        message = f"{what} returned shape {tuple(value.shape)}; expected ({members}, {n})."
        return f"{message}\n{TRANSPOSED}" if tuple(value.shape) == (n, members) else message
    if value.dtype != torch.int64:
        message = f"{what} returned {value.dtype}; expected int64 indices."
        return f"{message}\n{FLOAT_INDICES}" if value.is_floating_point() else message
    if value.device.type != torch.device(device).type:
        return f"{what} returned a tensor on {value.device}; expected the generator's device, {device}."
    if value.numel() and (int(value.min()) < 0 or int(value.max()) >= n):
        return (f"{what} has indices from {int(value.min())} to {int(value.max())}; expected "
                f"0 .. {n - 1}.")
    return None


def _judge_boot_shape(got):
    for (n, members), key in (((300, 7), "n=300, members=7"), ((1, 3), "n=1, members=3")):
        problem = _bags_problem(got[key], n, members, got["device"])
        if problem:
            return problem
    bags = got["n=300, members=7"]
    # Zeros, or arange(n) in every row, have the right shape and range: the bags must also
    # differ (seven independent bags of 300 are equal with probability 300^-1800).
    if bags.device.type != "meta" and bool((bags == bags[0]).all()):
        return f"All 7 bags are the same indices.\n{ONE_BAG}"
    return None


@check(points=1, judge=_judge_boot_shape, placement=False, task="bootstrap_indices")
def bootstrap_shape_and_range(impl, t):
    """bootstrap_indices: an int64 tensor (members, n) on the generator's device, indices in 0 .. n - 1 (also n=1)."""
    return {"n=300, members=7": _or_error(
                lambda: impl.bootstrap_indices(300, 7, _generator(impl, t, t.integer(0, 2**31)))),
            "n=1, members=3": _or_error(
                lambda: impl.bootstrap_indices(1, 3, _generator(impl, t, t.integer(0, 2**31)))),
            "device": str(t.device)}


def _distinct_mean_sd(n: int, rows: int) -> tuple[float, float]:
    """Mean and standard deviation of the average number of distinct values in `rows`
    independent rows of n uniform draws from n values (occupancy: empty bins)."""
    q1, q2 = (1 - 1 / n) ** n, (1 - 2 / n) ** n
    var = n * q1 + n * (n - 1) * q2 - (n * q1) ** 2
    return n * (1 - q1), math.sqrt(var / rows)


def _judge_boot_distribution(got):
    big, small = got["n=1000, members=40"], got["n=5, members=2000"]
    for value, n, members in ((big, 1000, 40), (small, 5, 2000)):
        problem = _bags_problem(value, n, members, got["device"])
        if problem:
            return problem
    if big.device.type == "meta":
        return None
    big, small = big.cpu(), small.cpu()
    if bool((big == big[0]).all()):
        return f"All 40 bags are the same indices.\n{ONE_BAG}"
    distinct = sum(len(set(row.tolist())) for row in big) / 40
    mean, sd = _distinct_mean_sd(1000, 40)
    if abs(distinct - mean) > BOOT_SIGMAS * sd:
        message = (f"A bag of n=1000 draws holds {distinct:.1f} distinct indices on average; with "
                   f"replacement it holds {mean:.1f} +/- {BOOT_SIGMAS * sd:.1f} (about 63.2%).")
        return f"{message}\n{WITHOUT_REPLACEMENT}" if distinct > 999.5 else message
    seen = torch.bincount(big.flatten(), minlength=1000)
    if bool((seen == 0).any()):
        missing = (seen == 0).nonzero().flatten().tolist()
        message = (f"Over 40 bags of n=1000, the indices {missing[:5]} were never drawn (each "
                   "should come up about 40 times).")
        if missing == [999]:
            return f"{message}\n{HIGH_EXCLUSIVE}"
        if missing == [0]:
            return f"{message}\n{LOW_ONE}"
        return message
    freq = torch.bincount(small.flatten(), minlength=5).double() / small.numel()
    bound = BOOT_SIGMAS * math.sqrt(0.2 * 0.8 / small.numel())
    if bool(((freq - 0.2).abs() > bound).any()):
        message = (f"With n=5 the indices 0 .. 4 came up with frequencies "
                   f"{[round(f, 3) for f in freq.tolist()]}; uniform draws give 0.2 +/- {bound:.3f} each.")
        if abs(freq[0] - 0.125) <= bound and abs(freq[4] - 0.125) <= bound:
            return f"{message}\n{ENDS_HALVED}"
        return message
    return None


@check(points=1, judge=_judge_boot_distribution, placement=False, task="bootstrap_indices")
def bootstrap_distribution(impl, t):
    """bootstrap_indices draws with replacement: ~63.2% distinct per bag, every index possible, uniform, bags independent.

    40 bags of n=1000: the mean number of distinct indices per bag within 6 standard
    deviations of the occupancy formula (a permutation has 1000), every index drawn at least
    once (missing one: probability below 1e-14), not all bags equal; 2000 bags of n=5: each
    index's frequency 0.2 +/- 6 sigma. A correct draw fails with probability below 1e-8.
    """
    return {"n=1000, members=40": _or_error(
                lambda: impl.bootstrap_indices(1000, 40, _generator(impl, t, t.integer(0, 2**31)))),
            "n=5, members=2000": _or_error(
                lambda: impl.bootstrap_indices(5, 2000, _generator(impl, t, t.integer(0, 2**31)))),
            "device": str(t.device)}


def _judge_boot_reproducible(got):
    for key in ("first", "first again", "next call", "other seed"):
        problem = _bags_problem(got[key], 50, 4, got["device"])
        if problem:
            return problem
    first = got["first"]
    if not torch.equal(first, got["first again"]):
        return ("Two generators seeded alike (with the global random state seeded differently "
                f"in between) gave different bags.\n{GENERATOR_IGNORED}")
    if torch.equal(first, got["next call"]):
        return ("A second call on the same generator gave the same bags: the generator must "
                f"advance.\n{GENERATOR_RESEEDED}")
    if torch.equal(first, got["other seed"]):
        return f"Generators with different seeds gave the same bags.\n{GENERATOR_RESEEDED}"
    return None


@check(points=1, judge=_judge_boot_reproducible, placement=False, task="bootstrap_indices")
def bootstrap_reproducible(impl, t):
    """bootstrap_indices follows its generator: same seed, same bags; the next call or another seed, new bags.

    The global random state is seeded differently before each of the two same-seed calls, so
    that drawing from it instead of the generator cannot pass. Independent bags of 4 x 50
    indices agree with probability 50^-200.
    """
    seed = t.integer(0, 2**30)
    first_generator = _generator(impl, t, seed)
    manual_seed(impl, 1)
    first = _or_error(lambda: impl.bootstrap_indices(50, 4, first_generator))
    next_call = _or_error(lambda: impl.bootstrap_indices(50, 4, first_generator))
    manual_seed(impl, 2)
    again = _or_error(lambda: impl.bootstrap_indices(50, 4, _generator(impl, t, seed)))
    other = _or_error(lambda: impl.bootstrap_indices(50, 4, _generator(impl, t, seed + 1)))
    return {"first": first, "first again": again, "next call": next_call, "other seed": other,
            "device": str(t.device)}
