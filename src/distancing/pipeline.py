"""From the pipeline's ``config.yaml`` to the set of training runs each figure needs.

A run is a point in a small space of knobs (model, strength, σ², checkpoint epochs, weight
decay, learning rate, schedule, seed) on top of the ``base`` run config. Its directory name is
made from the knobs that differ from the base, in a fixed order, so the same run requested by
several figures has one name and trains once. No torch here: the Snakefile imports this.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .config import ConfigError, merge, resolve


def number(x: float) -> str:
    """Short readable number for names and labels: 8.0 -> '8', 0.0001 -> '1e-4', 5e-4 -> '5e-4'."""
    if x != 0 and abs(x) < 0.01:
        mantissa, exponent = f"{x:e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{x:g}"


@dataclass(frozen=True)
class Run:
    """One training run: the knobs the figures vary, everything else from ``base``."""

    model: str
    strength: float = 0.0
    sigma2: float | None = None
    checkpoints: tuple[int, ...] = ()
    weight_decay: float | None = None
    lr: float | None = None
    schedule: str | None = None
    restart_epochs: int | None = None
    epochs: int | None = None
    seed: int = 0


def cycle_ends(epochs: int, first: int, mult: int) -> list[int]:
    """Epochs at which SGDR cycles end (before the last epoch): the snapshot-ensemble members."""
    ends, end, length = [], first, first
    while end < epochs:
        ends.append(end)
        length *= mult
        end += length
    return ends


class Experiments:
    """The runs, series and ensembles of every figure, from a validated pipeline config."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.base = config["base"]
        self.models = config["models"]
        self.seeds = list(config["seeds"])
        self.reference = config["distancing"]
        resolved_base = self.resolve_base()
        self.defaults = resolved_base["train"]
        self.base_sigma2 = resolved_base["distancing"]["sigma2"]

    # ------------------------------------------------------------ runs and names

    def resolve_base(self) -> dict[str, Any]:
        return resolve(self.base)

    def canonical(self, run: Run) -> Run:
        """Fill knobs equal to the base with None, so equal runs compare (and name) equal."""
        d = self.defaults
        return replace(
            run,
            strength=float(run.strength),
            sigma2=None if run.strength == 0 or run.sigma2 in (None, self.base_sigma2) else float(run.sigma2),
            checkpoints=tuple(sorted(run.checkpoints)),
            weight_decay=None if run.weight_decay in (None, d["weight_decay"]) else float(run.weight_decay),
            lr=None if run.lr in (None, d["lr"]) else float(run.lr),
            schedule=None if run.schedule in (None, d["schedule"]) else run.schedule,
            restart_epochs=(None if run.restart_epochs in (None, d["restart_epochs"])
                            or (run.schedule or d["schedule"]) != "cosine_restarts" else run.restart_epochs),
            epochs=None if run.epochs in (None, d["epochs"]) else run.epochs,
        )

    def name(self, run: Run) -> str:
        run = self.canonical(run)
        parts = [run.model]
        if run.strength == 0:
            parts.append("baseline")
        else:
            parts.append(f"s{number(run.strength)}")
            parts.append(f"sigma2_{number(run.sigma2 if run.sigma2 is not None else self.base_sigma2)}")
        if run.checkpoints:
            parts.append("ck" + "+".join(str(c) for c in run.checkpoints))
        if run.schedule is not None:
            parts.append({"cosine_restarts": "sgdr", "constant": "fixedlr", "cosine": "cosine"}[run.schedule])
        if run.restart_epochs is not None:
            parts.append(f"T{run.restart_epochs}")
        if run.lr is not None:
            parts.append(f"lr{number(run.lr)}")
        if run.weight_decay is not None:
            parts.append(f"wd{number(run.weight_decay)}")
        if run.epochs is not None:
            parts.append(f"e{run.epochs}")
        parts.append(f"seed{run.seed}")
        return "-".join(parts)

    def run_config(self, run: Run) -> dict[str, Any]:
        """The run's config overrides (base plus knobs); validated by ``resolve``."""
        run = self.canonical(run)
        if run.model not in self.models:
            raise ConfigError(f"models: no model named {run.model!r}; defined: {', '.join(self.models)}")
        layer = copy.deepcopy(dict(self.base))
        layer = merge(resolve(), layer)  # full key set, so the knobs below always have a place
        layer["model"] = merge(layer["model"], self.models[run.model], prefix=f"models.{run.model}.")
        train, dist = layer["train"], layer["distancing"]
        for key in ("weight_decay", "lr", "schedule", "restart_epochs", "epochs"):
            if getattr(run, key) is not None:
                train[key] = getattr(run, key)
        if train["schedule"] == "cosine_restarts":  # keep each cycle's end: a snapshot ensemble
            layer["snapshots"] = cycle_ends(train["epochs"], train["restart_epochs"], train["restart_mult"])
        dist["strength"] = run.strength
        if run.sigma2 is not None:
            dist["sigma2"] = run.sigma2
        dist["checkpoints"] = list(run.checkpoints)
        dist["every"] = dist["start"] = None
        layer["seed"] = run.seed
        return resolve(layer)

    def over_seeds(self, run: Run) -> list[Run]:
        return [replace(run, seed=s) for s in self.seeds]

    # ------------------------------------------------------------ the figures' experiments

    def baseline(self, model: str, **knobs: Any) -> Run:
        """No hill; checkpoints stored anyway so distances to them are logged for comparison."""
        return Run(model, 0.0, checkpoints=tuple(self.reference["checkpoints"]), **knobs)

    def distancing(self, model: str | None = None, **knobs: Any) -> Run:
        ref = self.reference
        settings = {"strength": ref["strength"], "sigma2": ref["sigma2"], "checkpoints": (ref["checkpoint"],)}
        settings.update(knobs)
        return Run(model or ref["model"], **settings)

    def series(self) -> dict[str, dict[str, list[Run]]]:
        """For every figure that plots runs: its series, each a label and a run (over seeds)."""
        e, ref = self.config["experiments"], self.reference
        model = ref["model"]
        many = tuple(ref["checkpoints"])
        figures: dict[str, dict[str, Run]] = {}

        f = e["fig1_1"]
        figures["fig1_1"] = {
            f"fixed learning rate {number(f['lr'])}": Run(f["model"], lr=f["lr"], schedule="constant"),
            "cosine decay with warm restarts": Run(f["model"], lr=f["lr"], schedule="cosine_restarts",
                                                    restart_epochs=f["restart_epochs"]),
        }
        figures["fig3_1"] = {"baseline": self.baseline(model), "distancing": self.distancing()}
        figures["fig3_2"] = {"s = 0 (baseline)": self.baseline(model)} | {
            f"s = {number(s)}": self.distancing(strength=s) for s in e["fig3_2"]["strengths"]}
        figures["fig3_3"] = {"baseline": self.baseline(model)} | {
            f"σ² = {number(v)}": self.distancing(sigma2=v) for v in e["fig3_3"]["sigma2s"]}
        for name in e["fig3_4"]["models"]:
            figures[f"fig3_4/{name}"] = {"baseline": self.baseline(name)} | {
                f"{len(c)} checkpoint{'s' if len(c) > 1 else ''}": self.distancing(name, checkpoints=tuple(c))
                for c in (many[:k] for k in range(1, len(many) + 1))}
        for wd in e["fig3_5"]["weight_decays"]:
            label = f"weight decay {number(wd)}" if wd else "no weight decay"
            figures[f"fig3_5/{label}"] = {label: self.distancing(checkpoints=many, weight_decay=wd)}
        f = e["fig3_6"]
        sgdr = {"schedule": "cosine_restarts", "restart_epochs": f["restart_epochs"]}
        figures["fig3_6"] = {
            f"SGDR, lr {number(e['fig1_1']['lr'])} (reference)": Run(model, lr=e["fig1_1"]["lr"], **sgdr),
            f"SGDR, lr {number(f['lr'])}": Run(model, lr=f["lr"], **sgdr),
            f"SGDR, lr {number(f['lr'])}, with distancing": self.distancing(
                lr=f["lr"], checkpoints=tuple(f["checkpoints"]), **sgdr),
        }
        for name in e["fig3_7"]["models"]:
            figures[f"fig3_7/{name}"] = {"single network": self.baseline(name),
                                         "distancing": self.distancing(name, checkpoints=many)}
        figures["fig3_8"] = {"s = 0 (baseline)": self.baseline(model)} | {
            f"s = {number(s)}": self.distancing(strength=s, checkpoints=many) for s in e["fig3_8"]["strengths"]}
        return figures

    def peer_members(self) -> dict[str, list[list[tuple[Run, str]]]]:
        """Ensembles at a declared budget, per method: one ensemble per replicate, each a list of
        (run, member kind) in the order members are added.

        Budget: E = base epochs for each method (M × E for the reference deep ensemble), M
        members; snapshot cycles and distancing checkpoints end every E/M epochs. Networks of E
        epochs are the figures' baselines (their stored checkpoints do not change training), so
        those runs are shared.
        """
        p = self.config["peers"]
        model, M, E = p["model"], p["members"], self.defaults["epochs"]
        every = E // M
        methods: dict[str, list[list[tuple[Run, str]]]] = {}
        for i, seed in enumerate(self.seeds):
            deep = [self.seeds[0] + i * M + j for j in range(M)]  # disjoint seed sets per replicate
            replicate = {
                f"single network, {E} epochs": [(self.baseline(model, seed=seed), "final")],
                f"distancing: final + checkpoints every {every} epochs": [(self.distancing(
                    model, checkpoints=tuple(range(every, E, every)), seed=seed), "final+checkpoints")],
                f"snapshot ensemble: SGDR, {M} cycles": [(Run(
                    model, 0.0, seed=seed, schedule="cosine_restarts", restart_epochs=every), "final+snapshots")],
                f"deep ensemble, {M} × {every} epochs (equal budget)": [
                    (Run(model, 0.0, epochs=every, seed=s), "final") for s in deep],
                f"deep ensemble, {M} × {E} epochs ({M} × budget)": [
                    (self.baseline(model, seed=s), "final") for s in deep],
            }
            for method, members in replicate.items():
                methods.setdefault(method, []).append(members)
        return methods

    def peers(self) -> dict[str, list[list[tuple[str, str]]]]:
        """``peer_members`` with run names: what the ensembles script reads."""
        return {method: [[(self.name(run), kind) for run, kind in members] for members in ensembles]
                for method, ensembles in self.peer_members().items()}

    def peer_runs(self) -> list[str]:
        return sorted({name for ensembles in self.peers().values() for members in ensembles
                       for name, _ in members})

    def figure_runs(self) -> dict[str, dict[str, list[str]]]:
        """Figure (or panel) -> series label -> run names over seeds."""
        return {fig: {label: [self.name(r) for r in self.over_seeds(run)] for label, run in series.items()}
                for fig, series in self.series().items()}

    def runs(self) -> dict[str, dict[str, Any]]:
        """Every unique run the figures and peer ensembles need: name -> resolved run config."""
        wanted = [seeded for series in self.series().values() for run in series.values()
                  for seeded in self.over_seeds(run)]
        wanted += [run for ensembles in self.peer_members().values() for members in ensembles
                   for run, _ in members]
        result: dict[str, dict[str, Any]] = {}
        for run in wanted:
            name = self.name(run)
            if name not in result:
                result[name] = self.run_config(run)
        return result

    def referenced_runs(self) -> int:
        """How many runs the figures reference, counting a shared run once per reference."""
        return sum(len(names) for series in self.figure_runs().values() for names in series.values())

    def figure_inputs(self, figure: str) -> dict[str, dict[str, list[str]]]:
        """The panels (figure or figure/panel keys) that belong to one figure."""
        return {key: series for key, series in self.figure_runs().items() if key.split("/")[0] == figure}


def check_config(config: Mapping[str, Any], schema_path: str) -> Experiments:
    """Validate the pipeline config against its schema, then every run it implies.

    Raises ConfigError with one line naming the offending key (``base.`` for run keys).
    """
    import jsonschema
    import yaml

    with open(schema_path) as f:
        schema = yaml.safe_load(f)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(f"{where}: {error.message}")
    models = config["models"]
    named = [("distancing.model", config["distancing"]["model"]), ("experiments.fig1_1.model",
                                                                    config["experiments"]["fig1_1"]["model"])]
    named += [(f"experiments.{fig}.models", m)
              for fig in ("fig3_4", "fig3_7") for m in config["experiments"][fig]["models"]]
    named.append(("peers.model", config["peers"]["model"]))
    for key, name in named:
        if name not in models:
            raise ConfigError(f"{key}: no model named {name!r} under models; defined: {', '.join(models)}")
    try:
        experiments = Experiments(config)
        epochs, members = experiments.defaults["epochs"], config["peers"]["members"]
        if epochs % members:
            raise ConfigError(f"peers.members: base.train.epochs ({epochs}) must be a multiple of it, got {members}")
        experiments.runs()
    except ConfigError as exc:
        message = str(exc)
        raise ConfigError(message if message.startswith(("models.", "peers.")) else f"base.{message}") from None
    return experiments


def cli_settings(run_config: Mapping[str, Any]) -> str:
    """The run config as ``--set key=JSON`` arguments: one plain string for Snakemake params."""
    import shlex

    return " ".join(f"--set {shlex.quote(f'{key}={json.dumps(value)}')}" for key, value in run_config.items())
