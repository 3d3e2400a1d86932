"""SGD on the one flat parameter vector, driven by PyTorch's own learning-rate schedulers.

The update is ``torch.optim.SGD``'s (weight decay added to the gradient, the momentum buffer
started with the first gradient, no dampening, no Nesterov; a test checks it bit for bit),
applied to the flat buffer of :class:`~distancing.hill.FlatParameters`: one update of one
tensor per step instead of one per layer. It does not run ``Optimizer.__init__``, whose
first call imports ``torch._dynamo``: about a second of every run's start-up on a CPU.
"""

from __future__ import annotations

from typing import Any

import torch


class FlatSGD(torch.optim.Optimizer):
    """SGD (Algorithm 1) or SGD with momentum (Algorithm 2) on a flat parameter vector.

    It is a ``torch.optim.Optimizer`` only so that PyTorch's schedulers can set its learning
    rate (``param_groups[0]["lr"]``); it holds no per-tensor parameter groups.
    """

    def __init__(self, params: torch.Tensor, grad: torch.Tensor, train: dict[str, Any]) -> None:
        self.params, self.grad = params, grad
        self.momentum = train["momentum"] if train["optimizer"] == "momentum" else 0.0
        self.weight_decay = train["weight_decay"]
        self.buffer: torch.Tensor | None = None  # momentum, created by the first step
        self.defaults = {"lr": train["lr"]}
        self.param_groups = [{"lr": train["lr"], "params": []}]
        self.state: dict = {}

    @property
    def lr(self) -> float:
        """The learning rate the next step uses (set by the scheduler)."""
        return self.param_groups[0]["lr"]

    @torch.no_grad()
    def step(self, closure: None = None) -> None:
        """θ ← θ − lr · v, with v = μ v + (g + λ θ); the gradient buffer is used as scratch."""
        update = self.grad
        if self.weight_decay:
            update.add_(self.params, alpha=self.weight_decay)
        if self.momentum:
            if self.buffer is None:
                self.buffer = update.clone()
            else:
                self.buffer.mul_(self.momentum).add_(update)
            update = self.buffer
        self.params.add_(update, alpha=-self.lr)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.grad.zero_()

    def state_dict(self) -> dict[str, Any]:
        return {"lr": self.lr, "buffer": self.buffer}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.param_groups[0]["lr"], self.buffer = state["lr"], state["buffer"]


def build_scheduler(optimizer: torch.optim.Optimizer, train: dict[str, Any],
                    steps_per_epoch: int) -> torch.optim.lr_scheduler.LRScheduler:
    """PyTorch's own schedulers, stepped once per iteration."""
    total = train["epochs"] * steps_per_epoch
    if train["schedule"] == "constant":
        return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    if train["schedule"] == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total, eta_min=train["min_lr"])
    if train["schedule"] == "fge":
        return fge_schedule(optimizer, train, steps_per_epoch)
    restarts = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, T_0=train["restart_epochs"] * steps_per_epoch, T_mult=train["restart_mult"],
        eta_min=train["min_lr"])
    first = train.get("first_cycle_epochs")
    if first is None:
        return restarts
    # A first cycle long enough to converge, then SGDR: every cycle end after it is a converged
    # network (what a snapshot ensemble and the hill's checkpoints need).
    converge = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=first * steps_per_epoch,
                                                          eta_min=train["min_lr"])
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [converge, restarts],
                                                 milestones=[first * steps_per_epoch])


def fge_schedule(optimizer: torch.optim.Optimizer, train: dict[str, Any],
                 steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Fast Geometric Ensembling's cyclical rate (Garipov et al. 2018): within each cycle of c =
    restart_epochs epochs, at fraction t = k / (c · steps) of it, the rate falls linearly from
    lr₁ = lr to lr₂ = min_lr at t = ½ and rises back to lr₁ at t = 1:

        lr(t) = (1 − 2t) lr₁ + 2t lr₂  (t < ½),    lr(t) = (2t − 1) lr₁ + (2 − 2t) lr₂  (t ≥ ½).

    The members are the networks after epochs c/2, 3c/2, …, where the rate is lowest."""
    cycle, high, low = train["restart_epochs"] * steps_per_epoch, train["lr"], train["min_lr"]

    def factor(step: int) -> float:
        t = (step % cycle) / cycle
        rate = (1 - 2 * t) * high + 2 * t * low if t < 0.5 else (2 * t - 1) * high + (2 - 2 * t) * low
        return rate / high

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
