"""One GPU per training process, on one machine or a scheduler's node.

Snakemake's ``--resources gpu=N`` caps how many GPU jobs run at once but does not say which
device each should use (it does not set CUDA_VISIBLE_DEVICES). Each training process therefore
claims a free device by an exclusive lock named after the device itself, not after a slot
number, and makes only that device visible before CUDA starts. The candidates are the devices
the process may use: those in CUDA_VISIBLE_DEVICES when a scheduler (SLURM ``--gpus``) has set
it, else ``0 .. count-1``. So two SLURM jobs placed on one node, given devices 2 and 3, lock
``gpu-2`` and ``gpu-3`` and both run; when SLURM renumbers the devices inside each job (device
cgroups), the node-wide indices in SLURM_JOB_GPUS name the locks. A lock is released when its
process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from pathlib import Path
from typing import IO

DEFAULT_LOCK_DIR = Path(tempfile.gettempdir()) / "distancing-gpus"
_held: list[IO] = []  # open lock files: closing one would release its device


def candidate_devices(count: int) -> list[tuple[str, str]]:
    """(device as CUDA_VISIBLE_DEVICES names it, node-wide identity for its lock) of every usable device."""
    visible = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    if not visible:
        return [(str(i), str(i)) for i in range(count)]
    node_wide = [d.strip() for d in os.environ.get("SLURM_JOB_GPUS", "").split(",") if d.strip()]
    identities = node_wide if len(node_wide) == len(visible) else visible
    return list(zip(visible, identities, strict=True))[:count]


def claim_gpu(count: int, lock_dir: str | Path = DEFAULT_LOCK_DIR) -> str:
    """Lock the first free usable device, make only it visible to CUDA, and return its identity."""
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    candidates = candidate_devices(count)
    for device, identity in candidates:
        path = lock_dir / f"gpu-{re.sub(r'[^A-Za-z0-9_.-]', '_', identity)}.lock"
        handle = open(path, "a+")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _held.append(handle)
        os.environ["CUDA_VISIBLE_DEVICES"] = device
        return identity
    names = ", ".join(identity for _, identity in candidates)
    raise RuntimeError(f"--gpus {count}: every usable GPU ({names}) is locked in {lock_dir} by another job; run at "
                       f"most {len(candidates)} GPU jobs at once here (snakemake --resources gpu={len(candidates)})")
