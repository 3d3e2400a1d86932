"""What acts on training besides the loss: the protocol of a training method, and the methods by
``distancing.space``.

A method is told of every batch (its logits and which training samples they are) and may put a
term on the loss; it may add a gradient to the flat parameters after the backward pass; at a
checkpoint it stores what it needs; it saves its state for resume and reports one distance per
stored checkpoint at every epoch's end. The Trainer knows only this protocol, so another hill
is one class here and one name in ``config.HILL_SPACES``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch

from .hill import DistancingHill


class TrainingMethod(Protocol):
    checkpoint_epochs: list[int]  # the epochs of the stored checkpoints, in order

    def loss_term(self, logits: torch.Tensor, index: torch.Tensor) -> torch.Tensor | None:
        """A term added to the batch's loss before backward (``index``: the samples' positions
        in the training set), or None; autograd differentiates it."""

    def add_gradient(self, theta: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """Add a gradient to the flat gradient in place after backward; return the term's value
        (a 0-d tensor, no host sync)."""

    def add_checkpoint(self, theta: torch.Tensor, epoch: int) -> None:
        """Store a checkpoint of the network after ``epoch`` (``theta``: the flat parameters)."""

    def distances(self, theta: torch.Tensor) -> torch.Tensor:
        """The logged distance to every stored checkpoint (a length-C tensor)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def weight_hill(config: dict[str, Any], num_params: int, device: torch.device) -> TrainingMethod:
    """The paper's hill on the flat weights (hill.py)."""
    dist = config["distancing"]
    return DistancingHill(dist["strength"], dist["sigma2"], num_params, dist["normalize"], device=device)


METHODS: dict[str, Callable[[dict[str, Any], int, torch.device], TrainingMethod]] = {"weights": weight_hill}


def build_method(config: dict[str, Any], num_params: int, device: torch.device) -> TrainingMethod:
    """The training method that ``distancing.space`` names."""
    return METHODS[config["distancing"]["space"]](config, num_params, device)
