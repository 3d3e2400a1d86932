"""Inductor's C++ wrapper built with its kernels or apart: what compiling costs and what it runs at.

    python benchmarks/wrapper_build.py [--rounds 4] [--epochs 30] [--configfile config.yaml]

With ``cpp_wrapper`` (``src/distancing/compiled.py``) each graph is one C++ file: its kernels and
the wrapper that calls them. ``cpp_wrapper_build_separate`` compiles the two apart, the wrapper at
``-O1`` (the kernels' code and flags unchanged). For each model the profile trains, in
interleaved rounds, each build in a fresh Inductor cache: one process compiles a run's kind as
the warm server does (``training.warm_up``, cold: the C++ compiler's processes included), then
a second compiles it again from the cache, trains ``--epochs`` epochs and scores a member on the
extra held-out samples five times. The table gives medians: the cold and cached compile, the
steady training steps per CPU-second and the CPU-seconds of one member's held-out scoring, and
the SHA-256 of the final weights and of the scored probabilities (the same in every row of a
model: the builds run the same kernels). The pipeline builds them together (compiled.py;
docs/benchmarks.md, "Compiled training steps on the CPU", says why).
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
import time

from machine import note as machine_note

from distancing.numerics import pin

BUILDS = ("together", "separate")


def child(args: argparse.Namespace) -> None:
    """One process: compile the run's kind; unless ``--cold``, then train and score. One JSON line."""
    pin("portable")  # before torch
    import torch
    import torch._inductor.config as inductor

    from distancing import compiled
    from distancing.config import resolve
    from distancing.outputs import cpu_seconds
    from distancing.plan import Plan, load_profiles
    from distancing.training import Trainer, warm_up

    torch.set_num_threads(1)
    builder = Plan(load_profiles(args.configfile)).builder
    config = resolve(builder.run_config(builder.single_network(args.model, epochs=args.epochs + 1)))
    compiled.steps(True, torch.device("cpu"))  # the pipeline's settings, then the build asked for
    inductor.cpp_wrapper_build_separate = args.child == "separate"
    started = cpu_seconds()
    warm_up(config, "cpu", threads=1)
    found = {"compile": cpu_seconds() - started}
    if not args.cold:
        trainer = Trainer(config, outputs=None, device=torch.device("cpu"), log=lambda _: None)
        trainer.train_epoch()
        started = time.process_time()
        for _ in range(args.epochs):
            trainer.train_epoch()
        found["steps_per_cpu"] = args.epochs * trainer.steps_per_epoch / (time.process_time() - started)
        scoring = []
        for _ in range(5):
            started = time.process_time()
            probabilities = trainer.evaluate(extra=True)[2]
            scoring.append(time.process_time() - started)
        found["scoring"] = statistics.median(scoring)
        found["weights"] = hashlib.sha256(trainer.flat.data.detach().numpy().tobytes()).hexdigest()[:12]
        found["probabilities"] = hashlib.sha256(probabilities.numpy().tobytes()).hexdigest()[:12]
    print(json.dumps(found))


def measure(model: str, build: str, cache: str, cold: bool, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", build, "--model", model, "--epochs", str(args.epochs),
               "--configfile", args.configfile, *(["--cold"] if cold else [])]
    result = subprocess.run(command, capture_output=True, text=True, check=True,
                            env={**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache})
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--configfile", default="config.yaml")
    parser.add_argument("--child", choices=BUILDS, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print(machine_note(), end="\n\n")  # the machine this table comes from (machine.py)
    from distancing.plan import Plan, load_profiles
    from distancing.prose import used_models

    found: dict[tuple[str, str], list[dict]] = {}
    for _ in range(args.rounds):
        for model in used_models(Plan(load_profiles(args.configfile))):
            for build in BUILDS:
                with tempfile.TemporaryDirectory() as cache:
                    cold = measure(model, build, cache, True, args)["compile"]
                    found.setdefault((model, build), []).append({**measure(model, build, cache, False, args),
                                                                 "cold": cold})
    print(f"python benchmarks/wrapper_build.py --rounds {args.rounds} --epochs {args.epochs}: medians over "
          f"{args.rounds} interleaved rounds, one thread, portable numerics\n")
    print("| model | wrapper built | cold compile CPU-s | cached compile CPU-s | training steps per CPU-s | "
          "scoring a member on the extra held-out samples, CPU-s | weights, probabilities (every round) |")
    print("|---|---|---|---|---|---|---|")
    for (model, build), rows in found.items():
        hashes = {(r["weights"], r["probabilities"]) for r in rows}
        print(f"| {model} | {build} | {statistics.median(r['cold'] for r in rows):.1f} | "
              f"{statistics.median(r['compile'] for r in rows):.1f} | "
              f"{statistics.median(r['steps_per_cpu'] for r in rows):.1f} | "
              f"{statistics.median(r['scoring'] for r in rows):.3f} | "
              f"{', '.join(next(iter(hashes))) if len(hashes) == 1 else 'differ between rounds'} |")


if __name__ == "__main__":
    main()
