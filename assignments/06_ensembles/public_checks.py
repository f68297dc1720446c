"""Public checks for ensembles: run them with

    python -m autograder check ensembles

from the folder that holds assignments/. PyTorch has no built-in for these, so
each check states the expected answer itself. The hidden checks test more:
stacked inputs, score inputs, the Ensemble module and MC dropout.
"""
import torch

from autograder.checks import check

TOPIC = "ensembles"


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
