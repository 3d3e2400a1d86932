"""The run builder: a training run as a point in a small space of knobs, its name and its config,
and the tree of runs that share their first epochs.

A run is a point in a small space of knobs (model, the hill's strength and σ², checkpoint
epochs, the ``train`` settings of ``KNOBS``, the run it starts from, seed) on top of the
``base`` run config. Its directory name is made from the knobs that differ from the base, in a
fixed order, so the same run requested by several figures has one name and trains once.
``RunBuilder`` turns runs into names and run configs; ``RunSet`` collects the runs a plan
wants, with the parents runs start from (``init``) and the trunks runs branch from
(``branching.py``). Figures and peers receive a builder; the plan (``plan.py``) sits above.
No torch here: the Snakefile imports this.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .branching import shared_epochs, static_part
from .config import ConfigError, hill_width, merge, resolve, set_hill_width


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



class RunBuilder:
    """Runs, their names and run configs, from a validated pipeline config."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.base = config["base"]
        self.models = config["models"]
        self.seeds = list(config["seeds"])
        self.reference = config["distancing"]
        self.many = tuple(self.reference["checkpoints"])
        resolved_base = self.resolve_base()
        self.defaults = resolved_base["train"]
        self.base_hill = resolved_base["distancing"]
        self.base_space = self.base_hill["space"]

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
        width = hill_width(self.base_hill, space or self.base_space)
        return replace(
            run, **knobs, init_from=init, strength=float(run.strength), space=space,
            sigma2=None if run.strength == 0 or run.sigma2 in (None, width) else float(run.sigma2),
            checkpoints=tuple(sorted(run.checkpoints)))

    def name(self, run: Run) -> str:
        """The run's directory name: what differs from the base, in ``KNOBS`` order, then the seed;
        a run started from another is named after its parent (seed included) and the epoch it starts from."""
        return f"{self.group(run)}-seed{self.canonical(run).seed}"

    def group(self, run: Run) -> str:
        """The run's name without its own seed: the runs that differ only by seed form a group."""
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
            width = run.sigma2 if run.sigma2 is not None else hill_width(self.base_hill, run.space or self.base_space)
            parts.append(f"sigma2_{number(width)}")
        if run.checkpoints:
            parts.append("ck" + "+".join(str(c) for c in run.checkpoints))
        parts += [knob.tag(getattr(run, knob.field)) for knob in KNOBS if getattr(run, knob.field) is not None]
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
            set_hill_width(dist, dist["space"], run.sigma2)
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



@dataclass(frozen=True)
class RunSet:
    """Every unique run a plan wants, as a tree: name -> resolved run config; the parent a run
    starts from (``init``; the parent saves its state at those epochs, ``saved_states``); and the
    trunk a run branches from (``branching.py``; the trunk keeps its state there, ``branch_states``)."""

    configs: dict[str, dict[str, Any]]
    parents: dict[str, str]  # run -> the run whose saved state it starts from
    trunks: dict[str, tuple[str, int]]  # run -> (the run that trains its first epochs, the last of them)
    groups: dict[str, str]  # run -> its group: the runs that differ only by seed (``RunBuilder.group``)

    def epochs_described(self) -> int:
        """The epochs the runs describe, each from its first."""
        return sum(config["train"]["epochs"] for config in self.configs.values())

    def epochs_trained(self) -> int:
        """The epochs trained: a branch trains only those after its trunk's."""
        return self.epochs_described() - sum(epoch for _, epoch in self.trunks.values())


def reseeded(run: Run, seed: int) -> Run:
    """The run at another seed, and the run it starts from (``init_from``) at the same seed."""
    parent = None if run.init_from is None else (reseeded(run.init_from[0], seed), run.init_from[1])
    return replace(run, seed=seed, init_from=parent)


def trunk_first(item: tuple[str, Mapping[str, Any]]) -> tuple[bool, str]:
    """The order in which runs may become trunks: runs without a hill first (the controls every
    hill run shares its start with, so that a change to a hill retrains only hill runs), then by name."""
    name, config = item
    return config["distancing"]["strength"] > 0, name


def branch_points(configs: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, int]]:
    """Each run that shares its first epochs with a run before it (``trunk_first``): that run and the
    last shared epoch, the longest shared start (ties: the earlier run). Prefixes nest like the
    paths of a trie, so every epoch that some two runs share is trained once."""
    groups: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for item in sorted(configs.items(), key=trunk_first):
        groups.setdefault(static_part(item[1]), []).append(item)
    trunks = {}
    for members in groups.values():
        for i, (name, config) in enumerate(members):
            shared = [(shared_epochs(earlier, config), -j, trunk) for j, (trunk, earlier) in enumerate(members[:i])]
            epoch, _, trunk = max(shared, default=(0, 0, ""))
            if epoch > 0:
                trunks[name] = (trunk, epoch)
    return trunks


def collect(builder: RunBuilder, wanted: Iterable[Run], curves: Iterable[Run] = (),
            function_distance: Iterable[Run] = (), members: Iterable[Run] = ()) -> RunSet:
    """The runs ``wanted`` and the parents they start from, each once, with the states they keep for
    the runs that start (``init``) or branch (``branching.py``) from them.

    Each evaluation runs only where something reads it: per-epoch curves for the runs in
    ``curves``, the function distance for those in ``function_distance``, members on the extra
    held-out samples (``data.ensemble_val_samples``) for those in ``members``; the others evaluate
    only what their members need. A branch inherits its trunk's first epochs, records included, so
    a whole tree evaluates what any of its runs needs."""
    wanted = list(wanted)
    configs: dict[str, dict[str, Any]] = {}
    parents: dict[str, str] = {}
    groups: dict[str, str] = {}
    starts: dict[str, set[int]] = {}
    while wanted:
        run = builder.canonical(wanted.pop(0))
        name = builder.name(run)
        if name in configs:
            continue
        configs[name], groups[name] = builder.run_config(run), builder.group(run)
        if run.init_from is not None:
            parent, epoch = run.init_from
            parent_epochs = builder.run_config(parent)["train"]["epochs"]
            if not 1 <= epoch <= parent_epochs:
                raise ConfigError(f"init.from: run {name} starts after epoch {epoch} of {builder.name(parent)}, "
                                  f"which trains {parent_epochs} epochs")
            starts.setdefault(builder.name(parent), set()).add(epoch)
            parents[name] = builder.name(parent)
            wanted.append(parent)
    for name, epochs in starts.items():
        configs[name] = resolve(dict(configs[name], saved_states=sorted(epochs)))
    trunks = branch_points(configs)
    kept: dict[str, set[int]] = {}
    for trunk, epoch in trunks.values():
        kept.setdefault(trunk, set()).add(epoch)
    for name, epochs in kept.items():
        configs[name] = resolve(dict(configs[name], branch_states=sorted(epochs)))
    root = {name: root_of(name, trunks) for name in configs}

    def trees(runs: Iterable[Run]) -> set[str]:
        return {root[builder.name(run)] for run in runs}

    with_curves, with_function_distance, scored = trees(curves), trees(function_distance), trees(members)
    for name, config in configs.items():
        config["curves"] = root[name] in with_curves
        config["function_distance"] = root[name] in with_function_distance
        if root[name] not in scored:
            config["data"] = dict(config["data"], ensemble_val_samples=None)
    return RunSet(configs, parents, trunks, groups)


def root_of(name: str, trunks: Mapping[str, tuple[str, int]]) -> str:
    """The first trunk of a run's tree (the run itself if it branches from none)."""
    while name in trunks:
        name = trunks[name][0]
    return name
