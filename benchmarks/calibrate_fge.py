"""FGE's learning rates and cycle length, chosen by FGE's own control: no hill anywhere.

    python benchmarks/calibrate_fge.py [--replicates 6] [--seed-offset 1000] [--workers 2] [--work DIR]
                                       [--lrs 0.05 0.02 0.01 0.005 0.0025] [--min-lrs 1e-4 1e-3] [--cycles 2 4]

Fast Geometric Ensembling (Garipov et al. 2018) starts from a trained network, runs a
cyclical learning rate from lr₁ down to lr₂ and back in cycles of c epochs, and takes a member
at each cycle's minimum. Here every candidate (lr₁, lr₂, c) runs exactly as the pipeline runs
its peer ``fge``: the runs come from ``Plan.peers()`` on ``config.yaml`` with the seeds
replaced by calibration seeds (``--seed-offset`` on, disjoint from the pipeline's), so FGE
starts from the snapshot run after E − M·c epochs and spends the rest of the budget E. Paired
by replicate, it reports FGE's ensemble − the single network (the control the pipeline's FGE
claims rest on) and FGE's ensemble − its own best member (what ensembling its members adds), in
accuracy (points) and calibrated NLL gained (nats), as mean [95 % t-interval] (minimum
detectable effect), with the members' own accuracy and disagreement.

The rule: among the candidates whose members are each, on average, within 2 points of the
single network (the regime's rule for members), the one whose control holds in the most
metrics, then the largest gain of the ensemble over its own best member in accuracy. (A first
rule, the largest gain over the single network, had no candidate passing and chose ever smaller
lr₁: FGE collapsing onto its parent, 1 % disagreement, no ensemble at all; docs/benchmarks.md
gives both tables.) Distancing never runs here. With ``--work`` the runs are kept there and a
run already there with the same config is not trained again.
"""

from __future__ import annotations

import argparse
import copy
import csv
import itertools
import multiprocessing
import tempfile
from pathlib import Path

import numpy as np
import yaml
from machine import note as machine_note

from distancing.claims.inference import interval, minimum_detectable_effect
from distancing.ensembles import accuracy, calibrated_nll, disagreement
from distancing.files import RUN_FILES, TIMING_FILE
from distancing.numerics import pin
from distancing.plan import Plan, load_profiles

pin()  # the workers import torch later and inherit the kernels of every x86-64 CPU (numerics.py)


def train(job: tuple[dict, str]) -> float:
    """One run in a worker, into its run directory; returns its CPU-seconds."""
    from distancing.training import train_run

    config, folder = job
    stored = Path(folder) / RUN_FILES["config"]
    same = stored.exists() and {k: v for k, v in yaml.safe_load(stored.read_text()).items() if k != "run"} == config
    if not (same and (Path(folder) / RUN_FILES["predictions"]).exists()):
        train_run(config, folder, device="cpu", threads=1, log=lambda _: None, progress=False)
    with open(Path(folder) / TIMING_FILE) as f:  # the run's own CPU-seconds (a worker's start-up left out)
        return sum(float(row["cpu_seconds"]) for row in csv.DictReader(f)
                   if row["phase"] in ("train_steps", "evaluation", "writes"))


def members(folder: Path, epochs: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The stored members' probabilities at these epochs, in order, and the labels."""
    with np.load(folder / RUN_FILES["predictions"]) as p:
        at = {int(e): i for i, e in enumerate(p["epochs"])}
        return p["probs"][[at[e] for e in epochs]], p["labels"]


def describe(values: list[float], points: bool) -> tuple[str, bool]:
    mean, low, high = interval(values)
    f = "{:+.2f}" if points else "{:+.4f}"
    return f"{f.format(mean)} [{f.format(low)}, {f.format(high)}] ({f.format(minimum_detectable_effect(values))})", \
        bool(low > 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config.yaml", help="a profile, merged over config.yaml")
    parser.add_argument("--replicates", type=int, default=6)
    parser.add_argument("--seed-offset", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, help="keep the runs here (a run already there is reused)")
    parser.add_argument("--model", help="the model whose peers are calibrated (default: the first of peers.models)")
    parser.add_argument("--lrs", nargs="*", type=float, default=[0.05, 0.02, 0.01, 0.005, 0.0025],
                        help="lr₁ candidates")
    parser.add_argument("--min-lrs", nargs="*", type=float, default=[1e-4, 1e-3], help="lr₂ candidates")
    parser.add_argument("--cycles", nargs="*", type=int, default=[2, 4], help="cycle lengths c (even)")
    args = parser.parse_args()
    print(machine_note(), end="\n\n")  # the machine this table comes from (machine.py)
    tmp = args.work or Path(tempfile.mkdtemp(prefix="calibrate-fge-"))
    R, offset = args.replicates, args.seed_offset
    pipeline = load_profiles(args.config)
    pipeline.update(results=str(tmp), seeds=list(range(offset, offset + R)), max_claim_seeds=R)
    model = args.model or pipeline["peers"]["models"][0]
    pipeline["peers"]["models"] = [model]  # one model's peers are calibrated at a time

    candidates, runs = [], {}
    for lr, min_lr, cycle in itertools.product(args.lrs, args.min_lrs, args.cycles):
        config = copy.deepcopy(pipeline)
        config["peers"]["fge"].update(lr=lr, min_lr=min_lr, cycle_epochs=cycle)
        plan = Plan(config)
        peers = plan.peers()[model]
        candidates.append(((lr, min_lr, cycle), peers["fge"], peers["single"]))
        for name, run in plan.runs().items():
            if name in runs:  # one parent for every cycle length: it saves a state at each start
                run = dict(run, saved_states=sorted(set(run["saved_states"]) | set(runs[name]["saved_states"])))
            runs[name] = run
    wanted = {name for _, fge, single in candidates for peer in (fge, single) for ensemble in peer["ensembles"]
              for name, _ in ensemble}
    parents = {runs[name]["init"]["from"].rsplit("/", 1)[1] for name in wanted if runs[name]["init"]["from"]}
    cpu = {}
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        children = {name for name in wanted if runs[name]["init"]["from"]}
        for phase in (sorted(parents | (wanted - children)), sorted(children)):  # parents first
            todo = [name for name in phase if name not in cpu]
            for name, seconds in zip(todo, pool.map(train, [(runs[n], str(tmp / "runs" / n)) for n in todo]),
                                     strict=True):
                cpu[name] = seconds

    print(f"{args.config}: the peer fge as the pipeline builds it, {R} replicates (seeds from {offset}); FGE's "
          "ensemble − the single network at equal budget, paired by replicate; mean [95 % t-interval] (minimum "
          "detectable effect); accuracy in points, calibrated NLL as the NLL gained; no hill anywhere\n")
    print("| lr₁ | lr₂ | cycle | starts after epoch | single network (accuracy) | "
          "members, oldest → newest (accuracy) | disagreement | "
          "FGE − single, accuracy | FGE − single, calibrated NLL | control | FGE − its best member, accuracy | "
          "FGE − its best member, calibrated NLL | CPU-seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    chosen = []
    for (lr, min_lr, cycle), fge, single in candidates:
        gains = {"accuracy": [], "nll": []}
        ensembling = {"accuracy": [], "nll": []}
        own, spread, alone_accuracy = [], [], []
        for (fge_run, epochs), ((single_run, single_epochs),) in zip(
                (e[0] for e in fge["ensembles"]), single["ensembles"], strict=True):
            probs, labels = members(tmp / "runs" / fge_run, epochs)
            alone, _ = members(tmp / "runs" / single_run, single_epochs)
            gains["accuracy"].append(100 * (accuracy(probs.mean(0), labels) - accuracy(alone[0], labels)))
            gains["nll"].append(calibrated_nll(alone[0], labels) - calibrated_nll(probs.mean(0), labels))
            own.append([100 * accuracy(p, labels) for p in probs[::-1]])
            ensembling["accuracy"].append(100 * accuracy(probs.mean(0), labels) - max(own[-1]))
            ensembling["nll"].append(min(calibrated_nll(p, labels) for p in probs)
                                     - calibrated_nll(probs.mean(0), labels))
            alone_accuracy.append(100 * accuracy(alone[0], labels))
            spread.append(disagreement(probs))
        acc_text, acc_ok = describe(gains["accuracy"], True)
        nll_text, nll_ok = describe(gains["nll"], False)
        best_acc_text, _ = describe(ensembling["accuracy"], True)
        best_nll_text, _ = describe(ensembling["nll"], False)
        members_ok = all(np.mean([o[k] for o in own]) >= np.mean(alone_accuracy) - 2 for k in range(len(own[0])))
        start = runs[fge["ensembles"][0][0][0]]["init"]["epoch"]
        seconds = sum(cpu[name] for e in fge["ensembles"] for name, _ in e)
        control = "holds in both" if acc_ok and nll_ok else "accuracy only" if acc_ok else \
            "NLL only" if nll_ok else "fails"
        chosen.append((members_ok, acc_ok + nll_ok, float(np.mean(ensembling["accuracy"])), (lr, min_lr, cycle)))
        print(f"| {lr:g} | {min_lr:g} | {cycle} | {start} | {np.mean(alone_accuracy):.1f} | "
              f"{', '.join(f'{np.mean([o[k] for o in own]):.1f}' for k in range(len(own[0])))}"
              f"{'' if members_ok else ' (a member > 2 points below)'} | {100 * np.mean(spread):.1f} % | {acc_text} | "
              f"{nll_text} | {control} | {best_acc_text} | {best_nll_text} | {seconds:.0f} |", flush=True)
    members_ok, passing, gain, best = max(chosen)
    print(f"\nchosen by the rule: lr₁ {best[0]:g}, lr₂ {best[1]:g}, cycle {best[2]} (members "
          f"{'within' if members_ok else 'NOT within'} 2 points of the single network; control holds in {passing} "
          f"of 2 metrics; ensemble − its best member {gain:+.2f} points); CPU-seconds of the runs in all: "
          f"{sum(cpu.values()):.0f}")


if __name__ == "__main__":
    main()
