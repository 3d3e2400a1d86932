"""The distance-matched no-hill step: which learning rate makes the twin travel as far as the hill?

    python benchmarks/matched_step.py --run [--seeds 1000 1001 1002] [--lrs 0.1 0.2 0.4 0.8] [--keep DIR] [--cores 2]
    python benchmarks/matched_step.py DIR

The basins figure compares the hill's step from its first checkpoint with its twin's, but the
hill travels several times as far in the same epochs, and a longer step may meet a higher
barrier in one curved valley. The distance-matched step (``figures.distance_matched_step``)
restarts the twin from the checkpoint at a larger learning rate. This script chooses that rate,
per model, by the distance alone, on calibration seeds the pipeline never reports: ``--run``
trains, from nothing, the hill's and its twin's runs and one distance-matched step per
candidate rate (``--lrs``), on ``--seeds`` (the Snakemake targets are the members they keep, so
no barrier is ever computed), and prints, per model and rate, the mean L2 distance from the
checkpoint to the step's next member and to its final member, beside the hill's. The rate
chosen is the candidate whose next-member distance is nearest the hill's, in ratio.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from machine import note as machine_note
from pipeline_cost import children_cpu, pipeline_config

from distancing.members import load_members
from distancing.plan import Plan

# 2× to 16× the base's rate, then (after the first run showed the hill's distance between the
# steps of 0.1 and 0.2 on both models) a geometric refinement between those two.
CANDIDATES = (0.1, 0.12, 0.14, 0.17, 0.2, 0.4, 0.8)


def configure(work: Path, seeds: list[int], lr: float, results: Path | None = None) -> dict:
    """The default profile on calibration seeds (every claim capped at their number), with a
    distance-matched step at ``lr`` on every model of the basins figure, written into ``work``;
    ``results``: a results folder other than ``work``'s own (one for every rate, so that the hill
    and its twin train once)."""
    work.mkdir(parents=True, exist_ok=True)
    path = pipeline_config("config.yaml", [f"seeds={seeds}", f"max_claim_seeds={len(seeds)}"], work)
    config = yaml.safe_load(path.read_text())
    if results is not None:
        config["results"] = str(results)
    config["experiments"]["basins"]["matched_lr"] = dict.fromkeys(config["experiments"]["basins"]["models"], lr)
    config["base"]["data"]["root"] = str(Path(config["base"]["data"]["root"]).resolve())
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return config


def members_needed(config: dict) -> tuple[Plan, list[dict]]:
    """The barriers' readings of the hill and the distance-matched step, and the plan."""
    plan = Plan(config)
    return plan, [r for r in plan.readings("barriers") if r["about"]["series"] in ("distancing", "matched")]


def train(work: Path, plan: Plan, readings: list[dict], cores: int) -> None:
    files = sorted({plan.layout.run_file(run, "members") for r in readings for run, _ in r["members"].values()})
    subprocess.run(["snakemake", *files, "--snakefile", str(Path("Snakefile").resolve()), "--directory", str(work),
                    "--cores", str(cores), "--quiet", "all"], check=True)


def distances(plan: Plan, readings: list[dict]) -> dict[tuple[str, str, str], list[float]]:
    """(panel, series, pair) -> the L2 distance between the pair's members, per seed."""
    found: dict[tuple[str, str, str], list[float]] = {}
    for r in readings:
        ends = [load_members(plan.layout.run_file(run, "members")) for run, _ in r["members"].values()]
        vectors = [m.weight_vector(m.index(epoch)) for m, (_, epoch) in zip(ends, r["members"].values(), strict=True)]
        about = r["about"]
        found.setdefault((about["panel"], about["series"], about["pair"]), []).append(
            float(np.linalg.norm(vectors[0].astype(np.float64) - vectors[1])))
    return found


def row(found: dict, model: str, series: str, lr: str, pairs: tuple[str, str]) -> str:
    """One series' mean distances to the next and to the final member, as a table row."""
    means = " | ".join(f"{np.mean(found[(model, series, pair)]):.2f}" for pair in pairs)
    return f"| {model} | {series} | {lr} | {means} |"


def table(results: dict[float, dict[tuple[str, str, str], list[float]]]) -> str:
    """Per model: the hill's distances, then each rate's, and the rate chosen (nearest in ratio
    to the hill's distance to its next member)."""
    lines = ["| model | step | lr | to the next member (L2) | to the final member (L2) |", "|---|---|---|---|---|"]
    first = next(iter(results.values()))
    for model in dict.fromkeys(panel for panel, _, _ in first):
        pairs = sorted({pair for panel, series, pair in first if panel == model and series == "distancing"})
        ends = (pairs[0], max(pairs, key=lambda p: int(p.split("-")[1])))
        hill = np.mean(first[(model, "distancing", ends[0])])
        lines.append(row(first, model, "distancing", "(the hill's)", ends))
        lines += [row(found, model, "matched", f"{lr:g}", ends) for lr, found in results.items()]
        chosen = min(results, key=lambda lr: abs(math.log(np.mean(results[lr][(model, "matched", ends[0])]) / hill)))
        lines.append(f"| {model} | **chosen** | **{chosen:g}** | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tree", nargs="?", type=Path, help="a kept folder of an earlier --run")
    parser.add_argument("--run", action="store_true", help="train the runs from nothing")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001, 1002], help="calibration seeds")
    parser.add_argument("--lrs", type=float, nargs="+", default=list(CANDIDATES), help="candidate rates")
    parser.add_argument("--keep", type=Path, help="with --run: keep the folder here")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    if not args.run and args.tree is None:
        parser.error("give --run or a kept folder")
    if args.run:
        print(machine_note(), end="\n\n")  # the machine this table comes from (machine.py)
    work = args.keep or args.tree or Path(tempfile.mkdtemp(prefix="matched-step-"))
    work.mkdir(parents=True, exist_ok=True)
    results, cpu, wall = {}, children_cpu(), time.perf_counter()
    for lr in args.lrs:
        config = configure(work / f"lr{lr:g}", args.seeds, lr, results=work / "results")
        plan, readings = members_needed(config)
        if args.run:
            train(work / f"lr{lr:g}", plan, readings, args.cores)
        results[lr] = distances(plan, readings)
    print(table(results))
    if args.run:
        print(f"\nseeds {', '.join(map(str, args.seeds))}; {time.perf_counter() - wall:.0f} s wall, "
              f"{children_cpu() - cpu:.0f} CPU-s")
    if args.run and not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
