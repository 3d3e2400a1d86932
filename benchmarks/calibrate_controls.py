"""Which default regime lets the known methods win? Controls only, no hill.

    python benchmarks/calibrate_controls.py [--replicates 5] [--members 3] [--workers 2]
                                            [--candidates NAME ...] [--models mobilenetv2 resnet]
    python benchmarks/calibrate_controls.py --sgdr-learning-rates 0.1 0.2 0.3 0.5

A fair test of distancing needs a regime where methods known to work do work. For each
candidate regime (changes to ``REFERENCE``: samples, epochs, batch, learning rate, weight
decay, on top of the other keys of the pipeline's ``base`` run config) and each model of
``config.yaml``, with no hill at all, replicate r trains:

- single networks of E epochs (cosine schedule) with seeds r·M … r·M + M − 1;
- one SGDR run with M cycles of E/M epochs and seed r·M, whose cycle ends are the
  snapshot ensemble (Huang et al. 2017).

and compares, paired by replicate, over the replicates (mean and 95 % t-interval):
**deep ensemble** (the M single networks, M × budget) − the single network of seed r·M, and
**snapshot ensemble** (equal budget) − that same single network. A control passes when its
interval lies above zero. Convergence: the single networks' final training loss. Prints one
markdown table with the CPU-seconds each candidate took. Distancing is never run here, so the
choice of regime cannot depend on how distancing comes out.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from distancing.claims import interval
from distancing.config import merge, resolve
from distancing.ensembles import accuracy
from distancing.pipeline import cycle_ends

# Every candidate starts from the same settings, whatever config.yaml says today (it has since
# taken one of the candidates), so the table in docs/benchmarks.md reproduces.
REFERENCE = {"data.train_samples": 1000, "train.epochs": 15, "train.batch_size": 128, "train.lr": 0.05,
             "train.weight_decay": 5e-4}

# name -> changes to REFERENCE (key.path: value)
CANDIDATES = {
    "1000 samples, 15 epochs (the previous profile)": {},
    "3000 samples, 15 epochs (3 × the steps)": {"data.train_samples": 3000},
    "4000 samples, 15 epochs (4 × the steps)": {"data.train_samples": 4000},
    "1000 samples, 45 epochs (3 × the steps)": {"train.epochs": 45},
    "3000 samples, 15 epochs, lr 0.2": {"data.train_samples": 3000, "train.lr": 0.2},
    "3000 samples, 30 epochs, lr 0.2": {"data.train_samples": 3000, "train.epochs": 30, "train.lr": 0.2},
    # Second round: 1000 samples (where ensembles gain most), noisier or more strongly
    # regularised training, which should make SGDR's cycles end in different places.
    "1000 samples, 15 epochs, batch 32": {"train.batch_size": 32},
    "1000 samples, 15 epochs, batch 32, lr 0.2": {"train.batch_size": 32, "train.lr": 0.2},
    "1000 samples, 15 epochs, batch 32, weight decay 5e-3": {"train.batch_size": 32, "train.weight_decay": 5e-3},
    "1000 samples, 45 epochs, lr 0.2": {"train.epochs": 45, "train.lr": 0.2},
    "1000 samples, 45 epochs, weight decay 5e-3": {"train.epochs": 45, "train.weight_decay": 5e-3},
    # Third round: the passing regime at two thirds of its cost.
    "1000 samples, 30 epochs, weight decay 5e-3": {"train.epochs": 30, "train.weight_decay": 5e-3},
}


def train(job: tuple[dict, str]) -> dict:
    """One run in a worker: validation probabilities of its members, final train loss, CPU-seconds."""
    import torch

    from distancing.training import RunOutputs, Trainer

    config, folder = job
    torch.set_num_threads(1)
    started = time.process_time()
    out = Path(folder)
    trainer = Trainer(config, RunOutputs(out, out / "resume.pt"), torch.device("cpu"), log=lambda _: None)
    out.mkdir(parents=True, exist_ok=True)
    history = trainer.run()
    return {"probs": torch.stack(history.member_probs).numpy(), "labels": trainer.data.y_val.numpy(),
            "train_loss": history.metrics[-1]["train_loss"], "cpu": time.process_time() - started}


def run_config(pipeline: dict, model: str, changes: dict, seed: int, sgdr_cycles: int = 0) -> dict:
    """The pipeline's base run config with one model, the candidate's changes, a seed and optionally SGDR."""
    layer = merge(resolve(), pipeline["base"])
    layer["model"] = merge(layer["model"], pipeline["models"][model])
    layer["train"]["schedule"] = "cosine"
    for key, value in (REFERENCE | changes).items():
        section, name = key.split(".")
        layer[section][name] = value
    layer["seed"] = seed
    if sgdr_cycles:
        epochs = layer["train"]["epochs"]
        layer["train"].update(schedule="cosine_restarts", restart_epochs=epochs // sgdr_cycles, restart_mult=1)
        layer["snapshots"] = cycle_ends(epochs, epochs // sgdr_cycles, 1)
    return resolve(layer)


def sgdr_learning_rates(pipeline: dict, source: str, model: str, rates: list[float], replicates: int, pool,
                        tmp: Path) -> None:
    """Figure 3.6's control: the profile's own SGDR run (config.yaml's base as it is, no hill) at
    other learning rates, paired by seed with the base rate. A "suboptimal" rate should end
    clearly below the base rate while still training (well above chance)."""
    base_lr = resolve(merge(resolve(), pipeline["base"]))["train"]["lr"]
    print(f"{model}, the base run config of {source} as it is (its schedule), no hill; "
          f"{replicates} seeds; final validation accuracy; difference to lr {base_lr:g} paired by seed\n")
    print("| learning rate | final accuracy | − the base rate, points | lowest seed | CPU-seconds |")
    print("|---|---|---|---|---|")
    results = {}
    for lr in [base_lr, *rates]:
        configs = []
        for seed in range(replicates):
            layer = merge(resolve(), pipeline["base"])
            layer["model"] = merge(layer["model"], pipeline["models"][model])
            layer["train"]["lr"], layer["seed"] = lr, seed
            configs.append(resolve(layer))
        runs = pool.map(train, [(c, str(tmp / f"lr{lr:g}-{model}-{i}")) for i, c in enumerate(configs)])
        results[lr] = ([accuracy(r["probs"][-1], r["labels"]) for r in runs], sum(r["cpu"] for r in runs))
        final, cpu = results[lr]
        text, _ = describe([a - b for a, b in zip(final, results[base_lr][0], strict=True)])
        print(f"| {lr:g} | {100 * np.mean(final):.1f} ± {100 * np.std(final, ddof=1):.1f} % | "
              f"{text if lr != base_lr else '(reference)'} | {100 * min(final):.1f} % | {cpu:.0f} |", flush=True)


def describe(values: list[float]) -> tuple[str, bool]:
    mean, low, high = interval(values)
    return f"{100 * mean:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]", bool(low > 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config.yaml", help="pipeline config: base run config and models")
    parser.add_argument("--replicates", type=int, default=5)
    parser.add_argument("--members", type=int, default=3, help="M: ensemble members, SGDR cycles")
    parser.add_argument("--workers", type=int, default=2, help="runs trained at once (one thread each)")
    parser.add_argument("--candidates", nargs="*", default=list(CANDIDATES), choices=list(CANDIDATES))
    parser.add_argument("--models", nargs="*", default=None, help="models of the config (default: all)")
    parser.add_argument("--sgdr-learning-rates", nargs="*", type=float, metavar="LR",
                        help="instead: the config's own SGDR runs at these learning rates (Figure 3.6's control)")
    args = parser.parse_args()
    pipeline = yaml.safe_load(Path(args.config).read_text())
    models = args.models or list(pipeline["models"])
    M, R = args.members, args.replicates
    tmp = Path(tempfile.mkdtemp(prefix="calibrate-"))
    if args.sgdr_learning_rates:
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            sgdr_learning_rates(pipeline, args.config, pipeline["distancing"]["model"], args.sgdr_learning_rates, R,
                                pool, tmp)
        return

    print(f"{args.config}: base run config and models; M = {M} members; {R} replicates paired by replicate; "
          f"95 % t-intervals of the accuracy difference in points; no hill anywhere\n")
    print("| regime | model | single network | final train loss | deep ensemble, M × budget, − single | "
          "snapshot ensemble, equal budget, − single | controls | CPU-seconds of its runs |")
    print("|---|---|---|---|---|---|---|---|")
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        for name in args.candidates:
            changes = CANDIDATES[name]
            for model in models:
                singles = [run_config(pipeline, model, changes, seed) for seed in range(R * M)]
                if singles[0]["train"]["epochs"] % M:
                    raise SystemExit(f"--members: {M} does not divide the epochs of {name!r}")
                snapshots = [run_config(pipeline, model, changes, r * M, M) for r in range(R)]
                jobs = [(c, str(tmp / f"{len(name)}-{model}-{i}")) for i, c in enumerate(singles + snapshots)]
                results = pool.map(train, jobs)
                single, snapshot = results[:R * M], results[R * M:]
                labels = single[0]["labels"]
                alone = [accuracy(single[r * M]["probs"][-1], labels) for r in range(R)]
                deep = [accuracy(np.mean([single[r * M + j]["probs"][-1] for j in range(M)], 0), labels)
                        for r in range(R)]
                snap = [accuracy(s["probs"].mean(0), labels) for s in snapshot]  # cycle ends + final
                deep_text, deep_ok = describe([d - a for d, a in zip(deep, alone, strict=True)])
                snap_text, snap_ok = describe([s - a for s, a in zip(snap, alone, strict=True)])
                loss = np.mean([s["train_loss"] for s in single])
                verdict = "both pass" if deep_ok and snap_ok else "deep passes" if deep_ok else \
                    "snapshot passes" if snap_ok else "both fail"
                print(f"| {name} | {model} | {100 * np.mean(alone):.1f} ± {100 * np.std(alone, ddof=1):.1f} % | "
                      f"{loss:.3f} | {deep_text} | {snap_text} | {verdict} | "
                      f"{sum(r['cpu'] for r in results):.0f} |", flush=True)


if __name__ == "__main__":
    main()
