"""Cost and accuracy of 1-D model sizes on MNIST-1D: what the default profile's models were chosen from.

    python benchmarks/model_sizes.py [--samples 1000 4000] [--seeds 0 1] [--epochs 15] [--threads 1]

Each candidate is trained with the package's defaults (momentum SGD, cosine schedule, batch
128) for every sample count and seed; prints parameters, CPU milliseconds per SGD step and the
final validation accuracy (mean and range over seeds) as a markdown table.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from distancing.numerics import pin

pin()  # before torch is imported: the kernels every x86-64 CPU runs alike (src/distancing/numerics.py)

import torch
from machine import note as machine_note

from distancing.config import resolve
from distancing.outputs import RunOutputs
from distancing.training import Trainer

CANDIDATES = {
    "MobileNetV2, width 0.25, 1 block/stage, 7 stages": {"name": "mobilenetv2", "mobilenetv2": {"stages": None}},
    "MobileNetV2, width 0.25, 1 block/stage, 5 stages": {"name": "mobilenetv2", "mobilenetv2": {"stages": 5}},
    "MobileNetV2, width 0.25, 1 block/stage, 4 stages": {"name": "mobilenetv2", "mobilenetv2": {"stages": 4}},
    "ResNet, width 16, blocks [1, 1, 1]": {"name": "resnet"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--root", default="data")
    args = parser.parse_args()
    print(machine_note(), end="\n\n")  # the machine this table comes from (machine.py)
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp())

    print(f"MNIST-1D, {args.epochs} epochs, batch 128, seeds {args.seeds}, {args.threads} thread(s)\n")
    print("| model | parameters | training samples | ms per step (CPU) | final accuracy, mean [min, max] |")
    print("|---|---|---|---|---|")
    for label, model in CANDIDATES.items():
        for samples in args.samples:
            accuracies, step_ms = [], []
            for seed in args.seeds:
                config = resolve({"seed": seed, "model": model, "train": {"epochs": args.epochs},
                                  "data": {"root": args.root, "train_samples": samples}})
                out = tmp / f"{len(accuracies)}"
                trainer = Trainer(config, RunOutputs(out, out / "resume.pt"), torch.device("cpu"), log=lambda _: None)
                out.mkdir(parents=True, exist_ok=True)
                history = trainer.run()
                accuracies.append(history.metrics[-1]["val_acc"])
                steps = args.epochs * trainer.steps_per_epoch
                step_ms.append(1000 * history.timing["train_steps"][0] / steps)
            mean = sum(accuracies) / len(accuracies)
            print(f"| {label} | {trainer.num_params:,} | {samples} | {min(step_ms):.1f} | "
                  f"{mean:.1%} [{min(accuracies):.1%}, {max(accuracies):.1%}] |", flush=True)


if __name__ == "__main__":
    main()
