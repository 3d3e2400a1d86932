"""Power planning of the primary family, and the choice of its strongest alternative, on
calibration seeds the pipeline never reports.

    python benchmarks/power_planning.py --run [--replicates 20] [--first-seed 1000] [--keep DIR] [--cores 2]
    python benchmarks/power_planning.py --claims DIR/results/claims.csv

The primary family (``family: primary`` in the config) compares the distancing ensemble with
one network at equal budget and with its no-hill twin's ensemble, per model and in accuracy and
calibrated NLL, and with the strongest other equal-budget alternative the pipeline trains,
which this script chooses: the candidates (``CANDIDATES``) are declared here, before any of
them is run. ``--run`` runs the primary claims and the candidates, with every control and
qualifier they rest on (the profile's own declarations of those), and nothing else (the
Snakemake target ``claims.csv``) from nothing, each at ``--replicates`` seeds from
``--first-seed``: calibration seeds, disjoint from every seed a profile reports (the deep
ensembles' included). It prints, per comparison and panel:

- the spread of the paired differences, and the upper end of its one-sided 95 % interval (the
  spread the plan assumes: the point estimate from a few seeds is as often too small as too
  large, and a plan from it is underpowered half the time);
- the seeds that decide the comparison at its declared effect either way at that spread
  (``inference.seeds_to_decide``: a true effect detected with power 0.8 and a replication
  probability of 0.8, a true zero found to be no effect worth detecting with power 0.8);
- for the candidates, the mean difference from the distancing ensemble: the strongest
  alternative is the one the distancing ensemble leads least, per metric (its score is common to
  every candidate, so this is the candidate with the best score of its own).

The verdicts on these seeds are not reported anywhere: only the spreads and the candidates'
ranking are used.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from machine import note as machine_note
from pipeline_cost import children_cpu, pipeline_config

from distancing.claims.catalogue import METRICS, same_comparisons, statistics
from distancing.claims.inference import sd_upper, seeds_to_decide
from distancing.plan import Plan, load_profiles

# The equal-budget alternatives to the distancing ensemble, as the statistics that compare it with
# each: its twin (the snapshot ensemble, already a primary comparison: Figure 3.7's row on each
# model the peers train, ``catalogue.same_comparisons``), FGE, the function-space hill, and the snapshot
# members averaged into one network (SWA's answer to the same budget).
CANDIDATES = {"snapshot": "peers_distancing_vs_snapshot", "fge": "peers_distancing_vs_fge",
              "function": "peers_distancing_vs_function", "average_snapshot": "distancing_vs_average_snapshot"}


def calibration_claims(config: dict, replicates: int, candidates: bool = True) -> dict:
    """The primary claims, the candidates in both metrics (unless ``candidates`` is false), and
    every declared claim they rest on (controls and qualifiers, transitively), each at
    ``replicates`` seeds, in their declared families."""
    known = statistics()
    declared = config["claims"]
    chosen = {name: spec for name, spec in declared.items() if spec.get("family") == "primary"}
    effects = {spec["metric"]: spec["effect"] for spec in chosen.values()}  # the primary family's, per metric
    for key, statistic in CANDIDATES.items() if candidates else ():
        if any(peer == statistic for peer, _ in twin_rows(config)):
            continue  # a figure's row already (a primary claim)
        for metric, effect in effects.items():
            chosen[f"candidate_{key}_{metric}"] = {"statistic": statistic, "metric": metric, "direction": "greater",
                                                   "effect": effect, "seeds": replicates}
    by_statistic = {(spec["statistic"], spec.get("metric")): name for name, spec in declared.items()}
    pending = list(chosen.values())
    while pending:
        spec = pending.pop()
        statistic = known[spec["statistic"]]
        for rests in statistic.controls + statistic.qualifiers:
            name = by_statistic.get((rests, spec.get("metric") if statistic.ensemble else None))
            if name and name not in chosen:
                chosen[name] = declared[name]
                pending.append(declared[name])
    return {name: spec | {"seeds": replicates} for name, spec in chosen.items()}


def twin_rows(config: dict) -> dict[tuple[str, str], str]:
    """The candidates a figure statistic already compares on a model the peers train:
    (statistic, panel) -> the row's statistic."""
    panels = {name: [panel.key for panel in figure.panels] for name, figure in Plan(config).figures().items()}
    return same_comparisons(statistics(), panels)


def plan(claims: pd.DataFrame, primary: set[str], twins: dict[tuple[str, str], str] | None = None) -> str:
    """The spread, its upper end and the seeds that decide every primary comparison; then the
    candidates' mean differences and the strongest alternative per metric."""
    lines = ["| comparison | panel | metric | n | paired SD | upper 95 % of the SD | declared effect | "
             "seeds to decide (at the upper SD) |", "|---|---|---|---|---|---|---|---|"]
    candidates = []
    for r in claims.itertuples():
        values = np.array([float(v) for v in str(r.values).split()], dtype=float)
        values = values[np.isfinite(values)]
        sd = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        upper = sd_upper(sd, len(values))
        panel = r.panel if isinstance(r.panel, str) else ""
        if r.claim.startswith("candidate_"):
            candidates.append((r.metric, panel, r.claim.removeprefix("candidate_").removesuffix(f"_{r.metric}"),
                               float(values.mean()), sd))
        for key, statistic in CANDIDATES.items():
            if (twins or {}).get((statistic, panel)) == r.statistic:
                candidates.append((r.metric, panel, key, float(values.mean()), sd))
        if r.claim not in primary and not r.claim.startswith("candidate_"):
            continue
        lines.append(f"| {r.claim} | {panel} | {r.metric} | {len(values)} | {sd:.3g} | {upper:.3g} | "
                     f"{r.effect:g} {METRICS[r.metric]} | {seeds_to_decide(upper, r.effect)} |")
    lines += ["", "| metric | model | candidate | distancing − candidate, mean | paired SD |", "|---|---|---|---|---|"]
    lines += [f"| {metric} | {panel} | {key} | {mean:+.4g} | {sd:.3g} |"
              for metric, panel, key, mean, sd in sorted(candidates)]
    for metric, panel in sorted({(metric, panel) for metric, panel, *_ in candidates}):
        ranked = sorted((mean, key) for m, p, key, mean, _ in candidates if (m, p) == (metric, panel))
        lines.append(f"\nStrongest alternative in {metric} on {panel}: {ranked[0][1]} (the distancing ensemble "
                     f"leads it least, by {ranked[0][0]:+.4g}).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", action="store_true", help="run the primary claims and candidates on calibration seeds")
    what.add_argument("--claims", type=Path, help="plan from a claims.csv this script's run wrote")
    parser.add_argument("--configfile", default="config.yaml")
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="keep the calibration run's results here")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    if args.run:
        print(machine_note(), end="\n\n")  # the machine this table comes from (machine.py)
    if args.claims:
        profile = load_profiles(args.configfile)
        print(plan(pd.read_csv(args.claims), primary(profile), twin_rows(profile)))
        return
    profile = load_profiles(args.configfile)
    seeds = list(range(args.first_seed, args.first_seed + args.replicates))
    own, members = profile["seeds"], profile["peers"]["members"]
    reported = set(own) | set(range(own[0], own[0] + len(own) * members))  # and the deep ensembles' (peers.py)
    if reported & set(range(seeds[0], seeds[0] + args.replicates * members)):
        raise SystemExit(f"--first-seed {args.first_seed}: the calibration seeds meet the profile's own")
    claims = calibration_claims(profile, args.replicates)
    work = Path(tempfile.mkdtemp(prefix="power-"))
    try:
        wall, cpu = run_claims(args.configfile, claims, seeds, work, args.cores)
        claims_csv = work / "results" / "claims.csv"
        if args.keep:
            shutil.move(str(work), args.keep)
            claims_csv = args.keep / "results" / "claims.csv"
        print(f"python benchmarks/power_planning.py --run --replicates {args.replicates} --first-seed "
              f"{args.first_seed}: seeds {seeds[0]}–{seeds[-1]}, {wall:.0f} s wall, {cpu:.0f} CPU-seconds\n")
        print(plan(pd.read_csv(claims_csv), primary(profile), twin_rows(profile)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_claims(configfile: str, claims: dict, seeds: list[int], work: Path, cores: int) -> tuple[float, float]:
    """Run only ``claims`` (the Snakemake target ``claims.csv``: their runs, the ensembles and the
    measurements they read, nothing else) on ``seeds`` in ``work``; wall and CPU seconds."""
    # The whole config as the folder's config.yaml (a --configfile would merge the profile's other claims back).
    path = pipeline_config(configfile, [f"seeds={seeds}", "max_claim_seeds=null"], work)
    config = yaml.safe_load(path.read_text())
    config["claims"] = claims
    needed = {peer for spec in claims.values() for peer in statistics()[spec["statistic"]].peers}
    config["peers"]["methods"] = [key for key in config["peers"]["methods"] if key in needed]
    config["base"]["data"]["root"] = str(Path(config["base"]["data"]["root"]).resolve())
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    cpu, wall = children_cpu(), time.perf_counter()
    subprocess.run(["snakemake", f"{config['results']}/claims.csv", "--snakefile", str(Path("Snakefile").resolve()),
                    "--directory", str(work), "--cores", str(cores), "--quiet", "all"], check=True)
    return time.perf_counter() - wall, children_cpu() - cpu


def primary(config: dict) -> set[str]:
    return {name for name, spec in config["claims"].items() if spec.get("family") == "primary"}


if __name__ == "__main__":
    main()
