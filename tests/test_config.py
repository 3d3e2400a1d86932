"""Bad configuration is refused before any data is loaded, with one line naming the key."""

from pathlib import Path

import pytest
import yaml

from distancing.cli import main
from distancing.config import parse_override

from .conftest import run_cli

BAD = [
    # (override or config layer, key named in the error, words of what is allowed)
    ("trian.epochs=3", "trian", "unknown key; allowed here: seed, data, model, train"),
    ("train.lrr=0.1", "train.lrr", "unknown key"),
    ("train.epochs=ten", "train.epochs", "expected an integer"),
    ("train.epochs=0", "train.epochs", "must be >= 1"),
    ("train.epochs=2.5", "train.epochs", "expected an integer"),
    ("train.batch_size=0", "train.batch_size", "must be >= 1"),
    ("train.batch_size=-4", "train.batch_size", "must be >= 1"),
    ("train.lr=0", "train.lr", "must be > 0"),
    ("train.lr=fast", "train.lr", "expected a number"),
    ("train.momentum=1.5", "train.momentum", "must be in [0, 1)"),
    ("train.weight_decay=-1e-4", "train.weight_decay", "must be >= 0"),
    ("train.optimizer=adam", "train.optimizer", "allowed: sgd, momentum"),
    ("train.schedule=step", "train.schedule", "allowed: constant, cosine, cosine_restarts"),
    ("train.restart_epochs=0", "train.restart_epochs", "must be >= 1"),
    ("data.ensemble_val_samples=0", "data.ensemble_val_samples", "must be >= 1"),
    ("train.first_cycle_epochs=4", "train.first_cycle_epochs", "only meaningful with schedule cosine_restarts"),
    ("distancing.strength=-1", "distancing.strength", "must be >= 0"),
    ("distancing.sigma2=0", "distancing.sigma2", "must be > 0"),
    ("distancing.sigma2=-1e-3", "distancing.sigma2", "must be > 0"),
    ("distancing.normalize=maybe", "distancing.normalize", "expected true or false"),
    ("distancing.checkpoints=[4]", "distancing.checkpoints", "outside 1..3 (train.epochs is 4)"),
    ("distancing.checkpoints=[0]", "distancing.checkpoints", "outside 1..3"),
    ("distancing.checkpoints=3", "distancing.checkpoints", "expected a list of epochs"),
    ("distancing.checkpoints=[2,2]", "distancing.checkpoints", "must not repeat"),
    ("distancing.space=logits", "distancing.space", "allowed: weights, function"),
    ("distancing.function.sigma2=0", "distancing.function.sigma2", "must be > 0"),
    ("distancing.function.sigma2=-1", "distancing.function.sigma2", "must be > 0"),
    ("distancing.function.distance=kl", "distancing.function.distance", "allowed: jensen_shannon, symmetric_kl"),
    ("train.schedule=fge", "train.restart_epochs", "the fge schedule's cycle must have an even length"),
    ("init.epoch=3", "init", "give both init.from (a run directory) and init.epoch, or neither"),
    ("init={from: runs/a, epoch: 0}", "init.epoch", "must be >= 1"),
    ("saved_states=[5]", "saved_states", "outside 1..4"),
    ("model.name=vgg", "model.name", "allowed: mobilenetv2, resnet, resnet18"),
    ("model.resnet.blocks=[]", "model.resnet.blocks", "non-empty list of positive integers"),
    ("model.resnet.width=0", "model.resnet.width", "must be >= 1"),
    ("model.mobilenetv2.width=-0.5", "model.mobilenetv2.width", "must be > 0"),
    ("data.dataset=imagenet", "data.dataset", "allowed: mnist1d, cifar10, cifar100"),
    ("data.train_samples=0", "data.train_samples", "must be >= 1"),
    ("data.augment=sometimes", "data.augment", "expected true or false"),
    ("snapshots=[9]", "snapshots", "outside 1..4"),
    ("seed=-1", "seed", "must be >= 0"),
    ("numerics=fast", "numerics", "allowed: portable, native"),
    ("train=5", "train", "expected a mapping"),
]


@pytest.mark.parametrize("override,key,allowed", BAD, ids=[b[0] for b in BAD])
def test_bad_config_is_refused_before_data_is_loaded(tmp_path, capsys, override, key, allowed):
    root = tmp_path / "never-created"
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"data": {"root": str(root)}, "train": {"epochs": 4}}))
    code = main(["train", str(config), "--out", str(tmp_path / "run"), "--set", override])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {key}") and allowed in err
    assert not root.exists() and not (tmp_path / "run").exists()


def test_bad_key_in_a_config_file_is_named_by_the_command(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("train:\n  epochs: 3\n  sheduler: cosine\n")
    result = run_cli("train", str(config), "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: train.sheduler: unknown key; allowed here: epochs, batch_size, "
                                     "eval_batch_size, optimizer, lr, momentum, weight_decay, schedule, "
                                     "first_cycle_epochs, restart_epochs, restart_mult, min_lr, precision, "
                                     "channels_last, compile")


def test_missing_and_malformed_files_are_named(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "r")]) == 2
    assert "nope.yaml: config file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n")
    assert main(["config", str(bad)]) == 2
    assert "bad.yaml: not valid YAML" in capsys.readouterr().err


def test_overrides_and_files_layer_over_the_defaults(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("train: {epochs: 10}\ndistancing: {sigma2: 1e-3, strength: 2}\n")
    assert main(["config", str(config), "--set", "distancing.checkpoints=[6, 3]", "--set", "model.name=resnet"]) == 0
    resolved = yaml.safe_load(capsys.readouterr().out)
    assert resolved["train"]["epochs"] == 10
    assert resolved["train"]["batch_size"] == 128  # a default
    assert resolved["distancing"]["sigma2"] == 1e-3 and isinstance(resolved["distancing"]["sigma2"], float)
    assert resolved["distancing"]["strength"] == 2.0
    assert resolved["model"]["name"] == "resnet"
    assert resolved["distancing"]["checkpoints"] == [3, 6]  # sorted


def test_parse_override_reads_yaml_values():
    assert parse_override("a.b=[1, 2]") == {"a": {"b": [1, 2]}}
    assert parse_override("x=true") == {"x": True}
    assert parse_override("x=null") == {"x": None}


def test_no_cuda_is_a_one_line_error(tmp_path, tiny_config, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert main(["train", str(tiny_config), "--out", str(tmp_path / "r"), "--device", "cuda"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: --device cuda: no CUDA device")
    assert not Path(tmp_path / "r").exists()
