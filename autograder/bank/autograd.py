"""Known student bugs and correct variants for autograd (see autograder/variants.py).

Sources for the misconceptions: CS231n assignment 1/2 (gradient_check.py:
eval_numerical_gradient with `oldval = x[ix]; x[ix] = oldval + h; ...; x[ix] = oldval`,
rel_error = max(|x - y| / max(1e-8, |x| + |y|))), EECS 498-007 (compute_numeric_gradient,
rel_error = max|x - y| / max(|x| + |y|)), CMU 10-714 hw1 (needle's gradient_check with
forward perturbations), d2l.ai "Automatic Differentiation" (x.grad accumulates,
x.grad.zero_()), and the PyTorch forum threads "x.grad is None after backward" (clone
without detach), "gradcheck fails in float32" and "why does my gradient have a grad_fn"
(create_graph=True).

Classic mistakes (`classic=True`): the few that CS231n's gradient check, d2l.ai and the
lecture warn about, and that students make most: forward differences or a difference over
h instead of 2h, x perturbed in place or not restored between elements, finite differences
in float32, backward on x itself (x.grad accumulates), and the relative error without its
1e-8 floor.
A public check catches each classic mistake, so that a student whose public checks
all pass has made none of them (tests/test_classic_mistakes.py; docs/CLASSIC_MISTAKES.md
lists what the public checks catch and name).
"""
from autograder.hidden.autograd import CHECKS
from autograder.variants import Bug, Correct, Mistake, Trivial

T = "autograd"

# ----------------------------------------------------------------------------- reference snippets
COPY = "xc = x.detach().to(torch.float64).clone(memory_format=torch.contiguous_format)"
PERTURB = ("            flat[i] = old + h\n"
           "            f_plus = fn(xc)\n"
           "            flat[i] = old - h\n"
           "            f_minus = fn(xc)\n")
RESTORE = "            flat[i] = old                                     # restore before the next i\n"
CENTRAL = "grad[i] = (f_plus - f_minus) / (2 * h)"
RETURN_NUM = "return grad.view(x.shape).to(x.dtype)"
NO_GRAD = ("    with torch.no_grad():\n"
           "        xc = x.detach().to(torch.float64).clone(memory_format=torch.contiguous_format)\n")
AG_COPY = "xc = x.detach().clone().requires_grad_(True)"
AG_BACKWARD = "        y.backward()\n"
SHAPE_CHECK = ("    if a.shape != b.shape:\n"
               "        raise ValueError(f\"shapes differ: {tuple(a.shape)} and {tuple(b.shape)}\")\n")
DENOM = "denom = (a.abs() + b.abs()).clamp(min=1e-8)"
RATIO = "return ((a - b).abs() / denom).max().item()"
CAST = ("    a = a.detach().to(torch.float64)\n"
        "    b = b.detach().to(device=a.device, dtype=torch.float64)\n")
NUMERIC_CALL = "numeric = numerical_gradient(fn, x, h)"
NG_LOOP = (COPY.join(("        ", "\n"))
           + "        flat = xc.view(-1)                                    # shares memory with xc\n"
             "        grad = torch.zeros_like(flat)                         # (numel,) float64\n"
             "        for i in range(flat.numel()):\n"
             "            old = flat[i].clone()\n" + PERTURB + RESTORE
           + "            " + CENTRAL + "\n        " + RETURN_NUM + "\n")
NG_LOOP_ON_X = ("        import itertools\n"
                "        xc = x.detach().to(torch.float64)                     # BUG: x's own memory\n"
                "        grad = torch.zeros_like(xc)\n"
                "        for ix in itertools.product(*[range(n) for n in xc.shape]):\n"
                "            old = xc[ix].item()\n"
                "            xc[ix] = old + h\n"
                "            f_plus = fn(xc)\n"
                "            xc[ix] = old - h\n"
                "            f_minus = fn(xc)\n"
                "            xc[ix] = old                                      # restored\n"
                "            grad[ix] = (f_plus - f_minus) / (2 * h)\n"
                "        return grad.to(x.dtype)\n")

BUGS = [
    # --------------------------------------------------------------- numerical_gradient: the formula
    Bug("ng-forward-differences", T,
        (("            flat[i] = old - h\n", "            flat[i] = old\n"),
         (CENTRAL, "grad[i] = (f_plus - f_minus) / h")),
        catches=("numerical_gradient_large_h",),
        named="forward differences",
        why="needle's and many textbooks' (f(x + h) - f(x)) / h, O(h) instead of O(h**2)"),
    # --------------------------------------------------------------- numerical_gradient: side effects
    Bug("ng-perturbs-x-itself-no-restore", T,
        ((COPY, "xc = x.detach().to(torch.float64)"),
         (RESTORE, "")),
        catches=("numerical_gradient_vector", "numerical_gradient_leaves_x_alone"),
        named="not restored between elements",   # first; "x changed in place" in leaves_x_alone
        why="CS231n's eval_numerical_gradient works on x itself; without its x[ix] = oldval "
            "the caller's x is left shifted by -h in every element"),
    Bug("ng-records-autograd", T,
        ((NO_GRAD, "    if True:                                                  # no torch.no_grad()\n"
                   "        xc = x.to(torch.float64).clone(memory_format=torch.contiguous_format)\n"),),
        catches=("gradients_are_plain_tensors",),
        named="numerical gradient recorded by autograd",
        why="no torch.no_grad() and no detach: with an x that requires grad every f(x +- h e_i) "
            "is recorded, and the finite-difference gradient comes back with a grad_fn"),
    Bug("ng-stack-list", T,
        (("        grad = torch.zeros_like(flat)                         # (numel,) float64\n",
          "        grads = []\n"),
         (CENTRAL, "grads.append((f_plus - f_minus) / (2 * h))"),
         (RETURN_NUM, "return torch.stack(grads).view(x.shape).to(x.dtype)")),
        catches=("numerical_gradient_empty",),
        why="the differences collected in a Python list and stacked at the end: torch.stack([]) "
            "raises for an empty x (numel 0), where a preallocated zeros_like(flat) just works"),
    Bug("ng-perturb-x-and-restore", T,
        ((NG_LOOP, NG_LOOP_ON_X),),
        catches=("numerical_gradient_expanded",),
        named="x itself perturbed and restored",
        why="CS231n's eval_numerical_gradient (`oldval = x[ix]; x[ix] = oldval + h; ...; "
            "x[ix] = oldval`) on x itself: x.detach().to(torch.float64) of a float64 x is x's "
            "own memory, restored after every element, so x ends unchanged; but in an expanded "
            "x one write moves the whole column"),
    # --------------------------------------------------------------- autograd_gradient
    Bug("ag-upcast-16-bit", T,
        ((AG_COPY, "if x.element_size() == 2:                               # AMP habit\n"
                   "        x = x.float()\n"
                   "    " + AG_COPY),),
        catches=("autograd_gradient_half_precision",),
        named="16-bit x upcast",
        why="the AMP habit of computing in float32 when x is float16 or bfloat16: the gradient "
            "comes back in float32, not in x's dtype"),
    Bug("ag-flat-copy", T,
        ((AG_COPY, "xc = x.detach().view(-1).clone().requires_grad_(True)"),
         ("        y = fn(xc)\n", "        y = fn(xc.view(x.shape))\n"),
         ("        return torch.zeros_like(x)\n    return xc.grad\n",
          "        return torch.zeros_like(x)\n    return xc.grad.view(x.shape)\n")),
        catches=("autograd_gradient_non_contiguous", "gradient_check_non_contiguous"),
        why="a flat leaf, viewed back to x's shape for fn: x.view(-1) raises for a transposed x "
            "(reshape or flatten would copy); gradient_check goes through autograd_gradient, so "
            "it fails there too"),
    # --------------------------------------------------------------- relative_error
    Bug("re-numel-check", T,
        ((SHAPE_CHECK, "    if a.numel() != b.numel():\n"
                       "        raise ValueError(f\"sizes differ: {a.numel()} and {b.numel()}\")\n"),),
        catches=("relative_error_broadcastable_shapes",),
        named="numel compared, not shapes",
        why="the sizes compared instead of the shapes: (3,) and (1, 3) pass and broadcast to "
            "(3, 3), a relative error of pairs that were never meant to be compared"),
    Bug("re-no-empty-case", T,
        (("    if a.numel() == 0:\n        return 0.0\n", ""),),
        catches=("relative_error_empty",),
        why="no empty case: .max() of an empty tensor raises (numpy's np.max too, in CS231n's "
            "rel_error), where the docstring asks for 0.0"),
    Bug("re-floor-before-cast", T,
        ((CAST + "    " + DENOM,
          "    denom = torch.maximum(a.abs() + b.abs(), torch.full_like(a, 1e-8))\n" + CAST),),
        catches=("relative_error_integer_inputs",),
        named="floor in the input's dtype",
        why="the floor built before the float64 cast, in the inputs' dtype: full_like(int64, "
            "1e-8) is 0, so 0/0 is NaN where both are 0"),
    Bug("re-numpy", T,
        ((CAST + "    " + DENOM + "               # max(1e-8, |a| + |b|)\n    " + RATIO,
          "    import numpy as np\n"
          "    x, y = a.cpu().numpy().astype(np.float64), b.cpu().numpy().astype(np.float64)\n"
          "    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))"),),
        catches=("relative_error_requires_grad",),
        why="CS231n's numpy rel_error on tensors: .numpy() raises for a tensor that requires "
            "grad ('Use tensor.detach().numpy() instead')"),
    Bug("re-view-flat", T,  # gradient_check compares a transposed-strided gradient too
        ((RATIO, "return ((a - b).abs() / denom).view(-1).max().item()"),),
        catches=("relative_error_non_contiguous", "gradient_check_non_contiguous"),
        why="the ratio flattened with .view(-1) before the maximum: a transposed a - b cannot "
            "be viewed as one dimension (reshape or a plain .max() can)"),
    # --------------------------------------------------------------- gradient_check
    Bug("gc-double-first", T,
        (("    analytic = autograd_gradient(fn, x)\n",
          "    x = x.double()                         # BUG: \"gradient checks need float64\"\n"
          "    analytic = autograd_gradient(fn, x)\n"),),
        catches=("gradient_check_float32",),
        named="gradient_check in float64",
        why="torch.autograd.gradcheck's advice (use float64 inputs) applied inside "
            "gradient_check: a float32 x is then checked in float64, and float32 trouble is "
            "never seen"),
    Bug("gc-flatten-both", T,
        (("return relative_error(analytic, numeric)",
          "return relative_error(analytic.view(-1), numeric.view(-1))"),),
        catches=("gradient_check_non_contiguous",),
        why="both gradients flattened with .view(-1) 'to compare them': the autograd gradient "
            "of a transposed x keeps x's strides and cannot be viewed flat"),
]

VARIANTS = [
    Correct("ng-basis-vector-per-element", T,
            ((NO_GRAD + "        flat = xc.view(-1)                                    # shares memory with xc\n"
              "        grad = torch.zeros_like(flat)                         # (numel,) float64\n"
              "        for i in range(flat.numel()):\n"
              "            old = flat[i].clone()\n" + PERTURB + RESTORE +
              "            grad[i] = (f_plus - f_minus) / (2 * h)\n",
              "    with torch.no_grad():\n"
              "        base = x.detach().to(torch.float64).reshape(-1).clone()\n"
              "        grad = torch.empty_like(base)\n"
              "        for i in range(base.numel()):\n"
              "            e = torch.zeros_like(base)\n"
              "            e[i] = h\n"
              "            f_plus = fn((base + e).view(x.shape))\n"
              "            f_minus = fn((base - e).view(x.shape))\n"
              "            grad[i] = (f_plus - f_minus) / (2 * h)\n"),),
            why="a flat clone, one basis vector e_i at a time, fresh tensors base +- e for fn"),
    Correct("ng-multi-index", T,
            (("        flat = xc.view(-1)                                    # shares memory with xc\n"
              "        grad = torch.zeros_like(flat)                         # (numel,) float64\n"
              "        for i in range(flat.numel()):\n"
              "            old = flat[i].clone()\n" + PERTURB + RESTORE +
              "            grad[i] = (f_plus - f_minus) / (2 * h)\n"
              "        return grad.view(x.shape).to(x.dtype)\n",
              "        import itertools\n"
              "        grad = torch.zeros_like(xc)\n"
              "        for ix in itertools.product(*[range(n) for n in xc.shape]):\n"
              "            old = xc[ix].item()\n"
              "            xc[ix] = old + h\n"
              "            f_plus = float(fn(xc))\n"
              "            xc[ix] = old - h\n"
              "            f_minus = float(fn(xc))\n"
              "            xc[ix] = old\n"
              "            grad[ix] = (f_plus - f_minus) / (2 * h)\n"
              "        return grad.to(x.dtype)\n"),),
            why="CS231n's np.nditer loop written with itertools.product over the shape and "
                "Python floats (works for 0-dim x: one empty index)"),
    Correct("ag-autograd-grad", T,
            (("    with torch.enable_grad():                                 # even if called under no_grad\n"
              "        y = fn(xc)\n"
              "        y.backward()\n"
              "    if xc.grad is None:                                       # fn ignores x\n"
              "        return torch.zeros_like(x)\n"
              "    return xc.grad\n",
              "    with torch.enable_grad():\n"
              "        (grad,) = torch.autograd.grad(fn(xc), [xc], allow_unused=True)\n"
              "    return torch.zeros_like(x) if grad is None else grad\n"),),
            why="torch.autograd.grad instead of backward + .grad (allowed: not gradcheck)"),
    Correct("re-torch-maximum", T,
            ((DENOM, "denom = torch.maximum(a.abs() + b.abs(), torch.full_like(a, 1e-8))"),),
            why="the floor as torch.maximum with a tensor of 1e-8"),
    Correct("re-double-method", T,
            ((CAST, "    a, b = a.detach().double(), b.detach().double().to(a.device)\n"),),
            why="the float64 cast written with .double(), the device moved after it"),
    Correct("gc-arguments-swapped", T,
            (("return relative_error(analytic, numeric)", "return relative_error(numeric, analytic)"),),
            why="relative_error is symmetric: the order of the two gradients does not matter"),
]


# ----------------------------------------------------------------------------- trivial submissions
# The whole topic done trivially (audit.trivial_source): each must earn 0 points.
_FLOATS = (("Task 1.3", "return 0.0"), ("Task 1.4", "return 0.0"))
TRIVIAL = [
    Trivial("ag-trivial-raise", T, "raise", why="every function raises ValueError"),
    Trivial("ag-trivial-none", T, "none", why="every function returns None"),
    Trivial("ag-trivial-identity", T, "identity",
            why="the gradients are x itself; relative_error returns a, gradient_check x"),
    Trivial("ag-trivial-zeros", T, "zeros", _FLOATS,
            why="zero gradients, and 0.0 for relative_error and gradient_check (a perfect match)"),
]


# ----------------------------------------------------------------------------- known mistakes
# The grader tries these, in this order, when a check fails (autograder/variants.py).

# numerical_gradient's loop, and CS231n's loop written on x itself (x.detach() of a float64
# x is x's own memory): perturbed, evaluated, restored, one multi-index at a time.
NG_LOOP = ("        xc = x.detach().to(torch.float64).clone(memory_format=torch.contiguous_format)\n"
           "        flat = xc.view(-1)                                    # shares memory with xc\n"
           "        grad = torch.zeros_like(flat)                         # (numel,) float64\n"
           "        for i in range(flat.numel()):\n"
           "            old = flat[i].clone()\n"
           "            flat[i] = old + h\n"
           "            f_plus = fn(xc)\n"
           "            flat[i] = old - h\n"
           "            f_minus = fn(xc)\n"
           "            flat[i] = old                                     # restore before the next i\n"
           "            grad[i] = (f_plus - f_minus) / (2 * h)\n"
           "        return grad.view(x.shape).to(x.dtype)\n")
NG_LOOP_ON_X = ("        import itertools\n"
                "        xc = x.detach().to(torch.float64)\n"
                "        grad = torch.zeros_like(xc)\n"
                "        for ix in itertools.product(*[range(n) for n in xc.shape]):\n"
                "            old = xc[ix].item()\n"
                "            xc[ix] = old + h\n"
                "            f_plus = fn(xc)\n"
                "            xc[ix] = old - h\n"
                "            f_minus = fn(xc)\n"
                "            xc[ix] = old\n"
                "            grad[ix] = (f_plus - f_minus) / (2 * h)\n"
                "        return grad.to(x.dtype)\n")


def _names(*prefixes):
    return tuple(c.name for c in CHECKS if c.name.startswith(prefixes))


_NUMERICAL = _names("numerical_gradient_", "gradient_check_")
_AUTOGRAD = _names("autograd_gradient_")
_RELATIVE = _names("relative_error_")

MISTAKES = [
    Mistake("forward differences",
            "numerical_gradient used forward differences (f(x + h) - f(x)) / h; use central "
            "differences (f(x + h e_i) - f(x - h e_i)) / (2 h), whose error is O(h**2).",
            (("flat[i] = old - h\n", "flat[i] = old\n"),
             ("grad[i] = (f_plus - f_minus) / (2 * h)", "grad[i] = (f_plus - f_minus) / h")),
            checks=_NUMERICAL,
            classic=True),
    Mistake("divided by h",
            "the central difference was divided by h; it is (f(x + h e_i) - f(x - h e_i)) / (2 h).",
            (("grad[i] = (f_plus - f_minus) / (2 * h)", "grad[i] = (f_plus - f_minus) / h"),),
            checks=_NUMERICAL,
            catches=("numerical_gradient_vector", "numerical_gradient_matrix"),
            why="central difference over h instead of 2h: every gradient twice too large",
            classic=True),
    Mistake("finite differences in float32",
            "the finite differences were computed in the input's float32; with h = 1e-6 that "
            "leaves about one correct digit. Work on a float64 copy of x and cast the result back.",
            (("xc = x.detach().to(torch.float64).clone(memory_format=torch.contiguous_format)",
              "xc = x.detach().clone(memory_format=torch.contiguous_format)"),),
            checks=_NUMERICAL,
            catches=("numerical_gradient_float32",),
            why="finite differences in the input's float32 with h = 1e-6 (forum: 'gradcheck fails in float32'; torch.autograd.gradcheck warns about it)",
            classic=True),
    Mistake("result not cast back",
            "numerical_gradient returned float64 for a float32 x; cast the result back to "
            "x.dtype (compute in float64, return in x's dtype).",
            (("return grad.view(x.shape).to(x.dtype)", "return grad.view(x.shape)"),),
            checks=_NUMERICAL,
            catches=("numerical_gradient_float32",),
            why="computed in float64 as advised, but never cast back to x's dtype"),
    Mistake("16-bit gradient returned in float32",
            "numerical_gradient returned a float32 gradient for a float16 or bfloat16 x; compute "
            "in float64 as you do, but cast the result back to x's own dtype (.to(x.dtype)), "
            "whatever it is.",
            (("return grad.view(x.shape).to(x.dtype)",
              "return grad.view(x.shape).to(torch.promote_types(x.dtype, torch.float32))"),),
            checks=("numerical_gradient_half_precision",),
            catches=("numerical_gradient_half_precision",),
            why="'a 16-bit gradient is useless': float16 and bfloat16 x get a float32 gradient back instead of one in x's dtype"),
    Mistake("backward on x itself",
            "autograd_gradient ran backward on x itself, so the gradient ACCUMULATED in x.grad "
            "(and x now requires grad); work on a detached copy of x that requires grad: "
            "x.detach().clone().requires_grad_(True).",
            (("xc = x.detach().clone().requires_grad_(True)", "xc = x.requires_grad_(True)"),),
            checks=_AUTOGRAD,
            catches=("autograd_gradient_twice", "autograd_gradient_no_side_effects"),
            why="d2l's x.requires_grad_(); y.backward(); x.grad: the gradient accumulates in x.grad on a second call and x is left requiring grad",
            classic=True),
    Mistake("clone without detach",
            "x.clone() without .detach() stays connected to x: backward filled x.grad and the "
            "copy's .grad stayed None; detach it first: x.detach().clone().requires_grad_(True).",
            (("xc = x.detach().clone().requires_grad_(True)", "xc = x.clone().requires_grad_(True)"),),
            checks=_AUTOGRAD,
            catches=("autograd_gradient_twice",),
            why="x.clone() of an x that requires grad is not a leaf: backward fills x.grad and xc.grad stays None (forum: 'x.grad is None after backward')"),
    Mistake("perturbed every element at once",
            "numerical_gradient added h to every element of x at once (x + h); perturb one "
            "element at a time: x + h e_i, where e_i is 1 at position i only.",
            (("            flat[i] = old + h\n            f_plus = fn(xc)\n"
              "            flat[i] = old - h\n            f_minus = fn(xc)\n",
              "            f_plus = fn(xc + h)\n            f_minus = fn(xc - h)\n"),),
            checks=_NUMERICAL,
            catches=("numerical_gradient_vector", "numerical_gradient_matrix"),
            why="x + h instead of x + h * e_i: the directional derivative along (1, ..., 1), the same number in every element"),
    Mistake("x changed in place",
            "numerical_gradient perturbed x itself and did not put it back: the caller's x "
            "changed. Perturb a copy (x.detach().to(torch.float64).clone()), and restore each "
            "element after its two evaluations.",
            (("xc = x.detach().to(torch.float64).clone(memory_format=torch.contiguous_format)",
              "xc = x.detach().to(torch.float64)"),
             ("            flat[i] = old                                     # restore before the next i\n",
              "")),
            # only where x itself is looked at: elsewhere its outputs are those of the mistake
            # below (the copy not restored), which then names it instead
            checks=("numerical_gradient_leaves_x_alone",),
            classic=True),
    Mistake("not restored between elements",
            "numerical_gradient did not restore element i after perturbing it, so later "
            "elements were evaluated at an already shifted point (and where x itself was "
            "perturbed, the caller's x changed); work on a copy of x and set each element back "
            "to its old value before moving on.",
            (("            flat[i] = old                                     # restore before the next i\n",
              ""),),
            checks=_NUMERICAL,
            catches=("numerical_gradient_matrix", "gradient_check_smooth"),
            why="the copy is perturbed but never put back, so element i is evaluated at a point already shifted in elements 0..i-1 (invisible for a separable fn such as sum(tanh(x)**2), hence the quadratic form)",
            classic=True),
    Mistake("flat result",
            "numerical_gradient returned the flat (numel,) gradient; reshape it to x's shape "
            "(grad.view(x.shape)).",
            (("return grad.view(x.shape).to(x.dtype)", "return grad.to(x.dtype)"),),
            checks=_NUMERICAL,
            catches=("numerical_gradient_matrix", "numerical_gradient_scalar"),
            why="the loop runs over x.view(-1) and the flat gradient is returned as it is"),
    Mistake("numerical gradient recorded by autograd",
            "numerical_gradient ran with autograd recording (no torch.no_grad(), no detach), so "
            "its result carries a graph; finite differences need none: work under "
            "torch.no_grad() on x.detach().",
            (("    with torch.no_grad():\n        xc = x.detach().to(",
              "    if True:\n        xc = x.to("),),
            checks=("gradients_are_plain_tensors",) + _NUMERICAL),
    Mistake("gradient returned with its graph",
            "autograd_gradient returned a gradient that requires grad (backward(create_graph=True) "
            "or torch.autograd.grad(..., create_graph=True)); a plain backward() is enough.",
            (("        y.backward()\n", "        y.backward(create_graph=True)\n"),),
            checks=("gradients_are_plain_tensors",) + _AUTOGRAD,
            catches=("gradients_are_plain_tensors",),
            why="create_graph=True copied from double-backward examples: the returned gradient has a grad_fn and requires grad"),
    Mistake("autograd in float64",
            "autograd_gradient returned float64 for a float32 x; compute in x's own dtype "
            "(xc = x.detach().clone().requires_grad_(True)).",
            (("xc = x.detach().clone().requires_grad_(True)",
              "xc = x.detach().double().requires_grad_(True)"),),
            checks=_AUTOGRAD,
            catches=("autograd_gradient_matrix_float32",),
            why="the copy made in float64 'for accuracy' (as numerical_gradient does), so a float32 x gets a float64 gradient back"),
    Mistake("16-bit x upcast",
            "autograd_gradient computed in float32 for a float16 or bfloat16 x and returned a "
            "float32 gradient; differentiate a copy in x's own dtype "
            "(xc = x.detach().clone().requires_grad_(True)), so the gradient comes back in it.",
            (("xc = x.detach().clone().requires_grad_(True)",
              "xc = (x.float() if x.element_size() == 2 else x).detach().clone().requires_grad_(True)"),),
            checks=("autograd_gradient_half_precision",)),
    Mistake("h not passed on",
            "gradient_check did not pass its h to numerical_gradient (the default was used).",
            (("numeric = numerical_gradient(fn, x, h)", "numeric = numerical_gradient(fn, x)"),),
            checks=_names("gradient_check_"),
            catches=("gradient_check_uses_h",),
            why="gradient_check takes h but calls numerical_gradient with its default"),
    Mistake("gradient_check ran backward on x",
            "gradient_check ran backward on x itself (x.requires_grad_(); fn(x).backward()), which "
            "filled the caller's x.grad; call autograd_gradient(fn, x), which differentiates a copy.",
            (("analytic = autograd_gradient(fn, x)",
              "x.requires_grad_(True)\n    fn(x).backward()\n    analytic = x.grad"),),
            checks=("gradient_check_leaves_x_alone",),
            catches=("gradient_check_leaves_x_alone",),
            why="the lecture's requires_grad_ / backward recipe written inline on x instead of calling autograd_gradient: x.grad is filled (and accumulates over calls)"),
    Mistake("abs missing",
            "relative_error did not take the absolute value of a - b, so elements where b > a "
            "counted as negative errors; use |a - b| / max(1e-8, |a| + |b|).",
            (("return ((a - b).abs() / denom).max().item()", "return ((a - b) / denom).max().item()"),),
            checks=_RELATIVE,
            catches=("relative_error_magnitudes",),
            why="(a - b) / (|a| + |b|) without the absolute value: errors where b > a are negative and the maximum misses them"),
    Mistake("ratio of maxima",
            "relative_error divided max|a - b| by max(|a| + |b|); the relative error is taken "
            "element by element first, then the maximum: max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|).",
            (("return ((a - b).abs() / denom).max().item()",
              "return ((a - b).abs().max() / (a.abs() + b.abs()).max().clamp(min=1e-8)).item()"),),
            checks=_RELATIVE,
            catches=("relative_error_magnitudes",),
            why="EECS 498's max|a - b| / max(|a| + |b|): one large element drowns the relative error of the small ones; this course pins CS231n's element-wise form"),
    Mistake("numel compared, not shapes",
            "relative_error compared the number of elements instead of the shapes, so (3,) and "
            "(1, 3) were accepted and broadcast to (3, 3); raise ValueError when "
            "a.shape != b.shape.",
            (("    if a.shape != b.shape:\n        raise ValueError(f\"shapes differ: {tuple(a.shape)} "
              "and {tuple(b.shape)}\")\n",
              "    if a.numel() != b.numel():\n        raise ValueError(\"sizes differ\")\n"),),
            checks=("relative_error_broadcastable_shapes",)),
    Mistake("floor in the input's dtype",
            "relative_error built the 1e-8 floor in the inputs' dtype, before casting to float64: "
            "for integer tensors it rounds to 0, so 0/0 gave NaN; cast a and b to float64 first, "
            "then take max(1e-8, |a| + |b|).",
            (("    a = a.detach().to(torch.float64)\n"
              "    b = b.detach().to(device=a.device, dtype=torch.float64)\n"
              "    denom = (a.abs() + b.abs()).clamp(min=1e-8)",
              "    denom = torch.maximum(a.abs() + b.abs(), torch.full_like(a, 1e-8))\n"
              "    a = a.detach().to(torch.float64)\n"
              "    b = b.detach().to(device=a.device, dtype=torch.float64)\n"
              "    denom = denom"),),
            checks=("relative_error_integer_inputs",)),
    Mistake("no shape check",
            "relative_error did not check the shapes; raise ValueError when a.shape != b.shape "
            "(instead of broadcasting, or failing inside the subtraction).",
            (("    if a.shape != b.shape:\n        raise ValueError(f\"shapes differ: {tuple(a.shape)} "
              "and {tuple(b.shape)}\")\n", ""),),
            checks=_RELATIVE,
            catches=("relative_error_shapes_differ",),
            why="no explicit check: different shapes broadcast or fail with a RuntimeError deep inside the subtraction instead of a clear ValueError"),
    Mistake("no floor",
            "relative_error divided by |a| + |b| without the 1e-8 floor, so 0/0 gave NaN; divide "
            "by max(1e-8, |a| + |b|) (e.g. (a.abs() + b.abs()).clamp(min=1e-8)).",
            (("denom = (a.abs() + b.abs()).clamp(min=1e-8)", "denom = a.abs() + b.abs()"),),
            checks=_RELATIVE,
            catches=("relative_error_zeros",),
            why="|a - b| / (|a| + |b|) without CS231n's max(1e-8, ...): 0/0 is NaN where both are 0",
            classic=True),
    Mistake("floor added",
            "relative_error added 1e-8 to the denominator; the floor is a maximum: "
            "max(1e-8, |a| + |b|).",
            (("denom = (a.abs() + b.abs()).clamp(min=1e-8)", "denom = a.abs() + b.abs() + 1e-8"),),
            checks=_RELATIVE,
            catches=("relative_error_floor",),
            why="the floor written as + 1e-8 (an eps habit from Adam and BatchNorm)"),
    Mistake("mean instead of max",
            "relative_error averaged the element-wise errors; it is their maximum.",
            (("return ((a - b).abs() / denom).max().item()",
              "return ((a - b).abs() / denom).mean().item()"),),
            checks=_RELATIVE,
            catches=("relative_error_magnitudes",),
            why="the average relative error hides the one element that is wrong"),
    Mistake("tensor instead of float",
            "relative_error returned a tensor; return a Python float (.item()).",
            (("return ((a - b).abs() / denom).max().item()", "return ((a - b).abs() / denom).max()"),),
            checks=_RELATIVE,
            catches=("relative_error_magnitudes",),
            why=".item() forgotten: a 0-dim tensor instead of a Python float"),
    # after the others: packed into one test submission (tests/hidden_suite.py), an earlier
    # patch here would change what a later one shows (x = x.double() hides a backward on x)
    Mistake("x itself perturbed and restored",
            "numerical_gradient wrote the perturbations into x itself (x.detach() and "
            ".to(torch.float64) of a float64 x share its memory) and restored them afterwards: "
            "where elements of x share memory, as in an expanded x, one write moves several "
            "entries at once. Perturb a contiguous copy: "
            "x.detach().to(torch.float64).clone(memory_format=torch.contiguous_format).",
            ((NG_LOOP, NG_LOOP_ON_X),),
            checks=("numerical_gradient_expanded",)),
    Mistake("fn's value taken with .item()",
            "numerical_gradient called .item() on fn's value, which a Python float does not have; "
            "fn may return a 0-dim tensor, a one-element tensor or a Python float: use the value "
            "as it is ((f_plus - f_minus) / (2 * h)), or float(...) of it.",
            (("            f_plus = fn(xc)\n", "            f_plus = fn(xc).item()\n"),
             ("            f_minus = fn(xc)\n", "            f_minus = fn(xc).item()\n")),
            checks=("numerical_gradient_fn_output_kinds",),
            catches=("numerical_gradient_fn_output_kinds",),
            why="fn's value turned into a number with .item() 'to avoid tensor arithmetic': fine for tensors, but the docstring lets fn return a Python float, which has no .item()"),
    Mistake("None when fn ignores x",
            "autograd_gradient returned None for an fn that does not depend on x (xc.grad stays "
            "None then); the gradient is zeros shaped like x: return torch.zeros_like(x) in that case.",
            (("    if xc.grad is None:                                       # fn ignores x\n"
              "        return torch.zeros_like(x)\n", ""),),
            checks=("autograd_gradient_unused_input",),
            catches=("autograd_gradient_unused_input",),
            why="the lecture's recipe ends with `return xc.grad`, which is None when fn does not use x (backward never reaches xc; forum: 'x.grad is None')"),
    Mistake("ratio in the inputs' dtype",
            "relative_error computed the ratio in the inputs' own dtype; in float16 or bfloat16 "
            "that rounds the answer by 1e-3 or more. Cast both to float64 first "
            "(a.detach().to(torch.float64)), as the docstring asks.",
            (("    a = a.detach().to(torch.float64)\n"
              "    b = b.detach().to(device=a.device, dtype=torch.float64)\n",
              "    a, b = a.detach(), b.detach().to(a.device)\n"),),
            checks=("relative_error_half_precision",),
            catches=("relative_error_half_precision",),
            why="no cast: the ratio computed in the inputs' own dtype. In float32 that rounds the answer by ~1e-7 (accepted), in float16 or bfloat16 by 1e-3 or more, where the docstring's 'work in float64' is what keeps the answer (a correct variant until the docstring said so for 16-bit inputs too)"),
    Mistake("gradient_check in float64",
            "gradient_check converted x to float64 first, so a float32 x was checked in float64; "
            "it is relative_error(autograd_gradient(fn, x), numerical_gradient(fn, x, h)) at x as "
            "given, each in x's dtype.",
            (("    analytic = autograd_gradient(fn, x)\n",
              "    x = x.double()\n    analytic = autograd_gradient(fn, x)\n"),),
            checks=("gradient_check_float32",)),
]


# ----------------------------------------------------------------------------- one bug a check
# Bugs that prove a check no other bug of the bank fails (tests/test_audit.py).
BUGS += [
    Bug("ag-numerical-instead-of-autograd", T,
        (("    xc = x.detach().clone().requires_grad_(True)\n",
          "    return numerical_gradient(fn, x)                          # BUG: not autograd\n"
          "    xc = x.detach().clone().requires_grad_(True)\n"),),
        catches=("autograd_gradient_uses_backward",),
        why="reusing the finite differences of Task 1.1: the same numbers for smooth functions, "
            "but fn's own backward (a custom autograd.Function) is never asked"),
    Bug("ag-float32-leaf", T,
        (("    xc = x.detach().clone().requires_grad_(True)\n",
          "    xc = x.detach().float().requires_grad_(True)          # BUG: float32 whatever x is\n"),),
        catches=("autograd_gradient_vector",),
        why=".float() out of habit (tutorials' models are float32): a float64 point gets a float32 "
            "gradient"),
    Bug("ag-zeros-made-on-the-cpu", T,
        (("    if xc.grad is None:                                       # fn ignores x\n"
          "        return torch.zeros_like(x)\n",
          "    if xc.grad is None:                                       # fn ignores x\n"
          "        return torch.zeros(x.shape, dtype=x.dtype)            # BUG: on the CPU\n"),),
        catches=("device_placement",),
        why="torch.zeros(shape) without device=: the zero gradient lives on the CPU whatever x's device"),
]
