"""The hill in function space: Gaussian hills centred on stored checkpoints' predictions.

    penalty(θ) = s · (1/C) · Σ_c exp(−D_B(θ, c) / (2 σ_f²)),
    D_B(θ, c)  = (1/|B|) · Σ_{i ∈ B} JS(p_θ(x_i) ‖ p_c(x_i))

B is the current batch and p_θ(x_i) the softmax of its logits, which the loss computes anyway,
so the term costs no extra forward pass. p_c(x_i) is checkpoint c's predictive distribution
on training sample i, stored once when the checkpoint is (the network in evaluation mode on
the un-augmented training inputs: ``Trainer.train_log_probs``). Where inputs are augmented
(CIFAR), the batch's augmented views are compared with their un-augmented twins' stored
predictions: the hill needs no probe set and no second forward pass; the price is a floor, the
checkpoint's own disagreement with itself under augmentation, below which D_B cannot fall.
D_B is the batch's estimate of D, the mean over the training inputs, which every run logs at
each epoch's end (``methods.CheckpointLog``, on the first min(training, validation) samples).

Why Jensen–Shannon (``DISTANCES`` keeps the alternatives the literature uses):

- it is symmetric, so "far from the checkpoint" means the same seen from either side, and it
  stays finite where one distribution puts no mass on a class the other predicts (KL(p_c ‖ p_θ)
  does not; D-BAT's and repulsive ensembles' kernels face the same choice);
- it is bounded by ln 2 per sample: σ_f² has one scale on every dataset, and a few samples the
  two networks disagree on completely cannot dominate the batch, unlike KL or the squared
  difference of log-probabilities, which are unbounded;
- near p = q, JS ≈ (1/8) Σ_k (p_k − q_k)² / p_k, a quadratic form in the change of the
  logits (the Fisher metric of the softmax): the hill is then a Gaussian in function space,
  as the weight-space hill (``hill.py``) is one in weight space. The squared difference of
  probabilities lacks the 1/p_k and so barely notices changes among unlikely classes.

With m = (p + q) / 2, JS(p ‖ q) = ½ Σ_k p_k log(p_k / m_k) + ½ Σ_k q_k log(q_k / m_k), computed
from log-probabilities (log m = logaddexp(log p, log q) − log 2), so no probability is ever
divided by. The gradient comes from autograd through the loss: with z the logits,
∂JS/∂z_j = ½ p_j (log(p_j/m_j) − Σ_k p_k log(p_k/m_k)), and ∂penalty/∂z =
−s/(2 σ_f² C) Σ_c h_c ∂D_B(θ, c)/∂z; it vanishes at the checkpoint (p = q), as the weight hill's
gradient does at its centre (tests check it against finite differences).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def jensen_shannon(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """JS(p ‖ q) per sample (the last axis holds the classes), in nats, in [0, ln 2]."""
    log_m = torch.logaddexp(log_p, log_q) - math.log(2.0)
    return (0.5 * (log_p.exp() * (log_p - log_m) + log_q.exp() * (log_q - log_m)).sum(-1)).clamp_min(0.0)


def symmetric_kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p ‖ q) + KL(q ‖ p) per sample: unbounded, large where either is confident and wrong."""
    return ((log_p.exp() - log_q.exp()) * (log_p - log_q)).sum(-1)


def squared_probabilities(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Σ_k (p_k − q_k)² per sample (the Brier score's distance), in [0, 2]."""
    return (log_p.exp() - log_q.exp()).pow(2).sum(-1)


def squared_log_probabilities(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Σ_k (log p_k − log q_k)² per sample: unbounded where a class's probability nears zero."""
    return (log_p - log_q).pow(2).sum(-1)


DISTANCES: dict[str, Distance] = {  # distancing.function.distance (config.FUNCTION_DISTANCES, a test keeps them equal)
    "jensen_shannon": jensen_shannon,
    "symmetric_kl": symmetric_kl,
    "squared_probabilities": squared_probabilities,
    "squared_log_probabilities": squared_log_probabilities,
}


def to_checkpoints(distance: Distance, log_p: torch.Tensor, stored: torch.Tensor) -> torch.Tensor:
    """Mean over samples of D(p, p_c) for every checkpoint c: ``log_p`` (N × K) against ``stored``
    (C × N × K, the checkpoints' log-probabilities on the same samples); a length-C tensor."""
    return distance(log_p.unsqueeze(0), stored).mean(-1)


class FunctionHill:
    """The stored checkpoints' predictions and the hill on them: the training method
    ``distancing.space: function`` (``methods.TrainingMethod``).

    ``strength`` is s, ``sigma2`` is σ_f² (in the units of D: nats for Jensen–Shannon),
    ``distance`` a key of ``DISTANCES``.
    """

    def __init__(self, strength: float, sigma2: float, distance: str, device: torch.device | str = "cpu") -> None:
        self.strength, self.sigma2 = float(strength), float(sigma2)
        self.distance = DISTANCES[distance]
        self.log_probs: torch.Tensor | None = None  # C × N × K, the checkpoints' on the training inputs
        self.checkpoint_epochs: list[int] = []
        self.device = device

    @property
    def count(self) -> int:
        return len(self.checkpoint_epochs)

    def add_checkpoint(self, theta: torch.Tensor, epoch: int, log_probs: torch.Tensor) -> None:
        """Store the checkpoint's log-probabilities on the training inputs (N × K) as a hill centre."""
        centre = log_probs.detach().float().unsqueeze(0)
        self.log_probs = centre if self.log_probs is None else torch.cat([self.log_probs, centre])
        self.checkpoint_epochs.append(int(epoch))

    def heights(self, logits: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """h_f(θ, c) = exp(−D_B(θ, c) / (2 σ_f²)) for every checkpoint, on the batch's samples."""
        log_p = torch.log_softmax(logits.to(self.log_probs.dtype), dim=-1)  # float32 under bf16 autocast
        return torch.exp(-to_checkpoints(self.distance, log_p, self.log_probs[:, index]) / (2.0 * self.sigma2))

    def loss_term(self, logits: torch.Tensor, index: torch.Tensor) -> torch.Tensor | None:
        """s · mean_c h_f(θ, c) on this batch (autograd differentiates it); None without a checkpoint."""
        if self.count == 0 or self.strength == 0:
            return None
        return self.strength * self.heights(logits, index).mean()

    def add_gradient(self, theta: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """Nothing: this hill acts through :meth:`loss_term`."""
        return theta.new_zeros(())

    def state_dict(self) -> dict:
        return {"log_probs": self.log_probs, "checkpoint_epochs": list(self.checkpoint_epochs)}

    def load_state_dict(self, state: dict) -> None:
        stored = state["log_probs"]
        self.log_probs = None if stored is None else stored.to(self.device)
        self.checkpoint_epochs = list(state["checkpoint_epochs"])


def build(config: dict, num_params: int, device: torch.device) -> FunctionHill:  # noqa: ARG001 (no weights)
    """The hill on the checkpoints' predictions, of width ``distancing.function.sigma2``, from a run
    config (``config.HILL_SPACES["function"]``)."""
    dist = config["distancing"]
    return FunctionHill(dist["strength"], dist["function"]["sigma2"], dist["function"]["distance"], device=device)
