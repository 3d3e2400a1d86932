"""Which default regime lets ensembling itself help? Controls only, no hill.

    python benchmarks/calibrate_controls.py [--replicates 8] [--seed-offset 1000] [--workers 2]
                                            [--candidates NAME ...] [--models mobilenetv2 resnet]
                                            [--effect-accuracy 1.0] [--effect-nll 0.02]
    python benchmarks/calibrate_controls.py --sgdr-learning-rates 0.1 0.2 0.3 0.5

A fair test of distancing needs a regime where methods known to work do work, and where a
snapshot ensemble's members are each converged (a weak member only dilutes the ensemble).
For each candidate schedule (``CANDIDATES``: epochs E, an optional first cosine cycle to
converge, then SGDR cycles; M members = the last M cycle ends, the final model included) on
top of the pipeline's ``base`` run config and each of its models, with no hill at all,
replicate r trains

- M single networks of E epochs (cosine schedule), seeds o + r·M … o + r·M + M − 1;
- one run of the candidate's schedule with seed o + r·M, whose last M cycle ends are the
  snapshot ensemble (Huang et al. 2017),

with o = ``--seed-offset``, disjoint from the pipeline's seeds, so the pipeline's own run
confirms what was chosen here. Paired by replicate (the single network has seed o + r·M),
it reports per metric (accuracy in points; calibrated NLL, temperature fitted by 2-fold
cross-validation, as the NLL gained, so that positive is better in both): each member's own
score and the single network's, the members' mean pairwise disagreement, and as mean [95 %
t-interval] with the minimum detectable effect: the deep ensemble (M × budget) − single, the
snapshot ensemble − single, and the snapshot ensemble − its best member (the gain of
ensembling alone). "seeds" is how many replicates a paired t-test needs to detect the effect
worth detecting (``--effect-*``) for snapshot − single at the spread seen here: the power
planning of the pipeline's ensemble claims. Distancing is never run here, so the choice of
regime cannot depend on how distancing comes out.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import note as machine_note

from distancing.claims.inference import interval, minimum_detectable_effect, seeds_needed
from distancing.config import merge, resolve
from distancing.ensembles import accuracy, calibrated_nll, disagreement
from distancing.numerics import pin
from distancing.plan import load_profiles
from distancing.runs import cycle_ends

pin()  # the workers import torch later and inherit the kernels of every x86-64 CPU (numerics.py)

# Every candidate starts from the same settings, whatever config.yaml says today (it takes one
# of the candidates), so the table in docs/benchmarks.md reproduces: the previous profile's
# 1000 samples, batch 128, learning rate 0.05 and weight decay 5e-3.
REFERENCE = {"data.train_samples": 1000, "train.batch_size": 128, "train.lr": 0.05, "train.weight_decay": 5e-3}

# name -> (members M, schedule: epochs, first cosine cycle (None: plain SGDR), SGDR cycle)
CANDIDATES = {
    "SGDR 3 × 15 (the previous profile)": (3, {"epochs": 45, "first_cycle_epochs": None, "restart_epochs": 15}),
    "30, then 2 × 15": (3, {"epochs": 60, "first_cycle_epochs": 30, "restart_epochs": 15}),
    "25, then 2 × 10": (3, {"epochs": 45, "first_cycle_epochs": 25, "restart_epochs": 10}),
    "33, then 2 × 6": (3, {"epochs": 45, "first_cycle_epochs": 33, "restart_epochs": 6}),
    "35, then 2 × 5": (3, {"epochs": 45, "first_cycle_epochs": 35, "restart_epochs": 5}),
    "24, then 3 × 8 (4 members)": (4, {"epochs": 48, "first_cycle_epochs": 24, "restart_epochs": 8}),
}
METRICS = {"accuracy": "points", "nll_calibrated": "nats"}


def score(probs: np.ndarray, labels: np.ndarray, metric: str) -> float:
    """Accuracy in points or the negative calibrated NLL: higher is better for both."""
    return 100 * accuracy(probs, labels) if metric == "accuracy" else -calibrated_nll(probs, labels)


def train(job: tuple[dict, str]) -> dict:
    """One run in a worker: validation probabilities and epochs of its members, CPU-seconds."""
    import torch

    from distancing.outputs import RunOutputs
    from distancing.training import Trainer

    config, folder = job
    torch.set_num_threads(1)
    started = time.process_time()
    out = Path(folder)
    trainer = Trainer(config, RunOutputs(out, out / "resume.pt"), torch.device("cpu"), log=lambda _: None)
    out.mkdir(parents=True, exist_ok=True)
    history = trainer.run()
    return {"probs": torch.stack(history.member_probs).numpy(), "epochs": list(history.member_epochs),
            "labels": trainer.member_labels.numpy(), "train_loss": history.metrics[-1]["train_loss"],
            "cpu": time.process_time() - started}


def run_config(pipeline: dict, model: str, seed: int, schedule: dict | None = None, epochs: int = 0,
               ensemble_val_samples: int | None = None) -> dict:
    """The base run config with one model and seed: a cosine schedule of ``epochs``, or ``schedule``."""
    layer = merge(resolve(), pipeline["base"])
    layer["model"] = merge(layer["model"], pipeline["models"][model])
    layer["data"]["ensemble_val_samples"] = ensemble_val_samples
    for key, value in REFERENCE.items():
        section, name = key.split(".")
        layer[section][name] = value
    layer["seed"] = seed
    if schedule is None:
        layer["train"].update(schedule="cosine", epochs=epochs, first_cycle_epochs=None)
    else:
        layer["train"].update(schedule="cosine_restarts", restart_mult=1, **schedule)
        layer["snapshots"] = cycle_ends(layer["train"])
    return resolve(layer)


def describe(values: list[float], metric: str) -> tuple[str, bool]:
    """mean [interval] (detectable effect), and whether the interval lies above zero."""
    mean, low, high = interval(values)
    f = "{:+.1f}" if metric == "accuracy" else "{:+.3f}"
    mde = minimum_detectable_effect(values)
    return (f"{f.format(mean)} [{f.format(low)}, {f.format(high)}] ({f.format(mde).lstrip('+')})",
            bool(low > 0))


def sgdr_learning_rates(pipeline: dict, source: str, model: str, rates: list[float], replicates: int, offset: int,
                        pool, tmp: Path) -> None:
    """Figure 3.6's control: the figure's plain SGDR run (config.yaml's base with the figure's
    restart_epochs and no first cycle, no hill) at other learning rates, paired by seed with the
    base rate. A "suboptimal" rate should end clearly below the base rate while still training
    (well above chance)."""
    base_lr = resolve(merge(resolve(), pipeline["base"]))["train"]["lr"]
    cycle = pipeline["experiments"]["fig3_6"]["restart_epochs"]
    print(f"{model}, the base run config of {source} with plain SGDR (restarts every {cycle} epochs), no hill; "
          f"{replicates} seeds from {offset}; final validation accuracy; difference to lr {base_lr:g} paired by seed\n")
    print("| learning rate | final accuracy | − the base rate, points | lowest seed | CPU-seconds |")
    print("|---|---|---|---|---|")
    results = {}
    for lr in [base_lr, *rates]:
        configs = []
        for seed in range(offset, offset + replicates):
            layer = merge(resolve(), pipeline["base"])
            layer["model"] = merge(layer["model"], pipeline["models"][model])
            layer["train"].update(lr=lr, schedule="cosine_restarts", restart_epochs=cycle, first_cycle_epochs=None)
            layer["data"]["ensemble_val_samples"], layer["seed"] = None, seed
            configs.append(resolve(layer))
        runs = pool.map(train, [(c, str(tmp / f"lr{lr:g}-{model}-{i}")) for i, c in enumerate(configs)])
        results[lr] = ([accuracy(r["probs"][-1], r["labels"]) for r in runs], sum(r["cpu"] for r in runs))
        final, cpu = results[lr]
        mean, low, high = interval([100 * (a - b) for a, b in zip(final, results[base_lr][0], strict=True)])
        print(f"| {lr:g} | {100 * np.mean(final):.1f} ± {100 * np.std(final, ddof=1):.1f} % | "
              f"{f'{mean:+.1f} [{low:+.1f}, {high:+.1f}]' if lr != base_lr else '(reference)'} | "
              f"{100 * min(final):.1f} % | {cpu:.0f} |", flush=True)


class Singles:
    """Cosine-schedule networks by (model, epochs, seed), trained once and shared by candidates."""

    def __init__(self, pipeline: dict, pool, tmp: Path, ensemble_val_samples: int | None) -> None:
        self.pipeline, self.pool, self.tmp, self.done = pipeline, pool, tmp, {}
        self.ensemble_val_samples = ensemble_val_samples

    def get(self, model: str, epochs: int, seeds: list[int]) -> tuple[list[dict], float]:
        """The networks of these seeds, and the CPU-seconds of those trained by this call."""
        missing = [s for s in seeds if (model, epochs, s) not in self.done]
        jobs = [(run_config(self.pipeline, model, s, epochs=epochs, ensemble_val_samples=self.ensemble_val_samples),
                 str(self.tmp / f"single-{model}-{epochs}-{s}")) for s in missing]
        trained = self.pool.map(train, jobs)
        self.done.update({(model, epochs, s): result for s, result in zip(missing, trained, strict=True)})
        return [self.done[(model, epochs, s)] for s in seeds], sum(r["cpu"] for r in trained)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config.yaml", help="pipeline config: base run config and models")
    parser.add_argument("--replicates", type=int, default=8)
    parser.add_argument("--seed-offset", type=int, default=1000, help="calibration seeds start here")
    parser.add_argument("--workers", type=int, default=2, help="runs trained at once (one thread each)")
    parser.add_argument("--candidates", nargs="*", default=list(CANDIDATES), choices=list(CANDIDATES))
    parser.add_argument("--models", nargs="*", default=None, help="models of the config (default: all)")
    parser.add_argument("--ensemble-val-samples", type=int, default=None,
                        help="score members on this many held-out samples (data.ensemble_val_samples)")
    parser.add_argument("--effect-accuracy", type=float, default=1.0, help="effect worth detecting, points")
    parser.add_argument("--effect-nll", type=float, default=0.02, help="effect worth detecting, calibrated NLL")
    parser.add_argument("--sgdr-learning-rates", nargs="*", type=float, metavar="LR",
                        help="instead: the config's own SGDR runs at these learning rates (Figure 3.6's control)")
    args = parser.parse_args()
    print(machine_note(), end="\n\n")  # the machine this table comes from (machine.py)
    pipeline = load_profiles(args.config)
    models = args.models or list(pipeline["models"])
    R, offset = args.replicates, args.seed_offset
    effects = {"accuracy": args.effect_accuracy, "nll_calibrated": args.effect_nll}
    tmp = Path(tempfile.mkdtemp(prefix="calibrate-"))
    if args.sgdr_learning_rates:
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            sgdr_learning_rates(pipeline, args.config, pipeline["distancing"]["model"], args.sgdr_learning_rates, R,
                                offset, pool, tmp)
        return

    held_out = args.ensemble_val_samples or "the validation split's"
    print(f"{args.config}: base run config and models, with {REFERENCE}; members scored on {held_out} held-out "
          f"samples; {R} replicates (seeds from {offset}) "
          "paired by replicate; mean [95 % t-interval] (minimum detectable effect); accuracy in points, "
          "calibrated NLL as the NLL gained (positive: better); no hill anywhere; seeds: replicates needed to "
          f"detect {args.effect_accuracy:g} points or {args.effect_nll:g} nats of snapshot − single\n")
    print("| regime | model | metric | single network | members, oldest → final | disagreement | "
          "deep ensemble, M × budget, − single | snapshot ensemble, equal budget, − single | "
          "snapshot − its best member | seeds | CPU-seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        singles = Singles(pipeline, pool, tmp, args.ensemble_val_samples)
        for name in args.candidates:
            M, schedule = CANDIDATES[name]
            for model in models:
                seeds = [offset + r * M + j for r in range(R) for j in range(M)]
                single, cpu = singles.get(model, schedule["epochs"], seeds)
                jobs = [(run_config(pipeline, model, offset + r * M, schedule,
                                    ensemble_val_samples=args.ensemble_val_samples),
                         str(tmp / f"{len(name)}-{model}-{r}")) for r in range(R)]
                snapshot = pool.map(train, jobs)
                cpu += sum(r["cpu"] for r in snapshot)
                labels = single[0]["labels"]
                members = [s["probs"][-M:] for s in snapshot]  # the last M cycle ends, the final model last
                for metric in METRICS:
                    alone = [score(single[r * M]["probs"][-1], labels, metric) for r in range(R)]
                    deep = [score(np.mean([single[r * M + j]["probs"][-1] for j in range(M)], 0), labels, metric)
                            for r in range(R)]
                    own = [[score(p, labels, metric) for p in m] for m in members]
                    snap = [score(m.mean(0), labels, metric) for m in members]
                    deep_text, deep_ok = describe([d - a for d, a in zip(deep, alone, strict=True)], metric)
                    gain = [s - a for s, a in zip(snap, alone, strict=True)]
                    snap_text, snap_ok = describe(gain, metric)
                    best_text, _ = describe([s - max(o) for s, o in zip(snap, own, strict=True)], metric)
                    sign, f = (1, "{:.1f}") if metric == "accuracy" else (-1, "{:.3f}")  # NLL as itself
                    single_text = f"{f.format(sign * np.mean(alone))} ± {f.format(np.std(alone, ddof=1))}"
                    own_text = ", ".join(f.format(sign * np.mean([o[k] for o in own])) for k in range(M))
                    verdict = ("both pass" if deep_ok and snap_ok else "deep passes" if deep_ok
                               else "snapshot passes" if snap_ok else "both fail")
                    epochs = "+".join(str(e) for e in snapshot[0]["epochs"][-M:])
                    print(f"| {name} (members at {epochs}) | {model} | {metric} | {single_text} | {own_text} | "
                          f"{100 * np.mean([disagreement(m) for m in members]):.1f} % | {deep_text} | {snap_text} "
                          f"({verdict}) | {best_text} | {seeds_needed(np.std(gain, ddof=1), effects[metric])} | "
                          f"{cpu:.0f} |", flush=True)
                    cpu = 0


if __name__ == "__main__":
    main()
