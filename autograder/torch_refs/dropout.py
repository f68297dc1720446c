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
