"""Compiled training steps (src/distancing/compiled.py): when a run compiles, the code Inductor
writes under the portable pins, and the guarantees of the eager path kept: a killed run resumes
to the bytes of an uninterrupted one. The server's sharing is in test_server.py, the committed
bytes in test_golden.py."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from distancing import compiled, numerics
from distancing.config import ConfigError, resolve

from .conftest import kill_once_saved_then_rerun, run_cli

OUTPUTS = ("metrics.csv", "distances.csv", "predictions.npz", "members.npz")


def test_auto_compiles_on_the_cpu_under_pinned_numerics_only(monkeypatch):
    monkeypatch.setattr(numerics, "has_avx2", lambda: True)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert compiled.wanted({"compile": "auto"}, "portable", cpu)
    assert not compiled.wanted({"compile": "auto"}, "native", cpu)  # machine-dependent kernels: eager
    assert not compiled.wanted({"compile": "auto"}, "portable", cuda)  # benchmarks/gpu_epoch.py decides there
    assert not compiled.wanted({"compile": False}, "portable", cpu)
    assert compiled.wanted({"compile": True}, "native", cpu)  # asked for: compiled, whatever the kernels
    monkeypatch.setattr(numerics, "has_avx2", lambda: False)
    assert not compiled.wanted({"compile": "auto"}, "portable", cpu)  # nothing pinned: eager


def test_train_compile_is_auto_true_or_false():
    assert resolve()["train"]["compile"] == "auto"
    assert resolve({"train": {"compile": False}})["train"]["compile"] is False
    with pytest.raises(ConfigError, match=r"^train.compile: must be auto, true or false, got 'sometimes'$"):
        resolve({"train": {"compile": "sometimes"}})


def inductor_choice(env: dict[str, str]) -> list[str]:
    """The vector ISA and -march a fresh process's Inductor would compile with."""
    probe = ("import torch; from torch._inductor import cpu_vec_isa, cpp_builder; "
             "print(cpu_vec_isa.pick_vec_isa(), cpp_builder._get_cpu_arch_cflags('g++'), sep='|')")
    clean = {k: v for k, v in os.environ.items() if k not in numerics.PORTABLE}
    return subprocess.run([sys.executable, "-c", probe], env=clean | env, capture_output=True, text=True,
                          check=True).stdout.strip().split("|")


def test_portable_numerics_pin_inductors_vector_width_and_target_cpu():
    """What makes compiled bytes the same on AVX2 and AVX-512 machines: AVX2 vectors and C++
    compiled for x86-64-v3; without the pins, an AVX-512 CPU gets AVX-512 vectors and -march=native."""
    if not numerics.has_avx2():
        pytest.skip("portable numerics pin AVX2 kernels on x86-64 CPUs; this CPU has none to pin")
    assert inductor_choice(numerics.PORTABLE) == ["avx2", "['march=x86-64-v3']"]
    if " avx512f " in Path("/proc/cpuinfo").read_text():
        isa, march = inductor_choice({})
        assert isa.startswith("avx512") and march == "['march=native']"


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_a_compiled_run_killed_mid_run_resumes_to_the_bytes_of_an_uninterrupted_one(tmp_path, compiled_tiny_run):
    if not numerics.has_avx2():
        pytest.skip("auto compiles only where portable numerics pin the kernels")
    whole = compiled_tiny_run / "run"
    assert "compiled: true" in (whole / "config.yaml").read_text()
    timing = {r["phase"]: r for r in read_rows(whole / "timing.csv")}
    assert int(timing["compiled_graphs"]["count"]) >= 2  # training and evaluation, compiled by the run itself

    out, state = tmp_path / "killed", tmp_path / "killed.pt"
    command = [sys.executable, "-m", "distancing.cli", "train", str(compiled_tiny_run / "tiny.yaml"), "--out",
               str(out), "--state", str(state), "--threads", "1", "--quiet"]
    resumed = kill_once_saved_then_rerun(command, state)  # killed once it has saved an epoch
    assert resumed.returncode == 0, resumed.stderr
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def test_a_cpu_run_that_compiles_without_a_compiler_stops_before_training_in_one_line(tmp_path, tiny_config):
    result = run_cli("train", str(tiny_config), "--out", str(tmp_path / "run"), "--set", "train.compile=true",
                     "--threads", "1", env={"CXX": "no-such-compiler"})
    assert result.returncode == 2
    assert result.stderr == ("error: train.compile: compiling on the CPU needs a C++ compiler, and 'no-such-compiler' "
                             "is not on PATH (install g++ or set CXX; or set train.compile: false, which trains "
                             "eagerly: other bytes)\n")
    assert not (tmp_path / "run").exists()
