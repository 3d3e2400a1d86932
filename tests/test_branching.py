"""Runs as a tree: a trunk trains the shared first epochs once, and each branch continues from the
state it kept, writing every file byte for byte as the run trained from scratch."""

import csv
import filecmp
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from distancing.branching import prefix, shared_epochs
from distancing.config import resolve
from distancing.files import RUN_FILES

from .conftest import run_cli

SIX = ["--set", "train.epochs=6", "--set", "data.train_samples=512"]


def config(**changes):
    layer = {"train": {"epochs": 6}, "distancing": {"strength": 1.0, "checkpoints": [2, 4]}, "snapshots": [1]}
    for key, value in changes.items():
        *parents, leaf = key.split(".")
        node = layer
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return resolve(layer)


def test_runs_share_the_epochs_before_anything_that_acts_later_differs():
    hill, twin = config(), config(**{"distancing.strength": 0.0})
    assert shared_epochs(hill, twin) == 1  # the checkpoint after epoch 2 is stored under another hill
    assert shared_epochs(hill, config(**{"distancing.checkpoints": [2]})) == 3  # the same hill until epoch 4
    assert shared_epochs(hill, config(**{"distancing.sigma2": 1.0})) == 1
    assert shared_epochs(hill, config(snapshots=[1, 5])) == 4  # a member kept after epoch 5 changes only that
    assert shared_epochs(hill, config(saved_states=[3], branch_states=[2])) == 2  # states kept from epoch 3 on
    assert shared_epochs(hill, config(snapshots=[])) == 0  # the member kept after epoch 1
    assert shared_epochs(hill, config(seed=1)) == 0
    assert shared_epochs(hill, config(**{"train.lr": 0.1})) == 0
    assert shared_epochs(hill, hill) == 6
    # Nested: equal up to E means equal up to every earlier epoch.
    assert all(prefix(hill, e) == prefix(twin, e) for e in range(1, 2))


def train(out, *extra, state=None):
    command = ["train", *extra, "--out", str(out), "--threads", "1"]
    result = run_cli(*command, *(["--state", str(state)] if state else []))
    assert result.returncode == 0, result.stderr
    return result


def trained_epochs(run):
    with open(run / "timing.csv", newline="") as f:
        return next(int(r["count"]) for r in csv.DictReader(f) if r["phase"] == "train_steps")


def assert_same_files(a, b):
    """Every declared file of run ``b`` is byte-identical to run ``a``'s (``cmp``)."""
    for name in RUN_FILES.values():
        assert filecmp.cmp(a / name, b / name, shallow=False), name


@pytest.fixture(scope="module")
def trunk(tmp_path_factory, data_root):
    """The no-hill twin keeps its state after epoch 1 for the hill runs; the hill with two
    checkpoints keeps its state after epoch 3 for the hill with one."""
    root = tmp_path_factory.mktemp("tree")
    base = [str(root / "base.yaml")]
    (root / "base.yaml").write_text(f"data: {{root: {data_root}, train_samples: 512}}\n"
                                    "model: {name: resnet, resnet: {width: 4, blocks: [1, 1]}}\n"
                                    "train: {epochs: 6, batch_size: 64, lr: 0.05}\n"
                                    "distancing: {strength: 1.0, sigma2: 1.0e-3, checkpoints: [2, 4]}\n"
                                    "snapshots: [1]\n")
    train(root / "twin", *base, "--set", "distancing.strength=0", "--set", "branch_states=[1]")
    return root, base


def test_a_branch_writes_every_file_as_the_run_from_scratch(trunk):
    root, base = trunk
    twin = root / "twin" / RUN_FILES["branches"]
    train(root / "hill", *base, "--set", "branch_states=[3]", "--branch-from", str(twin), "--branch-epoch", "1")
    train(root / "hill-scratch", *base, "--set", "branch_states=[3]")
    assert_same_files(root / "hill-scratch", root / "hill")
    assert (trained_epochs(root / "hill-scratch"), trained_epochs(root / "hill")) == (6, 5)
    # A branch of a branch, past a stored checkpoint: the hill's state (its checkpoint) carries over.
    hill = root / "hill" / RUN_FILES["branches"]
    one = [*base, "--set", "distancing.checkpoints=[2]"]
    result = train(root / "one", *one, "--branch-from", str(hill), "--branch-epoch", "3")
    assert f"branching from {hill} after epoch 3" in result.stderr
    train(root / "one-scratch", *one)
    assert_same_files(root / "one-scratch", root / "one")
    assert trained_epochs(root / "one") == 3


def test_a_branch_killed_mid_run_resumes_from_its_own_state(trunk):
    root, base = trunk
    twin = root / "twin" / RUN_FILES["branches"]
    state, out = root / "state" / "branch.pt", root / "killed"
    command = [sys.executable, "-m", "distancing.cli", "train", *base, "--out", str(out), "--state", str(state),
               "--threads", "1", "--branch-from", str(twin), "--branch-epoch", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not state.exists() and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "resuming" in result.stderr, result.stderr
    train(root / "plain", *base)
    assert_same_files(root / "plain", out)


def test_a_trunk_that_diverged_before_the_branch_point_hands_its_branches_the_divergence(tmp_path, data_root):
    base = [str(tmp_path / "base.yaml")]
    (tmp_path / "base.yaml").write_text(f"data: {{root: {data_root}, train_samples: 256}}\n"
                                        "model: {name: resnet, resnet: {width: 4, blocks: [1, 1]}}\n"
                                        "train: {epochs: 5, batch_size: 64, lr: 1.0e+6, momentum: 0.0}\n"
                                        "distancing: {strength: 1.0, checkpoints: [3]}\n")
    train(tmp_path / "twin", *base, "--set", "distancing.strength=0", "--set", "branch_states=[2]")
    assert torch.load(tmp_path / "twin" / "branches.pt", weights_only=False).keys() == {2}
    train(tmp_path / "hill", *base, "--branch-from", str(tmp_path / "twin" / "branches.pt"), "--branch-epoch", "2")
    train(tmp_path / "scratch", *base)
    assert b"diverged" in (tmp_path / "scratch" / "metrics.csv").read_bytes()
    assert_same_files(tmp_path / "scratch", tmp_path / "hill")


@pytest.mark.parametrize("change, message", [
    (["--branch-epoch", "2"], "error: --branch-epoch: {twin} kept no state after epoch 2 (kept: 1;"),
    (["--branch-epoch", "1", "--set", "seed=3"], "error: --branch-from: {twin} does not train this run's first 1 "
                                                  "epochs (its seed differs)"),
    (["--branch-epoch", "1", "--set", "branch_states=[1]"], "error: branch_states: epoch 1 lies before the branch "
                                                             "point 1;"),
])
def test_a_wrong_trunk_stops_in_one_line_before_the_run_directory_exists(trunk, change, message):
    root, base = trunk
    twin = root / "twin" / RUN_FILES["branches"]
    result = run_cli("train", *base, "--out", str(root / "wrong"), "--branch-from", str(twin), *change)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith(message.format(twin=twin))
    assert not (root / "wrong").exists()
