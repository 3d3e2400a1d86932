"""Ensemble members stored whole: every member's float32 parameters and BatchNorm buffers.

A run's ``members.npz`` holds, for its M members in the order they were kept, one array per
entry of the model's ``state_dict`` (key ``state:NAME``, shape M × the entry's shape), the
members' ``epochs`` and ``kinds``, and the ``parameters`` (names, in the model's order) that
make up the weight vector. So a measurement rebuilds any member as a network (``torch_state``)
and weight distances read the parameters alone (``weight_vectors``), without retraining and
without torch. ``format`` tells this layout from an earlier version's ``weights.npz``
(half-precision parameters, no buffers), which no measurement can rebuild a network from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import atomic_save_npz

FORMAT = 1
STATE = "state:"


class MembersError(ValueError):
    """A members file this version cannot read (one line naming the file and what to do)."""


@dataclass(frozen=True)
class Members:
    epochs: np.ndarray  # M
    kinds: np.ndarray  # M: checkpoint, snapshot or final
    states: dict[str, np.ndarray]  # state_dict name -> M × shape
    parameters: tuple[str, ...]  # the state entries that are trainable parameters, in the model's order

    def __len__(self) -> int:
        return len(self.epochs)

    def index(self, epoch: int) -> int:
        """The position of the member kept after ``epoch``."""
        where = np.flatnonzero(self.epochs == epoch)
        if not len(where):
            raise MembersError(f"no member kept after epoch {epoch} (members: {', '.join(map(str, self.epochs))})")
        return int(where[0])

    def weight_vectors(self) -> np.ndarray:
        """M × P float32: each member's parameters, flattened and concatenated in the model's order."""
        flat = [self.states[name].reshape(len(self), int(np.prod(self.states[name].shape[1:])))
                for name in self.parameters]
        return np.concatenate(flat, axis=1)

    def weight_vector(self, i: int) -> np.ndarray:
        """Member i's parameters, flattened and concatenated in the model's order (float32)."""
        return np.concatenate([self.states[name][i].ravel() for name in self.parameters])

    def state(self, i: int) -> dict[str, np.ndarray]:
        """Member i's state_dict as arrays (``torch_state`` makes tensors of them)."""
        return {name: np.asarray(values[i]) for name, values in self.states.items()}


def save_members(path: str | Path, epochs: Sequence[int], kinds: Sequence[str],
                 states: Sequence[Mapping[str, np.ndarray]], parameters: Sequence[str],
                 template: Mapping[str, np.ndarray]) -> None:
    """Write members.npz atomically; ``template`` (one state_dict as arrays) gives the entries'
    shapes and dtypes when there are no members (a run that diverged before keeping one)."""
    arrays = {f"{STATE}{name}": (np.stack([s[name] for s in states]) if states
                                 else np.zeros((0, *value.shape), value.dtype)) for name, value in template.items()}
    atomic_save_npz(path, format=np.asarray(FORMAT), epochs=np.asarray(epochs, dtype=np.int64),
                    kinds=np.asarray(kinds, dtype=str), parameters=np.asarray(parameters, dtype=str), **arrays)


def load_members(path: str | Path) -> Members:
    """Read members.npz; a missing file or an earlier version's layout stops in one line."""
    path = Path(path)
    if not path.is_file():
        raise MembersError(f"{path}: no stored members (a run of an earlier version kept weights.npz without "
                           f"BatchNorm buffers); retrain the run")
    with np.load(path) as f:
        if "format" not in f.files or int(f["format"]) != FORMAT:
            raise MembersError(f"{path}: members stored by another version; retrain the run")
        states = {key[len(STATE):]: f[key] for key in f.files if key.startswith(STATE)}
        return Members(f["epochs"], f["kinds"], states, tuple(str(p) for p in f["parameters"]))


class Stored:
    """The members and run configs a measurement's rule declares (run name -> members.npz, run
    name -> resolved config), each run's members read once; ``data`` loads a run's dataset
    (with torch) once per distinct data config."""

    def __init__(self, paths: Mapping[str, Path], configs: Mapping[str, dict]) -> None:
        self.paths, self.configs = paths, configs
        self._members: dict[str, Members] = {}
        self._data: dict[tuple, object] = {}

    def members(self, run: str) -> Members:
        if run not in self._members:
            self._members[run] = load_members(self.paths[run])
        return self._members[run]

    def state(self, run: str, epoch: int) -> dict[str, np.ndarray]:
        members = self.members(run)
        return members.state(members.index(epoch))

    def weight_vector(self, run: str, epoch: int) -> np.ndarray:
        members = self.members(run)
        return members.weight_vector(members.index(epoch))

    def data(self, run: str):
        """The run's dataset (``data.load_dataset`` of its ``data`` block)."""
        from .data import load_dataset

        block = self.configs[run]["data"]
        key = tuple(block[k] for k in ("dataset", "root", "train_samples", "ensemble_val_samples"))
        if key not in self._data:
            self._data[key] = load_dataset(*key)
        return self._data[key]
