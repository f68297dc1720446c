"""Known student bugs and correct variants for normalization (see autograder/audit.py).

Sources for the misconceptions: CS231n assignment 2 (batchnorm_forward/backward,
spatial_batchnorm), CMU 10-714 hw2 (needle's BatchNorm1d/LayerNorm1d), CMU 11-785
hw1 (MyTorch BatchNorm1d), d2l.ai chapter "Batch Normalization" and the PyTorch
forum threads on running statistics ("running_var unbiased?", "BatchNorm
momentum convention", "num_batches_tracked").
"""
from autograder.audit import Bug, Trivial, Variant

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
    Bug("bn-biased-running-var", T,
        (("var_unbiased = var * n / (n - 1)", "var_unbiased = var"),),
        catches=("batch_norm_train_2d", "batch_norm_running_stats_five_steps"),
        named="biased running_var",
        why="CS231n's and d2l's batchnorm keep the biased variance in the running average"),
    Bug("bn-momentum-reversed", T,
        ((UPDATE,
          "                running_mean.copy_(momentum * running_mean + (1 - momentum) * mean)\n"
          "                running_var.copy_(momentum * running_var + (1 - momentum) * var_unbiased)\n"),),
        catches=("batch_norm_train_2d", "batch_norm_running_stats_five_steps"),
        named="momentum reversed",
        why="CS231n and 11-785 write running = m * running + (1 - m) * batch with m = 0.9; "
            "PyTorch's momentum weighs the new batch"),
    Bug("bn-eps-outside-sqrt", T,
        (("/ torch.sqrt(var.reshape(shape) + eps)", "/ (torch.sqrt(var.reshape(shape)) + eps)"),),
        catches=("batch_norm_eps",),
        named="eps outside sqrt",
        why="eps added to the standard deviation as in Adam's denominator (forum: 'where does eps go')"),
    Bug("bn-unbiased-variance-to-normalize", T,
        (("x.var(dims, correction=0)", "x.var(dims)"),
         ("var_unbiased = var * n / (n - 1)", "var_unbiased = var")),
        catches=("batch_norm_train_2d", "batch_norm_train_4d"),
        named="unbiased variance to normalize",
        why="torch.var / Tensor.var default to the unbiased estimator; students call x.var(dims) "
            "and use it for both the output and the running estimate"),
    Bug("bn-n-counts-batch-only", T,
        (("n = x.numel() // x.shape[1]                     # values per channel",
          "n = x.shape[0]                                  # BUG: N, not N * L"),),
        catches=("batch_norm_train_3d_float64", "batch_norm_running_stats_five_steps"),
        named="n counts the batch only",
        why="the Bessel factor n / (n - 1) with n = batch size, carried over from (N, C) code "
            "to (N, C, L) and (N, C, H, W) (CS231n spatial batchnorm ports)"),
    Bug("bn-running-var-init-zero", T,
        (("            self.register_buffer(\"running_var\",\n"
          "                                 torch.ones(num_features, device=device, dtype=dtype))",
          "            self.register_buffer(\"running_var\",\n"
          "                                 torch.zeros(num_features, device=device, dtype=dtype))"),),
        catches=("batchnorm1d_train_steps_state_dict",),
        named="running_var initialised to 0",
        why="CS231n's batchnorm_forward initialises running_var with np.zeros"),

    # --------------------------------------------------------------- order of operations
    Bug("bn-bias-before-scale", T,
        ((AFFINE,
          "    if bias is not None:\n"
          "        out = out + bias.reshape(shape)\n"
          "    if weight is not None:\n"
          "        out = out * weight.reshape(shape)\n"),),
        catches=("batch_norm_train_3d_float64", "batch_norm_train_4d"),
        named="bias added before the scale",
        why="gamma * (x_hat + beta) instead of gamma * x_hat + beta: the order of the affine step"),

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
    Bug("bn-running-stats-rebound", T,
        ((UPDATE,
          "                running_mean = (1 - momentum) * running_mean + momentum * mean\n"
          "                running_var = (1 - momentum) * running_var + momentum * var_unbiased\n"),),
        catches=("batch_norm_train_2d", "batchnorm1d_train_steps_state_dict"),
        named="running statistics not updated in place",
        why="assigning to the local name instead of copy_: the numpy habit (CS231n keeps them in "
            "bn_param and writes bn_param['running_mean'] = ...)"),
    Bug("bn-running-stats-replaced", T,
        ((UPDATE,
          "                running_mean.copy_(mean)\n"
          "                running_var.copy_(var_unbiased)\n"),),
        catches=("batch_norm_train_2d", "batch_norm_running_stats_five_steps"),
        named="running statistics replaced",
        why="running statistics overwritten by the last batch's, no moving average"),
    Bug("bn-updates-in-eval", T,
        ((EVAL_STATS,
          "        mean, var = running_mean.clone(), running_var.clone()\n"
          "        with torch.no_grad():                       # BUG: eval must change nothing\n"
          "            running_mean.copy_((1 - momentum) * running_mean + momentum * x.mean(dims))\n"
          "            running_var.copy_((1 - momentum) * running_var + momentum * x.var(dims))\n"),),
        catches=("batch_norm_eval_uses_running_stats",),
        named="running statistics updated in eval mode",
        why="the update written outside the `if training` branch"),
    Bug("bn-module-counter-not-incremented", T,
        ((COUNT, ""),),
        catches=("batchnorm1d_train_steps_state_dict", "batchnorm1d_momentum_none"),
        named="num_batches_tracked not incremented",
        why="num_batches_tracked registered but never incremented (needle and CS231n have no counter)"),
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
    Bug("ln-last-dim-only", T,
        (("dims = list(range(-len(normalized_shape), 0))", "dims = [-1]"),),
        catches=("layer_norm_tuple_shape", "layernorm_module"),
        named="layer_norm over last dim only",
        why="needle's LayerNorm1d and most tutorials normalize over dim -1 only"),
    Bug("ln-unbiased-variance", T,
        (("var = x.var(dims, correction=0, keepdim=True)", "var = x.var(dims, keepdim=True)"),),
        catches=("layer_norm_last_dim", "layer_norm_tuple_shape"),
        named="layer_norm unbiased variance",
        why="Tensor.var defaults to the unbiased estimator"),
    Bug("ln-every-non-batch-dim", T,
        (("dims = list(range(-len(normalized_shape), 0))", "dims = list(range(1, x.dim()))"),),
        catches=("layer_norm_last_dim",),
        named="layer_norm over every non-batch dim",
        why="'LayerNorm normalizes each sample' read as every dim but the batch; right for "
            "(N, D) inputs, wrong for (N, T, D) sequences"),
    Bug("ln-statistics-through-data", T,
        ((LN_STATS,
          "    mean = x.data.mean(dims, keepdim=True)          # BUG: .data cuts the graph\n"
          "    var = x.data.var(dims, correction=0, keepdim=True)\n"),),
        catches=("layer_norm_backward",),
        named="layer_norm statistics detached",
        why="x.data used for the statistics (old PyTorch tutorials): no gradient through them"),

    # --------------------------------------------------------------- BatchNormFunction
    Bug("bnf-backward-mean-term-only", T,
        ((DX, "dx = (g - g.mean(0)) / sigma"),),
        catches=("batchnorm_function_backward", "batchnorm_function_without_affine"),
        named="backward drops the variance term",
        why="CS231n batchnorm_backward: the path through the variance forgotten"),
    Bug("bnf-backward-forgets-weight", T,
        (("g = dout if weight is None else dout * weight     # (N, C)", "g = dout"),),
        catches=("batchnorm_function_backward",),
        named="backward forgets the weight",
        why="dx_hat = dout instead of dout * gamma"),
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
    Bug("bn-counter-in-dtype", T,
        (("torch.tensor(0, device=device, dtype=torch.long)", "torch.tensor(0, device=device, dtype=dtype)"),),
        catches=("norm_modules_factory_kwargs",),
        named="num_batches_tracked in the constructor's dtype",
        why="device= and dtype= passed to every tensor the constructor makes, the counter included"),
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
    Bug("bnf-no-one-value-check", T,
        (("        if x.shape[0] == 1:\n"
          "            raise ValueError(\"Expected more than 1 value per channel when training, \"\n"
          "                             f\"got input size {x.size()}\")\n", ""),),
        catches=("batchnorm_function_batch_of_one",),
        named="BatchNormFunction accepts a batch of one",
        why="the edge case of batch_norm not carried over to the hand-written Function"),
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
    Variant("bn-hand-written-two-pass", T,
            (("var = x.var(dims, correction=0)", "var = ((x - x.mean(dims, keepdim=True)) ** 2).mean(dims)"),),
            why="variance written out by hand instead of torch.var"),
    Variant("bn-one-pass-in-float64", T,
            ((STATS,
              "        xd = x.double()\n"
              "        mean = xd.mean(dims)\n"
              "        var = ((xd * xd).mean(dims) - mean * mean).to(x.dtype)\n"
              "        mean = mean.to(x.dtype)\n"),),
            why="E[x^2] - E[x]^2, computed in float64 and cast back"),
    Variant("bn-var-mean", T,
            ((STATS, "        var, mean = torch.var_mean(x, dims, correction=0)\n"),),
            why="torch.var_mean in one call"),
    Variant("bn-channel-loop-stack", T,
            ((STATS,
              "        xc = [x.select(1, c) for c in range(x.shape[1])]\n"
              "        mean = torch.stack([v.mean() for v in xc])\n"
              "        var = torch.stack([((v - v.mean()) ** 2).sum() / v.numel() for v in xc])\n"),),
            why="a loop over channels, statistics stacked (dtype and device follow x)"),
    Variant("bn-rsqrt-folded-affine", T,
            ((NORMALIZE + AFFINE,
              "    scale = torch.rsqrt(var.reshape(shape) + eps)\n"
              "    if weight is not None:\n"
              "        scale = scale * weight.reshape(shape)\n"
              "    out = x * scale - mean.reshape(shape) * scale\n"
              "    if bias is not None:\n"
              "        out = out + bias.reshape(shape)\n"),),
            why="multiply by rsqrt, weight folded into the scale, x * scale - mean * scale"),
    Variant("bn-lerp-update-recomputed-unbiased", T,
            ((UPDATE,
              "                running_mean.lerp_(mean, momentum)\n"
              "                running_var.lerp_(x.var(dims), momentum)\n"),),
            why="in-place lerp_, and the unbiased variance recomputed with torch.var"),
    Variant("bn-module-item-counter", T,
            ((COUNT + "            if momentum is None:                                 # cumulative average:\n"
              "                " + CUMULATIVE + "\n",
              "            self.num_batches_tracked += 1\n"
              "            if self.momentum is None:\n"
              "                momentum = 1.0 / self.num_batches_tracked.item()\n"
              "            else:\n"
              "                momentum = self.momentum\n"),),
            why="the counter incremented with += and read with .item(), as in torch's _BatchNorm"),
    Variant("ln-flattened", T,
            ((LN_STATS + LN_NORMALIZE,
              "    flat = x.reshape(*x.shape[:x.dim() - len(normalized_shape)], -1)\n"
              "    mu = flat.mean(-1, keepdim=True)\n"
              "    sd = torch.sqrt(flat.var(-1, unbiased=False, keepdim=True) + eps)\n"
              "    out = ((flat - mu) / sd).reshape(x.shape)\n"),),
            why="the normalized dims flattened into one, statistics over it"),
    Variant("bn-float32-inside", T,
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
    Variant("ln-float32-inside", T,
            ((LN_DIMS,
              "    if x.dtype in (torch.float16, torch.bfloat16):   # compute in float32, as autocast\n"
              "        f32 = lambda t: None if t is None else t.float()\n"
              "        return layer_norm(x.float(), normalized_shape, f32(weight), f32(bias), eps).to(x.dtype)\n"
              + LN_DIMS),),
            why="16-bit inputs normalized in float32 (what autocast does for layer_norm), rounded once"),
    Variant("bnf-cs231n-backward", T,
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
