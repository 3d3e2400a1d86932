"""What portable numerics cost: training steps per CPU-second, portable against native, in one run.

    python benchmarks/numerics_cost.py [--configfile config.yaml] [--rounds 3] [--epochs 4] [--threads 1]

Each mode needs its own process (the kernels are chosen before torch is imported,
src/distancing/numerics.py), so every round trains each default model once per mode with
``distancing train``, the modes interleaved so that a noisy neighbour hurts both alike: the
base config of the profile, with its model, for ``--epochs`` epochs and no hill. Steps per
CPU-second come from each run's own ``timing.csv`` (the ``train_steps`` phase: no start-up, no
evaluation) and ``learning_rates.csv`` (a row per step). Prints a markdown table: the median
over rounds per model and mode, the ratio portable / native, the kernels each mode ran
(``cpu_capability`` of its config.yaml), and whether each mode's runs wrote the same bytes
round after round and the same bytes as the other.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from machine import note as machine_note

from distancing.config import NUMERICS
from distancing.plan import Plan, load_profiles
from distancing.prose import used_models

COMPARED = ("metrics.csv", "predictions.npz", "members.npz")


def train(config: Path, out: Path, mode: str, threads: int) -> tuple[float, str, str]:
    """Steps per CPU-second of one run, the hash of its compared files, and the kernels it ran."""
    subprocess.run([sys.executable, "-m", "distancing.cli", "train", str(config), "--out", str(out), "--threads",
                    str(threads), "--quiet", "--set", f"numerics={mode}"], check=True)
    with open(out / "timing.csv", newline="") as f:
        cpu = next(float(r["cpu_seconds"]) for r in csv.DictReader(f) if r["phase"] == "train_steps")
    with open(out / "learning_rates.csv", newline="") as f:
        steps = sum(1 for _ in csv.DictReader(f))  # one row per optimizer step
    digest = hashlib.sha256(b"".join((out / name).read_bytes() for name in COMPARED)).hexdigest()
    capability = yaml.safe_load((out / "config.yaml").read_text())["run"]["cpu_capability"]
    return steps / cpu, digest, capability


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configfile", default="config.yaml")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(machine_note(), end="\n\n")  # the machine this table comes from (machine.py)
    profile = load_profiles(args.configfile)
    plan = Plan(profile)
    work = Path(tempfile.mkdtemp(prefix="numerics-"))
    results: dict[tuple[str, str], list[tuple[float, str, str]]] = {}
    for round_ in range(args.rounds):
        for model in used_models(plan):
            config = plan.builder.run_config(plan.builder.single_network(model, epochs=args.epochs))
            config["data"]["root"] = str(Path(config["data"]["root"]).resolve())
            path = work / f"{model}.yaml"
            path.write_text(yaml.safe_dump(config))
            for mode in NUMERICS if round_ % 2 == 0 else NUMERICS[::-1]:
                out = work / f"{model}-{mode}-{round_}"
                results.setdefault((model, mode), []).append(train(path, out, mode, args.threads))
    print(f"{args.epochs} epochs per run, {args.rounds} interleaved rounds, {args.threads} thread(s); median "
          f"training steps per CPU-second (timing.csv, train_steps)\n")
    print("| model | mode | kernels | steps per CPU-second | portable / native | same bytes every round |")
    print("|---|---|---|---|---|---|")
    for model in used_models(plan):
        native = statistics.median(r[0] for r in results[(model, "native")])
        for mode in NUMERICS:
            runs = results[(model, mode)]
            rate = statistics.median(r[0] for r in runs)
            print(f"| {model} | {mode} | {runs[0][2]} | {rate:.1f} | {rate / native:.2f} | "
                  f"{'yes' if len({r[1] for r in runs}) == 1 else 'no'} |")
        same = results[(model, "portable")][0][1] == results[(model, "native")][0][1]
        print(f"| {model} | portable against native | | | | {'same' if same else 'different'} bytes |")


if __name__ == "__main__":
    main()
