"""Runs that train the same first epochs: a trunk trains them once, its branches continue.

Two resolved run configs train identically up to the end of epoch E, records included, when
they agree on everything except what acts only after E (``prefix``):

- a checkpoint stored after epoch c changes the records from epoch c on (the distances log,
  the metrics' checkpoint count, the member it keeps), and the hill acts only in the epochs
  after its first checkpoint. So the ``distancing`` block matters up to E only through the
  checkpoints stored by E, and, once one is stored, as a whole (then the method's state, which
  holds the checkpoints, is the same);
- ``snapshots`` and ``saved_states`` keep a member or a state at their epoch and change
  nothing else, so only those up to E matter;
- ``branch_states`` only says which of its states a run keeps for its branches.

Everything else (data, model, seed, the whole ``train`` block, ``init``, numerics) must be
equal. The trunk keeps its complete resume state after E (``branch_states``, in
``branches.pt``); a branch loads it as it would load its own resume state, keeping its fresh
training method when no checkpoint is stored by E (the method has seen nothing yet). Resume is
byte-identical, so every file the branch writes is the file it would write from scratch.

No torch here: the pipeline's plan finds the trunks with it, and the trainer checks a branch with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LATER = ("distancing", "snapshots", "saved_states", "branch_states")  # what may differ after the branch point


def prefix(config: Mapping[str, Any], epoch: int) -> dict[str, Any]:
    """What decides a run's first ``epoch`` epochs and their records: equal prefixes, equal bytes."""
    key = {name: value for name, value in config.items() if name not in LATER}
    key["snapshots"] = [e for e in config["snapshots"] if e <= epoch]
    key["saved_states"] = [e for e in config["saved_states"] if e <= epoch]
    hill = config["distancing"]
    stored = [c for c in hill["checkpoints"] if c <= epoch]
    key["distancing"] = dict(hill, checkpoints=stored) if stored else None
    return key


def shared_epochs(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    """The last epoch up to which runs ``a`` and ``b`` train identically (0: not even the start).

    Prefixes are nested (equal up to E means equal up to every earlier epoch), so this is the
    last E of an unbroken run of equal prefixes."""
    last = min(a["train"]["epochs"], b["train"]["epochs"])
    shared = 0
    while shared < last and prefix(a, shared + 1) == prefix(b, shared + 1):
        shared += 1
    return shared


def static_part(config: Mapping[str, Any]) -> str:
    """What two runs must share to share any epoch (a grouping key: runs of different keys share none)."""
    return repr(sorted((name, repr(value)) for name, value in config.items() if name not in LATER))
