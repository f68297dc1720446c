"""Hidden checks: autograd basics (numerical_gradient, autograd_gradient, relative_error,
gradient_check).

The functions whose gradients are taken come from autograder/testfns.py, named
with `fns_on(impl)` (functions cannot cross the wire). Tensors that must stay on
the implementation's side, to see afterwards whether the student's code touched
their `.grad` or `requires_grad`, or to pass a non-contiguous view (the wire makes
every tensor it carries contiguous), are made with `make_param` and read back
with `fetch`.
"""
import torch

from autograder.checks import (RemoteError, assign, check, fetch, fns_on, make_param,
                               raised)

TOPIC = "autograd"
PLACEMENT_POINTS = 1

F64 = torch.float64

# Finite differences divide a difference of two function values by 2h = 2e-6: an
# honest implementation that feeds fn a differently laid-out copy (sums in another
# order) moves the result by ~1e-16 * |fn| / 2e-6, above the float64 table's atol.
# Ten times the table still fails the mistakes below by orders of magnitude.
FD_TOLERANCE = 10


def _or_error(call):
    """The implementation's result, or "raised Kind" when it raised: compared with the
    reference's, so that a crash on one input still lets a known mistake be named."""
    try:
        return call()
    except RemoteError as exc:
        if exc.is_a("NotImplementedError"):
            raise                   # an unfinished stub is "not attempted"
        return f"raised {exc.type}"


# ----------------------------------------------------------------------------- numerical_gradient

@check(points=2, tolerance=FD_TOLERANCE)
def numerical_gradient_vector(impl, t):
    """numerical_gradient of sum(tanh(x)**2) at a float64 vector: central differences."""
    x = t.randn(7, dtype=F64)
    return {"grad": impl.numerical_gradient(fns_on(impl).tanh_sq_sum, x)}


@check(points=1, tolerance=FD_TOLERANCE)
def numerical_gradient_scalar(impl, t):
    """numerical_gradient at a 0-dim x (softplus): the result is 0-dim too."""
    x = t.randn(1, dtype=F64).reshape(())
    return {"grad": impl.numerical_gradient(fns_on(impl).softplus_mean, x)}


@check(points=1, tolerance=FD_TOLERANCE)
def numerical_gradient_matrix(impl, t):
    """numerical_gradient of a quadratic form at a (3, 4) float64 matrix: shaped like x."""
    x = t.randn(3, 4, dtype=F64)
    return {"grad": impl.numerical_gradient(fns_on(impl).matrix_quadratic, x)}


@check(points=1, tolerance=FD_TOLERANCE)
def numerical_gradient_non_contiguous(impl, t):
    """numerical_gradient at a transposed (non-contiguous) matrix, which it leaves unchanged."""
    base = make_param(impl, t.randn(4, 3, dtype=F64))
    grad = impl.numerical_gradient(fns_on(impl).tanh_sq_sum, base.data.T)   # (3, 4) view
    return {"grad": grad, "x after the call": fetch(base)}


@check(points=1)
def numerical_gradient_float32(impl, t):
    """numerical_gradient at a float32 x: computed in float64, returned in float32."""
    x = t.randn(6, dtype=torch.float32)
    return {"grad": impl.numerical_gradient(fns_on(impl).tanh_sq_sum, x)}


@check(points=1)
def numerical_gradient_large_h(impl, t):
    """numerical_gradient with h=1e-3: central (not forward) differences, divided by 2h."""
    x = t.randn(2, 3, dtype=F64)
    return {"grad": impl.numerical_gradient(fns_on(impl).tanh_sq_sum, x, h=1e-3)}


@check(points=1, tolerance=FD_TOLERANCE)
def numerical_gradient_leaves_x_alone(impl, t):
    """numerical_gradient at an x that requires grad: x and x.grad are untouched."""
    x = make_param(impl, t.randn(3, 2, dtype=F64))
    grad = impl.numerical_gradient(fns_on(impl).sum_of_squares, x)
    return {"grad": grad, "x after the call": fetch(x), "x.grad after the call": fetch(x.grad)}


@check(points=1)
def numerical_gradient_empty(impl, t):
    """numerical_gradient at an empty (0, 3) x: an empty gradient shaped like x.

    The empty gradient is also what returning x, or zeros like it, gives: the gradient at
    a (2, 3) x is asked too, for the point.
    """
    f = fns_on(impl).tanh_sq_sum
    return {"grad at a (0, 3) x": impl.numerical_gradient(f, t.randn(0, 3, dtype=F64)),
            "grad at a (2, 3) x": impl.numerical_gradient(f, t.randn(2, 3, dtype=F64))}


@check(points=1)
def numerical_gradient_half_precision(impl, t):
    """numerical_gradient at float16 and bfloat16 x: computed in float64, returned in x's dtype."""
    f = fns_on(impl).tanh_sq_sum
    return {"float16": impl.numerical_gradient(f, t.randn(5, dtype=torch.float16)),
            "bfloat16": impl.numerical_gradient(f, t.randn(5, dtype=torch.bfloat16))}


@check(points=1, tolerance=FD_TOLERANCE)
def numerical_gradient_expanded(impl, t):
    """numerical_gradient at an expanded x, whose rows share memory: the gradient at that point, x unchanged.

    x is a (1, 4) tensor expanded to (3, 4) on the implementation's side (stride 0 along
    the rows). Writing x + h e_i into x itself moves the whole column at once, so the
    perturbation must go into a contiguous copy.
    """
    views = fns_on(impl).Views(t.randn(1, 4, dtype=F64), 3, 4)
    grad = impl.numerical_gradient(fns_on(impl).tanh_sq_sum, views.expanded)
    return {"grad": grad, "x after the call": fetch(views.base)}


@check(points=1, placement=False, tolerance=FD_TOLERANCE)
def numerical_gradient_fn_output_kinds(impl, t):
    """numerical_gradient of an fn that returns a Python float, or a one-element (1,) tensor.

    The docstring allows fn to return a 0-dim tensor, a one-element tensor or a Python
    float; the other checks' functions return 0-dim tensors.
    """
    x = t.randn(2, 3, dtype=F64)
    fns = fns_on(impl)
    return {"fn returns a Python float": _or_error(
                lambda: impl.numerical_gradient(fns.tanh_sq_sum_float, x)),
            "fn returns a (1,) tensor": _or_error(
                lambda: impl.numerical_gradient(fns.tanh_sq_sum_1d, x))}


# ----------------------------------------------------------------------------- autograd_gradient

@check(points=2)
def autograd_gradient_vector(impl, t):
    """autograd_gradient of logsumexp at a float64 vector."""
    x = t.randn(6, dtype=F64)
    return {"grad": impl.autograd_gradient(fns_on(impl).logsumexp, x)}


@check(points=1)
def autograd_gradient_matrix_float32(impl, t):
    """autograd_gradient of a quadratic form at a (3, 3) float32 matrix: float32, shaped like x."""
    x = t.randn(3, 3, dtype=torch.float32)
    return {"grad": impl.autograd_gradient(fns_on(impl).matrix_quadratic, x)}


@check(points=1)
def autograd_gradient_twice(impl, t):
    """autograd_gradient called twice at an x that requires grad: same result, x.grad untouched."""
    x = make_param(impl, t.randn(4, dtype=F64))
    f = fns_on(impl).tanh_sq_sum
    first = impl.autograd_gradient(f, x)
    second = impl.autograd_gradient(f, x)
    return {"first call": first, "second call": second, "x after the calls": fetch(x),
            "x.grad after the calls": fetch(x.grad)}


@check(points=1)
def autograd_gradient_no_side_effects(impl, t):
    """autograd_gradient at an x without requires_grad: x.requires_grad stays False, no x.grad."""
    x = make_param(impl, t.randn(2, 3, dtype=F64))
    assign(x.requires_grad, False)
    grad = impl.autograd_gradient(fns_on(impl).softplus_mean, x)
    return {"grad": grad, "x.requires_grad after the call": fetch(x.requires_grad),
            "x.grad after the call": fetch(x.grad)}


@check(points=1)
def autograd_gradient_uses_backward(impl, t):
    """autograd_gradient goes through fn's own backward: a wrong one's x, an honest one's 2x.

    wrong_backward_sum is sum(x**2) with a backward that returns x instead of 2x: that x
    alone is also what returning the input unchanged gives, so the honest sum_of_squares
    (gradient 2x) at the same point is asked too.
    """
    x = t.randn(5, dtype=F64)
    fns = fns_on(impl)
    return {"grad": impl.autograd_gradient(fns.wrong_backward_sum, x),
            "grad of sum(x**2), an honest backward": impl.autograd_gradient(fns.sum_of_squares, x)}


@check(points=1)
def autograd_gradient_half_precision(impl, t):
    """autograd_gradient at float16 and bfloat16 x: computed and returned in x's dtype."""
    f = fns_on(impl).sum_of_squares
    return {"float16": impl.autograd_gradient(f, t.randn(5, dtype=torch.float16)),
            "bfloat16": impl.autograd_gradient(f, t.randn(5, dtype=torch.bfloat16))}


@check(points=1)
def autograd_gradient_non_contiguous(impl, t):
    """autograd_gradient at a transposed (non-contiguous) matrix, which it leaves unchanged."""
    base = make_param(impl, t.randn(4, 3, dtype=F64))
    grad = impl.autograd_gradient(fns_on(impl).matrix_quadratic, base.data.T)   # (3, 4) view
    return {"grad": grad, "x after the call": fetch(base)}


@check(points=1)
def autograd_gradient_unused_input(impl, t):
    """autograd_gradient of an fn that does not depend on x: zeros shaped like x (xc.grad stays None).

    Zeros are also what returning zeros_like(x) for everything gives: the gradient of
    sum(x**2) at the same x is asked too, for the point.
    """
    x = t.randn(2, 3, dtype=F64)
    fns = fns_on(impl)
    return {"grad of an fn that ignores x": _or_error(lambda: impl.autograd_gradient(fns.ignores_x, x)),
            "grad of sum(x**2)": impl.autograd_gradient(fns.sum_of_squares, x)}


@check(points=1, placement=False, tolerance=FD_TOLERANCE)
def gradients_are_plain_tensors(impl, t):
    """Both gradients are right and plain tensors (requires_grad False), even when x requires grad.

    A gradient that still carries a graph (backward(create_graph=True), or finite
    differences taken with autograd recording) keeps every intermediate alive and
    turns later arithmetic on it into more recording. A tensor of zeros carries no
    graph either: the values are compared too.
    """
    x = make_param(impl, t.randn(5, dtype=F64))
    f = fns_on(impl).tanh_sq_sum
    analytic = impl.autograd_gradient(f, x)
    numeric = impl.numerical_gradient(f, x)
    return {"autograd_gradient(...).requires_grad": getattr(analytic, "requires_grad", None),
            "numerical_gradient(...).requires_grad": getattr(numeric, "requires_grad", None),
            "autograd_gradient(...)": analytic, "numerical_gradient(...)": numeric}


# ----------------------------------------------------------------------------- relative_error

@check(points=1, placement=False)
def relative_error_magnitudes(impl, t):
    """relative_error of elements of very different sizes: the maximum element-wise ratio."""
    # The largest relative error (element 0) has a < b and the largest |a - b| (element 2)
    # has a < b too: a missing abs, a ratio of maxima and a mean each give another answer.
    a = t.tensor([1e-3, 5.0, 180.0, -4.0], dtype=F64)
    b = t.tensor([2e-3, 5.5, 200.0, -4.1], dtype=F64)
    return {"relative_error": impl.relative_error(a, b)}


@check(points=1, placement=False)
def relative_error_zeros(impl, t):
    """relative_error where both are 0 (0/0 counts as 0, thanks to the 1e-8 floor)."""
    a = t.tensor([0.0, 1.0, 0.0, 2.0], dtype=F64)
    b = t.tensor([0.0, 1.01, 0.0, 2.0], dtype=F64)
    return {"relative_error": impl.relative_error(a, b),
            "all zeros": impl.relative_error(t.zeros(3, dtype=F64), t.zeros(3, dtype=F64))}


@check(points=1, placement=False)
def relative_error_floor(impl, t):
    """relative_error of values below 1e-8: the denominator is max(1e-8, |a| + |b|)."""
    a = t.tensor([3e-9, 0.5, -2e-9], dtype=F64)
    b = t.tensor([1e-9, 0.5, -2e-9], dtype=F64)
    return {"relative_error": impl.relative_error(a, b)}


# Computing the ratio in float32 (the docstring asks for float64) rounds it by ~1e-7,
# the table's Python-float tolerance; that is not what this check is about.
@check(points=1, placement=False, tolerance=10)
def relative_error_float32(impl, t):
    """relative_error of float32 tensors returns a Python float."""
    a = t.randn(4, 5, dtype=torch.float32)
    b = a + 0.01 * t.randn(4, 5, dtype=torch.float32)
    return {"relative_error": impl.relative_error(a, b)}


# The answer computed in float64 (the docstring) and in float32 differ by ~1e-7 relative, the
# table's Python-float tolerance: ten times it accepts both. In the inputs' own 16-bit dtype
# the sum |a| + |b| and the ratio are rounded by ~1e-3 (float16) or ~1e-2 (bfloat16).
@check(points=1, placement=False, tolerance=10)
def relative_error_half_precision(impl, t):
    """relative_error of float16 and of bfloat16 tensors: computed in float64, not rounded to 16 bits."""
    out = {}
    for dtype in (torch.float16, torch.bfloat16):
        a = t.randn(4, 5, dtype=dtype)
        b = (a.double() * (1 + 0.05 * t.randn(4, 5, dtype=F64))).to(dtype)
        out[str(dtype).replace("torch.", "")] = impl.relative_error(a, b)
    return out


@check(points=1, placement=False)
def relative_error_shapes_differ(impl, t):
    """relative_error raises ValueError when the shapes differ, and answers when they match."""
    a, b = t.randn(3, dtype=F64), t.randn(3, dtype=F64)
    return {"error": raised(lambda: impl.relative_error(a, t.randn(4, dtype=F64))),
            "relative_error of two (3,) tensors": impl.relative_error(a, b)}


@check(points=1, placement=False)
def relative_error_broadcastable_shapes(impl, t):
    """relative_error raises ValueError for shapes that differ but broadcast, such as (3,) and (1, 3)."""
    a = t.randn(3, dtype=F64)
    return {"(3,) and (1, 3)": raised(lambda: impl.relative_error(a, t.randn(1, 3, dtype=F64))),
            "(3,) and (2, 3)": raised(lambda: impl.relative_error(a, t.randn(2, 3, dtype=F64))),
            "(3, 1) and (3,)": raised(lambda: impl.relative_error(t.randn(3, 1, dtype=F64), a)),
            "relative_error of two (3,) tensors": impl.relative_error(a, a + 0.1)}


@check(points=1, placement=False)
def relative_error_empty(impl, t):
    """relative_error of two empty tensors is 0.0 (and of two (3,) tensors, their error)."""
    a = t.randn(3, dtype=F64)
    return {"(0,)": impl.relative_error(t.randn(0, dtype=F64), t.randn(0, dtype=F64)),
            "(2, 0)": impl.relative_error(t.randn(2, 0, dtype=F64), t.randn(2, 0, dtype=F64)),
            "(3,)": impl.relative_error(a, a + 0.1)}


@check(points=1, placement=False)
def relative_error_integer_inputs(impl, t):
    """relative_error of int64 tensors: the same float answer, 0/0 counting as 0."""
    a = t.tensor([0, 1, 5, -2], dtype=torch.int64)
    b = t.tensor([0, 3, 5, -2], dtype=torch.int64)
    return {"relative_error": impl.relative_error(a, b)}


@check(points=1, placement=False)
def relative_error_requires_grad(impl, t):
    """relative_error of a tensor that requires grad and a plain one: a Python float."""
    a = make_param(impl, t.randn(3, 4, dtype=F64))
    b = t.randn(3, 4, dtype=F64)
    return {"relative_error": impl.relative_error(a, b)}


@check(points=1, placement=False)
def relative_error_non_contiguous(impl, t):
    """relative_error of two transposed (non-contiguous) matrices."""
    a, b = make_param(impl, t.randn(4, 3, dtype=F64)), make_param(impl, t.randn(4, 3, dtype=F64))
    return {"relative_error": impl.relative_error(a.data.T, b.data.T)}


# ----------------------------------------------------------------------------- gradient_check

@check(points=1, placement=False)
def gradient_check_smooth(impl, t):
    """gradient_check: a Python float below 1e-6 for a smooth function, above 0.1 for a wrong backward.

    Returning 0.0 whatever the function is also passes "below 1e-6": the gradient_check
    of a function whose backward is wrong must be large too, for the point.
    """
    fns = fns_on(impl)
    value = impl.gradient_check(fns.matrix_quadratic, t.randn(2, 3, dtype=F64))
    wrong = impl.gradient_check(fns.wrong_backward_sum, t.rand(4, dtype=F64) + 0.5)
    return {"returns": type(value).__name__,
            "below 1e-6": isinstance(value, float) and value < 1e-6,
            "above 0.1 for a wrong backward": isinstance(wrong, float) and wrong > 0.1}


@check(points=1, placement=False)
def gradient_check_wrong_backward(impl, t):
    """gradient_check of a function whose backward is off by a factor 2: about 1/3."""
    x = t.rand(6, dtype=F64) + 0.5
    return {"gradient_check": impl.gradient_check(fns_on(impl).wrong_backward_sum, x)}


# h = 1e-2 makes the central-difference truncation error (~1e-5 relative) the whole answer;
# rounding (~1e-16 |fn| / h) moves it by far less than the tolerance below.
@check(points=1, placement=False, tolerance=10)
def gradient_check_uses_h(impl, t):
    """gradient_check(fn, x, h=1e-2) uses that h: the relative error shows its truncation error."""
    x = t.randn(5, dtype=F64)
    return {"gradient_check": impl.gradient_check(fns_on(impl).tanh_sq_sum, x, h=1e-2)}


@check(points=1, placement=False)
def gradient_check_leaves_x_alone(impl, t):
    """gradient_check at an x that requires grad: the right answers, and x and x.grad untouched.

    Returning 0.0 leaves x alone too: a wrong backward's gradient_check (about 1/3) is
    compared as well, for the point.
    """
    x = make_param(impl, t.rand(2, 3, dtype=F64) + 0.5)
    fns = fns_on(impl)
    value = impl.gradient_check(fns.matrix_quadratic, x)
    return {"below 1e-6": isinstance(value, float) and value < 1e-6,
            "gradient_check of a wrong backward": impl.gradient_check(fns.wrong_backward_sum, x),
            "x after the calls": fetch(x), "x.grad after the calls": fetch(x.grad)}


@check(points=1, placement=False)
def gradient_check_non_contiguous(impl, t):
    """gradient_check at a transposed (non-contiguous) matrix: the right answers, x unchanged."""
    base = make_param(impl, t.rand(4, 3, dtype=F64) + 0.5)
    fns = fns_on(impl)
    value = impl.gradient_check(fns.tanh_sq_sum, base.data.T)                # (3, 4) view
    return {"below 1e-6": isinstance(value, float) and value < 1e-6,
            "gradient_check of a wrong backward": impl.gradient_check(fns.wrong_backward_sum,
                                                                      base.data.T),
            "x after the calls": fetch(base)}

# Honest implementations feed fn the same float64 values and cast the same way, so the answer
# agrees to the last bits; the tolerance leaves room for a different summation order anyway
# (1e-5 relative), against an answer of 0.3 here and below 1e-6 computed all in float64.
@check(points=1, placement=False, tolerance=100)
def gradient_check_float32(impl, t):
    """gradient_check at a float32 x: autograd in float32 against finite differences cast to float32.

    gradient_check is relative_error(autograd_gradient(fn, x), numerical_gradient(fn, x, h)),
    both in x's dtype. fn = sum((x - 0.1)**2), and x[0] = float32(0.1): there the float32
    gradient is exactly 0, while finite differences in float64 (where 0.1 rounds
    differently) give 3e-9, a relative error of 0.3 under the 1e-8 floor. Converting x to
    float64 first hides it.
    """
    x = t.tensor([0.1, 0.1 + 1e-3, 0.1 - 2e-3, 0.1 + 5e-3], dtype=torch.float32)
    return {"gradient_check": impl.gradient_check(fns_on(impl).offset_sq_sum, x)}
