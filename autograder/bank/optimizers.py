"""Known student bugs and correct variants for optimizers (see autograder/variants.py).

Sources for the misconceptions: CS231n assignment 2 (optim.py: sgd_momentum with
`v = mu * v - lr * dw` and a zero velocity, rmsprop, adam with `config["t"]`),
CMU 10-714 hw2 (needle's SGD/Adam: `self.t`, `self.u[p]`, weight decay on the
gradient), d2l.ai chapters "Momentum", "RMSProp", "Adam" (`states` zero-initialised,
`hyperparams["t"]` shared by all parameters), Loshchilov & Hutter "Decoupled Weight
Decay Regularization", and the PyTorch forum threads "Adam epsilon inside sqrt?",
"SGD dampening first step", "leaf Variable that requires grad is being used in an
in-place operation", "optimizer ignores lr scheduler" and "param_groups with
different learning rates".

Classic mistakes (`classic=True`): the few that those sources warn about, and that students
make most: momentum's first step dampened, lr folded into the momentum buffer (CS231n's
v = mu * v - lr * dw), eps inside the square root (RMSProp and Adam), RMSProp's alpha
reversed, Adam without bias correction or with one step count for all parameters (d2l's
shared t), and AdamW's decay coupled to the gradient.
A public check catches each classic mistake, so that a student whose public checks
all pass has made none of them (tests/test_classic_mistakes.py; docs/CLASSIC_MISTAKES.md
lists what the public checks catch and name).
"""
from autograder.hidden.optimizers import CHECKS
from autograder.variants import Bug, Correct, Mistake, Trivial

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
    Bug("rmsprop-eps-literal", T,
        ((RMS_AVG, "                    avg = v.sqrt() + 1e-8\n"),),
        catches=("adaptive_custom_eps_betas",),
        named="rmsprop eps written as a number",
        why="eps written as the default 1e-8 (CS231n's rmsprop hard-codes its eps in config "
            "defaults): a group's own eps is ignored"),
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
    Correct("sgd-foreach", T,
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
    Correct("sgd-p-data-add", T,
            ((SGD_UPDATE, "                p.data.add_(g, alpha=-lr)\n"),),
            why="p.data.add_ instead of p.add_ (under no_grad both update the same storage)"),
    Correct("sgd-nesterov-cs231n-form", T,
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
    Correct("rmsprop-lerp-addcdiv", T,
            ((RMS_V, "v.lerp_(g * g, 1 - alpha)"),
             (RMS_UPDATE, "                    p.addcdiv_(g, avg, value=-lr)\n")),
            why="square_avg as a lerp towards g**2 and the update as one addcdiv_"),
    Correct("adam-step-python-int", T,
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
    Correct("adam-lazy-state-other-order", T,
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
    Correct("adam-pytorch-denominator", T,
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
    Correct("adamw-as-adam-with-flag", T,
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


# ----------------------------------------------------------------------------- known mistakes
# The grader tries these, in this order, when a check fails (autograder/variants.py).

def _names(*prefixes):
    return tuple(c.name for c in CHECKS if c.name.startswith(prefixes))


# The end of Adam.step and of AdamW.step (the comment tells them apart).
_ADAM_TAIL = '''m_hat = m / (1 - beta1 ** t)
                if group["amsgrad"]:
                    v_max = state["max_exp_avg_sq"]
                    torch.maximum(v_max, v, out=v_max)        # max of the raw v
                    v_hat = v_max / (1 - beta2 ** t)
                else:
                    v_hat = v / (1 - beta2 ** t)
                p.add_(m_hat / (v_hat.sqrt() + eps), alpha=-lr)'''
_ADAMW_TAIL = _ADAM_TAIL.replace("out=v_max)        # max of the raw v", "out=v_max)")


def _both_adams(*replacements):
    """The same change in Adam and in AdamW: (old, new) pairs on each one's tail."""
    pairs = []
    for tail in (_ADAM_TAIL, _ADAMW_TAIL):
        new = tail
        for old, repl in replacements:
            new = new.replace(old, repl)
        pairs.append((tail, new))
    return tuple(pairs)


# The first lines of each step's loop body, and each step's last line (unique per class).
_GRAD_NONE_HEADS = {
    "SGDMomentum": "                if p.grad is None:\n                    continue\n"
                   "                g = p.grad\n                if weight_decay != 0:\n"
                   "                    g = g + weight_decay * p                  # new tensor",
    "RMSProp": "                if p.grad is None:\n                    continue\n"
               "                state = self.state[p]\n"
               "                if len(state) == 0:                           # p's first step\n"
               "                    state[\"step\"] = torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch\n"
               "                    state[\"square_avg\"]",
    "Adam": "                if p.grad is None:\n                    continue\n"
            "                state = self.state[p]\n"
            "                if len(state) == 0:                           # p's first step\n"
            "                    state[\"step\"] = torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch\n"
            "                    state[\"exp_avg\"]",
    "AdamW": "                if p.grad is None:\n                    continue\n"
             "                state = self.state[p]\n                if len(state) == 0:\n",
}
_STEP_TAILS = {
    "SGDMomentum": "p.add_(g, alpha=-lr)                          # p = p - lr * g",
    "RMSProp": "                else:\n                    p.add_(g / avg, alpha=-lr)",
    "Adam": _ADAM_TAIL,
    "AdamW": _ADAMW_TAIL,
}
_ADAMW_INIT = ("                if len(state) == 0:\n"
               "                    state[\"step\"] = torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch\n"
               "                    state[\"exp_avg\"] = torch.zeros_like(p)\n"
               "                    state[\"exp_avg_sq\"] = torch.zeros_like(p)\n")
_ADAMW_MOMENTS = ("                g = p.grad\n"
                  "                m, v = state[\"exp_avg\"], state[\"exp_avg_sq\"]\n"
                  "                m.mul_(beta1).add_(g, alpha=1 - beta1)\n"
                  "                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)\n")


# step_returns_none and grad_left_unchanged compare one step of every optimizer, so every
# mistake in a step shows there too (and is named there); so do the other checks that run
# several optimizers (a mistake's checks must include every check whose outputs it changes).
_ONE_STEP = ("step_returns_none", "grad_left_unchanged", "adaptive_custom_eps_betas",
             "optim_float32", "optim_zero_grad_keeps_tensors", "optim_step_with_closure",
             "optim_low_precision", "optim_non_contiguous_params", "optim_state_dict_continues_in_torch")
_SGD, _RMS = _names("sgd_") + _ONE_STEP, _names("rmsprop_") + _ONE_STEP
_ADAM, _ADAMW = _names("adam_") + _ONE_STEP, _names("adamw_") + _ONE_STEP

# Each class's state initialisation, with its (otherwise repeated) step line.
_RMS_INIT = ("                    state[\"step\"] = torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch\n"
             "                    state[\"square_avg\"] = torch.zeros_like(p)\n")
_ADAM_INIT = _GRAD_NONE_HEADS["Adam"]
_ADAM_ZEROS = ('                    state["exp_avg"] = torch.zeros_like(p)\n'
               '                    state["exp_avg_sq"] = torch.zeros_like(p)\n'
               '                    if group["amsgrad"]:\n'
               '                        state["max_exp_avg_sq"] = torch.zeros_like(p)\n'
               '                state["step"] += 1\n'
               '                t = float(state["step"])                      # CPU scalar')
_FP32_FOR_16_BIT = "dtype=torch.float32 if p.element_size() == 2 else p.dtype"


def _int_step(cls, init, integer):
    return Mistake(
        f"{cls} step an integer tensor",
        f"{cls} kept state['step'] as an integer tensor ({integer}). Its values are right, but "
        f"the state_dict does not go on in torch.optim: the foreach loop (PyTorch's default for "
        "CUDA parameters) accepts only floating-point step tensors. Keep it as PyTorch does, "
        "torch.zeros((), dtype=torch.float32), or as a Python number.",
        ((init, init.replace("torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch", integer)),),
        checks=("optim_state_dict_continues_in_torch",))


# Ahead of the older mistakes: on these checks they are the more precise diagnosis (a
# torch.zeros(p.shape) state gives the same outputs as a float32 one in optim_low_precision).
_LOW_PRECISION_AND_LAYOUT = [
    Mistake("SGDMomentum state in float32 for a 16-bit parameter",
            "SGDMomentum kept the momentum_buffer of a float16/bfloat16 parameter in float32 (the "
            "float32 state of mixed-precision optimizers); torch.optim keeps state in p's dtype: "
            "buf = g.clone() for the first step.",
            (("buf = g.clone()                       # first step: no dampening",
              "buf = g.float() if p.dtype in (torch.float16, torch.bfloat16) else g.clone()"),),
            checks=("optim_low_precision",),
            catches=("optim_low_precision",),
            why="the mixed-precision habit (apex's and fairseq's optimizers) of float32 state for float16/bfloat16 parameters: the momentum_buffer of a half parameter is float32, invisible wherever parameters are float32 or float64"),
    Mistake("RMSProp state in float32 for a 16-bit parameter",
            "RMSProp kept state of a float16/bfloat16 parameter in float32 (square_avg "
            "'because g**2 underflows'); torch.optim keeps state in p's dtype "
            "(torch.zeros_like(p)) and the cure for underflow is a larger eps.",
            ((_RMS_INIT, _RMS_INIT.replace("torch.zeros_like(p)", f"torch.zeros_like(p, {_FP32_FOR_16_BIT})")),),
            checks=("optim_low_precision",)),
    Mistake("Adam state in float32 for a 16-bit parameter",
            "Adam kept exp_avg and exp_avg_sq of a float16/bfloat16 parameter in float32 (as "
            "fairseq's Adam does, or through torch.zeros(p.shape)); torch.optim.Adam keeps state "
            "in p's dtype: torch.zeros_like(p).",
            ((_ADAM_ZEROS, _ADAM_ZEROS.replace("torch.zeros_like(p)",
                                               f"torch.zeros_like(p, {_FP32_FOR_16_BIT})")),),
            checks=("optim_low_precision",)),
    Mistake("AdamW update of a 16-bit parameter lost",
            "AdamW never changed a float16/bfloat16 parameter: the step was taken on a float32 "
            "copy (p.float() is a copy of a 16-bit tensor, and p itself for a float32 one) that "
            "was never written back. Update p itself, in its dtype: p.mul_(...), p.add_(...).",
            (("p.mul_(1 - lr * weight_decay)                 # decoupled decay, first\n",
              "w = p.float() if p.dtype in (torch.float16, torch.bfloat16) else p\n"
              "                w.mul_(1 - lr * weight_decay)\n"),
             (_ADAMW_TAIL, _ADAMW_TAIL.replace("p.add_(m_hat", "w.add_(m_hat"))),
            checks=("optim_low_precision",)),
    Mistake("update written to a flat copy",
            "SGDMomentum updated p.reshape(-1) (or p.flatten()): a view of a contiguous parameter "
            "but a copy of one whose strides are not contiguous (a transposed or shared weight), "
            "so its update was lost. Update p itself: p.add_(g, alpha=-lr).",
            ((_STEP_TAILS["SGDMomentum"], "p.reshape(-1).add_(g.reshape(-1), alpha=-lr)"),),
            checks=("optim_non_contiguous_params",)),
    Mistake("RMSProp p.data replaced by a new tensor",
            "RMSProp assigned p.data = p.data - ...: the parameter then holds new storage, and "
            "a tensor it shared storage with (the base of a transposed or tied weight, a flat "
            "buffer) never sees the step. Update in place: p.add_(b, alpha=-lr).",
            (("                    p.add_(b, alpha=-lr)\n", "                    p.data = p.data - lr * b\n"),
             ("                    p.add_(g / avg, alpha=-lr)\n",
              "                    p.data = p.data - lr * g / avg\n")),
            checks=("optim_non_contiguous_params",
                    "optim_low_precision"),
            catches=("optim_non_contiguous_params",),
            why="p.data = p.data - lr * ... (old PyTorch tutorials): the Parameter object is the same, so every contiguous test passes, but it now holds new storage and whatever shared the old one (a tied weight, a flat FSDP/DDP buffer) never sees the step"),   # p - lr * b rounds apart from p.add_ in 16 bits
    Mistake("view on a non-contiguous parameter",
            "Adam flattened the update with .view(-1), which raises on a parameter whose strides "
            "are not contiguous (a transposed or shared weight); work on p as it is: "
            "p.add_(m_hat / (v_hat.sqrt() + eps), alpha=-lr).",
            ((_ADAM_TAIL, _ADAM_TAIL.replace(
                "p.add_(m_hat / (v_hat.sqrt() + eps), alpha=-lr)",
                "p.view(-1).add_((m_hat / (v_hat.sqrt() + eps)).view(-1), alpha=-lr)")),),
            checks=("optim_non_contiguous_params",)),
    Mistake("AdamW p.data replaced by a new tensor",
            "AdamW decayed with p.data = p.data * (1 - lr * weight_decay): the parameter then "
            "holds new storage, and a tensor it shared storage with (the base of a transposed or "
            "tied weight, a flat buffer) never sees the step. Decay in place: p.mul_(...).",
            (("p.mul_(1 - lr * weight_decay)                 # decoupled decay, first",
              "p.data = p.data * (1 - lr * weight_decay)"),),
            checks=("optim_non_contiguous_params",
                    "optim_low_precision")),   # p - lr * b rounds apart from p.add_ in 16 bits
    _int_step("RMSProp", _RMS_INIT, "torch.tensor(0)"),
    _int_step("Adam", _ADAM_INIT, "torch.zeros((), dtype=torch.long)"),
    _int_step("AdamW", _ADAMW_INIT, "torch.tensor(0, dtype=torch.int32)"),
]

MISTAKES = _LOW_PRECISION_AND_LAYOUT + [
    Mistake("sgd dampened first step",
            "the first momentum step was dampened (as if the buffer started at zeros); PyTorch "
            "starts momentum_buffer as a plain copy of the first gradient and applies "
            "(1 - dampening) only from the second step on.",
            (("buf = g.clone()                       # first step: no dampening",
              "buf = (1 - dampening) * g"),),
            checks=_SGD,
            classic=True),
    Mistake("sgd nesterov ignored",
            "nesterov=True behaved as plain momentum; with Nesterov the step uses "
            "g + momentum * buf instead of buf.",
            (('if group["nesterov"]:', "if False:"),),
            checks=_SGD),
    Mistake("sgd weight decay after momentum",
            "weight decay was added after the momentum update; it belongs in the gradient "
            "(g = p.grad + weight_decay * p) before the momentum buffer is updated.",
            (("g = g + weight_decay * p                  # new tensor; p.grad untouched", "pass"),
             ("p.add_(g, alpha=-lr)                          # p = p - lr * g",
              "p.add_(g + weight_decay * p, alpha=-lr)")),
            checks=_SGD),
    Mistake("p.grad modified in place",
            "step() changed p.grad in place (g = p.grad; g.add_(...)); build the decayed "
            "gradient as a new tensor: g = p.grad + weight_decay * p.",
            (("g = g + weight_decay * p                  # new tensor; p.grad untouched",
              "g = g.add_(weight_decay * p)"),),
            checks=("grad_left_unchanged",)),
    Mistake("hyperparameters from defaults",
            "the hyperparameters were read from self.defaults (the constructor's values); read "
            "them from each param group at every step, so that groups and lr changes take effect.",
            (('lr, momentum = group["lr"], group["momentum"]',
              'lr, momentum = self.defaults["lr"], self.defaults["momentum"]'),
             ('lr, alpha, eps = group["lr"], group["alpha"], group["eps"]',
              'lr, alpha, eps = self.defaults["lr"], self.defaults["alpha"], self.defaults["eps"]'),
             ('# BEGIN SOLUTION Task 2.6\n        for group in self.param_groups:\n'
              '            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]',
              '# BEGIN SOLUTION Task 2.6\n        for group in self.param_groups:\n'
              '            lr, (beta1, beta2), eps = self.defaults["lr"], self.defaults["betas"], '
              'self.defaults["eps"]'),
             ('# BEGIN SOLUTION Task 2.8\n        for group in self.param_groups:\n'
              '            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]',
              '# BEGIN SOLUTION Task 2.8\n        for group in self.param_groups:\n'
              '            lr, (beta1, beta2), eps = self.defaults["lr"], self.defaults["betas"], '
              'self.defaults["eps"]')),
            checks=_SGD + _RMS + _ADAM + _ADAMW),
    Mistake("rmsprop eps inside sqrt",
            "eps was added inside the square root; RMSProp divides by sqrt(v) + eps "
            "(eps after the square root, as torch.optim.RMSprop).",
            (("avg = (v - gm * gm).sqrt() + eps", "avg = (v - gm * gm + eps).sqrt()"),
             ("avg = v.sqrt() + eps", "avg = (v + eps).sqrt()")),
            checks=_RMS,
            classic=True),
    Mistake("rmsprop centered without the mean",
            "centered=True did not subtract the squared mean gradient; centered RMSProp divides "
            "by sqrt(v - grad_avg**2) + eps.",
            (("avg = (v - gm * gm).sqrt() + eps", "avg = v.sqrt() + eps"),),
            checks=_RMS,
            catches=("rmsprop_centered",),
            why="grad_avg kept up to date but never subtracted (Graves 2013's centered form)"),
    Mistake("rmsprop alpha reversed",
            "alpha weighed the new squared gradient instead of the old average; RMSProp keeps "
            "v = alpha * v + (1 - alpha) * g**2.",
            (("v.mul_(alpha).addcmul_(g, g, value=1 - alpha)",
              "v.mul_(1 - alpha).addcmul_(g, g, value=alpha)"),
             ("gm.mul_(alpha).add_(g, alpha=1 - alpha)", "gm.mul_(1 - alpha).add_(g, alpha=alpha)")),
            checks=_RMS,
            classic=True),
    Mistake("adam eps inside sqrt",
            "eps was added inside the square root; Adam divides by sqrt(v_hat) + eps "
            "(eps after the square root of the bias-corrected v).",
            _both_adams(("(v_hat.sqrt() + eps)", "(v_hat + eps).sqrt()")),
            checks=_ADAM + _ADAMW,
            classic=True),
    Mistake("no bias correction",
            "the moments were not bias-corrected; divide m by (1 - beta1**t) and v by "
            "(1 - beta2**t), where t is the parameter's own step count.",
            _both_adams((" / (1 - beta1 ** t)", ""), (" / (1 - beta2 ** t)", "")),
            checks=_ADAM + _ADAMW,
            classic=True),
    Mistake("shared step count",
            "the bias corrections used one step count for the whole optimizer; each parameter "
            "keeps its own (state['step']), which lags when it had no gradient in some steps.",
            (("# BEGIN SOLUTION Task 2.6",
              '# BEGIN SOLUTION Task 2.6\n        self._shared_t = getattr(self, "_shared_t", 0) + 1'),
             ('t = float(state["step"])                      # CPU scalar: no device sync',
              "t = float(self._shared_t)"),
             ("# BEGIN SOLUTION Task 2.8",
              '# BEGIN SOLUTION Task 2.8\n        self._shared_t = getattr(self, "_shared_t", 0) + 1'),
             ('t = float(state["step"])\n', "t = float(self._shared_t)\n")),
            checks=_ADAM + _ADAMW,
            classic=True),
    Mistake("amsgrad max of corrected v",
            "amsgrad kept the maximum of the bias-corrected v; PyTorch keeps the maximum of the "
            "raw v (max_exp_avg_sq) and bias-corrects it afterwards.",
            _both_adams(("torch.maximum(v_max, v, out=v_max)",
                         "torch.maximum(v_max, v / (1 - beta2 ** t), out=v_max)"),
                        ("v_hat = v_max / (1 - beta2 ** t)", "v_hat = v_max")),
            checks=_ADAM + _ADAMW),
    Mistake("adam decoupled decay",
            "Adam's weight_decay was applied to the weights directly (that is AdamW); Adam adds "
            "it to the gradient: g = p.grad + weight_decay * p.",
            (('g = g + weight_decay * p\n                m, v = state["exp_avg"], state["exp_avg_sq"]',
              'p.mul_(1 - lr * weight_decay)\n                m, v = state["exp_avg"], '
              'state["exp_avg_sq"]'),),
            checks=_ADAM),
    Mistake("adamw coupled decay",
            "AdamW added weight_decay * p to the gradient (Adam's L2 penalty); AdamW decays the "
            "weights directly, p = p * (1 - lr * weight_decay), and leaves g alone.",
            (("p.mul_(1 - lr * weight_decay)                 # decoupled decay, first\n"
              "                g = p.grad",
              "g = p.grad + weight_decay * p"),),
            checks=_ADAMW,
            classic=True),
    Mistake("adamw decay without lr",
            "AdamW decayed the weights by weight_decay alone; torch.optim.AdamW multiplies them "
            "by (1 - lr * weight_decay).",
            (("p.mul_(1 - lr * weight_decay)                 # decoupled decay, first",
              "p.mul_(1 - weight_decay)"),),
            checks=_ADAMW),
    Mistake("sgd lr inside the buffer",
            "lr was folded into the momentum buffer (CS231n's v = mu * v - lr * g; p += v); "
            "PyTorch keeps buf = momentum * buf + (1 - dampening) * g and steps p -= lr * buf, "
            "so a changed lr applies at once instead of only to new gradients.",
            (("buf = g.clone()                       # first step: no dampening", "buf = lr * g"),
             ("buf.mul_(momentum).add_(g, alpha=1 - dampening)",
              "buf.mul_(momentum).add_(g, alpha=lr * (1 - dampening))"),
             ('if group["nesterov"]:\n                        g = g + momentum * buf\n'
              '                    else:\n                        g = buf\n'
              '                p.add_(g, alpha=-lr)                          # p = p - lr * g',
              'if group["nesterov"]:\n                        p.add_(lr * g + momentum * buf, alpha=-1)\n'
              '                    else:\n                        p.sub_(buf)\n'
              '                    continue\n'
              '                p.add_(g, alpha=-lr)')),
            checks=_SGD,
            classic=True),
    Mistake("weight decay from the updated parameter",
            "weight decay was applied after the step, to the updated parameter; it belongs in "
            "the gradient, g = p.grad + weight_decay * p, before momentum and the update.",
            (("g = g + weight_decay * p                  # new tensor; p.grad untouched", "pass"),
             ("p.add_(g, alpha=-lr)                          # p = p - lr * g",
              "p.add_(g, alpha=-lr)\n                p.add_(p, alpha=-lr * weight_decay)")),
            checks=_SGD),
    Mistake("grad-None parameters updated",
            "a parameter whose p.grad is None was treated as having a zero gradient (it decayed "
            "and got state); skip it entirely: if p.grad is None: continue.",
            (("                if p.grad is None:\n                    continue\n"
              "                g = p.grad\n                if weight_decay != 0:\n"
              "                    g = g + weight_decay * p                  # new tensor",
              "                g = p.grad if p.grad is not None else torch.zeros_like(p)\n"
              "                if weight_decay != 0:\n"
              "                    g = g + weight_decay * p                  # new tensor"),),
            checks=("grad_none_skipped",) + _SGD),
    Mistake("state for grad-None parameters",
            "state was created (and the step counted) before checking p.grad; a parameter "
            "without a gradient must get no state and no step, so check p.grad first.",
            (("                if p.grad is None:\n                    continue\n"
              "                state = self.state[p]\n"
              "                if len(state) == 0:                           # p's first step\n"
              "                    state[\"step\"] = torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch\n"
              "                    state[\"exp_avg\"]",
              "                state = self.state[p]\n"
              "                if len(state) == 0:                           # p's first step\n"
              "                    state[\"step\"] = torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch\n"
              "                    state[\"exp_avg\"]"),
             ('t = float(state["step"])                      # CPU scalar: no device sync',
              't = float(state["step"])\n                if p.grad is None:\n                    continue')),
            checks=("grad_none_skipped",) + _ADAM),
    Mistake("step records an autograd graph",
            "step() ran with autograd on (no @torch.no_grad()), so g = p.grad + weight_decay * p "
            "and every state buffer made from it carry a graph through all earlier steps; "
            "decorate step with @torch.no_grad() (p.data only hides the in-place error).",
            (("weight_decay=weight_decay, nesterov=nesterov)\n        super().__init__(params, defaults)"
              "\n\n    @torch.no_grad()\n",
              "weight_decay=weight_decay, nesterov=nesterov)\n        super().__init__(params, defaults)\n\n"),
             ("p.add_(g, alpha=-lr)                          # p = p - lr * g", "p.data.add_(g, alpha=-lr)")),
            checks=("step_builds_no_graph",)),
    Mistake("parameter rebound, not updated",
            "the parameter never changed: p = p - lr * ... makes a new tensor and rebinds the "
            "loop variable; update the parameter itself in place: p.add_(update, alpha=-lr).",
            (("p.add_(g, alpha=-lr)                          # p = p - lr * g", "p = p - lr * g"),
             ("p.add_(b, alpha=-lr)", "p = p - lr * b"),
             ("p.add_(g / avg, alpha=-lr)", "p = p - lr * g / avg"))
            + _both_adams(("p.add_(m_hat / (v_hat.sqrt() + eps), alpha=-lr)",
                           "p = p - lr * m_hat / (v_hat.sqrt() + eps)")),
            checks=_SGD + _RMS + _ADAM + _ADAMW),
    Mistake("only the first param group",
            "only the first parameter group was updated (self.param_groups[0]); loop over every "
            "group in self.param_groups, each with its own hyperparameters.",
            tuple((f"# BEGIN SOLUTION Task {task}\n        for group in self.param_groups:",
                   f"# BEGIN SOLUTION Task {task}\n        for group in self.param_groups[:1]:")
                  for task in ("2.2", "2.4", "2.6", "2.8")),
            checks=_SGD + _RMS + _ADAM + _ADAMW),
    Mistake("t read before it is incremented",
            "the bias corrections used t before it was incremented, so the first step divided "
            "by 1 - beta**0 = 0 (NaN or inf); increment the step count first, then correct with it.",
            (('                state["step"] += 1\n'
              '                t = float(state["step"])                      # CPU scalar: no device sync\n',
              '                t = float(state["step"])\n'
              '                state["step"] += 1\n'),),
            checks=_ADAM,
            catches=("adam_defaults",),
            why="t read before it is incremented: the first correction divides by 1 - beta**0 = 0"),
    Mistake("state not made like p",
            "the optimizer state was made with torch.zeros(p.shape): float32 on the CPU whatever "
            "p is; make it with torch.zeros_like(p) (p's dtype and device).",
            (('                    state["exp_avg"] = torch.zeros_like(p)\n'
              '                    state["exp_avg_sq"] = torch.zeros_like(p)\n'
              '                    if group["amsgrad"]:\n'
              '                        state["max_exp_avg_sq"] = torch.zeros_like(p)\n'
              '                state["step"] += 1\n'
              '                t = float(state["step"])                      # CPU scalar',
              '                    state["exp_avg"] = torch.zeros(p.shape)\n'
              '                    state["exp_avg_sq"] = torch.zeros(p.shape)\n'
              '                    if group["amsgrad"]:\n'
              '                        state["max_exp_avg_sq"] = torch.zeros(p.shape)\n'
              '                state["step"] += 1\n'
              '                t = float(state["step"])                      # CPU scalar'),),
            checks=_ADAM),
    Mistake("sgd nesterov terms swapped",
            "Nesterov's look-ahead swapped the two terms (buf + momentum * g); PyTorch steps with "
            "g + momentum * buf, the gradient plus momentum times the updated buffer.",
            (("                        g = g + momentum * buf\n",
              "                        g = buf + momentum * g\n"),),
            checks=_SGD,
            catches=("sgd_nesterov",),
            why="Nesterov written as 'velocity plus a look-ahead on the gradient' instead of g + mu * buf (Sutskever's form as PyTorch writes it)"),
    Mistake("sgd nesterov without the decay",
            "Nesterov's look-ahead used the raw p.grad; with weight decay it uses the decayed "
            "gradient, g + momentum * buf with g = p.grad + weight_decay * p, in both terms.",
            (("                        g = g + momentum * buf\n",
              "                        g = p.grad + momentum * buf\n"),),
            checks=_SGD,
            catches=("sgd_nesterov_weight_decay",),
            why="the look-ahead written from p.grad, as in the formula without weight decay: the decay enters the buffer but not the Nesterov term"),
    Mistake("rmsprop decay after the scaling",
            "weight decay was added to the update after the division by sqrt(v) + eps; "
            "torch.optim.RMSprop adds it to the gradient first (g = p.grad + weight_decay * p), "
            "so it enters square_avg and is scaled like the gradient.",
            (("                if weight_decay != 0:\n                    g = g + weight_decay * p\n"
              "                v = state[\"square_avg\"]\n",
              "                v = state[\"square_avg\"]\n"),
             ("                    p.add_(g / avg, alpha=-lr)\n",
              "                    p.add_(g / avg + weight_decay * p, alpha=-lr)\n")),
            checks=_RMS,
            catches=("rmsprop_weight_decay",),
            why="weight decay added to the update after the 1/sqrt(v) scaling (AdamW's idea applied to RMSProp); torch.optim.RMSprop adds it to g before square_avg"),
    Mistake("rmsprop lr inside the buffer",
            "lr was folded into RMSProp's momentum buffer (b = momentum * b + lr * g / avg; "
            "p -= b); PyTorch keeps b = momentum * b + g / avg and steps p -= lr * b, so a "
            "changed lr applies at once and momentum_buffer holds no lr.",
            (("b.mul_(momentum).add_(g / avg)             # b = momentum b + g / avg\n"
              "                    p.add_(b, alpha=-lr)",
              "b.mul_(momentum).add_(g / avg, alpha=lr)\n                    p.sub_(b)"),),
            checks=_RMS,
            catches=("rmsprop_lr_change",),
            why="CS231n's velocity form v = mu v - lr g carried over to RMSProp's momentum: the old buffer keeps the old lr after a schedule changes it (momentum_buffer also holds lr)"),
    Mistake("rmsprop momentum and weight_decay not validated",
            "RMSProp accepted a negative momentum or weight_decay; raise ValueError for them "
            "too, as for lr, eps and alpha (\"Invalid momentum value: -0.5\").",
            (("        if momentum < 0.0:\n            raise ValueError(f\"Invalid momentum value: {momentum}\")\n"
              "        if weight_decay < 0.0:\n            raise ValueError(f\"Invalid weight_decay value: {weight_decay}\")\n"
              "        if alpha < 0.0:",
              "        if alpha < 0.0:"),),
            checks=("rmsprop_invalid_momentum_weight_decay",),
            catches=("rmsprop_invalid_momentum_weight_decay",),
            why="only the arguments CS231n's rmsprop has (lr, decay rate, eps) validated"),
    Mistake("adamw decay factor cached",
            "AdamW's decay factor 1 - lr * weight_decay was computed once and kept; compute it "
            "from the group's lr at every step, so that a changed lr changes the decay too.",
            (("p.mul_(1 - lr * weight_decay)                 # decoupled decay, first",
              "p.mul_(group.setdefault(\"decay\", 1 - lr * weight_decay))"),),
            checks=_ADAMW),
    Mistake("rmsprop eps written as a number",
            "RMSProp added 1e-8 (the default) instead of the group's eps; read eps from the "
            "group: avg = sqrt(v) + group['eps'].",
            (("avg = v.sqrt() + eps", "avg = v.sqrt() + 1e-8"),),
            checks=("adaptive_custom_eps_betas", "optim_low_precision")),
    Mistake("adam eps written as a number",
            "Adam added 1e-8 (the default) instead of the group's eps; read eps from the group: "
            "p -= lr * m_hat / (sqrt(v_hat) + group['eps']).",
            ((_ADAM_TAIL, _ADAM_TAIL.replace("(v_hat.sqrt() + eps)", "(v_hat.sqrt() + 1e-8)")),),
            checks=("adaptive_custom_eps_betas", "optim_low_precision")),
    Mistake("adamw betas written as numbers",
            "AdamW updated its moments with the default betas written as numbers (0.9, 0.999); "
            "read them from the group: beta1, beta2 = group['betas'].",
            ((_ADAMW_MOMENTS, _ADAMW_MOMENTS.replace("m.mul_(beta1).add_(g, alpha=1 - beta1)",
                                                     "m.mul_(0.9).add_(g, alpha=0.1)")
              .replace("v.mul_(beta2).addcmul_(g, g, value=1 - beta2)",
                       "v.mul_(0.999).addcmul_(g, g, value=0.001)")),),
            checks=("adaptive_custom_eps_betas", "optim_low_precision"),
            catches=("adaptive_custom_eps_betas",),
            why="the default betas written as numbers in AdamW.step (Adam's non-default betas are tested elsewhere, AdamW's only here)"),
    Mistake("sgd momentum_buffer in float64",
            "SGDMomentum kept momentum_buffer in float64 for a float32 parameter; state lives in "
            "p's dtype (buf = g.clone(), torch.zeros_like(p)).",
            (("buf = g.clone()                       # first step: no dampening", "buf = g.clone().double()"),),
            checks=("optim_float32", "optim_low_precision")),
    Mistake("rmsprop square_avg in float64",
            "RMSProp kept square_avg in float64 for a float32 parameter; state lives in p's "
            "dtype (torch.zeros_like(p)).",
            (('state["square_avg"] = torch.zeros_like(p)',
              'state["square_avg"] = torch.zeros_like(p, dtype=torch.float64)'),),
            checks=("optim_float32", "optim_low_precision"),
            catches=("optim_float32",),
            why="the running square kept in float64 'because squares underflow'"),
    Mistake("adamw moments in float64",
            "AdamW kept exp_avg and exp_avg_sq in float64 for a float32 parameter; state lives "
            "in p's dtype (torch.zeros_like(p)).",
            ((_ADAMW_INIT, _ADAMW_INIT.replace("torch.zeros_like(p)\n",
                                               "torch.zeros_like(p, dtype=torch.float64)\n")),),
            checks=("optim_float32", "optim_low_precision")),
] + [
    Mistake(f"{cls} skips zero gradients",
            f"{cls}.step skipped a parameter whose gradient is all zeros; only p.grad None means "
            "no gradient. After zero_grad(set_to_none=False) the zero gradient is a gradient: the "
            "step is counted, the state decays and momentum keeps moving p.",
            ((head, head.replace("if p.grad is None:", "if p.grad is None or not p.grad.any():")),),
            checks=("optim_zero_grad_keeps_tensors",))
    for cls, head in _GRAD_NONE_HEADS.items()
] + [
    Mistake(f"{cls} closure loss dropped",
            f"{cls}.step returned before the given `return loss` at its end (a bare return in "
            "your code), so step(closure) returned None; let step end with the given line, "
            "which returns what the closure returned.",
            ((tail, tail + "\n        return"),),
            checks=("optim_step_with_closure",))
    for cls, tail in _STEP_TAILS.items()
] + [
    Mistake("rmsprop bias-corrected",
            "square_avg was bias-corrected as in Adam; RMSProp has no bias correction: divide "
            "by sqrt(square_avg) + eps as it is.",
            (("avg = v.sqrt() + eps", 'avg = (v / (1 - alpha ** float(state["step"]))).sqrt() + eps'),),
            checks=_RMS),
    Mistake("amsgrad maximum unused",
            "amsgrad kept max_exp_avg_sq but the step divided by the current v; with amsgrad "
            "v_hat = max_exp_avg_sq / (1 - beta2**t).",
            _both_adams(("v_hat = v_max / (1 - beta2 ** t)", "v_hat = v / (1 - beta2 ** t)")),
            checks=_ADAM + _ADAMW),
    Mistake("adamw default weight_decay",
            "AdamW's default weight_decay was 0; torch.optim.AdamW's default is 1e-2.",
            (("weight_decay: float = 1e-2, amsgrad", "weight_decay: float = 0, amsgrad"),),
            checks=_ADAMW,
            catches=("adamw_defaults",),
            why="Adam's signature copied: AdamW's default weight_decay is 1e-2, not 0"),
    Mistake("adamw decay after the step",
            "AdamW decayed the weights after the Adam update; decay them first, "
            "p = p * (1 - lr * weight_decay), then take the Adam step.",
            (("p.mul_(1 - lr * weight_decay)                 # decoupled decay, first", "pass"),
             (_ADAMW_TAIL, _ADAMW_TAIL + "\n                p.mul_(1 - lr * weight_decay)")),
            checks=_ADAMW),
]


# ----------------------------------------------------------------------------- one bug a check
# Bugs that prove a check no other bug of the bank fails (tests/test_audit.py).
BUGS += [
    Bug("sgd-negative-lr-accepted", T,
        (("        # BEGIN SOLUTION Task 2.1\n"
          "        if lr < 0.0:\n"
          "            raise ValueError(f\"Invalid learning rate: {lr}\")\n",
          "        # BEGIN SOLUTION Task 2.1\n"),),
        catches=("sgd_invalid_arguments",),
        why="the argument checks copied from torch.optim.SGD without its lr check (its lr has no "
            "default, so the check reads as unneeded)"),
    Bug("adam-beta1-unchecked", T,
        (("                 weight_decay: float = 0, amsgrad: bool = False) -> None:\n"
          "        # BEGIN SOLUTION Task 2.5\n"
          "        if lr < 0.0:\n"
          "            raise ValueError(f\"Invalid learning rate: {lr}\")\n"
          "        if eps < 0.0:\n"
          "            raise ValueError(f\"Invalid epsilon value: {eps}\")\n"
          "        if not 0.0 <= betas[0] < 1.0:\n"
          "            raise ValueError(f\"Invalid beta parameter at index 0: {betas[0]}\")\n",
          "                 weight_decay: float = 0, amsgrad: bool = False) -> None:\n"
          "        # BEGIN SOLUTION Task 2.5\n"
          "        if lr < 0.0:\n"
          "            raise ValueError(f\"Invalid learning rate: {lr}\")\n"
          "        if eps < 0.0:\n"
          "            raise ValueError(f\"Invalid epsilon value: {eps}\")\n"),),
        catches=("adaptive_invalid_arguments",),
        why="only beta2 checked, since only it appears under a square root"),
]
