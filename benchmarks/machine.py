"""The machine a benchmark ran on: the line every benchmark prints above its table.

    python benchmarks/machine.py

Timings from two machines compare only through what they share, so the line names the CPU
model, the kernels it offers natively (torch's widest, and numpy's, each asked in a process
without the portable pins of ``distancing.numerics``) and the steps per CPU-second of a fixed
reference step: the default profile's MobileNetV2 on MNIST-1D-shaped inputs, batch 128, one
thread, portable numerics (the kernels every run of the pipeline uses). A table's rates divided
by the reference rate of its machine compare across machines.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys

from distancing.numerics import NUMPY, PORTABLE

STEPS = 60  # timed reference steps, after 5 to warm up

REFERENCE = f"""
import time
from distancing.numerics import pin
pin("portable")
import torch
from torch import nn
from distancing.models import build_model
torch.set_num_threads(1)
torch.manual_seed(0)
model = build_model("mobilenetv2", 1, 1, 10, width=0.25, max_blocks=1, stages=5)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
x, y = torch.randn(128, 1, 40), torch.randint(0, 10, (128,))
def step():
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
for _ in range(5):
    step()
start = time.process_time()
for _ in range({STEPS}):
    step()
print({STEPS} / (time.process_time() - start))
"""

NATIVE = """
import torch, numpy
from numpy._core._multiarray_umath import __cpu_features__ as features
widest = next((g for g in ("X86_V4", "X86_V3", "X86_V2") if features.get(g)), "baseline")
print(torch.backends.cpu.get_cpu_capability(), widest)
"""


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what the platform says."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def python(code: str, env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def native_kernels() -> str:
    """torch's and numpy's widest kernels here, in a process without the portable pins."""
    env = {k: v for k, v in os.environ.items() if k not in PORTABLE and k not in NUMPY}
    torch_kernels, numpy_kernels = python(NATIVE, env).split()
    return f"torch {torch_kernels}, numpy {numpy_kernels}"


def reference_rate() -> float:
    """Steps per CPU-second of the reference step (portable numerics, one thread)."""
    return float(python(REFERENCE, dict(os.environ)))


def note() -> str:
    """The machine line: CPU, native kernels, reference rate."""
    return (f"Machine: {cpu_model()}, {os.cpu_count()} cores; native kernels: {native_kernels()}; reference step "
            f"(MobileNetV2-1D, batch 128, 1 thread, portable numerics): {reference_rate():.1f} steps per CPU-second")


if __name__ == "__main__":
    print(note())
