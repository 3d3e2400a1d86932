"""One training run with distancing: the loop, its outputs and its resume state.

The loop (Algorithms 1-4) is deliberately plain: the whole split on the device, a shuffled
index per epoch, augmentation on the device, SGD (with or without momentum) stepped with a
per-iteration learning-rate schedule, and the training method (``methods.py``: the hill) acting
through a term on the batch's loss or a gradient added to the flat gradient before each step.
A run may start from another run's saved state (``init``). At the end of every epoch the
complete state is saved, so a killed run started again with the same command continues
exactly where it stopped; a run that trains the same first epochs as another (a branch of that
trunk, ``branching.py``) continues from the trunk's state in the same way.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import __version__, numerics
from .branching import prefix
from .config import ConfigError, dump, member_kinds, model_options
from .data import Dataset, augment, load_dataset
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
from .hill import FlatParameters
from .members import save_members
from .methods import CheckpointLog, build_method
from .models import build_model, count_parameters
from .optim import FlatSGD, build_scheduler

TIMING_PHASES = ("startup", "train_steps", "evaluation", "writes", "total")
RESUME_FILE = "resume.pt"
STATE_FORMAT = 6  # of the resume state; a state of another format is stale like one of another config


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


class ResumeError(RuntimeError):
    """The resume state on disk belongs to a different configuration."""


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

    @contextlib.contextmanager
    def phase(self, name: str):
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.process_time() - cpu, time.perf_counter() - wall)

    def rows(self) -> list[dict[str, Any]]:
        return [{"phase": phase, "cpu_seconds": round(self.totals[phase][0], 4),
                 "wall_seconds": round(self.totals[phase][1], 4), "count": self.totals[phase][2]}
                for phase in TIMING_PHASES if phase in self.totals]


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available here; use --device cpu or auto")
    return torch.device(requested)


def git_commit() -> str:
    """The commit of the source tree this package runs from, or 'unknown' outside git."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@torch.inference_mode()  # a third faster than no_grad for the small 1-D models, same numbers
def evaluate(model: nn.Module, data: Dataset, batch_size: int, forward: Callable | None = None,
             autocast: Callable = contextlib.nullcontext, extra: bool = False) -> tuple[float, float, torch.Tensor]:
    """Validation loss, accuracy and class probabilities (float32, on the host); with ``extra``,
    on the extra held-out samples (``Dataset.x_extra``) instead."""
    model.eval()
    forward = forward or model
    xs, ys = (data.x_extra, data.y_extra) if extra else (data.x_val, data.y_val)
    loss, correct, probs = 0.0, 0, []
    for start in range(0, len(ys), batch_size):
        x = data.prepare(xs[start:start + batch_size])
        y = ys[start:start + batch_size]
        with autocast():
            logits = forward(x).float()
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
        probs.append(torch.softmax(logits, 1).cpu())
    n = len(ys)
    return loss / n, correct / n, torch.cat(probs)


class Trainer:
    """Holds one run's model, optimiser, schedule, hill and history; ``run()`` trains it."""

    def __init__(self, config: dict[str, Any], outputs: RunOutputs, device: torch.device,
                 log: Callable[[str], None] = print, progress: bool = False, data: Dataset | None = None) -> None:
        self.config, self.outputs, self.device = config, outputs, device
        self.log, self.progress = log, progress
        self.numerics = numerics.check(config["numerics"])  # before any kernel runs: torch's choice is fixed by then
        data_cfg, train = config["data"], config["train"]
        if data is None:  # benchmarks pass synthetic data of the same shape instead
            data = load_dataset(data_cfg["dataset"], data_cfg["root"], data_cfg["train_samples"],
                                data_cfg["ensemble_val_samples"])
        self.data = data.to(device)
        self.augment = data_cfg["augment"] if data_cfg["augment"] is not None else self.data.dim == 2

        torch.manual_seed(config["seed"])
        self.model = build_model(config["model"]["name"], self.data.dim, self.data.in_channels,
                                 self.data.num_classes, **model_options(config)).to(device)
        self.channels_last = train["channels_last"] and self.data.dim == 2
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.flat = FlatParameters(self.model, channels_last=self.channels_last)
        # The forward pass as configured: optionally compiled, optionally under bf16 autocast.
        self.forward = torch.compile(self.model) if train["compile"] else self.model
        self.autocast = functools.partial(torch.autocast, device.type, dtype=torch.bfloat16,
                                          enabled=train["precision"] == "bf16")
        self.num_params = count_parameters(self.model)
        self.steps_per_epoch = math.ceil(len(self.data.y_train) / train["batch_size"])
        self.optimizer = FlatSGD(self.flat.data, self.flat.grad, train)
        self.scheduler = build_scheduler(self.optimizer, train, self.steps_per_epoch)
        self.method = build_method(config, self.num_params, device)
        logged = min(len(self.data.y_train), len(self.data.y_val)) if config["function_distance"] else 0
        self.record = CheckpointLog(config["distancing"]["function"]["distance"], logged)
        self.checkpoint_epochs = set(config["distancing"]["checkpoints"])
        self.member_kinds = member_kinds(config)  # epoch -> the kind of member kept there
        self.generator = torch.Generator(device=device).manual_seed(config["seed"])
        self.history = History()
        self.epoch = 0

    # ------------------------------------------------------------ state

    def state_dict(self, branch: bool = False) -> dict[str, Any]:
        """The complete resume state (``branch``: what a branch inherits, without the states kept
        for other branches and the time this process spent, so the same run keeps the same bytes)."""
        history = dict(self.history.__dict__, branch_states={}, timing={}) if branch else self.history.__dict__
        return {
            "format": STATE_FORMAT, "config": self.config, "epoch": self.epoch, "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "method": self.method.state_dict(), "record": self.record.state_dict(),
            "generator": self.generator.get_state(), "torch_rng": torch.get_rng_state(),
            "history": history,
        }

    def is_stale(self, state: dict[str, Any]) -> bool:
        """A resume state written for another config, or by a trainer with another state format."""
        return state.get("format") != STATE_FORMAT or state["config"] != self.config

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.is_stale(state):
            raise ResumeError(f"{self.outputs.state}: resume state of a different configuration or trainer version; "
                              f"delete it to start this run afresh")
        self.load_training_state(state)

    def load_training_state(self, state: dict[str, Any], method: bool = True) -> None:
        """Continue from a resume state, of this run or its trunk (``method=False``: keep this run's
        fresh training method)."""
        self.epoch = state["epoch"]
        self.model.load_state_dict(state["model"])  # copies into the flat views in place
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if method:
            self.method.load_state_dict(state["method"])
        self.record.load_state_dict(state["record"], self.device)
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.history = History(**state["history"])

    def resume_if_possible(self, discard_stale: bool = False) -> bool:
        if not self.outputs.state.exists():
            return False
        state = torch.load(self.outputs.state, map_location=self.device, weights_only=False)
        if discard_stale and self.is_stale(state):
            self.log(f"{self.outputs.state}: resume state of a different configuration or trainer version, discarded")
            self.outputs.state.unlink()
            return False
        self.load_state_dict(state)
        self.log(f"resuming {self.outputs.out} after epoch {self.epoch}")
        return True

    # ------------------------------------------------------------ training

    def train_epoch(self) -> dict[str, float]:
        """One pass over the shuffled training set; returns summed statistics for the epoch."""
        self.model.train()
        train, data = self.config["train"], self.data
        n = len(data.y_train)
        order = torch.randperm(n, device=self.device, generator=self.generator)
        lr = self.optimizer.lr
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        hill_sum = torch.zeros((), device=self.device)
        batches = range(0, n, train["batch_size"])
        if self.progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc=f"epoch {self.epoch + 1}/{train['epochs']}", leave=False,
                           unit="batch", dynamic_ncols=True)
        for start in batches:
            index = order[start:start + train["batch_size"]]
            x = data.x_train[index]
            if self.augment:
                x = augment(x, self.generator)
            y = data.y_train[index]
            self.flat.zero_grad()
            with self.autocast():
                logits = self.forward(self.layout(data.prepare(x)))
                loss = F.cross_entropy(logits, y)
            term = self.method.loss_term(logits, index)
            if term is None:
                loss.backward()
            else:
                (loss + term).backward()
                hill_sum += term.detach()
            hill_sum += self.method.add_gradient(self.flat.data, self.flat.grad)
            self.history.learning_rates.append(self.optimizer.lr)
            self.optimizer.step()
            self.scheduler.step()
            loss_sum += loss.detach() * len(y)
            correct += (logits.detach().argmax(1) == y).sum()
        return {"lr": lr, "train_loss": loss_sum.item() / n, "train_acc": correct.item() / n,
                "hill": hill_sum.item() / self.steps_per_epoch}

    def layout(self, x: torch.Tensor) -> torch.Tensor:
        """Network input in the model's memory layout (NHWC when channels_last)."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def evaluate(self, extra: bool = False) -> tuple[float, float, torch.Tensor]:
        """``evaluate`` with this run's forward pass (layout, compile, autocast), timed as evaluation."""
        with self.timer.phase("evaluation"):
            return evaluate(self.model, self.data, self.config["train"]["eval_batch_size"],
                            forward=lambda x: self.forward(self.layout(x)), autocast=self.autocast, extra=extra)

    @torch.inference_mode()
    def train_log_probs(self, samples: int | None = None) -> torch.Tensor:
        """Log-probabilities of the network (evaluation mode) on the first ``samples`` un-augmented
        training inputs (all by default), on the device: what a checkpoint stores for the function
        hill and its log (function_hill.py), timed as evaluation."""
        self.model.eval()
        xs, size = self.data.x_train[:samples], self.config["train"]["eval_batch_size"]
        with self.timer.phase("evaluation"):
            parts = []
            for start in range(0, len(xs), size):
                with self.autocast():
                    logits = self.forward(self.layout(self.data.prepare(xs[start:start + size])))
                parts.append(torch.log_softmax(logits.float(), dim=1))
            return torch.cat(parts)

    @property
    def member_labels(self) -> torch.Tensor:
        """Labels of the samples ensemble members are scored on: validation, then the extra held-out."""
        d = self.data
        return d.y_val if d.y_extra is None else torch.cat([d.y_val, d.y_extra])

    def keep_member(self, kind: str, probs: torch.Tensor) -> None:
        """Store validation probabilities (and the weights) of an ensemble member at this epoch,
        extended by its probabilities on the extra held-out samples where there are any."""
        if self.data.y_extra is not None:
            _, _, more = self.evaluate(extra=True)
            probs = torch.cat([probs, more])
        h = self.history
        h.member_epochs.append(self.epoch)
        h.member_kinds.append(kind)
        h.member_probs.append(probs.clone())
        h.member_states.append(self.model_state())

    def model_state(self) -> dict[str, torch.Tensor]:
        """A copy of the network's state_dict: its float32 parameters and BatchNorm buffers."""
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def finish_epoch(self, stats: dict[str, float]) -> None:
        """Evaluate, store checkpoints and members, log distances and the metrics row."""
        diverged = not all(math.isfinite(stats[k]) for k in ("train_loss", "hill"))
        val_loss, val_acc, probs, log_probs = math.nan, math.nan, None, None
        if not diverged:
            stored = self.epoch in self.checkpoint_epochs
            kind = self.member_kinds.get(self.epoch)
            # Without curves (nothing reads them), only the epochs that keep a member are evaluated.
            evaluated = self.config["curves"] or kind is not None
            if evaluated:
                val_loss, val_acc, probs = self.evaluate()
                if stored or (self.record.epochs and self.record.samples):  # the log's function distance
                    log_probs = self.train_log_probs(None if stored else self.record.samples)
            if stored:
                self.method.add_checkpoint(self.flat.data, self.epoch, log_probs)
                self.record.add(self.epoch, self.flat.data, log_probs, probs)
            if self.epoch in self.config["saved_states"]:
                self.save_state_for_children()
            if kind is not None:
                self.keep_member(kind, probs)
            if evaluated and self.record.epochs:
                self.history.distances += self.record.rows(self.epoch, self.flat.data, log_probs, probs)
        status = "diverged" if diverged else "ok"
        self.history.metrics.append({
            "epoch": self.epoch, "lr": stats["lr"], "train_loss": stats["train_loss"],
            "train_acc": stats["train_acc"], "val_loss": val_loss, "val_acc": val_acc,
            "hill": stats["hill"], "checkpoints": len(self.record.epochs), "status": status,
        })
        if diverged or self.epoch == self.config["train"]["epochs"]:
            self.history.status = "diverged" if diverged else "completed"

    def keep_for_branches(self, epochs: list[int]) -> None:
        """Keep the resume state, as bytes (a copy, not live tensors), for the branches starting after ``epochs``."""
        if epochs:
            buffer = io.BytesIO()
            torch.save(canonical(self.state_dict(branch=True)), buffer)
            self.history.branch_states.update(dict.fromkeys(epochs, buffer.getvalue()))

    def save_state_for_children(self) -> None:
        """Keep what a run started from this epoch needs (``init``): the weights with BatchNorm's
        statistics and the momentum; the child brings its own schedule, seed and method."""
        buffer = self.optimizer.buffer
        self.history.saved_states[self.epoch] = {
            "model": self.model_state(), "momentum": None if buffer is None else buffer.clone()}

    def branch_from(self, path: Path, epoch: int) -> None:
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
        state = torch.load(io.BytesIO(states[epoch]), map_location=self.device, weights_only=False)
        if state.get("format") != STATE_FORMAT:
            raise ConfigError(f"--branch-from: {path} was written by another trainer version; retrain the trunk")
        mine, trunk = prefix(self.config, epoch), prefix(state["config"], epoch)
        if mine != trunk:
            key = next(k for k in mine if mine[k] != trunk.get(k))
            raise ConfigError(f"--branch-from: {path} does not train this run's first {epoch} epochs (its {key} "
                              f"differs)")
        early = [e for e in self.config["branch_states"] if e <= epoch]
        if early:
            raise ConfigError(f"branch_states: epoch {early[0]} lies before the branch point {epoch}; a branch keeps "
                              f"states only after it")
        # The method holds only the checkpoints stored so far: none (a fresh one is this run's) or
        # the same ones under the same hill (prefix compares the whole block then).
        self.load_training_state(state, method=bool(state["record"]["epochs"]))  # timing: only this process's
        self.log(f"branching from {path} after epoch {state['epoch']}")

    def start_from_parent(self) -> None:
        """Load the parent run's saved state at ``init.epoch`` (before resume, which overrides it)."""
        init = self.config["init"]
        path = Path(init["from"]) / RUN_FILES["states"]
        if not path.is_file():
            raise ConfigError(f"init.from: {path} does not exist (train the parent run first)")
        states = torch.load(path, map_location=self.device, weights_only=False)
        if init["epoch"] not in states:
            raise ConfigError(f"init.epoch: {path} saved no state after epoch {init['epoch']} (saved: "
                              f"{', '.join(map(str, sorted(states))) or 'none'}; see the parent's saved_states)")
        state = states[init["epoch"]]
        self.model.load_state_dict(state["model"])  # copies into the flat views in place
        self.optimizer.buffer = None if state["momentum"] is None else state["momentum"].clone()

    def write_tables(self) -> None:
        atomic_write_csv(self.outputs.metrics, METRICS_COLUMNS, self.history.metrics)
        atomic_write_csv(self.outputs.distances, DISTANCES_COLUMNS, self.history.distances)
        steps = self.steps_per_epoch
        atomic_write_csv(self.outputs.learning_rates, LEARNING_RATE_COLUMNS, [
            {"step": i + 1, "epoch": i // steps + 1, "lr": lr} for i, lr in enumerate(self.history.learning_rates)])

    def write_predictions(self) -> None:
        """Members' validation probabilities, their epochs and kinds, and pairwise weight distances;
        the members stored whole (``members.py``)."""
        h = self.history
        names = [name for name, _ in self.model.named_parameters()]
        states = [{k: v.cpu().contiguous().numpy() for k, v in state.items()} for state in h.member_states]
        if states:
            weights = torch.stack([torch.cat([state[k].flatten() for k in names]) for state in h.member_states])
            weight_distances = torch.cdist(weights.double(), weights.double()).float().cpu().numpy()
            probs = torch.stack(h.member_probs).numpy()
        else:
            weight_distances = np.zeros((0, 0), np.float32)
            probs = np.zeros((0, len(self.member_labels), self.data.num_classes), np.float32)
        epochs, kinds = np.asarray(h.member_epochs, dtype=np.int64), np.asarray(h.member_kinds, dtype=str)
        atomic_save_npz(self.outputs.predictions, probs=probs, labels=self.member_labels.cpu().numpy(),
                        epochs=epochs, kinds=kinds, weight_distances=weight_distances, status=np.asarray(h.status))
        template = {k: v.cpu().contiguous().numpy() for k, v in self.model.state_dict().items()}
        save_members(self.outputs.members, epochs, kinds, states, names, template)
        atomic_torch_save(self.outputs.states, canonical(h.saved_states))
        atomic_torch_save(self.outputs.branches, h.branch_states)

    def write_config(self, device: torch.device, threads: int) -> None:
        resolved = dict(self.config)
        resolved["run"] = {
            "package_version": __version__, "git_commit": git_commit(), "torch_version": str(torch.__version__),
            "device": str(device), "threads": threads, "parameters": self.num_params,
            **self.numerics,
        }
        atomic_write_text(self.outputs.config, dump(resolved))

    @property
    def timer(self) -> Timer:
        return Timer(self.history.timing)

    def run(self) -> History:
        epochs, timer = self.config["train"]["epochs"], self.timer
        timer.add("startup", time.process_time(), process_age())
        while self.history.status == "running":
            started = time.perf_counter()
            with timer.phase("train_steps"):
                stats = self.train_epoch()
            self.epoch += 1
            self.finish_epoch(stats)
            row = self.history.metrics[-1]
            self.log(f"epoch {self.epoch}/{epochs}  lr {row['lr']:.4g}  train_loss {row['train_loss']:.4f}  "
                     f"val_acc {row['val_acc']:.4f}  hill {row['hill']:.4g}  checkpoints {row['checkpoints']}  "
                     f"{row['status']}  {time.perf_counter() - started:.1f}s")
            with timer.phase("writes"):
                if self.epoch in self.config["branch_states"]:
                    self.keep_for_branches([self.epoch])
                atomic_torch_save(self.outputs.state, self.state_dict())
                self.write_tables()
        with timer.phase("writes"):
            # A run that diverged before a branch point keeps its last state there: its branches diverge too.
            self.keep_for_branches([e for e in self.config["branch_states"] if e > self.epoch])
            self.write_tables()
            self.write_predictions()
            self.outputs.state.unlink(missing_ok=True)
        timer.add("total", time.process_time(), process_age())
        atomic_write_csv(self.outputs.timing, TIMING_COLUMNS, timer.rows())
        return self.history


def train_run(config: dict[str, Any], out: str | Path, state: str | Path | None = None, device: str = "auto",
              threads: int | None = None, log: Callable[[str], None] = print,
              progress: bool | None = None, discard_stale_state: bool = False,
              branch: tuple[str | Path, int] | None = None) -> History:
    """Train one validated config into ``out``; resumes from ``state`` if it exists, else continues
    from a trunk's state (``branch``: its branches.pt and the epoch) or a parent's (``init``)."""
    out = Path(out)
    outputs = RunOutputs(out, Path(state) if state is not None else out / RESUME_FILE)
    if threads is not None:
        torch.set_num_threads(threads)
    torch_device = pick_device(device)
    if progress is None:
        progress = sys.stderr.isatty() and not os.environ.get("CI")
    trainer = Trainer(config, outputs, torch_device, log=log, progress=progress)
    resumed = trainer.resume_if_possible(discard_stale=discard_stale_state)  # its own state comes first
    if not resumed and branch is not None:
        trainer.branch_from(Path(branch[0]), branch[1])  # a wrong trunk stops here, before the run directory exists
    elif not resumed and config["init"]["from"] is not None:
        trainer.start_from_parent()  # a missing parent or epoch stops here, before the run directory exists
    out.mkdir(parents=True, exist_ok=True)
    trainer.write_config(torch_device, torch.get_num_threads())
    return trainer.run()
