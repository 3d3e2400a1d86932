"""Atomic file writes: write under a temporary name in the same directory, then rename.

A reader (or a killed and restarted run) sees either the old file or the new one, never a
half-written one.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

# A run directory's files (the train rule's declared outputs, keyed as its output names) and the
# columns of its tables: defined here once, for the trainer, the Snakefile and the readers.
RUN_FILES = {
    "config": "config.yaml",
    "metrics": "metrics.csv",
    "distances": "distances.csv",
    "predictions": "predictions.npz",
    "members": "members.npz",
    "learning_rates": "learning_rates.csv",
    "states": "states.pt",
    "branches": "branches.pt",
}
PEER_TABLES = {"members": "peers.csv", "pairs": "peer_pairs.csv", "scores": "peer_member_scores.csv"}
TIMING_FILE = "timing.csv"  # the run's own CPU and wall time; not a declared output
METRICS_COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "hill", "checkpoints", "status")
# Per epoch and stored checkpoint: the weight L2 distance, the function distance D on training
# inputs and the validation disagreement with the checkpoint (methods.CheckpointLog).
DISTANCES_COLUMNS = ("epoch", "checkpoint", "checkpoint_epoch", "distance", "function_distance", "disagreement")
LEARNING_RATE_COLUMNS = ("step", "epoch", "lr")
TIMING_COLUMNS = ("phase", "cpu_seconds", "wall_seconds", "count")



@dataclass(frozen=True)
class Layout:
    """Where the pipeline keeps its files under the profile's ``results`` folder: defined once, for
    the rules' outputs and for the inputs the plan gives the rules that read them."""

    results: str

    def run_file(self, run: str, kind: str) -> str:
        """One file of a run (``kind``: a key of ``RUN_FILES``)."""
        return f"{self.results}/runs/{run}/{RUN_FILES[kind]}"

    def run_files(self, runs: Iterable[str], kind: str) -> list[str]:
        return [self.run_file(run, kind) for run in runs]

    @property
    def checkpoint_ensembles(self) -> str:
        return f"{self.results}/ensembles/checkpoints.csv"

    @property
    def peer_tables(self) -> dict[str, str]:
        """The peer-ensemble tables: ensembles, member pairs and member scores."""
        return {name: f"{self.results}/ensembles/{file}" for name, file in PEER_TABLES.items()}

    def measurement_tables(self, measurement: str, tables: Mapping[str, object]) -> dict[str, str]:
        """Table name -> path of each table a measurement writes."""
        return {table: f"{self.results}/measurements/{measurement}/{table}.csv" for table in tables}


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write(f)`` on a temporary binary file beside ``path``, then rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


def atomic_save_npz(path: str | Path, **arrays: np.ndarray) -> None:
    atomic_write(path, lambda f: np.savez(f, **arrays))


def atomic_torch_save(path: str | Path, obj: Any) -> None:
    import torch  # only training saves torch objects; plotting imports this module without torch

    atomic_write(path, lambda f: torch.save(obj, f))


def format_value(value: Any) -> str:
    """CSV cell text: floats in shortest round-trip form, so equal numbers give equal bytes."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def atomic_write_csv(path: str | Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([format_value(row[c]) for c in columns])
    atomic_write_text(path, buffer.getvalue())
