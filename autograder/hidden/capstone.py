"""Hidden checks: the capstone (a classifier from the student's own modules, trained
with the student's own Adam on scikit-learn's digits).

The student's `train_model` runs in the worker under a time budget. The held-out
labels never leave the grader: the worker only sees the test features, and the
accuracy is computed here. Partial credit: 0 at 50% accuracy or below, rising
linearly to full marks at 95%.

Accuracy alone misses bugs that training on the digits forgives (Adam and label
smoothing still reach ~95-98% with a softmax in the model or without zero_grad), and
every accuracy run costs a full training. So a few cheap checks (a handful of optimizer
steps on a slice of the training set) come first, each about one rule of train_model or
build_model, compared with the reference so that known mistakes are named; the training
for accuracy comes after them, and the time-budget check (which a loop that ignores the
budget turns into a timeout and a fresh worker) comes last.
"""
import functools
import time

import torch

from autograder.checks import (RemoteError, check, fetch, fns_on, module_types, raised,
                               torch_on)
from autograder.impl import Ref

TOPIC = "capstone"
TIME_BUDGET = 60.0          # seconds handed to train_model; the reference needs about 10
FULL_MARKS_AT = 0.95
ZERO_AT = 0.50
OWN_CLASSES = {"BatchNorm1d": "normalization", "Dropout": "dropout", "ResidualBlock": "residual"}


@functools.lru_cache(maxsize=1)
def digits_split():
    """Digits, raw features, a fixed stratified 75/25 split (the same for every student)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    as_x = lambda a: torch.tensor(a, dtype=torch.float32)            # noqa: E731
    as_y = lambda a: torch.tensor(a, dtype=torch.int64)              # noqa: E731
    return as_x(Xtr), as_y(ytr), as_x(Xte), as_y(yte)


def _slice(t, n):
    """The first n training digits, on the device under test."""
    Xtr, ytr, _, _ = digits_split()
    return Xtr[:n].to(t.device), ytr[:n].to(t.device)


# Returning the model untouched, or only in eval mode, satisfies what the cheap checks ask
# of train_model's rules (no crash, eval mode, no accumulated gradient, on time): each also
# asks that the training moved the model's weights, so that its point is earned only
# together with the training it guards.
TRAINED = "train_model changed the model's weights"


def _weights(impl, model):
    """The model's parameters as one flat vector, read on the implementation's side;
    None when it has none, or is no model."""
    if not isinstance(model, Ref):
        return None
    try:
        return torch_on(impl).nn.utils.parameters_to_vector(model.parameters())
    except RemoteError as exc:
        if exc.is_a("NotImplementedError"):
            raise
        return None                         # no parameters at all (torch.cat of nothing)


def _moved(before, after) -> bool:
    return (isinstance(before, torch.Tensor) and isinstance(after, torch.Tensor)
            and before.shape == after.shape and not torch.equal(before, after.to(before.device)))


# ----------------------------------------------------------------------------- cheap checks

@check(points=1, placement=False)
def model_returns_logits(impl, t):
    """build_model's output is (N, 10) logits from your own layers, not probabilities: no final softmax.

    F.cross_entropy applies log_softmax itself; a model that already ends in a softmax
    feeds it probabilities and trains on a squashed loss.
    """
    X, _ = _slice(t, 32)
    model = impl.build_model(64, 10).to(str(t.device))     # built on the CPU (its docstring)
    model.eval()
    out = model(X)
    rows_are_probabilities = bool(((out >= 0) & (out <= 1)).all()) and bool(
        ((out.sum(1) - 1).abs() < 1e-4).all())
    # An empty model returns the raw pixels, which are no probabilities either: the output
    # must also be (N, 10) scores from the student's own layers.
    return {"rows of the output are probabilities": rows_are_probabilities,
            "output shape": list(out.shape),
            "built from your own BatchNorm1d, Dropout and ResidualBlock":
                _own_module_problem(module_types(model)) is None}


@check(points=1, placement=False)
def last_batch_of_one(impl, t):
    """train_model on 65 samples with batch_size=64: trains, and a last batch of ONE sample does not crash.

    A training-mode BatchNorm cannot normalize a single sample (ValueError): skip that batch.
    """
    X, y = _slice(t, 65)
    model = impl.build_model(64, 10)
    before = _weights(impl, model)
    error = raised(lambda: impl.train_model(model, X, y, epochs=1, batch_size=64))
    return {"error": error, TRAINED: _moved(before, _weights(impl, model))}


@check(points=1, placement=False)
def returns_eval_mode(impl, t):
    """train_model trains one epoch and returns the model in eval mode (running statistics, no dropout)."""
    X, y = _slice(t, 128)
    model = impl.build_model(64, 10)
    before = _weights(impl, model)
    model = impl.train_model(model, X, y, epochs=1, batch_size=64)
    return {"model.training after train_model": fetch(model.training),
            TRAINED: _moved(before, _weights(impl, model))}


@check(points=1, placement=False)
def gradients_do_not_accumulate(impl, t):
    """train_model zeroes the gradients before every backward (checked with lr=0, full batches).

    With lr=0 the weights never move, so every step computes the same full-batch gradient
    of a plain Linear model: after 3 epochs p.grad must be that one gradient (or None, if
    zero_grad comes after the step), not the sum of 3 of them. A train_model that does
    nothing leaves p.grad None as well: one epoch with the default lr must move the weights.
    """
    X, y = _slice(t, 64)
    nn = torch_on(impl).nn
    weights = {"weight": 0.1 * t.randn(10, 64), "bias": 0.1 * t.randn(10)}
    grads = []
    for epochs in (1, 3):
        model = nn.Linear(64, 10)
        model.load_state_dict(weights)
        impl.train_model(model, X, y, epochs=epochs, batch_size=64, lr=0.0)
        grads.append(fetch(model.weight.grad))
    one, three = grads
    summed = (isinstance(one, torch.Tensor) and isinstance(three, torch.Tensor)
              and float((three - one).norm()) > 0.5 * float(one.norm()))
    model = nn.Linear(64, 10)               # and with the default lr, the weights move
    model.load_state_dict(weights)
    before = _weights(impl, model)
    impl.train_model(model, X, y, epochs=1, batch_size=64)
    return {"p.grad after 3 epochs is the sum of 3 steps' gradients": summed,
            f"with the default lr, {TRAINED}": _moved(before, _weights(impl, model))}


# ----------------------------------------------------------------------------- more rules, cheap

def _or_error(call):
    """The implementation's result, or "raised Kind" when it raised: compared with the
    reference's, so that a crash still lets a known mistake be named."""
    try:
        return call()
    except RemoteError as exc:
        if exc.is_a("NotImplementedError"):
            raise                   # an unfinished stub is "not attempted"
        return f"raised {exc.type}"


@check(points=1, placement=False)
def build_model_other_sizes(impl, t):
    """build_model(20, 3) maps 20 features to (N, 3) logits (sizes from the arguments), from your own layers."""
    model = impl.build_model(20, 3).to(str(t.device))
    model.eval()
    return {"output shape for a (5, 20) input": _or_error(lambda: list(model(t.randn(5, 20)).shape)),
            "built from your own BatchNorm1d, Dropout and ResidualBlock":
                _own_module_problem(module_types(model)) is None}


@check(points=1, placement=False)
def train_model_sets_train_mode(impl, t):
    """train_model puts a model that arrives in eval mode into training mode (its BatchNorm updates).

    The model is your BatchNorm1d(64) and a Linear(64, 10), switched to eval mode before
    the call: trained in eval mode, the BatchNorm would never update its running mean.
    """
    X, y = _slice(t, 128)
    nn = torch_on(impl).nn
    model = nn.Sequential(impl.BatchNorm1d(64), nn.Linear(64, 10))
    model.eval()
    before_mean, before = fetch(model[0].running_mean), _weights(impl, model)
    impl.train_model(model, X, y, epochs=1, batch_size=64)
    return {"the BatchNorm's running_mean was updated": _moved(before_mean, fetch(model[0].running_mean)),
            TRAINED: _moved(before, _weights(impl, model))}


def _one_digit(t, n):
    """The first training digit repeated n times: a batch's loss does not depend on which
    samples it holds, so the training does not depend on the shuffle."""
    X, y = _slice(t, 1)
    return X.repeat(n, 1), y.repeat(n)


def _linear_state(t):
    return {"weight": 0.1 * t.randn(10, 64), "bias": 0.1 * t.randn(10)}


def _seeded_linear(impl, state):
    """A Linear(64, 10) on the implementation's side holding the weights `state`."""
    model = torch_on(impl).nn.Linear(64, 10)
    model.load_state_dict(state)
    return model


@check(points=1, tolerance=10, placement=False)
def train_model_matches_reference(impl, t):
    """train_model's steps match the reference: all epochs, every batch, cosine lr per step, label smoothing 0.1.

    A Linear(64, 10) with seeded weights trained for 3 epochs of 34 samples in batches of
    16, 16 and 2 (time_budget=None) at lr=0.05: the short last batch is trained too, and
    the planned number of steps is epochs * ceil(34 / 16) = 9. The samples are one digit
    repeated, so the result does not depend on the shuffle; it does on the number of
    steps, the learning rate of each step and the loss (and on your Adam, which the
    digits' accuracy uses as well).
    """
    X, y = _one_digit(t, 34)
    model = _seeded_linear(impl, _linear_state(t))
    impl.train_model(model, X, y, epochs=3, batch_size=16, lr=0.05, seed=3, time_budget=None)
    return {"weight": fetch(model.weight), "bias": fetch(model.bias)}


def _same_weights(a, b) -> bool:
    return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape
            and torch.allclose(a, b.to(a.device), rtol=1e-5, atol=1e-7))


@check(points=1, placement=False)
def train_model_budget_whole_epochs(impl, t):
    """The time budget is looked at after each whole epoch: time_budget=0 finishes the first epoch, 0.9 s trains all 3.

    The data of train_model_matches_reference (3 steps an epoch, a few milliseconds), each
    budget compared with your own train_model without one (time_budget=None), so that only
    the budget is judged: with epochs=1, time_budget=0 runs out during the epoch, which is
    finished (the same 3 steps); with epochs=3, a budget of 0.9 s, far more than 3 epochs
    take, trains all 3. The first call, time_budget=None, also pays any one-time costs
    (the first optimizer imports torch._dynamo: seconds) before a budget is timed.
    """
    X, y = _one_digit(t, 34)
    state = _linear_state(t)

    def trained(epochs, budget):
        model = _seeded_linear(impl, state)
        impl.train_model(model, X, y, epochs=epochs, batch_size=16, lr=0.05, seed=3,
                         time_budget=budget)
        return _weights(impl, model)
    initial = _weights(impl, _seeded_linear(impl, state))
    one_epoch = trained(1, None)
    return {"epochs=1: time_budget=0 trains as time_budget=None does":
                _same_weights(one_epoch, trained(1, 0.0)),
            "epochs=3: time_budget=0.9 trains as time_budget=None does":
                _same_weights(trained(3, None), trained(3, 0.9)),
            TRAINED: _moved(initial, one_epoch)}


SHUFFLE_N, SHUFFLE_EPOCHS, SHUFFLE_BATCH = 34, 2, 16
NOT_SHUFFLED = ("no shuffle: draw order = torch.randperm(N, generator=generator) at the start of "
                "every epoch and take the batches from it.")
SHUFFLED_ONCE = ("the permutation was drawn once, before the epochs; draw a new one at the start of "
                 "every epoch.")
SEED_UNUSED = ("the generator was seeded with a fixed number; seed it with the argument: "
               "torch.Generator().manual_seed(seed).")


def _judge_shuffle(got):
    """Each epoch visits every sample once, in a fresh random order; another seed, another
    order. Two independent random orders of 34 samples are the same with probability
    1/34! (about 3e-39), and the identity order has that probability too, so a correct
    train_model fails this judge with probability below 1e-37."""
    orders = {}
    for seed, seen in got.items():
        if not isinstance(seen, list) or not all(isinstance(batch, list) for batch in seen):
            return f"The model's record of the samples it saw could not be read ({seen})."
        # training batches hold at most 16 rows: a larger pass with autograd on is another
        # use of the model (a loss on all the data for a log), not a step
        rows = [int(v) for batch in seen if len(batch) <= SHUFFLE_BATCH for v in batch]
        if len(rows) != SHUFFLE_N * SHUFFLE_EPOCHS:
            return (f"With {SHUFFLE_N} samples, batch_size={SHUFFLE_BATCH} and {SHUFFLE_EPOCHS} "
                    f"epochs, the model was trained on {len(rows)} samples ({seed}); every epoch "
                    f"must pass over all {SHUFFLE_N} (batches of 16, 16 and 2).")
        epochs = [rows[i * SHUFFLE_N:(i + 1) * SHUFFLE_N] for i in range(SHUFFLE_EPOCHS)]
        if any(sorted(e) != list(range(SHUFFLE_N)) for e in epochs):
            return (f"An epoch did not visit every sample exactly once ({seed}): one epoch is one "
                    "pass over a permutation of the samples, order = torch.randperm(N, "
                    "generator=generator).")
        if all(e == list(range(SHUFFLE_N)) for e in epochs):
            return (f"The samples were visited in their stored order in every epoch ({seed}): the "
                    f"data were not shuffled.\nLikely cause: {NOT_SHUFFLED}")
        if epochs[0] == epochs[1]:
            return (f"Every epoch visited the samples in the same order ({seed}).\n"
                    f"Likely cause: {SHUFFLED_ONCE}")
        orders[seed] = epochs[0]
    first, second = orders.values()
    if first == second:
        return ("train_model with seed=1 and with seed=2 visited the samples in the same order: the "
                f"seed argument was not used.\nLikely cause: {SEED_UNUSED}")
    return None


@check(points=1, judge=_judge_shuffle, placement=False)
def train_model_shuffles_every_epoch(impl, t):
    """train_model visits every sample once an epoch, in a new random order each epoch, drawn from the seed.

    The model is testfns.Recorder, a Linear(64, 10) that notes the first feature of the
    rows of every batch it is given with autograd on; that feature numbers the samples
    0 to 33 (passes under torch.no_grad(), and larger than a batch, are not steps and are
    left out). Any generator may draw the order (the global one too): only that it is a
    permutation, new every epoch and different for another seed is judged.
    """
    X, y = _slice(t, SHUFFLE_N)
    X = X.clone()
    X[:, 0] = torch.arange(SHUFFLE_N, dtype=X.dtype, device=X.device)
    out = {}
    for seed in (1, 2):
        model = fns_on(impl).Recorder(64, 10)
        impl.train_model(model, X, y, epochs=SHUFFLE_EPOCHS, batch_size=SHUFFLE_BATCH, seed=seed)
        out[f"seed={seed}"] = fetch(model.seen)
    return out


@check(points=1, placement=False)
def train_model_float64(impl, t):
    """train_model on float64 features trains the model in float64 (moved to X's dtype, not only its device)."""
    X, y = _slice(t, 128)
    model = impl.build_model(64, 10)
    before = _weights(impl, model)
    error = raised(lambda: impl.train_model(model, X.double(), y, epochs=1, batch_size=64))
    after = _weights(impl, model)
    return {"error": error, "parameters' dtype": str(getattr(after, "dtype", None)),
            TRAINED: _moved(before, after)}


@check(points=1, placement=False, devices=("cuda",))
def train_model_labels_moved(impl, t):
    """train_model with X on the GPU and y on the CPU: y is moved to X's device, and the model trains.

    GPU graders only: on a machine without one it is reported as skipped.
    """
    X, y = _slice(t, 128)
    model = impl.build_model(64, 10)
    before = _weights(impl, model)
    error = raised(lambda: impl.train_model(model, X, y.cpu(), epochs=1, batch_size=64))
    return {"error": error, TRAINED: _moved(before, _weights(impl, model))}


# ----------------------------------------------------------------------------- accuracy

def _own_module_problem(types) -> str | None:
    """None when the model contains the student's own BatchNorm1d, Dropout and ResidualBlock."""
    found = {cls: module for _, cls, module in types}
    missing = []
    for cls, module in OWN_CLASSES.items():
        if not found.get(cls, "").endswith(module):
            missing.append(f"{cls} (from your {module}.py)")
    if missing:
        return ("The model must be built from your own layers; it does not contain: "
                + ", ".join(missing) + ".")
    return None


DIVERGED_LOGIT = 1e3
DIVERGED = ("the training diverged: the logits grew huge and most digits get one class, the mark "
            "of a learning rate far too large for Adam (1e-3 is its usual value; SGD-sized rates "
            "such as 0.1 or 1 blow the weights up).")


def _judge_accuracy(got):
    problem = _own_module_problem(got["modules"])
    if problem:
        return problem
    logits, labels = got["logits"], got["labels"]
    if not isinstance(logits, torch.Tensor) or logits.shape != (labels.shape[0], 10):
        return f"The model returned {getattr(logits, 'shape', type(logits).__name__)} for the test " \
               f"features; expected logits of shape ({labels.shape[0]}, 10)."
    if got["training"]:
        return "train_model must return the model in eval mode (call model.eval() at the end)."
    logits = logits.detach()
    predicted = logits.argmax(1).cpu()
    accuracy = float((predicted == labels.cpu()).double().mean())
    fraction = (accuracy - ZERO_AT) / (FULL_MARKS_AT - ZERO_AT)
    if fraction >= 1.0:
        return None
    message = (f"Held-out accuracy {100 * accuracy:.1f}% (training took {got['seconds']:.1f} s of a "
               f"{TIME_BUDGET:.0f} s budget); full marks from {100 * FULL_MARKS_AT:.0f}%, none at "
               f"{100 * ZERO_AT:.0f}% or below. Look at the training loss in the notebook: a learning "
               "rate, too few epochs or a model left in training mode are the usual causes.")
    # Diverged training: huge (or non-finite) logits, and most digits given one class. An
    # untrained model has logits of a few units and spreads its guesses.
    blown_up = not bool(torch.isfinite(logits).all()) or float(logits.abs().max()) > DIVERGED_LOGIT
    collapsed = float(torch.bincount(predicted, minlength=10).max()) >= 0.5 * len(predicted)
    if blown_up and collapsed:
        message += f"\nLikely cause: {DIVERGED}"
    return (max(0.0, fraction), message)


@check(points=6, judge=_judge_accuracy, timeout=TIME_BUDGET * 2 + 30, placement=False)
def digits_accuracy(impl, t):
    """Your model, trained by your train_model, classifies held-out digits (95% for full marks)."""
    Xtr, ytr, Xte, yte = digits_split()
    model = impl.build_model(64, 10)
    started = time.monotonic()
    model = impl.train_model(model, Xtr.to(t.device), ytr.to(t.device), time_budget=TIME_BUDGET)
    seconds = time.monotonic() - started
    return {"logits": model(Xte.to(t.device)), "labels": yte, "seconds": seconds,
            "training": fetch(model.training), "modules": module_types(model)}


# One epoch of 256 samples is 4 steps (well under a second on a loaded CPU); a loop that
# ignores the budget runs 100000 epochs into the timeout. BUDGET_TIMEOUT bounds what that
# bug costs (the digits' 1347 samples and 60 s made it a minute a submission).
BUDGET_SAMPLES, BUDGET_LIMIT, BUDGET_TIMEOUT = 256, 10.0, 20


def _judge_budget(got):
    if got["training"]:
        return "train_model must return the model in eval mode (call model.eval() at the end)."
    if not got[TRAINED]:
        return ("train_model(time_budget=0) returned without training: the model's weights did "
                "not change. It must finish the first epoch before it looks at the budget.")
    if got["seconds"] > BUDGET_LIMIT:
        return (f"With time_budget=0 and 100000 epochs of {BUDGET_SAMPLES} samples, train_model "
                f"took {got['seconds']:.1f} s: it must stop after the first epoch whose end is "
                "past the budget.")
    return None


@check(points=1, judge=_judge_budget, timeout=BUDGET_TIMEOUT, placement=False)
def time_budget_is_respected(impl, t):
    """train_model(time_budget=0) trains one epoch, stops and returns the model in eval mode."""
    X, y = _slice(t, BUDGET_SAMPLES)
    model = impl.build_model(64, 10)
    before = _weights(impl, model)
    started = time.monotonic()
    model = impl.train_model(model, X, y, epochs=100000, time_budget=0.0)
    seconds = time.monotonic() - started
    return {"seconds": seconds, "training": fetch(model.training),
            TRAINED: _moved(before, _weights(impl, model))}
