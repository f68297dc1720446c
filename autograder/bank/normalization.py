"""Known student bugs and correct variants for normalization (see autograder/variants.py).

Sources for the misconceptions: CS231n assignment 2 (batchnorm_forward/backward,
spatial_batchnorm), CMU 10-714 hw2 (needle's BatchNorm1d/LayerNorm1d), CMU 11-785
hw1 (MyTorch BatchNorm1d), d2l.ai chapter "Batch Normalization" and the PyTorch
forum threads on running statistics ("running_var unbiased?", "BatchNorm
momentum convention", "num_batches_tracked").

Classic mistakes (`classic=True`): the few that this topic's lecture and those sources warn
about, and that students make most: running_var's bias and momentum's direction, eps
outside the square root, the biased variance for normalizing, statistics over the wrong
dimensions (BatchNorm over mixed channels, LayerNorm over the last dimension only), batch
statistics in eval mode, and the batch-norm backward without the variance's path.
A public check catches each classic mistake, so that a student whose public checks
all pass has made none of them (tests/test_classic_mistakes.py; docs/CLASSIC_MISTAKES.md
lists what the public checks catch and name).
"""
from autograder.variants import Bug, Correct, Mistake, Trivial

T = "normalization"

# ----------------------------------------------------------------------------- reference snippets
STATS = ("        mean = x.mean(dims)                         # (C,)\n"
         "        var = x.var(dims, correction=0)             # (C,)  biased: normalizes the batch\n")
UPDATE = ("                running_mean.copy_((1 - momentum) * running_mean + momentum * mean)\n"
          "                running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)\n")
AFFINE = ("    if weight is not None:\n"
          "        out = out * weight.reshape(shape)\n"
          "    if bias is not None:\n"
          "        out = out + bias.reshape(shape)\n")
NORMALIZE = "    out = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)\n"
EVAL_STATS = "        mean, var = running_mean, running_var       # (C,), (C,)\n"
COUNT = "            self.num_batches_tracked.add_(1)                     # in place, counts batches\n"
CUMULATIVE = "momentum = 1.0 / float(self.num_batches_tracked)  # 1, 1/2, 1/3, ..."
USE_BATCH = "use_batch_stats = self.training or self.running_mean is None"
MODULE_CALL = ("        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,\n"
               "                          use_batch_stats, momentum, self.eps)\n")
BATCH_OF_ONE = ("        if n == 1:\n"
                "            raise ValueError(\"Expected more than 1 value per channel when training, \"\n"
                "                             f\"got input size {x.size()}\")\n")
LN_STATS = ("    mean = x.mean(dims, keepdim=True)               # (*, 1, ..., 1)\n"
            "    var = x.var(dims, correction=0, keepdim=True)   # (*, 1, ..., 1)  biased\n")
LN_NORMALIZE = "    out = (x - mean) / torch.sqrt(var + eps)\n"
DX = "dx = (g - g.mean(0) - x_hat * (g * x_hat).mean(0)) / sigma"
NO_GRAD_UPDATE = ("            with torch.no_grad():\n"
                  "                var_unbiased = var * n / (n - 1)    # (C,)  unbiased: the running estimate\n"
                  + UPDATE)
LN_AFFINE = ("    if weight is not None:\n"
             "        out = out * weight                          # normalized_shape broadcasts\n"
             "    if bias is not None:\n"
             "        out = out + bias\n")
BNF_AFFINE = ("        out = x_hat\n"
              "        if weight is not None:\n"
              "            out = out * weight\n"
              "        if bias is not None:\n"
              "            out = out + bias\n")
LN_CALL = "        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)\n"
BN_DIMS = "    dims = [0] + list(range(2, x.dim()))           # every dim but the channels\n"
LN_DIMS = "    dims = list(range(-len(normalized_shape), 0))   # the trailing dims, e.g. [-2, -1]\n"
BNF_MEAN = "        mean = x.mean(0)                                  # (C,)\n"
PARAM_GRADS = ("        dweight = (dout * x_hat).sum(0) if ctx.needs_input_grad[1] else None\n"
               "        dbias = dout.sum(0) if ctx.needs_input_grad[2] else None\n")

BUGS = [
    # --------------------------------------------------------------- conventions
    Bug("bn-momentum-reversed", T,
        ((UPDATE,
          "                running_mean.copy_(momentum * running_mean + (1 - momentum) * mean)\n"
          "                running_var.copy_(momentum * running_var + (1 - momentum) * var_unbiased)\n"),),
        catches=("batch_norm_train_2d", "batch_norm_running_stats_five_steps"),
        named="momentum reversed",
        why="CS231n and 11-785 write running = m * running + (1 - m) * batch with m = 0.9; "
            "PyTorch's momentum weighs the new batch"),
    Bug("bn-n-counts-batch-only", T,
        (("n = x.numel() // x.shape[1]                     # values per channel",
          "n = x.shape[0]                                  # BUG: N, not N * L"),),
        catches=("batch_norm_train_3d_float64", "batch_norm_running_stats_five_steps"),
        named="n counts the batch only",
        why="the Bessel factor n / (n - 1) with n = batch size, carried over from (N, C) code "
            "to (N, C, L) and (N, C, H, W) (CS231n spatial batchnorm ports)"),

    # --------------------------------------------------------------- order of operations

    # --------------------------------------------------------------- statistics over the wrong dims
    Bug("bn-reshape-mixes-channels", T,
        ((STATS,
          "        flat = x.reshape(-1, x.shape[1])            # BUG: mixes channels for 3d/4d\n"
          "        mean = flat.mean(0)\n"
          "        var = flat.var(0, correction=0)\n"),),
        catches=("batch_norm_train_3d_float64", "batch_norm_train_4d"),
        named="statistics over x.reshape(-1, C)",
        why="CS231n spatial batchnorm: x.reshape(-1, C) without moving the channels last first"),
    Bug("bn-dim0-only", T,
        ((STATS,
          "        mean = x.mean(0)                            # BUG: (C, L) for 3d inputs\n"
          "        var = x.var(0, correction=0)\n"),),
        catches=("batch_norm_train_3d_float64", "batch_norm_train_4d"),
        why="the (N, D) batchnorm of CS231n / needle's BatchNorm1d reused for (N, C, L) inputs"),
    Bug("bn-view-fails-non-contiguous", T,
        ((STATS,
          "        flat = x.view(x.shape[0], x.shape[1], -1)   # BUG: view needs contiguous x\n"
          "        mean = flat.mean((0, 2))\n"
          "        var = flat.var((0, 2), correction=0)\n"),),
        catches=("batch_norm_non_contiguous",),
        named="x.view on a non-contiguous input",
        why=".view on a channels-last (permuted) tensor raises; agrees with the reference on "
            "every contiguous input (forum: 'view size is not compatible with input tensor's size')"),
    Bug("bn-one-pass-variance-float32", T,
        (("var = x.var(dims, correction=0)             # (C,)  biased: normalizes the batch",
          "var = (x * x).mean(dims) - mean ** 2          # BUG: E[x^2] - E[x]^2 cancels"),),
        catches=("batch_norm_large_mean_float32",),
        named="one-pass variance",
        why="the textbook E[x^2] - E[x]^2 (11-785 and many blog posts) loses every digit in "
            "float32 when |mean| >> std; agrees on zero-mean inputs"),

    # --------------------------------------------------------------- state
    Bug("bn-updates-in-eval", T,
        ((EVAL_STATS,
          "        mean, var = running_mean.clone(), running_var.clone()\n"
          "        with torch.no_grad():                       # BUG: eval must change nothing\n"
          "            running_mean.copy_((1 - momentum) * running_mean + momentum * x.mean(dims))\n"
          "            running_var.copy_((1 - momentum) * running_var + momentum * x.var(dims))\n"),),
        catches=("batch_norm_eval_uses_running_stats",),
        named="running statistics updated in eval mode",
        why="the update written outside the `if training` branch"),
    Bug("bn-module-momentum-none-ignored", T,
        ((CUMULATIVE, "momentum = 0.1                                   # BUG"),),
        catches=("batchnorm1d_momentum_none",),
        named="momentum=None ignored",
        why="momentum=None (cumulative moving average) replaced by the default 0.1"),
    Bug("bn-module-eval-uses-batch-stats", T,
        ((USE_BATCH, "use_batch_stats = True                            # BUG"),),
        catches=("batchnorm1d_eval_after_training", "batchnorm2d_train_and_eval"),
        named="eval mode uses batch statistics",
        why="self.training never consulted: the module always normalizes with batch statistics"),

    # --------------------------------------------------------------- edge cases and hard inputs
    Bug("bn-batch-size-one-check", T,
        (("        if n == 1:\n", "        if x.shape[0] == 1:                        # BUG\n"),),
        catches=("batch_norm_batch_of_one",),
        named="one-value test on the batch size",
        why="tests the batch size instead of the values per channel, so (1, C, L) raises"),

    # --------------------------------------------------------------- device and dtype
    Bug("bn-weight-ones-on-cpu", T,
        ((AFFINE,
          "    if weight is None:\n"
          "        weight = torch.ones(x.shape[1])             # BUG: float32, on the CPU\n"
          "    out = out * weight.reshape(shape)\n"
          "    if bias is not None:\n"
          "        out = out + bias.reshape(shape)\n"),),
        catches=("device_placement",),
        why="a default for a None weight made with torch.ones(C): CPU, default dtype"),
    Bug("bn-channel-loop-default-dtype", T,
        ((STATS,
          "        mean = torch.empty(x.shape[1])              # BUG: float32, on the CPU\n"
          "        var = torch.empty(x.shape[1])\n"
          "        for c in range(x.shape[1]):\n"
          "            mean[c] = x.select(1, c).mean()\n"
          "            var[c] = x.select(1, c).var(correction=0)\n"),),
        catches=("batch_norm_train_3d_float64", "device_placement"),
        named="statistics stored in float32",
        why="per-channel loop writing into torch.empty(C) / torch.zeros(C): float64 statistics "
            "silently rounded to float32"),

    # --------------------------------------------------------------- in-place changes to inputs
    Bug("bn-subtracts-mean-in-place", T,
        ((NORMALIZE,
          "    x -= mean.reshape(shape)                        # BUG: changes the caller's x\n"
          "    out = x / torch.sqrt(var.reshape(shape) + eps)\n"),),
        catches=("batch_norm_train_2d",),
        why="x -= mean (numpy habit) changes the caller's tensor"),

    # --------------------------------------------------------------- autograd misuse
    Bug("bn-detached-statistics", T,
        ((STATS,
          "        mean = x.mean(dims).detach()                # BUG: no gradient through the stats\n"
          "        var = x.var(dims, correction=0).detach()\n"),),
        catches=("batch_norm_backward", "batchnorm1d_parameter_gradients"),
        named="batch statistics detached",
        why="the batch mean and variance treated as constants ('they are just statistics')"),
    Bug("bn-statistics-through-item", T,
        ((STATS,
          "        mean = torch.tensor([x.select(1, c).mean().item() for c in range(x.shape[1])],\n"
          "                            dtype=x.dtype, device=x.device)   # BUG: .item() cuts the graph\n"
          "        var = torch.tensor([x.select(1, c).var(correction=0).item()\n"
          "                            for c in range(x.shape[1])], dtype=x.dtype, device=x.device)\n"),),
        catches=("batch_norm_backward", "batchnorm1d_parameter_gradients"),
        named="batch statistics detached",
        why="per-channel statistics gathered with .item() into a new tensor: right forward, "
            "no gradient through the statistics"),
    Bug("bn-module-forward-no-grad", T,
        ((MODULE_CALL,
          "        with torch.no_grad():                                    # BUG: cuts the graph\n"
          "            return batch_norm(x, self.running_mean, self.running_var, self.weight,\n"
          "                              self.bias, use_batch_stats, momentum, self.eps)\n"),),
        catches=("batchnorm1d_parameter_gradients",),
        named="module forward under no_grad",
        why="torch.no_grad() meant for the running-statistics update wrapped around the whole forward"),

    # --------------------------------------------------------------- layer_norm
    Bug("ln-statistics-through-data", T,
        ((LN_STATS,
          "    mean = x.data.mean(dims, keepdim=True)          # BUG: .data cuts the graph\n"
          "    var = x.data.var(dims, correction=0, keepdim=True)\n"),),
        catches=("layer_norm_backward",),
        named="layer_norm statistics detached",
        why="x.data used for the statistics (old PyTorch tutorials): no gradient through them"),

    # --------------------------------------------------------------- BatchNormFunction
    # --------------------------------------------------------------- property review (docs/PROPERTIES.md NO-*)
    Bug("bn-affine-needs-both", T,
        ((AFFINE,
          "    if weight is not None and bias is not None:     # BUG: either alone is ignored\n"
          "        out = out * weight.reshape(shape) + bias.reshape(shape)\n"),),
        catches=("batch_norm_weight_only_bias_only",),
        named="affine step only with both weight and bias",
        why="'gamma and beta come together' (CS231n always passes both); F.batch_norm takes each alone"),
    Bug("bn-eval-none-falls-back", T,
        (("            raise RuntimeError(\"running_mean must be defined in evaluation mode\")\n",
          "            return batch_norm(x, None, None, weight, bias, True, momentum, eps)   # BUG\n"),),
        catches=("batch_norm_eval_requires_running_stats",),
        named="eval without running statistics uses the batch",
        why="a 'helpful' fallback to batch statistics where PyTorch raises"),
    Bug("bn-update-without-no-grad", T,
        ((NO_GRAD_UPDATE,
          "            var_unbiased = var * n / (n - 1)        # BUG: autograd records the update\n"
          "            running_mean.copy_((1 - momentum) * running_mean + momentum * mean)\n"
          "            running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)\n"),),
        catches=("batchnorm1d_buffers_free_of_autograd",),
        named="running statistics updated with autograd on",
        why="the numpy port of CS231n has no autograd to switch off: buffers end up requiring grad"),
    Bug("bn-one-value-check-in-eval", T,
        (("    if training:\n" + BATCH_OF_ONE,
          "    if n == 1:                                      # BUG: eval needs no batch statistics\n"
          "        raise ValueError(\"Expected more than 1 value per channel when training, \"\n"
          "                         f\"got input size {x.size()}\")\n"
          "    if training:\n"),),
        catches=("batch_norm_eval_single_sample",),
        named="one-value test in eval mode too",
        why="input validation hoisted to the top of the function; single-sample inference then fails"),
    Bug("bn-no-empty-guard", T,
        (("        if running_mean is not None and n > 0:", "        if running_mean is not None:   # BUG"),),
        catches=("batch_norm_empty_batch",),
        named="empty batch updates the running statistics",
        why="no thought given to N = 0 (the last, empty batch of a loader): NaN running statistics"),
    Bug("bn-eval-under-no-grad", T,
        ((EVAL_STATS,
          "        with torch.no_grad():                       # BUG: 'inference needs no graph'\n"
          "            out = (x - running_mean.reshape(shape)) / torch.sqrt(running_var.reshape(shape) + eps)\n"
          "            if weight is not None:\n"
          "                out = out * weight.reshape(shape)\n"
          "            if bias is not None:\n"
          "                out = out + bias.reshape(shape)\n"
          "            return out\n"),),
        catches=("batch_norm_eval_backward",),
        named="eval output under no_grad",
        why="eval taken to mean inference, wrapped in torch.no_grad(); fine-tuning a frozen-BN model "
            "then gets no gradient"),
    Bug("ln-affine-needs-both", T,
        ((LN_AFFINE,
          "    if weight is not None and bias is not None:     # BUG: either alone is ignored\n"
          "        out = out * weight + bias\n"),),
        catches=("layer_norm_weight_only_bias_only",),
        named="layer_norm affine step only with both weight and bias",
        why="weight and bias treated as a pair, as in needle's LayerNorm1d"),
    Bug("ln-eps-literal", T,
        ((LN_NORMALIZE, "    out = (x - mean) / torch.sqrt(var + 1e-5)        # BUG: eps ignored\n"),),
        catches=("layer_norm_eps",),
        named="layer_norm eps ignored",
        why="the default written as a number, as in most from-scratch tutorials"),
    Bug("ln-view-2d", T,
        ((LN_STATS + LN_NORMALIZE,
          "    flat = x.view(*x.shape[:x.dim() - len(normalized_shape)], -1)   # BUG: needs contiguous x\n"
          "    mean = flat.mean(-1, keepdim=True)\n"
          "    var = flat.var(-1, correction=0, keepdim=True)\n"
          "    out = ((flat - mean) / torch.sqrt(var + eps)).view(x.shape)\n"),),
        catches=("layer_norm_non_contiguous",),
        named="layer_norm x.view on a non-contiguous input",
        why="the trailing dims flattened with .view, which raises on a transposed x"),
    Bug("bn-module-default-eps", T,
        ((MODULE_CALL,
          "        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,\n"
          "                          use_batch_stats, momentum)   # BUG: self.eps not passed\n"),),
        catches=("batchnorm1d_passes_eps",),
        named="BatchNorm module ignores eps",
        why="the defaulted argument left out of the call; invisible while eps = 1e-5"),
    Bug("lnm-default-eps", T,
        ((LN_CALL, "        return layer_norm(x, self.normalized_shape, self.weight, self.bias)   # BUG\n"),),
        catches=("layernorm_module_passes_eps",),
        named="LayerNorm module ignores eps",
        why="the defaulted argument left out of the call; invisible while eps = 1e-5"),
    Bug("bn-bias-flag-ignored", T,
        (("            if bias:\n"
          "                self.bias = nn.Parameter(torch.zeros(num_features, device=device, dtype=dtype))\n"
          "            else:\n"
          "                self.register_parameter(\"bias\", None)\n",
          "            self.bias = nn.Parameter(torch.zeros(num_features, device=device, dtype=dtype))  # BUG\n"),),
        catches=("batchnorm1d_constructor_options",),
        named="BatchNorm bias=False ignored",
        why="bias=False is a newer option (PyTorch 2.1); older tutorials create weight and bias together"),
    Bug("lnm-factory-kwargs-ignored", T,
        (("                torch.ones(self.normalized_shape, device=device, dtype=dtype))",
          "                torch.ones(self.normalized_shape))                  # BUG"),
         ("                    torch.zeros(self.normalized_shape, device=device, dtype=dtype))",
          "                    torch.zeros(self.normalized_shape))"),),
        catches=("norm_modules_factory_kwargs",),
        named="LayerNorm ignores device= and dtype=",
        why="factory arguments accepted by the signature but never used"),
    Bug("bn-folded-eval-cache", T,
        ((MODULE_CALL,
          "        if not use_batch_stats:                                  # BUG: cached once\n"
          "            if getattr(self, \"_folded\", None) is None:\n"
          "                scale = torch.rsqrt(self.running_var + self.eps)\n"
          "                if self.weight is not None:\n"
          "                    scale = scale * self.weight\n"
          "                shift = -self.running_mean * scale\n"
          "                if self.bias is not None:\n"
          "                    shift = shift + self.bias\n"
          "                self._folded = (scale.detach(), shift.detach())\n"
          "            scale, shift = self._folded\n"
          "            shape = [1, -1] + [1] * (x.dim() - 2)\n"
          "            return x * scale.reshape(shape) + shift.reshape(shape)\n" + MODULE_CALL),),
        catches=("batchnorm1d_train_eval_train",),
        named="eval scale and shift cached",
        why="inference-time BN folding (as in deployment code) cached on the first eval call and "
            "never invalidated when training resumes"),
    Bug("bn-module-flattens", T,
        ((MODULE_CALL,
          "        shape = x.shape\n"
          "        x = x.view(x.shape[0], x.shape[1], -1)           # BUG: view needs contiguous x\n"
          + MODULE_CALL.replace("self.eps)\n", "self.eps).view(shape)\n")),),
        catches=("batchnorm2d_non_contiguous",),
        named="BatchNorm module x.view on a non-contiguous input",
        why="(N, C, H, W) flattened to (N, C, H*W) with .view, which raises on channels-last inputs"),
    Bug("lnm-bias-flag-ignored", T,
        (("            if bias:\n"
          "                self.bias = nn.Parameter(\n"
          "                    torch.zeros(self.normalized_shape, device=device, dtype=dtype))\n"
          "            else:\n"
          "                self.register_parameter(\"bias\", None)\n",
          "            self.bias = nn.Parameter(                               # BUG: bias=False ignored\n"
          "                torch.zeros(self.normalized_shape, device=device, dtype=dtype))\n"),),
        catches=("layernorm_module_options",),
        named="LayerNorm bias=False ignored",
        why="bias=False is a newer option (PyTorch 2.1); older tutorials create weight and bias together"),
    Bug("lnm-forward-no-grad", T,
        ((LN_CALL,
          "        with torch.no_grad():                                    # BUG: cuts the graph\n"
          "            return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)\n"),),
        catches=("layernorm_module_gradients",),
        named="LayerNorm forward under no_grad",
        why="the LayerNorm twin of bn-module-forward-no-grad"),
    Bug("bnf-affine-needs-both", T,
        ((BNF_AFFINE,
          "        out = x_hat\n"
          "        if weight is not None and bias is not None:   # BUG: either alone is ignored\n"
          "            out = x_hat * weight + bias\n"),),
        catches=("batchnorm_function_weight_only_bias_only",),
        named="BatchNormFunction affine step only with both weight and bias",
        why="CS231n's batchnorm_forward always receives gamma and beta together"),
    Bug("bnf-eps-literal", T,
        (("sigma = torch.sqrt(x.var(0, correction=0) + eps)",
          "sigma = torch.sqrt(x.var(0, correction=0) + 1e-5)   # BUG"),),
        catches=("batchnorm_function_eps",),
        named="BatchNormFunction eps ignored",
        why="the default written as a number"),
    # --------------------------------------------------------------- float16 and bfloat16 inputs
    Bug("bn-upcast-16-bit", T,
        ((BN_DIMS, "    if x.dtype in (torch.float16, torch.bfloat16):\n"
                   "        x = x.float()                               # BUG: never cast back\n" + BN_DIMS),),
        catches=("batch_norm_half_precision",),
        named="batch_norm result in float32 for a 16-bit input",
        why="the mixed-precision habit of normalizing in float32 ('half is not precise enough for "
            "statistics'), without the cast back: a float16 model gets float32 activations"),
    Bug("bn-module-float32-buffer-copies", T,
        ((MODULE_CALL,
          "        if x.dtype in (torch.float16, torch.bfloat16):           # BN in float32 (apex's habit)\n"
          "            f32 = lambda t: None if t is None else t.float()\n"
          "            return batch_norm(x.float(), f32(self.running_mean), f32(self.running_var),\n"
          "                              f32(self.weight), f32(self.bias), use_batch_stats, momentum,\n"
          "                              self.eps).to(x.dtype)             # BUG: updates copies\n"
          + MODULE_CALL),),
        catches=("batch_norm_half_precision",),
        named="BatchNorm statistics updated in float32 copies",
        why="apex's keep_batchnorm_fp32 done by hand in forward: .float() is the buffer itself "
            "for a float32 module and a copy for a float16 one, so a half module's running "
            "statistics never move"),
    Bug("ln-upcast-16-bit", T,
        ((LN_DIMS, "    if x.dtype in (torch.float16, torch.bfloat16):\n"
                   "        x = x.float()                               # BUG: never cast back\n" + LN_DIMS),),
        catches=("layer_norm_half_precision",),
        named="layer_norm result in float32 for a 16-bit input",
        why="autocast runs layer_norm in float32; done by hand, the cast back is forgotten"),
    Bug("bnf-upcast-16-bit", T,
        ((BNF_MEAN, "        if x.dtype in (torch.float16, torch.bfloat16):\n"
                    "            x = x.float()                                 # BUG: never cast back\n" + BNF_MEAN),),
        catches=("batchnorm_function_half_precision",),
        named="BatchNormFunction result in float32 for a 16-bit input",
        why="as bn-upcast-16-bit, in the hand-written Function's forward"),
]

VARIANTS = [
    Correct("bn-hand-written-two-pass", T,
            (("var = x.var(dims, correction=0)", "var = ((x - x.mean(dims, keepdim=True)) ** 2).mean(dims)"),),
            why="variance written out by hand instead of torch.var"),
    Correct("bn-one-pass-in-float64", T,
            ((STATS,
              "        xd = x.double()\n"
              "        mean = xd.mean(dims)\n"
              "        var = ((xd * xd).mean(dims) - mean * mean).to(x.dtype)\n"
              "        mean = mean.to(x.dtype)\n"),),
            why="E[x^2] - E[x]^2, computed in float64 and cast back"),
    Correct("bn-var-mean", T,
            ((STATS, "        var, mean = torch.var_mean(x, dims, correction=0)\n"),),
            why="torch.var_mean in one call"),
    Correct("bn-channel-loop-stack", T,
            ((STATS,
              "        xc = [x.select(1, c) for c in range(x.shape[1])]\n"
              "        mean = torch.stack([v.mean() for v in xc])\n"
              "        var = torch.stack([((v - v.mean()) ** 2).sum() / v.numel() for v in xc])\n"),),
            why="a loop over channels, statistics stacked (dtype and device follow x)"),
    Correct("bn-rsqrt-folded-affine", T,
            ((NORMALIZE + AFFINE,
              "    scale = torch.rsqrt(var.reshape(shape) + eps)\n"
              "    if weight is not None:\n"
              "        scale = scale * weight.reshape(shape)\n"
              "    out = x * scale - mean.reshape(shape) * scale\n"
              "    if bias is not None:\n"
              "        out = out + bias.reshape(shape)\n"),),
            why="multiply by rsqrt, weight folded into the scale, x * scale - mean * scale"),
    Correct("bn-lerp-update-recomputed-unbiased", T,
            ((UPDATE,
              "                running_mean.lerp_(mean, momentum)\n"
              "                running_var.lerp_(x.var(dims), momentum)\n"),),
            why="in-place lerp_, and the unbiased variance recomputed with torch.var"),
    Correct("bn-module-item-counter", T,
            ((COUNT + "            if momentum is None:                                 # cumulative average:\n"
              "                " + CUMULATIVE + "\n",
              "            self.num_batches_tracked += 1\n"
              "            if self.momentum is None:\n"
              "                momentum = 1.0 / self.num_batches_tracked.item()\n"
              "            else:\n"
              "                momentum = self.momentum\n"),),
            why="the counter incremented with += and read with .item(), as in torch's _BatchNorm"),
    Correct("ln-flattened", T,
            ((LN_STATS + LN_NORMALIZE,
              "    flat = x.reshape(*x.shape[:x.dim() - len(normalized_shape)], -1)\n"
              "    mu = flat.mean(-1, keepdim=True)\n"
              "    sd = torch.sqrt(flat.var(-1, unbiased=False, keepdim=True) + eps)\n"
              "    out = ((flat - mu) / sd).reshape(x.shape)\n"),),
            why="the normalized dims flattened into one, statistics over it"),
    Correct("bn-float32-inside", T,
            ((BN_DIMS,
              "    if x.dtype in (torch.float16, torch.bfloat16):   # compute in float32, store in x's dtype\n"
              "        f32 = lambda t: None if t is None else t.float()\n"
              "        rm, rv = f32(running_mean), f32(running_var)\n"
              "        out = batch_norm(x.float(), rm, rv, f32(weight), f32(bias), training, momentum, eps)\n"
              "        if training and rm is not None:\n"
              "            with torch.no_grad():\n"
              "                running_mean.copy_(rm)\n"
              "                running_var.copy_(rv)\n"
              "        return out.to(x.dtype)\n" + BN_DIMS),),
            why="16-bit inputs normalized in float32 and rounded once at the end, the running "
                "statistics written back in their dtype: more accurate than the reference, so it "
                "measures the reference's own 16-bit rounding"),
    Correct("ln-float32-inside", T,
            ((LN_DIMS,
              "    if x.dtype in (torch.float16, torch.bfloat16):   # compute in float32, as autocast\n"
              "        f32 = lambda t: None if t is None else t.float()\n"
              "        return layer_norm(x.float(), normalized_shape, f32(weight), f32(bias), eps).to(x.dtype)\n"
              + LN_DIMS),),
            why="16-bit inputs normalized in float32 (what autocast does for layer_norm), rounded once"),
    Correct("bnf-cs231n-backward", T,
            ((DX,
              "n = dout.shape[0]\n"
              "        dx = (n * g - g.sum(0) - x_hat * (g * x_hat).sum(0)) / (n * sigma)"),),
            why="CS231n's simplified backward with sums instead of means"),
]


# ----------------------------------------------------------------------------- trivial submissions
# The whole topic done trivially (audit.trivial_source): each must earn 0 points. The
# modules' constructors do nothing (no parameters, no buffers: BatchNorm1d without running
# statistics, LayerNorm without weight and bias).
TRIVIAL = [
    Trivial("bn-trivial-raise", T, "raise", why="every function and method raises ValueError"),
    Trivial("bn-trivial-none", T, "none", why="every function and forward returns None"),
    Trivial("bn-trivial-identity", T, "identity",
            (("Task 3.8", "return dout, None, None, None"),),
            why="every normalization returns x unchanged; the backward passes dout through"),
    Trivial("bn-trivial-zeros", T, "zeros",
            (("Task 3.8", "return torch.zeros_like(dout), None, None, None"),),
            why="every normalization returns zeros shaped like x; the backward zeros too"),
]


# ----------------------------------------------------------------------------- known mistakes
# The grader tries these, in this order, when a check fails (autograder/variants.py).

# Reference text the mistakes below patch.
_STATS = ("        mean = x.mean(dims)                         # (C,)\n"
          "        var = x.var(dims, correction=0)             # (C,)  biased: normalizes the batch\n")
_BATCH_OF_ONE = ("        if n == 1:\n"
                 "            raise ValueError(\"Expected more than 1 value per channel when training, \"\n"
                 "                             f\"got input size {x.size()}\")\n")
_UPDATE = ("            with torch.no_grad():\n"
           "                var_unbiased = var * n / (n - 1)    # (C,)  unbiased: the running estimate\n"
           "                running_mean.copy_((1 - momentum) * running_mean + momentum * mean)\n"
           "                running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)\n")
_AFFINE = ("    if weight is not None:\n"
           "        out = out * weight.reshape(shape)\n"
           "    if bias is not None:\n"
           "        out = out + bias.reshape(shape)\n")
_LN_AFFINE = ("    if weight is not None:\n"
              "        out = out * weight                          # normalized_shape broadcasts\n"
              "    if bias is not None:\n"
              "        out = out + bias\n")
_LN_STATS = ("    mean = x.mean(dims, keepdim=True)               # (*, 1, ..., 1)\n"
             "    var = x.var(dims, correction=0, keepdim=True)   # (*, 1, ..., 1)  biased\n"
             "    out = (x - mean) / torch.sqrt(var + eps)\n")
_BNF_AFFINE = ("        out = x_hat\n"
               "        if weight is not None:\n"
               "            out = out * weight\n"
               "        if bias is not None:\n"
               "            out = out + bias\n")
_MODULE_CALL = ("        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,\n"
                "                          use_batch_stats, momentum, self.eps)\n")
_LN_CALL = "        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)\n"
_BIAS_FLAG = ("            if bias:\n"
              "                self.bias = nn.Parameter(torch.zeros(num_features, device=device, dtype=dtype))\n"
              "            else:\n"
              "                self.register_parameter(\"bias\", None)\n")
_LN_BIAS_FLAG = ("            if bias:\n"
                 "                self.bias = nn.Parameter(\n"
                 "                    torch.zeros(self.normalized_shape, device=device, dtype=dtype))\n"
                 "            else:\n"
                 "                self.register_parameter(\"bias\", None)\n")

_BN_DIMS = "    dims = [0] + list(range(2, x.dim()))           # every dim but the channels\n"
_LN_DIMS = "    dims = list(range(-len(normalized_shape), 0))   # the trailing dims, e.g. [-2, -1]\n"
_BNF_MEAN = "        mean = x.mean(0)                                  # (C,)\n"
_UPCAST = "    if x.dtype in (torch.float16, torch.bfloat16):\n        x = x.float()\n"
_HALF_ADVICE = ("keep the result in x's dtype: compute in it, or compute in float32 and cast the "
                "result back with .to(x.dtype).")

# First: on the 16-bit checks they are more precise than the older mistakes whose outputs
# are float32 too (statistics stored in a default-dtype tensor).
_HALF_MISTAKES = [
    Mistake("batch_norm result in float32 for a 16-bit input",
            "batch_norm returned a float32 result for a float16/bfloat16 input (x.float() and no "
            "cast back, the mixed-precision habit); " + _HALF_ADVICE,
            ((_BN_DIMS, _UPCAST + _BN_DIMS),), checks=("batch_norm_half_precision",)),
    Mistake("BatchNorm statistics updated in float32 copies",
            "BatchNorm1d/2d normalized a 16-bit input with float32 copies of its buffers "
            "(self.running_mean.float() is a copy of a float16 tensor, and the tensor itself for a "
            "float32 one), so a 16-bit module's running statistics never changed. Pass the buffers "
            "themselves to batch_norm; it updates them in place, in their dtype.",
            ((_MODULE_CALL,
              "        if x.dtype in (torch.float16, torch.bfloat16):\n"
              "            f32 = lambda t: None if t is None else t.float()\n"
              "            return batch_norm(x.float(), f32(self.running_mean), f32(self.running_var),\n"
              "                              f32(self.weight), f32(self.bias), use_batch_stats, momentum,\n"
              "                              self.eps).to(x.dtype)\n" + _MODULE_CALL),),
            checks=("batch_norm_half_precision",)),
    Mistake("layer_norm result in float32 for a 16-bit input",
            "layer_norm returned a float32 result for a float16/bfloat16 input (x.float() and no "
            "cast back); " + _HALF_ADVICE,
            ((_LN_DIMS, _UPCAST + _LN_DIMS),), checks=("layer_norm_half_precision",)),
    Mistake("BatchNormFunction result in float32 for a 16-bit input",
            "BatchNormFunction.forward returned a float32 result for a float16/bfloat16 input "
            "(x.float() and no cast back); " + _HALF_ADVICE,
            ((_BNF_MEAN, "    " + _UPCAST.replace("\n    ", "\n        ") + _BNF_MEAN),),
            checks=("batchnorm_function_half_precision",)),
]

MISTAKES = _HALF_MISTAKES + [
    Mistake("biased running_var",
            "running_var was updated with the biased variance; PyTorch stores the unbiased one "
            "(multiply the batch variance by n / (n - 1) before the update).",
            (("var_unbiased = var * n / (n - 1)", "var_unbiased = var"),),
            catches=("batch_norm_train_2d", "batch_norm_running_stats_five_steps"),
            why="CS231n's and d2l's batchnorm keep the biased variance in the running average",
            classic=True),
    Mistake("momentum reversed",
            "momentum weighs the old running value instead of the new batch statistic; in PyTorch "
            "running = (1 - momentum) * running + momentum * batch_statistic.",
            (("running_mean.copy_((1 - momentum) * running_mean + momentum * mean)",
              "running_mean.copy_(momentum * running_mean + (1 - momentum) * mean)"),
             ("running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)",
              "running_var.copy_(momentum * running_var + (1 - momentum) * var_unbiased)")),
            classic=True),
    Mistake("eps outside sqrt",
            "eps is added after the square root; it belongs inside: (x - mean) / sqrt(var + eps).",
            (("/ torch.sqrt(var.reshape(shape) + eps)", "/ (torch.sqrt(var.reshape(shape)) + eps)"),),
            catches=("batch_norm_eps",),
            why="eps added to the standard deviation as in Adam's denominator (forum: 'where does eps go')",
            classic=True),
    Mistake("unbiased variance to normalize",
            "the batch was normalized with the unbiased variance (divide by n - 1); normalization "
            "uses the biased one (divide by n), only running_var stores the unbiased one.",
            (("x.var(dims, correction=0)", "x.var(dims)"),
             ("var_unbiased = var * n / (n - 1)", "var_unbiased = var")),
            catches=("batch_norm_train_2d", "batch_norm_train_4d"),
            why="torch.var / Tensor.var default to the unbiased estimator; students call x.var(dims) and use it for both the output and the running estimate",
            classic=True),
    Mistake("layer_norm unbiased variance",
            "layer_norm used the unbiased variance (divide by n - 1); it uses the biased one.",
            (("var = x.var(dims, correction=0, keepdim=True)", "var = x.var(dims, keepdim=True)"),),
            catches=("layer_norm_last_dim", "layer_norm_tuple_shape"),
            why="Tensor.var defaults to the unbiased estimator"),
    Mistake("layer_norm over last dim only",
            "layer_norm took statistics over the last dimension only; it normalizes over all of "
            "normalized_shape's dimensions (the last len(normalized_shape) ones).",
            (("dims = list(range(-len(normalized_shape), 0))", "dims = [-1]"),),
            catches=("layer_norm_tuple_shape", "layernorm_module"),
            why="needle's LayerNorm1d and most tutorials normalize over dim -1 only",
            classic=True),
    Mistake("one-value test on the batch size",
            "the one-value-per-channel test looked at the batch size N; it is about the values per "
            "channel, n = N * L for (N, C, L): a (1, C, L) batch with L > 1 is fine.",
            (("        if n == 1:\n", "        if x.shape[0] == 1:\n"),),
            checks=("batch_norm_batch_of_one",)),
    Mistake("n counts the batch only",
            "the factor n / (n - 1) for running_var used n = N, the batch size; n counts every "
            "value of a channel, N * L for (N, C, L) and N * H * W for (N, C, H, W).",
            (("n = x.numel() // x.shape[1]                     # values per channel",
              "n = x.shape[0]"),)),
    Mistake("running_var initialised to 0",
            "running_var starts at 0; PyTorch initialises it to ones (running_mean to zeros).",
            (("            self.register_buffer(\"running_var\",\n"
              "                                 torch.ones(num_features, device=device, dtype=dtype))",
              "            self.register_buffer(\"running_var\",\n"
              "                                 torch.zeros(num_features, device=device, dtype=dtype))"),),
            catches=("batchnorm1d_train_steps_state_dict",),
            why="CS231n's batchnorm_forward initialises running_var with np.zeros"),
    Mistake("bias added before the scale",
            "the bias was added before multiplying by the weight; the affine step is "
            "x_hat * weight + bias (scale first, then shift).",
            (("    if weight is not None:\n"
              "        out = out * weight.reshape(shape)\n"
              "    if bias is not None:\n"
              "        out = out + bias.reshape(shape)\n",
              "    if bias is not None:\n"
              "        out = out + bias.reshape(shape)\n"
              "    if weight is not None:\n"
              "        out = out * weight.reshape(shape)\n"),),
            catches=("batch_norm_train_3d_float64", "batch_norm_train_4d"),
            why="gamma * (x_hat + beta) instead of gamma * x_hat + beta: the order of the affine step"),
    Mistake("statistics over x.reshape(-1, C)",
            "the statistics were taken over x.reshape(-1, C), which mixes the channels of an "
            "(N, C, L) or (N, C, H, W) tensor; reduce over dims (0, 2, ...) instead, or move the "
            "channels last first (x.transpose(1, -1).reshape(-1, C)).",
            (("        mean = x.mean(dims)                         # (C,)\n"
              "        var = x.var(dims, correction=0)             # (C,)  biased: normalizes the batch\n",
              "        flat = x.reshape(-1, x.shape[1])\n"
              "        mean = flat.mean(0)\n"
              "        var = flat.var(0, correction=0)\n"),),
            classic=True),
    Mistake("one-pass variance",
            "the variance was computed as E[x^2] - E[x]^2, which cancels catastrophically in "
            "float32 when the mean is large; compute the mean of (x - mean)^2 (or use x.var).",
            (("var = x.var(dims, correction=0)             # (C,)  biased: normalizes the batch",
              "var = (x * x).mean(dims) - mean ** 2"),)),
    Mistake("running statistics not updated in place",
            "the running statistics were assigned to a new tensor instead of updated in place, so "
            "the caller's buffers never change; write into them with running_mean.copy_(...).",
            (("                running_mean.copy_((1 - momentum) * running_mean + momentum * mean)\n"
              "                running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)\n",
              "                running_mean = (1 - momentum) * running_mean + momentum * mean\n"
              "                running_var = (1 - momentum) * running_var + momentum * var_unbiased\n"),),
            catches=("batch_norm_train_2d", "batchnorm1d_train_steps_state_dict"),
            why="assigning to the local name instead of copy_: the numpy habit (CS231n keeps them in bn_param and writes bn_param['running_mean'] = ...)"),
    Mistake("running statistics replaced",
            "the running statistics were replaced by the batch statistics; they are a moving "
            "average: running = (1 - momentum) * running + momentum * batch_statistic.",
            (("                running_mean.copy_((1 - momentum) * running_mean + momentum * mean)\n"
              "                running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)\n",
              "                running_mean.copy_(mean)\n"
              "                running_var.copy_(var_unbiased)\n"),),
            catches=("batch_norm_train_2d", "batch_norm_running_stats_five_steps"),
            why="running statistics overwritten by the last batch's, no moving average"),
    Mistake("running statistics updated in eval mode",
            "the running statistics were updated in evaluation mode; only training updates them "
            "(move the update inside the `if training:` branch).",
            (("        mean, var = running_mean, running_var       # (C,), (C,)\n",
              "        mean, var = running_mean.clone(), running_var.clone()\n"
              "        with torch.no_grad():\n"
              "            running_mean.copy_((1 - momentum) * running_mean + momentum * x.mean(dims))\n"
              "            running_var.copy_((1 - momentum) * running_var + momentum * x.var(dims))\n"),)),
    Mistake("momentum=None ignored",
            "with momentum=None the running statistics must be the plain (cumulative) average of "
            "all batches: pass momentum = 1 / num_batches_tracked after incrementing the counter.",
            (("momentum = 1.0 / float(self.num_batches_tracked)  # 1, 1/2, 1/3, ...",
              "momentum = 0.1"),)),
    Mistake("eval mode uses batch statistics",
            "in eval mode the module normalized with the batch statistics (and updated the running "
            "ones); after .eval() it must use running_mean and running_var (check self.training).",
            (("use_batch_stats = self.training or self.running_mean is None",
              "use_batch_stats = True"),),
            classic=True),
    Mistake("statistics stored in float32",
            "the per-channel statistics were stored in a tensor made with the default dtype "
            "(float32), which rounds float64 inputs; create it with dtype=x.dtype, device=x.device.",
            (("        mean = x.mean(dims)                         # (C,)\n"
              "        var = x.var(dims, correction=0)             # (C,)  biased: normalizes the batch\n",
              "        mean = torch.empty(x.shape[1])\n"
              "        var = torch.empty(x.shape[1])\n"
              "        for c in range(x.shape[1]):\n"
              "            mean[c] = x.select(1, c).mean()\n"
              "            var[c] = x.select(1, c).var(correction=0)\n"),)),
    Mistake("batch statistics detached",
            "no gradient flows through the batch mean and variance (.detach(), .data, .item() or a "
            "new tensor); in training they depend on x, so build them from x with tensor operations.",
            (("        mean = x.mean(dims)                         # (C,)\n"
              "        var = x.var(dims, correction=0)             # (C,)  biased: normalizes the batch\n",
              "        mean = x.mean(dims).detach()\n"
              "        var = x.var(dims, correction=0).detach()\n"),)),
    Mistake("layer_norm over every non-batch dim",
            "layer_norm took statistics over every dimension but the first; it normalizes over the "
            "last len(normalized_shape) dimensions only.",
            (("dims = list(range(-len(normalized_shape), 0))", "dims = list(range(1, x.dim()))"),),
            catches=("layer_norm_last_dim",),
            why="'LayerNorm normalizes each sample' read as every dim but the batch; right for (N, D) inputs, wrong for (N, T, D) sequences"),
    Mistake("layer_norm statistics detached",
            "no gradient flows through layer_norm's mean and variance (.detach() or .data); build "
            "them from x with tensor operations so autograd sees them.",
            (("    mean = x.mean(dims, keepdim=True)               # (*, 1, ..., 1)\n"
              "    var = x.var(dims, correction=0, keepdim=True)   # (*, 1, ..., 1)  biased\n",
              "    mean = x.mean(dims, keepdim=True).detach()\n"
              "    var = x.var(dims, correction=0, keepdim=True).detach()\n"),)),
    Mistake("backward drops the variance term",
            "the hand-written dx misses the path through the batch variance; "
            "dx = (g - mean(g) - x_hat * mean(g * x_hat)) / sigma.",
            (("dx = (g - g.mean(0) - x_hat * (g * x_hat).mean(0)) / sigma",
              "dx = (g - g.mean(0)) / sigma"),),
            catches=("batchnorm_function_backward", "batchnorm_function_without_affine"),
            why="CS231n batchnorm_backward: the path through the variance forgotten",
            classic=True),
    Mistake("backward treats the statistics as constants",
            "the hand-written dx is g / sigma, as if the batch mean and variance did not depend on "
            "x; subtract mean(g) and x_hat * mean(g * x_hat) before dividing by sigma.",
            (("dx = (g - g.mean(0) - x_hat * (g * x_hat).mean(0)) / sigma", "dx = g / sigma"),)),
    Mistake("backward forgets the weight",
            "the hand-written dx ignores the weight; the gradient reaching x_hat is dout * weight.",
            (("g = dout if weight is None else dout * weight     # (N, C)", "g = dout"),),
            catches=("batchnorm_function_backward",),
            why="dx_hat = dout instead of dout * gamma"),
    Mistake("parameter gradients averaged",
            "dweight and dbias were averaged over the batch; they are sums: "
            "dweight = sum of dout * x_hat, dbias = sum of dout.",
            (("        dweight = (dout * x_hat).sum(0) if ctx.needs_input_grad[1] else None\n"
              "        dbias = dout.sum(0) if ctx.needs_input_grad[2] else None\n",
              "        dweight = (dout * x_hat).mean(0) if ctx.needs_input_grad[1] else None\n"
              "        dbias = dout.mean(0) if ctx.needs_input_grad[2] else None\n"),)),
    Mistake("x.view on a non-contiguous input",
            "x.view(...) raised on a non-contiguous input (a transposed or channels-last tensor); "
            "reduce over the dims (0, 2, ...) directly, or use x.reshape(...), which works on any layout.",
            ((_STATS,
              "        flat = x.view(x.shape[0], x.shape[1], -1)\n"
              "        mean = flat.mean((0, 2))\n"
              "        var = flat.var((0, 2), correction=0)\n"),),
            checks=("batch_norm_non_contiguous",)),
    Mistake("num_batches_tracked not incremented",
            "num_batches_tracked never changed; add 1 to it in place (self.num_batches_tracked.add_(1)) "
            "on every training forward that tracks running statistics, as torch.nn.BatchNorm1d does.",
            (("            self.num_batches_tracked.add_(1)                     # in place, counts batches\n",
              ""),),
            catches=("batchnorm1d_train_steps_state_dict", "batchnorm1d_momentum_none"),
            why="num_batches_tracked registered but never incremented (needle and CS231n have no counter)"),
    Mistake("module forward under no_grad",
            "forward ran under torch.no_grad(), so no gradient reaches x, weight or bias; only the "
            "running-statistics update belongs under no_grad (batch_norm already does it).",
            ((_MODULE_CALL,
              "        with torch.no_grad():\n"
              "            return batch_norm(x, self.running_mean, self.running_var, self.weight,\n"
              "                              self.bias, use_batch_stats, momentum, self.eps)\n"),),
            checks=("batchnorm1d_parameter_gradients",)),
    Mistake("affine step only with both weight and bias",
            "batch_norm applied weight and bias only when both were given; each is optional on its "
            "own: scale by weight when it is not None, then shift by bias when it is not None.",
            ((_AFFINE,
              "    if weight is not None and bias is not None:\n"
              "        out = out * weight.reshape(shape) + bias.reshape(shape)\n"),)),
    Mistake("eval without running statistics uses the batch",
            "in eval mode without running statistics the batch statistics were used; batch_norm must "
            "raise RuntimeError(\"running_mean must be defined in evaluation mode\"), as PyTorch does.",
            (("            raise RuntimeError(\"running_mean must be defined in evaluation mode\")\n",
              "            return batch_norm(x, None, None, weight, bias, True, momentum, eps)\n"),),
            checks=("batch_norm_eval_requires_running_stats",)),
    Mistake("running statistics updated with autograd on",
            "the running statistics were updated with autograd recording, so after a training step "
            "on an x that requires grad the buffers require grad too (and keep the batch's graph "
            "alive); do the update under torch.no_grad().",
            ((_UPDATE,
              "            var_unbiased = var * n / (n - 1)\n"
              "            running_mean.copy_((1 - momentum) * running_mean + momentum * mean)\n"
              "            running_var.copy_((1 - momentum) * running_var + momentum * var_unbiased)\n"),),
            checks=("batchnorm1d_buffers_free_of_autograd",)),
    Mistake("one-value test in eval mode too",
            "the one-value-per-channel ValueError was raised in eval mode too; only training needs more "
            "than one value per channel (eval normalizes with the running statistics).",
            (("    if training:\n" + _BATCH_OF_ONE,
              "    if n == 1:\n"
              "        raise ValueError(\"Expected more than 1 value per channel when training, \"\n"
              "                         f\"got input size {x.size()}\")\n"
              "    if training:\n"),),
            checks=("batch_norm_eval_single_sample",)),
    Mistake("empty batch updates the running statistics",
            "an empty batch (N = 0) updated the running statistics with NaN (the mean of no values); "
            "skip the update when there are no values (n == 0).",
            (("        if running_mean is not None and n > 0:", "        if running_mean is not None:"),),
            checks=("batch_norm_empty_batch",)),
    Mistake("eval output under no_grad",
            "batch_norm computed its eval-mode output under torch.no_grad(), so no gradient reaches x, "
            "weight or bias; eval changes which statistics are used, not whether autograd records.",
            (("        mean, var = running_mean, running_var       # (C,), (C,)\n",
              "        with torch.no_grad():\n"
              "            out = (x - running_mean.reshape(shape)) / torch.sqrt(running_var.reshape(shape) + eps)\n"
              "            if weight is not None:\n"
              "                out = out * weight.reshape(shape)\n"
              "            if bias is not None:\n"
              "                out = out + bias.reshape(shape)\n"
              "            return out\n"),),
            checks=("batch_norm_eval_backward",)),
    Mistake("layer_norm affine step only with both weight and bias",
            "layer_norm applied weight and bias only when both were given; each is optional on its "
            "own: scale by weight when it is not None, then shift by bias when it is not None.",
            ((_LN_AFFINE,
              "    if weight is not None and bias is not None:\n"
              "        out = out * weight + bias\n"),)),
    Mistake("layer_norm eps ignored",
            "layer_norm added the literal 1e-5 inside the square root instead of its eps argument.",
            (("    out = (x - mean) / torch.sqrt(var + eps)\n",
              "    out = (x - mean) / torch.sqrt(var + 1e-5)\n"),),
            checks=("layer_norm_eps",)),
    Mistake("layer_norm x.view on a non-contiguous input",
            "x.view(...) raised on a non-contiguous input (a transposed tensor); reduce over the "
            "trailing dims directly, or use x.reshape(...), which works on any layout.",
            ((_LN_STATS,
              "    flat = x.view(*x.shape[:x.dim() - len(normalized_shape)], -1)\n"
              "    mean = flat.mean(-1, keepdim=True)\n"
              "    var = flat.var(-1, correction=0, keepdim=True)\n"
              "    out = ((flat - mean) / torch.sqrt(var + eps)).view(x.shape)\n"),),
            checks=("layer_norm_non_contiguous",)),
    Mistake("BatchNorm module ignores eps",
            "forward did not pass self.eps to batch_norm, so the default 1e-5 was used instead of the "
            "eps given to the constructor.",
            ((_MODULE_CALL,
              "        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,\n"
              "                          use_batch_stats, momentum)\n"),)),
    Mistake("LayerNorm module ignores eps",
            "LayerNorm normalized with eps = 1e-5 instead of the eps given to its constructor: "
            "forward must pass self.eps to layer_norm (and layer_norm must use its eps argument).",
            ((_LN_CALL,
              "        return layer_norm(x, self.normalized_shape, self.weight, self.bias)\n"),),
            checks=("layernorm_module_passes_eps",)),
    Mistake("BatchNorm bias=False ignored",
            "bias=False was ignored: a bias Parameter was created anyway; with bias=False register it "
            "as None (self.register_parameter(\"bias\", None)), as torch.nn.BatchNorm1d does.",
            ((_BIAS_FLAG,
              "            self.bias = nn.Parameter(torch.zeros(num_features, device=device, dtype=dtype))\n"),)),
    Mistake("num_batches_tracked in the constructor's dtype",
            "num_batches_tracked was created with the constructor's dtype; it is always an int64 "
            "(torch.long) counter, and only its device follows device=.",
            (("torch.tensor(0, device=device, dtype=torch.long)", "torch.tensor(0, device=device, dtype=dtype)"),),
            catches=("norm_modules_factory_kwargs",),
            why="device= and dtype= passed to every tensor the constructor makes, the counter included"),
    Mistake("LayerNorm ignores device= and dtype=",
            "LayerNorm's weight and bias were made with the default dtype and device; pass "
            "device=device, dtype=dtype to torch.ones / torch.zeros.",
            (("                torch.ones(self.normalized_shape, device=device, dtype=dtype))",
              "                torch.ones(self.normalized_shape))"),
             ("                    torch.zeros(self.normalized_shape, device=device, dtype=dtype))",
              "                    torch.zeros(self.normalized_shape))"))),
    Mistake("eval scale and shift cached",
            "eval's scale and shift were computed once and kept; the running statistics (and the "
            "parameters) change with every training step, so compute them from the current buffers "
            "on every eval forward.",
            ((_MODULE_CALL,
              "        if not use_batch_stats:\n"
              "            if getattr(self, \"_folded\", None) is None:\n"
              "                scale = torch.rsqrt(self.running_var + self.eps)\n"
              "                if self.weight is not None:\n"
              "                    scale = scale * self.weight\n"
              "                shift = -self.running_mean * scale\n"
              "                if self.bias is not None:\n"
              "                    shift = shift + self.bias\n"
              "                self._folded = (scale.detach(), shift.detach())\n"
              "            scale, shift = self._folded\n"
              "            shape = [1, -1] + [1] * (x.dim() - 2)\n"
              "            return x * scale.reshape(shape) + shift.reshape(shape)\n" + _MODULE_CALL),),
            checks=("batchnorm1d_train_eval_train",)),
    Mistake("BatchNorm module x.view on a non-contiguous input",
            "forward reshaped x with x.view(...), which raises on a non-contiguous (transposed or "
            "channels-last) input; pass x to batch_norm as it is, or use x.reshape(...).",
            ((_MODULE_CALL,
              "        shape = x.shape\n"
              "        x = x.view(x.shape[0], x.shape[1], -1)\n" + _MODULE_CALL.replace(
                  "self.eps)\n", "self.eps).view(shape)\n")),),
            checks=("batchnorm2d_non_contiguous",)),
    Mistake("LayerNorm bias=False ignored",
            "bias=False was ignored: a bias Parameter was created anyway; with bias=False register it "
            "as None (self.register_parameter(\"bias\", None)), as torch.nn.LayerNorm does.",
            ((_LN_BIAS_FLAG,
              "            self.bias = nn.Parameter(\n"
              "                torch.zeros(self.normalized_shape, device=device, dtype=dtype))\n"),)),
    Mistake("LayerNorm forward under no_grad",
            "LayerNorm's forward ran under torch.no_grad(), so no gradient reaches x, weight or bias.",
            ((_LN_CALL,
              "        with torch.no_grad():\n"
              "            return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)\n"),),
            checks=("layernorm_module_gradients",)),
    Mistake("BatchNormFunction affine step only with both weight and bias",
            "BatchNormFunction.forward applied weight and bias only when both were given; each is "
            "optional on its own: scale by weight when it is not None, then shift by bias.",
            ((_BNF_AFFINE,
              "        out = x_hat\n"
              "        if weight is not None and bias is not None:\n"
              "            out = x_hat * weight + bias\n"),)),
    Mistake("BatchNormFunction eps ignored",
            "BatchNormFunction added the literal 1e-5 to the variance instead of its eps argument.",
            (("sigma = torch.sqrt(x.var(0, correction=0) + eps)",
              "sigma = torch.sqrt(x.var(0, correction=0) + 1e-5)"),)),
    Mistake("BatchNormFunction accepts a batch of one",
            "BatchNormFunction.forward accepted a batch of one sample; with one value per channel the "
            "variance is 0 and the output meaningless: raise ValueError as training-mode batch_norm does.",
            (("        if x.shape[0] == 1:\n"
              "            raise ValueError(\"Expected more than 1 value per channel when training, \"\n"
              "                             f\"got input size {x.size()}\")\n", ""),),
            checks=("batchnorm_function_batch_of_one",),
            catches=("batchnorm_function_batch_of_one",),
            why="the edge case of batch_norm not carried over to the hand-written Function"),
]


# ----------------------------------------------------------------------------- examples and grading tests
# EXAMPLE VARIANTS: the bundled example submissions (tools/make_examples.py) and the
# grading tests (tests/test_grading_normalization.py) use these by name.
_PLACE = ("    out = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)\n"
          "    if weight is not None:\n")
BUGS += [
    Bug("nm-tensor-made-on-the-cpu", T,
        ((_PLACE,
          "    out = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)\n"
          "    if weight is None:\n"
          "        weight = torch.ones(x.shape[1])         # made on the CPU\n"
          "    if weight is not None:\n"),),
        catches=("device_placement",),
        why="a default weight made with torch.ones: on the CPU, whatever x's device (examples' dave)"),
    Bug("nm-syntax-error", T,
        (("def layer_norm(x: Tensor, normalized_shape: int | tuple[int, ...],",
          "def layer_norm(x: Tensor, normalized_shape: int | tuple[int, ...]"),),
        why="a comma lost in an edit: the module cannot be imported (examples' erin)"),
    Bug("nm-endless-loop-in-layer-norm", T,
        (("    dims = list(range(-len(normalized_shape), 0))   # the trailing dims, e.g. [-2, -1]\n",
          "    dims, i = [], 1\n"
          "    while len(dims) < len(normalized_shape):        # forgot i += 1: loops forever\n"
          "        if -i not in dims:\n"
          "            pass\n"),),
        catches=("layer_norm_last_dim",),
        why="a while loop whose counter is never advanced (examples' frank); every layer_norm "
            "call runs until its time limit, so the audit grades it only when asked (slow)",
        slow=True),
    Bug("nm-functional-batch-norm", T,
        (("    # BEGIN SOLUTION Task 3.1\n",
          "    # BEGIN SOLUTION Task 3.1\n"
          "    if x.dim() > 0:\n"
          "        return F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)\n"),
         ("import torch\n", "import torch\nimport torch.nn.functional as F\n")),
        catches=("batch_norm_train_2d",),
        why="the forbidden built-in called from batch_norm (examples' heidi)"),
    Bug("nm-functional-imported-by-name", T,
        (("import torch\n", "import torch\nfrom torch.nn.functional import batch_norm as _bn\n"),
         ("    # BEGIN SOLUTION Task 3.1\n",
          "    # BEGIN SOLUTION Task 3.1\n"
          "    return _bn(x, running_mean, running_var, weight, bias, training, momentum, eps)\n")),
        catches=("batch_norm_train_2d",),
        why="the same built-in imported by name at module level and used only in batch_norm"),
    Bug("nm-input-changed-in-place", T,
        (("    out = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)\n",
          "    out = x.sub_(mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)\n"),),
        catches=("batch_norm_train_2d",),
        why="sub_ to save memory: the caller's x is changed"),
]


# ----------------------------------------------------------------------------- one bug a check
BUGS += [
    Bug("bn-module-rebinds-buffers", T,
        (("        use_batch_stats = self.training or self.running_mean is None\n"
          "        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,\n"
          "                          use_batch_stats, momentum, self.eps)\n",
          "        use_batch_stats = self.training or self.running_mean is None\n"
          "        if self.running_mean is None:\n"
          "            return batch_norm(x, None, None, self.weight, self.bias, use_batch_stats, momentum, self.eps)\n"
          "        rm, rv = self.running_mean.clone(), self.running_var.clone()   # BUG: copies\n"
          "        out = batch_norm(x, rm, rv, self.weight, self.bias, use_batch_stats, momentum, self.eps)\n"
          "        self.running_mean, self.running_var = rm, rv                   # rebinds the buffers\n"
          "        return out\n"),),
        catches=("batchnorm1d_buffers_updated_in_place",),
        why="'do not modify the module's state in place' carried over from functional code: "
            "the buffers are replaced, so whoever held them sees stale statistics"),
]


# ----------------------------------------------------------------------------- the lecture's claims
# Standardizer (Tasks 3.9-3.11), fold_batchnorm (3.12), accumulated_gradients (3.13): one
# classic mistake each (the sample std, eps left out of the folded scale, micro-batch losses
# summed), which their public checks catch and name. Sources: sklearn's StandardScaler
# (ddof=0, _handle_zeros_in_scale), the BatchNorm-folding write-ups (PyTorch's
# torch.nn.utils.fusion, the "fold BN into conv" blog posts and their comment threads), and
# the gradient-accumulation threads of the PyTorch and Hugging Face forums ("divide the loss
# by accumulation_steps", "the last batch is smaller").
_S_F64 = "        Xd = X.detach().to(torch.float64)                     # (N, D), X's device\n"
_S_MEAN = "        self.mean_ = Xd.mean(0)                               # (D,)\n"
_S_STD = "        std = Xd.std(0, correction=0)                         # (D,)  population: divide by N\n"
_S_CONST = "        constant = (Xd == Xd[:1]).all(0)                      # (D,)  every value equal\n"
_S_WHERE = "        self.scale_ = torch.where(constant, torch.ones_like(std), std)\n"
_S_TRANSFORM = "        return ((X.to(torch.float64) - self.mean_) / self.scale_).to(X.dtype)\n"
_S_INVERSE = "        return (Z.to(torch.float64) * self.scale_ + self.mean_).to(Z.dtype)\n"
_STANDARDIZER = ("standardizer_fit_transform", "standardizer_train_statistics",
                 "standardizer_constant_feature", "standardizer_dtypes")

_F_GUARD = "    if bn.running_mean is None or bn.running_var is None:\n"
_F_SCALE = "        s = 1 / torch.sqrt(bn.running_var + bn.eps)                  # (out,)\n"
_F_WEIGHT = "        if bn.weight is not None:\n            s = s * bn.weight\n"
_F_SHIFT = "        shift = s * (b - bn.running_mean)                            # (out,)\n"
_F_NEW = ("        folded = nn.Linear(linear.in_features, linear.out_features, bias=True,\n"
          "                           device=linear.weight.device, dtype=linear.weight.dtype)\n")
_F_FILL = ("        folded.weight.copy_(s[:, None] * linear.weight)              # row j times s[j]\n"
           "        folded.bias.copy_(shift)\n"
           "    return folded\n")
_F_BODY = ("    with torch.no_grad():\n" + _F_SCALE + _F_WEIGHT
           + "        b = linear.bias if linear.bias is not None else torch.zeros_like(bn.running_mean)\n"
           + _F_SHIFT
           + "        if bn.bias is not None:\n            shift = shift + bn.bias\n" + _F_NEW + _F_FILL)
_FOLD = ("fold_batchnorm_matches_eval_batchnorm", "fold_batchnorm_options",
         "fold_batchnorm_leaves_inputs_alone")

_A_PARAMS = "    params = {name: p for name, p in model.named_parameters() if p.requires_grad}\n"
_A_CLEAR = "    for p in params.values():\n        p.grad = None\n"
_A_LOOP = "    for start in range(0, n, micro_batch):\n"
_A_LOSS = "        loss = loss_fn(model(xb), yb) * (xb.shape[0] / n)     # this micro-batch's share\n"
_A_PASSES = (_A_LOOP + "        xb, yb = x[start:start + micro_batch], y[start:start + micro_batch]\n"
             + _A_LOSS + "        loss.backward()                                       # adds to every .grad\n")
_A_RESTORE = ("    for name, p in params.items():\n"
              "        p.grad = saved[name]                                  # as we found it\n")
_A_BODY = (_A_PARAMS
           + "    saved = {name: p.grad for name, p in params.items()}      # the caller's .grad, or None\n"
           + _A_CLEAR + "    n = x.shape[0]\n" + _A_PASSES
           + "    grads = {name: p.grad if p.grad is not None else torch.zeros_like(p)\n"
             "             for name, p in params.items()}\n" + _A_RESTORE + "    return grads\n")
_ACCUMULATE = ("accumulated_gradients_mlp", "accumulated_gradients_layernorm_uneven",
               "accumulated_gradients_batchnorm_train", "accumulated_gradients_restores_grad")

MISTAKES += [
    # --------------------------------------------------------------- Standardizer
    Mistake("Standardizer sample std",
            "scale_ is the sample standard deviation (divided by N - 1, torch.std's default); "
            "standardization divides by the population one: X.std(0, correction=0) divides by N.",
            ((_S_STD, "        std = Xd.std(0)                                       # (D,)\n"),),
            checks=_STANDARDIZER, classic=True,
            why="torch.std and pandas' .std() divide by N - 1 by default; sklearn's StandardScaler "
                "(and the lecture's formula) by N"),
    Mistake("constant feature divided by zero",
            "a constant feature has std 0 and was divided by it (NaN, inf or +-1 instead of 0); give "
            "it scale_ 1, so that it becomes 0.",
            ((_S_WHERE, "        self.scale_ = std\n"),),
            checks=_STANDARDIZER, catches=("standardizer_constant_feature",),
            why="the textbook (X - mean) / std, without sklearn's guard for zero scales"),
    Mistake("constant feature recognised by std == 0",
            "a constant feature was recognised by std == 0, but the rounded mean of a constant column "
            "(seven 0.1 average to 0.09999999999999999) leaves a std of about 1e-17 when it is "
            "computed as sqrt(mean((x - mean)**2)), and dividing by it gives +-1: test whether all "
            "its values are equal (X.amax(0) == X.amin(0)).",
            ((_S_STD + _S_CONST, "        std = ((Xd - self.mean_) ** 2).mean(0).sqrt()         # (D,)\n"
                                 "        constant = std == 0\n"),),
            checks=_STANDARDIZER, catches=("standardizer_constant_feature",),
            why="the lecture's formula for the std written out, and the guard written on it: exact "
                "in real numbers, not in floating point"),
    Mistake("statistics refit in transform",
            "transform recomputed the statistics from the rows it was given; fit once, on the training "
            "split, and transform every split with those statistics (mean_ and scale_).",
            ((_S_TRANSFORM, "        self.fit(X)                                           # refit\n"
                            + _S_TRANSFORM),),
            checks=_STANDARDIZER, catches=("standardizer_train_statistics",),
            why="each split standardized on its own, the data leak the lecture warns about"),
    Mistake("Standardizer statistics in the input's dtype",
            "mean_ and scale_ were computed in X's dtype; compute them in float64 "
            "(X.to(torch.float64)): in float32 a feature around 10**4 with a spread of 0.01 loses its "
            "spread to the rounding of the mean.",
            ((_S_F64, "        Xd = X.detach()                                       # (N, D)\n"),),
            checks=_STANDARDIZER, catches=("standardizer_dtypes",),
            why="statistics kept in the data's dtype, as every layer of the topic does"),
    Mistake("inverse_transform adds the mean before scaling",
            "inverse_transform added mean_ before multiplying by scale_; undo transform's steps in "
            "reverse order: Z * scale_ + mean_.",
            ((_S_INVERSE, "        return ((Z.to(torch.float64) + self.mean_) * self.scale_).to(Z.dtype)\n"),),
            checks=_STANDARDIZER, catches=("standardizer_train_statistics",),
            why="transform's two steps undone in the order they were done"),

    # --------------------------------------------------------------- fold_batchnorm
    Mistake("fold without eps",
            "the folded scale left out eps: BatchNorm divides by sqrt(running_var + eps), eps inside "
            "the square root, so s = weight / sqrt(running_var + eps).",
            ((_F_SCALE, "        s = 1 / torch.sqrt(bn.running_var)                           # (out,)\n"),),
            checks=_FOLD, classic=True,
            why="the folding formula written from the paper's sigma, without the eps PyTorch adds"),
    Mistake("fold ignores the running mean",
            "the folded bias left out the running mean: b_folded = s * (b - running_mean) + bias.",
            ((_F_SHIFT, "        shift = s * b                                                # (out,)\n"),),
            checks=_FOLD, catches=("fold_batchnorm_matches_eval_batchnorm",),
            why="only the scale folded into the layer, the centring forgotten"),
    Mistake("fold leaves the Linear's bias unscaled",
            "the Linear's bias was added unscaled; BatchNorm scales the whole output of the Linear, its "
            "bias included: b_folded = s * (b - running_mean) + bias.",
            ((_F_SHIFT, "        shift = b - s * bn.running_mean                              # (out,)\n"),),
            checks=_FOLD, catches=("fold_batchnorm_matches_eval_batchnorm",),
            why="s * running_mean subtracted from the old bias, as if BatchNorm came before the bias"),
    Mistake("fold scales the weight's columns",
            "the weight was scaled along its columns (linear.weight * s multiplies input feature i by "
            "s[i]); BatchNorm scales output feature j, which is row j of the weight: s[:, None] * W.",
            ((_F_FILL, _F_FILL.replace("s[:, None] * linear.weight", "linear.weight * s")),),
            checks=_FOLD, catches=("fold_batchnorm_options",),
            why="broadcasting (out, in) * (out,) lines s up with the columns; it raises unless in == "
                "out, where it runs and is wrong"),
    Mistake("fold divides by the variance",
            "the folded scale divided by the variance; BatchNorm divides by the standard deviation, "
            "sqrt(running_var + eps).",
            ((_F_SCALE, "        s = 1 / (bn.running_var + bn.eps)                            # (out,)\n"),),
            checks=_FOLD, catches=("fold_batchnorm_matches_eval_batchnorm",),
            why="running_var read as if it were a standard deviation"),
    Mistake("folded Linear without a bias",
            "the folded Linear has no bias when the Linear had none; BatchNorm's shift, bias - s * "
            "running_mean, needs one: make the new Linear with bias=True.",
            ((_F_NEW, _F_NEW.replace("bias=True", "bias=linear.bias is not None")),
             ("        folded.bias.copy_(shift)\n",
              "        if folded.bias is not None:\n            folded.bias.copy_(shift)\n")),
            checks=_FOLD, catches=("fold_batchnorm_options",),
            why="the new layer copies the old one's configuration, bias=False included"),
    Mistake("fold changes the Linear in place",
            "fold_batchnorm scaled the Linear it was given in place and returned it; make a new "
            "nn.Linear and leave the caller's layers as they were.",
            ((_F_NEW + _F_FILL,
              "        linear.weight.mul_(s[:, None])                               # the caller's layer\n"
              "        if linear.bias is None:\n"
              "            linear.bias = nn.Parameter(torch.zeros_like(shift))\n"
              "        linear.bias.copy_(shift)\n"
              "    return linear\n"),),
            checks=_FOLD, catches=("fold_batchnorm_leaves_inputs_alone",),
            why="folding done in place, as deployment scripts do on a model they own"),
    Mistake("fold switches bn to eval mode",
            "fold_batchnorm switched bn to eval mode (bn.eval()), which changes the caller's model; "
            "read its running statistics as they are: the folded layer uses them whatever the mode.",
            ((_F_GUARD, "    bn.eval()                                                        # to be sure\n"
                        + _F_GUARD),),
            checks=_FOLD, catches=("fold_batchnorm_leaves_inputs_alone",),
            why="eval mode set to make sure the running statistics are meant"),

    # --------------------------------------------------------------- accumulated_gradients
    Mistake("micro-batch losses summed",
            "each micro-batch's mean loss was backpropagated as it is, so the gradients of the k "
            "micro-batches add up to about k times the batch's; weight each by its share of the rows, "
            "n_k / N (for equal micro-batches, divide by their number).",
            ((_A_LOSS, "        loss = loss_fn(model(xb), yb)\n"),),
            checks=_ACCUMULATE, classic=True,
            why="the forums' most common accumulation bug: the loss not divided by "
                "accumulation_steps"),
    Mistake("micro-batches weighted equally",
            "each micro-batch's mean loss was divided by the number of micro-batches, which weighs "
            "them all the same; when micro_batch does not divide N the last one is smaller and its "
            "rows count for more: weight each by n_k / N.",
            ((_A_LOSS, "        loss = loss_fn(model(xb), yb) / ((n + micro_batch - 1) // micro_batch)\n"),),
            checks=_ACCUMULATE, catches=("accumulated_gradients_layernorm_uneven",),
            why="loss / accumulation_steps, right only when every micro-batch is full"),
    Mistake("last partial micro-batch dropped",
            "the rows after the last full micro-batch were left out (as DataLoader's drop_last); "
            "every row counts, and the last micro-batch may be smaller.",
            ((_A_LOOP, "    for start in range(0, n - micro_batch + 1, micro_batch):\n"),),
            checks=_ACCUMULATE, catches=("accumulated_gradients_layernorm_uneven",),
            why="the loop bound written for full micro-batches only"),
    Mistake("batch in one forward pass",
            "the whole batch went through one forward pass; with BatchNorm in training mode each "
            "micro-batch is normalized with its own statistics, so split x into micro-batches of at "
            "most micro_batch rows.",
            ((_A_PASSES, "    loss_fn(model(x), y).backward()\n"),),
            checks=_ACCUMULATE, catches=("accumulated_gradients_batchnorm_train",),
            why="the full batch's gradient returned, equal to the accumulated one only without "
                "BatchNorm"),
    Mistake("old .grad added to the result",
            "the gradients were accumulated on top of the .grad the parameters already had; save each "
            ".grad and set it to None before the first backward.",
            ((_A_CLEAR, ""),),
            checks=_ACCUMULATE, catches=("accumulated_gradients_restores_grad",),
            why="zero_grad forgotten, as in a training loop's first bug"),
    Mistake(".grad left holding the result",
            "the parameters' .grad were left holding the accumulated gradient; put back what they held "
            "before (None stays None).",
            ((_A_RESTORE, ""),),
            checks=_ACCUMULATE, catches=("accumulated_gradients_restores_grad",),
            why="the gradients read from .grad and left there"),
    Mistake(".grad cleared afterwards",
            "the parameters' .grad were cleared after the accumulation (zero_grad); a .grad that held "
            "a tensor must hold it again, with its values.",
            ((_A_RESTORE, "    model.zero_grad()\n"),),
            checks=_ACCUMULATE, catches=("accumulated_gradients_restores_grad",),
            why="tidying up with zero_grad, which loses the caller's gradients"),
    Mistake("model switched to training mode",
            "accumulated_gradients changed the model's mode (model.train()); use the model in the mode "
            "it is in.",
            ((_A_PARAMS, "    model.train()\n" + _A_PARAMS),),
            checks=_ACCUMULATE, catches=("accumulated_gradients_restores_grad",),
            why="model.train() at the top of every function that computes gradients"),
]

BUGS += [
    Bug("st-transform-float64", T,
        ((_S_TRANSFORM, "        return (X.to(torch.float64) - self.mean_) / self.scale_\n"),),
        catches=("standardizer_dtypes",),
        why="the float64 result of the computation returned as it is"),
    Bug("st-statistics-per-row", T,
        ((_S_MEAN + _S_STD + _S_CONST,
          "        self.mean_ = Xd.mean(1)                               # per sample\n"
          "        std = Xd.std(1, correction=0)\n"
          "        constant = (Xd == Xd[:, :1]).all(1)\n"),),
        catches=("standardizer_fit_transform",),
        why="each sample normalized over its features, LayerNorm's axis instead of the features'"),
    Bug("st-transform-recomputes-locally", T,
        ((_S_TRANSFORM,
          "        Xd = X.to(torch.float64)\n"
          "        return ((Xd - Xd.mean(0)) / Xd.std(0, correction=0)).to(X.dtype)\n"),),
        catches=("standardizer_train_statistics",),
        why="transform written as a fresh standardization of its input"),
    Bug("fold-affine-false-crashes", T,
        ((_F_WEIGHT, "        s = s * bn.weight\n"),),
        catches=("fold_batchnorm_options",),
        why="weight assumed present: an affine=False BatchNorm's None multiplies nothing"),
    Bug("fold-default-dtype", T,
        ((_F_NEW, "        folded = nn.Linear(linear.in_features, linear.out_features, bias=True)\n"),),
        catches=("fold_batchnorm_matches_eval_batchnorm",),
        why="the new layer made with the default dtype and device: float32 on the CPU"),
    Bug("fold-fusion-builtin", T,
        ((_F_GUARD, "    from torch.nn.utils.fusion import fuse_linear_bn_eval\n"
                    "    return fuse_linear_bn_eval(linear.eval(), bn.eval())\n" + _F_GUARD),),
        catches=("fold_batchnorm_matches_eval_batchnorm",),
        why="PyTorch's own folding, which the topic forbids (and which changes both modes)"),
    Bug("accum-weights-by-micro-batch", T,
        ((_A_LOSS, "        loss = loss_fn(model(xb), yb) * (micro_batch / n)\n"),),
        catches=("accumulated_gradients_layernorm_uneven",),
        why="every micro-batch weighted as if full"),
]

VARIANTS += [
    Correct("st-std-mean-amax-amin", T,
            ((_S_F64 + _S_MEAN + _S_STD + _S_CONST + _S_WHERE,
              "        Xd = X.double()\n"
              "        std, self.mean_ = torch.std_mean(Xd, dim=0, correction=0)\n"
              "        self.scale_ = torch.where(Xd.amax(0) == Xd.amin(0), 1.0, std)\n"),),
            why="torch.std_mean, and a constant feature found as max == min"),
    Correct("st-reciprocal-addcmul", T,
            ((_S_TRANSFORM, "        return ((X.double() - self.mean_) * self.scale_.reciprocal()).to(X.dtype)\n"),
             (_S_INVERSE, "        return torch.addcmul(self.mean_, Z.double(), self.scale_).to(Z.dtype)\n")),
            why="multiplication by 1 / scale_, and inverse_transform as one addcmul"),
    Correct("fold-rsqrt-diag-state-dict", T,
            ((_F_BODY,
              "    ones = torch.ones_like(bn.running_var)\n"
              "    gamma = bn.weight if bn.weight is not None else ones\n"
              "    beta = bn.bias if bn.bias is not None else torch.zeros_like(ones)\n"
              "    b = linear.bias if linear.bias is not None else torch.zeros_like(ones)\n"
              "    s = (gamma * torch.rsqrt(bn.running_var + bn.eps)).detach()\n"
              "    folded = nn.Linear(linear.in_features, linear.out_features,\n"
              "                       device=linear.weight.device, dtype=linear.weight.dtype)\n"
              "    folded.load_state_dict({\"weight\": torch.diag(s) @ linear.weight.detach(),\n"
              "                            \"bias\": ((b - bn.running_mean) * s + beta).detach()})\n"
              "    return folded\n"),),
            why="rsqrt, diag(s) @ W, and the new layer filled with load_state_dict"),
    Correct("fold-deepcopy", T,
            ((_F_NEW + _F_FILL,
              "        import copy\n"
              "        folded = copy.deepcopy(linear)                     # a copy: linear stays as it is\n"
              "        folded.weight.mul_(s.unsqueeze(1))\n"
              "        if folded.bias is None:\n"
              "            folded.bias = nn.Parameter(torch.empty_like(shift))\n"
              "        folded.bias.copy_(shift)\n"
              "    return folded\n"),),
            why="a deep copy of the Linear scaled in place, as torch.nn.utils.fusion does"),
    Correct("accum-autograd-grad", T,
            ((_A_BODY,
              "    params = {name: p for name, p in model.named_parameters() if p.requires_grad}\n"
              "    total = {name: torch.zeros_like(p) for name, p in params.items()}\n"
              "    for xb, yb in zip(x.split(micro_batch), y.split(micro_batch)):\n"
              "        loss = loss_fn(model(xb), yb) * (len(xb) / len(x))\n"
              "        grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)\n"
              "        for name, g in zip(params, grads):\n"
              "            if g is not None:\n"
              "                total[name] += g\n"
              "    return total\n"),),
            why="torch.autograd.grad per micro-batch, summed by hand: .grad never touched"),
    Correct("accum-zero-grad-split", T,
            ((_A_BODY,
              "    named = [(k, p) for k, p in model.named_parameters() if p.requires_grad]\n"
              "    saved = [p.grad for _, p in named]\n"
              "    model.zero_grad(set_to_none=True)\n"
              "    for xb, yb in zip(torch.split(x, micro_batch), torch.split(y, micro_batch)):\n"
              "        (loss_fn(model(xb), yb) * len(xb) / len(x)).backward()\n"
              "    grads = {k: torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()\n"
              "             for k, p in named}\n"
              "    for (_, p), g in zip(named, saved):\n"
              "        p.grad = g\n"
              "    return grads\n"),),
            why="model.zero_grad(), torch.split into micro-batches, clones of the results"),
]
