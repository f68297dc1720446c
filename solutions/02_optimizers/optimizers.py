"""Topic 2: optimizers (SGD with momentum, RMSProp, Adam, AdamW).

Each class is a torch.optim.Optimizer and takes one step exactly as the
PyTorch optimizer named in its docstring (same defaults, same state names),
so it can replace it in any training loop:

    opt = Adam(model.parameters(), lr=1e-3)
    for x, y in data:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

What torch.optim.Optimizer already gives you (do not rewrite it):
  self.param_groups  a list of dicts, one per parameter group, each with the
                     key "params" (a list of tensors) and one key per
                     hyperparameter ("lr", "momentum", ...): those in the
                     `defaults` dict passed to super().__init__, unless the
                     group set its own. READ THEM FROM THE GROUP AT EVERY STEP:
                     a learning-rate schedule changes group["lr"] between steps.
  self.state         a defaultdict(dict): self.state[p] is the per-parameter
                     state (moment estimates, step counts). Create it lazily, on
                     the first step in which p has a gradient, with the key
                     names PyTorch uses, so that state_dict() looks like PyTorch's.
  zero_grad(), state_dict(), load_state_dict(), add_param_group().

Rules shared by all four step() methods:
  - a parameter whose p.grad is None is skipped: no update, no state created,
    no step counted (parameters unused in this loss, frozen layers);
  - update parameters in place (p.add_, p.mul_, ...) and without autograd:
    step() runs under torch.no_grad(); never replace p, or p.data, by a new
    tensor. A parameter may be a view of another tensor (a transposed or tied
    weight, a slice of a flat buffer) with strides that are not contiguous:
    update p itself, not p.reshape(-1) or p.flatten() (copies of such a p)
    or p.view(-1) (an error on it);
  - never modify p.grad: build g = p.grad + weight_decay * p as a new tensor;
  - state tensors live on p's device with p's dtype (torch.zeros_like(p)),
    float16 and bfloat16 included: no float32 copy of the state or of p.

Forbidden here (the grader refuses them): every class in torch.optim
(torch.optim.SGD, RMSprop, Adam, AdamW, ...), the functional optimizers
(torch.optim._functional, torch.optim.adam.adam, torch.optim.sgd.sgd, ...) and
the fused kernels (torch._fused_adam_, torch._fused_sgd_, ...).
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import Tensor


class SGDMomentum(torch.optim.Optimizer):
    """Stochastic gradient descent with momentum, as torch.optim.SGD.

    For every parameter p with a gradient, at every step:

        g = p.grad + weight_decay * p                 # L2 penalty, added to g
        if momentum != 0:
            if first step for p:  buf = g             # a copy; NO dampening here
            else:                 buf = momentum * buf + (1 - dampening) * g
            if nesterov:          g = g + momentum * buf
            else:                 g = buf
        p = p - lr * g

    Traps: the buffer starts as a COPY of the first gradient, not as zeros (the
    two agree only when dampening = 0), and dampening applies from the second
    step on. lr multiplies the whole update (some texts put lr inside the
    buffer: that is a different optimizer once lr changes).

    State: self.state[p]["momentum_buffer"], shape of p (only when momentum != 0).

    Args:
        params: an iterable of tensors, or of dicts (parameter groups).
        lr: learning rate (default 1e-3), >= 0.
        momentum: momentum factor mu (default 0), >= 0.
        dampening: dampening tau for momentum (default 0).
        weight_decay: L2 penalty lambda (default 0), >= 0.
        nesterov: Nesterov momentum (default False); needs momentum > 0 and
            dampening == 0.

    Raises:
        ValueError: lr, momentum or weight_decay negative ("Invalid learning
            rate: -0.1", ...), or nesterov without momentum > 0 and
            dampening == 0.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0,
                 nesterov: bool = False) -> None:
        # BEGIN SOLUTION Task 2.1
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        # END SOLUTION
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Take one step; returns closure() (called with grad enabled) if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # BEGIN SOLUTION Task 2.2
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            dampening, weight_decay = group["dampening"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if weight_decay != 0:
                    g = g + weight_decay * p                  # new tensor; p.grad untouched
                if momentum != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        buf = g.clone()                       # first step: no dampening
                        state["momentum_buffer"] = buf
                    else:
                        buf = state["momentum_buffer"]
                        buf.mul_(momentum).add_(g, alpha=1 - dampening)
                    if group["nesterov"]:
                        g = g + momentum * buf
                    else:
                        g = buf
                p.add_(g, alpha=-lr)                          # p = p - lr * g
        # END SOLUTION
        return loss


class RMSProp(torch.optim.Optimizer):
    """RMSProp, as torch.optim.RMSprop.

    For every parameter p with a gradient, at every step:

        g  = p.grad + weight_decay * p
        v  = alpha * v + (1 - alpha) * g**2           # square_avg, starts at 0
        if centered:
            gm = alpha * gm + (1 - alpha) * g         # grad_avg, starts at 0
            avg = sqrt(v - gm**2) + eps
        else:
            avg = sqrt(v) + eps                       # eps AFTER the sqrt
        if momentum > 0:
            b = momentum * b + g / avg                # momentum_buffer, starts at 0
            p = p - lr * b
        else:
            p = p - lr * g / avg

    Traps: eps is added after the square root, not inside it (TensorFlow puts
    it inside); alpha weighs the OLD average; v starts at zero and there is no
    bias correction (unlike Adam), so the first steps are large: about
    lr / sqrt(1 - alpha) = 10 * lr per element with the default alpha.

    State (created on p's first step, with zeros shaped like p):
        "step"            number of steps taken by p: a 0-dim float32 CPU
                          tensor, as PyTorch stores it; read it with float().
                          What is graded is that state_dict() loads into
                          torch.optim.RMSprop and training goes on there
                          identically, in its per-tensor and its foreach loop:
                          a Python number or a float tensor does, an integer
                          tensor (torch.tensor(0)) does not (foreach refuses it)
        "square_avg"      v
        "momentum_buffer" b   (only when momentum > 0)
        "grad_avg"        gm  (only when centered)

    Args:
        params: an iterable of tensors, or of dicts (parameter groups).
        lr: learning rate (default 1e-2), >= 0.
        alpha: smoothing constant (default 0.99), >= 0.
        eps: added to the denominator for stability (default 1e-8), >= 0.
        weight_decay: L2 penalty (default 0), >= 0.
        momentum: momentum factor (default 0), >= 0.
        centered: divide by the estimated standard deviation of the gradient
            instead of its root mean square (default False).

    Raises:
        ValueError: lr, eps, momentum, weight_decay or alpha negative
            ("Invalid learning rate: -0.1", "Invalid alpha value: -0.5", ...).
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False) -> None:
        # BEGIN SOLUTION Task 2.3
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        # END SOLUTION
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Take one step; returns closure() (called with grad enabled) if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # BEGIN SOLUTION Task 2.4
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, momentum = group["weight_decay"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:                           # p's first step
                    state["step"] = torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch
                    state["square_avg"] = torch.zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    if group["centered"]:
                        state["grad_avg"] = torch.zeros_like(p)
                state["step"] += 1

                g = p.grad
                if weight_decay != 0:
                    g = g + weight_decay * p
                v = state["square_avg"]
                v.mul_(alpha).addcmul_(g, g, value=1 - alpha)  # v = alpha v + (1-alpha) g^2
                if group["centered"]:
                    gm = state["grad_avg"]
                    gm.mul_(alpha).add_(g, alpha=1 - alpha)    # gm = alpha gm + (1-alpha) g
                    avg = (v - gm * gm).sqrt() + eps
                else:
                    avg = v.sqrt() + eps
                if momentum > 0:
                    b = state["momentum_buffer"]
                    b.mul_(momentum).add_(g / avg)             # b = momentum b + g / avg
                    p.add_(b, alpha=-lr)
                else:
                    p.add_(g / avg, alpha=-lr)
        # END SOLUTION
        return loss


class Adam(torch.optim.Optimizer):
    """Adam, as torch.optim.Adam (weight decay as an L2 penalty on g).

    For every parameter p with a gradient, at every step:

        t = t + 1                                     # p's OWN step count
        g = p.grad + weight_decay * p                 # coupled L2 penalty
        m = beta1 * m + (1 - beta1) * g               # exp_avg, starts at 0
        v = beta2 * v + (1 - beta2) * g**2            # exp_avg_sq, starts at 0
        m_hat = m / (1 - beta1**t)                    # bias corrections
        if amsgrad:
            v_max = max(v_max, v)                     # element-wise, on the RAW v
            v_hat = v_max / (1 - beta2**t)
        else:
            v_hat = v / (1 - beta2**t)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)      # eps AFTER the sqrt

    Traps: t counts the steps of THIS parameter (a parameter that had no
    gradient in some steps has a smaller t than the others), so keep it in
    self.state[p], not in a global counter. eps is added after taking the
    square root of the bias-corrected v_hat. amsgrad keeps the maximum of the
    uncorrected v and corrects it afterwards.

    State (created on p's first step, with zeros shaped like p):
        "step"            t: a 0-dim float32 CPU tensor, as PyTorch stores it
                          (torch.zeros((), dtype=torch.float32)); read it with
                          float(state["step"]). What is graded is that
                          state_dict() loads into torch.optim.Adam and training
                          goes on there identically, in its per-tensor and its
                          foreach loop: a Python number or a float tensor does,
                          an integer tensor (torch.tensor(0)) does not (foreach
                          refuses it)
        "exp_avg"         m
        "exp_avg_sq"      v
        "max_exp_avg_sq"  v_max (only when amsgrad)

    Args:
        params: an iterable of tensors, or of dicts (parameter groups).
        lr: learning rate (default 1e-3), >= 0.
        betas: (beta1, beta2), each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8), >= 0.
        weight_decay: L2 penalty added to the gradient (default 0), >= 0.
        amsgrad: use the AMSGrad variant (default False).

    Raises:
        ValueError: lr, eps or weight_decay negative, or a beta outside [0, 1)
            ("Invalid beta parameter at index 0: 1.0", ...).
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False) -> None:
        # BEGIN SOLUTION Task 2.5
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        # END SOLUTION
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Take one step; returns closure() (called with grad enabled) if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # BEGIN SOLUTION Task 2.6
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay = group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:                           # p's first step
                    state["step"] = torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = float(state["step"])                      # CPU scalar: no device sync

                g = p.grad
                if weight_decay != 0:
                    g = g + weight_decay * p
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                m_hat = m / (1 - beta1 ** t)
                if group["amsgrad"]:
                    v_max = state["max_exp_avg_sq"]
                    torch.maximum(v_max, v, out=v_max)        # max of the raw v
                    v_hat = v_max / (1 - beta2 ** t)
                else:
                    v_hat = v / (1 - beta2 ** t)
                p.add_(m_hat / (v_hat.sqrt() + eps), alpha=-lr)
        # END SOLUTION
        return loss


class AdamW(torch.optim.Optimizer):
    """AdamW, as torch.optim.AdamW: Adam with DECOUPLED weight decay.

    For every parameter p with a gradient, at every step:

        t = t + 1
        p = p * (1 - lr * weight_decay)               # decay the weights FIRST
        g = p.grad                                    # no weight-decay term in g
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        ... then exactly as Adam (bias corrections with p's own t, amsgrad's
        max on the raw v, eps after the sqrt):
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    Traps: the decay shrinks the parameter directly, before the moment
    updates, and never enters m or v (adding weight_decay * p to g would be
    Adam's L2 penalty, which Adam's 1/sqrt(v) rescales per element: that is
    exactly what AdamW avoids). The default weight_decay is 1e-2, not 0.

    State: "step", "exp_avg", "exp_avg_sq" and, with amsgrad,
    "max_exp_avg_sq", as in Adam (state_dict() loads into torch.optim.AdamW).

    Args:
        params: an iterable of tensors, or of dicts (parameter groups).
        lr: learning rate (default 1e-3), >= 0.
        betas: (beta1, beta2), each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8), >= 0.
        weight_decay: decoupled decay coefficient (default 1e-2), >= 0.
        amsgrad: use the AMSGrad variant (default False).

    Raises:
        ValueError: as Adam.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        # BEGIN SOLUTION Task 2.7
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        # END SOLUTION
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Take one step; returns closure() (called with grad enabled) if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # BEGIN SOLUTION Task 2.8
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay = group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = torch.zeros((), dtype=torch.float32)  # CPU, as PyTorch
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = float(state["step"])

                p.mul_(1 - lr * weight_decay)                 # decoupled decay, first
                g = p.grad
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                m_hat = m / (1 - beta1 ** t)
                if group["amsgrad"]:
                    v_max = state["max_exp_avg_sq"]
                    torch.maximum(v_max, v, out=v_max)
                    v_hat = v_max / (1 - beta2 ** t)
                else:
                    v_hat = v / (1 - beta2 ** t)
                p.add_(m_hat / (v_hat.sqrt() + eps), alpha=-lr)
        # END SOLUTION
        return loss
