"""Known student bugs and correct variants for optimizers (see autograder/audit.py).

Sources for the misconceptions: CS231n assignment 2 (optim.py: sgd_momentum with
`v = mu * v - lr * dw` and a zero velocity, rmsprop, adam with `config["t"]`),
CMU 10-714 hw2 (needle's SGD/Adam: `self.t`, `self.u[p]`, weight decay on the
gradient), d2l.ai chapters "Momentum", "RMSProp", "Adam" (`states` zero-initialised,
`hyperparams["t"]` shared by all parameters), Loshchilov & Hutter "Decoupled Weight
Decay Regularization", and the PyTorch forum threads "Adam epsilon inside sqrt?",
"SGD dampening first step", "leaf Variable that requires grad is being used in an
in-place operation", "optimizer ignores lr scheduler" and "param_groups with
different learning rates".
"""
from autograder.audit import Bug, Trivial, Variant

T = "optimizers"

# ----------------------------------------------------------------------------- reference snippets
SGD_FIRST = ("                    if \"momentum_buffer\" not in state:\n"
             "                        buf = g.clone()                       # first step: no dampening\n"
             "                        state[\"momentum_buffer\"] = buf\n"
             "                    else:\n"
             "                        buf = state[\"momentum_buffer\"]\n"
             "                        buf.mul_(momentum).add_(g, alpha=1 - dampening)\n")
SGD_NESTEROV = ("                    if group[\"nesterov\"]:\n"
                "                        g = g + momentum * buf\n"
                "                    else:\n"
                "                        g = buf\n")
SGD_UPDATE = "                p.add_(g, alpha=-lr)                          # p = p - lr * g\n"
SGD_DECAY = "                    g = g + weight_decay * p                  # new tensor; p.grad untouched\n"
SGD_HYPER = "            lr, momentum = group[\"lr\"], group[\"momentum\"]\n"
SGD_DEFAULTS = "        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,\n"
SGD_NO_GRAD = ("                        weight_decay=weight_decay, nesterov=nesterov)\n"
               "        super().__init__(params, defaults)\n"
               "\n"
               "    @torch.no_grad()\n")
SGD_GRAD_NONE = ("                if p.grad is None:\n"
                 "                    continue\n"
                 "                g = p.grad\n"
                 "                if weight_decay != 0:\n"
                 "                    g = g + weight_decay * p                  # new tensor; p.grad untouched\n")

RMS_STATE = ("                state = self.state[p]\n"
             "                if len(state) == 0:                           # p's first step\n"
             "                    state[\"step\"] = torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch\n"
             "                    state[\"square_avg\"] = torch.zeros_like(p)\n")
RMS_V = "v.mul_(alpha).addcmul_(g, g, value=1 - alpha)"
RMS_AVG = "                    avg = v.sqrt() + eps\n"
RMS_DECAY = ("                if weight_decay != 0:\n"
             "                    g = g + weight_decay * p\n"
             "                v = state[\"square_avg\"]\n")
RMS_UPDATE = "                    p.add_(g / avg, alpha=-lr)\n"

ADAM_HEAD = ("        # BEGIN SOLUTION Task 2.6\n"
             "        for group in self.param_groups:\n"
             "            lr, (beta1, beta2), eps = group[\"lr\"], group[\"betas\"], group[\"eps\"]\n")
ADAM_STATE = ("                if p.grad is None:\n"
              "                    continue\n"
              "                state = self.state[p]\n"
              "                if len(state) == 0:                           # p's first step\n"
              "                    state[\"step\"] = torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch\n"
              "                    state[\"exp_avg\"] = torch.zeros_like(p)\n"
              "                    state[\"exp_avg_sq\"] = torch.zeros_like(p)\n"
              "                    if group[\"amsgrad\"]:\n"
              "                        state[\"max_exp_avg_sq\"] = torch.zeros_like(p)\n"
              "                state[\"step\"] += 1\n"
              "                t = float(state[\"step\"])                      # CPU scalar: no device sync\n")
ADAM_DECAY = ("                if weight_decay != 0:\n"
              "                    g = g + weight_decay * p\n"
              "                m, v = state[\"exp_avg\"], state[\"exp_avg_sq\"]\n")
ADAM_TAIL = ("                m_hat = m / (1 - beta1 ** t)\n"
             "                if group[\"amsgrad\"]:\n"
             "                    v_max = state[\"max_exp_avg_sq\"]\n"
             "                    torch.maximum(v_max, v, out=v_max)        # max of the raw v\n"
             "                    v_hat = v_max / (1 - beta2 ** t)\n"
             "                else:\n"
             "                    v_hat = v / (1 - beta2 ** t)\n"
             "                p.add_(m_hat / (v_hat.sqrt() + eps), alpha=-lr)\n"
             "        # END SOLUTION\n"
             "        return loss\n"
             "\n"
             "\n"
             "class AdamW")
ADAM_UPDATE = ("                p.add_(m_hat / (v_hat.sqrt() + eps), alpha=-lr)\n"
               "        # END SOLUTION\n"
               "        return loss\n"
               "\n"
               "\n"
               "class AdamW")

ADAMW_DECAY = "                p.mul_(1 - lr * weight_decay)                 # decoupled decay, first\n"
ADAMW_BODY = ("        # BEGIN SOLUTION Task 2.8\n"
              "        for group in self.param_groups:\n"
              "            lr, (beta1, beta2), eps = group[\"lr\"], group[\"betas\"], group[\"eps\"]\n"
              "            weight_decay = group[\"weight_decay\"]\n"
              "            for p in group[\"params\"]:\n"
              "                if p.grad is None:\n"
              "                    continue\n"
              "                state = self.state[p]\n"
              "                if len(state) == 0:\n"
              "                    state[\"step\"] = torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch\n"
              "                    state[\"exp_avg\"] = torch.zeros_like(p)\n"
              "                    state[\"exp_avg_sq\"] = torch.zeros_like(p)\n"
              "                    if group[\"amsgrad\"]:\n"
              "                        state[\"max_exp_avg_sq\"] = torch.zeros_like(p)\n"
              "                state[\"step\"] += 1\n"
              "                t = float(state[\"step\"])\n"
              "\n"
              "                p.mul_(1 - lr * weight_decay)                 # decoupled decay, first\n"
              "                g = p.grad\n"
              "                m, v = state[\"exp_avg\"], state[\"exp_avg_sq\"]\n"
              "                m.mul_(beta1).add_(g, alpha=1 - beta1)\n"
              "                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)\n"
              "                m_hat = m / (1 - beta1 ** t)\n"
              "                if group[\"amsgrad\"]:\n"
              "                    v_max = state[\"max_exp_avg_sq\"]\n"
              "                    torch.maximum(v_max, v, out=v_max)\n"
              "                    v_hat = v_max / (1 - beta2 ** t)\n"
              "                else:\n"
              "                    v_hat = v / (1 - beta2 ** t)\n"
              "                p.add_(m_hat / (v_hat.sqrt() + eps), alpha=-lr)\n"
              "        # END SOLUTION\n")

BUGS = [
    # --------------------------------------------------------------- SGD: conventions
    Bug("sgd-zero-init-buffer", T,
        ((SGD_FIRST,
          "                    if \"momentum_buffer\" not in state:\n"
          "                        state[\"momentum_buffer\"] = torch.zeros_like(p)\n"
          "                    buf = state[\"momentum_buffer\"]\n"
          "                    buf.mul_(momentum).add_(g, alpha=1 - dampening)\n"),),
        catches=("sgd_dampening",),
        named="sgd dampened first step",
        why="CS231n's sgd_momentum starts the velocity at np.zeros_like(w) and d2l's "
            "init_momentum_states at zeros; with dampening the first step is then (1 - tau) g"),
    Bug("sgd-dampening-on-first-step", T,
        (("buf = g.clone()                       # first step: no dampening",
          "buf = (1 - dampening) * g.clone()"),),
        catches=("sgd_dampening",),
        named="sgd dampened first step",
        why="the textbook buf = mu buf + (1 - tau) g applied from the first step on "
            "(forum: 'SGD dampening first step', PyTorch issue on dampening)"),
    Bug("sgd-nesterov-ignored", T,
        ((SGD_NESTEROV, "                    g = buf\n"),),
        catches=("sgd_nesterov",),
        named="sgd nesterov ignored",
        why="nesterov is accepted and validated in __init__ but never used in step()"),
    Bug("sgd-nesterov-terms-swapped", T,
        (("                        g = g + momentum * buf\n",
          "                        g = buf + momentum * g\n"),),
        catches=("sgd_nesterov",),
        named="sgd nesterov terms swapped",
        why="Nesterov written as 'velocity plus a look-ahead on the gradient' instead of "
            "g + mu * buf (Sutskever's form as PyTorch writes it)"),
    Bug("sgd-lr-inside-buffer", T,
        (("buf = g.clone()                       # first step: no dampening", "buf = lr * g"),
         ("buf.mul_(momentum).add_(g, alpha=1 - dampening)",
          "buf.mul_(momentum).add_(g, alpha=lr * (1 - dampening))"),
         (SGD_NESTEROV + SGD_UPDATE,
          "                    if group[\"nesterov\"]:\n"
          "                        p.add_(lr * g + momentum * buf, alpha=-1)\n"
          "                    else:\n"
          "                        p.sub_(buf)                           # CS231n: w += v\n"
          "                    continue\n" + SGD_UPDATE)),
        catches=("sgd_lr_change",),
        named="sgd lr inside the buffer",
        why="CS231n's v = mu * v - lr * dw; w += v: the same steps while lr is constant, but "
            "old velocity keeps the old lr after a schedule changes it (Sutskever vs PyTorch form)"),
    Bug("sgd-weight-decay-after-momentum", T,
        ((SGD_DECAY, "                    pass\n"),
         (SGD_UPDATE, "                p.add_(g + weight_decay * p, alpha=-lr)\n")),
        catches=("sgd_weight_decay",),
        named="sgd weight decay after momentum",
        why="weight decay added to the final update instead of the gradient, so it never "
            "enters the momentum buffer (d2l 'weight decay' added outside the optimizer)"),
    Bug("sgd-decay-from-updated-param", T,
        ((SGD_DECAY, "                    pass\n"),
         (SGD_UPDATE, SGD_UPDATE + "                p.add_(p, alpha=-lr * weight_decay)   # then shrink\n")),
        catches=("sgd_weight_decay",),
        named="weight decay from the updated parameter",
        why="decay applied as a separate shrink after the step, so it uses the updated "
            "parameter and skips momentum"),
    Bug("sgd-grad-modified-in-place", T,
        ((SGD_DECAY, "                    g = g.add_(p, alpha=weight_decay)\n"),),
        catches=("grad_left_unchanged",),
        named="p.grad modified in place",
        why="g = p.grad is an alias: g.add_(...) writes weight decay into p.grad (CS231n's "
            "numpy code, where dw += reg * w is the norm, carried over to tensors)"),
    Bug("sgd-lr-read-once-in-init", T,
        ((SGD_DEFAULTS, "        self.lr, self.momentum = lr, momentum\n" + SGD_DEFAULTS),
         (SGD_HYPER, "            lr, momentum = self.lr, self.momentum\n")),
        catches=("sgd_plain", "sgd_lr_change"),
        named="hyperparameters from defaults",
        why="needle's SGD stores self.lr in __init__; group lrs and schedulers that change "
            "param_groups[i]['lr'] are then ignored (forum: 'optimizer ignores lr scheduler')"),
    Bug("sgd-grad-none-not-skipped", T,
        ((SGD_GRAD_NONE,
          "                g = p.grad if p.grad is not None else torch.zeros_like(p)\n"
          "                if weight_decay != 0:\n"
          "                    g = g + weight_decay * p                  # new tensor; p.grad untouched\n"),),
        catches=("grad_none_skipped", "sgd_weight_decay"),
        named="grad-None parameters updated",
        why="a missing gradient treated as zero: frozen parameters still decay and get a "
            "momentum buffer (forum: 'frozen layers still change with weight decay')"),
    Bug("sgd-nesterov-raw-grad", T,
        (("                        g = g + momentum * buf\n",
          "                        g = p.grad + momentum * buf\n"),),
        catches=("sgd_nesterov_weight_decay",),
        named="sgd nesterov without the decay",
        why="the look-ahead written from p.grad, as in the formula without weight decay: the "
            "decay enters the buffer but not the Nesterov term"),
    Bug("sgd-buffer-in-float64", T,
        (("buf = g.clone()                       # first step: no dampening",
          "buf = g.clone().double()              # 'for accuracy'"),),
        catches=("optim_float32",),
        named="sgd momentum_buffer in float64",
        why="the momentum buffer kept in float64 'for accuracy' (float64 parameters hide it): "
            "state no longer in p's dtype, and the float32 steps round differently"),
    Bug("sgd-zero-grad-skipped", T,
        ((SGD_GRAD_NONE, SGD_GRAD_NONE.replace("if p.grad is None:",
                                               "if p.grad is None or not p.grad.any():")),),
        catches=("optim_zero_grad_keeps_tensors",),
        named="SGDMomentum skips zero gradients",
        why="'no gradient' read as 'a zero gradient': after zero_grad(set_to_none=False) the "
            "parameter stops although momentum should keep moving it"),
    Bug("sgd-return-in-region", T,
        ((SGD_UPDATE, SGD_UPDATE + "        return\n"),),
        catches=("optim_step_with_closure",),
        named="SGDMomentum closure loss dropped",
        why="a bare return at the end of the student's region makes the given `return loss` "
            "unreachable: step(closure) returns None"),
    # --------------------------------------------------------------- SGD: autograd and updates
    Bug("sgd-step-without-no-grad", T,
        ((SGD_NO_GRAD, SGD_NO_GRAD.replace("    @torch.no_grad()\n", "")),),
        catches=("sgd_plain", "sgd_momentum"),
        why="step() written without torch.no_grad(): p.add_ on a leaf that requires grad raises "
            "'a leaf Variable that requires grad is being used in an in-place operation'"),
    Bug("sgd-no-grad-missing-data-update", T,
        ((SGD_NO_GRAD, SGD_NO_GRAD.replace("    @torch.no_grad()\n", "")),
         (SGD_UPDATE, "                p.data.add_(g, alpha=-lr)\n")),
        catches=("step_builds_no_graph",),
        named="step records an autograd graph",
        why="the usual 'fix' for the leaf in-place error (forum threads): p.data.add_ without "
            "no_grad; with weight decay, g = p.grad + wd * p is recorded and every momentum "
            "buffer drags the graph of all earlier steps along"),
    Bug("sgd-rebinds-p", T,
        ((SGD_UPDATE, "                p = p - lr * g\n"),),
        catches=("sgd_plain", "sgd_momentum"),
        named="parameter rebound, not updated",
        why="p = p - lr * g makes a new tensor and rebinds the loop variable; the parameter "
            "the model holds never changes (CS231n's numpy habit w -= ... written as w = w - ...)"),
    # --------------------------------------------------------------- RMSProp
    Bug("rmsprop-eps-inside-sqrt", T,
        ((RMS_AVG, "                    avg = (v + eps).sqrt()\n"),),
        catches=("rmsprop_small_gradients",),
        named="rmsprop eps inside sqrt",
        why="TensorFlow's and Hinton's slides' sqrt(v + eps); torch.optim.RMSprop adds eps "
            "after the square root (its docstring notes the difference)"),
    Bug("rmsprop-alpha-as-one-minus-alpha", T,
        ((RMS_V, "v.mul_(1 - alpha).addcmul_(g, g, value=alpha)"),),
        catches=("rmsprop_plain",),
        named="rmsprop alpha reversed",
        why="alpha read as the weight of the new g**2 (decay_rate conventions differ between "
            "CS231n's rmsprop, Keras' rho and PyTorch's alpha)"),
    Bug("rmsprop-centered-without-mean", T,
        (("avg = (v - gm * gm).sqrt() + eps", "avg = v.sqrt() + eps"),),
        catches=("rmsprop_centered",),
        named="rmsprop centered without the mean",
        why="grad_avg kept up to date but never subtracted (Graves 2013's centered form)"),
    Bug("rmsprop-bias-corrected", T,
        ((RMS_AVG, "                    avg = (v / (1 - alpha ** float(state[\"step\"]))).sqrt() + eps\n"),),
        catches=("rmsprop_plain",),
        named="rmsprop bias-corrected",
        why="Adam's bias correction carried over to RMSProp, which has none (its first "
            "steps are large on purpose: ~10 lr per element)"),
    Bug("rmsprop-state-in-one-dict", T,
        ((RMS_STATE, RMS_STATE.replace("self.state[p]", "self.state[\"rmsprop\"]")),),
        catches=("rmsprop_plain",),
        why="all parameters share one state entry (a single square_avg): d2l-style "
            "states=(s_w, s_b) generalised wrongly; shapes clash from the second parameter"),
    Bug("rmsprop-decay-outside-scaling", T,
        ((RMS_DECAY, "                v = state[\"square_avg\"]\n"),
         (RMS_UPDATE, "                    p.add_(g / avg + weight_decay * p, alpha=-lr)\n")),
        catches=("rmsprop_weight_decay",),
        named="rmsprop decay after the scaling",
        why="weight decay added to the update after the 1/sqrt(v) scaling (AdamW's idea "
            "applied to RMSProp); torch.optim.RMSprop adds it to g before square_avg"),
    Bug("rmsprop-eps-literal", T,
        ((RMS_AVG, "                    avg = v.sqrt() + 1e-8\n"),),
        catches=("adaptive_custom_eps_betas",),
        named="rmsprop eps written as a number",
        why="eps written as the default 1e-8 (CS231n's rmsprop hard-codes its eps in config "
            "defaults): a group's own eps is ignored"),
    Bug("rmsprop-lr-inside-buffer", T,
        (("b.mul_(momentum).add_(g / avg)             # b = momentum b + g / avg\n"
          "                    p.add_(b, alpha=-lr)",
          "b.mul_(momentum).add_(g / avg, alpha=lr)\n                    p.sub_(b)"),),
        catches=("rmsprop_lr_change",),
        named="rmsprop lr inside the buffer",
        why="CS231n's velocity form v = mu v - lr g carried over to RMSProp's momentum: the old "
            "buffer keeps the old lr after a schedule changes it (momentum_buffer also holds lr)"),
    Bug("rmsprop-partial-validation", T,
        (("        if momentum < 0.0:\n            raise ValueError(f\"Invalid momentum value: {momentum}\")\n"
          "        if weight_decay < 0.0:\n            raise ValueError(f\"Invalid weight_decay value: {weight_decay}\")\n"
          "        if alpha < 0.0:",
          "        if alpha < 0.0:"),),
        catches=("rmsprop_invalid_momentum_weight_decay",),
        named="rmsprop momentum and weight_decay not validated",
        why="only the arguments CS231n's rmsprop has (lr, decay rate, eps) validated"),
    Bug("rmsprop-state-in-float64", T,
        (("state[\"square_avg\"] = torch.zeros_like(p)",
          "state[\"square_avg\"] = torch.zeros_like(p, dtype=torch.float64)"),),
        catches=("optim_float32",),
        named="rmsprop square_avg in float64",
        why="the running square kept in float64 'because squares underflow'"),
    Bug("rmsprop-zero-grad-skipped", T,
        ((RMS_STATE, RMS_STATE.replace("                state = self.state[p]\n",
                                       "                if not p.grad.any():\n"
                                       "                    continue\n"
                                       "                state = self.state[p]\n")),),
        catches=("optim_zero_grad_keeps_tensors",),
        named="RMSProp skips zero gradients",
        why="a zero gradient treated as no gradient: square_avg stops decaying, the step is "
            "not counted and momentum stops"),
    Bug("rmsprop-return-in-region", T,
        ((RMS_UPDATE, RMS_UPDATE + "        return\n"),),
        catches=("optim_step_with_closure",),
        named="RMSProp closure loss dropped",
        why="as sgd-return-in-region, in RMSProp.step"),
    # --------------------------------------------------------------- Adam: conventions
    Bug("adam-eps-inside-sqrt", T,
        ((ADAM_UPDATE, ADAM_UPDATE.replace("(v_hat.sqrt() + eps)", "(v_hat + eps).sqrt()")),),
        catches=("adam_small_gradients",),
        named="adam eps inside sqrt",
        why="sqrt(v_hat + eps) (forum: 'Adam epsilon inside sqrt?'; some TF/Keras versions)"),
    Bug("adam-no-bias-correction", T,
        ((ADAM_TAIL, ADAM_TAIL.replace(" / (1 - beta1 ** t)", "").replace(" / (1 - beta2 ** t)", "")),),
        catches=("adam_bias_correction", "adam_defaults"),
        named="no bias correction",
        why="the moments used as they are; CS231n's adam asks for the corrections, students "
            "who skip them see tiny first steps"),
    Bug("adam-global-step-counter", T,
        ((ADAM_HEAD, ADAM_HEAD.replace("        for group",
                                       "        self.t = getattr(self, \"t\", 0) + 1\n        for group")),
         ("t = float(state[\"step\"])                      # CPU scalar: no device sync",
          "t = float(self.t)")),
        catches=("adam_defaults", "adam_bias_correction"),
        named="shared step count",
        why="needle's and CS231n's one self.t / config['t'] for the whole optimizer: a parameter "
            "that got its first gradient late is corrected with too large a t"),
    Bug("adam-step-counter-in-group", T,
        ((ADAM_HEAD, ADAM_HEAD + "            group[\"t\"] = group.get(\"t\", 0) + 1\n"),
         ("t = float(state[\"step\"])                      # CPU scalar: no device sync",
          "t = float(group[\"t\"])")),
        catches=("adam_defaults", "adam_bias_correction"),
        named="shared step count",
        why="d2l's hyperparams['t'] kept in the param group: every parameter of the group "
            "shares it, including one that had no gradient yet"),
    Bug("adam-t-starts-at-zero", T,
        (("                state[\"step\"] += 1\n"
          "                t = float(state[\"step\"])                      # CPU scalar: no device sync\n",
          "                t = float(state[\"step\"])\n"
          "                state[\"step\"] += 1\n"),),
        catches=("adam_defaults",),
        named="t read before it is incremented",
        why="t read before it is incremented: the first correction divides by 1 - beta**0 = 0"),
    Bug("adam-amsgrad-max-of-corrected-v", T,
        ((ADAM_TAIL, ADAM_TAIL.replace("torch.maximum(v_max, v, out=v_max)",
                                       "torch.maximum(v_max, v / (1 - beta2 ** t), out=v_max)")
                              .replace("v_hat = v_max / (1 - beta2 ** t)", "v_hat = v_max")),),
        catches=("adam_amsgrad",),
        named="amsgrad max of corrected v",
        why="Reddi et al.'s pseudo-code has no bias correction; students keep the maximum of "
            "v_hat, PyTorch keeps the maximum of the raw v and corrects it afterwards"),
    Bug("adam-amsgrad-max-unused", T,
        ((ADAM_TAIL, ADAM_TAIL.replace("v_hat = v_max / (1 - beta2 ** t)", "v_hat = v / (1 - beta2 ** t)")),),
        catches=("adam_amsgrad",),
        named="amsgrad maximum unused",
        why="max_exp_avg_sq kept up to date but the step still divides by the current v"),
    Bug("adam-decoupled-decay", T,
        ((ADAM_DECAY, "                p.mul_(1 - lr * weight_decay)\n"
                      "                m, v = state[\"exp_avg\"], state[\"exp_avg_sq\"]\n"),),
        catches=("adam_weight_decay",),
        named="adam decoupled decay",
        why="Adam's weight_decay implemented as AdamW's (the two are easy to mix up after "
            "reading Loshchilov & Hutter)"),
    # --------------------------------------------------------------- Adam: state and groups
    Bug("adam-state-for-grad-none", T,
        ((ADAM_STATE,
          ADAM_STATE.replace("                if p.grad is None:\n                    continue\n", "")
          + "                if p.grad is None:\n                    continue\n"),),
        catches=("grad_none_skipped", "adam_defaults"),
        named="state for grad-None parameters",
        why="state created and the step counted before checking p.grad: frozen parameters get "
            "state, and a late parameter's t runs ahead"),
    Bug("adam-lr-from-defaults", T,
        ((ADAM_HEAD, ADAM_HEAD.replace("group[\"lr\"], group[\"betas\"]", "self.defaults[\"lr\"], group[\"betas\"]")),),
        catches=("adam_lr_change", "adam_defaults"),
        named="hyperparameters from defaults",
        why="lr read from self.defaults (the constructor's value): schedulers and groups "
            "that set their own lr are ignored"),
    Bug("adam-first-group-only", T,
        ((ADAM_HEAD, ADAM_HEAD.replace("in self.param_groups:", "in self.param_groups[:1]:")),),
        catches=("adam_defaults",),
        named="only the first param group",
        why="self.param_groups[0]['params'] assumed to hold every parameter (needle's "
            "optimizers take a flat parameter list)"),
    Bug("adam-state-on-cpu-float32", T,
        ((ADAM_STATE, ADAM_STATE.replace("torch.zeros_like(p)", "torch.zeros(p.shape)")),),
        catches=("adam_defaults", "device_placement"),
        named="state not made like p",
        why="state made with torch.zeros(p.shape): float32 on the CPU whatever p is "
            "(breaks on a GPU, and rounds float64 training to float32)"),
    Bug("adam-eps-literal", T,
        ((ADAM_UPDATE, ADAM_UPDATE.replace("(v_hat.sqrt() + eps)", "(v_hat.sqrt() + 1e-8)")),),
        catches=("adaptive_custom_eps_betas",),
        named="adam eps written as a number",
        why="eps written as the default 1e-8: Adam(eps=...) and a group's eps are ignored"),
    Bug("adam-zero-grad-skipped", T,
        ((ADAM_STATE, ADAM_STATE.replace("if p.grad is None:", "if p.grad is None or not p.grad.any():")),),
        catches=("optim_zero_grad_keeps_tensors",),
        named="Adam skips zero gradients",
        why="a zero gradient treated as no gradient: t and the moments stop, p stops moving"),
    Bug("adam-return-in-region", T,
        ((ADAM_UPDATE, ADAM_UPDATE.replace("        # END SOLUTION\n", "        return\n        # END SOLUTION\n")),),
        catches=("optim_step_with_closure",),
        named="Adam closure loss dropped",
        why="as sgd-return-in-region, in Adam.step"),
    # --------------------------------------------------------------- AdamW
    Bug("adamw-decay-in-gradient", T,
        ((ADAMW_DECAY + "                g = p.grad\n", "                g = p.grad + weight_decay * p\n"),),
        catches=("adamw_defaults", "adamw_large_decay"),
        named="adamw coupled decay",
        why="AdamW written as Adam with L2 (the mistake the AdamW paper is about)"),
    Bug("adamw-decay-after-update", T,
        ((ADAMW_BODY,
          ADAMW_BODY.replace(ADAMW_DECAY, "").replace(
              "                p.add_(m_hat / (v_hat.sqrt() + eps), alpha=-lr)\n",
              "                p.add_(m_hat / (v_hat.sqrt() + eps), alpha=-lr)\n"
              "                p.mul_(1 - lr * weight_decay)\n")),),
        catches=("adamw_large_decay",),
        named="adamw decay after the step",
        why="decay applied to the updated parameter, after the Adam step (the paper's "
            "Algorithm 2 read in the wrong order)"),
    Bug("adamw-decay-without-lr", T,
        ((ADAMW_DECAY, "                p.mul_(1 - weight_decay)\n"),),
        catches=("adamw_defaults", "adamw_large_decay"),
        named="adamw decay without lr",
        why="the paper's schedule multiplier eta_t read as 1: p *= 1 - wd instead of 1 - lr wd"),
    Bug("adamw-default-decay-zero", T,
        (("weight_decay: float = 1e-2, amsgrad", "weight_decay: float = 0, amsgrad"),),
        catches=("adamw_defaults",),
        named="adamw default weight_decay",
        why="Adam's signature copied: AdamW's default weight_decay is 1e-2, not 0"),
    Bug("adamw-literal-betas", T,
        (("                g = p.grad\n"
          "                m, v = state[\"exp_avg\"], state[\"exp_avg_sq\"]\n"
          "                m.mul_(beta1).add_(g, alpha=1 - beta1)\n"
          "                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)\n",
          "                g = p.grad\n"
          "                m, v = state[\"exp_avg\"], state[\"exp_avg_sq\"]\n"
          "                m.mul_(0.9).add_(g, alpha=0.1)\n"
          "                v.mul_(0.999).addcmul_(g, g, value=0.001)\n"),),
        catches=("adaptive_custom_eps_betas",),
        named="adamw betas written as numbers",
        why="the default betas written as numbers in AdamW.step (Adam's non-default betas are "
            "tested elsewhere, AdamW's only here)"),
    Bug("adamw-decay-factor-cached", T,
        ((ADAMW_DECAY, "                p.mul_(group.setdefault(\"decay\", 1 - lr * weight_decay))\n"),),
        catches=("adamw_lr_change",),
        named="adamw decay factor cached",
        why="the decay factor 1 - lr * wd computed once 'to save work' and kept in the group: a "
            "schedule's new lr changes the step but not the decay"),
    Bug("adamw-state-in-float64", T,
        ((ADAMW_BODY, ADAMW_BODY.replace("                    state[\"exp_avg\"] = torch.zeros_like(p)\n"
                                         "                    state[\"exp_avg_sq\"] = torch.zeros_like(p)\n",
                                         "                    state[\"exp_avg\"] = torch.zeros_like(p, dtype=torch.float64)\n"
                                         "                    state[\"exp_avg_sq\"] = torch.zeros_like(p, dtype=torch.float64)\n")),),
        catches=("optim_float32",),
        named="adamw moments in float64",
        why="the moments kept in float64 'for accuracy' for a float32 parameter"),
    Bug("adamw-zero-grad-skipped", T,
        ((ADAMW_BODY, ADAMW_BODY.replace("if p.grad is None:", "if p.grad is None or not p.grad.any():")),),
        catches=("optim_zero_grad_keeps_tensors",),
        named="AdamW skips zero gradients",
        why="a zero gradient treated as no gradient: the decay and the step stop"),
    Bug("adamw-return-in-region", T,
        ((ADAMW_BODY, ADAMW_BODY.replace("        # END SOLUTION\n", "        return\n        # END SOLUTION\n")),),
        catches=("optim_step_with_closure",),
        named="AdamW closure loss dropped",
        why="as sgd-return-in-region, in AdamW.step"),
    # --------------------------------------------------------------- 16-bit parameters
    Bug("sgd-fp32-buffer-for-16-bit", T,
        (("buf = g.clone()                       # first step: no dampening",
          "buf = g.float() if p.dtype in (torch.float16, torch.bfloat16) else g.clone()"),),
        catches=("optim_low_precision",),
        named="SGDMomentum state in float32 for a 16-bit parameter",
        why="the mixed-precision habit (apex's and fairseq's optimizers) of float32 state for "
            "float16/bfloat16 parameters: the momentum_buffer of a half parameter is float32, "
            "invisible wherever parameters are float32 or float64"),
    Bug("rmsprop-fp32-state-for-16-bit", T,
        ((RMS_STATE, RMS_STATE.replace(
            "state[\"square_avg\"] = torch.zeros_like(p)",
            "state[\"square_avg\"] = torch.zeros_like(\n"
            "                        p, dtype=torch.float32 if p.dtype in (torch.float16, torch.bfloat16) else p.dtype)")),),
        catches=("optim_low_precision",),
        named="RMSProp state in float32 for a 16-bit parameter",
        why="square_avg kept in float32 for half parameters 'because g**2 underflows in float16' "
            "(a real concern, answered in torch.optim by a larger eps, not by another dtype)"),
    Bug("adam-fp32-state-for-16-bit", T,
        ((ADAM_STATE, ADAM_STATE.replace(
            "torch.zeros_like(p)",
            "torch.zeros_like(p, dtype=torch.float32 if p.element_size() == 2 else p.dtype)")),),
        catches=("optim_low_precision",),
        named="Adam state in float32 for a 16-bit parameter",
        why="fairseq's Adam (fairseq/optim/adam.py) keeps exp_avg and exp_avg_sq in float32 for "
            "float16/bfloat16 parameters; torch.optim.Adam keeps them in p's dtype"),
    Bug("adamw-fp32-copy-not-written-back", T,
        ((ADAMW_BODY, ADAMW_BODY
          .replace("                p.mul_(1 - lr * weight_decay)                 # decoupled decay, first\n",
                   "                w = p.float() if p.dtype in (torch.float16, torch.bfloat16) else p   # fp32 master\n"
                   "                w.mul_(1 - lr * weight_decay)\n")
          .replace("                p.add_(m_hat / (v_hat.sqrt() + eps), alpha=-lr)\n",
                   "                w.add_(m_hat / (v_hat.sqrt() + eps), alpha=-lr)   # BUG: never copied to p\n")),),
        catches=("optim_low_precision",),
        named="AdamW update of a 16-bit parameter lost",
        why="fairseq's pattern (p_data_fp32 = p.data.float(), the step on it, then "
            "p.data.copy_(p_data_fp32)) without its last line: p.float() is p itself for a "
            "float32 parameter and a copy for a float16 one, so only 16-bit parameters never move"),
    # --------------------------------------------------------------- parameters that are views
    Bug("sgd-flat-update", T,
        ((SGD_UPDATE, "                p.reshape(-1).add_(g.reshape(-1), alpha=-lr)   # update the flat vector\n"),),
        catches=("optim_non_contiguous_params",),
        named="update written to a flat copy",
        why="the update made on a flattened parameter, as over parameters_to_vector: "
            "p.reshape(-1) is a view of a contiguous p but a copy of a transposed one, whose "
            "update is then lost"),
    Bug("rmsprop-rebinds-p-data", T,
        (("                    p.add_(b, alpha=-lr)\n", "                    p.data = p.data - lr * b\n"),
         (RMS_UPDATE, "                    p.data = p.data - lr * g / avg\n")),
        catches=("optim_non_contiguous_params",),
        named="RMSProp p.data replaced by a new tensor",
        why="p.data = p.data - lr * ... (old PyTorch tutorials): the Parameter object is the "
            "same, so every contiguous test passes, but it now holds new storage and whatever "
            "shared the old one (a tied weight, a flat FSDP/DDP buffer) never sees the step"),
    Bug("adam-view-flattens", T,
        ((ADAM_UPDATE, ADAM_UPDATE.replace(
            "                p.add_(m_hat / (v_hat.sqrt() + eps), alpha=-lr)\n",
            "                p.view(-1).add_((m_hat / (v_hat.sqrt() + eps)).view(-1), alpha=-lr)\n")),),
        catches=("optim_non_contiguous_params",),
        named="view on a non-contiguous parameter",
        why="the update flattened with .view(-1) (a numpy port that works on flat vectors): "
            "fine on every contiguous parameter, a RuntimeError on a transposed one"),
    Bug("adamw-decay-rebinds-p-data", T,
        ((ADAMW_DECAY, "                p.data = p.data * (1 - lr * weight_decay)     # decoupled decay\n"),),
        catches=("optim_non_contiguous_params",),
        named="AdamW p.data replaced by a new tensor",
        why="the decay written as p.data = p.data * (1 - lr * wd): p's values are right, but "
            "from the first step on p no longer shares storage with the tensor it viewed"),
    # --------------------------------------------------------------- state["step"] and torch.optim
    Bug("rmsprop-int-step-tensor", T,
        ((RMS_STATE, RMS_STATE.replace("torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch",
                                       "torch.tensor(0)                       # a step counter")),),
        catches=("optim_state_dict_continues_in_torch",),
        named="RMSProp step an integer tensor",
        why="a counter written as torch.tensor(0), an int64 tensor: every value is right and "
            "float() reads it, but torch.optim's foreach loop (its default on CUDA) refuses "
            "the state_dict"),
    Bug("adam-int-step-tensor", T,
        ((ADAM_STATE, ADAM_STATE.replace("torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch",
                                         "torch.zeros((), dtype=torch.long)")),),
        catches=("optim_state_dict_continues_in_torch",),
        named="Adam step an integer tensor",
        why="'a step count is an integer': torch.zeros((), dtype=torch.long) as the step"),
    Bug("adamw-int-step-tensor", T,
        ((ADAMW_BODY, ADAMW_BODY.replace("torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch",
                                         "torch.tensor(0, dtype=torch.int32)")),),
        catches=("optim_state_dict_continues_in_torch",),
        named="AdamW step an integer tensor",
        why="as adam-int-step-tensor, an int32 counter in AdamW"),
]

VARIANTS = [
    Variant("sgd-foreach", T,
            (("        for group in self.param_groups:\n"
              "            lr, momentum = group[\"lr\"], group[\"momentum\"]\n"
              "            dampening, weight_decay = group[\"dampening\"], group[\"weight_decay\"]\n"
              "            for p in group[\"params\"]:\n"
              "                if p.grad is None:\n"
              "                    continue\n"
              "                g = p.grad\n"
              "                if weight_decay != 0:\n"
              "                    g = g + weight_decay * p                  # new tensor; p.grad untouched\n"
              "                if momentum != 0:\n"
              "                    state = self.state[p]\n" + SGD_FIRST + SGD_NESTEROV + SGD_UPDATE,
              "        for group in self.param_groups:\n"
              "            lr, momentum = group[\"lr\"], group[\"momentum\"]\n"
              "            dampening, weight_decay = group[\"dampening\"], group[\"weight_decay\"]\n"
              "            params = [p for p in group[\"params\"] if p.grad is not None]\n"
              "            if not params:\n"
              "                continue\n"
              "            grads = [p.grad for p in params]\n"
              "            if weight_decay != 0:\n"
              "                grads = torch._foreach_add(grads, params, alpha=weight_decay)\n"
              "            if momentum != 0:\n"
              "                old, old_grads = [], []\n"
              "                for p, g in zip(params, grads):\n"
              "                    state = self.state[p]\n"
              "                    if \"momentum_buffer\" in state:\n"
              "                        old.append(state[\"momentum_buffer\"])\n"
              "                        old_grads.append(g)\n"
              "                    else:\n"
              "                        state[\"momentum_buffer\"] = torch.clone(g).detach()\n"
              "                if old:\n"
              "                    torch._foreach_mul_(old, momentum)\n"
              "                    torch._foreach_add_(old, old_grads, alpha=1 - dampening)\n"
              "                bufs = [self.state[p][\"momentum_buffer\"] for p in params]\n"
              "                if group[\"nesterov\"]:\n"
              "                    grads = torch._foreach_add(grads, bufs, alpha=momentum)\n"
              "                else:\n"
              "                    grads = bufs\n"
              "            torch._foreach_add_(params, grads, alpha=-lr)\n"),),
            why="PyTorch's own _multi_tensor_sgd layout: torch._foreach_* over a group's params"),
    Variant("sgd-p-data-add", T,
            ((SGD_UPDATE, "                p.data.add_(g, alpha=-lr)\n"),),
            why="p.data.add_ instead of p.add_ (under no_grad both update the same storage)"),
    Variant("sgd-nesterov-cs231n-form", T,
            ((SGD_FIRST + SGD_NESTEROV,
              "                    if \"momentum_buffer\" not in state:\n"
              "                        prev = torch.zeros_like(g)\n"
              "                        buf = g.clone()\n"
              "                        state[\"momentum_buffer\"] = buf\n"
              "                    else:\n"
              "                        buf = state[\"momentum_buffer\"]\n"
              "                        prev = buf.clone()\n"
              "                        buf.mul_(momentum).add_(g, alpha=1 - dampening)\n"
              "                    if group[\"nesterov\"]:\n"
              "                        g = (1 + momentum) * buf - momentum * prev   # CS231n's form\n"
              "                    else:\n"
              "                        g = buf\n"),),
            why="CS231n's x += -mu v_prev + (1 + mu) v, which equals g + mu buf when dampening is 0"),
    Variant("rmsprop-lerp-addcdiv", T,
            ((RMS_V, "v.lerp_(g * g, 1 - alpha)"),
             (RMS_UPDATE, "                    p.addcdiv_(g, avg, value=-lr)\n")),
            why="square_avg as a lerp towards g**2 and the update as one addcdiv_"),
    Variant("adam-step-python-int", T,
            (("                    state[\"step\"] = torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch\n"
              "                    state[\"exp_avg\"] = torch.zeros_like(p)\n"
              "                    state[\"exp_avg_sq\"] = torch.zeros_like(p)\n"
              "                    if group[\"amsgrad\"]:\n"
              "                        state[\"max_exp_avg_sq\"] = torch.zeros_like(p)\n"
              "                state[\"step\"] += 1\n"
              "                t = float(state[\"step\"])                      # CPU scalar: no device sync\n",
              "                    state[\"step\"] = 0\n"
              "                    state[\"exp_avg\"] = torch.zeros_like(p)\n"
              "                    state[\"exp_avg_sq\"] = torch.zeros_like(p)\n"
              "                    if group[\"amsgrad\"]:\n"
              "                        state[\"max_exp_avg_sq\"] = torch.zeros_like(p)\n"
              "                state[\"step\"] += 1\n"
              "                t = state[\"step\"]\n"),),
            why="the step count kept as a Python int (older PyTorch did the same)"),
    Variant("adam-lazy-state-other-order", T,
            ((ADAM_STATE,
              "                if p.grad is None:\n"
              "                    continue\n"
              "                state = self.state[p]\n"
              "                if \"exp_avg_sq\" not in state:\n"
              "                    state[\"exp_avg_sq\"] = torch.zeros_like(p, memory_format=torch.preserve_format)\n"
              "                    state[\"exp_avg\"] = torch.zeros_like(p, memory_format=torch.preserve_format)\n"
              "                if group[\"amsgrad\"] and \"max_exp_avg_sq\" not in state:\n"
              "                    state[\"max_exp_avg_sq\"] = torch.zeros_like(p)\n"
              "                state[\"step\"] = state.get(\"step\", torch.tensor(0.0)) + 1\n"
              "                t = state[\"step\"].item()\n"),),
            why="state keys created in another order, the amsgrad buffer on first use, step a new "
                "0-dim tensor each time"),
    Variant("adam-pytorch-denominator", T,
            ((ADAM_TAIL,
              "                bias1, bias2 = 1 - beta1 ** t, 1 - beta2 ** t\n"
              "                if group[\"amsgrad\"]:\n"
              "                    v_max = state[\"max_exp_avg_sq\"]\n"
              "                    torch.maximum(v_max, v, out=v_max)\n"
              "                    denom = (v_max.sqrt() / bias2 ** 0.5).add_(eps)\n"
              "                else:\n"
              "                    denom = (v.sqrt() / bias2 ** 0.5).add_(eps)\n"
              "                p.addcdiv_(m, denom, value=-lr / bias1)\n"
              "        # END SOLUTION\n"
              "        return loss\n"
              "\n"
              "\n"
              "class AdamW"),),
            why="torch.optim.adam's _single_tensor_adam: denom = v.sqrt() / sqrt(bias2) + eps, "
                "step size lr / bias1, one addcdiv_"),
    Variant("adamw-as-adam-with-flag", T,
            ((ADAM_DECAY,
              "                if group.get(\"decoupled\", False):\n"
              "                    p.mul_(1 - lr * weight_decay)\n"
              "                elif weight_decay != 0:\n"
              "                    g = g + weight_decay * p\n"
              "                m, v = state[\"exp_avg\"], state[\"exp_avg_sq\"]\n"),
             (ADAMW_BODY,
              "        # BEGIN SOLUTION Task 2.8\n"
              "        for group in self.param_groups:\n"
              "            group[\"decoupled\"] = True\n"
              "        Adam.step(self)                               # Adam with decoupled decay\n"
              "        # END SOLUTION\n")),
            why="AdamW as Adam(decoupled_weight_decay=True), the way torch.optim writes it since 2.x"),
]


# ----------------------------------------------------------------------------- trivial submissions
# The whole topic done trivially (audit.trivial_source): each must earn 0 points. The
# constructors check nothing, step() updates nothing.
TRIVIAL = [
    Trivial("opt-trivial-raise", T, "raise", why="every constructor and step() raises ValueError"),
    Trivial("opt-trivial-step-returns-none", T, "none",
            why="step() returns None at once (the red team's 2 points: 'returns None without a "
                "closure', 'leaves p.grad unchanged')"),
    Trivial("opt-trivial-step-returns-loss", T, "identity",
            why="step() calls the closure and returns its loss, updating nothing"),
]
