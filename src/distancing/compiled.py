"""Compiled training steps: Inductor's code for the network's forward, loss and backward.

A step of the small 1-D networks is mostly per-operator overhead: eager PyTorch calls a kernel
(and, on the way back, an autograd node) per layer. ``torch.compile`` fuses the forward pass with
its loss into one graph and the backward into another, and on the CPU ``cpp_wrapper`` calls their
kernels from C++ rather than Python (``benchmarks/compile_cost.py`` measures what that saves).

**The same bytes on every x86-64 machine.** Inductor writes C++ whose vector width follows
``ATEN_CPU_CAPABILITY`` (portable numerics set it to avx2) and compiles it with ``-march`` from
``TORCHINDUCTOR_CPP_MARCH`` (pinned to x86-64-v3, the AVX2 level; unpinned it is ``native``, which
lets the compiler use AVX-512 for scalar loops). Its floating-point flags forbid reassociation and
FMA contraction, so the C++ compiler cannot reorder sums. Both variables are in
``numerics.PORTABLE``. Inductor also specialises its loops to the thread count (one per run in
the pipeline) and would switch to a dynamic batch dimension after the second batch shape it
sees, so that which code ran a batch would depend on the order the shapes came in: ``configure``
turns that off, and every batch shape gets its own static graph.

**Compiled once per process tree.** Dynamo keeps its compiled code with the function it compiled
(``loss_and_logits`` below), guarded by the model's type and its tensors' shapes, not by the
module object: a fresh network of the same architecture reuses it without compiling. The warm
server (``server.py``) therefore compiles each kind of run before it forks the run's child
(``training.warm_up``), and the child, and every later run of that kind, inherits the compiled
code. A run started cold (a cluster job) compiles its own, from Inductor's on-disk cache after
the first.

``train.compile: auto`` compiles where this pays and is pinned: on the CPU under portable
numerics. ``numerics: native``, GPUs (``benchmarks/gpu_epoch.py`` tells whether it pays there)
and ``train.compile: false`` train eagerly, the same functions uncompiled.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import numerics
from .config import ConfigError

GRAPHS_PER_FUNCTION = 64  # batch shapes x train/eval x precision: far above what one run uses


def loss_and_logits(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The training step's network part: logits and the batch's mean cross-entropy."""
    logits = model(x)
    return logits, F.cross_entropy(logits, y)


def logits_of(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The evaluation forward pass."""
    return model(x)


def wanted(train: dict[str, Any], numerics_mode: str, device: torch.device) -> bool:
    """Whether a run compiles: ``train.compile`` true or false, or ``auto``: on the CPU under
    pinned (portable) numerics."""
    if train["compile"] == "auto":
        return device.type == "cpu" and numerics.pinned(numerics_mode)
    return bool(train["compile"])


def kind(config: dict[str, Any]) -> str:
    """What decides the graphs a run compiles (its network, its data's shapes, its batch sizes,
    precision and layout, the samples it evaluates): runs of one kind share them."""
    train = {k: config["train"][k] for k in ("batch_size", "eval_batch_size", "precision", "channels_last")}
    shapes = {k: config[k] for k in ("model", "data", "numerics", "function_distance")}
    return json.dumps({"train": train, **shapes}, sort_keys=True, default=str)


_COMPILED: dict[str, Callable] = {}


def configure(device: torch.device) -> None:
    """Inductor's settings for every compiled step: static batch shapes (see the module's
    docstring), on the CPU its C++ wrapper, and compiling inside this process (no worker pool,
    which a forking server must not inherit, and whose CPU-seconds no run would count)."""
    import torch._dynamo.config as dynamo
    import torch._inductor.config as inductor

    dynamo.automatic_dynamic_shapes = False
    dynamo.recompile_limit = GRAPHS_PER_FUNCTION
    dynamo.accumulated_recompile_limit = max(dynamo.accumulated_recompile_limit, 4 * GRAPHS_PER_FUNCTION)
    inductor.cpp_wrapper = device.type == "cpu"
    inductor.compile_threads = 1


def compiler() -> str:
    """The C++ compiler Inductor will call (``CXX`` or g++), refused in one line if there is none:
    before any training, rather than at the first step."""
    name = os.environ.get("CXX", "g++")
    if shutil.which(name) is None:
        raise ConfigError(f"train.compile: compiling on the CPU needs a C++ compiler, and {name!r} is not on PATH "
                          f"(install g++ or set CXX; or set train.compile: false, which trains eagerly: other bytes)")
    return name


def steps(compiled: bool, device: torch.device) -> tuple[Callable, Callable]:
    """``loss_and_logits`` and ``logits_of``, compiled (one wrapper each per process, so that every
    run in it finds the code compiled before) or as they are."""
    if not compiled:
        return loss_and_logits, logits_of
    if device.type == "cpu":
        compiler()
    if not _COMPILED:
        configure(device)
        _COMPILED.update(train=torch.compile(loss_and_logits), evaluate=torch.compile(logits_of))
    return _COMPILED["train"], _COMPILED["evaluate"]


def graphs_compiled() -> int:
    """How many graphs Dynamo has compiled in this process (counting inherited ones in a child)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])
