"""One run end to end through the command line: files, determinism, resume after SIGKILL,
divergence, schedules."""

import copy
import csv
import importlib
import math
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from distancing import resume
from distancing.basins import network
from distancing.config import parse_override, resolve
from distancing.data import augment, load_dataset
from distancing.files import DISTANCES_COLUMNS, METRICS_COLUMNS
from distancing.hill import FlatParameters
from distancing.members import load_members
from distancing.optim import FlatSGD, build_scheduler

from .conftest import kill_once_saved_then_rerun, run_cli


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def train(config, out, *extra):
    result = run_cli("train", str(config), "--out", str(out), "--threads", "1", *extra)
    assert result.returncode == 0, result.stderr
    return result


def test_a_run_writes_its_files_with_the_documented_columns(tmp_path, tiny_config):
    out = tmp_path / "run"
    train(tiny_config, out)
    assert sorted(p.name for p in out.iterdir()) == ["branches.pt", "config.yaml", "distances.csv",
                                                     "learning_rates.csv", "members.npz", "metrics.csv",
                                                     "predictions.npz",
                                                     "states.pt", "timing.csv"]
    assert torch.load(out / "states.pt", weights_only=False) == {}  # no saved_states: nothing for child runs
    assert torch.load(out / "branches.pt", weights_only=False) == {}  # no branch_states: nothing for branches
    # One learning rate per optimizer step; each epoch's first is the one metrics.csv reports.
    steps = read_csv(out / "learning_rates.csv")
    assert list(steps[0]) == ["step", "epoch", "lr"]
    assert [int(r["step"]) for r in steps] == list(range(1, len(steps) + 1))
    first = {}
    for r in steps:
        first.setdefault(r["epoch"], r["lr"])
    assert [float(first[r["epoch"]]) for r in read_csv(out / "metrics.csv")] == [
        float(r["lr"]) for r in read_csv(out / "metrics.csv")]
    timing = {r["phase"]: r for r in read_csv(out / "timing.csv")}
    assert list(timing) == ["startup", "train_steps", "evaluation", "writes", "total"]
    # One per epoch, and from the checkpoint on one more on the training inputs (the function distance).
    assert [int(timing[p]["count"]) for p in ("train_steps", "evaluation")] == [4, 4 + 3]
    cpu = {p: float(r["cpu_seconds"]) for p, r in timing.items()}
    assert all(v > 0 for v in cpu.values())
    # The phases are disjoint parts of the process's CPU time (start-up includes importing torch).
    assert cpu["startup"] + cpu["train_steps"] + cpu["evaluation"] + cpu["writes"] <= cpu["total"] + 0.01
    metrics = read_csv(out / "metrics.csv")
    assert tuple(metrics[0]) == METRICS_COLUMNS
    assert [int(r["epoch"]) for r in metrics] == [1, 2, 3, 4]
    assert all(r["status"] == "ok" for r in metrics)
    # The checkpoint is stored after epoch 2; the hill acts from epoch 3 on.
    assert [int(r["checkpoints"]) for r in metrics] == [0, 1, 1, 1]
    assert [float(r["hill"]) > 0 for r in metrics] == [False, False, True, True]
    assert all(0 < float(r["hill"]) <= 1.0 for r in metrics[2:])  # s = 1 bounds the hill

    distances = read_csv(out / "distances.csv")
    assert tuple(distances[0]) == DISTANCES_COLUMNS == (
        "epoch", "checkpoint", "checkpoint_epoch", "distance", "function_distance", "disagreement")
    assert [(int(r["epoch"]), int(r["checkpoint_epoch"])) for r in distances] == [(2, 2), (3, 2), (4, 2)]
    d = [float(r["distance"]) for r in distances]
    assert d[0] == 0.0 and 0 < d[1] < d[2]
    # The weight hill moves the function too: at its own epoch the checkpoint is the network.
    function = [float(r["function_distance"]) for r in distances]
    assert function[0] == 0.0 and all(0 < f < math.log(2) for f in function[1:])

    with np.load(out / "predictions.npz") as p:
        assert p["epochs"].tolist() == [1, 2, 4]
        assert p["kinds"].tolist() == ["snapshot", "checkpoint", "final"]
        assert p["probs"].shape == (3, 1000, 10)
        assert np.allclose(p["probs"].sum(-1), 1.0, atol=1e-5)
        assert p["labels"].shape == (1000,) and str(p["status"]) == "completed"
        assert p["weight_distances"].shape == (3, 3) and np.allclose(np.diag(p["weight_distances"]), 0)
        # The member at the checkpoint epoch is the checkpoint: its distance to the final model
        # is the last logged distance to that checkpoint.
        assert p["weight_distances"][1, 2] == pytest.approx(d[2], rel=1e-4)
        # Validation accuracy of the final member is the one logged in metrics.csv.
        accuracy = (p["probs"][2].argmax(1) == p["labels"]).mean()
        assert accuracy == pytest.approx(float(metrics[-1]["val_acc"]))
        # The logged disagreement with the checkpoint is the members' own, from their predictions.
        changed = (p["probs"][1].argmax(1) != p["probs"][2].argmax(1)).mean()
        disagreement = [float(r["disagreement"]) for r in distances]
        assert disagreement[0] == 0.0 and disagreement[2] == pytest.approx(changed) and changed > 0

    # The members stored whole: float32 parameters and BatchNorm buffers, a network each.
    members = load_members(out / "members.npz")
    with np.load(out / "predictions.npz") as p:
        weights = members.weight_vectors().astype(np.float64)
        assert weights.dtype == np.float64 and members.weight_vectors().dtype == np.float32 and len(members) == 3
        assert members.epochs.tolist() == p["epochs"].tolist() and members.kinds.tolist() == p["kinds"].tolist()
        assert np.linalg.norm(weights[1] - weights[2]) == pytest.approx(p["weight_distances"][1, 2], rel=1e-6)
        final = yaml.safe_load((out / "config.yaml").read_text())
        data = load_dataset("mnist1d", final["data"]["root"])
        model = network(final, data)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in members.state(2).items()})
        assert any("running_var" in k for k in members.states) and model.training
        model.eval()
        with torch.no_grad():
            probs = torch.softmax(model(data.prepare(data.x_val)), 1).numpy()
        assert np.allclose(probs, p["probs"][2][:len(probs)], atol=1e-5)  # the stored member predicts as it did

    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["distancing"]["checkpoints"] == [2]
    assert config["run"]["package_version"] and config["run"]["git_commit"]
    assert config["run"]["threads"] == 1 and config["run"]["parameters"] > 0


def test_same_config_and_seed_give_byte_identical_tables(tmp_path, tiny_config):
    train(tiny_config, tmp_path / "a")
    train(tiny_config, tmp_path / "b")
    for name in ("metrics.csv", "distances.csv", "predictions.npz", "members.npz", "learning_rates.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    train(tiny_config, tmp_path / "c", "--set", "seed=1")
    assert (tmp_path / "a" / "metrics.csv").read_bytes() != (tmp_path / "c" / "metrics.csv").read_bytes()


def test_sigkill_at_any_moment_then_the_same_command_gives_identical_metrics(tmp_path, tiny_config):
    longer = ["--set", "train.epochs=14", "--set", "distancing.checkpoints=[3, 6, 9]",
              "--set", "data.train_samples=512"]
    train(tiny_config, tmp_path / "whole", *longer)

    out, state = tmp_path / "killed", tmp_path / "state" / "resume.pt"
    command = [sys.executable, "-m", "distancing.cli", "train", str(tiny_config), "--out", str(out),
               "--state", str(state), "--threads", "1", *longer]
    # A moment within the next epoch: an epoch's wall time as the whole run measured it (a
    # fixed window would outlast several epochs on a fast machine and let the run finish).
    timing = {r["phase"]: float(r["wall_seconds"]) for r in read_csv(tmp_path / "whole" / "timing.csv")}
    epoch_seconds = sum(timing[p] for p in ("train_steps", "evaluation", "writes")) / 14
    rng = random.Random(0)
    for _ in range(3):
        # Kill as soon as this process has saved an epoch, at a random moment of the next one
        # (mid-step, mid-evaluation or mid-write).
        saved = state.stat().st_mtime_ns if state.exists() else None
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while (not state.exists() or state.stat().st_mtime_ns == saved) and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, epoch_seconds))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stderr
    for name in ("metrics.csv", "distances.csv"):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    for name in ("predictions.npz", "members.npz"):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    assert not state.exists()  # the resume state is removed once the run has finished


def test_the_function_hill_resumes_exactly_after_its_checkpoint(tmp_path, tiny_config):
    """A function-hill run stopped after epoch 3 (its checkpoint stored after epoch 2, with its
    predictions) and started again gives the uninterrupted run's files byte for byte."""
    from distancing.training import train_run

    config = resolve(yaml.safe_load(tiny_config.read_text()),
                     {"distancing": {"space": "function", "function": {"sigma2": 0.05}}})
    quiet = {"device": "cpu", "threads": 1, "progress": False}
    history = train_run(config, tmp_path / "whole", log=lambda _: None, **quiet)
    assert all(row["hill"] > 0 for row in history.metrics[2:])  # the function hill acts after its checkpoint

    def stop_after_epoch_three(line: str) -> None:
        if line.startswith("epoch 3/"):  # logged before epoch 3's state is saved: resume after epoch 2
            raise KeyboardInterrupt

    state = tmp_path / "state.pt"
    with pytest.raises(KeyboardInterrupt):
        train_run(config, tmp_path / "stopped", state=state, log=stop_after_epoch_three, **quiet)
    lines = []
    train_run(config, tmp_path / "stopped", state=state, log=lines.append, **quiet)
    assert "resuming" in lines[0] and "after epoch 2" in lines[0]
    for name in ("metrics.csv", "distances.csv", "predictions.npz", "members.npz"):
        assert (tmp_path / "stopped" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def test_ensemble_validation_scores_members_on_more_samples_and_leaves_training_alone(tmp_path, tiny_config):
    """Members are scored on the validation split plus training samples 256..755 (never trained on);
    the training, its curves and its weights are byte-identical to a run without them."""
    train(tiny_config, tmp_path / "plain")
    train(tiny_config, tmp_path / "more", "--set", "data.ensemble_val_samples=1500")
    for name in ("metrics.csv", "distances.csv", "learning_rates.csv", "members.npz"):
        assert (tmp_path / "plain" / name).read_bytes() == (tmp_path / "more" / name).read_bytes(), name
    plain, more = (np.load(tmp_path / run / "predictions.npz") for run in ("plain", "more"))
    assert more["probs"].shape == (3, 1500, 10) and np.array_equal(more["probs"][:, :1000], plain["probs"])
    from distancing.data import load_dataset

    data = load_dataset("mnist1d", yaml.safe_load(tiny_config.read_text())["data"]["root"])
    assert np.array_equal(more["labels"], np.concatenate([data.y_val.numpy(), data.y_train[256:756].numpy()]))


def test_resume_state_of_another_config_is_refused(tmp_path, tiny_config):
    from distancing.outputs import RunOutputs
    from distancing.training import Trainer, pick_device

    config = resolve(yaml.safe_load(tiny_config.read_text()))
    outputs = RunOutputs(tmp_path / "run", tmp_path / "run" / "resume.pt")
    trainer = Trainer(config, outputs, pick_device("cpu"), log=lambda _: None)
    outputs.out.mkdir()
    torch.save(resume.state_dict(trainer), outputs.state)
    result = run_cli("train", str(tiny_config), "--out", str(outputs.out), "--set", "seed=5")
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: {outputs.state}: resume state of a different configuration")
    # The same config, saved by a trainer whose state has another layout (an older version).
    older = resume.state_dict(trainer)
    del older["format"]
    torch.save(older, outputs.state)
    result = run_cli("train", str(tiny_config), "--out", str(outputs.out))
    assert result.returncode == 2 and "or trainer version; delete it" in result.stderr
    result = run_cli("train", str(tiny_config), "--out", str(outputs.out), "--discard-stale-state")
    assert result.returncode == 0 and "discarded" in result.stderr and not outputs.state.exists()


def test_divergence_ends_cleanly_with_status_and_exit_zero(tmp_path, tiny_config):
    out = tmp_path / "run"
    train(tiny_config, out, "--set", "train.lr=1e6", "--set", "train.schedule=constant",
          "--set", "model.resnet.width=8")
    metrics = read_csv(out / "metrics.csv")
    assert metrics[-1]["status"] == "diverged"
    assert all(r["status"] == "ok" for r in metrics[:-1])
    assert len(metrics) < 4 and math.isnan(float(metrics[-1]["train_loss"]))
    with np.load(out / "predictions.npz") as p:
        assert str(p["status"]) == "diverged" and "final" not in p["kinds"].tolist()
    assert not (out / "resume.pt").exists()


def stepped_learning_rates(train: dict, steps_per_epoch: int = 10) -> list[float]:
    """The learning rate of every optimizer step of a whole run, from the scheduler the trainer builds."""
    optimizer = FlatSGD(torch.zeros(1), torch.zeros(1), train)
    scheduler = build_scheduler(optimizer, train, steps_per_epoch=steps_per_epoch)
    lrs = []
    for _ in range(train["epochs"] * steps_per_epoch):
        lrs.append(optimizer.lr)
        optimizer.step()
        scheduler.step()
    return lrs


@pytest.mark.parametrize("schedule", ["constant", "cosine", "cosine_restarts"])
def test_schedules_are_pytorchs_stepped_per_iteration(schedule):
    lrs = stepped_learning_rates(resolve({"train": {"epochs": 6, "schedule": schedule, "lr": 0.1, "min_lr": 0.001,
                                                    "restart_epochs": 2, "restart_mult": 2}})["train"])
    if schedule == "constant":
        assert lrs == [0.1] * 60
    elif schedule == "cosine":
        expected = [0.001 + 0.5 * 0.099 * (1 + math.cos(math.pi * t / 60)) for t in range(60)]
        assert lrs == pytest.approx(expected, rel=1e-9)
    else:  # SGDR: cycles of 20 and 40 iterations, restarting at the top
        def sgdr(t):
            cur, length = (t, 20) if t < 20 else (t - 20, 40)
            return 0.001 + 0.5 * 0.099 * (1 + math.cos(math.pi * cur / length))
        assert lrs == pytest.approx([sgdr(t) for t in range(60)], rel=1e-9)
        assert lrs[20] == pytest.approx(0.1)


def test_a_first_cycle_to_converge_then_sgdr_restarts():
    """first_cycle_epochs 3 of 7: one cosine cycle of 30 iterations, then cycles of 20 (T_mult 1)."""
    train = resolve({"train": {"epochs": 7, "schedule": "cosine_restarts", "lr": 0.1, "min_lr": 0.001,
                               "restart_epochs": 2, "restart_mult": 1, "first_cycle_epochs": 3}})["train"]
    lrs = stepped_learning_rates(train)

    def expected(t):
        cur, length = (t, 30) if t < 30 else ((t - 30) % 20, 20)
        return 0.001 + 0.5 * 0.099 * (1 + math.cos(math.pi * cur / length))
    assert lrs == pytest.approx([expected(t) for t in range(70)], rel=1e-9)
    from distancing.runs import cycle_ends

    assert cycle_ends(train) == [3, 5]  # epochs where the learning rate restarts next
    from distancing.config import ConfigError

    with pytest.raises(ConfigError, match=r"^train.first_cycle_epochs: must be < train.epochs \(7\), got 7$"):
        resolve({"train": {"epochs": 7, "schedule": "cosine_restarts", "first_cycle_epochs": 7}})


def test_the_fge_schedule_falls_linearly_to_its_minimum_mid_cycle_and_rises_back():
    """Cycles of 4 epochs (40 iterations): lr₁ = 0.05 at the start, lr₂ = 1e-4 at iteration 20."""
    train = resolve({"train": {"epochs": 8, "schedule": "fge", "lr": 0.05, "min_lr": 1e-4,
                               "restart_epochs": 4}})["train"]
    lrs = stepped_learning_rates(train)

    def expected(t):
        u = (t % 40) / 40
        return 0.05 + (1e-4 - 0.05) * (2 * u if u < 0.5 else 2 - 2 * u)
    assert lrs == pytest.approx([expected(t) for t in range(80)], rel=1e-9)
    assert lrs[20] == pytest.approx(1e-4) and lrs[40] == pytest.approx(0.05)
    from distancing.runs import lr_minima

    assert lr_minima(train) == [2, 6]  # the members: the next step runs at lr₂


def test_a_run_started_from_another_takes_its_weights_statistics_and_momentum(tmp_path, tiny_config):
    """init: the child loads the parent's state saved after epoch 2, then trains with its own
    schedule; it is deterministic, and a parent that saved no state there stops it in one line."""
    from distancing.outputs import RunOutputs
    from distancing.training import Trainer

    train(tiny_config, tmp_path / "parent", "--set", "saved_states=[2]", "--set", "snapshots=[2]")
    states = torch.load(tmp_path / "parent" / "states.pt", weights_only=False)
    assert list(states) == [2] and states[2]["momentum"] is not None
    assert any("running_mean" in key for key in states[2]["model"])  # BatchNorm statistics travel too
    parent = load_members(tmp_path / "parent" / "members.npz")
    child = ["--set", f"init={{from: {tmp_path / 'parent'}, epoch: 2}}", "--set", "train.schedule=fge",
             "--set", "train.restart_epochs=2", "--set", "train.min_lr=1e-4", "--set", "distancing.strength=0",
             "--set", "distancing.checkpoints=[]", "--set", "snapshots=[1, 3]"]
    config = resolve(yaml.safe_load(tiny_config.read_text()), *(parse_override(c) for c in child[1::2]))
    trainer = Trainer(config, RunOutputs(tmp_path / "x", tmp_path / "x.pt"), torch.device("cpu"), log=lambda _: None)
    resume.start_from_parent(trainer)
    assert all(np.array_equal(value, trainer.model.state_dict()[key].numpy())
               for key, value in parent.state(parent.index(2)).items())  # the weights and BatchNorm statistics
    assert torch.equal(trainer.optimizer.buffer, states[2]["momentum"])
    train(tiny_config, tmp_path / "a", *child)
    train(tiny_config, tmp_path / "b", *child)
    for name in ("metrics.csv", "distances.csv", "predictions.npz", "members.npz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert np.load(tmp_path / "a" / "predictions.npz")["epochs"].tolist() == [1, 3, 4]  # the fge minima, final
    child[1] = f"init={{from: {tmp_path / 'parent'}, epoch: 3}}"
    result = run_cli("train", str(tiny_config), "--out", str(tmp_path / "c"), *child)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"error: init.epoch: {tmp_path / 'parent' / 'states.pt'} saved no state "
                                    "after epoch 3 (saved: 2;")
    assert not (tmp_path / "c").exists()


def test_a_run_started_from_another_resumes_from_its_own_state_after_sigkill(tmp_path, tiny_config):
    """Killed after an epoch, the child continues from its own resume state (not the parent's
    again) and ends byte-identical to an uninterrupted child."""
    train(tiny_config, tmp_path / "parent", "--set", "saved_states=[2]")
    child = [str(tiny_config), "--threads", "1", "--set", f"init={{from: {tmp_path / 'parent'}, epoch: 2}}",
             "--set", "train.epochs=10", "--set", "data.train_samples=512"]
    assert run_cli("train", *child, "--out", str(tmp_path / "whole")).returncode == 0
    out, state = tmp_path / "killed", tmp_path / "state.pt"
    command = [sys.executable, "-m", "distancing.cli", "train", *child, "--out", str(out), "--state", str(state)]
    result = kill_once_saved_then_rerun(command, state)
    assert result.returncode == 0 and "resuming" in result.stderr, result.stderr
    for name in ("metrics.csv", "distances.csv", "predictions.npz", "members.npz", "learning_rates.csv"):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


class ProbeMethod:
    """A toy training method: a term on the loss from the batch's logits; it records what it sees."""

    def __init__(self, config, num_params, device):
        self.checkpoint_epochs, self.seen, self.stored = [], [], []

    def loss_term(self, logits, index):
        self.seen.append(index.clone())
        return 0.01 * logits.pow(2).mean()

    def add_gradient(self, theta, grad):
        return theta.new_zeros(())

    def add_checkpoint(self, theta, epoch, log_probs):
        self.checkpoint_epochs.append(epoch)
        self.stored.append(log_probs.detach().clone())

    def state_dict(self):
        return {"checkpoint_epochs": self.checkpoint_epochs, "stored": self.stored}

    def load_state_dict(self, state):
        self.checkpoint_epochs, self.stored = list(state["checkpoint_epochs"]), list(state["stored"])


def test_the_trainer_knows_only_the_method_protocol(tmp_path, tiny_config, monkeypatch):
    """A method registered under a new distancing.space is what the Trainer calls: it sees every
    training sample once per epoch with the batch's logits, its term is logged as the hill and
    differentiated by autograd, and it is given each checkpoint with the network's predictions on
    the training inputs; the run logs the distances to it, whatever the method."""
    from distancing import config as config_module
    from distancing.outputs import RunOutputs
    from distancing.training import Trainer

    monkeypatch.setitem(config_module.HILL_SPACES, "probe", config_module.HillSpace(
        "probe", build="tests.test_training:ProbeMethod", defaults={}, check=lambda settings, key: None))
    config = resolve(yaml.safe_load(tiny_config.read_text()), {"distancing": {"space": "probe"}})
    trainer = Trainer(config, RunOutputs(tmp_path / "run", tmp_path / "run.pt"), torch.device("cpu"),
                      log=lambda _: None)
    (tmp_path / "run").mkdir()
    history = trainer.run()
    n, epochs = len(trainer.data.y_train), config["train"]["epochs"]
    seen = trainer.method.seen
    assert len(seen) == epochs * trainer.steps_per_epoch
    for epoch in range(epochs):  # every sample once per epoch
        batches = seen[epoch * trainer.steps_per_epoch:(epoch + 1) * trainer.steps_per_epoch]
        assert sorted(torch.cat(batches).tolist()) == list(range(n))
    assert all(row["hill"] > 0 for row in history.metrics)  # the term's value, every epoch
    assert trainer.method.checkpoint_epochs == [2] and trainer.method.stored[0].shape == (n, 10)
    rows = read_csv(tmp_path / "run" / "distances.csv")
    assert [int(r["epoch"]) for r in rows] == [2, 3, 4] and float(rows[0]["distance"]) == 0.0
    for space in config_module.HILL_SPACES.values():  # every entry names a function that builds a method
        module, function = space.build.split(":")
        assert callable(getattr(importlib.import_module(module), function)), space.name


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_flat_sgd_gives_torch_sgds_parameters_bit_for_bit(optimizer):
    train = resolve({"train": {"optimizer": optimizer, "momentum": 0.9, "weight_decay": 5e-4, "lr": 0.1,
                               "schedule": "cosine", "epochs": 2}})["train"]
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))
    twin = copy.deepcopy(model)
    flat = FlatParameters(model)
    ours = FlatSGD(flat.data, flat.grad, train)
    theirs = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9 if optimizer == "momentum" else 0.0,
                             weight_decay=5e-4)
    schedules = [build_scheduler(ours, train, 4), build_scheduler(theirs, train, 4)]
    for _ in range(8):
        x, y = torch.randn(16, 5), torch.randint(0, 3, (16,))
        ours.zero_grad()
        theirs.zero_grad()
        F.cross_entropy(model(x), y).backward()
        F.cross_entropy(twin(x), y).backward()
        ours.step()
        theirs.step()
        for schedule in schedules:
            schedule.step()
        for a, b in zip(model.parameters(), twin.parameters(), strict=True):
            assert torch.equal(a, b)
    assert ours.lr == theirs.param_groups[0]["lr"] < 0.1


def test_sgd_without_momentum_is_algorithm_one():
    train = resolve({"train": {"optimizer": "sgd", "momentum": 0.9, "weight_decay": 0.0,
                               "schedule": "constant"}})["train"]
    p, g = torch.tensor([1.0]), torch.tensor([0.0])
    optimizer = FlatSGD(p, g, train)
    for _ in range(2):
        g.fill_(2.0)
        optimizer.step()
    assert p.item() == pytest.approx(1.0 - 2 * 0.05 * 2.0)  # no velocity carried over


def test_weight_decay_is_the_optimisers_l2_term():
    train = resolve({"train": {"optimizer": "sgd", "weight_decay": 0.1, "lr": 0.5, "schedule": "constant"}})["train"]
    p, g = torch.tensor([2.0]), torch.tensor([0.0])
    FlatSGD(p, g, train).step()
    assert p.item() == pytest.approx(2.0 - 0.5 * 0.1 * 2.0)


def test_help_and_progress_lines(tmp_path, tiny_config):
    help_text = run_cli("train", "--help").stdout
    for option in ("--out", "--set", "--device", "--threads", "--state"):
        assert option in help_text
    result = train(tiny_config, tmp_path / "run")
    lines = [line for line in result.stderr.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 4 and "val_acc" in lines[0]  # plain log lines when not on a terminal


def test_the_default_model_trains_from_a_near_empty_config(tmp_path, data_root):
    """The 1-D MobileNetV2 default, for 2 epochs on all 4000 samples, learns something (eagerly: a
    cold compile of it costs a minute and a half, and conftest.compiled_tiny_run covers that path)."""
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump({"data": {"root": str(data_root)}, "train": {"epochs": 2, "compile": False}}))
    train(config, tmp_path / "run")
    metrics = read_csv(tmp_path / "run" / "metrics.csv")
    assert len(metrics) == 2 and float(metrics[-1]["val_acc"]) > 0.3  # chance is 0.1


def test_channels_last_bf16_and_compile_options_train(tmp_path, tiny_config, monkeypatch):
    """The GPU-path options on the CPU: same loop, NHWC weights viewed from the flat buffer."""
    from distancing.hill import FlatParameters
    from distancing.models import build_model

    model = build_model("resnet", 2, 3, 10, width=4, blocks=[1]).to(memory_format=torch.channels_last)
    flat = FlatParameters(model, channels_last=True)
    conv = model.stem[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and conv.data_ptr() >= flat.data.data_ptr()
    out = model(torch.randn(2, 3, 8, 8).contiguous(memory_format=torch.channels_last)).sum()
    out.backward()
    n = conv.numel()  # the stem's weight is the first parameter: stored NHWC at the buffer's start
    assert flat.grad.abs().sum() > 0
    assert torch.equal(flat.grad[:n], conv.grad.permute(0, 2, 3, 1).reshape(-1))
    assert torch.equal(flat.data[:n], conv.detach().permute(0, 2, 3, 1).reshape(-1))
    train(tiny_config, tmp_path / "bf16", "--set", "train.precision=bf16", "--set", "train.epochs=2",
          "--set", "distancing.checkpoints=[1]")
    rows = read_csv(tmp_path / "bf16" / "metrics.csv")
    assert len(rows) == 2 and all(math.isfinite(float(r["train_loss"])) for r in rows)


def test_compiled_model_trains_like_the_eager_one(tmp_path, tiny_config):
    short = ["--set", "train.epochs=2", "--set", "distancing.checkpoints=[1]"]
    train(tiny_config, tmp_path / "eager", *short)
    train(tiny_config, tmp_path / "compiled", *short, "--set", "train.compile=true")
    eager, compiled = read_csv(tmp_path / "eager" / "metrics.csv"), read_csv(tmp_path / "compiled" / "metrics.csv")
    for a, b in zip(eager, compiled, strict=True):
        assert float(b["train_loss"]) == pytest.approx(float(a["train_loss"]), rel=1e-3)
        assert float(b["hill"]) == pytest.approx(float(a["hill"]), rel=1e-3)


@pytest.mark.parametrize("model", ["resnet18", "mobilenetv2"])
def test_2d_models_train_on_a_fabricated_cifar_archive(tmp_path, served_archive, model):
    """The CIFAR path end to end on the CPU: download (file://), MD5, parse, uint8 on the
    device, crop and flip, channels_last, a checkpoint and its hill (eager, as on a GPU:
    compiled.wanted)."""
    from distancing.training import train_run

    served_archive("cifar10")
    config = resolve({"data": {"dataset": "cifar10", "root": str(tmp_path / "data")},
                      "model": {"name": model, "mobilenetv2": {"width": 0.25, "max_blocks": 1}},
                      "train": {"epochs": 2, "batch_size": 8, "channels_last": True, "compile": False},
                      "distancing": {"strength": 1.0, "checkpoints": [1]}})
    history = train_run(config, tmp_path / "run", device="cpu", threads=2, log=lambda _: None, progress=False)
    assert history.status == "completed" and [r["checkpoints"] for r in history.metrics] == [1, 1]
    assert history.metrics[1]["hill"] > 0
    with np.load(tmp_path / "run" / "predictions.npz") as p:
        assert p["probs"].shape == (2, 5, 10)  # checkpoint and final, 5 validation images
    # The paper profile's basins on the stored members (channels_last weights, uint8 images): a
    # line from a member to itself is flat, one between two members is measured at every point.
    from distancing.basins import barrier, line, network
    from distancing.data import load_dataset

    members, data = load_members(tmp_path / "run" / "members.npz"), load_dataset("cifar10", tmp_path / "data")
    first, final = members.state(0), members.state(1)
    flat = line(network(config, data), final, final, members.parameters, data, points=3, samples=16, batch_size=8)
    assert len({(r["train_loss"], r["val_error"]) for r in flat}) == 1
    path = line(network(config, data), first, final, members.parameters, data, points=3, samples=16, batch_size=8)
    assert all(np.isfinite(r["train_loss"]) for r in path)
    assert barrier([r["t"] for r in path], [r["train_loss"] for r in path]) >= 0


def test_the_function_hill_on_cifar_compares_augmented_batches_with_their_unaugmented_twins(tmp_path,
                                                                                          served_archive):
    """The paper profile's side of the function hill, on a fabricated archive: at a checkpoint the
    network's predictions on the un-augmented training images are stored (evaluation mode); the
    batches after it, augmented, are compared with them by sample index."""
    from distancing.outputs import RunOutputs
    from distancing.training import Trainer

    served_archive("cifar10")
    config = resolve({"data": {"dataset": "cifar10", "root": str(tmp_path / "data")},
                      "model": {"name": "mobilenetv2", "mobilenetv2": {"width": 0.25, "max_blocks": 1}},
                      "train": {"epochs": 2, "batch_size": 8, "channels_last": True, "compile": False},
                      "distancing": {"space": "function", "strength": 1.0, "checkpoints": [1],
                                     "function": {"sigma2": 0.05}}})
    (tmp_path / "run").mkdir()
    trainer = Trainer(config, RunOutputs(tmp_path / "run", tmp_path / "run.pt"), torch.device("cpu"),
                      log=lambda _: None)
    assert trainer.augment
    trainer.epoch = 1
    trainer.finish_epoch(trainer.train_epoch())
    data = trainer.data
    trainer.model.eval()
    with torch.no_grad():
        twins = torch.log_softmax(trainer.model(trainer.layout(data.prepare(data.x_train))), 1)
        views = torch.log_softmax(trainer.model(trainer.layout(data.prepare(augment(data.x_train, trainer.generator)))),
                                  1)
    stored = trainer.method.log_probs[0]
    assert stored.shape == (30, 10) and torch.allclose(stored, twins, atol=1e-6)
    # Augmented views would give other predictions (a little: the network is untrained).
    assert (stored - views).abs().max() > 10 * (stored - twins).abs().max()
    trainer.epoch = 2
    stats = trainer.train_epoch()
    assert stats["hill"] > 0  # the hill acts on the epoch after the checkpoint
    trainer.finish_epoch(stats)
    first, second = trainer.history.distances
    assert (first["epoch"], first["function_distance"], first["disagreement"]) == (1, 0.0, 0.0)
    assert second["epoch"] == 2 and second["function_distance"] > 0


def test_a_bad_config_is_reported_before_torch_is_imported(tmp_path):
    """Bad input costs no start-up: the one-line error comes before the training stack loads."""
    script = ("import sys; from distancing.cli import main; "
              f"code = main(['train', '--out', {str(tmp_path / 'run')!r}, '--set', 'train.lr=-1']); "
              "print('torch' in sys.modules); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("error: train.lr:") and len(result.stderr.splitlines()) == 1
    assert result.stdout.strip() == "False"
    assert not (tmp_path / "run").exists()


def test_a_run_never_imports_torch_dynamo(tmp_path, tiny_config):
    """Importing torch._dynamo (what torch.optim's first use does) costs about a CPU-second per run."""
    script = ("import sys; from distancing.cli import main; "
              f"code = main(['train', {str(tiny_config)!r}, '--out', {str(tmp_path / 'run')!r}, '--quiet']); "
              "print('torch._dynamo' in sys.modules); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"



def test_without_the_function_distance_its_column_is_empty_and_nothing_else_changes(tmp_path, tiny_config):
    """function_distance: false (nothing reads it) skips the evaluation on the training inputs after
    the checkpoint's epoch; every other file and column is the same bytes."""
    train(tiny_config, tmp_path / "logged")
    train(tiny_config, tmp_path / "lean", "--set", "function_distance=false")
    logged, lean = read_csv(tmp_path / "logged" / "distances.csv"), read_csv(tmp_path / "lean" / "distances.csv")
    assert len(logged) == len(lean) > 0
    for a, b in zip(logged, lean, strict=True):
        assert b["function_distance"] == "nan" and float(a["function_distance"]) >= 0
        assert {k: v for k, v in a.items() if k != "function_distance"} == {
            k: v for k, v in b.items() if k != "function_distance"}
    for name in ("predictions.npz", "members.npz", "metrics.csv", "learning_rates.csv"):
        assert (tmp_path / "logged" / name).read_bytes() == (tmp_path / "lean" / name).read_bytes(), name
    count = {run: {r["phase"]: int(r["count"]) for r in read_csv(tmp_path / run / "timing.csv")}
             for run in ("logged", "lean")}
    after_checkpoint = len({r["epoch"] for r in logged}) - 1  # the epochs after the checkpoint's own
    assert count["logged"]["evaluation"] - count["lean"]["evaluation"] == after_checkpoint


def test_without_curves_only_the_epochs_that_keep_a_member_are_evaluated(tmp_path, tiny_config):
    """curves: false (a run whose curves nothing reads) evaluates after the snapshot, the checkpoint
    and the last epoch only; training, members and their predictions are the same bytes."""
    train(tiny_config, tmp_path / "curves")
    train(tiny_config, tmp_path / "members", "--set", "curves=false")
    full, lean = read_csv(tmp_path / "curves" / "metrics.csv"), read_csv(tmp_path / "members" / "metrics.csv")
    for a, b in zip(full, lean, strict=True):
        assert [a[c] for c in ("train_loss", "train_acc", "hill", "status")] == [
            b[c] for c in ("train_loss", "train_acc", "hill", "status")]
        kept = int(a["epoch"]) in (1, 2, 4)  # the snapshot, the checkpoint, the last epoch
        assert (b["val_acc"], b["val_loss"]) == ((a["val_acc"], a["val_loss"]) if kept else ("nan", "nan"))
    for name in ("predictions.npz", "members.npz", "learning_rates.csv"):
        assert (tmp_path / "curves" / name).read_bytes() == (tmp_path / "members" / name).read_bytes(), name
    assert [r["epoch"] for r in read_csv(tmp_path / "members" / "distances.csv")] == ["2", "4"]
    timing = {r["phase"]: int(r["count"]) for r in read_csv(tmp_path / "members" / "timing.csv")}
    assert timing["evaluation"] == 3 + 2  # three evaluations, and on the training inputs at the checkpoint and the last
