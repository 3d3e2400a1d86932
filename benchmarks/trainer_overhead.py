"""Trainer overhead against a minimal hand-written PyTorch loop, and the cost of the hill.

    python benchmarks/trainer_overhead.py [--config CONFIG.yaml] [--set key=value ...]
                                          [--threads 1] [--epochs 3] [--repeats 3]

Both loops train the same model on the same data with the same batch size and optimiser; the
minimal loop has nothing but shuffle, forward, loss, backward and step. Epochs of every variant
are interleaved and the best of ``--repeats`` is kept, so a noisy neighbour hurts all alike.
Prints a markdown table (steps per second, ratio to the minimal loop, step time relative to
no checkpoints).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from distancing.cli import load_config
from distancing.config import model_options
from distancing.models import build_model
from distancing.training import RunOutputs, Trainer


def minimal_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                  batch_size: int, generator: torch.Generator) -> int:
    """The loop everybody writes first: the reference for the trainer's speed."""
    model.train()
    order = torch.randperm(len(y), generator=generator, device=x.device)
    steps = 0
    for start in range(0, len(y), batch_size):
        index = order[start:start + batch_size]
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[index]), y[index]).backward()
        optimizer.step()
        steps += 1
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", nargs="*", default=[], help="config files (default: the package defaults)")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per variant and repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--checkpoints", default="0,1,4,8,16", help="checkpoint counts to time")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    config = load_config(args.config, args.overrides + ["distancing.strength=1.0"])
    counts = [int(c) for c in args.checkpoints.split(",")]
    tmp = Path(tempfile.mkdtemp())

    trainers = {}
    for count in counts:
        trainer = Trainer(config, RunOutputs(tmp / str(count), tmp / f"{count}.pt"), device, log=lambda _: None)
        for i in range(count):  # checkpoints a little away from θ, as after some training
            trainer.method.add_checkpoint(trainer.flat.data + 0.01 * torch.randn_like(trainer.flat.data), i)
        trainers[count] = trainer
    data = trainers[counts[0]].data
    torch.manual_seed(config["seed"])
    model = build_model(config["model"]["name"], data.dim, data.in_channels, data.num_classes,
                        **model_options(config)).to(device)
    train = config["train"]  # the loop everybody writes: torch.optim.SGD, same hyperparameters
    momentum = train["momentum"] if train["optimizer"] == "momentum" else 0.0
    optimizer = torch.optim.SGD(model.parameters(), lr=train["lr"], momentum=momentum,
                                weight_decay=train["weight_decay"])
    generator = torch.Generator(device=device).manual_seed(0)
    x, y, batch = data.prepare(data.x_train), data.y_train, config["train"]["batch_size"]

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    variants = {"minimal loop": lambda: minimal_epoch(model, optimizer, x, y, batch, generator)}
    for count, trainer in trainers.items():
        variants[f"trainer, {count} checkpoints"] = lambda t=trainer: (t.train_epoch(), t.steps_per_epoch)[1]
    for run in variants.values():  # warm-up epoch each
        run()
    best = {name: float("inf") for name in variants}
    for _ in range(args.repeats):
        for name, run in variants.items():
            sync()
            start = time.perf_counter()
            steps = sum(run() for _ in range(args.epochs))
            sync()
            best[name] = min(best[name], (time.perf_counter() - start) / steps)

    params = trainers[counts[0]].num_params
    print(f"model {config['model']['name']} ({params:,} parameters), data {config['data']['dataset']}, "
          f"batch {batch}, device {device}, threads {args.threads}, best of {args.repeats}x{args.epochs} epochs\n")
    print("| variant | ms per step | steps per second | speed vs minimal loop | step time vs 0 checkpoints |")
    print("|---|---|---|---|---|")
    base_trainer = best.get(f"trainer, {counts[0]} checkpoints")
    for name, seconds in best.items():
        relative = "" if name == "minimal loop" else f"{seconds / base_trainer:.3f}"
        print(f"| {name} | {seconds * 1e3:.2f} | {1 / seconds:.1f} | {best['minimal loop'] / seconds:.3f} | "
              f"{relative} |")


if __name__ == "__main__":
    main()
