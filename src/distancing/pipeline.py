"""The experiment design in one place: from the pipeline's ``config.yaml`` to the figures,
their series and the training runs behind them.

A run is a point in a small space of knobs (model, strength, σ², checkpoint epochs, weight
decay, learning rate, schedule, seed) on top of the ``base`` run config. Its directory name is
made from the knobs that differ from the base, in a fixed order, so the same run requested by
several figures has one name and trains once.

``Experiments.figures()`` is the one declarative table: figure -> panels -> series, each series
a stable data key, a display label and a run. The Snakemake targets, each figure's inputs, the
runs to train and the claims' inputs are all derived from it; adding a sweep or a figure is a
change to that table, one plot script and one caption. No torch here: the Snakefile imports this.
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
    first_cycle_epochs: int | None = None  # 0: plain SGDR where the base has a first cycle
    epochs: int | None = None
    seed: int = 0


def cycle_ends(train: Mapping[str, Any]) -> list[int]:
    """Epochs at which the cycles of a ``cosine_restarts`` schedule end, before the last epoch:
    the snapshot-ensemble members. Cycles last T, T·m, T·m², … (T = restart_epochs, m =
    restart_mult), after a first cycle of its own length where ``first_cycle_epochs`` is set."""
    cycle, mult, first = train["restart_epochs"], train["restart_mult"], train.get("first_cycle_epochs")
    ends, end, following = [], first or cycle, cycle if first else cycle * mult
    while end < train["epochs"]:
        ends.append(end)
        end, following = end + following, following * mult
    return ends


@dataclass(frozen=True)
class Series:
    """One curve (or bar) of a figure: a stable data key, its legend text, and the run over seeds.

    ``value`` is the swept quantity (s, σ², number of checkpoints, weight decay) where the
    series belongs to a sweep; claims fit slopes against it. Claims and scripts look series up
    by ``key``, never by ``label``.
    """

    key: str
    label: str
    run: Run
    value: float | None = None


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    series: tuple[Series, ...]
    value: float | None = None  # the panel's own setting where panels form a sweep (weight decay)


@dataclass(frozen=True)
class Figure:
    """A figure: where its data come from and its panels.

    ``source`` is "formula" (drawn from equations, no runs), "runs" (metrics and distances),
    "ensembles" (checkpoint ensembles of its runs) or "peers" (the peer-ensemble tables).
    """

    name: str
    source: str
    panels: tuple[Panel, ...] = ()


PEER_METHODS = ("single", "distancing", "snapshot", "deep_equal_budget", "deep_m_budget")


class Experiments:
    """The figures, their runs and the peer ensembles, from a validated pipeline config."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.base = config["base"]
        self.models = config["models"]
        self.seeds = list(config["seeds"])
        self.reference = config["distancing"]
        resolved_base = self.resolve_base()
        self.defaults = resolved_base["train"]
        self.base_sigma2 = resolved_base["distancing"]["sigma2"]
        self.claims = dict(config.get("claims", {}))
        self._figures: dict[str, Figure] | None = None

    # ------------------------------------------------------------ runs and names

    def resolve_base(self) -> dict[str, Any]:
        return resolve(self.base)

    def canonical(self, run: Run) -> Run:
        """Fill knobs equal to the base with None, so equal runs compare (and name) equal."""
        d = self.defaults
        schedule = run.schedule or d["schedule"]
        return replace(
            run,
            strength=float(run.strength),
            sigma2=None if run.strength == 0 or run.sigma2 in (None, self.base_sigma2) else float(run.sigma2),
            checkpoints=tuple(sorted(run.checkpoints)),
            weight_decay=None if run.weight_decay in (None, d["weight_decay"]) else float(run.weight_decay),
            lr=None if run.lr in (None, d["lr"]) else float(run.lr),
            schedule=None if run.schedule in (None, d["schedule"]) else run.schedule,
            restart_epochs=(None if schedule != "cosine_restarts" or run.restart_epochs is None
                            or (d["schedule"] == "cosine_restarts" and run.restart_epochs == d["restart_epochs"])
                            else run.restart_epochs),
            first_cycle_epochs=(None if schedule != "cosine_restarts" or run.first_cycle_epochs is None
                                or (run.first_cycle_epochs or None) == d["first_cycle_epochs"]
                                else run.first_cycle_epochs),
            epochs=None if run.epochs in (None, d["epochs"]) else run.epochs,
        )

    def name(self, run: Run) -> str:
        run = self.canonical(run)
        parts = [run.model]
        if run.strength == 0:
            parts.append("nohill")
        else:
            parts.append(f"s{number(run.strength)}")
            parts.append(f"sigma2_{number(run.sigma2 if run.sigma2 is not None else self.base_sigma2)}")
        if run.checkpoints:
            parts.append("ck" + "+".join(str(c) for c in run.checkpoints))
        if run.schedule is not None:
            parts.append({"cosine_restarts": "sgdr", "constant": "fixedlr", "cosine": "cosine"}[run.schedule])
        if run.first_cycle_epochs is not None:
            parts.append(f"first{run.first_cycle_epochs}" if run.first_cycle_epochs else "plainsgdr")
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
        for key in ("weight_decay", "lr", "schedule", "restart_epochs", "first_cycle_epochs", "epochs"):
            if getattr(run, key) is not None:
                train[key] = getattr(run, key)
        if not train["first_cycle_epochs"] or train["schedule"] != "cosine_restarts":  # 0: plain SGDR
            train["first_cycle_epochs"] = None
        if train["schedule"] == "cosine_restarts":  # keep each cycle's end: a snapshot ensemble
            layer["snapshots"] = cycle_ends(train)
        dist["strength"] = run.strength
        if run.sigma2 is not None:
            dist["sigma2"] = run.sigma2
        dist["checkpoints"] = list(run.checkpoints)
        dist["every"] = dist["start"] = None
        layer["seed"] = run.seed
        return resolve(layer)

    def regime(self) -> str:
        """The base training regime in words (the report's opening page)."""
        data, t = resolve(self.base)["data"], self.defaults
        if t["schedule"] == "cosine_restarts":
            schedule = (f"a first cosine cycle of {t['first_cycle_epochs']} epochs, then warm restarts every "
                        f"{t['restart_epochs']} epochs" if t["first_cycle_epochs"]
                        else f"cosine decay with warm restarts every {t['restart_epochs']} epochs")
        else:
            schedule = f"a {t['schedule']} learning rate"
        return (f"{data['dataset']} with {data['train_samples'] or 'all'} training samples; {t['epochs']} epochs of "
                f"SGD ({t['optimizer']}), batch {t['batch_size']}, learning rate {t['lr']:g} with {schedule}, "
                f"weight decay {t['weight_decay']:g}; models {', '.join(self.models)}; seeds "
                f"{', '.join(map(str, self.seeds))} (each figure as many as its claims declare); ensembles of "
                f"{self.config['peers']['members']} members, checkpoints after epochs "
                f"{', '.join(map(str, self.reference['checkpoints']))}.")

    # ------------------------------------------------------------ building blocks of the table

    def distancing(self, model: str | None = None, **knobs: Any) -> Run:
        """The reference hill (s, σ², one checkpoint) with changes."""
        ref = self.reference
        settings = {"strength": ref["strength"], "sigma2": ref["sigma2"], "checkpoints": (ref["checkpoint"],)}
        settings.update(knobs)
        return Run(model or ref["model"], **settings)

    def control(self, run: Run) -> Run:
        """The paired control of a distancing run: same schedule, seed and settings, no hill.

        Checkpoints are still stored (they do not change training) so distances to them are
        logged: the run's own and every cycle end of its schedule, so that the controls of
        different distancing runs on one schedule are one run.
        """
        train = self.run_config(run)["train"]
        ends = cycle_ends(train) if train["schedule"] == "cosine_restarts" else []
        return replace(run, strength=0.0, sigma2=None, checkpoints=tuple(sorted(set(run.checkpoints) | set(ends))))

    def single_network(self, model: str, **knobs: Any) -> Run:
        """One network trained with a plain cosine schedule for the whole budget: what ensembles must beat."""
        return Run(model, schedule="cosine", **knobs)

    def member_checkpoints(self) -> tuple[int, ...]:
        """The base schedule's last M − 1 cycle ends: with the final model, the M members of the
        snapshot ensemble, and the checkpoints of the peers' distancing run."""
        M = self.config["peers"]["members"]
        ends = cycle_ends(self.defaults) if self.defaults["schedule"] == "cosine_restarts" else []
        if len(ends) < M - 1:
            raise ConfigError(f"peers.members: {M} members need {M - 1} cycle end(s) before the last epoch; "
                              f"base.train's schedule has {len(ends)} ({', '.join(map(str, ends)) or 'none'})")
        return tuple(ends[len(ends) - (M - 1):])

    # ------------------------------------------------------------ the table

    def figures(self) -> dict[str, Figure]:
        """Every figure: its source and its panels of series (the experiment design); built once."""
        if self._figures is None:
            self._figures = self.build_figures()
        return self._figures

    def build_figures(self) -> dict[str, Figure]:
        e, ref = self.config["experiments"], self.reference
        many = tuple(ref["checkpoints"])
        one = self.distancing()
        figures = [Figure("fig0_1", "formula")]

        f = e["fig1_1"]
        figures.append(Figure("fig1_1", "runs", (Panel("fig1_1", "", (
            Series("fixed_lr", f"fixed learning rate {number(f['lr'])}",
                   Run(f["model"], lr=f["lr"], schedule="constant")),
            Series("sgdr", f"cosine decay with warm restarts every {f['restart_epochs']} epochs", self.control(
                Run(f["model"], lr=f["lr"], schedule="cosine_restarts", restart_epochs=f["restart_epochs"],
                    first_cycle_epochs=0))),
        )),)))
        figures.append(Figure("fig2_1", "formula"))
        figures.append(Figure("fig3_1", "runs", (Panel("fig3_1", "", (
            Series("no_hill", "no hill (same schedule)", self.control(one)),
            Series("distancing", f"distancing, s = {number(ref['strength'])}, σ² = {number(ref['sigma2'])}", one),
        )),)))
        # The s sweep stores the reference checkpoints (every cycle end), so Figure 3.8 builds its
        # ensembles from the same runs.
        figures.append(Figure("fig3_2", "runs", (Panel("fig3_2", "influence of the strength s", (
            Series("no_hill", "no hill (s = 0)", self.control(one)),
            *(Series(f"s{number(s)}", f"s = {number(s)}", self.distancing(strength=s, checkpoints=many), value=s)
              for s in e["fig3_2"]["strengths"]),
        )),)))
        figures.append(Figure("fig3_3", "runs", (Panel("fig3_3", "influence of the width σ²", (
            Series("no_hill", "no hill", self.control(one)),
            *(Series(f"sigma2_{number(v)}", f"σ² = {number(v)}", self.distancing(sigma2=v), value=v)
              for v in e["fig3_3"]["sigma2s"]),
        )),)))
        figures.append(Figure("fig3_4", "runs", tuple(
            Panel(name, name, (
                Series("no_hill", "no hill", self.control(self.distancing(name, checkpoints=many))),
                *(Series(f"k{k}", f"{k} checkpoint{'s' if k > 1 else ''}",
                         self.distancing(name, checkpoints=many[:k]), value=k) for k in range(1, len(many) + 1)),
            )) for name in e["fig3_4"]["models"])))
        figures.append(Figure("fig3_5", "runs", tuple(
            Panel(f"wd{number(wd)}", f"weight decay {number(wd)}" if wd else "no weight decay", (
                Series("distancing", "distancing", self.distancing(checkpoints=many, weight_decay=wd)),
                Series("no_hill", "no hill", self.control(self.distancing(checkpoints=many, weight_decay=wd))),
            ), value=wd) for wd in e["fig3_5"]["weight_decays"])))
        f = e["fig3_6"]
        suboptimal = {"lr": f["lr"], "schedule": "cosine_restarts", "restart_epochs": f["restart_epochs"],
                      "first_cycle_epochs": 0}  # the paper's plain SGDR
        hill = self.distancing(checkpoints=tuple(f["checkpoints"]), **suboptimal)
        figures.append(Figure("fig3_6", "runs", (Panel("fig3_6", "", (
            Series("reference_lr", f"SGDR, lr {number(self.defaults['lr'])} (reference)",
                   self.control(replace(hill, lr=None))),
            Series("no_hill", f"SGDR, lr {number(f['lr'])}", self.control(hill)),
            Series("distancing", f"SGDR, lr {number(f['lr'])}, with distancing", hill),
        )),)))
        figures.append(Figure("fig3_7", "ensembles", tuple(
            Panel(name, name, (
                Series("single", "single network (cosine schedule)", self.single_network(name)),
                Series("no_hill", "no hill: cycle ends + final (snapshot ensemble)",
                       self.control(self.distancing(name, checkpoints=many))),
                Series("distancing", "distancing: checkpoints + final", self.distancing(name, checkpoints=many)),
            )) for name in e["fig3_7"]["models"])))
        figures.append(Figure("fig3_8", "ensembles", (Panel("fig3_8", "", (
            Series("no_hill", "s = 0 (no hill)", self.control(self.distancing(checkpoints=many)), value=0.0),
            *(Series(f"s{number(s)}", f"s = {number(s)}", self.distancing(strength=s, checkpoints=many), value=s)
              for s in e["fig3_8"]["strengths"]),
        )),)))
        figures += [Figure(name, "peers") for name in ("peers_members", "peers_diversity", "peers_weights")]
        return {figure.name: figure for figure in figures}

    # ------------------------------------------------------------ seeds

    def figure_seeds(self, figure: str) -> list[int]:
        """The seeds behind a figure's curves: as many as its most demanding claim declares
        (all of ``seeds`` where no claim reads the figure)."""
        from .claims import STATISTICS

        needed = [c["seeds"] for c in self.claims.values() if STATISTICS[c["statistic"]].figure == figure]
        return self.seeds[:max(needed)] if needed else self.seeds

    def over_seeds(self, run: Run, figure: str) -> list[Run]:
        return [replace(run, seed=s) for s in self.figure_seeds(figure)]

    # ------------------------------------------------------------ peer ensembles

    def peer_labels(self) -> dict[str, str]:
        """Display labels of the peer methods (keys in ``PEER_METHODS``)."""
        M, E = self.config["peers"]["members"], self.defaults["epochs"]
        ends = ", ".join(map(str, self.member_checkpoints()))
        return {
            "single": f"single network, {E} epochs",
            "distancing": f"distancing: final + checkpoints at epochs {ends}",
            "snapshot": f"snapshot ensemble: final + cycle ends at epochs {ends}",
            "deep_equal_budget": f"deep ensemble, {M} × {E // M} epochs (equal budget)",
            "deep_m_budget": f"deep ensemble, {M} × {E} epochs ({M} × budget)",
        }

    def peer_members(self) -> dict[str, list[list[tuple[Run, tuple[int, ...]]]]]:
        """Ensembles at a declared budget, per method key: one ensemble per replicate, each a
        list of (run, epochs of its members): the final model first, then the others newest first.

        Budget: E = base epochs for each method (M × E for the reference deep ensemble), M
        members; the snapshot ensemble is the base schedule's final model and last M − 1 cycle
        ends, and the distancing run stores its checkpoints there. Replicate i uses seed i for
        the runs of one schedule and seeds i·M … i·M + M − 1 for the deep ensembles (disjoint sets).
        """
        p = self.config["peers"]
        model, M, E = p["model"], p["members"], self.defaults["epochs"]
        every = E // M
        checkpoints = self.member_checkpoints()
        methods: dict[str, list[list[tuple[Run, tuple[int, ...]]]]] = {key: [] for key in PEER_METHODS}
        for i, seed in enumerate(self.figure_seeds("peers")):
            deep = [self.seeds[0] + i * M + j for j in range(M)]
            hill = self.distancing(model, checkpoints=checkpoints, seed=seed)
            cycles = (E, *reversed(checkpoints))  # final model, then cycle ends newest first
            replicate = {
                "single": [(self.single_network(model, seed=seed), (E,))],
                "distancing": [(hill, cycles)],
                "snapshot": [(self.control(hill), cycles)],
                "deep_equal_budget": [(self.single_network(model, epochs=every, seed=s), (every,)) for s in deep],
                "deep_m_budget": [(self.single_network(model, seed=s), (E,)) for s in deep],
            }
            for method, members in replicate.items():
                methods[method].append(members)
        return methods

    def peers(self) -> dict[str, list[list[tuple[str, list[int]]]]]:
        """``peer_members`` with run names: what the ensembles script reads."""
        return {method: [[(self.name(run), list(epochs)) for run, epochs in members] for members in ensembles]
                for method, ensembles in self.peer_members().items()}

    def peer_runs(self) -> list[str]:
        return sorted({name for ensembles in self.peers().values() for members in ensembles
                       for name, _ in members})

    # ------------------------------------------------------------ what the Snakefile derives

    def figure_runs(self, figure: str) -> dict[str, dict[str, Any]]:
        """Panel key -> {"title", "value", "series": series key -> {"label", "value", "runs"}} for
        one figure: the JSON its script and the claims read (run names over the figure's seeds)."""
        return {panel.key: {"title": panel.title, "value": panel.value, "series": {
            s.key: {"label": s.label, "value": s.value, "runs": [self.name(r) for r in self.over_seeds(s.run, figure)]}
            for s in panel.series}} for panel in self.figures()[figure].panels}

    def run_names(self, figure: str) -> list[str]:
        """Every run one figure reads."""
        return sorted({name for panel in self.figure_runs(figure).values() for series in panel["series"].values()
                       for name in series["runs"]})

    def runs(self) -> dict[str, dict[str, Any]]:
        """Every unique run the figures and peer ensembles need: name -> resolved run config."""
        wanted = [seeded for figure in self.figures().values() for panel in figure.panels for s in panel.series
                  for seeded in self.over_seeds(s.run, figure.name)]
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
        return sum(len(s["runs"]) for figure in self.figures() for panel in self.figure_runs(figure).values()
                   for s in panel["series"].values())


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
    check_claims(config)
    try:
        experiments = Experiments(config)
        epochs, members = experiments.defaults["epochs"], config["peers"]["members"]
        if epochs % members:
            raise ConfigError(f"peers.members: base.train.epochs ({epochs}) must be a multiple of it, got {members}")
        check_epochs(config, epochs)
        experiments.runs()
    except ConfigError as exc:
        message = str(exc)
        raise ConfigError(message if message.startswith(("models.", "peers.", "distancing.", "experiments."))
                          else f"base.{message}") from None
    return experiments


def check_epochs(config: Mapping[str, Any], epochs: int) -> None:
    """Every checkpoint epoch lies inside training, before its end (a hill stored at the end acts on nothing)."""
    ref, f36 = config["distancing"], config["experiments"]["fig3_6"]
    named = [("distancing.checkpoint", [ref["checkpoint"]]), ("distancing.checkpoints", ref["checkpoints"]),
             ("experiments.fig3_6.checkpoints", f36["checkpoints"])]
    for key, values in named:
        outside = [v for v in values if not 1 <= v < epochs]
        if outside:
            raise ConfigError(f"{key}: epoch {outside[0]} is outside training (epochs 1 to {epochs - 1}; "
                              f"base.train.epochs is {epochs})")
    if ref["checkpoints"] != sorted(ref["checkpoints"]):
        raise ConfigError(f"distancing.checkpoints: list them in the order they are stored, got {ref['checkpoints']}")


def check_claims(config: Mapping[str, Any]) -> None:
    """Each declared claim: a known statistic, a direction with a margin only where it means
    non-inferiority (and then positive), no more seeds than the config lists, its controls declared."""
    from .claims import DIRECTIONS, METRICS, STATISTICS

    declared = config.get("claims", {})
    statistics = {(spec.get("statistic"), spec.get("metric")) for spec in declared.values()}
    for claim, spec in declared.items():
        key = f"claims.{claim}"
        statistic = STATISTICS.get(spec["statistic"])
        if statistic is None:
            raise ConfigError(f"{key}.statistic: unknown statistic {spec['statistic']!r}; known: "
                              f"{', '.join(STATISTICS)}")
        metric = spec.get("metric")
        if statistic.ensemble and metric not in METRICS:
            raise ConfigError(f"{key}.metric: {spec['statistic']} compares ensembles; metric must be one of "
                              f"{', '.join(METRICS)}, got {metric!r}")
        if not statistic.ensemble and metric is not None:
            raise ConfigError(f"{key}.metric: only ensemble statistics take a metric ({spec['statistic']} does not)")
        if "effect" in spec and not spec["effect"] > 0:
            raise ConfigError(f"{key}.effect: the effect worth detecting must be positive (in "
                              f"{statistic.unit_of(metric)}), got {spec['effect']}")
        if statistic.ensemble and "effect" not in spec:
            raise ConfigError(f"{key}.effect: an ensemble claim states the effect worth detecting (in "
                              f"{statistic.unit_of(metric)})")
        if spec["direction"] not in DIRECTIONS:
            raise ConfigError(f"{key}.direction: {spec['direction']!r} is not one of {', '.join(DIRECTIONS)}")
        non_inferiority = spec["direction"] in ("not_below", "not_above")
        if non_inferiority and "margin" not in spec:
            raise ConfigError(f"{key}.margin: a {spec['direction']} claim needs a positive margin "
                              f"(the largest difference accepted, in {statistic.unit_of(metric)})")
        if "margin" in spec and not non_inferiority:
            raise ConfigError(f"{key}.margin: only not_below and not_above claims take a margin "
                              f"(direction is {spec['direction']})")
        if non_inferiority and not spec["margin"] > 0:
            raise ConfigError(f"{key}.margin: must be positive (the largest difference accepted, in "
                              f"{statistic.unit_of(metric)}), got {spec['margin']}")
        if spec["seeds"] > len(config["seeds"]):
            raise ConfigError(f"{key}.seeds: the claim needs {spec['seeds']} seeds, but seeds lists "
                              f"{len(config['seeds'])}")
        missing = [c for c in statistic.controls if (c, metric) not in statistics]
        if missing:
            raise ConfigError(f"{key}.statistic: {spec['statistic']} rests on the control {missing[0]}"
                              f"{f' in {metric}' if metric else ''}, which no claim declares")


def cli_settings(run_config: Mapping[str, Any]) -> str:
    """The run config as ``--set key=JSON`` arguments: one plain string for Snakemake params."""
    import shlex

    return " ".join(f"--set {shlex.quote(f'{key}={json.dumps(value)}')}" for key, value in run_config.items())
