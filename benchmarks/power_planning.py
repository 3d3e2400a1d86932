"""Power planning of the headline claims, on calibration seeds the pipeline never reports.

    python benchmarks/power_planning.py --run [--replicates 8] [--first-seed 1000] [--keep DIR] [--cores 2]
    python benchmarks/power_planning.py --claims DIR/results/claims.csv

The headline claims are the ones on Figure 3.7 and on the peer ensembles: the hill against its
twin's ensemble, the distancing ensemble against one network, distancing against the snapshot
ensemble, FGE and the deep ensembles, and the controls they rest on, in accuracy and in
calibrated NLL; and the basins claims on the barriers measurement (the hill's barrier against
its twin's, and the independent networks' control), in training loss and validation error.
``--run`` runs the pipeline's claims (the Snakemake target ``claims.csv``, nothing else) from
nothing with only those claims declared, each at ``--replicates`` seeds from ``--first-seed``:
calibration seeds, disjoint from every seed a profile reports (the deep ensembles' included).
It prints, per claim and panel, the spread of the paired differences seen, the effect worth
detecting the claim declares, and the seeds a paired t-test needs to detect it at that spread
(``claims.seeds_needed``: two-sided α = 0.05, power 0.8), then the most any claim needs per
metric or unit. The verdicts on these seeds are not reported anywhere: only their spread is used.
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
from pipeline_cost import children_cpu, pipeline_config

from distancing.claims.catalogue import statistics
from distancing.plan import load_profiles


def headline(config: dict) -> dict:
    """The claims on Figure 3.7, the peer ensembles and the barriers (each with the controls it rests on)."""
    known = statistics()
    return {name: spec for name, spec in config["claims"].items()
            if known[spec["statistic"]].figure == "fig3_7" or known[spec["statistic"]].peers
            or known[spec["statistic"]].measurement == "barriers"}


def plan(claims: pd.DataFrame) -> str:
    """The spread, effect and seeds needed of every headline claim, then the most each metric needs."""
    lines = ["| claim | panel | metric | n | paired SD | effect worth detecting | seeds needed |",
             "|---|---|---|---|---|---|---|"]
    most: dict[str, int] = {}
    for r in claims.itertuples():
        metric = r.metric if isinstance(r.metric, str) else r.unit  # disagreement, error barrier: points
        values = np.array([float(v) for v in str(r.values).split()], dtype=float)
        values = values[np.isfinite(values)]
        sd = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        needed = int(r.seeds_needed) if np.isfinite(r.seeds_needed) else None
        effect = f"{r.effect:g} {r.unit if isinstance(r.unit, str) else ''}".strip()
        lines.append(f"| {r.claim} | {r.panel if isinstance(r.panel, str) else ''} | {metric} | {r.n} | "
                     f"{sd:.3g} | {effect} | {needed or ''} |")
        if needed:
            most[metric] = max(most.get(metric, 0), needed)
    lines += ["", "Most seeds any claim needs: " + "; ".join(f"{metric} {n}" for metric, n in sorted(most.items()))
              + "."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", action="store_true", help="run the headline claims on calibration seeds")
    what.add_argument("--claims", type=Path, help="plan from a claims.csv this script's run wrote")
    parser.add_argument("--configfile", default="config.yaml")
    parser.add_argument("--replicates", type=int, default=8)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="keep the calibration run's results here")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    if args.claims:
        print(plan(pd.read_csv(args.claims)))
        return
    profile = load_profiles(args.configfile)
    seeds = list(range(args.first_seed, args.first_seed + args.replicates))
    own, members = profile["seeds"], profile["peers"]["members"]
    reported = set(own) | set(range(own[0], own[0] + len(own) * members))  # and the deep ensembles' (peers.py)
    if reported & set(range(seeds[0], seeds[0] + args.replicates * members)):
        raise SystemExit(f"--first-seed {args.first_seed}: the calibration seeds meet the profile's own")
    claims = {name: dict(spec, seeds=args.replicates) for name, spec in headline(profile).items()}
    work = Path(tempfile.mkdtemp(prefix="power-"))
    try:
        # The whole config as the folder's config.yaml (a --configfile would merge the profile's other claims back).
        path = pipeline_config(args.configfile, [f"seeds={seeds}", "max_claim_seeds=null"], work)
        config = yaml.safe_load(path.read_text())
        config["claims"] = claims
        config["base"]["data"]["root"] = str(Path(config["base"]["data"]["root"]).resolve())
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        cpu, wall = children_cpu(), time.perf_counter()
        subprocess.run(["snakemake", f"{config['results']}/claims.csv", "--snakefile", str(Path("Snakefile").resolve()),
                        "--directory", str(work), "--cores", str(args.cores), "--quiet", "all"], check=True)
        wall, cpu = time.perf_counter() - wall, children_cpu() - cpu
        claims_csv = work / "results" / "claims.csv"
        if args.keep:
            shutil.move(str(work), args.keep)
            claims_csv = args.keep / "results" / "claims.csv"
        print(f"python benchmarks/power_planning.py --run --replicates {args.replicates} --first-seed "
              f"{args.first_seed}: seeds {seeds[0]}–{seeds[-1]}, {wall:.0f} s wall, {cpu:.0f} CPU-seconds\n")
        print(plan(pd.read_csv(claims_csv)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
