"""Epoch time of the paper-scale models against the hardware's floor.

    python benchmarks/gpu_epoch.py --device cuda --peak-tflops 989      # H100 SXM dense bf16
    python benchmarks/gpu_epoch.py --device cpu --images 512 --batch 64 --models resnet18 --modes fp32

On CIFAR-10-shaped random data (uint8, 3x32x32, resident on the device, crop and flip on the
device), for each model and mode (fp32, bf16 autocast, bf16 with torch.compile; channels_last
throughout): seconds per epoch of the trainer and of a minimal hand-written loop, peak device
memory, the trainer's hill overhead with 8 stored checkpoints, and the floor: FLOPs per
epoch (counted with torch's FlopCounterMode over one training step) divided by the device's
peak bf16 matrix rate, with each time as a multiple of that floor. Prints a markdown table.
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
from torch.utils.flop_counter import FlopCounterMode

from distancing.config import resolve
from distancing.data import CIFAR_MEAN, CIFAR_STD, Dataset, augment
from distancing.models import build_model
from distancing.outputs import RunOutputs
from distancing.training import Trainer

MODES = {"fp32": ("fp32", False), "bf16": ("bf16", False), "bf16+compile": ("bf16", True)}


def synthetic_cifar(images: int, device: torch.device) -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (images, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (images,), generator=g)
    return Dataset("cifar10", x, y, x[:1000], y[:1000], num_classes=10,
                   mean=torch.tensor(CIFAR_MEAN["cifar10"]).view(1, 3, 1, 1),
                   std=torch.tensor(CIFAR_STD["cifar10"]).view(1, 3, 1, 1)).to(device)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(device: torch.device, run, repeats: int) -> float:
    """Best of ``repeats`` after one warm-up call (which also triggers compilation)."""
    run()
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        run()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def minimal_loop(model_name: str, data: Dataset, batch: int, precision: str, compiled: bool, device: torch.device):
    """The reference: shuffle, augment, normalise, forward, loss, backward, SGD step."""
    torch.manual_seed(0)
    model = build_model(model_name, 2, 3, 10).to(device).to(memory_format=torch.channels_last)
    config = resolve({"train": {"lr": 0.1, "momentum": 0.9}})
    train = config["train"]
    optimizer = torch.optim.SGD(model.parameters(), lr=train["lr"], momentum=train["momentum"],
                                weight_decay=train["weight_decay"])
    forward = torch.compile(model) if compiled else model
    g = torch.Generator(device=device).manual_seed(0)
    n = len(data.y_train)

    def epoch() -> None:
        model.train()
        order = torch.randperm(n, device=device, generator=g)
        for start in range(0, n, batch):
            index = order[start:start + batch]
            x = data.prepare(augment(data.x_train[index], g)).contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = F.cross_entropy(forward(x), data.y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return epoch


def flops_per_epoch(model_name: str, data: Dataset, batch: int, device: torch.device) -> float:
    model = build_model(model_name, 2, 3, 10).to(device)
    x = data.prepare(data.x_train[:batch])
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), data.y_train[:batch]).backward()
    steps = len(data.y_train) / batch
    return counter.get_total_flops() * steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--models", nargs="+", default=["resnet18", "mobilenetv2"])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--peak-tflops", type=float, default=989.0,
                        help="the device's dense bf16 matrix rate (H100 SXM: 989; H200 measured here: about 790)")
    args = parser.parse_args()
    print(machine_note(), end="\n\n")  # the machine this table comes from (machine.py)
    device = torch.device(args.device)
    data = synthetic_cifar(args.images, device)
    tmp = Path(tempfile.mkdtemp())
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {name}, {args.images} images of 3x32x32 per epoch, batch {args.batch}, channels_last, "
          f"best of {args.repeats} epochs after a warm-up, floor at {args.peak_tflops:g} TFLOP/s\n")
    print("| model | mode | trainer s/epoch | minimal loop s/epoch | trainer / minimal | hill, 8 checkpoints | "
          "peak memory GiB | TFLOP/epoch | floor s | trainer / floor |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for model_name in args.models:
        flops = flops_per_epoch(model_name, data, args.batch, device)
        floor = flops / (args.peak_tflops * 1e12)
        for mode in args.modes:
            precision, compiled = MODES[mode]
            config = resolve({"data": {"dataset": "cifar10"}, "model": {"name": model_name,
                              "mobilenetv2": {"width": 1.0, "max_blocks": None}},
                              "train": {"batch_size": args.batch, "lr": 0.1, "precision": precision,
                                        "channels_last": True, "compile": compiled},
                              "distancing": {"strength": 1.0}})
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            trainer = Trainer(config, RunOutputs(tmp, tmp / "state.pt"), device, log=lambda _: None, data=data)
            plain = timed(device, trainer.train_epoch, args.repeats)
            memory = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
            for i in range(8):
                trainer.method.add_checkpoint(trainer.flat.data + 0.01 * torch.randn_like(trainer.flat.data), i)
            with_hill = timed(device, trainer.train_epoch, args.repeats)
            reference = timed(device, minimal_loop(model_name, data, args.batch, precision, compiled, device),
                              args.repeats)
            print(f"| {model_name} | {mode} | {plain:.3f} | {reference:.3f} | {plain / reference:.3f} | "
                  f"{(with_hill / plain - 1) * 100:+.1f} % | {memory:.2f} | {flops / 1e12:.1f} | {floor:.3f} | "
                  f"{plain / floor:.1f} |")


if __name__ == "__main__":
    main()
