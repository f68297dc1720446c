"""Topic 4 (dropout) written with PyTorch's built-ins.

The same names and signatures as solutions/04_dropout/dropout.py, so the same
drivers run on both. Dropout is random: compare these in distribution (zeroed
fraction, kept values equal to x / (1 - p)), never mask for mask.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: torch.nn.functional.dropout(x, p, training)."""
    return F.dropout(x, p=p, training=training)


class Dropout(nn.Dropout):
    """torch.nn.Dropout(p), constructed as the student's Dropout(p=0.5)."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__(p=p)


def scaled_at_test_dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """The slide's convention from the inverted one: F.dropout(x, p, training) * (1 - p).

    In training the kept values are x / (1 - p) * (1 - p), x up to rounding; at test time
    F.dropout is the identity, so the output is x * (1 - p). F.dropout checks p itself.
    """
    return F.dropout(x, p=p, training=training) * (1.0 - p)
