"""Helpers of the Snakemake scripts (numpy/pandas only, never torch).

A script opens exactly the files its rule declares, so the DAG Snakemake sees and the files
read cannot drift apart, and it writes what went wrong into the rule's log, which Snakemake
shows when a job fails.
"""

from __future__ import annotations

import atexit
import logging
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from . import usage


def log_to(path: str | Path) -> None:
    """Send stdout, stderr, warnings and an uncaught exception's traceback to ``path``, and the
    job's CPU-seconds when it exits (``usage.py``: exact, where Snakemake's benchmark samples).

    Python prints an uncaught exception through ``sys.stderr``, so the job's log says why it
    failed; without this the log of a script rule stays empty.
    """
    stream = open(path, "w", buffering=1)  # noqa: SIM115 (open until the process ends)
    sys.stdout = sys.stderr = stream
    logging.basicConfig(stream=stream, level=logging.INFO, format="%(levelname)s %(message)s", force=True)
    logging.captureWarnings(True)
    atexit.register(log_cpu_at_exit)


def log_cpu_at_exit() -> None:
    logging.info(usage.at_exit())


class RunFiles(Mapping):
    """Run name -> path of one kind of run file (metrics.csv, ...), from a rule's declared
    inputs; each run's files live in a directory named after the run."""

    def __init__(self, paths: Iterable[str | Path]) -> None:
        if isinstance(paths, str | Path):
            paths = [paths]
        self._files = {Path(p).parent.name: Path(p) for p in paths}

    def __getitem__(self, name: str) -> Path:
        try:
            return self._files[name]
        except KeyError:
            raise KeyError(f"run {name}: not among the rule's declared inputs") from None

    def __iter__(self):
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


def run_configs_pinned(paths: Iterable[str | Path]) -> dict[str, dict]:
    """Run name -> its resolved config.yaml, for a script that runs stored members as networks:
    it pins the kernels the runs used (``numerics.py``), so call it before torch is imported."""
    import yaml

    from .numerics import pin

    configs = {name: yaml.safe_load(path.read_text()) for name, path in RunFiles(paths).items()}
    pin(next(iter(configs.values()))["numerics"])
    return configs
