"""Public checks for dropout: run them with

    python -m autograder check dropout

from the folder that holds assignments/. Dropout is random, so most checks look
at your outputs' statistics (six-sigma bounds: a correct implementation fails
one with probability below 2e-9). The hidden checks test more: independence of
masks across calls and elements, gradients, dtypes and devices.
"""
import math

from autograder.checks import check, raised

TOPIC = "dropout"


def _fraction(got):
    out = got["out"]
    frac = float((out == 0).double().mean())
    bound = 6 * math.sqrt(0.3 * 0.7 / out.numel())
    if abs(frac - 0.3) > bound:
        hint = " (is p the probability of keeping? it is the probability of zeroing)" \
            if abs(frac - 0.7) <= bound else ""
        return f"{100 * frac:.2f}% of the elements were zeroed with p=0.3; expected 30% +/- {100 * bound:.2f}%{hint}."
    return None


@check(points=1, public=True, judge=_fraction)
def zeroed_fraction(impl, t):
    """dropout(p=0.3) zeroes about 30% of 250,000 elements."""
    return {"out": impl.dropout(t.ones(500, 500), 0.3, True)}


def _scaled(got):
    x, out = got["x"], got["out"]
    kept = out != 0
    if not kept.any() or not ((out[kept] - x[kept] / 0.5).abs() <= 1e-5 * x[kept].abs()).all():
        return "The kept elements must equal x / (1 - p) (here x / 0.5): inverted dropout scales at training time."
    return None


@check(points=1, public=True, judge=_scaled)
def kept_values_scaled(impl, t):
    """dropout(p=0.5): kept elements are scaled by 1 / (1 - p)."""
    x = t.rand(100, 100) + 0.5
    return {"x": x, "out": impl.dropout(x, 0.5, True)}


@check(points=1, public=True)
def eval_is_identity(impl, t):
    """dropout(training=False) returns the input unchanged."""
    return {"out": impl.dropout(t.randn(10, 10), 0.5, False)}


@check(points=1, public=True)
def invalid_p(impl, t):
    """dropout(p=1.5) raises ValueError."""
    return {"error": raised(lambda: impl.dropout(t.randn(3, 3), 1.5, True))}
