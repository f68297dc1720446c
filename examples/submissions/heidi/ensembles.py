"""Topic 6: ensembles.

Several models trained independently (different initialisations, different
data orders) make partly independent mistakes; combining their predictions
cancels part of them. You implement the two classic ways to combine
classifiers, averaging and voting, a module that wraps a list of models (of
any architectures), Monte Carlo dropout: an "ensemble" obtained from a single
network by keeping dropout switched on at test time, and the bootstrap samples
of bagging, which give every member its own training data.

There is no PyTorch built-in for these; torch.mode is best avoided for voting
(it does not document how ties are broken).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn


def average_predictions(predictions: Sequence[Tensor] | Tensor) -> Tensor:
    """Element-wise mean of M members' predictions.

        out = (pred_1 + pred_2 + ... + pred_M) / M

    Nothing else is applied: no softmax, no argmax. Whatever the members give
    (probabilities, logits, regression outputs) is averaged as it is. Beware
    that averaging logits and averaging softmax probabilities are different
    ensembles and can pick different classes: one very confident member
    dominates a logit average far more than a probability average.

    Args:
        predictions: a list or tuple of M tensors of one shape S, or one
            tensor of shape (M, *S) with the members stacked on dim 0.

    Returns:
        Tensor of shape S, with the members' dtype and device.
    """
    # BEGIN SOLUTION Task 6.1
    if not isinstance(predictions, Tensor):
        predictions = torch.stack(list(predictions))      # (M, *S)
    return predictions.mean(dim=0)                          # (*S)
    # END SOLUTION


def majority_vote(predictions: Sequence[Tensor] | Tensor) -> Tensor:
    """Per sample, the class predicted by the most members.

    Each member votes for one class per sample: either its label directly
    (a tensor of shape (N,) of class indices) or the argmax of its scores (a
    tensor of shape (N, C) of logits or probabilities: vote = argmax over C).
    The result is, for every sample, the class with the most votes. TIES go
    to the SMALLEST class index: with votes [2, 0, 2, 0] the answer is 0.
    With an even number of members ties are common, so this matters.

    Hint: count the votes per class, e.g. with one-hot vectors summed over the
    members, (N, C) counts, then argmax over classes (argmax returns the first
    maximum, which is the smallest index); or torch.bincount per sample.
    Use at least max(label) + 1 classes for label inputs.

    Args:
        predictions: a list or tuple of M tensors all of shape (N,) (labels,
            integer dtype) or all of shape (N, C) (scores); or one tensor of
            shape (M, N) or (M, N, C) with the members stacked on dim 0.

    Returns:
        Tensor of shape (N,), dtype torch.int64, on the predictions' device.
    """
    # BEGIN SOLUTION Task 6.2
    if not isinstance(predictions, Tensor):
        predictions = torch.stack(list(predictions))      # (M, N) or (M, N, C)
    if predictions.dim() == 3:
        num_classes = predictions.shape[2]
        votes = predictions.argmax(dim=2)                   # (M, N)
    else:
        votes = predictions.long()                          # (M, N)
        num_classes = int(votes.max()) + 1 if votes.numel() else 1
    one_hot = nn.functional.one_hot(votes, num_classes)    # (M, N, C)
    counts = one_hot.sum(dim=0)                             # (N, C)
    return counts.argmax(dim=1)                             # (N,) first max wins
    # END SOLUTION


class Ensemble(nn.Module):
    """An ensemble of classifiers that each map x to logits of shape (N, C).

    The members may be of ANY architectures: different widths and depths,
    with or without BatchNorm or dropout, even different kinds of model.
    All the ensemble asks of a member is that member(x) gives logits of the
    same shape (N, C) as the others'. So call each member on x and combine
    the outputs; do not assume the members share their layers or their
    parameters' shapes (stacking their weights into one vectorised model
    works for identical members only).

    mode="mean": the mean of the members' softmax PROBABILITIES,

        out = (softmax(f_1(x)) + ... + softmax(f_M(x))) / M     # (N, C)

    (probabilities, not logits: each member gets an equal say however
    confident it is). Every row of the result sums to 1.

    mode="vote": the majority vote of the members' predicted labels
    argmax f_m(x), shape (N,), dtype int64, ties to the smallest class index.

    The members live in an nn.ModuleList named `models`, so that
    .to(device), .eval(), .parameters() and the state_dict (keys
    "models.0.weight", ...) reach all of them.

    Args:
        models: the M member models (a list, tuple or other iterable of modules).
        mode: "mean" or "vote"; anything else is a ValueError.
    """

    def __init__(self, models, mode: str = "mean") -> None:
        super().__init__()
        # BEGIN SOLUTION Task 6.3
        if mode not in ("mean", "vote"):
            raise ValueError(f'mode must be "mean" or "vote", but got {mode!r}')
        self.models = nn.ModuleList(models)
        self.mode = mode
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        # BEGIN SOLUTION Task 6.4
        logits = [model(x) for model in self.models]        # M x (N, C)
        if self.mode == "vote":
            return majority_vote(logits)                    # (N,) int64
        probs = [torch.softmax(z, dim=1) for z in logits]   # M x (N, C)
        return average_predictions(probs)                   # (N, C)
        # END SOLUTION

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


def mc_dropout_predict(model: nn.Module, x: Tensor, n_samples: int) -> Tensor:
    """Monte Carlo dropout: average n_samples stochastic forward passes.

        out = (model(x) + model(x) + ... + model(x)) / n_samples

    with a fresh dropout mask in every pass. Only the dropout layers are put
    in training mode; every other module is in eval mode, so BatchNorm uses
    its running statistics (and does NOT update them). Recipe: model.eval(),
    then .train() on every dropout module. A dropout module is an nn.Dropout
    or any module whose class is named "Dropout" (your own Dropout from topic
    4 is not a subclass of nn.Dropout, so check
    isinstance(m, nn.Dropout) or type(m).__name__ == "Dropout").

    Runs without autograd (torch.no_grad()), and afterwards restores EVERY
    module's previous training flag, module by module (a model may be partly
    in train mode), even when a forward pass raises (use try/finally).

    Args:
        model: maps x to outputs of shape S (logits, say).
        x: the input batch.
        n_samples: number of stochastic passes, at least 1 (else ValueError).

    Returns:
        Tensor of shape S: the mean output, with no grad_fn.
    """
    # BEGIN SOLUTION Task 6.5
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, but got {n_samples}")
    previous = {m: m.training for m in model.modules()}
    try:
        model.eval()
        for m in model.modules():
            if isinstance(m, nn.Dropout) or type(m).__name__ == "Dropout":
                m.train()
        with torch.no_grad():
            outputs = [model(x) for _ in range(n_samples)]  # n_samples x S
        return average_predictions(outputs)
    finally:
        for m, was_training in previous.items():
            m.training = was_training
    # END SOLUTION


def bootstrap_indices(n: int, members: int, generator: torch.Generator) -> Tensor:
    """Bootstrap samples for bagging: per member, n indices drawn WITH replacement.

        out[m, i] ~ uniform on {0, 1, ..., n - 1}, all independent    # (members, n)

    Row m is the training set ("bag") of member m: X[out[m]], y[out[m]].
    Drawing WITH replacement is the point of bagging: every bag has n
    examples, some of them repeated, and leaves out about (1 - 1/n)^n ~ 1/e,
    37% of the data (so about 63.2% of the indices of a row are distinct).
    The members then learn from different data and make less correlated
    mistakes. A permutation (torch.randperm) has no repeats: every member
    would get the same data in another order, which is no bagging at all.

    Draw every number from `generator`, never from the global random state:
    the same generator state gives the same bags (an experiment is
    reproducible whatever else drew random numbers in between), and the
    generator advances, so the next call gives new bags. One call does it:

        torch.randint(n, (members, n), generator=generator, device=generator.device)

    Two traps in that line: the upper bound of torch.randint is EXCLUSIVE
    (randint(n) draws from 0 .. n - 1; randint(n - 1) never draws n - 1), and
    device= is needed because randint makes its result on the CPU by default,
    which a CUDA generator cannot fill.

    How it is graded: by what bagging needs, not number for number. The
    checks look at the shape, dtype and range, at the distribution (repeats
    as with replacement, uniform frequencies, independent rows) and at
    reproducibility (same generator state, same bags; a different seed,
    different bags). So any correct draw from the generator passes: the call
    above, one torch.randint per row, torch.multinomial with replacement...
    Pinning one call would fail correct programs for a reason bagging does
    not care about: PyTorch documents no particular sequence of numbers for
    its random functions, and different calls consume the generator
    differently (on CUDA even the same ones differ from the CPU's).

    Args:
        n: size of the dataset, at least 1; the indices are in 0 .. n - 1.
        members: number of bags (ensemble members), at least 1.
        generator: the torch.Generator to draw from, on the CPU or a GPU.

    Returns:
        LongTensor (int64) of shape (members, n), on the generator's device.
    """
    # BEGIN SOLUTION Task 6.6
    return torch.randint(n, (members, n), generator=generator,     # high is exclusive
                         device=generator.device)                   # (members, n) int64
    # END SOLUTION
