"""Hidden checks: dropout and Dropout.

Dropout is random and the worker's generator is not the reference's, so most
checks are judges: they test the student's outputs alone. Every statistical
bound below is six standard deviations wide: a correct implementation fails
one with probability below 2e-9 (two-sided normal tail), so the whole topic
(about 20 such tests, on both sides) below 1e-7, well under the one-in-a-million bar.

Known mistakes are named in two ways: judges add a "Likely cause: ..." line to
their own message when the symptom is recognisable (p used as the keep
probability, missing scaling, a reused mask...), and the compared checks (eval,
p = 0, p = 1, invalid p) use MISTAKES below, as the other topics do.
"""
import math

import torch

from autograder.checks import RemoteError, call_with_grad, cause, check, make_param, raised

TOPIC = "dropout"
PLACEMENT_POINTS = 1
SIGMAS = 6.0

# Causes the judges name themselves (the bank expects them by name, word for word).
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
SAME_MASK = cause(
    "the same mask on every call",
    "the generator is re-seeded (torch.manual_seed) inside dropout, or one mask is kept and "
    "reused; draw a new one with torch.rand_like(x) on every call.")
SHARED_MASK = cause(
    "one mask for the whole batch",
    "the mask was drawn with the shape of one row (or column) and broadcast over the batch; "
    "draw it with x's full shape, e.g. torch.rand_like(x).")
DETACHED = cause(
    "computed from x.data",
    "the output was computed from x.data or x.detach() (or under torch.no_grad()), which cuts "
    "it off the graph; multiply x itself by the mask.")
EVAL_DROPS = cause(
    "dropout applied in eval",
    "dropout is still applied in eval mode; forward must pass training=self.training, and "
    "dropout must return x when training is False.")
EVAL_SCALED = cause(
    "eval output scaled by 1 - p",
    "the output was scaled by 1 - p at test time; inverted dropout scales the kept values by "
    "1 / (1 - p) in training and returns x unchanged in eval.")
FLOAT32_MASK = cause(
    "float32 mask",
    "the mask or the scale was made in float32 (.float(), or torch.rand/torch.ones with the "
    "default dtype); make it with x's dtype, e.g. mask.to(x.dtype) or torch.rand_like(x).")
OTHER_DTYPE_MASK = cause(
    "mask in another dtype",
    "the mask or the scale was made in another dtype than x's (float16 for every 2-byte dtype, "
    "or float32): bfloat16 times float16 is float32. Make the mask with x's own dtype: "
    "mask.to(x.dtype) or torch.rand_like(x).")
TWO_D_MASK = cause(
    "assumes a 2-D input",
    "the mask (or a reshape) assumes a 2-D input, e.g. torch.rand(x.shape[0], x.shape[1]); "
    "draw the mask with x's full shape: torch.rand_like(x).")
VIEW = cause(
    ".view() on x",
    ".view() on x (or on the mask), which needs contiguous memory; work with x's own shape "
    "(torch.rand_like(x)), or use .reshape().")


def _zero_fraction_message(frac: float, p: float, n: int, what: str = "") -> str | None:
    sd = math.sqrt(p * (1 - p) / n)
    if abs(frac - p) <= SIGMAS * sd + 1e-12:
        return None
    message = (f"{what}{100 * frac:.2f}% of the elements were zeroed with p={p}; expected "
               f"{100 * p:.2f}% +/- {100 * SIGMAS * sd:.2f}% (a correct implementation fails "
               "this test with probability below 2e-9).")
    if abs(frac - (1 - p)) <= SIGMAS * sd:
        message += f"\n{KEEP_PROBABILITY}"
    return message


def _judge_fraction(p):
    def judge(got):
        out = got["out"]
        frac = float((out == 0).double().mean())
        return _zero_fraction_message(frac, p, out.numel())
    return judge


def _fraction_check(p, points):
    def driver(impl, t):
        return {"out": impl.dropout(t.ones(1000, 1000), p=p, training=True)}
    driver.__name__ = f"zeroed_fraction_p{int(p * 100):02d}"
    driver.__doc__ = f"dropout(p={p}) zeroes a fraction p of the elements (10^6 elements, 6 sigma)."
    return check(points=points, judge=_judge_fraction(p), placement=True)(driver)


for _p in (0.2, 0.5, 0.8):
    _fraction_check(_p, 1)


def _judge_scale(got):
    x, out, p = got["x"], got["out"], 0.3
    kept = out != 0
    if not kept.any():
        return "Every element was zeroed with p=0.3."
    want = x[kept] / (1 - p)
    err = ((out[kept] - want).abs() / want.abs().clamp_min(1e-30)).max().item()
    if err <= 1e-5:
        return None
    if torch.allclose(out[kept], x[kept], rtol=1e-5):
        return ("The kept elements equal the input; in training they must be scaled by 1 / (1 - p) "
                f"(inverted dropout), so that the expected output equals the input.\n{NOT_SCALED}")
    if torch.allclose(out[kept], x[kept] * (1 - p), rtol=1e-5):
        return ("The kept elements were multiplied by (1 - p); inverted dropout divides them by "
                f"(1 - p) at training time.\n{TIMES_KEEP}")
    return f"The kept elements are not x / (1 - p): the largest relative error is {err:.3g}."


@check(points=2, judge=_judge_scale, placement=True)
def kept_values_scaled(impl, t):
    """dropout(p=0.3): every kept element equals x / (1 - p), every other is exactly 0.

    The judge compares with a copy of x taken before the call, so that an input
    changed in place (caught by p_one_gives_zeros) is not mistaken for missing scaling.
    """
    x = t.randn(300, 400) + 0.1
    return {"x": x.clone(), "out": impl.dropout(x, 0.3, True)}


def _judge_fresh(got):
    a, b = got["first"] != 0, got["second"] != 0
    n = a.numel()
    if torch.equal(a, b):
        return ("Two calls on the same input zeroed exactly the same elements: draw a fresh "
                f"mask on every call (do not store or re-seed it).\n{SAME_MASK}")
    # Independent masks agree on a fraction p^2 + (1-p)^2 = 0.5 of the elements (p = 0.5).
    agree = float((a == b).double().mean())
    if abs(agree - 0.5) > SIGMAS * math.sqrt(0.25 / n):
        return (f"The masks of two calls agree on {100 * agree:.1f}% of the elements; independent "
                "masks agree on 50% (p = 0.5). Draw a fresh, independent mask on every call.")
    return None


@check(points=1, judge=_judge_fresh)
def fresh_mask_every_call(impl, t):
    """dropout: two calls draw independent masks (agreement 50% +/- 6 sigma for p=0.5)."""
    x = t.ones(200, 500)                  # each call gets its own copy: in-place changes stay apart
    return {"first": impl.dropout(x.clone(), 0.5, True), "second": impl.dropout(x.clone(), 0.5, True)}


def _judge_elementwise(got):
    kept = got["out"] != 0                    # (1000, 1000), p = 0.5
    rows_constant = (kept.all(1) | (~kept).all(1)).double().mean().item()
    cols_constant = (kept.all(0) | (~kept).all(0)).double().mean().item()
    # With independent elements, a row of 1000 is constant with probability 2 * 0.5^1000.
    if rows_constant > 0.5 or cols_constant > 0.5:
        axis = "row" if rows_constant > 0.5 else "column"
        return (f"Whole {axis}s are kept or zeroed together; dropout draws one coin per ELEMENT, "
                f"not one per {axis} (the mask must have the input's full shape).\n{SHARED_MASK}")
    return None


@check(points=1, judge=_judge_elementwise)
def mask_is_per_element(impl, t):
    """dropout: each element gets its own coin (no mask shared along a row or a column)."""
    return {"out": impl.dropout(t.ones(1000, 1000), 0.5, True)}


# The edge cases below are each what a do-nothing dropout does everywhere (return x, return
# zeros, raise ValueError): each check also asks for a plain training call, so that its
# point is earned only together with dropout itself.
DROPS = "dropout(ones(100, 100), p=0.5) zeroes about half of the elements"


def _drops(impl, t) -> bool | None:
    """Whether dropout(ones(100, 100), 0.5) in training zeroes a fraction 0.5 +/- 6 sigma of the
    elements (None on the meta device: no values). Only that it drops at all: how the kept
    values are scaled is kept_values_scaled's business, so a scaling bug costs points once.

    Computed here, from each side's own random output, so the compared value is a plain bool.
    """
    out = impl.dropout(t.ones(100, 100), 0.5, True)
    if not isinstance(out, torch.Tensor) or out.shape != (100, 100):
        return False
    if out.device.type == "meta":
        return None
    return _zero_fraction_message(float((out == 0).double().mean()), 0.5, out.numel()) is None


@check(points=1)
def eval_returns_input(impl, t):
    """dropout(training=False) returns the input unchanged (and training mode drops)."""
    x = t.randn(20, 30)
    return {"out": impl.dropout(x, 0.5, False), f"in training, {DROPS}": _drops(impl, t)}


@check(points=1)
def p_zero_is_identity(impl, t):
    """dropout(p=0) in training keeps every element unchanged (and p=0.5 drops)."""
    x = t.randn(50, 40, dtype=torch.float64)
    return {"out": impl.dropout(x, 0.0, True), f"also {DROPS}": _drops(impl, t)}


@check(points=1)
def p_one_gives_zeros(impl, t):
    """dropout(p=1) in training gives zeros, not NaN (and p=0.5 keeps about half).

    x is returned too: zeroing the caller's x in place is this check's failure either way
    (the in-place log), and comparing x names the mistake.
    """
    x = t.randn(30, 30)
    out = impl.dropout(x, 1.0, True)
    return {"out": out, f"also {DROPS}": _drops(impl, t), "x after the call": x}


@check(points=1, placement=False)
def invalid_p_raises(impl, t):
    """dropout raises ValueError for p outside [0, 1], in training and in eval (and a valid p works)."""
    x = t.randn(4, 4)
    return {"p=1.5": raised(lambda: impl.dropout(x, 1.5, True)),
            "p=-0.1": raised(lambda: impl.dropout(x, -0.1, True)),
            "p=2, eval": raised(lambda: impl.dropout(x, 2.0, False)),
            "Dropout(p=1.5)": raised(lambda: impl.Dropout(1.5)),
            f"with a valid p, {DROPS}": _drops(impl, t)}


def _judge_gradient(got):
    out, grad, upstream, p = got["out"], got["grad_x"], got["upstream"], 0.4
    if grad is None:
        return f"No gradient reached x: build the output from x with tensor operations.\n{DETACHED}"
    mask = (out != 0).to(upstream.dtype)
    want = upstream * mask / (1 - p)
    if torch.allclose(grad, want, rtol=1e-5, atol=1e-6):
        return None
    return ("The gradient of x is not upstream * mask / (1 - p) with the mask of the same "
            "forward pass: the backward must use the forward's mask (let autograd do it).")


@check(points=2, judge=_judge_gradient)
def gradient_uses_same_mask(impl, t):
    """dropout's gradient is upstream * mask / (1 - p), with the forward pass's mask."""
    x = (t.rand(40, 50, dtype=torch.float64) + 0.5).requires_grad_(True)
    upstream = t.randn(40, 50, dtype=torch.float64)
    try:
        out, grads = call_with_grad(impl.dropout, x, 0.4, True, upstream=upstream)
    except RemoteError as exc:          # an output cut off from x: the judge says why
        if exc.is_a("NotImplementedError") or "does not require grad" not in str(exc.info.get("message")):
            raise
        return {"out": None, "grad_x": None, "upstream": upstream}
    return {"out": out, "grad_x": grads.get(0), "upstream": upstream}


def _judge_module(got):
    for key in ("train", "eval"):
        if not isinstance(got.get(key), torch.Tensor):
            return f"Dropout's {key}-mode output is not a tensor."
    if not torch.equal(got["eval"], got["x"]):
        message = "In eval mode (after .eval()) Dropout must return its input unchanged."
        if bool((got["eval"] == 0).any()):       # x is randn + 5: an honest eval has no zeros
            message += f"\n{EVAL_DROPS}"
        elif torch.allclose(got["eval"], got["x"] * 0.7, rtol=1e-5):
            message += f"\n{EVAL_SCALED}"
        return message
    return _zero_fraction_message(float((got["train"] == 0).double().mean()), 0.3,
                                  got["train"].numel(), "In training mode, ")


@check(points=2, judge=_judge_module, placement=True)
def module_train_and_eval(impl, t):
    """Dropout(0.3): drops in training mode, returns the input after .eval()."""
    layer = impl.Dropout(0.3)
    x = t.randn(500, 400) + 5.0
    out_train = layer(x)
    layer.eval()
    return {"x": x, "train": out_train, "eval": layer(x)}


def _judge_dtype(got):
    # Returning x (or zeros like x) keeps the dtype too: the float64 output must also be dropout's.
    for key, dtype in (("float64", torch.float64), ("float16", torch.float16)):
        out = got[key]
        if not isinstance(out, torch.Tensor) or out.dtype != dtype:
            found = getattr(out, "dtype", type(out).__name__)
            message = f"dropout on a {key} input returned {found}; it must keep the input's dtype."
            if key == "float16" and found == torch.float32:
                message += f"\n{FLOAT32_MASK}"
            return message
        if out.shape != (64, 64):
            return f"dropout on a {key} input returned shape {tuple(out.shape)}; expected (64, 64)."
    out = got["float64"]
    if out.device.type == "meta":
        return None
    return _zero_fraction_message(float((out == 0).double().mean()), 0.5, out.numel(),
                                  "On the float64 input, ")


@check(points=1, judge=_judge_dtype, placement=True)
def keeps_dtype(impl, t):
    """dropout keeps the input's dtype (float64 and float16) and shape, and drops elements."""
    return {"float64": impl.dropout(t.randn(64, 64, dtype=torch.float64), 0.5, True),
            "float16": impl.dropout(t.randn(64, 64, dtype=torch.float16), 0.5, True)}


def _out_or_error(call):
    """The implementation's output, or "raised Kind: message" when it raised (so that a
    judge can say which input failed and why, instead of the whole check erroring)."""
    try:
        return call()
    except RemoteError as exc:
        if exc.is_a("NotImplementedError"):
            raise                   # an unfinished stub is "not attempted"
        return f"raised {exc.type}: {exc.info.get('message', '')}"


def _judge_bfloat16(got):
    out = got["out"]
    if isinstance(out, str):
        return f"dropout on a bfloat16 input {out}."
    if not isinstance(out, torch.Tensor) or out.dtype != torch.bfloat16:
        found = getattr(out, "dtype", type(out).__name__)
        message = f"dropout on a bfloat16 input returned {found}; it must keep the input's dtype."
        if found == torch.float32:
            message += f"\n{OTHER_DTYPE_MASK}"
        return message
    if out.shape != (256, 256):
        return f"dropout on a bfloat16 input returned shape {tuple(out.shape)}; expected (256, 256)."
    return _zero_fraction_message(float((out == 0).double().mean()), 0.5, out.numel(),
                                  "On the bfloat16 input, ")


@check(points=1, judge=_judge_bfloat16)
def keeps_dtype_bfloat16(impl, t):
    """dropout keeps a bfloat16 input's dtype and shape, and drops about half (6 sigma)."""
    return {"out": _out_or_error(lambda: impl.dropout(t.ones(256, 256, dtype=torch.bfloat16), 0.5, True))}


RANKS = {"4-D (10, 20, 30, 20)": (10, 20, 30, 20), "1-D (100000,)": (100000,), "0-dim ()": ()}


def _judge_ranks(got):
    for name, shape in RANKS.items():
        out = got[name]
        problem = None
        if isinstance(out, str):
            problem = f"dropout on a {name} input {out}"
        elif not isinstance(out, torch.Tensor) or tuple(out.shape) != shape:
            problem = (f"dropout on a {name} input returned "
                       f"{tuple(getattr(out, 'shape', ())) if isinstance(out, torch.Tensor) else type(out).__name__}"
                       f"; expected a tensor of shape {shape}")
        if problem:
            return f"{problem}. dropout takes inputs of any shape (2-D inputs pass).\n{TWO_D_MASK}"
        if shape:
            message = _zero_fraction_message(float((out == 0).double().mean()), 0.5, out.numel(),
                                             f"On the {name} input, ")
            if message:
                return message
    return None


@check(points=1, judge=_judge_ranks)
def any_rank(impl, t):
    """dropout takes inputs of any rank (4-D, 1-D, 0-dim): same shape, half dropped (6 sigma)."""
    return {name: _out_or_error(lambda shape=shape: impl.dropout(t.ones(shape), 0.5, True))
            for name, shape in RANKS.items()}


def _judge_non_contiguous(got):
    out = got["out"]
    if isinstance(out, str):
        message = f"dropout on a non-contiguous input (a transposed view) {out}."
        if "view" in out:
            message += f"\n{VIEW}"
        return message
    if not isinstance(out, torch.Tensor) or out.shape != (500, 400):
        return (f"dropout on a (500, 400) transposed view returned "
                f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}; "
                "expected a tensor of shape (500, 400).")
    kept = out != 0
    if kept.any() and not torch.allclose(out[kept], torch.full_like(out[kept], 2.0)):
        return ("On a transposed view of ones with p=0.5, the kept elements are not 1 / (1 - p) = 2: "
                "the mask and x must be combined element by element, whatever x's memory layout.")
    return _zero_fraction_message(float((~kept).double().mean()), 0.5, out.numel(),
                                  "On a transposed view, ")


@check(points=1, judge=_judge_non_contiguous)
def non_contiguous_input(impl, t):
    """dropout on a non-contiguous input (a transposed view): shape, kept values x / (1 - p), half dropped (6 sigma)."""
    base = make_param(impl, t.ones(400, 500))       # on the implementation's side: .T stays a view
    return {"out": _out_or_error(lambda: impl.dropout(base.data.T, 0.5, True))}


# ----------------------------------------------------------------------------- the slide's convention
# scaled_at_test_dropout: training x * mask (kept values NOT scaled), test time x * (1 - p).

SCALED_IN_TRAINING = cause(
    "scaled in training too",
    "the kept values were divided by 1 - p in training, as inverted dropout does; the slide's "
    "convention keeps them as they are in training (out = x * mask) and multiplies by 1 - p "
    "at test time only.")
TIMES_KEEP_IN_TRAINING = cause(
    "multiplied by 1 - p in training",
    "the kept values were multiplied by 1 - p in training; in the slide's convention that "
    "factor belongs to test time only: out = x * mask in training, x * (1 - p) at test time.")
NOT_SCALED_AT_TEST = cause(
    "test time not scaled",
    "the test-time output was x itself, as in inverted dropout; in the slide's convention the "
    "kept values are not scaled in training, so at test time the output must be x * (1 - p), "
    "the expected value of the training output.")
SAT_DROPS = "scaled_at_test_dropout(ones(100, 100), p=0.5) zeroes about half of the elements"


def _sat_drops(impl, t) -> bool | None:
    """Whether the slide's dropout in training zeroes a fraction 0.5 +/- 6 sigma of
    ones(100, 100) (None on the meta device): the edge cases below are what doing nothing
    does, so their point needs a dropout that drops."""
    out = impl.scaled_at_test_dropout(t.ones(100, 100), 0.5, True)
    if not isinstance(out, torch.Tensor) or out.shape != (100, 100):
        return False
    if out.device.type == "meta":
        return None
    return _zero_fraction_message(float((out == 0).double().mean()), 0.5, out.numel()) is None


def _tensor_problem(value, shape, dtype, what: str) -> str | None:
    if not isinstance(value, torch.Tensor):
        return f"{what} returned {type(value).__name__}; expected a tensor."
    if tuple(value.shape) != shape:
        return f"{what} returned shape {tuple(value.shape)}; expected {shape}."
    if value.dtype != dtype:
        message = f"{what} returned {value.dtype}; it must keep the input's dtype, {dtype}."
        if dtype == torch.float16 and value.dtype == torch.float32:
            message += f"\n{FLOAT32_MASK}"
        return message
    return None


def _judge_sat_training(got):
    x, out, second, p = got["x"], got["out"], got["second"], 0.3
    for key, value, dtype in (("out", out, x.dtype), ("second", second, x.dtype),
                              ("float16", got["float16"], torch.float16)):
        shape = (64, 64) if key == "float16" else tuple(x.shape)
        problem = _tensor_problem(value, shape, dtype, f"scaled_at_test_dropout on a {dtype} input")
        if problem:
            return problem
    if out.device.type == "meta":
        return None
    message = _zero_fraction_message(float((out == 0).double().mean()), p, out.numel(), "In training, ")
    if message:
        return message
    kept = out != 0
    if not torch.allclose(out[kept], x[kept], rtol=1e-5, atol=0.0):
        message = ("In training the kept elements must equal x itself: the slide's convention does "
                   "not scale in training (out = x * mask).")
        if torch.allclose(out[kept], x[kept] / (1 - p), rtol=1e-5, atol=0.0):
            return f"{message}\n{SCALED_IN_TRAINING}"
        if torch.allclose(out[kept], x[kept] * (1 - p), rtol=1e-5, atol=0.0):
            return f"{message}\n{TIMES_KEEP_IN_TRAINING}"
        return message
    if torch.equal(kept, second != 0):
        return ("Two calls on the same input zeroed exactly the same elements: draw a fresh "
                f"mask on every call (do not store or re-seed it).\n{SAME_MASK}")
    rows = (kept.all(1) | (~kept).all(1)).double().mean().item()
    cols = (kept.all(0) | (~kept).all(0)).double().mean().item()
    if rows > 0.5 or cols > 0.5:           # independent coins: a whole line is 0.7^400 likely
        axis = "row" if rows > 0.5 else "column"
        return (f"Whole {axis}s are kept or zeroed together; dropout draws one coin per ELEMENT, "
                f"not one per {axis} (the mask must have the input's full shape).\n{SHARED_MASK}")
    return None


@check(points=1, judge=_judge_sat_training, placement=True, task="scaled_at_test_dropout")
def scaled_at_test_training(impl, t):
    """scaled_at_test_dropout(p=0.3), training: a fraction p zeroed (6 sigma), kept values NOT scaled, a fresh mask per call.

    Also a float16 input: the output keeps its dtype.
    """
    x = t.randn(500, 400) + 0.1
    return {"x": x.clone(), "out": impl.scaled_at_test_dropout(x, 0.3, True),
            "second": impl.scaled_at_test_dropout(x.clone(), 0.3, True),
            "float16": impl.scaled_at_test_dropout(t.randn(64, 64, dtype=torch.float16), 0.3, True)}


@check(points=1, placement=False, task="scaled_at_test_dropout")
def scaled_at_test_eval_and_edge_cases(impl, t):
    """scaled_at_test_dropout: x * (1 - p) at test time; p=0 keeps x, p=1 gives zeros; p outside [0, 1] raises.

    Compared with the reference (float64, the dtype's tolerance). A valid training call must
    drop too: returning x, or zeros, is right for p=0, or for p=1, alone.
    """
    x = t.randn(20, 30, dtype=torch.float64)
    return {"test time, p=0.3": impl.scaled_at_test_dropout(x, 0.3, False),
            "test time, p=0": impl.scaled_at_test_dropout(x, 0.0, False),
            "test time, p=1": impl.scaled_at_test_dropout(x, 1.0, False),
            "training, p=0": impl.scaled_at_test_dropout(x, 0.0, True),
            "training, p=1": impl.scaled_at_test_dropout(x, 1.0, True),
            "p=1.5, training": raised(lambda: impl.scaled_at_test_dropout(x, 1.5, True)),
            "p=-0.1, test time": raised(lambda: impl.scaled_at_test_dropout(x, -0.1, False)),
            f"in training, {SAT_DROPS}": _sat_drops(impl, t)}


def _judge_sat_gradient(got):
    p = 0.4
    if got["grad_train"] is None or got["grad_test"] is None:
        return f"No gradient reached x: build the output from x with tensor operations.\n{DETACHED}"
    mask = (got["out_train"] != 0).to(got["upstream_train"].dtype)
    want_train = got["upstream_train"] * mask
    if not torch.allclose(got["grad_train"], want_train, rtol=1e-6, atol=1e-9):
        message = ("In training, the gradient of x is not upstream * mask (with the forward's "
                   "mask, no scaling in the slide's convention).")
        if torch.allclose(got["grad_train"], want_train / (1 - p), rtol=1e-6, atol=1e-9):
            message += f"\n{SCALED_IN_TRAINING}"
        return message
    want_test = got["upstream_test"] * (1 - p)
    if not torch.allclose(got["grad_test"], want_test, rtol=1e-6, atol=1e-9):
        message = "At test time, the gradient of x is not upstream * (1 - p)."
        if torch.allclose(got["grad_test"], got["upstream_test"], rtol=1e-6, atol=1e-9):
            message += f"\n{NOT_SCALED_AT_TEST}"
        return message
    return None


@check(points=1, judge=_judge_sat_gradient, task="scaled_at_test_dropout")
def scaled_at_test_gradient(impl, t):
    """scaled_at_test_dropout's gradient: upstream * mask in training, upstream * (1 - p) at test time."""
    x = (t.rand(40, 50, dtype=torch.float64) + 0.5).requires_grad_(True)
    up_train, up_test = t.randn(40, 50, dtype=torch.float64), t.randn(40, 50, dtype=torch.float64)
    outputs = {"upstream_train": up_train, "upstream_test": up_test}
    for mode, training, upstream in (("train", True, up_train), ("test", False, up_test)):
        try:
            out, grads = call_with_grad(impl.scaled_at_test_dropout, x, 0.4, training, upstream=upstream)
        except RemoteError as exc:          # an output cut off from x: the judge says why
            if exc.is_a("NotImplementedError") or "does not require grad" not in str(exc.info.get("message")):
                raise
            out, grads = None, {}
        outputs[f"out_{mode}"], outputs[f"grad_{mode}"] = out, grads.get(0)
    return outputs


AGREE_P, AGREE_K = 0.4, 2000      # p, and the number of training passes averaged per element
AGREE_SIGMAS = 6.5                # per element; 100 elements, two conventions: below 1e-8 in all


def _mean_problem(mean, want, spread, what):
    """None when every element of `mean` is within AGREE_SIGMAS of `want` (per-element standard
    deviations spread * |want| / sqrt(AGREE_K)), else the message."""
    sd = spread * want.abs() / AGREE_K ** 0.5
    off = ((mean - want).abs() / sd.clamp_min(1e-300)).max().item()
    if off <= AGREE_SIGMAS:
        return None
    return (f"{what}: the mean of {AGREE_K} training outputs is {off:.1f} standard deviations away "
            "from it.")


def _judge_agree(got):
    x, p = got["x"], AGREE_P
    for key in ("inverted, training", "inverted, test time", "slide's, training", "slide's, test time"):
        value = got[key]
        shape = (AGREE_K, x.numel()) if "training" in key else tuple(x.shape)
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
            return f"The {key} output is not a tensor of shape {shape}."
    inverted_mean = got["inverted, training"].mean(0)
    slide_mean = got["slide's, training"].mean(0)
    # inverted dropout: each output is 0 or x / (1 - p): sd |x| sqrt(p / (1 - p))
    problem = _mean_problem(inverted_mean, x, math.sqrt(p / (1 - p)),
                            "Inverted dropout (dropout) must have E[training output] = x")
    if problem:
        if _mean_problem(inverted_mean, x * (1 - p), math.sqrt(p / (1 - p)), "") is None:
            problem += f"\n{NOT_SCALED}"
        return problem
    if not torch.allclose(got["inverted, test time"], x, rtol=1e-12, atol=0.0):
        return "Inverted dropout's test-time output must be x itself, its expected training output."
    # the slide's convention: each output is 0 or x: sd |x| sqrt(p (1 - p)) = (1 - p) |x| sqrt(p / (1 - p))
    problem = _mean_problem(slide_mean, x * (1 - p), math.sqrt(p / (1 - p)),
                            "The slide's convention must have E[training output] = (1 - p) * x")
    if problem:
        if _mean_problem(slide_mean, x, math.sqrt(p / (1 - p)), "") is None:
            problem += f"\n{SCALED_IN_TRAINING}"
        return problem
    test = got["slide's, test time"]
    if not torch.allclose(test, x * (1 - p), rtol=1e-9, atol=0.0):
        message = ("The slide's convention: its test-time output must equal its expected training "
                   "output, (1 - p) * x.")
        if torch.allclose(test, x, rtol=1e-9, atol=0.0):
            message += f"\n{NOT_SCALED_AT_TEST}"
        return message
    return None


@check(points=1, judge=_judge_agree, placement=False, task="scaled_at_test_dropout")
def conventions_agree_in_expectation(impl, t):
    """Both conventions: test output = expected training output (inverted dropout: x; the slide's: (1 - p) x).

    Each of 100 float64 inputs goes through 2000 training passes of each function (p=0.4);
    their mean must be within 6.5 standard deviations of the expected value, element by element
    (a correct pair fails with probability below 1e-8), and the test-time output must equal it.
    """
    x = t.randn(1, 100, dtype=torch.float64)
    batch = x.expand(AGREE_K, 100).contiguous()
    return {"x": x[0],
            "inverted, training": impl.dropout(batch.clone(), AGREE_P, True),
            "inverted, test time": impl.dropout(x[0].clone(), AGREE_P, False),
            "slide's, training": impl.scaled_at_test_dropout(batch.clone(), AGREE_P, True),
            "slide's, test time": impl.scaled_at_test_dropout(x[0].clone(), AGREE_P, False)}
