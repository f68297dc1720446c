"""Topic 6: ensembles.

Several models trained independently (different initialisations, different
data orders) make partly independent mistakes; combining their predictions
cancels part of them. You implement the two classic ways to combine
classifiers, averaging and voting, a module that wraps a list of models, and
Monte Carlo dropout: an "ensemble" obtained from a single network by keeping
dropout switched on at test time.

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
    # ===== YOUR CODE: Task 6.1 =====
    raise NotImplementedError("Task 6.1: average_predictions in ensembles.py")
    # ===== END YOUR CODE =====


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
    # ===== YOUR CODE: Task 6.2 =====
    raise NotImplementedError("Task 6.2: majority_vote in ensembles.py")
    # ===== END YOUR CODE =====


class Ensemble(nn.Module):
    """An ensemble of classifiers that each map x to logits of shape (N, C).

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
        # ===== YOUR CODE: Task 6.3 =====
        raise NotImplementedError("Task 6.3: Ensemble.__init__ in ensembles.py")
        # ===== END YOUR CODE =====

    def forward(self, x: Tensor) -> Tensor:
        # ===== YOUR CODE: Task 6.4 =====
        raise NotImplementedError("Task 6.4: Ensemble.forward in ensembles.py")
        # ===== END YOUR CODE =====

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
    # ===== YOUR CODE: Task 6.5 =====
    raise NotImplementedError("Task 6.5: mc_dropout_predict in ensembles.py")
    # ===== END YOUR CODE =====
