"""Are two members in one basin? The loss on the straight line between them, BatchNorm recomputed.

For members a and b (``members.py``: parameters θ and BatchNorm buffers each) the path is

    θ(t) = (1 − t) θ_a + t θ_b,   t = 0, 1/(K − 1), ..., 1   (K ≥ 3 points).

An interpolated network's BatchNorm statistics are not the blend of the endpoints': the blended
weights change every layer's activation statistics, and stale statistics alone make a midpoint
look bad (Jordan et al. 2023, REPAIR). So at every point, the endpoints included, each
BatchNorm layer's running statistics are reset and recomputed in one pass over the first n
training inputs (train mode, no gradient, cumulative average: ``momentum=None``), and the
network is then evaluated in evaluation mode. Along the path we record the training loss (on
the same n un-augmented inputs) and the validation loss and error.

The barrier of a path of values v(t) is the largest excess over the straight blend of its
endpoints (Entezari et al. 2022):

    B = max_t [ v(t) − ((1 − t) v(0) + t v(1)) ],

zero (or nearly) when the two members are linearly connected (one basin), large when a ridge
lies between them. Of the validation error it is Frankle et al.'s (2020) instability. The
weights are blended in float64 and stored as float32, so the endpoints are the members exactly.

The same mixing averages M members into one network, (1/M) Σ θ_i, BatchNorm recomputed the
same way (SWA, Izmailov et al. 2018): members in one basin average into a good network,
members in different basins do not. ``mix`` is the one definition of both.

Every pass over the inputs goes through a ``forward`` (network, inputs) -> logits: the runs'
own evaluation forward pass (``forward_pass``), compiled by Inductor where the run compiled its
steps (``compiled.py``, the same pins, so the same bytes on every x86-64 machine), eager
otherwise. A point is three passes over ``samples`` inputs or the validation split, so the
network's forward pass is nearly all a measurement costs (``benchmarks/measurement_cost.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import compiled
from .config import model_options
from .data import Dataset
from .models import build_model

Forward = Callable[[nn.Module, torch.Tensor], torch.Tensor]  # (network, inputs) -> logits

PATH_COLUMNS = ("t", "train_loss", "val_loss", "val_error")


def barrier(t: Sequence[float], values: Sequence[float]) -> float:
    """max_t [v(t) − ((1 − t) v(0) + t v(1))] of a path sampled at ``t`` (from 0 to 1)."""
    t, v = np.asarray(t, dtype=np.float64), np.asarray(values, dtype=np.float64)
    return float(np.max(v - ((1 - t) * v[0] + t * v[-1])))


def network(config: Mapping[str, Any], data: Dataset) -> nn.Module:
    """An untrained network of a run's model, for loading members' states into."""
    return build_model(config["model"]["name"], data.dim, data.in_channels, data.num_classes,
                       **model_options(config))


def forward_pass(config: Mapping[str, Any]) -> Forward:
    """The run's evaluation forward pass: compiled where its training compiled (``train.compile``,
    ``compiled.wanted`` on the CPU the measurements run on), eager otherwise."""
    return compiled.steps(compiled.wanted(config["train"], config["numerics"], torch.device("cpu")),
                          torch.device("cpu"))[1]


def mix(states: Sequence[Mapping[str, np.ndarray]], weights: Sequence[float],
        parameters: Sequence[str]) -> dict[str, torch.Tensor]:
    """Σ_i w_i θ_i of the members' parameters (in float64, stored as float32); the buffers are the
    first member's, to be recomputed (``recompute_batchnorm``)."""
    state = {name: torch.from_numpy(np.array(value)) for name, value in states[0].items()}
    for name in parameters:
        mixed = sum(w * s[name].astype(np.float64) for w, s in zip(weights, states, strict=True))
        state[name] = torch.from_numpy(mixed.astype(states[0][name].dtype))
    return state


def blend(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], t: float,
          parameters: Sequence[str]) -> dict[str, torch.Tensor]:
    """The state at t on the line from a to b."""
    return mix([a, b], [1 - t, t], parameters)


def average(states: Sequence[Mapping[str, np.ndarray]], parameters: Sequence[str]) -> dict[str, torch.Tensor]:
    """The members averaged in weight space (SWA's average, Izmailov et al. 2018)."""
    return mix(states, [1 / len(states)] * len(states), parameters)


@torch.no_grad()
def recompute_batchnorm(model: nn.Module, inputs: torch.Tensor, batch_size: int,
                        forward: Forward = compiled.logits_of) -> None:
    """Reset every BatchNorm layer's running statistics and recompute them in one pass over
    ``inputs``: cumulative averages, as ``torch.optim.swa_utils.update_bn`` does (momentum None),
    spelled out as the momentum 1/k of the k-th batch, the same numbers, which a compiled
    ``forward`` sees as a constant of its graph."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
    model.train()
    for k, start in enumerate(range(0, len(inputs), batch_size), start=1):
        for m in norms:
            m.momentum = 1.0 / k
        forward(model, inputs[start:start + batch_size])
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    model.eval()


@torch.inference_mode()
def loss_and_error(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int,
                   forward: Forward = compiled.logits_of) -> tuple[float, float]:
    """Mean cross-entropy and error fraction in evaluation mode."""
    model.eval()
    loss, wrong = 0.0, 0
    for start in range(0, len(labels), batch_size):
        logits = forward(model, inputs[start:start + batch_size]).float()
        y = labels[start:start + batch_size]
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        wrong += (logits.argmax(1) != y).sum().item()
    return loss / len(labels), wrong / len(labels)


@torch.inference_mode()
def probabilities(model: nn.Module, inputs: torch.Tensor, batch_size: int,
                  forward: Forward = compiled.logits_of) -> np.ndarray:
    """Class probabilities in evaluation mode (float32), as members' are stored."""
    model.eval()
    parts = [torch.softmax(forward(model, inputs[start:start + batch_size]).float(), 1)
             for start in range(0, len(inputs), batch_size)]
    return torch.cat(parts).cpu().numpy()


Scored = tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]  # (inputs, labels) twice


def scoring_inputs(data: Dataset, samples: int) -> Scored:
    """The first ``samples`` training inputs (BatchNorm's pass and the training loss) and the
    validation split, prepared once for every point of a line or a plane."""
    return ((data.prepare(data.x_train[:samples]), data.y_train[:samples]),
            (data.prepare(data.x_val), data.y_val))


def scored_point(model: nn.Module, state: Mapping[str, torch.Tensor], inputs: Scored, batch_size: int,
                 forward: Forward = compiled.logits_of) -> dict[str, float]:
    """One point of a line or a plane: the mixed ``state`` loaded, BatchNorm recomputed on the
    training inputs, then the training loss on them and the validation loss and error
    (``PATH_COLUMNS`` after t)."""
    (train_x, train_y), (val_x, val_y) = inputs
    model.load_state_dict(state)
    recompute_batchnorm(model, train_x, batch_size, forward)
    train_loss, _ = loss_and_error(model, train_x, train_y, batch_size, forward)
    val_loss, val_error = loss_and_error(model, val_x, val_y, batch_size, forward)
    return {"train_loss": train_loss, "val_loss": val_loss, "val_error": val_error}


def line(model: nn.Module, a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], parameters: Sequence[str],
         data: Dataset, points: int, samples: int, batch_size: int,
         forward: Forward = compiled.logits_of) -> list[dict[str, float]]:
    """The path from member a to member b at ``points`` evenly spaced t (``PATH_COLUMNS``), with
    BatchNorm recomputed at each on the first ``samples`` training inputs."""
    inputs = scoring_inputs(data, samples)
    return [{"t": float(t), **scored_point(model, blend(a, b, float(t), parameters), inputs, batch_size, forward)}
            for t in np.linspace(0.0, 1.0, points)]


def plane_weights(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], c: Mapping[str, np.ndarray],
                  parameters: Sequence[str], grid: int, margin: float = 0.25) -> tuple[list[dict[str, float]],
                                                                                      dict[str, tuple[float, float]]]:
    """The plane through three members (Garipov et al. 2018): orthonormal axes from a, û along
    b − a and v̂ along the part of c − a orthogonal to û, so a = (0, 0), b = (‖b − a‖, 0) and c =
    (⟨c − a, û⟩, ‖c − a − ⟨c − a, û⟩ û‖). A point (x, y) is θ = a + x û + y v̂, which is the mix
    (1 − α − β + βk) a + (α − βk) b + β c with α = x / ‖b − a‖, β = y / ‖v‖, k = ⟨c − a, û⟩ / ‖b − a‖.
    Returns the ``grid`` × ``grid`` points of a square around the three members, wider than their
    box by ``margin`` of its longer side each way, with their mixing weights, and the members' own
    coordinates."""
    flat = [np.concatenate([s[name].astype(np.float64).ravel() for name in parameters]) for s in (a, b, c)]
    u, w = flat[1] - flat[0], flat[2] - flat[0]
    length = float(np.linalg.norm(u))
    along = float(w @ u) / length
    height = float(np.linalg.norm(w - along * u / length))
    corners = {"a": (0.0, 0.0), "b": (length, 0.0), "c": (along, height)}
    xs, ys = [x for x, _ in corners.values()], [y for _, y in corners.values()]
    half = (0.5 + margin) * max(max(xs) - min(xs), max(ys) - min(ys))  # a square: the same scale on both axes
    middle_x, middle_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    points = []
    for y in np.linspace(middle_y - half, middle_y + half, grid):
        for x in np.linspace(middle_x - half, middle_x + half, grid):
            alpha, beta, k = x / length, y / height, along / length
            points.append({"x": float(x), "y": float(y),
                           "weights": (1 - alpha - beta + beta * k, alpha - beta * k, beta)})
    return points, corners


def plane(model: nn.Module, a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], c: Mapping[str, np.ndarray],
          parameters: Sequence[str], data: Dataset, grid: int, samples: int, batch_size: int,
          forward: Forward = compiled.logits_of) -> tuple[list[dict[str, float]], dict[str, tuple[float, float]]]:
    """Training loss and validation loss and error at every point of ``plane_weights``' grid,
    BatchNorm recomputed at each as on the line."""
    points, corners = plane_weights(a, b, c, parameters, grid)
    inputs = scoring_inputs(data, samples)
    rows = [{"x": point["x"], "y": point["y"],
             **scored_point(model, mix([a, b, c], point["weights"], parameters), inputs, batch_size, forward)}
            for point in points]
    return rows, corners
