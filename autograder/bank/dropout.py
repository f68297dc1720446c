"""Known student bugs and correct variants for dropout (see autograder/variants.py).

Sources for the misconceptions: CS231n assignment 2 (dropout_forward: "p is the
probability of keeping a neuron", its earlier versions used p as the keep
probability and vanilla dropout scaled at test time), Srivastava et al. 2014
(the original dropout scales the weights by p at test time), d2l.ai "Dropout"
(dropout_layer with torch.rand), CMU 10-714 needle's Dropout (init.randb), and
PyTorch forum threads ("dropout in eval mode", "same dropout mask every time",
"dropout changes dtype").

Classic mistakes (`classic=True`): the few that those sources warn about, and that students
make most: p taken as the keep probability, no scaling at training time, scaling at test
time instead, and dropout left on in eval mode; for the slide's convention
(scaled_at_test_dropout), the test-time output left unscaled, as inverted dropout's habit
has it. Three of them are named by the hidden judges (dropout's outputs are random): their
messages are those judges' causes.
A public check catches each classic mistake, so that a student whose public checks
all pass has made none of them (tests/test_classic_mistakes.py; docs/CLASSIC_MISTAKES.md
lists what the public checks catch and name).
"""
from autograder.hidden.dropout import (EVAL_DROPS, KEEP_PROBABILITY, NOT_SCALED,
                                      NOT_SCALED_AT_TEST)
from autograder.variants import Bug, Correct, Mistake, Trivial

T = "dropout"

MASK = "    keep = torch.empty_like(x).bernoulli_(1.0 - p)            # 1 w.p. 1 - p, x's dtype\n"
SCALE = "    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)              # p = 1: zeros, no NaN\n"
RETURN = "    return x * keep * scale\n"
EVAL = ("    if not training:\n"
        "        return x                                              # identity in eval\n")
CHECK_P = "    _check_probability(p)\n    if not training:\n"
# scaled_at_test_dropout (the slide's convention)
SAT_CHECK = "    _check_probability(p)\n    keep_probability = 1.0 - p\n"
SAT_TEST = "        return x * keep_probability                           # scale at test time\n"
SAT_MASK = "    mask = torch.empty_like(x).bernoulli_(keep_probability)   # 1 w.p. 1 - p, x's dtype\n"
SAT_RETURN = "    return x * mask                                           # survivors NOT scaled\n"

BUGS = [
    # --------------------------------------------------------------- conventions
    Bug("dp-scaled-at-test-time", T,
        ((EVAL + MASK + SCALE,
          "    if not training:\n"
          "        return x * (1.0 - p)                                  # BUG: classic dropout\n"
          + MASK + "    scale = 1.0\n"),),
        catches=("eval_returns_input", "kept_values_scaled"),
        named="scaled at test time",
        why="the original dropout paper scales by the keep probability at test time; "
            "inverted dropout (PyTorch) scales at training time instead"),
    Bug("dp-multiplied-by-keep-probability", T,
        ((SCALE, "    scale = 1.0 - p                                           # BUG\n"),),
        catches=("kept_values_scaled",),
        named="multiplied by 1 - p",
        why="'scale by the keep probability' applied in training: x * (1 - p) instead of x / (1 - p)"),

    # --------------------------------------------------------------- edge cases
    Bug("dp-nan-for-p-one", T,
        ((SCALE + RETURN, "    return x * keep / (1.0 - p)                               # BUG: 0/0 at p = 1\n"),),
        catches=("p_one_gives_zeros",),
        named="division by 1 - p = 0",
        why="x * mask / (1 - p) without a case for p = 1: 0 / 0 = NaN everywhere"),

    # --------------------------------------------------------------- state: masks and modes
    Bug("dp-same-mask-every-call", T,
        ((MASK, "    torch.manual_seed(0)                                      # BUG: 'reproducible'\n" + MASK),),
        catches=("fresh_mask_every_call",),
        named="the same mask on every call",
        why="re-seeding inside the layer for reproducibility (forum: 'dropout mask always the same')"),
    Bug("dp-mask-shared-across-batch", T,
        ((MASK,
          "    keep = torch.empty(x.shape[1:], dtype=x.dtype, device=x.device).bernoulli_(1.0 - p)  # BUG\n"),),
        catches=("mask_is_per_element",),
        named="one mask for the whole batch",
        why="one coin per feature, broadcast over the batch: every sample loses the same units"),
    Bug("dp-module-ignores-training", T,
        (("        return dropout(x, self.p, self.training)", "        return dropout(x, self.p)"),),
        catches=("module_train_and_eval",),
        named="dropout applied in eval",
        why="forward calls dropout(x, self.p): training defaults to True, so .eval() changes nothing"),

    # --------------------------------------------------------------- device and dtype
    Bug("dp-mask-on-cpu", T,
        ((MASK, "    keep = (torch.rand(x.shape) >= p).to(x.dtype)            # BUG: drawn on the CPU\n"),),
        catches=("device_placement",),
        why="d2l's dropout_layer uses torch.rand(X.shape): the mask lands on the CPU"),
    Bug("dp-float32-mask", T,
        ((MASK, "    keep = (torch.rand_like(x) >= p).float()                  # BUG: float32 mask\n"),),
        catches=("keeps_dtype",),
        named="float32 mask",
        why=".float() on the boolean mask promotes float16 inputs to float32"),

    # --------------------------------------------------------------- in place and autograd
    Bug("dp-multiplies-input-in-place", T,
        ((RETURN, "    return x.mul_(keep).mul_(scale)                           # BUG: changes x\n"),),
        catches=("p_one_gives_zeros", "gradient_uses_same_mask"),
        named="input changed in place",
        why="x *= mask (numpy habit) changes the caller's tensor"),
    Bug("dp-through-data", T,
        ((RETURN, "    return x.data * keep * scale                              # BUG: no gradient\n"),),
        catches=("gradient_uses_same_mask",),
        named="computed from x.data",
        why="x.data (old tutorials) cuts the graph: no gradient reaches x"),

    # --------------------------------------------------------------- other dtypes, ranks, layouts
    Bug("dp-half-mask", T,
        ((MASK, "    keep = (torch.rand_like(x) >= p)\n"
                "    keep = keep.half() if x.element_size() == 2 else keep.to(x.dtype)  # BUG: bfloat16\n"),),
        catches=("keeps_dtype_bfloat16",),
        named="mask in another dtype",
        why="'2-byte inputs are half precision': a float16 mask for bfloat16 too, and "
            "bfloat16 * float16 promotes to float32 (AMP code written for float16 only)"),
    Bug("dp-2d-mask", T,
        ((MASK, "    keep = (torch.rand(x.shape[0], x.shape[1], device=x.device) >= p).to(x.dtype)  # BUG\n"),),
        catches=("any_rank",),
        named="assumes a 2-D input",
        why="the mask drawn as torch.rand(N, D), as for the (N, D) activations of an MLP "
            "(d2l's dropout_layer is written for them): any other rank breaks"),
    Bug("dp-flat-view", T,
        ((RETURN, "    return (x.view(-1) * keep.view(-1) * scale).view(x.shape)   # BUG: needs contiguous x\n"),),
        catches=("non_contiguous_input",),
        named=".view() on x",
        why="flattening with .view(-1) (a CNN habit) to apply the mask: fails on a transposed "
            "or otherwise non-contiguous input"),

    # --------------------------------------------------------------- the slide's convention
    Bug("sat-inverted-in-training", T,
        ((SAT_MASK + SAT_RETURN, "    return dropout(x, p, True)                                # BUG: scales by 1 / (1 - p)\n"),),
        catches=("scaled_at_test_training", "conventions_agree_in_expectation"),
        named="scaled in training too",
        why="the inverted dropout of Task 4.1 reused for training, then x * (1 - p) at test "
            "time: both conventions' factors at once, activations (1 - p) too small at test"),
    Bug("sat-times-keep-in-training", T,
        ((SAT_RETURN, "    return x * mask * keep_probability                        # BUG: 1 - p in training too\n"),),
        catches=("scaled_at_test_training",),
        named="multiplied by 1 - p in training",
        why="'multiply by 1 - p' from the slide applied in training as well as at test time"),
    Bug("sat-paper-p-keeps", T,
        ((SAT_CHECK, "    _check_probability(p)\n    keep_probability = p                                      # BUG: the paper's p\n"),),
        catches=("scaled_at_test_training",),
        named="p used as the keep probability",
        why="Srivastava et al. (2014) call p the probability of RETAINING a unit and scale by p "
            "at test time; nn.Dropout's p (and this course's) is the probability of zeroing"),
    Bug("sat-same-mask-every-call", T,
        ((SAT_MASK, "    torch.manual_seed(0)                                      # BUG: 'reproducible'\n" + SAT_MASK),),
        catches=("scaled_at_test_training",),
        named="the same mask on every call",
        why="re-seeding inside the function so that runs repeat: every call zeroes the same units"),
    Bug("sat-mask-per-feature", T,
        ((SAT_MASK, "    mask = torch.empty(x.shape[1:], dtype=x.dtype, device=x.device).bernoulli_(keep_probability)  # BUG\n"),),
        catches=("scaled_at_test_training",),
        named="one mask for the whole batch",
        why="one coin per feature, broadcast over the batch: every sample loses the same units"),
    Bug("sat-float32-mask", T,
        ((SAT_MASK, "    mask = (torch.rand_like(x) >= p).float()                  # BUG: float32 mask\n"),),
        catches=("scaled_at_test_training",),
        named="float32 mask",
        why=".float() on the boolean mask promotes float16 inputs to float32"),
    Bug("sat-mask-on-cpu", T,
        ((SAT_MASK, "    mask = (torch.rand(x.shape) >= p).to(x.dtype)             # BUG: drawn on the CPU\n"),),
        catches=("device_placement",),
        why="torch.rand(x.shape), as in d2l's dropout_layer: the mask lands on the CPU"),
    Bug("sat-through-data", T,
        ((SAT_RETURN, "    return x.data * mask                                      # BUG: no gradient\n"),),
        catches=("scaled_at_test_gradient",),
        named="computed from x.data",
        why="x.data (old tutorials) cuts the graph: no gradient reaches x in training"),
    Bug("sat-p-checked-in-training-only", T,
        ((SAT_CHECK + "    if not training:\n" + SAT_TEST,
          "    keep_probability = 1.0 - p\n    if not training:\n" + SAT_TEST
          + "    _check_probability(p)                                     # BUG: too late for eval\n"),),
        catches=("scaled_at_test_eval_and_edge_cases",),
        why="p validated where the mask is drawn: at test time a p of -0.1 scales by 1.1"),
    Bug("sat-multiplies-input-in-place", T,
        ((SAT_RETURN, "    return x.mul_(mask)                                       # BUG: changes x\n"),),
        catches=("scaled_at_test_eval_and_edge_cases",),
        why="x *= mask (numpy habit) changes the caller's tensor: with p = 1 the input is zeroed"),
]

VARIANTS = [
    Correct("dp-rand-like-ge-p", T,
            ((MASK + SCALE + RETURN,
              "    if p == 1.0:\n"
              "        return torch.zeros_like(x)\n"
              "    mask = (torch.rand_like(x) >= p).to(x.dtype)\n"
              "    return x * mask / (1 - p)\n"),),
            why="mask = rand_like(x) >= p, divide by 1 - p, p = 1 handled first"),
    Correct("dp-bernoulli-full-like", T,
            ((MASK, "    keep = torch.bernoulli(torch.full_like(x, 1 - p))\n"),),
            why="torch.bernoulli of a tensor of keep probabilities"),
    Correct("dp-where", T,
            ((MASK + SCALE + RETURN,
              "    kept = torch.rand_like(x) < 1 - p\n"
              "    return torch.where(kept, x / (1 - p) if p < 1 else x, torch.zeros_like(x))\n"),),
            why="torch.where on a boolean mask (rand < 1 - p)"),
    Correct("dp-masked-fill-clone-in-eval", T,
            ((EVAL + MASK + SCALE + RETURN,
              "    if not training:\n"
              "        return x.clone()\n"
              "    dropped = torch.rand(x.shape, device=x.device) < p\n"
              "    return x.masked_fill(dropped, 0.0) * (0.0 if p == 1 else 1 / (1 - p))\n"),),
            why="masked_fill on the dropped elements; eval returns a copy"),
    Correct("sat-from-inverted", T,
            ((SAT_CHECK + "    if not training:\n" + SAT_TEST + SAT_MASK + SAT_RETURN,
              "    return dropout(x, p, training) * (1.0 - p)\n"),),
            why="the slide's convention is inverted dropout times 1 - p: kept values "
                "x / (1 - p) * (1 - p), equal to x up to one rounding"),
    Correct("sat-where-and-subtraction", T,
            ((SAT_TEST + SAT_MASK + SAT_RETURN,
              "        return x - p * x\n"
              "    kept = torch.rand_like(x) >= p\n"
              "    return torch.where(kept, x, torch.zeros_like(x))\n"),),
            why="torch.where on a boolean mask; x - p * x at test time (equal to x * (1 - p) "
                "up to rounding)"),
    Correct("sat-masked-fill", T,
            ((SAT_MASK + SAT_RETURN,
              "    return x.masked_fill(torch.rand_like(x) < p, 0.0)\n"),),
            why="masked_fill on the dropped elements, nothing multiplied in training"),
]


# ----------------------------------------------------------------------------- trivial submissions
# The whole topic done trivially (audit.trivial_source): each must earn 0 points.
TRIVIAL = [
    Trivial("dp-trivial-raise", T, "raise", why="dropout and forward raise ValueError, whatever p"),
    Trivial("dp-trivial-none", T, "none", why="dropout and forward return None"),
    Trivial("dp-trivial-identity", T, "identity",
            why="dropout returns x in training too (what eval mode and p = 0 do)"),
    Trivial("dp-trivial-zeros", T, "zeros", why="dropout zeroes everything (what p = 1 does)"),
]


# ----------------------------------------------------------------------------- known mistakes
# The grader tries these, in this order, when a check fails (autograder/variants.py).

MISTAKES = [
    Mistake("scaled at test time",
            "the output was multiplied by 1 - p in eval mode (the original, non-inverted dropout); "
            "inverted dropout scales the kept values by 1 / (1 - p) in training and returns x "
            "unchanged in eval.",
            (("        return x                                              # identity in eval\n",
              "        return x * (1.0 - p)\n"),),
            checks=("eval_returns_input",),
            classic=True),
    Mistake("division by 1 - p = 0",
            "with p = 1 the code divides by 1 - p = 0 and gets 0 / 0 = NaN; handle p = 1 apart "
            "(return zeros) or multiply by a scale that is 0 when p = 1.",
            (("    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)              # p = 1: zeros, no NaN\n"
              "    return x * keep * scale\n",
              "    return x * keep / (1.0 - p)\n"),),
            checks=("p_one_gives_zeros",)),
    Mistake("p not checked in eval mode",
            "p is only checked in training; check it first, before returning x in eval mode, "
            "as torch.nn.functional.dropout does.",
            (("    _check_probability(p)\n    if not training:\n", "    if not training:\n"),
             ("    keep = torch.empty_like(x).bernoulli_(1.0 - p)",
              "    _check_probability(p)\n    keep = torch.empty_like(x).bernoulli_(1.0 - p)")),
            checks=("invalid_p_raises",)),
    Mistake("input changed in place",
            "dropout multiplied the caller's x in place (x *= mask, x.mul_(...)), so the input is "
            "lost; build a new tensor instead: out = x * mask * scale.",
            (("    return x * keep * scale\n", "    return x.mul_(keep).mul_(scale)\n"),),
            checks=("p_one_gives_zeros",)),
    # Named by the hidden judges (no reference run to patch): the messages are the judges'
    # "Likely cause"s, the patches what they describe.
    Mistake(KEEP_PROBABILITY.name, KEEP_PROBABILITY.message,
            (("bernoulli_(1.0 - p)", "bernoulli_(p)"),),
            checks=("zeroed_fraction_p20", "zeroed_fraction_p80"),
            why="CS231n's dropout_forward documents p as the probability of KEEPING a unit; "
                "torch.nn.Dropout's p is the probability of zeroing",
            classic=True),
    Mistake(NOT_SCALED.name, NOT_SCALED.message,
            ((SCALE, "    scale = 1.0\n"),),
            checks=("kept_values_scaled",),
            why="plain (non-inverted) dropout: the survivors are not scaled up",
            classic=True),
    Mistake(EVAL_DROPS.name, EVAL_DROPS.message,
            ((EVAL, ""),),
            checks=("module_train_and_eval",),
            catches=("eval_returns_input", "module_train_and_eval"),
            why="the training flag ignored in the function: dropout applied at test time too",
            classic=True),
    # The slide's convention (scaled_at_test_dropout). The first is also a judge's cause
    # (conventions_agree_in_expectation, scaled_at_test_gradient): one message for both.
    Mistake(NOT_SCALED_AT_TEST.name, NOT_SCALED_AT_TEST.message,
            ((SAT_TEST, "        return x\n"),),
            checks=("scaled_at_test_eval_and_edge_cases",),
            catches=("scaled_at_test_eval_and_edge_cases", "conventions_agree_in_expectation"),
            why="inverted dropout's habit (eval returns x unchanged) kept for the slide's "
                "convention, whose training output is not scaled up",
            classic=True),
    Mistake("test time scaled by p",
            "the test-time output was x * p; p is the probability of ZEROING, so the factor at "
            "test time is the keep probability: out = x * (1 - p).",
            ((SAT_TEST, "        return x * p\n"),),
            checks=("scaled_at_test_eval_and_edge_cases",),
            why="the original paper's test-time rule 'multiply by p' read with nn.Dropout's p, "
                "which is the probability of zeroing"),
]
