"""Where the pipeline's CPU time goes: training steps against everything around them.

    python benchmarks/pipeline_cost.py --run [--cores 2] [--configfile F] [--config KEY=VALUE ...]
    python benchmarks/pipeline_cost.py --results results

``--run`` runs ``snakemake --cores N figures`` from nothing into a fresh temporary results
and figures directory (your ``results/`` is never touched), measures its wall time and the
CPU-seconds of Snakemake and every process it started (``getrusage`` of the waited-for
children), then analyses what it wrote. ``--results DIR`` analyses a finished tree only: the
pipeline's own total is then unknown, and the ratio is over the training jobs alone.

Sources: each training process's ``timing.csv`` (CPU and wall seconds of start-up, training
steps, evaluation, file writes and the whole process, written by the trainer) and Snakemake's
``benchmark:`` files of the training jobs. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import csv
import math
import resource
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

PHASES = ("startup", "train_steps", "evaluation", "writes", "total")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_pipeline(work: Path, cores: int, configfile: str | None, config: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one ``snakemake figures`` from nothing into ``work``."""
    command = ["snakemake", "--cores", str(cores), "figures", "--quiet", "all"]
    if configfile:
        command += ["--configfile", configfile]
    command += ["--config", f"results={work / 'results'}", f"figures={work / 'figures'}", *config]
    cpu, wall = children_cpu(), time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - wall, children_cpu() - cpu


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t" if path.suffix == ".tsv" else ","))


def analyse(results: Path) -> dict:
    """Sum the trainer's phase timers and Snakemake's job benchmarks over every run."""
    phases = {p: [0.0, 0.0] for p in PHASES}
    per_model: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    runs = sorted(p for p in (results / "runs").iterdir() if (p / "timing.csv").exists())
    for run in runs:
        timing = {r["phase"]: r for r in read_rows(run / "timing.csv")}
        for phase in PHASES:
            phases[phase][0] += float(timing[phase]["cpu_seconds"])
            phases[phase][1] += float(timing[phase]["wall_seconds"])
        config = yaml.safe_load((run / "config.yaml").read_text())
        samples = config["data"]["train_samples"] or math.nan
        model = per_model[config["model"]["name"]]
        model["runs"] += 1
        model["steps"] += config["train"]["epochs"] * math.ceil(samples / config["train"]["batch_size"])
        model["step_cpu"] += float(timing["train_steps"]["cpu_seconds"])
        model["startup_cpu"] += float(timing["startup"]["cpu_seconds"])
        model["total_cpu"] += float(timing["total"]["cpu_seconds"])
    jobs = [read_rows(p)[0] for p in sorted((results / "benchmarks" / "train").glob("*.tsv"))]
    return {"runs": len(runs), "phases": phases, "per_model": per_model, "train_jobs": len(jobs),
            "train_jobs_cpu": sum(float(j["cpu_time"]) for j in jobs),
            "train_jobs_wall": sum(float(j["s"]) for j in jobs)}


def report(found: dict, wall: float | None, cpu: float | None) -> str:
    phases, steps = found["phases"], found["phases"]["train_steps"][0]
    lines = ["| what | CPU-seconds | wall seconds | share of pipeline CPU |", "|---|---|---|---|"]
    whole = cpu if cpu is not None else found["train_jobs_cpu"]

    def row(label: str, c: float, w: float | None) -> None:
        lines.append(f"| {label} | {c:.1f} | {'' if w is None else f'{w:.1f}'} | {c / whole:.1%} |")

    if cpu is not None:
        row("pipeline: Snakemake and every job it ran", cpu, wall)
    row(f"training jobs ({found['train_jobs']}, Snakemake benchmark files)", found["train_jobs_cpu"],
        found["train_jobs_wall"])
    names = {"startup": "start-up (process start to first step)", "train_steps": "training steps",
             "evaluation": "evaluation", "writes": "file writes (resume state, tables, predictions)",
             "total": "training processes in all"}
    for phase in PHASES:
        row(f"&nbsp;&nbsp;{names[phase]}", *phases[phase])
    rest = phases["total"][0] - sum(phases[p][0] for p in PHASES[:-1])
    row("&nbsp;&nbsp;rest of the training processes (after the last epoch)", rest, None)
    if cpu is not None:
        row("everything else (Snakemake, data preparation, ensembles, claims, figures)",
            cpu - found["train_jobs_cpu"], None)
    label = "pipeline CPU" if cpu is not None else "training-job CPU (pipeline total not measured)"
    lines.append(f"\n**overhead ratio** = {label} ÷ training-step CPU = {whole:.1f} ÷ {steps:.1f} = "
                 f"**{whole / steps:.3f}**")
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
    parser.add_argument("--configfile", help="pipeline config (default: config.yaml)")
    parser.add_argument("--config", nargs="*", default=[], help="KEY=VALUE overrides passed to snakemake")
    parser.add_argument("--keep", type=Path, help="with --run: keep the results here instead of deleting them")
    args = parser.parse_args()

    if args.results:
        print(report(analyse(args.results), None, None))
        return
    work = Path(tempfile.mkdtemp(prefix="pipeline-cost-", dir="."))
    try:
        wall, cpu = run_pipeline(work, args.cores, args.configfile, args.config)
        found = analyse(work / "results")
        print(f"snakemake --cores {args.cores} figures{' --configfile ' + args.configfile if args.configfile else ''}"
              f"{' --config ' + ' '.join(args.config) if args.config else ''}: {found['runs']} runs, "
              f"{wall:.0f} s wall ({wall / 60:.1f} min), {cpu:.0f} CPU-seconds\n")
        print(report(found, wall, cpu))
        if args.keep:
            shutil.move(str(work / "results"), args.keep)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
