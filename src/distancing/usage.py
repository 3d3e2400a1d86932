"""A process's CPU-seconds at its exit, written into its log: what a Snakemake benchmark misses.

Snakemake's ``benchmark:`` samples a job's processes (every 0.5 s for its first 15 s, then every
30 s) and adds up the last sample of each. It misses up to the last 30 seconds of a long job, and
every child process that starts and ends between two samples: the C++ compiler that Inductor runs
for a compiled forward pass (``compiled.py``) is one. ``getrusage`` at exit counts both exactly:
this process's own CPU-seconds and those of the children it waited for.
``benchmarks/pipeline_cost.py`` reads the line from each job's log.
"""

from __future__ import annotations

import re
import resource
from pathlib import Path

LINE = "CPU-seconds at exit: {own:.2f} in this process, {waited:.2f} in the processes it waited for"
PATTERN = re.compile(r"CPU-seconds at exit: ([0-9.]+) in this process, ([0-9.]+) in the processes it waited for")


def at_exit() -> str:
    """``LINE`` for this process now: its own user + system time, and its waited-for children's."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)
    return LINE.format(own=own.ru_utime + own.ru_stime, waited=waited.ru_utime + waited.ru_stime)


def read(log: Path) -> tuple[float, float] | None:
    """(own, waited) CPU-seconds from the last ``LINE`` in ``log``; None where there is none (a job
    that does not write it, or one still running)."""
    if not log.exists():
        return None
    found = PATTERN.findall(log.read_text(errors="replace"))
    return (float(found[-1][0]), float(found[-1][1])) if found else None
