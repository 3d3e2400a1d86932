"""Shared fixtures: one MNIST-1D cache for the whole session and a tiny, fast run config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the generated MNIST-1D cache, made once per test session."""
    from distancing.data import load_mnist1d

    root = tmp_path_factory.mktemp("data")
    load_mnist1d(root)
    return root


@pytest.fixture
def tiny_config(tmp_path: Path, data_root: Path) -> Path:
    """A config that trains in about a second: a small ResNet on 256 MNIST-1D samples."""
    config = {
        "seed": 0,
        "data": {"root": str(data_root), "train_samples": 256},
        "model": {"name": "resnet", "resnet": {"width": 4, "blocks": [1, 1]}},
        "train": {"epochs": 4, "batch_size": 64, "lr": 0.05},
        "distancing": {"strength": 1.0, "sigma2": 1e-3, "checkpoints": [2]},
        "snapshots": [1],
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the ``distancing`` command in a fresh interpreter, as a user would."""
    return subprocess.run([sys.executable, "-m", "distancing.cli", *args], capture_output=True, text=True,
                          timeout=timeout)
