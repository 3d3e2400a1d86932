"""The distancing hill: Gaussian hills centred on stored checkpoints, added to the loss.

    penalty(θ) = s · (1/C) · Σ_c exp(−‖θ − θ_c‖² / (2 σ² P))

θ is the vector of all trainable parameters (BatchNorm running statistics are buffers and
are left out), P its length (dropped with ``normalize=False``). To make this cheap, the
model's parameters and gradients are re-pointed into two flat buffers (:class:`FlatParameters`),
so the hill is a handful of vector operations on one tensor per step, whatever the number of
tensors in the network. Its gradient is added to the flat gradient buffer after the loss's
backward pass; that is exactly the gradient of ``loss + penalty`` (Algorithm 4's ĝ), so any
optimiser works unchanged and no host synchronisation is needed.
"""

from __future__ import annotations

import torch
from torch import nn


class FlatParameters:
    """Keeps every trainable parameter (and its gradient) as a view into one flat buffer.

    Call it after the model is on its device. The trainer's SGD updates :attr:`data` directly
    (``optim.FlatSGD``); the per-tensor parameters stay views of it, so in-place updates to
    them, by any optimiser, write through too.
    """

    def __init__(self, model: nn.Module, channels_last: bool = False) -> None:
        params = [p for p in model.parameters() if p.requires_grad]
        first = params[0]
        self.numel = sum(p.numel() for p in params)
        self.data = torch.empty(self.numel, dtype=first.dtype, device=first.device)
        self.grad = torch.zeros_like(self.data)
        offset = 0
        for p in params:
            n = p.numel()
            data, grad = self.data[offset:offset + n], self.grad[offset:offset + n]
            view = _channels_last_view if channels_last and p.dim() == 4 else _plain_view
            view(data, p).copy_(p.detach())
            p.data, p.grad = view(data, p), view(grad, p)
            offset += n

    def zero_grad(self) -> None:
        """Zero the gradient in place (the per-parameter ``.grad`` views stay attached)."""
        self.grad.zero_()


def _plain_view(flat: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return flat.view(like.shape)


def _channels_last_view(flat: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A (O, I, H, W) view of ``flat`` laid out as NHWC, the layout of channels_last weights."""
    o, i, h, w = like.shape
    return flat.view(o, h, w, i).permute(0, 3, 1, 2)


class DistancingHill:
    """The stored checkpoints θ_c and the hill's value and gradient: the training
    method ``distancing.space: weights`` (``methods.TrainingMethod``).

    ``strength`` is s, ``sigma2`` is σ², ``normalize`` divides σ² by the number of parameters.
    """

    def __init__(self, strength: float, sigma2: float, numel: int, normalize: bool = True,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> None:
        self.strength = float(strength)
        self.sigma2 = float(sigma2)
        self.numel = int(numel)
        self.normalize = bool(normalize)
        self.checkpoints = torch.empty(0, self.numel, device=device, dtype=dtype)
        self.squared_norms = torch.empty(0, device=device, dtype=dtype)  # ‖θ_c‖², cached
        self.checkpoint_epochs: list[int] = []

    @property
    def width(self) -> float:
        """The Gaussian's variance in squared-distance units: σ²·P (normalised) or σ²."""
        return self.sigma2 * self.numel if self.normalize else self.sigma2

    @property
    def count(self) -> int:
        return len(self.checkpoint_epochs)

    @property
    def active(self) -> bool:
        return self.count > 0 and self.strength > 0

    def add_checkpoint(self, theta: torch.Tensor, epoch: int, log_probs: torch.Tensor | None = None) -> None:
        """Store a copy of θ as a new hill centre (the checkpoint's predictions are not needed here)."""
        centre = theta.detach().reshape(1, -1).clone()
        self.checkpoints = torch.cat([self.checkpoints, centre])
        self.squared_norms = torch.cat([self.squared_norms, centre.pow(2).sum(1)])
        self.checkpoint_epochs.append(int(epoch))

    def heights(self, theta: torch.Tensor) -> torch.Tensor:
        """h(θ, θ_c) for every checkpoint c (a length-C tensor).

        ‖θ − θ_c‖² = ‖θ_c‖² − 2 θ_c·θ + ‖θ‖²: one matrix-vector product over the stored
        checkpoints and no C × P temporary. The cancellation error (about 1e-7 ‖θ‖² in float32)
        is negligible against the hill's width 2σ²P in the exponent; logged distances use the
        direct difference (``methods.CheckpointLog``).
        """
        squared = (self.squared_norms - 2.0 * (self.checkpoints @ theta) + theta.dot(theta)).clamp_min(0.0)
        return torch.exp(-squared / (2.0 * self.width))

    def loss_term(self, logits: torch.Tensor, index: torch.Tensor) -> None:
        """None: this hill acts on the weights, through :meth:`add_gradient`."""
        return None

    def penalty(self, theta: torch.Tensor) -> torch.Tensor:
        """s · mean_c h(θ, θ_c); zero (as a tensor) when no checkpoint is stored."""
        if self.count == 0:
            return theta.new_zeros(())
        return self.strength * self.heights(theta).mean()

    def add_gradient(self, theta: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """Add ∇penalty(θ) to ``grad`` in place and return the penalty (a 0-d tensor, no sync).

        ∇ s·mean_c h_c = s/(C·w) · Σ_c h_c (θ_c − θ), with w = σ²P: it points away from every
        checkpoint, so a descent step moves θ away from where training has already been.
        """
        if not self.active:
            return theta.new_zeros(())
        h = self.heights(theta)
        scale = self.strength / (self.count * self.width)
        # Σ_c h_c θ_c − (Σ_c h_c) θ, as one matrix-vector product and one axpy.
        grad.add_(h @ self.checkpoints, alpha=scale)
        grad.sub_(scale * h.sum() * theta)
        return self.strength * h.mean()

    def state_dict(self) -> dict:
        return {"checkpoints": self.checkpoints, "squared_norms": self.squared_norms,
                "checkpoint_epochs": list(self.checkpoint_epochs)}

    def load_state_dict(self, state: dict) -> None:
        self.checkpoints = state["checkpoints"].to(self.checkpoints.device, self.checkpoints.dtype)
        self.squared_norms = state["squared_norms"].to(self.checkpoints.device, self.checkpoints.dtype)
        self.checkpoint_epochs = list(state["checkpoint_epochs"])


def build(config: dict, num_params: int, device: torch.device) -> DistancingHill:
    """The paper's hill on the flat weights, from a run config (``config.HILL_SPACES["weights"]``)."""
    dist = config["distancing"]
    return DistancingHill(dist["strength"], dist["sigma2"], num_params, dist["normalize"], device=device)
