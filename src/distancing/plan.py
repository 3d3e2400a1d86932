"""The plan: the figures, the peer ensembles and the claims' seeds, composed into runs, Snakemake
targets and the inputs of every rule, from the pipeline's ``config.yaml``.

It sits above the run builder (``runs.py``: runs, names, run configs and the tree of trunks and
branches), the figure table (``figures.py``) and the kinds of figure source (``sources.py``),
the peer registry (``peers.py``), the measurements (``measurements/``, whose readings it builds
from its figures) and the claims' statistics (``claims/catalogue.py``), and hands each of them
the builder; nothing below imports it. The report's prose is ``prose.py``. No torch here: the
Snakefile imports this.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .claims.catalogue import statistics
from .claims.checks import check_claims, check_comparisons
from .config import ConfigError, check_inside_training, member_kinds
from .figures import FIGURE_TABLE, Figure, settings_schema
from .files import Layout
from .measurements import MEASUREMENTS
from .measurements import roles as measured_roles
from .measurements import settings_schema as measurement_schema
from .peers import PEERS
from .peers import settings_schema as peer_schema
from .runs import Run, RunBuilder, RunSet, collect, reseeded
from .sources import Inputs, source_of


def merge_profiles(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Profiles merged over the default config as Snakemake merges ``--configfile`` over the
    Snakefile's ``configfile``: mappings key by key, anything else (lists too) replaced."""
    result: dict[str, Any] = {}
    for layer in layers:
        result = _update(result, layer)
    return result


def _update(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _update(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def load_profiles(*paths: str | Path, default: str | Path = "config.yaml") -> dict[str, Any]:
    """``config.yaml`` with the profiles at ``paths`` merged over it, in order (``merge_profiles``)."""
    import yaml

    return merge_profiles(*(yaml.safe_load(Path(path).read_text()) or {} for path in (default, *paths)))


class Plan:
    """The figures, their runs and the peer ensembles, from a validated pipeline config."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.layout = Layout(config["results"])
        self.builder = RunBuilder(config)
        self.seeds = self.builder.seeds
        cap = config.get("max_claim_seeds")
        self.claims = {name: dict(spec, seeds=min(spec["seeds"], cap or spec["seeds"]))
                       for name, spec in config.get("claims", {}).items()}
        self._figures: dict[str, Figure] | None = None
        self._readings: dict[str, list[dict[str, Any]]] = {}
        self._tree: RunSet | None = None
        self._peers: dict[str, dict[str, dict[str, Any]]] | None = None

    # ------------------------------------------------------------ the table

    def figures(self) -> dict[str, Figure]:
        """Every figure: its source and its panels of series (the experiment design); built once."""
        if self._figures is None:
            settings = self.config["experiments"]
            self._figures = {name: Figure(name, source_of(spec.source, name),
                                          spec.panels(self.builder, settings.get(name, {})) if spec.panels else (),
                                          spec.function_distance)
                             for name, spec in FIGURE_TABLE.items()}
        return self._figures

    # ------------------------------------------------------------ seeds

    def figure_seeds(self, figure: str) -> list[int]:
        """The seeds behind a figure's curves: as many as its most demanding claim declares
        (all of ``seeds`` where no claim reads the figure)."""
        known = statistics()
        needed = [c["seeds"] for c in self.claims.values() if known[c["statistic"]].figure == figure]
        return self.seeds[:max(needed)] if needed else self.seeds

    def over_seeds(self, run: Run, figure: str) -> list[Run]:
        return [reseeded(run, s) for s in self.figure_seeds(figure)]

    # ------------------------------------------------------------ peer ensembles

    def replicates(self) -> list[int]:
        """The peer ensembles' replicate seeds: as many as the most demanding peer claim declares."""
        known = statistics()
        needed = [c["seeds"] for c in self.claims.values() if known[c["statistic"]].peers]
        return self.seeds[:max(needed)] if needed else self.seeds

    def peer_members(self) -> dict[str, dict[str, list[list[tuple[Run, tuple[int, ...]]]]]]:
        """Ensembles at the declared budget, per model of ``peers.models`` and peer key of
        ``peers.methods``: one ensemble per replicate, each a list of (run, epochs of its members),
        from the registry (``peers.PEERS``)."""
        return {model: {key: [PEERS[key].members(self.builder, model, i, seed)
                              for i, seed in enumerate(self.replicates())]
                        for key in self.config["peers"]["methods"]}
                for model in self.config["peers"]["models"]}

    def peer_budget(self, key: str, model: str) -> int:
        """Epochs of training behind one ensemble of a peer (its first replicate): each run it
        uses, with its parents' epochs up to where it started from them."""
        runs = {self.builder.name(run): run for run, _ in PEERS[key].members(self.builder, model, 0, self.seeds[0])}
        return sum(self.builder.budget(run) for run in runs.values())

    def peers(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Per model, then peer key: its label, budget and ensembles with run names (what the
        ensembles script reads); built once."""
        if self._peers is None:
            self._peers = {model: {key: {"label": PEERS[key].label(self.builder),
                                         "budget": self.peer_budget(key, model),
                                         "ensembles": [[(self.builder.name(run), list(epochs))
                                                        for run, epochs in members] for members in ensembles]}
                                   for key, ensembles in by_key.items()}
                           for model, by_key in self.peer_members().items()}
        return self._peers

    def peer_runs(self) -> list[str]:
        return sorted({name for by_key in self.peers().values() for peer in by_key.values()
                       for members in peer["ensembles"] for name, _ in members})

    # ------------------------------------------------------------ what the Snakefile derives

    def figure_runs(self, figure: str) -> dict[str, dict[str, Any]]:
        """Panel key -> {"title", "value", "series": series key -> {"label", "value", "runs"}} for
        one figure: the JSON its script and the claims read (run names over the figure's seeds)."""
        name = self.builder.name
        return {panel.key: {"title": panel.title, "value": panel.value, "series": {
            s.key: {"label": s.label, "value": s.value, "runs": [name(r) for r in self.over_seeds(s.run, figure)]}
            for s in panel.series}} for panel in self.figures()[figure].panels}

    def readings(self, measurement: str) -> list[dict[str, Any]]:
        """The members a measurement reads (``measurements/``), from its figure's runs; built once."""
        if measurement not in self._readings:
            entry = MEASUREMENTS[measurement]
            self._readings[measurement] = entry.reads(self, entry.on)
        return self._readings[measurement]

    def member_records(self) -> list[dict[str, Any]]:
        """One record per member a run keeps (``members.npz``): its run, epoch and kind, the run's
        seed and group from the plan (never parsed from a name), and the roles the plan gives it:
        ``<figure>:<panel>:<series>`` in an ensemble figure, ``peers:<model>:<method>:<replicate>``
        in a peer ensemble, ``<measurement>:<about>:<name>`` where a measurement reads it (such as
        ``barriers:resnet:distancing:3:a``, an end of a line)."""
        roles: dict[tuple[str, int], list[str]] = {}
        runs = self.runs()
        for name, figure in self.figures().items():
            if figure.source.ensembles:
                for panel_key, panel in self.figure_runs(name).items():
                    for series_key, series in panel["series"].items():
                        for run in series["runs"]:
                            for epoch in member_kinds(runs[run]):
                                roles.setdefault((run, epoch), []).append(f"{name}:{panel_key}:{series_key}")
        for model, by_key in self.peers().items():
            for method, peer in by_key.items():
                for replicate, members in enumerate(peer["ensembles"]):
                    for run, epochs in members:
                        for epoch in epochs:
                            roles.setdefault((run, epoch), []).append(f"peers:{model}:{method}:{replicate}")
        for measurement in self.config["measurements"]:
            for member, role in measured_roles(measurement, self.readings(measurement)):
                roles.setdefault(member, []).append(role)
        tree = self.tree()
        return [{"run": run, "epoch": epoch, "kind": kind, "seed": config["seed"], "group": tree.groups[run],
                 "roles": " ".join(roles.get((run, epoch), []))}
                for run, config in sorted(runs.items()) for epoch, kind in member_kinds(config).items()]

    def run_names(self, figure: str) -> list[str]:
        """Every run one figure reads."""
        return sorted({name for panel in self.figure_runs(figure).values() for series in panel["series"].values()
                       for name in series["runs"]})

    # ------------------------------------------------------------ what the rules read

    def figure_inputs(self, figure: str) -> Inputs:
        """The tables a figure's rule reads: its source's (``sources.py``), for the runs it draws."""
        return self.figures()[figure].source.inputs(self.layout, self.run_names(figure))

    def ensemble_runs(self) -> list[str]:
        """Every run whose members a checkpoint-ensemble figure reads."""
        return sorted({name for figure in self.figures().values() if figure.source.ensembles
                       for name in self.run_names(figure.name)})

    def measurement_tables(self, measurement: str) -> dict[str, str]:
        """Table name -> path of each table a measurement writes."""
        return self.layout.measurement_tables(measurement, MEASUREMENTS[measurement].tables)

    def measurement_runs(self, measurement: str) -> list[str]:
        """Every run one of whose members the measurement reads."""
        return sorted({run for reading in self.readings(measurement) for run, _ in reading["members"].values()})

    def claim_figures(self) -> list[str]:
        """The figures whose series the declared claims read, in the figure table's order."""
        known = statistics()
        wanted = {known[spec["statistic"]].figure for spec in self.claims.values()}
        return [figure for figure in self.figures() if figure in wanted]

    def claim_runs(self) -> list[str]:
        """Every run whose metrics and distances the claims read: those of their figures drawn from
        curves (the others read the ensemble and measurement tables)."""
        return sorted({name for figure in self.claim_figures() if self.figures()[figure].source.curves
                       for name in self.run_names(figure)})

    def claim_measurement_tables(self) -> list[str]:
        """Every table of the measurements the declared claims read, in the config's order."""
        known = statistics()
        read = {m for spec in self.claims.values() for m in known[spec["statistic"]].measurements()}
        return [path for measurement in self.config["measurements"] if measurement in read
                for path in self.measurement_tables(measurement).values()]

    def tree(self) -> RunSet:
        """Every unique run the figures and peer ensembles need, with the parents runs start from and
        the trunks runs branch from (``runs.collect``); built once."""
        if self._tree is None:
            figures = self.figures().values()
            drawn = {figure.name: self.seeded_runs(figure) for figure in figures}
            peer_members = [run for by_key in self.peer_members().values() for ensembles in by_key.values()
                            for members in ensembles for run, _ in members]
            self._tree = collect(
                self.builder, [run for runs in drawn.values() for run in runs] + peer_members,
                curves=[run for figure in figures if figure.source.curves for run in drawn[figure.name]],
                function_distance=[run for figure in figures if figure.function_distance for run in drawn[figure.name]],
                members=[run for figure in figures if figure.source.ensembles for run in drawn[figure.name]]
                + peer_members)
        return self._tree

    def seeded_runs(self, figure: Figure) -> list[Run]:
        """Every run a figure draws, over its seeds."""
        return [seeded for panel in figure.panels for series in panel.series
                for seeded in self.over_seeds(series.run, figure.name)]

    def runs(self) -> dict[str, dict[str, Any]]:
        """Run name -> resolved run config, for every run to train."""
        return self.tree().configs

    def parent(self, name: str) -> str | None:
        """The run a run starts from (its ``init.from``), or None."""
        return self.tree().parents.get(name)

    def trunk(self, name: str) -> tuple[str, int] | None:
        """The run that trains a run's first epochs and the last of them (``branching.py``), or None."""
        return self.tree().trunks.get(name)

def import_plugins(config: Mapping[str, Any]) -> None:
    """Import the modules under ``plugins``: they register peers (``peers.register``), measurements
    (``measurements.register``) and their statistics (``claims.register_statistics``), or figures."""
    import importlib

    for module in config.get("plugins", []):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(f"plugins: cannot import {module!r} ({exc})") from None


def check_config(config: Mapping[str, Any], schema_path: str) -> Plan:
    """Validate the pipeline config against its schema (``experiments`` from the figure table),
    then every run it implies.

    Raises ConfigError with one line naming the offending key (``base.`` for run keys).
    """
    import jsonschema
    import yaml

    import_plugins(config)

    with open(schema_path) as f:
        schema = yaml.safe_load(f)
    schema["properties"]["experiments"] = settings_schema()
    schema["properties"]["measurements"] = measurement_schema()
    schema["properties"]["peers"]["properties"] |= peer_schema()
    check_measurements(config)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(f"{where}: {error.message}")
    unknown = [key for key in config["peers"]["methods"] if key not in PEERS]
    if unknown:
        raise ConfigError(f"peers.methods: unknown peer {unknown[0]!r}; registered: {', '.join(PEERS)}")
    models, experiments = config["models"], config["experiments"]
    named = [("distancing.model", config["distancing"]["model"])]
    named += [("peers.models", m) for m in config["peers"]["models"]]
    for fig, settings in experiments.items():
        named += [(f"experiments.{fig}.model", settings["model"])] if "model" in settings else []
        named += [(f"experiments.{fig}.models", m) for m in settings.get("models", [])]
    for key, name in named:
        if name not in models:
            raise ConfigError(f"{key}: no model named {name!r} under models; defined: {', '.join(models)}")
    check_claims(config)
    try:
        plan = Plan(config)
    except ConfigError as exc:  # the base run config itself
        raise ConfigError(f"base.{exc}") from None
    epochs, members = plan.builder.defaults["epochs"], config["peers"]["members"]
    if epochs % members:
        raise ConfigError(f"peers.members: base.train.epochs ({epochs}) must be a multiple of it, got {members}")
    check_checkpoints(config, epochs)
    for name, spec in FIGURE_TABLE.items():
        if spec.check:
            spec.check(f"experiments.{name}", plan.builder, config["experiments"].get(name, {}))
    try:
        plan.runs()
        for measurement in config["measurements"]:
            plan.readings(measurement)  # what each reads of its figure, before any job
    except ConfigError as exc:  # a run's keys come from base, unless the error names its own block
        message = str(exc)
        own = message.startswith(("models.", "peers.", "init.", "measurements"))
        raise ConfigError(message if own else f"base.{message}") from None
    check_comparisons(config, {name: [panel.key for panel in figure.panels] for name, figure in plan.figures().items()})
    return plan


def check_measurements(config: Mapping[str, Any]) -> None:
    """Every measurement listed is registered; every figure draws a known source, and a
    measurement the config computes; every claim reads only measurements the config computes."""
    listed = config.get("measurements") or {}
    for key in listed:
        if key not in MEASUREMENTS:
            raise ConfigError(f"measurements.{key}: unknown measurement {key!r}; registered: {', '.join(MEASUREMENTS)}")
        if MEASUREMENTS[key].on not in FIGURE_TABLE:
            raise ConfigError(f"measurements.{key}: it is measured on the figure {MEASUREMENTS[key].on!r}, which is "
                              f"not registered")
    for name, spec in FIGURE_TABLE.items():
        source_of(spec.source, name).check(name, listed)
    known = statistics()
    for claim, spec in (config.get("claims") or {}).items():
        statistic = known.get(spec.get("statistic"))
        missing = [m for m in statistic.measurements() if m not in listed] if statistic is not None else []
        if missing:
            raise ConfigError(f"claims.{claim}.statistic: {spec['statistic']} reads the measurement "
                              f"{missing[0]!r}, which this config does not compute (list it under measurements)")


def check_checkpoints(config: Mapping[str, Any], epochs: int) -> None:
    """The reference checkpoints lie inside training, listed in the order they are stored."""
    ref = config["distancing"]
    check_inside_training("distancing.checkpoint", [ref["checkpoint"]], epochs)
    check_inside_training("distancing.checkpoints", ref["checkpoints"], epochs)
    if ref["checkpoints"] != sorted(ref["checkpoints"]):
        raise ConfigError(f"distancing.checkpoints: list them in the order they are stored, got {ref['checkpoints']}")


def cli_settings(run_config: Mapping[str, Any]) -> str:
    """The run config as ``--set key=JSON`` arguments: one plain string for Snakemake params."""
    import shlex

    return " ".join(f"--set {shlex.quote(f'{key}={json.dumps(value)}')}" for key, value in run_config.items())
