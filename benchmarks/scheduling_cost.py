"""What Snakemake's own process costs per job, with its rate limiter's timer rounds and without.

    python benchmarks/scheduling_cost.py [--jobs 50 100 200] [--seconds 1] [--cores 2]

Snakemake (8.17 and later, 9.27.1 here) starts a timer for another scheduling round after each
round that leaves jobs waiting, and a finished job starts a round of its own, so every finished
job adds a chain of rounds, one a second, for as long as jobs wait (snakemake/snakemake#3744).
The pipeline turns Snakemake's default limiter off (``workflow/rules/scheduling.smk``). This
runs a Snakefile of ``--jobs`` independent jobs that each sleep ``--seconds``, on ``--cores``
cores, once as Snakemake schedules it and once with that file's ``schedule_when_jobs_end()`` at
start, and prints for each: the wall time, the CPU-seconds of Snakemake's own process (not its
jobs'), per job, and the scheduling rounds (Snakemake's ``Ready jobs:`` debug lines). With the
timer rounds, the cost per job grows with the number of jobs; without them it stays flat.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import note as machine_note
from pipeline_cost import own_cpu_until_exit

ROOT = Path(__file__).resolve().parent.parent

SNAKEFILE = """
include: "{scheduling}"


onstart:
    if config["variant"] == "when_jobs_end":
        schedule_when_jobs_end()


rule all:
    input:
        expand("out/{{i}}.txt", i=range(config["jobs"])),


rule one:
    output:
        "out/{{i}}.txt",
    shell:
        "sleep {seconds}; touch {{output}}"
"""

VARIANTS = {
    "with_timer_rounds": "Snakemake as it schedules (rate limiter 100/1s, its default)",
    "when_jobs_end": "schedule_when_jobs_end() at start (the pipeline)",
}


def write_snakefile(folder: Path, seconds: float) -> None:
    """The benchmark's Snakefile in ``folder``, including the pipeline's own scheduling.smk."""
    scheduling = ROOT / "workflow" / "rules" / "scheduling.smk"
    (folder / "Snakefile").write_text(SNAKEFILE.format(scheduling=scheduling, seconds=seconds))


def run(folder: Path, jobs: int, variant: str, cores: int, *extra: str) -> tuple[float, float, int]:
    """Wall seconds, Snakemake's own CPU-seconds and its scheduling rounds for one run from nothing
    (``extra``: more Snakemake arguments)."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(folder / "Snakefile"), "--directory",
               str(folder / variant / str(jobs)), "--cores", str(cores), "--verbose", *extra,
               "--config", f"jobs={jobs}", f"variant={variant}"]
    started = time.perf_counter()
    with open(folder / "log.txt", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        own = own_cpu_until_exit(process, every=0.1)
    wall = time.perf_counter() - started
    output = (folder / "log.txt").read_text()
    if process.returncode != 0:
        sys.exit(f"snakemake failed ({variant}, {jobs} jobs):\n{output[-2000:]}")
    return wall, own, output.count("Ready jobs:")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--seconds", type=float, default=1.0, help="how long each job sleeps")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    print(machine_note())
    print()
    print(f"python benchmarks/scheduling_cost.py --jobs {' '.join(map(str, args.jobs))} --seconds {args.seconds:g} "
          f"--cores {args.cores}")
    print()
    print("| jobs | scheduling | wall s | Snakemake's own CPU-s | per job | scheduling rounds |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_snakefile(folder, args.seconds)
        for jobs in args.jobs:
            for variant, label in VARIANTS.items():
                wall, own, rounds = run(folder, jobs, variant, args.cores)
                print(f"| {jobs} | {label} | {wall:.1f} | {own:.1f} | {own / jobs:.3f} | {rounds} |", flush=True)


if __name__ == "__main__":
    main()
