"""What acts on training besides the loss: the protocol of a training method, the methods by
``distancing.space``, and what every run logs of its stored checkpoints.

A method is told of every batch (its logits and which training samples they are) and may put a
term on the loss; it may add a gradient to the flat parameters after the backward pass; at a
checkpoint it stores what it needs (the weights, or the checkpoint's predictions on the
training inputs); it saves its state for resume. The Trainer knows only this protocol, so
another hill is one module (its class and the function that builds it from a run config) and its
entry in ``config.HILL_SPACES`` (its settings, their defaults and check, where its width lives).
Whatever the method, :class:`CheckpointLog` logs how far the network has moved from every
checkpoint, in weight space and in function space.
"""

from __future__ import annotations

import importlib
import math
from typing import Any, Protocol

import torch

from .config import HILL_SPACES
from .function_hill import DISTANCES, to_checkpoints


class TrainingMethod(Protocol):
    checkpoint_epochs: list[int]  # the epochs of the stored checkpoints, in order

    def loss_term(self, logits: torch.Tensor, index: torch.Tensor) -> torch.Tensor | None:
        """A term added to the batch's loss before backward (``index``: the samples' positions
        in the training set), or None; autograd differentiates it."""

    def add_gradient(self, theta: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """Add a gradient to the flat gradient in place after backward; return the term's value
        (a 0-d tensor, no host sync)."""

    def add_checkpoint(self, theta: torch.Tensor, epoch: int, log_probs: torch.Tensor) -> None:
        """Store a checkpoint of the network after ``epoch``: ``theta`` its flat parameters,
        ``log_probs`` its log-probabilities on the un-augmented training inputs (N × K)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def build_method(config: dict[str, Any], num_params: int, device: torch.device) -> TrainingMethod:
    """The training method that ``distancing.space`` names, built by its entry's function
    (``config.HILL_SPACES``)."""
    module, function = HILL_SPACES[config["distancing"]["space"]].build.split(":")
    return getattr(importlib.import_module(module), function)(config, num_params, device)


class CheckpointLog:
    """What every run keeps of its stored checkpoints, whatever its method, to log at each
    epoch's end how far the network is from each (``files.DISTANCES_COLUMNS``):

    - ``distance``: ‖θ − θ_c‖₂ over the trainable parameters (what the weight hill pushes);
    - ``function_distance``: D (``distancing.function.distance``) between the network's and the
      checkpoint's predictions on the first n training inputs, n = min(training samples,
      validation samples), both in evaluation mode, un-augmented (what the function hill pushes;
      n caps the extra evaluation at the validation split's size: CIFAR's first 10000 of 50000;
      n = 0 where nothing reads it, ``function_distance: false``: the column is then empty);
    - ``disagreement``: the fraction of validation samples whose predicted class differs from
      the checkpoint's (what either changes), from the stored validation predictions.
    """

    def __init__(self, distance: str, samples: int) -> None:
        self.distance, self.samples = DISTANCES[distance], samples
        self.epochs: list[int] = []
        self.weights: list[torch.Tensor] = []
        self.log_probs: list[torch.Tensor] = []  # on the first ``samples`` training inputs
        self.predictions: list[torch.Tensor] = []  # validation classes

    def add(self, epoch: int, theta: torch.Tensor, log_probs: torch.Tensor, val_probs: torch.Tensor) -> None:
        self.epochs.append(int(epoch))
        self.weights.append(theta.detach().clone())
        self.log_probs.append(log_probs[:self.samples].detach().clone())
        self.predictions.append(val_probs.argmax(-1))

    def rows(self, epoch: int, theta: torch.Tensor, log_probs: torch.Tensor, val_probs: torch.Tensor) -> list[dict]:
        """One row per stored checkpoint: the three distances of the network after ``epoch``."""
        if not self.epochs:
            return []
        weight = (torch.stack(self.weights) - theta).pow(2).sum(1).sqrt().tolist()
        function = (to_checkpoints(self.distance, log_probs[:self.samples], torch.stack(self.log_probs)).tolist()
                    if self.samples else [math.nan] * len(self.epochs))
        classes = val_probs.argmax(-1)
        disagreement = [float((classes != stored).double().mean()) for stored in self.predictions]
        return [{"epoch": epoch, "checkpoint": i, "checkpoint_epoch": c, "distance": weight[i],
                 "function_distance": function[i], "disagreement": disagreement[i]}
                for i, c in enumerate(self.epochs)]

    def state_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "weights": self.weights, "log_probs": self.log_probs,
                "predictions": self.predictions}

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        self.epochs = list(state["epochs"])
        self.weights = [t.to(device) for t in state["weights"]]
        self.log_probs = [t.to(device) for t in state["log_probs"]]
        self.predictions = list(state["predictions"])
