"""Shared fixtures: one MNIST-1D cache for the whole session and a tiny, fast run config."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from distancing.numerics import pin

pin()  # the tests train in this process: kernels pinned before torch is imported (numerics.py)


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the generated MNIST-1D cache, made once per test session."""
    from distancing.data import load_mnist1d

    root = tmp_path_factory.mktemp("data")
    load_mnist1d(root)
    return root


# A run that trains in about a second: a small ResNet on 256 MNIST-1D samples, a hill on the
# epoch-2 checkpoint, a snapshot at epoch 1 (``data.root`` is the session's generated cache).
TINY = {
    "seed": 0,
    "data": {"train_samples": 256},
    "model": {"name": "resnet", "resnet": {"width": 4, "blocks": [1, 1]}},
    "train": {"epochs": 4, "batch_size": 64, "lr": 0.05, "compile": False},
    "distancing": {"strength": 1.0, "sigma2": 1e-3, "checkpoints": [2]},
    "snapshots": [1],
}


def tiny(data_root: Path, **train: object) -> dict:
    """The tiny run's config on the session's data, with ``train`` settings changed."""
    return {**TINY, "data": {**TINY["data"], "root": str(data_root)}, "train": {**TINY["train"], **train}}


@pytest.fixture
def tiny_config(tmp_path: Path, data_root: Path) -> Path:
    """The tiny run's config, eager (the loop's tests; compiling costs seconds per process, and
    ``compiled_tiny_run`` covers that path)."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny(data_root)))
    return path


@pytest.fixture(scope="session")
def compiled_tiny_run(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    """The tiny run with its steps compiled (``train.compile: auto``, one thread), trained once per
    session in its own process: the golden test's compiled bytes, and the run a killed compiled
    run and the server's children must reproduce. Compiling it cold is most of its cost, so the
    tests of the compiled path share it. Its directory holds ``tiny.yaml`` and ``run/``."""
    folder = tmp_path_factory.mktemp("compiled")
    config = folder / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny(data_root, compile="auto")))
    result = run_cli("train", str(config), "--out", str(folder / "run"), "--threads", "1", "--quiet")
    assert result.returncode == 0, result.stderr
    return folder


def run_cli(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the ``distancing`` command in a fresh interpreter, as a user would (``env``: variables
    set beside this process's)."""
    return subprocess.run([sys.executable, "-m", "distancing.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=None if env is None else {**os.environ, **env})


def kill_once_saved_then_rerun(command: list[str], state: Path) -> subprocess.CompletedProcess:
    """SIGKILL a training command as soon as it has saved its resume state, then run it again."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not state.exists() and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def fabricate_cifar(path, name, n_train_per_batch=6, n_test=5, classes=10):
    """A tiny archive with the layout, pickles and keys of the official python version."""
    rng = np.random.default_rng(0)
    label_key = b"labels" if name == "cifar10" else b"fine_labels"
    members = {}
    if name == "cifar10":
        for i in range(1, 6):
            members[f"cifar-10-batches-py/data_batch_{i}"] = n_train_per_batch
        members["cifar-10-batches-py/test_batch"] = n_test
    else:
        members["cifar-100-python/train"] = 5 * n_train_per_batch
        members["cifar-100-python/test"] = n_test
    contents = {}
    with tarfile.open(path, "w:gz") as archive:
        for member, n in members.items():
            batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                     label_key: rng.integers(0, classes, n).tolist()}
            payload = pickle.dumps(batch, protocol=2)
            info = tarfile.TarInfo(member)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
            contents[member] = batch
    return contents, label_key


@pytest.fixture
def served_archive(tmp_path, monkeypatch):
    """Fabricate an archive and point the dataset's URL (file://) and MD5 at it."""
    from distancing import data as data_module

    def serve(name, md5=None):
        source = tmp_path / "server" / f"{name}.tar.gz"
        source.parent.mkdir(exist_ok=True)
        contents, label_key = fabricate_cifar(source, name, classes=10 if name == "cifar10" else 100)
        digest = hashlib.md5(source.read_bytes()).hexdigest()
        spec = dict(data_module.CIFAR_ARCHIVES[name], url=source.as_uri(), md5=md5 or digest)
        monkeypatch.setitem(data_module.CIFAR_ARCHIVES, name, spec)
        return contents, label_key, digest

    return serve
