"""Known student bugs and correct variants for normalization (see autograder/audit.py)."""
from autograder.audit import Bug, Variant

T = "normalization"

BUGS = [
    Bug("bn-biased-running-var", T,
        (("var_unbiased = var * n / (n - 1)", "var_unbiased = var"),),
        catches=("batch_norm_train_2d", "batch_norm_running_stats_five_steps"),
        named="biased running_var",
        why="CS231n's and d2l's batchnorm keep the biased variance in the running average"),
]

VARIANTS = [
    Variant("bn-hand-written-two-pass", T,
            (("var = x.var(dims, correction=0)", "var = ((x - x.mean(dims, keepdim=True)) ** 2).mean(dims)"),),
            why="variance written out by hand instead of torch.var"),
]
