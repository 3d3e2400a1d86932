"""Trainer overhead against a minimal hand-written PyTorch loop, and the cost of either hill.

    python benchmarks/trainer_overhead.py [--config CONFIG.yaml] [--set key=value ...]
                                          [--threads 1] [--epochs 3] [--repeats 3]
                                          [--checkpoints 0,1,4,8,16] [--spaces weights,function]

Both loops train the same model on the same data with the same batch size and optimiser; the
minimal loop has nothing but shuffle, forward, loss, backward and step. Epochs of every variant
are interleaved and the best of ``--repeats`` is kept, so a noisy neighbour hurts all alike.
Prints a markdown table (steps per second, ratio to the minimal loop, step time relative to
no checkpoints). Each hill space (``distancing.space``) is timed at every checkpoint count; the
function-space hill's checkpoints are the network's own predictions on the training inputs,
perturbed, as after some training. The per-epoch evaluation every run does once it has a
checkpoint (``methods.CheckpointLog``) is not a step and is not timed here.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from distancing.numerics import pin

pin()  # before torch is imported: the kernels every x86-64 CPU runs alike (src/distancing/numerics.py)

import torch
import torch.nn.functional as F
from machine import note as machine_note

from distancing.cli import load_config
from distancing.config import model_options, resolve
from distancing.models import build_model
from distancing.outputs import RunOutputs
from distancing.training import Trainer


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
    parser.add_argument("--spaces", default="weights,function", help="hill spaces to time")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(machine_note(), end="\n\n")  # the machine this table comes from (machine.py)

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    config = load_config(args.config, args.overrides + ["distancing.strength=1.0"])
    counts = [int(c) for c in args.checkpoints.split(",")]
    tmp = Path(tempfile.mkdtemp())

    trainers = {}
    for space in args.spaces.split(","):
        for count in counts:
            if count == 0 and trainers:
                continue  # no checkpoint: no hill, whatever its space
            spaced = resolve(config, {"distancing": {"space": space}})
            trainer = Trainer(spaced, RunOutputs(tmp / f"{space}{count}", tmp / f"{space}{count}.pt"), device,
                              log=lambda _: None)
            log_probs = trainer.train_log_probs()
            for i in range(count):  # checkpoints a little away from θ and its predictions, as after some training
                trainer.method.add_checkpoint(trainer.flat.data + 0.01 * torch.randn_like(trainer.flat.data), i,
                                              log_probs + 0.1 * torch.randn_like(log_probs))
            trainers["no hill" if count == 0 else f"{space} hill, {count}"] = trainer
    data = next(iter(trainers.values())).data
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
    for name, trainer in trainers.items():
        variants[f"trainer, {name} checkpoints" if name != "no hill" else "trainer, no checkpoint"] = \
            lambda t=trainer: (t.train_epoch(), t.steps_per_epoch)[1]
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

    params = next(iter(trainers.values())).num_params
    print(f"model {config['model']['name']} ({params:,} parameters), data {config['data']['dataset']}, "
          f"batch {batch}, device {device}, threads {args.threads}, best of {args.repeats}x{args.epochs} epochs\n")
    print("| variant | ms per step | steps per second | speed vs minimal loop | step time vs no checkpoint |")
    print("|---|---|---|---|---|")
    base_trainer = best.get("trainer, no checkpoint", best[next(name for name in best if name != "minimal loop")])
    for name, seconds in best.items():
        relative = "" if name == "minimal loop" else f"{seconds / base_trainer:.3f}"
        print(f"| {name} | {seconds * 1e3:.2f} | {1 / seconds:.1f} | {best['minimal loop'] / seconds:.3f} | "
              f"{relative} |")


if __name__ == "__main__":
    main()
