"""Portable numerics: the same bytes on every x86-64 CPU with AVX2.

PyTorch chooses its CPU kernels by the widest instruction set the CPU offers: ATen's vectorised
operators (``ATEN_CPU_CAPABILITY``), oneDNN's JIT-compiled convolutions (``ONEDNN_MAX_CPU_ISA``)
and MKL's BLAS (``MKL_CBWR``, its conditional numerical reproducibility); a compiled step runs
C++ that Inductor writes for the vector width ATen's variable names and compiles for the CPU
``TORCHINDUCTOR_CPP_MARCH`` names (``compiled.py``). Kernels of different
widths add in different orders, so a run on an AVX-512 machine differs from the same run on an
AVX2 machine from its first epoch, and the verdicts built on those numbers with it.

``portable`` (the default) caps all four at AVX2 (x86-64-v3), which every x86-64 CPU of the last decade has.
Each library reads its variable once, at its first kernel, so ``pin`` sets them before torch is
imported: the CLI does it from the run's config, the warm server for the children it forks,
every script and benchmark that runs a network before its first ``import torch``. ``native``
clears them and leaves the libraries to choose (faster on some CPUs, machine-dependent). Nothing is promised for
GPUs, ARM CPUs or ``native``: there the verdicts' replication probability is what remains, a
forecast of how often another machine (like another seed set) reaches the same verdict.

numpy does the same for its own loops (``exp``, ``log``, ...): on an AVX-512 CPU it runs
AVX-512 kernels whose last bits differ from the AVX2 ones, which is how Figure 0.1's analytic
surface came out one pixel different on an AVX2 machine. ``NUMPY`` caps it at AVX2 too
(``NPY_DISABLE_CPU_FEATURES``, read once at numpy's import, numpy 2's feature groups; an AVX2
CPU runs the same loops with or without it). ``pin_numpy`` sets it in the Snakemake process
(``workflow/rules/common.smk``), so that every job it starts (ensembles, claims, figures, the
measurements) imports numpy with it.
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

from .config import ConfigError

PORTABLE = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2",
            "TORCHINDUCTOR_CPP_MARCH": "x86-64-v3"}  # Inductor's C++ for compiled steps (compiled.py)
CAPABILITY = "AVX2"  # what torch reports under ``portable`` (torch.backends.cpu.get_cpu_capability)
NUMPY = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}  # every numpy 2 group above AVX2


def has_avx2() -> bool:
    """Whether this is an x86-64 CPU with AVX2 and FMA: the one where ``portable`` can pin anything
    (forcing AVX2 kernels on a CPU without it would stop the run with an illegal instruction)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx2" in flags and "fma" in flags


def pinned(mode: str) -> bool:
    """Whether ``mode`` pins kernels on this machine."""
    return mode == "portable" and has_avx2()


def pin(mode: str = "portable") -> None:
    """Set the kernel-choice variables of ``mode`` in this process's environment, before torch is
    imported (children inherit them). ``native`` clears them: the libraries choose, even in a
    process started by a pinned one."""
    if pinned(mode):
        os.environ.update(PORTABLE)
    elif mode == "native":
        for name in PORTABLE:
            os.environ.pop(name, None)


def pin_numpy(mode: str = "portable") -> None:
    """numpy's kernels for the processes this one starts (numpy reads the variable at its import:
    a process that imported numpy already keeps its own); ``native`` clears it."""
    if pinned(mode):
        os.environ.update(NUMPY)
    elif mode == "native":
        for name in NUMPY:
            os.environ.pop(name, None)


def environment(env: dict[str, str] | None = None) -> dict[str, str | None]:
    """The variables that choose kernels, as ``env`` (default: this process's) has them: two
    processes with equal values run the same kernels (the warm server forks only for equals)."""
    env = os.environ if env is None else env
    return {name: env.get(name) for name in PORTABLE}


def check(mode: str) -> dict[str, Any]:
    """What this process runs, for ``run:`` in the run's config.yaml; under ``portable`` on an AVX2
    CPU, refuse a process whose torch chose other kernels (torch ran before ``pin``)."""
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    if pinned(mode) and (capability != CAPABILITY or environment() != PORTABLE):
        raise ConfigError(f"numerics: portable needs AVX2 kernels, but this process runs {capability} "
                          f"(call distancing.numerics.pin() before importing torch, or set numerics: native)")
    return {"numerics": mode if pinned(mode) or mode == "native" else f"{mode} (not pinned: no AVX2 here)",
            "cpu_capability": capability, **{k.lower(): v for k, v in environment().items() if v is not None},
            "machine": platform.machine(), "python": sys.version.split()[0]}
