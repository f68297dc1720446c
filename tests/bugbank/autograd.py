"""Known student bugs and correct variants for autograd (see autograder/audit.py).

Sources for the misconceptions: CS231n assignment 1/2 (gradient_check.py:
eval_numerical_gradient with `oldval = x[ix]; x[ix] = oldval + h; ...; x[ix] = oldval`,
rel_error = max(|x - y| / max(1e-8, |x| + |y|))), EECS 498-007 (compute_numeric_gradient,
rel_error = max|x - y| / max(|x| + |y|)), CMU 10-714 hw1 (needle's gradient_check with
forward perturbations), d2l.ai "Automatic Differentiation" (x.grad accumulates,
x.grad.zero_()), and the PyTorch forum threads "x.grad is None after backward" (clone
without detach), "gradcheck fails in float32" and "why does my gradient have a grad_fn"
(create_graph=True).
"""
from autograder.audit import Bug, Trivial, Variant

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
    Bug("ng-divided-by-h", T,
        ((CENTRAL, "grad[i] = (f_plus - f_minus) / h"),),
        catches=("numerical_gradient_vector", "numerical_gradient_matrix"),
        named="divided by h",
        why="central difference over h instead of 2h: every gradient twice too large"),
    Bug("ng-h-added-to-every-element", T,
        ((PERTURB, "            f_plus = fn(xc + h)\n"
                   "            f_minus = fn(xc - h)\n"),),
        catches=("numerical_gradient_vector", "numerical_gradient_matrix"),
        named="perturbed every element at once",
        why="x + h instead of x + h * e_i: the directional derivative along (1, ..., 1), "
            "the same number in every element"),
    # --------------------------------------------------------------- numerical_gradient: side effects
    Bug("ng-perturbs-x-itself-no-restore", T,
        ((COPY, "xc = x.detach().to(torch.float64)"),
         (RESTORE, "")),
        catches=("numerical_gradient_vector", "numerical_gradient_leaves_x_alone"),
        named="not restored between elements",   # first; "x changed in place" in leaves_x_alone
        why="CS231n's eval_numerical_gradient works on x itself; without its x[ix] = oldval "
            "the caller's x is left shifted by -h in every element"),
    Bug("ng-copy-not-restored", T,
        ((RESTORE, ""),),
        catches=("numerical_gradient_matrix", "gradient_check_smooth"),
        named="not restored between elements",
        why="the copy is perturbed but never put back, so element i is evaluated at a point "
            "already shifted in elements 0..i-1 (invisible for a separable fn such as "
            "sum(tanh(x)**2), hence the quadratic form)"),
    Bug("ng-in-float32", T,
        ((COPY, "xc = x.detach().clone(memory_format=torch.contiguous_format)"),),
        catches=("numerical_gradient_float32",),
        named="finite differences in float32",
        why="finite differences in the input's float32 with h = 1e-6 (forum: 'gradcheck fails "
            "in float32'; torch.autograd.gradcheck warns about it)"),
    Bug("ng-float64-returned", T,
        ((RETURN_NUM, "return grad.view(x.shape)"),),
        catches=("numerical_gradient_float32",),
        named="result not cast back",
        why="computed in float64 as advised, but never cast back to x's dtype"),
    Bug("ng-flat-result", T,
        ((RETURN_NUM, "return grad.to(x.dtype)"),),
        catches=("numerical_gradient_matrix", "numerical_gradient_scalar"),
        named="flat result",
        why="the loop runs over x.view(-1) and the flat gradient is returned as it is"),
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
    Bug("ng-never-below-float32", T,
        ((RETURN_NUM, "return grad.view(x.shape).to(torch.promote_types(x.dtype, torch.float32))"),),
        catches=("numerical_gradient_half_precision",),
        named="16-bit gradient returned in float32",
        why="'a 16-bit gradient is useless': float16 and bfloat16 x get a float32 gradient back "
            "instead of one in x's dtype"),
    Bug("ng-perturb-x-and-restore", T,
        ((NG_LOOP, NG_LOOP_ON_X),),
        catches=("numerical_gradient_expanded",),
        named="x itself perturbed and restored",
        why="CS231n's eval_numerical_gradient (`oldval = x[ix]; x[ix] = oldval + h; ...; "
            "x[ix] = oldval`) on x itself: x.detach().to(torch.float64) of a float64 x is x's "
            "own memory, restored after every element, so x ends unchanged; but in an expanded "
            "x one write moves the whole column"),
    Bug("ng-item-on-fn", T,
        (("            f_plus = fn(xc)\n", "            f_plus = fn(xc).item()\n"),
         ("            f_minus = fn(xc)\n", "            f_minus = fn(xc).item()\n")),
        catches=("numerical_gradient_fn_output_kinds",),
        named="fn's value taken with .item()",
        why="fn's value turned into a number with .item() 'to avoid tensor arithmetic': fine "
            "for tensors, but the docstring lets fn return a Python float, which has no .item()"),
    # --------------------------------------------------------------- autograd_gradient
    Bug("ag-backward-on-x", T,
        ((AG_COPY, "xc = x.requires_grad_(True)"),),
        catches=("autograd_gradient_twice", "autograd_gradient_no_side_effects"),
        named="backward on x itself",
        why="d2l's x.requires_grad_(); y.backward(); x.grad: the gradient accumulates in "
            "x.grad on a second call and x is left requiring grad"),
    Bug("ag-clone-without-detach", T,
        ((AG_COPY, "xc = x.clone().requires_grad_(True)"),),
        catches=("autograd_gradient_twice",),
        named="clone without detach",
        why="x.clone() of an x that requires grad is not a leaf: backward fills x.grad and "
            "xc.grad stays None (forum: 'x.grad is None after backward')"),
    Bug("ag-create-graph", T,
        ((AG_BACKWARD, "        y.backward(create_graph=True)\n"),),
        catches=("gradients_are_plain_tensors",),
        named="gradient returned with its graph",
        why="create_graph=True copied from double-backward examples: the returned gradient "
            "has a grad_fn and requires grad"),
    Bug("ag-float64-copy", T,
        ((AG_COPY, "xc = x.detach().double().requires_grad_(True)"),),
        catches=("autograd_gradient_matrix_float32",),
        named="autograd in float64",
        why="the copy made in float64 'for accuracy' (as numerical_gradient does), so a "
            "float32 x gets a float64 gradient back"),
    Bug("ag-upcast-16-bit", T,
        ((AG_COPY, "if x.element_size() == 2:                               # AMP habit\n"
                   "        x = x.float()\n"
                   "    " + AG_COPY),),
        catches=("autograd_gradient_half_precision",),
        named="16-bit x upcast",
        why="the AMP habit of computing in float32 when x is float16 or bfloat16: the gradient "
            "comes back in float32, not in x's dtype"),
    Bug("ag-grad-none-returned", T,
        (("    if xc.grad is None:                                       # fn ignores x\n"
          "        return torch.zeros_like(x)\n", ""),),
        catches=("autograd_gradient_unused_input",),
        named="None when fn ignores x",
        why="the lecture's recipe ends with `return xc.grad`, which is None when fn does not "
            "use x (backward never reaches xc; forum: 'x.grad is None')"),
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
    Bug("re-no-floor", T,
        ((DENOM, "denom = a.abs() + b.abs()"),),
        catches=("relative_error_zeros",),
        named="no floor",
        why="|a - b| / (|a| + |b|) without CS231n's max(1e-8, ...): 0/0 is NaN where both are 0"),
    Bug("re-floor-added", T,
        ((DENOM, "denom = a.abs() + b.abs() + 1e-8"),),
        catches=("relative_error_floor",),
        named="floor added",
        why="the floor written as + 1e-8 (an eps habit from Adam and BatchNorm)"),
    Bug("re-mean-not-max", T,
        ((RATIO, "return ((a - b).abs() / denom).mean().item()"),),
        catches=("relative_error_magnitudes",),
        named="mean instead of max",
        why="the average relative error hides the one element that is wrong"),
    Bug("re-abs-missing", T,
        ((RATIO, "return ((a - b) / denom).max().item()"),),
        catches=("relative_error_magnitudes",),
        named="abs missing",
        why="(a - b) / (|a| + |b|) without the absolute value: errors where b > a are negative "
            "and the maximum misses them"),
    Bug("re-ratio-of-maxima", T,
        ((RATIO, "return ((a - b).abs().max() / (a.abs() + b.abs()).max().clamp(min=1e-8)).item()"),),
        catches=("relative_error_magnitudes",),
        named="ratio of maxima",
        why="EECS 498's max|a - b| / max(|a| + |b|): one large element drowns the relative "
            "error of the small ones; this course pins CS231n's element-wise form"),
    Bug("re-returns-tensor", T,
        ((RATIO, "return ((a - b).abs() / denom).max()"),),
        catches=("relative_error_magnitudes",),
        named="tensor instead of float",
        why=".item() forgotten: a 0-dim tensor instead of a Python float"),
    Bug("re-no-shape-check", T,
        ((SHAPE_CHECK, ""),),
        catches=("relative_error_shapes_differ",),
        named="no shape check",
        why="no explicit check: different shapes broadcast or fail with a RuntimeError deep "
            "inside the subtraction instead of a clear ValueError"),
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
    Bug("re-in-input-dtype", T,
        ((CAST, "    a, b = a.detach(), b.detach().to(a.device)\n"),),
        catches=("relative_error_half_precision",),
        named="ratio in the inputs' dtype",
        why="no cast: the ratio computed in the inputs' own dtype. In float32 that rounds the "
            "answer by ~1e-7 (accepted), in float16 or bfloat16 by 1e-3 or more, where the "
            "docstring's 'work in float64' is what keeps the answer (a correct variant until "
            "the docstring said so for 16-bit inputs too)"),
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
    Bug("gc-h-not-passed", T,
        ((NUMERIC_CALL, "numeric = numerical_gradient(fn, x)"),),
        catches=("gradient_check_uses_h",),
        named="h not passed on",
        why="gradient_check takes h but calls numerical_gradient with its default"),
    Bug("gc-inline-backward", T,
        (("analytic = autograd_gradient(fn, x)",
          "x.requires_grad_(True)\n    fn(x).backward()\n    analytic = x.grad"),),
        catches=("gradient_check_leaves_x_alone",),
        named="gradient_check ran backward on x",
        why="the lecture's requires_grad_ / backward recipe written inline on x instead of "
            "calling autograd_gradient: x.grad is filled (and accumulates over calls)"),
    Bug("gc-flatten-both", T,
        (("return relative_error(analytic, numeric)",
          "return relative_error(analytic.view(-1), numeric.view(-1))"),),
        catches=("gradient_check_non_contiguous",),
        why="both gradients flattened with .view(-1) 'to compare them': the autograd gradient "
            "of a transposed x keeps x's strides and cannot be viewed flat"),
]

VARIANTS = [
    Variant("ng-basis-vector-per-element", T,
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
    Variant("ng-multi-index", T,
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
    Variant("ag-autograd-grad", T,
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
    Variant("re-torch-maximum", T,
            ((DENOM, "denom = torch.maximum(a.abs() + b.abs(), torch.full_like(a, 1e-8))"),),
            why="the floor as torch.maximum with a tensor of 1e-8"),
    Variant("re-double-method", T,
            ((CAST, "    a, b = a.detach().double(), b.detach().double().to(a.device)\n"),),
            why="the float64 cast written with .double(), the device moved after it"),
    Variant("gc-arguments-swapped", T,
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
