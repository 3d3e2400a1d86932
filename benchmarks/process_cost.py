"""The pipeline's CPU-seconds by process, from the kernel's own accounting: pipeline_cost.py checked.

    accton /tmp/pacct                                      # root; the acct package's accton
    python benchmarks/pipeline_cost.py --run ...
    accton off
    python benchmarks/process_cost.py /tmp/pacct

Linux process accounting (acct(2)) writes a record for every process as it ends: its command
name, its parent, its user and system time and whether it forked without exec. It misses
nothing that Snakemake's sampled benchmarks miss (a job's last seconds, a child that lives for a
second, such as Inductor's C++ compiler). For each Snakemake process in the file (two where two
pipelines ran side by side) this groups the records of its process tree by role and prints the
CPU-seconds of each, to hold against ``pipeline_cost.py``'s split of the same run. A process
still running when accounting stops has no record.

The records' times are the kernel's raw tick samples (``task_cputime``), where ``getrusage`` (what
``pipeline_cost.py`` reads) scales them to the scheduler's exact runtime. A process that a timer
wakes for a moment between two ticks is undercharged, and whatever runs at the tick overcharged:
one default pipeline alone, its tree 2973 CPU-seconds here against getrusage's 2983; two side by
side, one tree 8 % over and the other 8 % under, whose Snakemake, with its rate limiter's timer
rounds, had 175 CPU-seconds in its record and 638 by getrusage. Read the records for where CPU
goes (which process, which child runs a compiler), and the amounts from pipeline_cost.py.
"""

from __future__ import annotations

import argparse
import struct
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

# struct acct_v3 (linux/acct.h): flag, version, tty, exitcode, uid, gid, pid, ppid, btime,
# etime (float), utime, stime, mem, io, rw, minflt, majflt, swaps (comp_t each), comm[16].
RECORD = struct.Struct("<BBHIIIIIIf8H16s")
VERSION = 3
AFORK = 0x01  # forked but did not exec
TICKS = 100  # AHZ: comp_t times are in hundredths of a second

ROLES = (
    "Snakemake itself",
    "the training server's own process",
    "runs (the server's forked children)",
    "the server's C++ compiler (g++, cc1plus, as, ld)",
    "script jobs (their Python processes)",
    "script jobs' child processes (the C++ compiler)",
    "training jobs' shells and `distancing train` clients",
    "other processes of the tree",
)


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    started: int  # seconds since the epoch, rounded by the kernel
    ended: float
    command: str
    forked: bool  # forked without exec: a child of the training server is a run
    cpu: float  # user + system seconds


def comp_t(value: int) -> int:
    """A comp_t: a 13-bit mantissa and a 3-bit base-8 exponent."""
    return (value & 0x1FFF) << (3 * (value >> 13))


def read(path: Path) -> list[Process]:
    data = path.read_bytes()
    found = []
    for offset in range(0, len(data) - RECORD.size + 1, RECORD.size):
        fields = RECORD.unpack_from(data, offset)
        flag, version, _, _, _, _, pid, ppid, started, elapsed, utime, stime, *_, command = fields
        if version != VERSION:
            raise SystemExit(f"error: {path}: record {offset // RECORD.size} is acct version {version}, not {VERSION}")
        name = command.split(b"\0")[0].decode(errors="replace")
        found.append(Process(pid, ppid, started, started + elapsed / TICKS, name, bool(flag & AFORK),
                             (comp_t(utime) + comp_t(stime)) / TICKS))
    return found


def lineage(process: Process, by_pid: dict[int, list[Process]]) -> list[Process]:
    """The process and its recorded ancestors, nearest first. A pid is reused once the machine has
    run through them (32768 by default), so the parent is the process of that pid alive when the
    child started (with two seconds' slack: the kernel rounds each start to seconds)."""
    chain = [process]
    while True:
        child = chain[-1]
        alive = [p for p in by_pid.get(child.ppid, ()) if p.started - 1 <= child.started <= p.ended + 1]
        parent = max(alive, key=lambda p: p.started, default=None)
        if parent is None or parent in chain:
            return chain
        chain.append(parent)


def role(chain: list[Process]) -> tuple[int, str] | None:
    """(the Snakemake process's pid, the role) of the first process of ``chain``; None outside every tree."""
    tops = [i for i, p in enumerate(chain) if p.command == "snakemake"]
    if not tops:
        return None
    below = chain[:tops[0]][::-1]  # from Snakemake's child down to the process
    snakemake = chain[tops[0]].pid
    if not below:
        return snakemake, ROLES[0]
    head = below[0]
    if head.command == "distancing":  # the training server: Snakemake starts it itself
        if len(below) == 1:
            return snakemake, ROLES[1]
        return snakemake, ROLES[2] if below[1].forked else ROLES[3]
    if head.command.startswith("python"):
        return snakemake, ROLES[4] if len(below) == 1 else ROLES[5]
    if head.command in ("bash", "sh"):
        return snakemake, ROLES[6]
    return snakemake, ROLES[7]


def split(processes: list[Process]) -> dict[int, dict[str, list[float]]]:
    """Snakemake's pid -> role -> [CPU-seconds, processes]."""
    by_pid: dict[int, list[Process]] = defaultdict(list)
    for process in processes:
        by_pid[process.pid].append(process)
    found: dict[int, dict[str, list[float]]] = defaultdict(lambda: {r: [0.0, 0] for r in ROLES})
    for process in processes:
        placed = role(lineage(process, by_pid))
        if placed is not None:
            part = found[placed[0]][placed[1]]
            part[0] += process.cpu
            part[1] += 1
    return dict(found)


def report(processes: list[Process]) -> str:
    starts = {p.pid: p.started for p in processes if p.command == "snakemake"}
    lines = []
    for pid, roles in sorted(split(processes).items(), key=lambda item: starts[item[0]]):
        whole = sum(cpu for cpu, _ in roles.values())
        lines += [f"Snakemake process {pid}: {whole:.1f} CPU-seconds in its tree", "",
                  "| role | CPU-seconds | processes | share |", "|---|---|---|---|"]
        lines += [f"| {name} | {cpu:.1f} | {count} | {cpu / whole:.1%} |" for name, (cpu, count) in roles.items()]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("accounting", type=Path, help="the file accton wrote")
    print(report(read(parser.parse_args().accounting)))


if __name__ == "__main__":
    main()
