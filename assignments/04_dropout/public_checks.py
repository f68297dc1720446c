"""Public checks for dropout: run them with

    python -m autograder check dropout

from the folder that holds assignments/. Dropout is random, so each check looks at
your outputs themselves: the zeroed fraction (six-sigma bounds: a correct
implementation fails one with probability below 2e-9), the kept values, and eval
mode's output, which must be the input. The hidden checks test more: independence
of masks across calls and elements, gradients, dtypes and devices.
"""
import math

import torch

from autograder.checks import cause, check, raised

TOPIC = "dropout"

KEEP_PROBABILITY = cause(
    "p used as the keep probability",
    "p was used as the probability of KEEPING an element; in torch.nn.Dropout p is the "
    "probability of ZEROING it.")
NOT_SCALED = cause(
    "no scaling at training time",
    "the kept values were not scaled in training (or were scaled at test time instead); "
    "inverted dropout returns x * mask / (1 - p) in training and x itself in eval.")
TIMES_KEEP = cause(
    "multiplied by 1 - p",
    "the kept elements were multiplied by the keep probability 1 - p instead of divided by it: "
    "out = x * mask / (1 - p).")
SCALED_AT_TEST = cause(
    "scaled at test time",
    "the output was multiplied by 1 - p in eval mode (the original, non-inverted dropout); "
    "inverted dropout scales the kept values by 1 / (1 - p) in training and returns x "
    "unchanged in eval.")
EVAL_DROPS = cause(
    "dropout applied in eval",
    "dropout is still applied in eval mode; forward must pass training=self.training, and "
    "dropout must return x when training is False.")


def _zeroed(out, p, what=""):
    """None when a fraction p +/- 6 sigma of `out` is zero, else the message."""
    frac = float((out == 0).double().mean())
    bound = 6 * math.sqrt(p * (1 - p) / out.numel())
    if abs(frac - p) <= bound:
        return None
    message = (f"{what}{100 * frac:.2f}% of the elements were zeroed with p={p}; expected "
               f"{100 * p:.0f}% +/- {100 * bound:.2f}%.")
    if abs(frac - (1 - p)) <= bound:
        message += f"\n{KEEP_PROBABILITY}"
    return message


def _judge_fraction(got):
    return _zeroed(got["out"], 0.3)


@check(points=1, public=True, judge=_judge_fraction)
def zeroed_fraction(impl, t):
    """dropout(p=0.3) zeroes about 30% of 250,000 elements."""
    return {"out": impl.dropout(t.ones(500, 500), 0.3, True)}


def _scaled(got):
    x, out = got["x"], got["out"]
    kept = out != 0
    if not kept.any():
        return "Every element was zeroed with p=0.5."
    if ((out[kept] - x[kept] / 0.5).abs() <= 1e-5 * x[kept].abs()).all():
        return None
    message = "The kept elements must equal x / (1 - p) (here x / 0.5): inverted dropout scales at training time."
    if torch.allclose(out[kept], x[kept], rtol=1e-5):
        message += f"\n{NOT_SCALED}"
    elif torch.allclose(out[kept], x[kept] * 0.5, rtol=1e-5):
        message += f"\n{TIMES_KEEP}"
    return message


@check(points=1, public=True, judge=_scaled)
def kept_values_scaled(impl, t):
    """dropout(p=0.5): kept elements are scaled by 1 / (1 - p)."""
    x = t.rand(100, 100) + 0.5
    return {"x": x, "out": impl.dropout(x, 0.5, True)}


def _in_eval(out, x, p, what):
    """None when `out` is x itself, else the message (with the cause when it shows)."""
    if not isinstance(out, torch.Tensor) or out.shape != x.shape or out.dtype != x.dtype:
        found = f"{out.dtype} {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        return f"{what} returned {found}; expected x itself, {x.dtype} {tuple(x.shape)}."
    if torch.equal(out, x):
        return None
    message = f"{what} changed the input; in eval mode dropout returns x unchanged."
    if torch.allclose(out, x * (1 - p), rtol=1e-5):
        message += f"\n{SCALED_AT_TEST}"
    elif bool((out == 0).any()):                 # x is rand + 0.5: an honest eval has no zeros
        message += f"\n{EVAL_DROPS}"
    return message


def _judge_eval(got):
    return _in_eval(got["out"], got["x"], 0.5, "dropout(x, 0.5, training=False)")


@check(points=1, public=True, judge=_judge_eval)
def eval_is_identity(impl, t):
    """dropout(training=False) returns the input unchanged."""
    x = t.rand(10, 10) + 0.5
    return {"x": x, "out": impl.dropout(x, 0.5, False)}


def _module(got):
    train, x = got["train"], got["x"]
    if not isinstance(train, torch.Tensor) or train.shape != x.shape:
        return f"Dropout(0.3) in training mode returned {getattr(train, 'shape', type(train).__name__)}."
    return _zeroed(train, 0.3, "In training mode, ") or _in_eval(got["eval"], x, 0.3, "Dropout(0.3) after .eval()")


@check(points=1, public=True, judge=_module)
def module_train_then_eval(impl, t):
    """Dropout(0.3): zeroes about 30% in training mode, returns the input after .eval()."""
    layer = impl.Dropout(0.3)
    x = t.rand(200, 200) + 0.5
    out_train = layer(x)
    layer.eval()
    return {"x": x, "train": out_train, "eval": layer(x)}


@check(points=1, public=True)
def invalid_p(impl, t):
    """dropout(p=1.5) raises ValueError."""
    return {"error": raised(lambda: impl.dropout(t.randn(3, 3), 1.5, True))}


# ----------------------------------------------------------------------------- the slide's convention

NOT_SCALED_AT_TEST = cause(
    "test time not scaled",
    "the test-time output was x itself, as in inverted dropout; in the slide's convention the "
    "kept values are not scaled in training, so at test time the output must be x * (1 - p), "
    "the expected value of the training output.")
SCALED_IN_TRAINING = cause(
    "scaled in training too",
    "the kept values were divided by 1 - p in training, as inverted dropout does; the slide's "
    "convention keeps them as they are in training (out = x * mask) and multiplies by 1 - p "
    "at test time only.")


def _judge_slide(got):
    x, train, test, p = got["x"], got["training"], got["test time"], 0.25
    for name, out in (("training", train), ("test time", test)):
        if not isinstance(out, torch.Tensor) or out.shape != x.shape or out.dtype != x.dtype:
            found = f"{out.dtype} {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
            return f"scaled_at_test_dropout ({name}) returned {found}; expected {x.dtype} {tuple(x.shape)}."
    message = _zeroed(train, p, "In training, ")
    if message:
        return message
    kept = train != 0
    if not torch.allclose(train[kept], x[kept], rtol=1e-5, atol=0.0):
        message = "In training the kept elements must equal x itself: the slide's convention does not scale them."
        if torch.allclose(train[kept], x[kept] / (1 - p), rtol=1e-5, atol=0.0):
            message += f"\n{SCALED_IN_TRAINING}"
        return message
    if not torch.allclose(test, x * (1 - p), rtol=1e-5, atol=0.0):
        message = "At test time the output must be x * (1 - p), the expected training output."
        if torch.allclose(test, x, rtol=1e-5, atol=0.0):
            message += f"\n{NOT_SCALED_AT_TEST}"
        return message
    return None


@check(points=1, public=True, judge=_judge_slide, task="scaled_at_test_dropout")
def slide_convention(impl, t):
    """scaled_at_test_dropout(p=0.25): training zeroes about 25% and keeps x unscaled; test time gives x * (1 - p)."""
    x = t.rand(200, 200) + 0.5
    return {"x": x, "training": impl.scaled_at_test_dropout(x.clone(), 0.25, True),
            "test time": impl.scaled_at_test_dropout(x.clone(), 0.25, False)}
