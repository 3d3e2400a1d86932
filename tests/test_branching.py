"""Runs as a tree: a trunk trains the shared first epochs once, and each branch continues from the
state it kept, writing every file byte for byte as the run trained from scratch."""

import csv
import filecmp
import sys

import pytest
import torch
import yaml

from distancing.branching import prefix, shared_epochs
from distancing.config import ConfigError, resolve
from distancing.files import RUN_FILES
from distancing.training import train_run

from .conftest import kill_once_saved_then_rerun, run_cli


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


def train(out, base, branch=None, **changes):
    """One run in this process (no interpreter or torch start-up), its config ``base`` with changes."""
    config = resolve(base, *({key: value} for key, value in changes.items()))
    return train_run(config, out, threads=1, log=lambda _: None, progress=False, branch=branch)


def trained_epochs(run):
    with open(run / "timing.csv", newline="") as f:
        return next(int(r["count"]) for r in csv.DictReader(f) if r["phase"] == "train_steps")


def assert_same_files(a, b):
    """Every declared file of run ``b`` is byte-identical to run ``a``'s (``cmp``)."""
    for name in RUN_FILES.values():
        assert filecmp.cmp(a / name, b / name, shallow=False), name


def base_config(data_root, **train):
    return {"data": {"root": str(data_root), "train_samples": 512},
            "model": {"name": "resnet", "resnet": {"width": 4, "blocks": [1, 1]}},
            "train": {"epochs": 6, "batch_size": 64, "lr": 0.05, **train},
            "distancing": {"strength": 1.0, "sigma2": 1.0e-3, "checkpoints": [2, 4]}, "snapshots": [1]}


@pytest.fixture(scope="module")
def trunk(tmp_path_factory, data_root):
    """The no-hill twin keeps its state after epoch 1 for the hill runs."""
    root = tmp_path_factory.mktemp("tree")
    base = base_config(data_root)
    (root / "base.yaml").write_text(yaml.safe_dump(base))
    train(root / "twin", base, distancing={"strength": 0.0}, branch_states=[1])
    return root, base


def test_a_branch_writes_every_file_as_the_run_from_scratch(trunk):
    root, base = trunk
    twin = root / "twin" / RUN_FILES["branches"]
    train(root / "hill", base, branch=(twin, 1), branch_states=[3])
    train(root / "hill-scratch", base, branch_states=[3])
    assert_same_files(root / "hill-scratch", root / "hill")
    assert (trained_epochs(root / "hill-scratch"), trained_epochs(root / "hill")) == (6, 5)
    # A branch of a branch, past a stored checkpoint: the hill's state (its checkpoint) carries over.
    hill = root / "hill" / RUN_FILES["branches"]
    messages = []
    config = resolve(base, {"distancing": {"checkpoints": [2]}})
    train_run(config, root / "one", threads=1, log=messages.append, progress=False, branch=(hill, 3))
    assert f"branching from {hill} after epoch 3" in messages
    train(root / "one-scratch", base, distancing={"checkpoints": [2]})
    assert_same_files(root / "one-scratch", root / "one")
    assert trained_epochs(root / "one") == 3


def test_a_branch_killed_mid_run_resumes_from_its_own_state(trunk):
    root, base = trunk
    twin = root / "twin" / RUN_FILES["branches"]
    state, out = root / "state" / "branch.pt", root / "killed"
    command = [sys.executable, "-m", "distancing.cli", "train", str(root / "base.yaml"), "--out", str(out),
               "--state", str(state), "--threads", "1", "--branch-from", str(twin), "--branch-epoch", "1"]
    result = kill_once_saved_then_rerun(command, state)
    assert result.returncode == 0 and "resuming" in result.stderr, result.stderr
    train(root / "plain", base)
    assert_same_files(root / "plain", out)


def test_a_trunk_that_diverged_before_the_branch_point_hands_its_branches_the_divergence(tmp_path, data_root):
    base = base_config(data_root, epochs=5, lr=1.0e6, momentum=0.0)
    base["distancing"]["checkpoints"] = [3]
    train(tmp_path / "twin", base, distancing={"strength": 0.0}, branch_states=[2])
    assert torch.load(tmp_path / "twin" / "branches.pt", weights_only=False).keys() == {2}
    train(tmp_path / "hill", base, branch=(tmp_path / "twin" / "branches.pt", 2))
    train(tmp_path / "scratch", base)
    assert b"diverged" in (tmp_path / "scratch" / "metrics.csv").read_bytes()
    assert_same_files(tmp_path / "scratch", tmp_path / "hill")


@pytest.mark.parametrize("epoch, changes, message", [
    (2, {}, "--branch-epoch: {twin} kept no state after epoch 2 (kept: 1;"),
    (1, {"seed": 3}, "--branch-from: {twin} does not train this run's first 1 epochs (its seed differs)"),
    (1, {"branch_states": [1]}, "branch_states: epoch 1 lies before the branch point 1;"),
])
def test_a_wrong_trunk_stops_before_the_run_directory_exists(trunk, epoch, changes, message):
    root, base = trunk
    twin = root / "twin" / RUN_FILES["branches"]
    with pytest.raises(ConfigError) as error:
        train(root / "wrong", base, branch=(twin, epoch), **changes)
    assert str(error.value).startswith(message.format(twin=twin))
    assert not (root / "wrong").exists()


def test_the_command_line_reports_a_wrong_trunk_in_one_line(trunk):
    root, _ = trunk
    twin = root / "twin" / RUN_FILES["branches"]
    result = run_cli("train", str(root / "base.yaml"), "--out", str(root / "wrong"), "--branch-from", str(twin),
                     "--branch-epoch", "1", "--set", "seed=3")
    assert result.returncode == 2 and result.stderr.splitlines() == [
        f"error: --branch-from: {twin} does not train this run's first 1 epochs (its seed differs)"]
    result = run_cli("train", str(root / "base.yaml"), "--out", str(root / "wrong"), "--branch-from", str(twin))
    assert result.returncode == 2 and result.stderr.splitlines() == [
        "error: --branch-from: give both --branch-from and --branch-epoch, or neither"]
    assert not (root / "wrong").exists()
