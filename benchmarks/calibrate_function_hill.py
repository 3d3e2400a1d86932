"""The function-space hill's strength s and width σ_f², chosen by its control: recovery.

    python benchmarks/calibrate_function_hill.py [--replicates 3] [--seed-offset 1000] [--workers 2]
                                                 [--work DIR] [--strengths 0.03 0.1 0.15 0.2 0.3 1 4 16]
                                                 [--sigma2s 0.01 0.03 0.1]

Every candidate (s, σ_f²) runs exactly as the pipeline runs its peer ``function``: the runs
come from ``Plan.peers()`` on ``config.yaml`` with ``distancing.function`` replaced and
the seeds replaced by calibration seeds (``--seed-offset`` on, disjoint from the pipeline's).
Paired by replicate with the no-hill twin (the peer ``snapshot``: the same schedule, seed and
checkpoints), it reports each member's accuracy − the twin's member at the same epoch (mean
[95 % t-interval]), and what the hill does in function space at the end of training: D
(Jensen–Shannon on the training inputs, ``function_distance``) and the validation disagreement
to the newest checkpoint. The weight-space hill at its reference setting (the peer
``distancing``) is measured on the same seeds, for comparison.

The rule is the weight hill's, the pipeline's claim ``accuracy_recovers``: the final model
recovers to within 2 points of its twin, the 95 % interval of the paired difference lying
above −2 points (the reference weight hill passes it: see its row). Among the candidates that
pass, the one that ends farthest from the newest checkpoint in D, the quantity the hill acts
on. A stricter rule, every member within 2 points on average, is shown beside it (the weight
hill's member after the second cycle fails that one). No ensemble is scored here. With
``--work`` the runs are kept there and a run already there with the same config is not
trained again.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import multiprocessing
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from calibrate_fge import members, train  # the same cached worker, run by run
from machine import note as machine_note

from distancing.claims.inference import interval
from distancing.ensembles import accuracy
from distancing.files import RUN_FILES
from distancing.numerics import pin
from distancing.plan import Plan, load_profiles

pin()  # the workers import torch later and inherit the kernels of every x86-64 CPU (numerics.py)


def end_of_training(folder: Path) -> tuple[float, float]:
    """D and the validation disagreement to the newest checkpoint after the last epoch."""
    d = pd.read_csv(folder / RUN_FILES["distances"])
    last = d[(d["epoch"] == d["epoch"].max()) & (d["checkpoint"] == d["checkpoint"].max())].iloc[0]
    return float(last["function_distance"]), float(last["disagreement"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config.yaml", help="a profile, merged over config.yaml")
    parser.add_argument("--replicates", type=int, default=3)
    parser.add_argument("--seed-offset", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, help="keep the runs here (a run already there is reused)")
    parser.add_argument("--model", help="the model whose peers are calibrated (default: the first of peers.models)")
    parser.add_argument("--strengths", nargs="*", type=float, default=[0.03, 0.1, 0.15, 0.2, 0.3, 1.0, 4.0, 16.0])
    parser.add_argument("--sigma2s", nargs="*", type=float, default=[0.01, 0.03, 0.1])
    args = parser.parse_args()
    print(machine_note(), end="\n\n")  # the machine this table comes from (machine.py)
    tmp = args.work or Path(tempfile.mkdtemp(prefix="calibrate-function-"))
    R, offset = args.replicates, args.seed_offset
    pipeline = load_profiles(args.config)
    pipeline.update(results=str(tmp), seeds=list(range(offset, offset + R)), max_claim_seeds=R)
    model = args.model or pipeline["peers"]["models"][0]
    pipeline["peers"]["models"] = [model]  # one model's peers are calibrated at a time

    candidates, runs = {}, {}
    for strength, sigma2 in itertools.product(args.strengths, args.sigma2s):
        config = copy.deepcopy(pipeline)
        config["distancing"]["function"] = {"strength": strength, "sigma2": sigma2}
        plan = Plan(config)
        peers = plan.peers()[model]
        candidates[(strength, sigma2)] = peers["function"]
        twin, weights = peers["snapshot"], peers["distancing"]
        for key in ("function", "snapshot", "distancing"):
            for ensemble in peers[key]["ensembles"]:
                for name, _ in ensemble:
                    runs[name] = plan.runs()[name]
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        names = sorted(runs)
        cpu = dict(zip(names, pool.map(train, [(runs[n], str(tmp / "runs" / n)) for n in names]), strict=True))

    def measure(peer: dict) -> dict:
        """Against the twin: each member's accuracy gap; and where the run ends in function space."""
        gaps, far, apart = [], [], []
        for ensemble, reference in zip(peer["ensembles"], twin["ensembles"], strict=True):
            (name, epochs), ((twin_name, twin_epochs),) = ensemble[0], reference
            probs, labels = members(tmp / "runs" / name, epochs)
            twin_probs, _ = members(tmp / "runs" / twin_name, twin_epochs)
            gaps.append([100 * (accuracy(p, labels) - accuracy(q, labels)) for p, q in zip(probs, twin_probs,
                                                                                            strict=True)])
            d, disagreement = end_of_training(tmp / "runs" / name)
            far.append(d)
            apart.append(100 * disagreement)
        epochs = peer["ensembles"][0][0][1]
        per_member = [interval([g[k] for g in gaps]) for k in range(len(epochs))]
        return {"epochs": epochs, "gaps": per_member, "ok": per_member[0][1] > -2,  # the final model's interval
                "members_ok": all(m >= -2 for m, _, _ in per_member),
                "D": float(np.mean(far)), "disagreement": float(np.mean(apart)),
                "cpu": sum(cpu[n] for e in peer["ensembles"] for n, _ in e)}

    print(f"{args.config}: the peer function as the pipeline builds it, {R} replicates (seeds from {offset}); each "
          "member's accuracy − its no-hill twin's member at the same epoch (points), paired by replicate, mean "
          "[95 % t-interval]; D (Jensen–Shannon, nats, training inputs) and validation disagreement to the newest "
          "checkpoint after the last epoch\n")
    epochs = next(iter(candidates.values()))["ensembles"][0][0][1]
    print("| hill | s | σ² | " + " | ".join(f"member at epoch {e} − twin" for e in epochs)
          + " | final recovers (interval above −2) | every member within 2 points (means) | D to the newest "
          "checkpoint | disagreement with it | CPU-seconds |")
    print("|---|---|---|" + "---|" * len(epochs) + "---|---|---|---|---|")

    def row(hill: str, s: float, sigma2: float, m: dict) -> None:
        gaps = " | ".join(f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]" for mean, low, high in m["gaps"])
        print(f"| {hill} | {s:g} | {sigma2:g} | {gaps} | {'yes' if m['ok'] else 'no'} | "
              f"{'yes' if m['members_ok'] else 'no'} | {m['D']:.4f} | "
              f"{m['disagreement']:.1f} % | {m['cpu']:.0f} |", flush=True)

    reference = pipeline["distancing"]
    row("none (the twin)", 0, 0, measure(twin))
    row("weights (reference)", reference["strength"], reference["sigma2"], measure(weights))
    measured = {key: measure(peer) for key, peer in candidates.items()}
    for (s, sigma2), m in measured.items():
        row("function", s, sigma2, m)
    passing = {key: m for key, m in measured.items() if m["ok"]}
    if not passing:
        print("\nno candidate's final model recovers to within 2 points of the twin's")
        return
    (s, sigma2), m = max(passing.items(), key=lambda item: item[1]["D"])
    print(f"\nchosen by the rule: s {s:g}, σ_f² {sigma2:g} (D {m['D']:.4f} to the newest checkpoint, "
          f"{m['disagreement']:.1f} % disagreement with it); CPU-seconds of the runs in all: {sum(cpu.values()):.0f}")


if __name__ == "__main__":
    main()
