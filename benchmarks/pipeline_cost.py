"""Where the pipeline's CPU time goes: training steps against everything around them.

    python benchmarks/pipeline_cost.py --run [--cores 2] [--configfile F] [--set KEY.PATH=VALUE ...]
    python benchmarks/pipeline_cost.py --results results

``--run`` runs ``snakemake --cores N figures`` from nothing into a fresh temporary results
and figures directory (your ``results/`` is never touched), on the pipeline config (default
``config.yaml``) with ``--set`` changes (e.g. ``--set base.data.train_samples=3000``, YAML
values), measures its wall time and the
CPU-seconds of Snakemake and every process it started (``getrusage`` of the waited-for
children), then analyses what it wrote. ``--results DIR`` analyses a finished tree only: the
pipeline's own total is then unknown, and the ratio is over the training jobs alone.

Sources: each training process's ``timing.csv`` (CPU and wall seconds of start-up, training
steps, evaluation, file writes and the whole process, written by the trainer; the count of
training-step phases is the epochs the run trained itself), each script job's log (its
CPU-seconds at exit, the processes it waited for included: ``src/distancing/usage.py``), where a
job has none Snakemake's ``benchmark:`` file (``results/benchmarks/``, sampled every 30 s: it
misses a job's last seconds and short child processes such as the C++ compiler), the training
server's log (its compiles, and its CPU-seconds at exit) and, with ``--run``, the Snakemake
process's own CPU. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import math
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml
from machine import note as machine_note

from distancing import usage
from distancing.files import RUN_FILES, TIMING_FILE
from distancing.plan import load_profiles

PHASES = ("startup", "train_steps", "evaluation", "writes", "total")
REST = ("the rest: what no log counts (script jobs after their logs' last line, the clients beyond their "
        "benchmarks' samples)")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pipeline_config(configfile: str, changes: list[str], work: Path) -> Path:
    """The pipeline config (a profile merged over config.yaml, as Snakemake merges it) with
    ``KEY.PATH=VALUE`` changes and fresh output folders, written into ``work``."""
    config = load_profiles(configfile)
    config["results"], config["figures"], config["docs"] = (str(work / name) for name in ("results", "figures", "docs"))
    for change in changes:
        key, _, value = change.partition("=")
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            node = node[part]
        node[leaf] = yaml.safe_load(value)
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_pipeline(config: Path, cores: int) -> tuple[float, float, float]:
    """Wall and CPU seconds of one ``snakemake figures`` from nothing, Inductor's cache included
    (an empty ``TORCHINDUCTOR_CACHE_DIR``: what a new machine compiles, src/distancing/compiled.py),
    and the CPU-seconds of the Snakemake process itself (its scheduler, bookkeeping and the
    benchmark threads; sampled every second, the last sample within a second of its end)."""
    command = ["snakemake", "--cores", str(cores), "figures", "--quiet", "all", "--configfile", str(config)]
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(config.parent / "inductor-cache")}
    cpu, wall = children_cpu(), time.perf_counter()
    process = subprocess.Popen(command, env=env)
    own = own_cpu_until_exit(process, every=1.0)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return time.perf_counter() - wall, children_cpu() - cpu, own


def own_cpu_until_exit(process: subprocess.Popen, every: float) -> float:
    """The CPU-seconds of ``process`` itself (not its children), sampled every ``every`` seconds
    until it exits: the last sample, within ``every`` of its end."""
    import psutil

    own, watched = 0.0, psutil.Process(process.pid)
    while process.poll() is None:
        with contextlib.suppress(psutil.Error):  # it may end between the poll and the sample
            times = watched.cpu_times()
            own = times.user + times.system
        time.sleep(every)
    return own


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t" if path.suffix == ".tsv" else ","))


def analyse(results: Path) -> dict:
    """Sum the trainer's phase timers and Snakemake's job benchmarks over every run."""
    phases = {p: [0.0, 0.0] for p in PHASES}
    per_model: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    described = trained = graphs = 0
    runs = sorted(p for p in (results / "runs").iterdir() if (p / TIMING_FILE).exists())
    for run in runs:
        timing = {r["phase"]: r for r in read_rows(run / TIMING_FILE)}
        for phase in PHASES:
            phases[phase][0] += float(timing[phase]["cpu_seconds"])
            phases[phase][1] += float(timing[phase]["wall_seconds"])
        config = yaml.safe_load((run / RUN_FILES["config"]).read_text())
        samples = config["data"]["train_samples"] or math.nan
        model = per_model[config["model"]["name"]]
        epochs = int(timing["train_steps"]["count"])  # trained here: a branch's first epochs are its trunk's
        described += config["train"]["epochs"]
        trained += epochs
        model["runs"] += 1
        model["steps"] += epochs * math.ceil(samples / config["train"]["batch_size"])
        model["step_cpu"] += float(timing["train_steps"]["cpu_seconds"])
        model["startup_cpu"] += float(timing["startup"]["cpu_seconds"])
        model["total_cpu"] += float(timing["total"]["cpu_seconds"])
        graphs += int(timing["compiled_graphs"]["count"]) if "compiled_graphs" in timing else 0
    jobs = [read_rows(p)[0] for p in sorted((results / "benchmarks" / "train").glob("*.tsv"))]
    measured = {p.stem: job_cost(results, p) for p in sorted((results / "benchmarks" / "measurements").glob("*.tsv"))}
    scripts = {p.stem: job_cost(results, p) for p in sorted((results / "benchmarks").glob("*.tsv"))}
    figures = [job_cost(results, p) for p in sorted((results / "benchmarks" / "figures").glob("*.tsv"))]
    return {"runs": len(runs), "phases": phases, "per_model": per_model, "train_jobs": len(jobs),
            "measurements": measured,
            "train_clients": (sum(float(j["cpu_time"]) for j in jobs), None),
            "scripts": scripts,
            "figures": (sum(f.cpu for f in figures), sum(f.wall for f in figures), len(figures),
                        all(f.exact for f in figures)),
            "epochs_described": described, "epochs_trained": trained,
            "train_jobs_wall": sum(float(j["s"]) for j in jobs), "graphs_in_runs": graphs,
            "server_compiles": server_compiles(results / "logs" / "training_server.log"),
            "server_at_exit": usage.read(results / "logs" / "training_server.log")}


@dataclass
class JobCost:
    """A script job's CPU-seconds: from its log at exit where it wrote one (``usage.py``: exact,
    the C++ compiler's processes included), else from Snakemake's sampled benchmark."""

    cpu: float
    wall: float
    compiler: float | None  # the processes it waited for, where its log says

    @property
    def exact(self) -> bool:
        return self.compiler is not None

    @property
    def source(self) -> str:
        if not self.exact:
            return "Snakemake's benchmark"
        return f"its log at exit; {self.compiler:.1f} of it in the processes it waited for"


def job_cost(results: Path, benchmark: Path) -> JobCost:
    """The job whose benchmark file is ``benchmark``; its log mirrors the path under logs/."""
    sampled = read_rows(benchmark)[0]
    log = results / "logs" / benchmark.relative_to(results / "benchmarks").with_suffix(".log")
    exact = usage.read(log)
    if exact is None:
        return JobCost(float(sampled["cpu_time"]), float(sampled["s"]), None)
    return JobCost(sum(exact), float(sampled["s"]), exact[1])


def server_compiles(log: Path) -> list[float]:
    """The CPU-seconds of each kind of run the warm server compiled before forking (its log)."""
    if not log.exists():
        return []
    return [float(m) for m in re.findall(r"compiled the steps of runs like .* in ([0-9.]+) CPU-s", log.read_text())]


def report(found: dict, wall: float | None, cpu: float | None, snakemake_cpu: float | None = None) -> str:
    phases, steps = found["phases"], found["phases"]["train_steps"][0]
    whole = cpu if cpu is not None else phases["total"][0]
    lines = ["| what | CPU-seconds | wall seconds | share of the CPU-seconds |", "|---|---|---|---|"]

    def row(label: str, c: float, w: float | None) -> None:
        lines.append(f"| {label} | {c:.1f} | {'' if w is None else f'{w:.1f}'} | {c / whole:.1%} |")

    if cpu is not None:
        row("pipeline: Snakemake and every process it started", cpu, wall)
    row(f"training processes ({found['runs']} runs, their timing.csv)", *phases["total"])
    names = {"startup": "start-up (process start to first step)", "train_steps": "training steps",
             "evaluation": "evaluation", "writes": "file writes (resume state, tables, predictions)"}
    for phase, name in names.items():
        row(f"&nbsp;&nbsp;{name}", *phases[phase])
    rest = phases["total"][0] - sum(phases[p][0] for p in names)
    row("&nbsp;&nbsp;the rest (after the last epoch)", rest, None)
    measured = found["measurements"]
    for name, job in measured.items():
        row(f"measurement on stored members: {name} ({job.source})", job.cpu, job.wall)
    compiling = sum(found["server_compiles"])
    if found["server_compiles"]:
        row(f"compiling in the training server, before forking ({len(found['server_compiles'])} kinds of run, "
            f"its log)", compiling, None)
    server = 0.0
    if found["server_at_exit"] is not None:  # its own process and the processes it waited for: runs, compilers
        server = sum(found["server_at_exit"]) - phases["total"][0] - compiling
        row("the training server's own process outside its compiles: importing torch, serving, forking "
            "(its log at exit, less every run's timing.csv and its compiles)", server, None)
    for name, job in found["scripts"].items():
        row(f"job: {name} ({job.source})", job.cpu, job.wall)
    figure_cpu, figure_wall, figure_count, figures_exact = found["figures"]
    if figure_count:
        source = "their logs at exit" if figures_exact else "Snakemake's benchmarks"
        row(f"jobs: the {figure_count} figures ({source})", figure_cpu, figure_wall)
    row(f"jobs: the {found['train_jobs']} training jobs' shells and `distancing train` clients (their benchmarks)",
        *found["train_clients"])
    jobs = sum(job.cpu for job in found["scripts"].values()) + figure_cpu + found["train_clients"][0]
    if snakemake_cpu is not None:
        row("Snakemake itself: scheduling, bookkeeping, benchmarking its jobs (its own process)", snakemake_cpu, None)
    if cpu is not None:
        row(REST,
            cpu - phases["total"][0] - sum(job.cpu for job in measured.values()) - compiling - server - jobs
            - (snakemake_cpu or 0.0), None)
    label = "pipeline CPU" if cpu is not None else "training-process CPU (pipeline total not measured)"
    lines.append(f"\n**overhead ratio** = {label} ÷ training-step CPU = {whole:.1f} ÷ {steps:.1f} = "
                 f"**{whole / steps:.3f}**")
    lines.append(f"\n**epochs**: the runs describe {found['epochs_described']}; {found['epochs_trained']} were "
                 f"trained (the train_steps counts of timing.csv: a branch trains only the epochs after its "
                 f"trunk's, src/distancing/branching.py), "
                 f"{1 - found['epochs_trained'] / max(found['epochs_described'], 1):.1%} fewer.")
    lines.append(f"\n**graphs compiled by the runs themselves**: {found['graphs_in_runs']} (the compiled_graphs "
                 f"counts of timing.csv; 0 where every run inherited the training server's, compiled.py)")
    lines.append(f"\nSnakemake's benchmark files: {found['train_jobs']} training jobs, "
                 f"{found['train_jobs_wall']:.0f} s of job wall time summed (their CPU column sees only the "
                 f"client when the warm server trains).")
    lines += ["", "| model | runs | SGD steps | step CPU-seconds | steps per CPU-second | start-up CPU-s per run |"
              " training-step share of its processes |", "|---|---|---|---|---|---|---|"]
    for name, m in sorted(found["per_model"].items()):
        lines.append(f"| {name} | {int(m['runs'])} | {int(m['steps'])} | {m['step_cpu']:.1f} | "
                     f"{m['steps'] / m['step_cpu']:.1f} | {m['startup_cpu'] / m['runs']:.2f} | "
                     f"{m['step_cpu'] / m['total_cpu']:.1%} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", action="store_true", help="run the pipeline from nothing, then analyse it")
    what.add_argument("--results", type=Path, help="analyse a finished results directory")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--configfile", default="config.yaml", help="pipeline config (default: config.yaml)")
    parser.add_argument("--set", dest="changes", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="change one key of the pipeline config for this measurement; repeatable")
    parser.add_argument("--keep", type=Path, help="with --run: keep results/, figures/, docs/ and config.yaml in this "
                        "new folder instead of deleting them")
    args = parser.parse_args()
    if args.run:
        print(machine_note(), end="\n\n")  # the machine this table comes from (machine.py)

    if args.results:
        print(report(analyse(args.results), None, None))
        return
    work = Path(tempfile.mkdtemp(prefix="pipeline-cost-"))
    try:
        wall, cpu, snakemake_cpu = run_pipeline(pipeline_config(args.configfile, args.changes, work), args.cores)
        found = analyse(work / "results")
        changes = "".join(f" --set {c}" for c in args.changes)
        print(f"python benchmarks/pipeline_cost.py --run --cores {args.cores} --configfile {args.configfile}{changes}: "
              f"{found['runs']} runs, {wall:.0f} s wall ({wall / 60:.1f} min), {cpu:.0f} CPU-seconds\n")
        print(report(found, wall, cpu, snakemake_cpu))
        if args.keep:  # the results, the figures and the config they were made with
            shutil.move(str(work), args.keep)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
