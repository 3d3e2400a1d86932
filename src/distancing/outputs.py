"""What a run produces and where it goes: its files (``RunOutputs``), everything it has produced
so far (``History``, saved with its resume state), the time its phases took (``Timer``), and the
writers of each file, every one atomic (``files.py``). The training loop (``training.py``) calls
them; none of them trains.
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import __version__
from .config import dump
from .files import (
    DISTANCES_COLUMNS,
    LEARNING_RATE_COLUMNS,
    METRICS_COLUMNS,
    RUN_FILES,
    TIMING_COLUMNS,
    TIMING_FILE,
    atomic_save_npz,
    atomic_torch_save,
    atomic_write_csv,
    atomic_write_text,
)
from .members import save_members

# compiled_graphs counts the graphs Dynamo compiled while the run trained (its seconds are inside
# train_steps and evaluation): 0 when a warm server had compiled them before forking (compiled.py).
TIMING_PHASES = ("startup", "train_steps", "evaluation", "writes", "total", "compiled_graphs")


@dataclass
class RunOutputs:
    """Where a run writes: ``files.RUN_FILES`` under ``out`` (``outputs.metrics``, ...), and the
    timing table; ``state`` lives beside the declared outputs, not among them."""

    out: Path
    state: Path

    def __getattr__(self, kind: str) -> Path:
        if kind in RUN_FILES:
            return self.out / RUN_FILES[kind]
        raise AttributeError(kind)

    @property
    def timing(self) -> Path:
        return self.out / TIMING_FILE


@dataclass
class History:
    """Everything a run has produced so far; saved with the resume state."""

    metrics: list[dict[str, Any]] = field(default_factory=list)
    distances: list[dict[str, Any]] = field(default_factory=list)
    learning_rates: list[float] = field(default_factory=list)  # the one each optimizer step used
    member_epochs: list[int] = field(default_factory=list)
    member_kinds: list[str] = field(default_factory=list)
    member_probs: list[torch.Tensor] = field(default_factory=list)
    member_states: list[dict[str, torch.Tensor]] = field(default_factory=list)  # whole: weights and buffers
    saved_states: dict[int, dict[str, Any]] = field(default_factory=dict)  # epoch -> state, for child runs
    branch_states: dict[int, bytes] = field(default_factory=dict)  # epoch -> the saved resume state, for branches
    timing: dict[str, list[float]] = field(default_factory=dict)
    status: str = "running"


def cpu_seconds() -> float:
    """This process's CPU seconds and its ended children's: the C++ compiler that Inductor runs
    for a compiled step (compiled.py) works in child processes."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def process_age() -> float:
    """Wall seconds since this process started (Linux /proc; NaN elsewhere), for start-up time."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return math.nan


class Timer:
    """CPU and wall seconds per phase of a run, summed over its processes (a resumed run counts
    each process's start-up); written to ``timing.csv`` for the pipeline cost benchmark."""

    def __init__(self, totals: dict[str, list[float]]) -> None:
        self.totals = totals  # phase -> [cpu seconds, wall seconds, count]; lives in the History

    def add(self, phase: str, cpu: float, wall: float) -> None:
        total = self.totals.setdefault(phase, [0.0, 0.0, 0])
        total[0] += cpu
        total[1] += wall
        total[2] += 1

    def count(self, phase: str, n: int) -> None:
        """Add ``n`` to a phase that counts events rather than timing them."""
        self.totals.setdefault(phase, [0.0, 0.0, 0])[2] += n

    @contextlib.contextmanager
    def phase(self, name: str):
        cpu, wall = cpu_seconds(), time.perf_counter()
        try:
            yield
        finally:
            self.add(name, cpu_seconds() - cpu, time.perf_counter() - wall)

    def rows(self) -> list[dict[str, Any]]:
        return [{"phase": phase, "cpu_seconds": round(self.totals[phase][0], 4),
                 "wall_seconds": round(self.totals[phase][1], 4), "count": self.totals[phase][2]}
                for phase in TIMING_PHASES if phase in self.totals]


def git_commit() -> str:
    """The commit of the source tree this package runs from, or 'unknown' outside git."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the network's state_dict: its float32 parameters and BatchNorm buffers."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def keep_member(history: History, epoch: int, kind: str, probs: torch.Tensor, model: nn.Module) -> None:
    """Keep an ensemble member of this epoch: its probabilities on the samples members are scored
    on, and the network whole."""
    history.member_epochs.append(epoch)
    history.member_kinds.append(kind)
    history.member_probs.append(probs.clone())
    history.member_states.append(model_state(model))


def write_tables(outputs: RunOutputs, history: History, steps_per_epoch: int) -> None:
    """``metrics.csv``, ``distances.csv`` and ``learning_rates.csv`` as they stand."""
    atomic_write_csv(outputs.metrics, METRICS_COLUMNS, history.metrics)
    atomic_write_csv(outputs.distances, DISTANCES_COLUMNS, history.distances)
    atomic_write_csv(outputs.learning_rates, LEARNING_RATE_COLUMNS, [
        {"step": i + 1, "epoch": i // steps_per_epoch + 1, "lr": lr} for i, lr in enumerate(history.learning_rates)])


def write_predictions(outputs: RunOutputs, history: History, model: nn.Module, labels: torch.Tensor,
                      num_classes: int) -> None:
    """Members' probabilities on ``labels``' samples, their epochs and kinds, and pairwise weight
    distances; the members stored whole (``members.py``); the states kept for child runs and branches."""
    h = history
    names = [name for name, _ in model.named_parameters()]
    states = [{k: v.cpu().contiguous().numpy() for k, v in state.items()} for state in h.member_states]
    if states:
        weights = torch.stack([torch.cat([state[k].flatten() for k in names]) for state in h.member_states])
        weight_distances = torch.cdist(weights.double(), weights.double()).float().cpu().numpy()
        probs = torch.stack(h.member_probs).numpy()
    else:
        weight_distances = np.zeros((0, 0), np.float32)
        probs = np.zeros((0, len(labels), num_classes), np.float32)
    epochs, kinds = np.asarray(h.member_epochs, dtype=np.int64), np.asarray(h.member_kinds, dtype=str)
    atomic_save_npz(outputs.predictions, probs=probs, labels=labels.cpu().numpy(),
                    epochs=epochs, kinds=kinds, weight_distances=weight_distances, status=np.asarray(h.status))
    template = {k: v.cpu().contiguous().numpy() for k, v in model.state_dict().items()}
    save_members(outputs.members, epochs, kinds, states, names, template)
    atomic_torch_save(outputs.states, canonical(h.saved_states))
    atomic_torch_save(outputs.branches, h.branch_states)


def write_config(outputs: RunOutputs, config: dict[str, Any], device: torch.device, threads: int, parameters: int,
                 kernels: dict[str, Any]) -> None:
    """The resolved config, with what ran it under ``run:`` (versions, device, threads, kernels)."""
    resolved = dict(config)
    resolved["run"] = {
        "package_version": __version__, "git_commit": git_commit(), "torch_version": str(torch.__version__),
        "device": str(device), "threads": threads, "parameters": parameters,
        **kernels,
    }
    atomic_write_text(outputs.config, dump(resolved))


def write_timing(outputs: RunOutputs, timer: Timer) -> None:
    atomic_write_csv(outputs.timing, TIMING_COLUMNS, timer.rows())


def canonical(value: Any) -> Any:
    """The same value with every container fresh and every string interned: its pickle then depends
    on the value alone, not on which objects a run happened to share (a loaded history shares
    none with the rows a run appends)."""
    if isinstance(value, str):
        return sys.intern(value)
    if isinstance(value, dict):
        return {canonical(key): canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(canonical(item) for item in value)
    return value
