"""Topic 4: dropout.

Dropout zeroes each activation at random during training, so that no unit can
rely on one particular other unit being present. You implement "inverted"
dropout, exactly as torch.nn.functional.dropout and torch.nn.Dropout do it:
the surviving activations are scaled up at TRAIN time, so that the expected
value of every output equals its input and nothing needs to change at test time.
You then implement the lecture slide's convention, which scales at TEST time
instead, and see what goes wrong when a model trained with one convention is
evaluated with the other.

Forbidden here: F.dropout, torch.dropout, nn.Dropout, F.alpha_dropout,
F.dropout1d/2d/3d, F.feature_alpha_dropout, torch.native_dropout and
torch.feature_dropout. Draw the mask yourself (torch.rand_like or
Tensor.bernoulli_ help).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


def _check_probability(p: float) -> None:
    """Raise the ValueError PyTorch raises for a p outside [0, 1]."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout, as torch.nn.functional.dropout (in distribution).

    p is the probability of ZEROING an element (as in torch.nn.Dropout), not
    the probability of keeping it. In training mode every element gets its own
    independent coin flip, and a FRESH mask is drawn on every call:

        mask = 1 with probability 1 - p, else 0     # shape of x, i.i.d.
        out  = x * mask / (1 - p)                   # survivors scaled up

    so that E[out] = x. The scaling happens at train time, never at test
    time: in eval mode (training=False) the input comes back unchanged
    (returning x itself is fine, PyTorch does the same).

    Edge cases: p = 0 keeps everything (out equals x); p = 1 zeroes everything
    and must give zeros, not NaN (do not divide by 1 - p = 0). The gradient
    flows through the same mask as the forward pass: dx = dy * mask / (1 - p),
    which autograd gives you for free if you build out from x with tensor ops.

    Args:
        x: input of any shape, any floating dtype, on any device.
        p: probability of zeroing each element, in [0, 1].
        training: apply dropout when True; identity when False.

    Returns:
        Tensor shaped like x, with x's dtype and device. Draw the mask on x's
        device, e.g. torch.rand_like(x) >= p, or
        torch.empty_like(x).bernoulli_(q) where q is the probability of a 1,
        that is of KEEPING.

    Raises:
        ValueError: "dropout probability has to be between 0 and 1, but got {p}"
            when p is outside [0, 1] (checked in eval mode too).
    """
    # BEGIN SOLUTION Task 4.1
    _check_probability(p)
    if not training:
        return x                                              # identity in eval
    keep = torch.empty_like(x).bernoulli_(1.0 - p)            # 1 w.p. 1 - p, x's dtype
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)              # p = 1: zeros, no NaN
    return x * keep * scale
    # END SOLUTION


class Dropout(nn.Module):
    """Dropout layer, as torch.nn.Dropout(p).

    In training mode (after model.train(), the default) it applies
    dropout(x, self.p, training=True); in eval mode (after model.eval()) it
    returns its input unchanged. Read the mode from self.training, the flag
    that nn.Module.train() and .eval() set on every submodule.

    Args:
        p: probability of ZEROING each element, in [0, 1] (default 0.5).

    Shape:
        input: any shape; output: the same shape, dtype and device.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        _check_probability(p)
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        # BEGIN SOLUTION Task 4.2
        return dropout(x, self.p, self.training)
        # END SOLUTION

    def extra_repr(self) -> str:
        return f"p={self.p}"


def scaled_at_test_dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Dropout as the lecture's slide writes it: no scaling in training, x * (1 - p) at test.

    The original dropout (Srivastava et al., 2014), and the slide, keep the
    surviving activations AS THEY ARE during training and scale at TEST time:

        training:  mask = 1 with probability 1 - p, else 0    # shape of x, i.i.d.
                   out  = x * mask                            # NOT divided by 1 - p
        test:      out  = x * (1 - p)                         # nothing is zeroed

    p is the probability of ZEROING an element, as in dropout above, and a
    FRESH mask is drawn on every call in training.

    Both conventions give the next layer the same expected input in training
    as at test time; they differ by the constant factor 1 - p:

        inverted (dropout above):  E[training output] = x            test output = x
        this one (the slide's):    E[training output] = (1 - p) * x  test output = (1 - p) * x

    Indeed this function is dropout(x, p, training) * (1 - p), up to rounding.
    So a network trained with one convention and evaluated with the other sees
    activations off by a factor 1 / (1 - p) or 1 - p at test time, and its
    loss suffers (the notebook measures how much).

    Why PyTorch's nn.Dropout is the inverted form: all the work is done in
    training, so inference does nothing at all. model.eval() turns the layer
    into the identity: no multiplication, no need to know p at deployment, the
    same model code for training and serving, and a trained layer can be
    dropped from an exported model without touching the weights after it.
    With the slide's convention every deployed model must multiply by 1 - p,
    and forgetting it silently inflates every activation.

    Edge cases: p = 0 keeps everything (out equals x in both modes); p = 1
    zeroes everything in both modes (at test time x * 0). No division happens,
    so p = 1 needs no special case here. The gradient flows through the kept
    elements only: dx = dy * mask in training, dx = dy * (1 - p) at test time,
    which autograd gives you if you build out from x with tensor operations.

    Args:
        x: input of any shape, any floating dtype, on any device.
        p: probability of zeroing each element, in [0, 1].
        training: drop (without scaling) when True; scale by 1 - p when False.

    Returns:
        Tensor shaped like x, with x's dtype and device; in eval mode a new
        tensor x * (1 - p) (x itself is not changed).

    Raises:
        ValueError: "dropout probability has to be between 0 and 1, but got {p}"
            when p is outside [0, 1] (checked in eval mode too, as in dropout).
    """
    # BEGIN SOLUTION Task 4.3
    _check_probability(p)
    keep_probability = 1.0 - p
    if not training:
        return x * keep_probability                           # scale at test time
    mask = torch.empty_like(x).bernoulli_(keep_probability)   # 1 w.p. 1 - p, x's dtype
    return x * mask                                           # survivors NOT scaled
    # END SOLUTION
