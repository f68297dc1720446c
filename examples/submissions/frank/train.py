"""Topic 7 (capstone): a classifier built and trained with your own parts.

Everything comes from your earlier topics, imported by flat name from the
files next to this one:

    BatchNorm1d     normalization.py   (topic 3)
    Dropout         dropout.py         (topic 4)
    ResidualBlock   residual.py        (topic 5)
    Adam            optimizers.py      (topic 2)

The grader trains your build_model() with your train_model() on scikit-learn's
handwritten digits (8x8 images flattened to 64 features, 10 classes) and scores
the accuracy on held-out digits, under a time limit. Not allowed here:
torch.optim (use your Adam) and torch.nn's BatchNorm/Dropout modules (use
yours). F.cross_entropy is fine.
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dropout import Dropout
from normalization import BatchNorm1d
from optimizers import Adam
from residual import ResidualBlock


def build_model(in_features: int, num_classes: int) -> nn.Module:
    """A classifier from raw features to logits, built from your own layers.

    It must contain your BatchNorm1d, your Dropout and your ResidualBlock
    (the grader looks for them). One design that works well on the digits
    (about 98% held-out accuracy):

        BatchNorm1d(in_features)             # standardizes the raw features
        Dropout(0.2)                         # drops input pixels: augmentation
        Linear(in_features, 256)
        ResidualBlock(256)
        Dropout(0.3)
        Linear(256, num_classes)             # logits: no softmax at the end

    Return logits, not probabilities: F.cross_entropy applies log_softmax
    itself, and a softmax in the model would apply it twice.

    Args:
        in_features: number of input features D.
        num_classes: number of classes C.

    Returns:
        An nn.Module mapping (N, D) float inputs to (N, C) logits, with
        float32 parameters on the CPU (train_model moves it).
    """
    # BEGIN SOLUTION Task 7.1
    width = 256
    return nn.Sequential(
        BatchNorm1d(in_features),
        Dropout(0.2),
        nn.Linear(in_features, width),
        ResidualBlock(width),
        Dropout(0.3),
        nn.Linear(width, num_classes),
    )
    # END SOLUTION


def train_model(model: nn.Module, X: Tensor, y: Tensor, *, epochs: int = 30,
                batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                time_budget: float | None = None) -> nn.Module:
    """Train `model` with your Adam on cross-entropy; return it in eval mode.

    Mini-batch training, one epoch = one pass over a fresh random permutation,
    with the learning rate decaying along half a cosine from lr to 0 over the
    planned number of steps (it makes the final accuracy steadier):

        model.to(X.device, X.dtype); model.train()
        optimizer = Adam(model.parameters(), lr=lr)
        generator = torch.Generator().manual_seed(seed)
        total = epochs * ceil(N / batch_size); k = 0      # planned steps
        for each epoch:
            order = torch.randperm(N, generator=generator)   # new order every epoch
            for each batch of batch_size indices in order:
                set group["lr"] = lr * (1 + cos(pi * k / total)) / 2 in every
                    group of optimizer.param_groups; k = k + 1
                loss = F.cross_entropy(model(X[batch]), y[batch],
                                       label_smoothing=0.1)
                zero the gradients, loss.backward(), optimizer.step()
            stop if time_budget is not None and the time since the start
            (time.perf_counter()) is more than time_budget seconds
        model.eval()

    label_smoothing=0.1 trains towards 0.9 on the true class and 0.1 spread
    evenly over all classes instead of a hard 1: the network stops pushing
    its logits ever further apart, which helps on a data set this small.

    Traps: call model.train() before training (the model may arrive in eval
    mode) and model.eval() at the end (so BatchNorm uses its running
    statistics and Dropout is off when the grader predicts). Zero the
    gradients before every backward, or they add up across batches. A
    training-mode BatchNorm cannot take a batch of ONE sample (ValueError):
    skip a last batch of size 1. The time budget is checked after each epoch,
    so the epoch in which it runs out is finished (time_budget=0 trains
    exactly one epoch).

    Args:
        model: e.g. build_model(D, C); moved to X's device and dtype.
        X: features, shape (N, D), floating dtype, on any device.
        y: class labels, shape (N,), int64 (moved to X's device).
        epochs: maximum number of passes over the data.
        batch_size: samples per optimizer step.
        lr: Adam's learning rate.
        seed: seeds the torch.Generator that shuffles the data.
        time_budget: seconds; None trains all `epochs`.

    Returns:
        The same model object, trained, in eval mode.
    """
    # BEGIN SOLUTION Task 7.2
    start = time.perf_counter()
    model.to(X.device, X.dtype)
    model.train()
    y = y.to(X.device)
    optimizer = Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    n = X.shape[0]
    total, k = epochs * math.ceil(n / batch_size), 0        # planned steps, step count
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).to(X.device)
        for i in range(0, n, batch_size):
            batch = order[i:i + batch_size]
            for group in optimizer.param_groups:            # cosine decay lr -> 0
                group["lr"] = lr * (1 + math.cos(math.pi * k / total)) / 2
            k += 1
            if batch.numel() < 2:                           # BatchNorm needs 2 samples
                continue
            loss = F.cross_entropy(model(X[batch]), y[batch], label_smoothing=0.1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if time_budget is not None and time.perf_counter() - start > time_budget:
            break
    model.eval()
    return model
    # END SOLUTION
