"""Do the verdicts survive another seed set? The same claims on a disjoint set of seeds.

    python benchmarks/seed_robustness.py --run [--seeds 100 101 102 103 104] [--reference results/claims.csv]
                                         [--primary] [--keep DIR] [--cores 2]
    python benchmarks/seed_robustness.py A/claims.csv B/claims.csv

``--run`` runs the whole pipeline from nothing on ``config.yaml`` with ``seeds`` replaced by a
disjoint set of the same size (every run, deep-ensemble seeds included, then uses seeds
outside the profile's own), and compares its ``claims.csv`` with ``--reference`` (the
profile's own run; without it, the profile is run from nothing too). It prints the primary
family first: each comparison's family-wise category (holds, does not hold, no effect worth
detecting, undecided) and size on both sets. With ``--primary`` the disjoint set runs only the
primary family and the controls it rests on (the Snakemake target ``claims.csv``, as
``power_planning.py`` runs them), each at as many seeds as the profile lists. Then one row per
claim and panel with both verdicts (own and family-wise) and their replication probabilities,
then the counts: decided in both (the same way), decided in one only, and decided the opposite
way in the two sets, which a sound design must never show; and every verdict that changes
category between the sets (decided ↔ undecided, or the opposite decision), with how many of
those the first set had marked fragile.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import pandas as pd
from machine import note as machine_note
from pipeline_cost import pipeline_config, run_pipeline
from power_planning import calibration_claims, run_claims

from distancing.claims.verdicts import decided
from distancing.plan import load_profiles
from distancing.results_page import answer


def category(verdict: str) -> str:
    """A verdict's category: which way it decides, or undecided (inconclusive, needs seeds, untestable)."""
    return verdict.split(":")[0] if decided(verdict) else "undecided"


def primary(a: pd.DataFrame, b: pd.DataFrame, names: tuple[str, str]) -> str:
    """The primary family (as the first set declares it) on both sets: each comparison's
    family-wise category and size, and whether the category is the same."""
    key = ["claim", "panel"]
    both = a.fillna({"panel": "", "size": ""}).merge(b.fillna({"panel": "", "size": ""}), on=key, suffixes=("_a", "_b"))
    both = both[both["family_a"] == "primary"]
    lines = [f"| claim | panel | {names[0]}, family-wise | size | {names[1]}, family-wise | size | same category |",
             "|---|---|---|---|---|---|---|"]
    same = 0
    for r in both.itertuples():
        agree = category(r.verdict_holm_a) == category(r.verdict_holm_b)
        same += agree
        lines.append(f"| {r.claim} | {r.panel} | {r.verdict_holm_a} | {r.size_a} | {r.verdict_holm_b} | {r.size_b} | "
                     f"{'yes' if agree else 'no'} |")
    answers = [f"- {name}: {answer(table[table['family'] == 'primary'].reset_index(drop=True))[-1]}"
               for name, table in zip(names, (a, b), strict=True)]
    return "\n".join(["The primary family:", "", *lines, "",
                      f"{same} of {len(both)} primary comparisons in the same family-wise category. The answer "
                      "on each set (results_page.answer):", "", *answers])


def compare(a: pd.DataFrame, b: pd.DataFrame, names: tuple[str, str]) -> str:
    """Both verdicts of every claim and panel, then the verdicts that change category between the
    two sets (decided ↔ undecided, or the opposite decision) and how many of those the first set
    marked fragile (``claims.ROBUST``): what the replication probability promised to flag."""
    key = ["claim", "panel"]
    both = a.fillna({"panel": ""}).merge(b.fillna({"panel": ""}), on=key, suffixes=("_a", "_b"))
    lines = [f"| claim | figure | panel | metric | {names[0]} | replication | {names[1]} | replication | "
             f"Holm, {names[0]} | Holm, {names[1]} |", "|---|---|---|---|---|---|---|---|---|---|"]
    counts = {"decided in both, the same way": 0, "decided in one set only": 0, "decided in neither": 0,
              "decided the opposite way": 0}
    changed, flagged = [], 0
    for r in both.itertuples():
        fragile_a = " *fragile*" if str(r.fragile_a) == "True" else ""
        fragile_b = " *fragile*" if str(r.fragile_b) == "True" else ""
        lines.append(f"| {r.claim} | {r.figure_a} | {r.panel} | {r.metric_a if isinstance(r.metric_a, str) else ''} "
                     f"| {r.verdict_a} | {r.replication_a:.2f}{fragile_a} | {r.verdict_b} | "
                     f"{r.replication_b:.2f}{fragile_b} | {r.verdict_holm_a} | {r.verdict_holm_b} |")
        da, db = decided(r.verdict_a), decided(r.verdict_b)
        if da and db:
            counts["decided in both, the same way" if category(r.verdict_a) == category(r.verdict_b)
                   else "decided the opposite way"] += 1
        else:
            counts["decided in one set only" if da or db else "decided in neither"] += 1
        if category(r.verdict_a) != category(r.verdict_b):
            changed.append(f"{r.claim}{f' ({r.panel})' if r.panel else ''}: {category(r.verdict_a)} → "
                           f"{category(r.verdict_b)}{fragile_a}")
            flagged += bool(fragile_a)
    decided_a = sum(decided(v) for v in both["verdict_a"])
    fragile_total = sum(str(f) == "True" for f in both["fragile_a"])
    lines += ["", f"{len(both)} claims × panels: " + "; ".join(f"{v} {k}" for k, v in counts.items()) + ".", "",
              f"Verdicts that change category ({len(changed)}; {flagged} of them marked fragile in {names[0]}, "
              f"which marked {fragile_total} of its {decided_a} decided verdicts fragile):", ""]
    lines += [f"- {line}" for line in changed] or ["- none"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tables", nargs="*", type=Path, help="two claims.csv files to compare")
    parser.add_argument("--run", action="store_true", help="run the pipeline on the disjoint seeds, then compare")
    parser.add_argument("--configfile", default="config.yaml")
    parser.add_argument("--seeds", nargs="*", type=int, help="the disjoint set (default: 100, 101, … as many as "
                        "the config lists)")
    parser.add_argument("--reference", type=Path, help="the profile's own claims.csv (default: run it too)")
    parser.add_argument("--keep", type=Path, help="keep the disjoint run's results here")
    parser.add_argument("--primary", action="store_true", help="run only the primary family and its controls")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    if args.run:
        print(machine_note(), end="\n\n")  # the machine this table comes from (machine.py)
    if not args.run:
        if len(args.tables) != 2:
            raise SystemExit("give two claims.csv files, or --run")
        a, b = pd.read_csv(args.tables[0]), pd.read_csv(args.tables[1])
        names = (str(args.tables[0]), str(args.tables[1]))
        print(primary(a, b, names) + "\n\n" + compare(a, b, names))
        return
    profile = load_profiles(args.configfile)
    own, members = profile["seeds"], profile["peers"]["members"]
    seeds = args.seeds or list(range(100, 100 + len(own)))

    def used(chosen: list[int]) -> set[int]:  # the seeds and the deep ensembles' (Plan.peer_members)
        return set(chosen) | set(range(chosen[0], chosen[0] + len(chosen) * members))

    if used(own) & used(seeds):
        raise SystemExit(f"--seeds {seeds}: not disjoint from the profile's seeds and its deep-ensemble seeds")
    tables, timings = {}, []
    for label, chosen in ([("own seeds", own)] if args.reference is None else []) + [("disjoint seeds", seeds)]:
        work = Path(tempfile.mkdtemp(prefix="seeds-"))
        if args.primary:
            wall, cpu = run_claims(args.configfile, calibration_claims(profile, len(chosen), candidates=False),
                                   chosen, work, args.cores)
        else:
            wall, cpu = run_pipeline(pipeline_config(args.configfile, [f"seeds={chosen}"], work), args.cores)
        timings.append(f"{label} {chosen}: {wall:.0f} s wall, {cpu:.0f} CPU-seconds")
        tables[label] = pd.read_csv(work / "results" / "claims.csv")
        if args.keep and label == "disjoint seeds":
            shutil.move(str(work), args.keep)
        else:
            shutil.rmtree(work)
    if args.reference is not None:
        tables = {"own seeds": pd.read_csv(args.reference), **tables}
    print("; ".join(timings) + "\n")
    names = (f"seeds {own}", f"seeds {seeds}")
    print(primary(tables["own seeds"], tables["disjoint seeds"], names) + "\n\n"
          + compare(tables["own seeds"], tables["disjoint seeds"], names))


if __name__ == "__main__":
    main()
