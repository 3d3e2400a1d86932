"""The cross-machine check: a short fixed run whose files' SHA-256 are committed here.

Under ``numerics: portable`` (the default, src/distancing/numerics.py) every x86-64 CPU with AVX2
runs the same kernels, so this run writes the same bytes on every such machine with this torch.
CI runs it on whatever machine CI has; a developer's run on another CPU is the second machine.
A mismatch names the files that differ; the data's own hash says whether the generated
dataset or the training differs. Do not loosen it: find the kernel that differs (pin one
library at a time, numerics.PORTABLE) and record it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from distancing.files import RUN_FILES
from distancing.numerics import has_avx2

from .conftest import run_cli

TORCH = "2.13.0"  # the version the hashes were recorded with (.ci/run installs it)
# GOLDEN: MobileNetV2-1D on 256 MNIST-1D sequences, 3 epochs, eager: a hill on the epoch-1
# checkpoint, a snapshot at epoch 2, every file of a run that can be compared (config.yaml
# records the commit and machine).
CONFIG = {
    "seed": 3,
    "data": {"train_samples": 256},
    "train": {"epochs": 3, "batch_size": 64, "compile": False},
    "distancing": {"strength": 8.0, "sigma2": 1.0e-4, "checkpoints": [1]},
    "snapshots": [2],
}
GOLDEN = {
    "data": "b09ad3e22c854bc5a1948b85c373aab653ceb38c9170f5ed05b7d054e4160db9",
    "metrics": "11857e2d196521bf553e59a02226aef5697c1aad32ea4d56de48ab376a7650a1",
    "distances": "b93b535e75ac9023dd2ee01348aaab6090fb3d8011709d3101a3e2e8b0698190",
    "learning_rates": "e33c2742f70885825e7890ecaff432d31a0b0e988cb6885db4346e4a40173b5c",
    "predictions": "5a8d0a6ea627c82b9c5962b9f0e3cf14278d4c221d9f36228f1a1038fe928561",
    "members": "348c4e2acf33b3973cddccf6306728dd6471f5fc73cab063e1003959d75fedbe",
}
# GOLDEN_COMPILED: the tests' tiny ResNet run (conftest.TINY, the same 256 sequences) with its steps
# compiled (Inductor's code, src/distancing/compiled.py): the same pins decide its generated C++
# as any model's, and one cold compile of it serves every test of the compiled path.
GOLDEN_COMPILED = {
    "data": GOLDEN["data"],
    "metrics": "4d42dc53c9dc637d760a1d146ed13a46aa94d92dcc01e760f826ffc137b469e6",
    "distances": "d6a26ef1ef1172061cd98feda3984af7a5e015eb89c16355f963e3c65942f92b",
    "learning_rates": "37f92414d112dd36f83f88ff5fcb674699753eb029a7d274ed1916299c66abe7",
    "predictions": "2989d67579228c4c4b28b7c86a78bfda031f92efb92a3a8843bda0a88c06e040",
    "members": "cb13737351d80b6d535e3809ba1667f786bd5f81736f77f69026eb15e9576f29",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_sha256(root: Path) -> str:
    from distancing.data import load_dataset

    data = load_dataset("mnist1d", root)
    digest = hashlib.sha256()
    for array in (data.x_train, data.y_train, data.x_val, data.y_val):
        digest.update(np.ascontiguousarray(array.cpu().numpy()).tobytes())
    return digest.hexdigest()


def eager_golden_run(folder: Path, data_root: Path) -> Path:
    config = folder / "golden.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "data": {**CONFIG["data"], "root": str(data_root)}}))
    result = run_cli("train", str(config), "--out", str(folder / "run"), "--threads", "1", "--quiet")
    assert result.returncode == 0, result.stderr
    return folder / "run"


@pytest.fixture(scope="module", params=[False, True], ids=["eager", "compiled"])
def golden_run(request, tmp_path_factory, data_root) -> dict[str, str]:
    compiled = request.param
    run = (request.getfixturevalue("compiled_tiny_run") / "run" if compiled
           else eager_golden_run(tmp_path_factory.mktemp("golden"), data_root))
    hashes = {kind: sha256(run / RUN_FILES[kind]) for kind in GOLDEN if kind != "data"}
    return hashes | {"data": data_sha256(data_root), "run_config": (run / "config.yaml").read_text(),
                     "compiled": compiled}


def test_the_golden_run_writes_the_committed_bytes(golden_run):
    if torch.__version__.split("+")[0] != TORCH:
        pytest.skip(f"the hashes are of torch {TORCH}; this is torch {torch.__version__} (other kernels)")
    if not has_avx2():
        pytest.skip("portable numerics pin AVX2 kernels on x86-64 CPUs; this CPU has none to pin")
    run = yaml.safe_load(golden_run["run_config"])["run"]
    assert run["numerics"] == "portable" and run["cpu_capability"] == "AVX2"
    assert run["compiled"] is golden_run["compiled"]
    golden = GOLDEN_COMPILED if golden_run["compiled"] else GOLDEN
    differ = {kind: golden_run[kind] for kind, expected in golden.items() if golden_run[kind] != expected}
    assert not differ, f"files differ from the committed bytes: {differ}"


def test_native_numerics_choose_this_cpus_kernels(tmp_path, data_root):
    """The opt-out: ``numerics: native`` runs what torch picks here, even in a process that inherits
    the pins (this one's, from conftest); on an AVX-512 CPU those are other kernels, so other bytes."""
    config = tmp_path / "native.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "numerics": "native",
                                      "data": {**CONFIG["data"], "root": str(data_root)},
                                      "train": {**CONFIG["train"], "compile": "auto"}}))
    result = run_cli("train", str(config), "--out", str(tmp_path / "run"), "--threads", "1", "--quiet")
    assert result.returncode == 0, result.stderr
    run = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["run"]
    assert run["numerics"] == "native" and "aten_cpu_capability" not in run
    assert run["compiled"] is False  # auto: native kernels train eagerly (compiled.py)
    if " avx512f " in Path("/proc/cpuinfo").read_text() and torch.__version__.split("+")[0] == TORCH:
        assert run["cpu_capability"] == "AVX512"
        assert sha256(tmp_path / "run" / "metrics.csv") != GOLDEN["metrics"]


def test_numpy_runs_avx2_loops_in_every_job_the_pipeline_starts():
    """The pin the Snakemake process sets for its jobs (numerics.pin_numpy, from common.smk): a
    process started with it sees no AVX-512 loops; on an AVX-512 CPU without it numpy's exp
    differs in its last bits, which is what the pin is for."""
    import subprocess
    import sys

    from distancing.numerics import NUMPY

    if not has_avx2():
        pytest.skip("portable numerics pin AVX2 kernels on x86-64 CPUs; this CPU has none to pin")
    probe = ("import hashlib, numpy as np; from numpy._core._multiarray_umath import __cpu_features__ as f; "
             "x = np.linspace(-30, 30, 100001); print(f['X86_V4'], f['X86_V3'], hashlib.sha256(np.exp(x).tobytes())"
             ".hexdigest())")
    env = {k: v for k, v in os.environ.items() if k not in NUMPY}

    def run(extra: dict[str, str]) -> list[str]:
        return subprocess.run([sys.executable, "-c", probe], env=env | extra, capture_output=True, text=True,
                              check=True).stdout.split()

    pinned = run(NUMPY)
    assert pinned[:2] == ["False", "True"]  # AVX2 loops, none wider
    if " avx512f " in Path("/proc/cpuinfo").read_text():
        native = run({})
        assert native[0] == "True" and native[2] != pinned[2]


def test_native_numerics_clear_numpys_pin_for_the_jobs_it_starts(monkeypatch):
    from distancing.numerics import NUMPY, pin_numpy

    if not has_avx2():
        pytest.skip("portable numerics pin AVX2 kernels on x86-64 CPUs; this CPU has none to pin")
    for name in NUMPY:
        monkeypatch.delenv(name, raising=False)
    pin_numpy("portable")
    assert {name: os.environ[name] for name in NUMPY} == NUMPY
    pin_numpy("native")
    assert not any(name in os.environ for name in NUMPY)
