"""Where a run starts and what it keeps for others: its own resume state (a killed run continues
exactly where it stopped), a trunk's state (a branch continues from it, ``branching.py``), a
parent's saved state (``init``, as FGE starts from the snapshot run), and the states it keeps for
its branches and children. The training loop (``training.py``) calls these; each reads and sets
the trainer's parts named by ``Trained``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from .branching import prefix
from .config import ConfigError
from .files import RUN_FILES
from .methods import CheckpointLog
from .optim import FlatSGD
from .outputs import History, RunOutputs, canonical, model_state

STATE_FORMAT = 6  # of the resume state; a state of another format is stale like one of another config


class ResumeError(RuntimeError):
    """The resume state on disk belongs to a different configuration."""


class Trained(Protocol):
    """What starting and keeping states read and set of a trainer (``training.Trainer``)."""

    config: dict[str, Any]
    outputs: RunOutputs
    device: torch.device
    log: Callable[[str], None]
    model: nn.Module
    optimizer: FlatSGD
    scheduler: Any  # torch.optim.lr_scheduler.LRScheduler
    method: Any  # methods.TrainingMethod
    record: CheckpointLog
    generator: torch.Generator
    history: History
    epoch: int


def state_dict(run: Trained, branch: bool = False) -> dict[str, Any]:
    """The complete resume state (``branch``: what a branch inherits, without the states kept
    for other branches and the time this process spent, so the same run keeps the same bytes)."""
    history = dict(run.history.__dict__, branch_states={}, timing={}) if branch else run.history.__dict__
    return {
        "format": STATE_FORMAT, "config": run.config, "epoch": run.epoch, "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(), "scheduler": run.scheduler.state_dict(),
        "method": run.method.state_dict(), "record": run.record.state_dict(),
        "generator": run.generator.get_state(), "torch_rng": torch.get_rng_state(),
        "history": history,
    }


def is_stale(run: Trained, state: dict[str, Any]) -> bool:
    """A resume state written for another config, or by a trainer with another state format."""
    return state.get("format") != STATE_FORMAT or state["config"] != run.config


def load(run: Trained, state: dict[str, Any], method: bool = True) -> None:
    """Continue from a resume state, of this run or its trunk (``method=False``: keep this run's
    fresh training method)."""
    run.epoch = state["epoch"]
    run.model.load_state_dict(state["model"])  # copies into the flat views in place
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    if method:
        run.method.load_state_dict(state["method"])
    run.record.load_state_dict(state["record"], run.device)
    run.generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    run.history = History(**state["history"])


def resume(run: Trained, discard_stale: bool = False) -> bool:
    """Continue from the run's own resume state if there is one (``discard_stale``: drop one of
    another config instead of refusing it); whether it did."""
    if not run.outputs.state.exists():
        return False
    state = torch.load(run.outputs.state, map_location=run.device, weights_only=False)
    if discard_stale and is_stale(run, state):
        run.log(f"{run.outputs.state}: resume state of a different configuration or trainer version, discarded")
        run.outputs.state.unlink()
        return False
    if is_stale(run, state):
        raise ResumeError(f"{run.outputs.state}: resume state of a different configuration or trainer version; "
                          f"delete it to start this run afresh")
    load(run, state)
    run.log(f"resuming {run.outputs.out} after epoch {run.epoch}")
    return True


def branch_from(run: Trained, path: Path, epoch: int) -> None:
    """Continue from a trunk's resume state after ``epoch`` (``branching.py``): the trunk
    trained this run's first epochs, so this is this run's own state after them. A trunk
    that diverged before ``epoch`` kept its last state instead: this run diverges there too.
    A state that is not this run's prefix stops in one line, before the run directory exists."""
    if not path.is_file():
        raise ConfigError(f"--branch-from: {path} does not exist (train the trunk run first)")
    states = torch.load(path, map_location="cpu", weights_only=False)
    if epoch not in states:
        raise ConfigError(f"--branch-epoch: {path} kept no state after epoch {epoch} (kept: "
                          f"{', '.join(map(str, sorted(states))) or 'none'}; see the trunk's branch_states)")
    state = torch.load(io.BytesIO(states[epoch]), map_location=run.device, weights_only=False)
    if state.get("format") != STATE_FORMAT:
        raise ConfigError(f"--branch-from: {path} was written by another trainer version; retrain the trunk")
    mine, trunk = prefix(run.config, epoch), prefix(state["config"], epoch)
    if mine != trunk:
        key = next(k for k in mine if mine[k] != trunk.get(k))
        raise ConfigError(f"--branch-from: {path} does not train this run's first {epoch} epochs (its {key} "
                          f"differs)")
    early = [e for e in run.config["branch_states"] if e <= epoch]
    if early:
        raise ConfigError(f"branch_states: epoch {early[0]} lies before the branch point {epoch}; a branch keeps "
                          f"states only after it")
    # The method holds only the checkpoints stored so far: none (a fresh one is this run's) or
    # the same ones under the same hill (prefix compares the whole block then).
    load(run, state, method=bool(state["record"]["epochs"]))  # timing: only this process's
    run.log(f"branching from {path} after epoch {state['epoch']}")


def start_from_parent(run: Trained) -> None:
    """Load the parent run's saved state at ``init.epoch`` (before resume, which overrides it)."""
    init = run.config["init"]
    path = Path(init["from"]) / RUN_FILES["states"]
    if not path.is_file():
        raise ConfigError(f"init.from: {path} does not exist (train the parent run first)")
    states = torch.load(path, map_location=run.device, weights_only=False)
    if init["epoch"] not in states:
        raise ConfigError(f"init.epoch: {path} saved no state after epoch {init['epoch']} (saved: "
                          f"{', '.join(map(str, sorted(states))) or 'none'}; see the parent's saved_states)")
    state = states[init["epoch"]]
    run.model.load_state_dict(state["model"])  # copies into the flat views in place
    run.optimizer.buffer = None if state["momentum"] is None else state["momentum"].clone()


def keep_for_branches(run: Trained, epochs: list[int]) -> None:
    """Keep the resume state, as bytes (a copy, not live tensors), for the branches starting after ``epochs``."""
    if epochs:
        buffer = io.BytesIO()
        torch.save(canonical(state_dict(run, branch=True)), buffer)
        run.history.branch_states.update(dict.fromkeys(epochs, buffer.getvalue()))


def keep_for_children(run: Trained) -> None:
    """Keep what a run started from this epoch needs (``init``): the weights with BatchNorm's
    statistics and the momentum; the child brings its own schedule, seed and method."""
    buffer = run.optimizer.buffer
    run.history.saved_states[run.epoch] = {
        "model": model_state(run.model), "momentum": None if buffer is None else buffer.clone()}
