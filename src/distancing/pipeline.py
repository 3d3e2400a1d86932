"""The experiment design in one place: from the pipeline's ``config.yaml`` to the figures,
their series and the training runs behind them.

A run is a point in a small space of knobs (model, the hill's strength and σ², checkpoint
epochs, the ``train`` settings of ``KNOBS``, the run it starts from, seed) on top of the
``base`` run config. Its directory name is made from the knobs that differ from the base, in a
fixed order, so the same run requested by several figures has one name and trains once.

``FIGURE_TABLE`` is the one table of the experiment design: figure -> its source, the schema of
its settings under ``experiments`` and a function building its panels -> series, each series a
stable data key, a display label and a run. The Snakemake targets, each figure's inputs, the
runs to train, the claims' inputs and the config schema's ``experiments`` are derived from it;
a figure is one ``@figure`` entry, one plot script and one caption. The peer ensembles are the
registry of ``peers.py``. No torch here: the Snakefile imports this.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
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
    """One training run: the knobs the figures vary, everything else from ``base``.

    ``space`` is where the hill acts (None: the base's, the weights); ``sigma2`` is the hill's
    width in that space (σ² of the weight hill, σ_f² of the function hill). ``init_from``
    (parent run, epoch) starts it from the parent's saved state after that epoch (the run
    config's ``init``)."""

    model: str
    strength: float = 0.0
    sigma2: float | None = None
    space: str | None = None
    checkpoints: tuple[int, ...] = ()
    weight_decay: float | None = None
    lr: float | None = None
    min_lr: float | None = None
    schedule: str | None = None
    restart_epochs: int | None = None
    first_cycle_epochs: int | None = None  # 0: plain SGDR where the base has a first cycle
    epochs: int | None = None
    init_from: tuple[Run, int] | None = None
    seed: int = 0


def _restarts(schedule: str) -> bool:
    return schedule == "cosine_restarts"


def _cyclic(schedule: str) -> bool:
    return schedule in ("cosine_restarts", "fge")


@dataclass(frozen=True)
class Knob:
    """A ``train`` setting a run may change: its ``Run`` field, its name fragment, and whether it
    means anything under the run's schedule. A new knob is one entry of ``KNOBS`` and one field."""

    field: str
    tag: Callable[[Any], str]
    applies: Callable[[str], bool] = lambda schedule: True
    normal: Callable[[Any], Any] = lambda value: value  # the value as compared with the base's


SCHEDULE_TAGS = {"cosine_restarts": "sgdr", "constant": "fixedlr"}
KNOBS = (  # in the order of the name's fragments
    Knob("schedule", lambda v: SCHEDULE_TAGS.get(v, v)),
    Knob("first_cycle_epochs", lambda v: f"first{v}" if v else "plainsgdr", _restarts, lambda v: v or None),
    Knob("restart_epochs", lambda v: f"T{v}", _cyclic),
    Knob("lr", lambda v: f"lr{number(v)}"),
    Knob("min_lr", lambda v: f"minlr{number(v)}"),
    Knob("weight_decay", lambda v: f"wd{number(v)}"),
    Knob("epochs", lambda v: f"e{v}"),
)


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


def lr_minima(train: Mapping[str, Any]) -> list[int]:
    """Epochs before the last at which a cyclical schedule's learning rate is lowest: the
    members it offers (SGDR's cycle ends, FGE's cycle middles); none for other schedules."""
    if train["schedule"] == "cosine_restarts":
        return cycle_ends(train)
    if train["schedule"] == "fge":
        cycle = train["restart_epochs"]
        return list(range(cycle // 2, train["epochs"], cycle))
    return []


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
    """A figure: where its data come from, its panels, and the schema of its ``experiments`` entry.

    ``source`` is "formula" (drawn from equations, no runs), "runs" (metrics and distances),
    "ensembles" (checkpoint ensembles of its runs) or "peers" (the peer-ensemble tables).
    """

    name: str
    source: str
    panels: tuple[Panel, ...] = ()


@dataclass(frozen=True)
class FigureSpec:
    """An entry of the figure table: its source, the JSON schema of its settings under
    ``experiments`` (None: it takes none), and the function that builds its panels from them."""

    source: str
    settings: dict[str, Any] | None = None
    panels: Callable[[Experiments, dict[str, Any]], tuple[Panel, ...]] | None = None


FIGURE_TABLE: dict[str, FigureSpec] = {}  # figure name -> spec, in the order figures are listed


def figure(name: str, source: str, settings: dict[str, Any] | None = None):
    """Register a figure's panel builder (a decorator): a new figure is one entry, one script, one caption."""
    def register(panels: Callable[[Experiments, dict[str, Any]], tuple[Panel, ...]] | None = None):
        FIGURE_TABLE[name] = FigureSpec(source, settings, panels)
        return panels
    return register


def _settings(required: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(required), "properties": required}


POSITIVE = {"type": "number", "exclusiveMinimum": 0}
EPOCH = {"type": "integer", "minimum": 1}
STRENGTHS = _settings({"strengths": {"type": "array", "minItems": 1, "items": POSITIVE}})
MODELS = _settings({"models": {"type": "array", "minItems": 1, "items": {"type": "string"}}})
SGDR = {"lr": POSITIVE, "restart_epochs": EPOCH}

figure("fig0_1", "formula")()


@figure("fig1_1", "runs", _settings({"model": {"type": "string"}, **SGDR}))
def _fig1_1(e: Experiments, f: dict[str, Any]) -> tuple[Panel, ...]:
    return (Panel("fig1_1", "", (
        Series("fixed_lr", f"fixed learning rate {number(f['lr'])}", Run(f["model"], lr=f["lr"], schedule="constant")),
        Series("sgdr", f"cosine decay with warm restarts every {f['restart_epochs']} epochs", e.control(
            Run(f["model"], lr=f["lr"], schedule="cosine_restarts", restart_epochs=f["restart_epochs"],
                first_cycle_epochs=0))),
    )),)


figure("fig2_1", "formula")()


@figure("fig3_1", "runs")
def _fig3_1(e: Experiments, f: dict[str, Any]) -> tuple[Panel, ...]:
    ref, one = e.reference, e.distancing()
    return (Panel("fig3_1", "", (
        Series("no_hill", "no hill (same schedule)", e.control(one)),
        Series("distancing", f"distancing, s = {number(ref['strength'])}, σ² = {number(ref['sigma2'])}", one),
    )),)


@figure("fig3_2", "runs", STRENGTHS)
def _fig3_2(e: Experiments, f: dict[str, Any]) -> tuple[Panel, ...]:
    # The s sweep stores the reference checkpoints (every cycle end), so Figure 3.8 builds its
    # ensembles from the same runs.
    return (Panel("fig3_2", "influence of the strength s", (
        Series("no_hill", "no hill (s = 0)", e.control(e.distancing())),
        *(Series(f"s{number(s)}", f"s = {number(s)}", e.distancing(strength=s, checkpoints=e.many), value=s)
          for s in f["strengths"]),
    )),)


@figure("fig3_3", "runs", _settings({"sigma2s": {"type": "array", "minItems": 1, "items": POSITIVE}}))
def _fig3_3(e: Experiments, f: dict[str, Any]) -> tuple[Panel, ...]:
    return (Panel("fig3_3", "influence of the width σ²", (
        Series("no_hill", "no hill", e.control(e.distancing())),
        *(Series(f"sigma2_{number(v)}", f"σ² = {number(v)}", e.distancing(sigma2=v), value=v) for v in f["sigma2s"]),
    )),)


@figure("fig3_4", "runs", MODELS)
def _fig3_4(e: Experiments, f: dict[str, Any]) -> tuple[Panel, ...]:
    many = e.many
    return tuple(Panel(name, name, (
        Series("no_hill", "no hill", e.control(e.distancing(name, checkpoints=many))),
        *(Series(f"k{k}", f"{k} checkpoint{'s' if k > 1 else ''}", e.distancing(name, checkpoints=many[:k]), value=k)
          for k in range(1, len(many) + 1)),
    )) for name in f["models"])


@figure("fig3_5", "runs", _settings({"weight_decays": {"type": "array", "minItems": 2, "uniqueItems": True,
                                                        "items": {"type": "number", "minimum": 0}}}))
def _fig3_5(e: Experiments, f: dict[str, Any]) -> tuple[Panel, ...]:
    return tuple(Panel(f"wd{number(wd)}", f"weight decay {number(wd)}" if wd else "no weight decay", (
        Series("distancing", "distancing", e.distancing(checkpoints=e.many, weight_decay=wd)),
        Series("no_hill", "no hill", e.control(e.distancing(checkpoints=e.many, weight_decay=wd))),
    ), value=wd) for wd in f["weight_decays"])


@figure("fig3_6", "runs", _settings({**SGDR, "checkpoints": {"type": "array", "minItems": 1, "items": EPOCH}}))
def _fig3_6(e: Experiments, f: dict[str, Any]) -> tuple[Panel, ...]:
    suboptimal = {"lr": f["lr"], "schedule": "cosine_restarts", "restart_epochs": f["restart_epochs"],
                  "first_cycle_epochs": 0}  # the paper's plain SGDR
    hill = e.distancing(checkpoints=tuple(f["checkpoints"]), **suboptimal)
    return (Panel("fig3_6", "", (
        Series("reference_lr", f"SGDR, lr {number(e.defaults['lr'])} (reference)", e.control(replace(hill, lr=None))),
        Series("no_hill", f"SGDR, lr {number(f['lr'])}", e.control(hill)),
        Series("distancing", f"SGDR, lr {number(f['lr'])}, with distancing", hill),
    )),)


@figure("fig3_7", "ensembles", MODELS)
def _fig3_7(e: Experiments, f: dict[str, Any]) -> tuple[Panel, ...]:
    return tuple(Panel(name, name, (
        Series("single", "single network (cosine schedule)", e.single_network(name)),
        Series("no_hill", "no hill: cycle ends + final (snapshot ensemble)",
               e.control(e.distancing(name, checkpoints=e.many))),
        Series("distancing", "distancing: checkpoints + final", e.distancing(name, checkpoints=e.many)),
    )) for name in f["models"])


@figure("fig3_8", "ensembles", STRENGTHS)
def _fig3_8(e: Experiments, f: dict[str, Any]) -> tuple[Panel, ...]:
    return (Panel("fig3_8", "", (
        Series("no_hill", "s = 0 (no hill)", e.control(e.distancing(checkpoints=e.many)), value=0.0),
        *(Series(f"s{number(s)}", f"s = {number(s)}", e.distancing(strength=s, checkpoints=e.many), value=s)
          for s in f["strengths"]),
    )),)


for _name in ("peers_members", "peers_diversity", "peers_weights", "peers_spaces"):
    figure(_name, "peers")()


def settings_schema() -> dict[str, Any]:
    """The schema of ``experiments``, from the figure table: one entry per figure that takes settings."""
    wanted = {name: spec.settings for name, spec in FIGURE_TABLE.items() if spec.settings is not None}
    return {"type": "object", "additionalProperties": False, "required": list(wanted), "properties": wanted}


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


class Experiments:
    """The figures, their runs and the peer ensembles, from a validated pipeline config."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.base = config["base"]
        self.models = config["models"]
        self.seeds = list(config["seeds"])
        self.reference = config["distancing"]
        self.many = tuple(self.reference["checkpoints"])
        resolved_base = self.resolve_base()
        self.defaults = resolved_base["train"]
        hill = resolved_base["distancing"]
        self.base_space = hill["space"]
        self.base_sigma2 = {"weights": hill["sigma2"], "function": hill["function"]["sigma2"]}  # per space
        cap = config.get("max_claim_seeds")
        self.claims = {name: dict(spec, seeds=min(spec["seeds"], cap or spec["seeds"]))
                       for name, spec in config.get("claims", {}).items()}
        self._figures: dict[str, Figure] | None = None
        self._runs: dict[str, dict[str, Any]] | None = None
        self._parents: dict[str, str] = {}  # run -> the run it starts from

    # ------------------------------------------------------------ runs and names

    def resolve_base(self) -> dict[str, Any]:
        return resolve(self.base)

    def canonical(self, run: Run) -> Run:
        """Fill knobs equal to the base (or meaningless under the run's schedule) with None, so
        equal runs compare (and name) equal."""
        d = self.defaults
        schedule = run.schedule or d["schedule"]
        knobs = {}
        for knob in KNOBS:
            value = getattr(run, knob.field)
            same = value is None or knob.normal(value) == knob.normal(d[knob.field])
            knobs[knob.field] = None if same or not knob.applies(schedule) else value
        init = None
        if run.init_from is not None:
            parent, epoch = run.init_from
            init = (self.canonical(parent), epoch)
        space = None if run.strength == 0 or run.space in (None, self.base_space) else run.space
        width = self.base_sigma2[space or self.base_space]
        return replace(
            run, **knobs, init_from=init, strength=float(run.strength), space=space,
            sigma2=None if run.strength == 0 or run.sigma2 in (None, width) else float(run.sigma2),
            checkpoints=tuple(sorted(run.checkpoints)))

    def name(self, run: Run) -> str:
        """The run's directory name: what differs from the base, in ``KNOBS`` order, then the seed;
        a run started from another is named after its parent (seed included) and the epoch it starts from."""
        run = self.canonical(run)
        parts = []
        if run.init_from is not None:
            parent, epoch = run.init_from
            parts.append(f"{self.name(parent)}-at{epoch}")
        else:
            parts.append(run.model)
        if run.strength == 0:
            parts.append("nohill")
        else:
            parts += [run.space] if run.space else []
            parts.append(f"s{number(run.strength)}")
            width = run.sigma2 if run.sigma2 is not None else self.base_sigma2[run.space or self.base_space]
            parts.append(f"sigma2_{number(width)}")
        if run.checkpoints:
            parts.append("ck" + "+".join(str(c) for c in run.checkpoints))
        parts += [knob.tag(getattr(run, knob.field)) for knob in KNOBS if getattr(run, knob.field) is not None]
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
        for knob in KNOBS:
            if getattr(run, knob.field) is not None:
                train[knob.field] = getattr(run, knob.field)
        if not train["first_cycle_epochs"] or train["schedule"] != "cosine_restarts":  # 0: plain SGDR
            train["first_cycle_epochs"] = None
        layer["snapshots"] = lr_minima(train)  # keep each cycle's minimum: a snapshot ensemble
        dist["strength"] = run.strength
        dist["space"] = run.space or self.base_space
        if run.sigma2 is not None:
            (dist["function"] if dist["space"] == "function" else dist)["sigma2"] = run.sigma2
        dist["checkpoints"] = list(run.checkpoints)
        layer["seed"] = run.seed
        if run.init_from is not None:
            parent, epoch = run.init_from
            layer["init"] = {"from": f"{self.config['results']}/runs/{self.name(parent)}", "epoch": epoch}
        return resolve(layer)

    def budget(self, run: Run, until: int | None = None) -> int:
        """Epochs of training behind a run (up to epoch ``until``): its own and its parents' up to
        where it started from them."""
        run = self.canonical(run)
        own = until if until is not None else (run.epochs or self.defaults["epochs"])
        return own + (self.budget(*run.init_from) if run.init_from is not None else 0)

    def schedule_words(self) -> str:
        """The base schedule in words (the report's regime and every caption's settings paragraph)."""
        t = self.defaults
        if t["schedule"] == "cosine_restarts":
            return (f"a first cosine cycle of {t['first_cycle_epochs']} epochs, then warm restarts every "
                    f"{t['restart_epochs']} epochs" if t["first_cycle_epochs"]
                    else f"cosine decay with warm restarts every {t['restart_epochs']} epochs")
        return f"a {t['schedule']} learning rate"

    def regime(self) -> str:
        """The base training regime in words (the report's opening page)."""
        data, t = resolve(self.base)["data"], self.defaults
        return (f"{data['dataset']} with {data['train_samples'] or 'all'} training samples; {t['epochs']} epochs of "
                f"SGD ({t['optimizer']}), batch {t['batch_size']}, learning rate {t['lr']:g} with "
                f"{self.schedule_words()}, weight decay {t['weight_decay']:g}; models "
                f"{', '.join(self.used_models())}; seeds "
                f"{', '.join(map(str, self.seeds))} (each figure as many as its claims declare); ensembles of "
                f"{self.config['peers']['members']} members, checkpoints after epochs "
                f"{', '.join(map(str, self.reference['checkpoints']))}.")

    def used_models(self) -> list[str]:
        """The models some run trains (a profile's ``models`` may keep others merged from config.yaml)."""
        used = {config["model"]["name"] for config in self.runs().values()}
        return [name for name, block in self.models.items() if block.get("name", name) in used]

    def caption_tail(self, figure: str) -> str:
        """The settings paragraph every figure's caption ends with (``snakemake.params.caption``)."""
        data, t = resolve(self.base)["data"], self.defaults
        seeds = ", ".join(map(str, self.seeds))
        source = FIGURE_TABLE[figure].source
        if source == "peers":
            from .peers import PEERS

            p = self.config["peers"]
            methods = "; ".join(f"{PEERS[key].label(self)} ({self.peer_budget(key)} epochs)" for key in p["methods"])
            return (f"Methods, each with its training budget in epochs: {methods}. Model: {p['model']}; data: "
                    f"{data['dataset']} ({data['train_samples'] or 'all'} training samples); replicates as many as "
                    f"the peer claims declare (the n column of results/claims.csv); deep ensembles use disjoint "
                    f"seed sets.")
        models = "; ".join(self.model_words(name) for name in self.used_models())
        text = (f"Data: {data['dataset']} ({data['train_samples'] or 'all'} training samples), {t['epochs']} epochs "
                f"of SGD with momentum {t['momentum']:g}, learning rate {t['lr']:g}, weight decay "
                f"{t['weight_decay']:g}, {self.schedule_words()} unless stated. Models: {models}. Seeds: as many of "
                f"{seeds} as the claims on this figure declare (the n column of results/claims.csv)")
        if source == "runs":
            text += ("; curves are the mean over seeds with a band of one standard deviation; a cross marks where "
                     "a diverged run ended")
        return text + "."

    def model_words(self, name: str) -> str:
        """A named model of ``models`` in words: its network and the options the profile sets."""
        block = self.models[name]
        network = block.get("name", name)
        options = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in block.get(network, {}).items())
        return f"{name}, the {network}{f' with {options}' if options else ''}"

    # ------------------------------------------------------------ building blocks of the table

    def distancing(self, model: str | None = None, **knobs: Any) -> Run:
        """The reference hill (s, σ², one checkpoint) with changes."""
        ref = self.reference
        settings = {"strength": ref["strength"], "sigma2": ref["sigma2"], "checkpoints": (ref["checkpoint"],)}
        settings.update(knobs)
        return Run(model or ref["model"], **settings)

    def function_distancing(self, model: str | None = None, **knobs: Any) -> Run:
        """The reference hill in function space (``distancing.function``: its s and σ_f²) with changes."""
        ref = self.reference["function"]
        return self.distancing(model, **{"space": "function", "strength": ref["strength"], "sigma2": ref["sigma2"],
                                         **knobs})

    def control(self, run: Run) -> Run:
        """The paired control of a distancing run: same schedule, seed and settings, no hill.

        Checkpoints are still stored (they do not change training) so distances to them are
        logged: the run's own and every learning-rate minimum of its schedule, so that the
        controls of different distancing runs on one schedule are one run.
        """
        ends = lr_minima(self.run_config(run)["train"])
        return replace(run, strength=0.0, sigma2=None, space=None,
                       checkpoints=tuple(sorted(set(run.checkpoints) | set(ends))))

    def single_network(self, model: str, **knobs: Any) -> Run:
        """One network trained with a plain cosine schedule for the whole budget: what ensembles must beat."""
        return Run(model, schedule="cosine", **knobs)

    def member_checkpoints(self) -> tuple[int, ...]:
        """The base schedule's last M − 1 cycle ends: with the final model, the M members of the
        snapshot ensemble, and the checkpoints of the peers' distancing run."""
        M = self.config["peers"]["members"]
        ends = lr_minima(self.defaults)
        if len(ends) < M - 1:
            raise ConfigError(f"peers.members: {M} members need {M - 1} cycle end(s) before the last epoch; "
                              f"base.train's schedule has {len(ends)} ({', '.join(map(str, ends)) or 'none'})")
        return tuple(ends[len(ends) - (M - 1):])

    # ------------------------------------------------------------ the table

    def figures(self) -> dict[str, Figure]:
        """Every figure: its source and its panels of series (the experiment design); built once."""
        if self._figures is None:
            settings = self.config["experiments"]
            self._figures = {name: Figure(name, spec.source, spec.panels(self, settings.get(name, {}))
                                          if spec.panels else ()) for name, spec in FIGURE_TABLE.items()}
        return self._figures

    # ------------------------------------------------------------ seeds

    def figure_seeds(self, figure: str) -> list[int]:
        """The seeds behind a figure's curves: as many as its most demanding claim declares
        (all of ``seeds`` where no claim reads the figure)."""
        from .claims import statistics

        known = statistics()
        needed = [c["seeds"] for c in self.claims.values() if known[c["statistic"]].figure == figure]
        return self.seeds[:max(needed)] if needed else self.seeds

    def over_seeds(self, run: Run, figure: str) -> list[Run]:
        return [replace(run, seed=s) for s in self.figure_seeds(figure)]

    # ------------------------------------------------------------ peer ensembles

    def replicates(self) -> list[int]:
        """The peer ensembles' replicate seeds: as many as the most demanding peer claim declares."""
        from .claims import statistics

        known = statistics()
        needed = [c["seeds"] for c in self.claims.values() if known[c["statistic"]].peers]
        return self.seeds[:max(needed)] if needed else self.seeds

    def peer_members(self) -> dict[str, list[list[tuple[Run, tuple[int, ...]]]]]:
        """Ensembles at the declared budget, per peer key of ``peers.methods``: one ensemble per
        replicate, each a list of (run, epochs of its members), from the registry (``peers.PEERS``)."""
        from .peers import PEERS

        return {key: [PEERS[key].members(self, i, seed) for i, seed in enumerate(self.replicates())]
                for key in self.config["peers"]["methods"]}

    def peer_budget(self, key: str) -> int:
        """Epochs of training behind one ensemble of a peer (its first replicate): each run it
        uses, with its parents' epochs up to where it started from them."""
        from .peers import PEERS

        runs = {self.name(run): run for run, _ in PEERS[key].members(self, 0, self.seeds[0])}
        return sum(self.budget(run) for run in runs.values())

    def peers(self) -> dict[str, dict[str, Any]]:
        """Per peer key: its label, budget and ensembles with run names (what the ensembles script reads)."""
        from .peers import PEERS

        return {key: {"label": PEERS[key].label(self), "budget": self.peer_budget(key),
                      "ensembles": [[(self.name(run), list(epochs)) for run, epochs in members]
                                    for members in ensembles]}
                for key, ensembles in self.peer_members().items()}

    def peer_runs(self) -> list[str]:
        return sorted({name for peer in self.peers().values() for members in peer["ensembles"]
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

    def parent(self, name: str) -> str | None:
        """The run a run starts from (its ``init.from``), or None."""
        self.runs()
        return self._parents.get(name)

    def runs(self) -> dict[str, dict[str, Any]]:
        """Every unique run the figures and peer ensembles need, with the parents runs start from:
        name -> resolved run config. A parent saves its state at the epochs its children start from."""
        if self._runs is not None:
            return self._runs
        wanted = [seeded for figure in self.figures().values() for panel in figure.panels for s in panel.series
                  for seeded in self.over_seeds(s.run, figure.name)]
        wanted += [run for ensembles in self.peer_members().values() for members in ensembles
                   for run, _ in members]
        result: dict[str, dict[str, Any]] = {}
        starts: dict[str, set[int]] = {}
        while wanted:
            run = self.canonical(wanted.pop(0))
            name = self.name(run)
            if name in result:
                continue
            result[name] = self.run_config(run)
            if run.init_from is not None:
                parent, epoch = run.init_from
                parent_epochs = self.run_config(parent)["train"]["epochs"]
                if not 1 <= epoch <= parent_epochs:
                    raise ConfigError(f"init.from: run {name} starts after epoch {epoch} of {self.name(parent)}, "
                                      f"which trains {parent_epochs} epochs")
                starts.setdefault(self.name(parent), set()).add(epoch)
                self._parents[name] = self.name(parent)
                wanted.append(parent)
        for name, epochs in starts.items():
            result[name] = resolve(dict(result[name], saved_states=sorted(epochs)))
        self._runs = result
        return result


def import_plugins(config: Mapping[str, Any]) -> None:
    """Import the modules under ``plugins``: they register peers (``peers.register``) or figures."""
    import importlib

    for module in config.get("plugins", []):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(f"plugins: cannot import {module!r} ({exc})") from None


def check_config(config: Mapping[str, Any], schema_path: str) -> Experiments:
    """Validate the pipeline config against its schema (``experiments`` from the figure table),
    then every run it implies.

    Raises ConfigError with one line naming the offending key (``base.`` for run keys).
    """
    import jsonschema
    import yaml

    import_plugins(config)
    from .peers import PEERS

    with open(schema_path) as f:
        schema = yaml.safe_load(f)
    schema["properties"]["experiments"] = settings_schema()
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
    named = [("distancing.model", config["distancing"]["model"]), ("peers.model", config["peers"]["model"])]
    for fig, settings in experiments.items():
        named += [(f"experiments.{fig}.model", settings["model"])] if "model" in settings else []
        named += [(f"experiments.{fig}.models", m) for m in settings.get("models", [])]
    for key, name in named:
        if name not in models:
            raise ConfigError(f"{key}: no model named {name!r} under models; defined: {', '.join(models)}")
    check_claims(config)
    try:
        experiments = Experiments(config)
    except ConfigError as exc:  # the base run config itself
        raise ConfigError(f"base.{exc}") from None
    epochs, members = experiments.defaults["epochs"], config["peers"]["members"]
    if epochs % members:
        raise ConfigError(f"peers.members: base.train.epochs ({epochs}) must be a multiple of it, got {members}")
    check_epochs(config, epochs)
    try:
        experiments.runs()
    except ConfigError as exc:  # a run's keys come from base, unless the error names its own block
        message = str(exc)
        raise ConfigError(message if message.startswith(("models.", "peers.", "init.")) else f"base.{message}") \
            from None
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
    non-inferiority (and then positive), no more seeds than the config lists, its controls and
    qualifiers declared (claims.py: what a control gates)."""
    from .claims import DIRECTIONS, METRICS, statistics

    known = statistics()
    declared = config.get("claims", {})
    statistics = {(spec.get("statistic"), spec.get("metric")) for spec in declared.values()}
    for claim, spec in declared.items():
        key = f"claims.{claim}"
        statistic = known.get(spec["statistic"])
        if statistic is None:
            raise ConfigError(f"{key}.statistic: unknown statistic {spec['statistic']!r}; known: "
                              f"{', '.join(known)}")
        absent = [peer for peer in statistic.peers if peer not in config["peers"]["methods"]]
        if absent:
            raise ConfigError(f"{key}.statistic: {spec['statistic']} compares the peer {absent[0]!r}, which "
                              f"peers.methods does not list")
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
        if min(spec["seeds"], config.get("max_claim_seeds") or spec["seeds"]) > len(config["seeds"]):
            raise ConfigError(f"{key}.seeds: the claim needs {spec['seeds']} seeds, but seeds lists "
                              f"{len(config['seeds'])}")
        for rests, names in (("rests on the control", statistic.controls), ("is qualified by", statistic.qualifiers)):
            missing = [c for c in names if (c, metric) not in statistics]
            if missing:
                raise ConfigError(f"{key}.statistic: {spec['statistic']} {rests} {missing[0]}"
                                  f"{f' in {metric}' if metric else ''}, which no claim declares")


def cli_settings(run_config: Mapping[str, Any]) -> str:
    """The run config as ``--set key=JSON`` arguments: one plain string for Snakemake params."""
    import shlex

    return " ".join(f"--set {shlex.quote(f'{key}={json.dumps(value)}')}" for key, value in run_config.items())
