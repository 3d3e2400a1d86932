"""torch.compile on the CPU: what it costs per process, what it saves per step, and whether it
pays in the whole pipeline.

    python benchmarks/compile_cost.py [--epochs 6] [--rounds 3] [--configfile config.yaml]

For each model the profile trains, in interleaved rounds, four fresh processes train the
profile's single network (the base run config, portable numerics, one thread) on the real data
for ``--epochs`` epochs: eager; compiled with an empty Inductor cache (cold:
``TORCHINDUCTOR_CACHE_DIR`` a new folder); compiled again with the cache the cold one filled
(cached); and served: the process first compiles the run's kind as the warm server does before
it forks a run (``training.warm_up``, untimed), so the run inherits the code as a pipeline's
runs do (src/distancing/compiled.py). Each reports the CPU-seconds of its first epoch (training
and evaluation, where compiling happens; the C++ compiler's processes included), the steady
training steps per CPU-second and evaluation CPU-seconds of the epochs after it, and the SHA-256
of its final weights. The table gives medians over rounds; a
compiled mode is byte-reproducible when every round wrote the same weights.

The last lines weigh it for the pipeline: against the saving per epoch over the trained epochs of
the profile's plan (``Plan.tree``: a branch trains only its own epochs), what a served run still
pays per run (its first epoch − a steady one) and what the server pays once per model (a cold
compile, the cache empty, its compiler's processes included; the model's kinds of run,
``compiled.kind``, share its batch shapes' graphs).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from machine import note as machine_note

from distancing.numerics import pin

MODES = ("eager", "cold", "cached", "served")


def child(args: argparse.Namespace) -> None:
    """One process: train, time each epoch, print one JSON line."""
    pin("portable")  # before torch
    import torch

    from distancing.config import resolve
    from distancing.outputs import RunOutputs, cpu_seconds
    from distancing.plan import Plan, load_profiles
    from distancing.training import Trainer, warm_up

    torch.set_num_threads(1)
    builder = Plan(load_profiles(args.configfile)).builder
    config = builder.run_config(builder.single_network(args.model, epochs=args.epochs))
    config = resolve(dict(config, train=dict(config["train"], compile=args.child != "eager")))
    if args.child == "served":
        warm_up(config, "cpu", threads=1)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(config, RunOutputs(Path(out), Path(out) / "state.pt"), torch.device("cpu"),
                          log=lambda _: None)
        epochs = []
        for _ in range(args.epochs):
            started = cpu_seconds()  # the compiler's processes included
            trainer.train_epoch()
            trained = cpu_seconds()
            trainer.epoch += 1
            trainer.evaluate()
            epochs.append((trained - started, cpu_seconds() - trained))
    weights = hashlib.sha256(trainer.flat.data.detach().numpy().tobytes()).hexdigest()[:16]
    print(json.dumps({"epochs": epochs, "steps": trainer.steps_per_epoch, "weights": weights}))


def measure(model: str, mode: str, cache: str, args: argparse.Namespace) -> dict:
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
    command = [sys.executable, __file__, "--child", mode, "--model", model, "--epochs", str(args.epochs),
               "--configfile", args.configfile]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--configfile", default="config.yaml")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    print(machine_note(), end="\n\n")  # the machine this table comes from (machine.py)
    if args.child:
        child(args)
        return
    from distancing import compiled  # torch: after the children's arguments are known
    from distancing.plan import Plan, load_profiles
    from distancing.prose import used_models

    plan = Plan(load_profiles(args.configfile))
    tree = plan.tree()
    models = used_models(plan)
    found: dict[tuple[str, str], list[dict]] = {}
    for _ in range(args.rounds):
        for model in models:
            with tempfile.TemporaryDirectory() as cache:
                for mode in MODES:  # cold fills the cache that cached reads
                    found.setdefault((model, mode), []).append(measure(model, mode, cache, args))
    print(f"python benchmarks/compile_cost.py --epochs {args.epochs} --rounds {args.rounds}: medians over "
          f"{args.rounds} interleaved rounds, one thread, portable numerics\n")
    print("| model | mode | first epoch CPU-s | steady training steps per CPU-s | steady evaluation CPU-s per "
          "epoch | steady epoch CPU-s | the same weights in every round |")
    print("|---|---|---|---|---|---|---|")
    steady: dict[tuple[str, str], float] = {}
    first: dict[tuple[str, str], float] = {}
    for (model, mode), rows in found.items():
        first[model, mode] = statistics.median(sum(r["epochs"][0]) for r in rows)
        train = statistics.median(sum(t for t, _ in r["epochs"][1:]) / (len(r["epochs"]) - 1) for r in rows)
        evaluation = statistics.median(sum(e for _, e in r["epochs"][1:]) / (len(r["epochs"]) - 1) for r in rows)
        steady[model, mode] = train + evaluation
        same = len({r["weights"] for r in rows}) == 1
        print(f"| {model} | {mode} | {first[model, mode]:.2f} | {rows[0]['steps'] / train:.1f} | {evaluation:.3f} | "
              f"{train + evaluation:.3f} | {'yes' if same else 'no'} ({rows[0]['weights']}) |")
    print()
    total = 0.0
    for model in models:
        per_run = first[model, "served"] - steady[model, "served"]
        per_kind = first[model, "cold"] - steady[model, "cold"]
        saving = steady[model, "eager"] - steady[model, "served"]
        names = [n for n, c in tree.configs.items() if c["model"]["name"] == plan.builder.models[model]["name"]]
        kinds = len({compiled.kind(tree.configs[n]) for n in names})
        epochs = sum(tree.configs[n]["train"]["epochs"] - (tree.trunks[n][1] if n in tree.trunks else 0)
                     for n in names)
        net = epochs * saving - len(names) * per_run - per_kind
        total += net
        print(f"- {model}: a served run saves {saving:.3f} CPU-s per epoch and pays {per_run:.2f} CPU-s once; the "
              f"server compiles the model's graphs once ({per_kind:.1f} CPU-s cold, the compiler's processes "
              f"included; its {kinds} kinds of run share the batch shapes, and a kind whose graphs exist costs one "
              f"epoch); the plan's {len(names)} runs train {epochs} epochs: compiling them changes the CPU-seconds "
              f"by {-net:+.0f}")
    print(f"\nIn the whole pipeline, compiling every run (served) changes the CPU-seconds by {-total:+.0f}.")


if __name__ == "__main__":
    main()
