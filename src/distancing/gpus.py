"""One GPU per training process on a multi-GPU machine.

Snakemake's ``--resources gpu=N`` caps how many GPU jobs run at once but does not say which
device each should use (it does not set CUDA_VISIBLE_DEVICES). Each training process therefore
claims a free slot by an exclusive lock on ``<lock dir>/gpu<i>.lock`` and makes only that device
visible, before CUDA starts. The lock is released when the process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path
from typing import IO

DEFAULT_LOCK_DIR = Path(tempfile.gettempdir()) / "distancing-gpus"
_held: list[IO] = []  # open lock files: closing one would release its slot


def claim_gpu(count: int, lock_dir: str | Path = DEFAULT_LOCK_DIR) -> int:
    """Take the first free of ``count`` GPU slots and make only that device visible to CUDA."""
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    for slot in range(count):
        handle = open(lock_dir / f"gpu{slot}.lock", "a+")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _held.append(handle)
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        devices = visible.split(",") if visible else [str(i) for i in range(count)]
        if slot >= len(devices):
            raise RuntimeError(f"--gpus {count}: CUDA_VISIBLE_DEVICES={visible} lists only {len(devices)} devices")
        os.environ["CUDA_VISIBLE_DEVICES"] = devices[slot]
        return slot
    raise RuntimeError(f"--gpus {count}: all {count} GPU slots in {lock_dir} are taken; run at most {count} "
                       f"GPU jobs at once (snakemake --resources gpu={count})")
