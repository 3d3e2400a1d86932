"""One training run with distancing: the loop.

The loop (Algorithms 1-4) is deliberately plain: the whole split on the device, a shuffled
index per epoch, augmentation on the device, SGD (with or without momentum) stepped with a
per-iteration learning-rate schedule, and the training method (``methods.py``: the hill) acting
through a term on the batch's loss or a gradient added to the flat gradient before each step.
At the end of every epoch the complete state is saved, so a killed run started again with the
same command continues exactly where it stopped. Where a run starts (its own state, a trunk's, a
parent's) and the states it keeps for others are ``resume.py``; what it writes and keeps as it
goes, ``outputs.py``.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import compiled, numerics, resume
from .config import ConfigError, member_kinds, model_options
from .data import Dataset, augment, load_dataset
from .files import atomic_torch_save
from .hill import FlatParameters
from .methods import CheckpointLog, build_method
from .models import build_model, count_parameters
from .optim import FlatSGD, build_scheduler
from .outputs import (
    History,
    RunOutputs,
    Timer,
    cpu_seconds,
    keep_member,
    process_age,
    write_config,
    write_predictions,
    write_tables,
    write_timing,
)

RESUME_FILE = "resume.pt"


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available here; use --device cpu or auto")
    return torch.device(requested)


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
        # The network's part of a step and of an evaluation, compiled or eager (compiled.py); bf16 autocast optional.
        self.compiled = compiled.wanted(train, config["numerics"], device)
        self.loss_and_logits, self.logits_of = compiled.steps(self.compiled, device)
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

    # ------------------------------------------------------------ the loop

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
                logits, loss = self.loss_and_logits(self.model, self.layout(data.prepare(x)), y)
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
                            forward=self.forward, autocast=self.autocast, extra=extra)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The network's logits in evaluation, in its layout, compiled or eager as the run trains."""
        return self.logits_of(self.model, self.layout(x))

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
                    logits = self.forward(self.data.prepare(xs[start:start + size]))
                parts.append(torch.log_softmax(logits.float(), dim=1))
            return torch.cat(parts)

    @property
    def member_labels(self) -> torch.Tensor:
        """Labels of the samples ensemble members are scored on: validation, then the extra held-out."""
        d = self.data
        return d.y_val if d.y_extra is None else torch.cat([d.y_val, d.y_extra])

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
                resume.keep_for_children(self)
            if kind is not None:  # scored on the validation samples, then the extra held-out ones
                scored = probs if self.data.y_extra is None else torch.cat([probs, self.evaluate(extra=True)[2]])
                keep_member(self.history, self.epoch, kind, scored, self.model)
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

    @property
    def timer(self) -> Timer:
        return Timer(self.history.timing)

    def run(self) -> History:
        epochs, timer = self.config["train"]["epochs"], self.timer
        timer.add("startup", cpu_seconds(), process_age())
        graphs = compiled.graphs_compiled() if self.compiled else 0
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
                    resume.keep_for_branches(self, [self.epoch])
                atomic_torch_save(self.outputs.state, resume.state_dict(self))
                write_tables(self.outputs, self.history, self.steps_per_epoch)
        with timer.phase("writes"):
            # A run that diverged before a branch point keeps its last state there: its branches diverge too.
            resume.keep_for_branches(self, [e for e in self.config["branch_states"] if e > self.epoch])
            write_tables(self.outputs, self.history, self.steps_per_epoch)
            write_predictions(self.outputs, self.history, self.model, self.member_labels, self.data.num_classes)
            self.outputs.state.unlink(missing_ok=True)
        timer.add("total", cpu_seconds(), process_age())
        if self.compiled:  # none where a warm server compiled this kind of run before forking it (compiled.py)
            timer.count("compiled_graphs", compiled.graphs_compiled() - graphs)
        write_timing(self.outputs, timer)
        return self.history


_WARMED: set[str] = set()  # the kinds of run this process has compiled for (warm_up)


def warm_up(config: dict[str, Any], device: str = "auto", threads: int | None = None) -> bool:
    """Compile the steps of a run like ``config`` for every batch shape it uses, once per kind of
    run: what a warm server does before it forks the run's child, which then inherits the code
    (compiled.py). A throwaway trainer on the run's data trains one epoch (hill inactive) and
    makes each evaluation a run makes. Only for one-thread CPU runs that compile: Inductor's code
    is specialised to the thread count, and a server must not start a thread pool its children
    inherit. Returns whether it compiled anything."""
    torch_device = pick_device(device)
    if threads != 1 or not compiled.wanted(config["train"], config["numerics"], torch_device):
        return False
    kind = compiled.kind(config)
    if kind in _WARMED:
        return False
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trainer = Trainer(config, outputs=None, device=torch_device, log=lambda _: None)
        trainer.train_epoch()
        trainer.evaluate()
        if trainer.data.y_extra is not None:
            trainer.evaluate(extra=True)
        trainer.train_log_probs()
        if trainer.record.samples:
            trainer.train_log_probs(trainer.record.samples)
    finally:
        torch.set_num_threads(previous)
    _WARMED.add(kind)
    return True


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
    resumed = resume.resume(trainer, discard_stale=discard_stale_state)  # its own state comes first
    if not resumed and branch is not None:
        resume.branch_from(trainer, Path(branch[0]), branch[1])  # a wrong trunk stops here, before the run directory
    elif not resumed and config["init"]["from"] is not None:
        resume.start_from_parent(trainer)  # a missing parent or epoch stops here, before the run directory exists
    out.mkdir(parents=True, exist_ok=True)
    write_config(outputs, config, torch_device, torch.get_num_threads(), trainer.num_params,
                 {**trainer.numerics, "compiled": trainer.compiled})
    return trainer.run()
