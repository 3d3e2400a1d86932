"""Run configuration: defaults, merging, ``--set`` overrides and validation.

A run is described by a nested mapping (YAML on disk). Every key has a default here, so a
config file only states what differs. Validation happens before any data is loaded and
fails with one line that names the key and what is allowed.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DATASETS = ("mnist1d", "cifar10", "cifar100")
MODEL_NAMES = ("mobilenetv2", "resnet", "resnet18")  # the registry of models.py (a test keeps them equal)
OPTIMIZERS = ("sgd", "momentum")
SCHEDULES = ("constant", "cosine", "cosine_restarts", "fge")
FUNCTION_DISTANCES = ("jensen_shannon", "symmetric_kl", "squared_probabilities", "squared_log_probabilities")
# ... the registry of function_hill.py (a test keeps them equal)
PRECISIONS = ("fp32", "bf16")
NUMERICS = ("portable", "native")  # the kernels a run uses (numerics.py)

DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "data": {
        "dataset": "mnist1d",
        "root": "data",            # where generated or downloaded data is cached
        "train_samples": None,     # use only the first N training samples (None: all)
        "augment": None,           # None: the dataset's default (crop+flip for images, none for 1-D)
        "ensemble_val_samples": None,  # score ensemble members (predictions.npz) on this many held-out
                                   # samples: the validation split, then the training samples after
                                   # train_samples (never trained on); null: the validation split
    },
    "model": {
        "name": "mobilenetv2",     # mobilenetv2, resnet or resnet18; options below, per model
        "mobilenetv2": {
            "width": 0.25,         # channel multiplier (1.0: the CIFAR network)
            "max_blocks": 1,       # at most this many blocks per stage (null: all, as the paper's)
            "stages": None,        # keep the first N of the 7 stages (null: all, as the paper's)
        },
        "resnet": {
            "width": 16,           # channels of the first stage, doubled at every stage
            "blocks": [1, 1, 1],   # blocks per stage ([2, 2, 2, 2] with width 64 is ResNet-18)
        },
    },
    "train": {
        "epochs": 15,
        "batch_size": 128,
        "eval_batch_size": 500,    # a CPU evaluates 1000 1-D samples at once at half the speed (cache)
        "optimizer": "momentum",   # sgd (Algorithm 1) or momentum (Algorithm 2)
        "lr": 0.05,
        "momentum": 0.9,
        "weight_decay": 5e-4,      # the "L2 regularisation" of Figure 3.5
        "schedule": "cosine",      # constant, cosine, cosine_restarts (SGDR) or fge (Garipov et al.
                                   # 2018: linear from lr down to min_lr and back, one cycle every
                                   # restart_epochs), stepped per iteration
        "first_cycle_epochs": None,  # cosine_restarts: a first cosine cycle of this length to converge
                                   # before the restarts (null: restart_epochs, plain SGDR)
        "restart_epochs": 5,       # cosine_restarts and fge: length of each cycle in epochs (T_0)
        "restart_mult": 1,         # cosine_restarts: cycle length multiplier (T_mult)
        "min_lr": 0.0,
        "precision": "fp32",       # fp32, or bf16 autocast for the forward pass and loss (GPU)
        "channels_last": False,    # 2-D models: NHWC memory layout (faster convolutions on GPUs)
        "compile": "auto",         # compile the network's step (compiled.py): true, false, or auto (on the
                                   # CPU under portable numerics, where it pays and keeps the same bytes)
    },
    "distancing": {},              # the hill: composed from HILL_SPACES below (_distancing_defaults)
    "curves": True,                # evaluate after every epoch (the validation columns of metrics.csv and the
                                   # distances to the checkpoints); false: only after the epochs that keep a
                                   # member (elsewhere empty), for runs whose curves nothing reads
    "function_distance": True,     # log the function distance to each checkpoint on the training inputs after
                                   # every evaluated epoch (distances.csv); false: that column is empty
    "snapshots": [],               # extra epochs whose validation predictions are stored
    "init": {                      # start from another run's saved training state (FGE, SWA):
        "from": None,              # its run directory (it lists the epoch in saved_states) ...
        "epoch": None,             # ... and the epoch; this run's epochs then count after it
    },
    "saved_states": [],            # epochs whose full training state (weights, BatchNorm statistics,
                                   # momentum) is saved to states.pt for runs that start from it
    "branch_states": [],           # epochs after which the complete resume state is kept in branches.pt, for
                                   # runs that train the same first epochs and continue from it (branching.py)
    "numerics": "portable",        # portable: CPU kernels capped at AVX2, the same bytes on every x86-64
                                   # CPU (numerics.py); native: the fastest this CPU has, machine-dependent
}

class ConfigError(ValueError):
    """A configuration problem; its message is one line naming the key."""


def check_inside_training(key: str, epochs: list[int], last: int) -> None:
    """Every epoch of ``epochs`` (checkpoints: a hill stored at the end acts on nothing) lies inside
    training, before its ``last`` epoch; one line naming ``key`` otherwise."""
    outside = [epoch for epoch in epochs if not 1 <= epoch < last]
    if outside:
        raise ConfigError(f"{key}: epoch {outside[0]} is outside training (epochs 1 to {last - 1}; "
                          f"base.train.epochs is {last})")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_number(key: str, value: Any) -> float:
    # YAML 1.1 reads "1e-3" as a string; accept any string that is a plain number.
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{key}: expected a finite number, got {value!r}")
    return float(value)


def _as_int(key: str, value: Any, minimum: int | None = None) -> int:
    if not _is_int(value):
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{key}: must be >= {minimum}, got {value}")
    return value


def _as_choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{key}: unknown value {value!r}; allowed: {', '.join(choices)}")
    return value


def _as_bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def _as_epochs(key: str, value: Any, epochs: int, lowest: int, highest: int) -> list[int]:
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list of epochs, got {value!r}")
    result = []
    for item in value:
        if not _is_int(item) or not lowest <= item <= highest:
            raise ConfigError(
                f"{key}: epoch {item!r} is outside {lowest}..{highest} (train.epochs is {epochs})")
        result.append(item)
    if len(set(result)) != len(result):
        raise ConfigError(f"{key}: epochs must not repeat, got {value!r}")
    return sorted(result)


# ---------------------------------------------------------------- hill spaces

@dataclass(frozen=True)
class HillSpace:
    """Where a hill acts (``distancing.space``), as a run config sees it: the training method
    owns its settings under ``distancing`` (at the top of the block for the paper's weight hill,
    ``block`` for the others), their defaults and their check, and says where its width lives
    (what a sweep of σ² sets, ``RunBuilder``). ``build`` is ``"module:function"``, the function
    that makes the method from a run config (``methods.build_method`` imports it, with torch,
    only when a run trains). A third hill is its own module and one ``register_space`` entry."""

    name: str
    build: str
    defaults: dict[str, Any]
    check: Callable[[dict[str, Any], str], None]  # (its settings, their key) -> normalised in place, or one line
    block: str | None = None
    width: str = "sigma2"

    def settings(self, distancing: Mapping[str, Any]) -> Any:
        """Its settings within a ``distancing`` block."""
        return distancing if self.block is None else distancing[self.block]


HILL_SPACES: dict[str, HillSpace] = {}


def register_space(space: HillSpace) -> HillSpace:
    if space.name in HILL_SPACES:
        raise ValueError(f"hill space {space.name!r} is registered twice")
    HILL_SPACES[space.name] = space
    DEFAULTS["distancing"] = _distancing_defaults()
    return space


def _distancing_defaults() -> dict[str, Any]:
    """The ``distancing`` block: where the hill acts (a key of ``HILL_SPACES``), its strength s in
    any space, every space's settings (the weight hill's at the top, the others' each in its block),
    and the epochs after which a checkpoint is stored."""
    block: dict[str, Any] = {"space": "weights", "strength": 0.0}
    for space in HILL_SPACES.values():
        block.update(space.defaults if space.block is None else {space.block: space.defaults})
    return block | {"checkpoints": []}


def hill_width(distancing: Mapping[str, Any], space: str) -> float:
    """The width of the hill in ``space`` in a ``distancing`` block."""
    entry = HILL_SPACES[space]
    return entry.settings(distancing)[entry.width]


def set_hill_width(distancing: dict[str, Any], space: str, width: float) -> None:
    """Set the width of the hill in ``space`` in a ``distancing`` block."""
    entry = HILL_SPACES[space]
    entry.settings(distancing)[entry.width] = width


def _positive(key: str, value: Any) -> float:
    number = _as_number(key, value)
    if number <= 0:
        raise ConfigError(f"{key}: must be > 0, got {number}")
    return number


def check_weight_hill(settings: dict[str, Any], key: str) -> None:
    settings["sigma2"] = _positive(f"{key}sigma2", settings["sigma2"])
    settings["normalize"] = _as_bool(f"{key}normalize", settings["normalize"])


def check_function_hill(settings: dict[str, Any], key: str) -> None:
    settings["sigma2"] = _positive(f"{key}sigma2", settings["sigma2"])
    settings["distance"] = _as_choice(f"{key}distance", settings["distance"], FUNCTION_DISTANCES)


register_space(HillSpace(
    "weights", build="distancing.hill:build", check=check_weight_hill,
    defaults={"sigma2": 1e-3,      # σ² of the weight hill (hill.py), per parameter when normalize is true
              "normalize": True}))
register_space(HillSpace(
    "function", build="distancing.function_hill:build", check=check_function_hill, block="function",
    defaults={"sigma2": 0.01,      # σ_f² of the function hill (function_hill.py), in the units of the distance
              "distance": "jensen_shannon"}))  # D between predictive distributions (also what every run logs
                                   # as function_distance); jensen_shannon, symmetric_kl, squared_probabilities
                                   # or squared_log_probabilities


def merge(base: Mapping[str, Any], override: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base``; a key ``base`` lacks is an error."""
    result = copy.deepcopy(dict(base))
    for key, value in override.items():
        path = f"{prefix}{key}"
        if key not in base:
            raise ConfigError(f"{path}: unknown key; allowed here: {', '.join(base)}")
        if isinstance(base[key], dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{path}: expected a mapping of {', '.join(base[key])}, got {value!r}")
            result[key] = merge(base[key], value, prefix=f"{path}.")
        else:
            result[key] = copy.deepcopy(value)
    return result


def parse_override(text: str) -> dict[str, Any]:
    """Turn ``a.b.c=value`` (value in YAML) into ``{"a": {"b": {"c": value}}}``."""
    if "=" not in text:
        raise ConfigError(f"--set {text}: expected key.path=value")
    path, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {path}: cannot read value {raw!r} ({exc.problem})") from None
    result: dict[str, Any] = value
    for part in reversed(path.strip().split(".")):
        if not part:
            raise ConfigError(f"--set {text}: empty key in {path!r}")
        result = {part: result}
    return result


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc.problem})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of {', '.join(DEFAULTS)} at the top level")
    return data


def resolve(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Merge layers over the defaults, fill model defaults and validate; returns a plain dict."""
    config = copy.deepcopy(DEFAULTS)
    for layer in layers:
        config = merge(config, layer)
    return validate(config)


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Check every key and normalise types (numbers from strings, sorted epoch lists)."""
    c = copy.deepcopy(config)
    c["seed"] = _as_int("seed", c["seed"], minimum=0)
    c["numerics"] = _as_choice("numerics", c["numerics"], NUMERICS)

    data = c["data"]
    data["dataset"] = _as_choice("data.dataset", data["dataset"], DATASETS)
    if not isinstance(data["root"], str) or not data["root"]:
        raise ConfigError(f"data.root: expected a directory path, got {data['root']!r}")
    if data["train_samples"] is not None:
        data["train_samples"] = _as_int("data.train_samples", data["train_samples"], minimum=1)
    if data["augment"] is not None:
        data["augment"] = _as_bool("data.augment", data["augment"])
    if data["ensemble_val_samples"] is not None:
        data["ensemble_val_samples"] = _as_int("data.ensemble_val_samples", data["ensemble_val_samples"], minimum=1)
        if data["train_samples"] is None:
            raise ConfigError("data.ensemble_val_samples: needs data.train_samples (the training samples after it, "
                              "never trained on, extend the validation split)")

    model = c["model"]
    model["name"] = _as_choice("model.name", model["name"], MODEL_NAMES)
    mobilenet, resnet = model["mobilenetv2"], model["resnet"]
    mobilenet["width"] = _as_number("model.mobilenetv2.width", mobilenet["width"])
    if mobilenet["width"] <= 0:
        raise ConfigError(f"model.mobilenetv2.width: must be > 0, got {mobilenet['width']}")
    if mobilenet["max_blocks"] is not None:
        mobilenet["max_blocks"] = _as_int("model.mobilenetv2.max_blocks", mobilenet["max_blocks"], minimum=1)
    if mobilenet["stages"] is not None:
        mobilenet["stages"] = _as_int("model.mobilenetv2.stages", mobilenet["stages"], minimum=1)
        if mobilenet["stages"] > 7:
            raise ConfigError(f"model.mobilenetv2.stages: MobileNetV2 has 7 stages, got {mobilenet['stages']}")
    resnet["width"] = _as_int("model.resnet.width", resnet["width"], minimum=1)
    blocks = resnet["blocks"]
    if not isinstance(blocks, list) or not blocks or not all(_is_int(b) and b >= 1 for b in blocks):
        raise ConfigError(f"model.resnet.blocks: expected a non-empty list of positive integers, got {blocks!r}")

    train = c["train"]
    epochs = train["epochs"] = _as_int("train.epochs", train["epochs"], minimum=1)
    train["batch_size"] = _as_int("train.batch_size", train["batch_size"], minimum=1)
    train["eval_batch_size"] = _as_int("train.eval_batch_size", train["eval_batch_size"], minimum=1)
    train["optimizer"] = _as_choice("train.optimizer", train["optimizer"], OPTIMIZERS)
    train["schedule"] = _as_choice("train.schedule", train["schedule"], SCHEDULES)
    for key in ("lr", "momentum", "weight_decay", "min_lr"):
        train[key] = _as_number(f"train.{key}", train[key])
    if train["lr"] <= 0:
        raise ConfigError(f"train.lr: must be > 0, got {train['lr']}")
    if not 0 <= train["momentum"] < 1:
        raise ConfigError(f"train.momentum: must be in [0, 1), got {train['momentum']}")
    if train["weight_decay"] < 0:
        raise ConfigError(f"train.weight_decay: must be >= 0, got {train['weight_decay']}")
    if not 0 <= train["min_lr"] < train["lr"]:
        raise ConfigError(f"train.min_lr: must be in [0, train.lr), got {train['min_lr']}")
    train["restart_epochs"] = _as_int("train.restart_epochs", train["restart_epochs"], minimum=1)
    train["restart_mult"] = _as_int("train.restart_mult", train["restart_mult"], minimum=1)
    if train["first_cycle_epochs"] is not None:
        train["first_cycle_epochs"] = _as_int("train.first_cycle_epochs", train["first_cycle_epochs"], minimum=1)
        if train["schedule"] != "cosine_restarts":
            raise ConfigError(f"train.first_cycle_epochs: only meaningful with schedule cosine_restarts "
                              f"(schedule is {train['schedule']})")
        if train["first_cycle_epochs"] >= epochs:
            raise ConfigError(f"train.first_cycle_epochs: must be < train.epochs ({epochs}), "
                              f"got {train['first_cycle_epochs']}")
    if train["schedule"] == "fge" and train["restart_epochs"] % 2:
        raise ConfigError(f"train.restart_epochs: the fge schedule's cycle must have an even length (its learning-"
                          f"rate minimum falls at the middle, at an epoch's end), got {train['restart_epochs']}")
    train["precision"] = _as_choice("train.precision", train["precision"], PRECISIONS)
    train["channels_last"] = _as_bool("train.channels_last", train["channels_last"])
    if train["compile"] != "auto":
        try:
            train["compile"] = _as_bool("train.compile", train["compile"])
        except ConfigError:
            raise ConfigError(f"train.compile: must be auto, true or false, got {train['compile']!r}") from None

    dist = c["distancing"]
    dist["space"] = _as_choice("distancing.space", dist["space"], tuple(HILL_SPACES))
    dist["strength"] = _as_number("distancing.strength", dist["strength"])
    if dist["strength"] < 0:
        raise ConfigError(f"distancing.strength: must be >= 0, got {dist['strength']}")
    for space in HILL_SPACES.values():  # every space's settings: a run logs the function distance whatever its space
        space.check(space.settings(dist), f"distancing.{space.block}." if space.block else "distancing.")
    dist["checkpoints"] = _as_epochs("distancing.checkpoints", dist["checkpoints"], epochs, 1, epochs - 1)

    c["curves"] = _as_bool("curves", c["curves"])
    c["function_distance"] = _as_bool("function_distance", c["function_distance"])
    c["snapshots"] = _as_epochs("snapshots", c["snapshots"], epochs, 1, epochs)
    c["saved_states"] = _as_epochs("saved_states", c["saved_states"], epochs, 1, epochs)
    c["branch_states"] = _as_epochs("branch_states", c["branch_states"], epochs, 1, epochs)
    init = c["init"]
    if (init["from"] is None) != (init["epoch"] is None):
        raise ConfigError("init: give both init.from (a run directory) and init.epoch, or neither")
    if init["from"] is not None:
        if not isinstance(init["from"], str) or not init["from"]:
            raise ConfigError(f"init.from: expected a run directory, got {init['from']!r}")
        init["epoch"] = _as_int("init.epoch", init["epoch"], minimum=1)
    return c


def member_kinds(config: Mapping[str, Any]) -> dict[int, str]:
    """Epoch -> kind of every ensemble member a run keeps: a checkpoint, else the final model,
    else a snapshot (what the trainer keeps and the plan's member records list)."""
    final, checkpoints = config["train"]["epochs"], config["distancing"]["checkpoints"]
    epochs = sorted({*checkpoints, *config["snapshots"], final})
    return {e: "checkpoint" if e in checkpoints else "final" if e == final else "snapshot" for e in epochs}


def model_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of the configured model (its own sub-mapping; none for resnet18)."""
    return dict(config["model"].get(config["model"]["name"], {}))


def dump(config: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=None)
