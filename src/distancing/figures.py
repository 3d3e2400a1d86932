"""The figure table: the one table of the experiment design.

``FIGURE_TABLE`` maps a figure to the key of its source (``sources.py``), the schema of its
settings under ``experiments`` and a function building its panels -> series from a run builder
(``runs.RunBuilder``), each series a stable data key, a display label and a run. The plan
(``plan.py``) derives the Snakemake targets, each figure's inputs, the runs to train, the claims'
inputs and the config schema's ``experiments`` from it; a figure is one ``@figure`` entry, one
plot script and one caption. No torch here: the Snakefile imports this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .config import check_inside_training
from .runs import Run, RunBuilder, number
from .sources import Source


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
    """A figure: where its data come from (``sources.py``: a kind of source, which knows the
    figure's inputs and what its runs evaluate) and its panels.
    ``function_distance``: whether it reads distances.csv's function distance (its runs log it).
    """

    name: str
    source: Source
    panels: tuple[Panel, ...] = ()
    function_distance: bool = False


@dataclass(frozen=True)
class FigureSpec:
    """An entry of the figure table: the key of its source (``sources.source_of``), the JSON schema
    of its settings under ``experiments`` (None: it takes none), and the function that builds its
    panels from them."""

    source: str
    settings: dict[str, Any] | None = None
    panels: Callable[[RunBuilder, dict[str, Any]], tuple[Panel, ...]] | None = None
    function_distance: bool = False
    check: Callable[[str, RunBuilder, dict[str, Any]], None] | None = None  # what its schema cannot say


FIGURE_TABLE: dict[str, FigureSpec] = {}  # figure name -> spec, in the order figures are listed


def figure(name: str, source: str, settings: dict[str, Any] | None = None, function_distance: bool = False,
           check: Callable[[str, RunBuilder, dict[str, Any]], None] | None = None):
    """Register a figure's panel builder (a decorator): a new figure is one entry, one script, one
    caption. ``function_distance``: its script reads the function distance (nothing logs it otherwise).
    ``check(key, builder, settings)``: refuses, in one line naming ``key.<setting>``, settings its
    schema cannot rule out (the plan calls it with ``experiments.<name>`` before any job)."""
    def register(panels: Callable[[RunBuilder, dict[str, Any]], tuple[Panel, ...]] | None = None):
        FIGURE_TABLE[name] = FigureSpec(source, settings, panels, function_distance, check)
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
def _fig1_1(e: RunBuilder, f: dict[str, Any]) -> tuple[Panel, ...]:
    return (Panel("fig1_1", "", (
        Series("fixed_lr", f"fixed learning rate {number(f['lr'])}", Run(f["model"], lr=f["lr"], schedule="constant")),
        Series("sgdr", f"cosine decay with warm restarts every {f['restart_epochs']} epochs", e.control(
            Run(f["model"], lr=f["lr"], schedule="cosine_restarts", restart_epochs=f["restart_epochs"],
                first_cycle_epochs=0))),
    )),)


figure("fig2_1", "formula")()


@figure("fig3_1", "runs")
def _fig3_1(e: RunBuilder, f: dict[str, Any]) -> tuple[Panel, ...]:
    ref, one = e.reference, e.distancing()
    return (Panel("fig3_1", "", (
        Series("no_hill", "no hill (same schedule)", e.control(one)),
        Series("distancing", f"distancing, s = {number(ref['strength'])}, σ² = {number(ref['sigma2'])}", one),
    )),)


@figure("fig3_2", "runs", STRENGTHS)
def _fig3_2(e: RunBuilder, f: dict[str, Any]) -> tuple[Panel, ...]:
    # The s sweep stores the reference checkpoints (every cycle end), so Figure 3.8 builds its
    # ensembles from the same runs.
    return (Panel("fig3_2", "influence of the strength s", (
        Series("no_hill", "no hill (s = 0)", e.control(e.distancing())),
        *(Series(f"s{number(s)}", f"s = {number(s)}", e.distancing(strength=s, checkpoints=e.many), value=s)
          for s in f["strengths"]),
    )),)


@figure("fig3_3", "runs", _settings({"sigma2s": {"type": "array", "minItems": 1, "items": POSITIVE}}))
def _fig3_3(e: RunBuilder, f: dict[str, Any]) -> tuple[Panel, ...]:
    return (Panel("fig3_3", "influence of the width σ²", (
        Series("no_hill", "no hill", e.control(e.distancing())),
        *(Series(f"sigma2_{number(v)}", f"σ² = {number(v)}", e.distancing(sigma2=v), value=v) for v in f["sigma2s"]),
    )),)


@figure("fig3_4", "runs", MODELS)
def _fig3_4(e: RunBuilder, f: dict[str, Any]) -> tuple[Panel, ...]:
    many = e.many
    return tuple(Panel(name, name, (
        Series("no_hill", "no hill", e.control(e.distancing(name, checkpoints=many))),
        *(Series(f"k{k}", f"{k} checkpoint{'s' if k > 1 else ''}", e.distancing(name, checkpoints=many[:k]), value=k)
          for k in range(1, len(many) + 1)),
    )) for name in f["models"])


@figure("fig3_5", "runs", _settings({"weight_decays": {"type": "array", "minItems": 2, "uniqueItems": True,
                                                        "items": {"type": "number", "minimum": 0}}}))
def _fig3_5(e: RunBuilder, f: dict[str, Any]) -> tuple[Panel, ...]:
    return tuple(Panel(f"wd{number(wd)}", f"weight decay {number(wd)}" if wd else "no weight decay", (
        Series("distancing", "distancing", e.distancing(checkpoints=e.many, weight_decay=wd)),
        Series("no_hill", "no hill", e.control(e.distancing(checkpoints=e.many, weight_decay=wd))),
    ), value=wd) for wd in f["weight_decays"])


def checkpoints_inside_training(key: str, e: RunBuilder, f: dict[str, Any]) -> None:
    """The figure's own checkpoints lie inside training."""
    check_inside_training(f"{key}.checkpoints", f["checkpoints"], e.defaults["epochs"])


@figure("fig3_6", "runs", _settings({**SGDR, "checkpoints": {"type": "array", "minItems": 1, "items": EPOCH}}),
        check=checkpoints_inside_training)
def _fig3_6(e: RunBuilder, f: dict[str, Any]) -> tuple[Panel, ...]:
    suboptimal = {"lr": f["lr"], "schedule": "cosine_restarts", "restart_epochs": f["restart_epochs"],
                  "first_cycle_epochs": 0}  # the paper's plain SGDR
    hill = e.distancing(checkpoints=tuple(f["checkpoints"]), **suboptimal)
    return (Panel("fig3_6", "", (
        Series("reference_lr", f"SGDR, lr {number(e.defaults['lr'])} (reference)", e.control(replace(hill, lr=None))),
        Series("no_hill", f"SGDR, lr {number(f['lr'])}", e.control(hill)),
        Series("distancing", f"SGDR, lr {number(f['lr'])}, with distancing", hill),
    )),)


@figure("fig3_7", "ensembles", MODELS)
def _fig3_7(e: RunBuilder, f: dict[str, Any]) -> tuple[Panel, ...]:
    return tuple(Panel(name, name, (
        Series("single", "single network (cosine schedule)", e.single_network(name)),
        Series("no_hill", "no hill: cycle ends + final (snapshot ensemble)",
               e.control(e.distancing(name, checkpoints=e.many))),
        Series("distancing", "distancing: checkpoints + final", e.distancing(name, checkpoints=e.many)),
    )) for name in f["models"])


@figure("fig3_8", "ensembles", STRENGTHS)
def _fig3_8(e: RunBuilder, f: dict[str, Any]) -> tuple[Panel, ...]:
    return (Panel("fig3_8", "", (
        Series("no_hill", "s = 0 (no hill)", e.control(e.distancing(checkpoints=e.many)), value=0.0),
        *(Series(f"s{number(s)}", f"s = {number(s)}", e.distancing(strength=s, checkpoints=e.many), value=s)
          for s in f["strengths"]),
    )),)


def distance_matched_step(e: RunBuilder, model: str, lr: float) -> Run:
    """A no-hill step as long as the hill's: the twin's state after the hill's first checkpoint,
    trained to the base's last epoch in plain SGDR cycles of the base's restart length at a larger
    learning rate, chosen on calibration seeds by the distance it travels, never by its barrier
    (``benchmarks/matched_step.py``). Its cycle ends are its members, as the twin's are."""
    start = e.many[0]
    twin = e.control(e.distancing(model, checkpoints=e.many))
    return e.control(Run(model, schedule="cosine_restarts", first_cycle_epochs=0, lr=lr,
                         epochs=e.defaults["epochs"] - start, init_from=(twin, start)))


@figure("basins", "barriers", {**MODELS, "properties": {
    **MODELS["properties"],
    "matched_lr": {"type": "object", "additionalProperties": {"oneOf": [POSITIVE, {"type": "null"}]},
                   "description": "model -> the learning rate of its distance-matched no-hill step (optional; "
                                  "a model without one, or null, has no such step)"}}})
def _basins(e: RunBuilder, f: dict[str, Any]) -> tuple[Panel, ...]:
    # Which members each series pairs is the barriers measurement's (measurements/barriers.py, member_pairs):
    # every two members of a run from the hill's checkpoint on, or one seed's final member with the next seed's.
    def series(name: str) -> tuple[Series, ...]:
        twin = e.control(e.distancing(name, checkpoints=e.many))
        found = (Series("distancing", "distancing", e.distancing(name, checkpoints=e.many)),
                 Series("no_hill", "no hill: the same epochs (its twin)", twin))
        lr = f.get("matched_lr", {}).get(name)
        if lr is not None:
            found += (Series("matched", f"no hill, restarted at lr {number(lr)} (as far as the hill)",
                             distance_matched_step(e, name, lr)),)
        return (*found, Series("independent", "independent seeds: final → final", twin))

    return tuple(Panel(name, name, series(name)) for name in f["models"])


@figure("basins_plane", "plane", _settings({"model": {"type": "string"}}))
def _basins_plane(e: RunBuilder, f: dict[str, Any]) -> tuple[Panel, ...]:
    # One seed drawn (measurements/plane.py, plane_corners): the hill's checkpoint with both runs'
    # next members, and with both runs' final members.
    return (Panel(f["model"], f["model"], (
        Series("distancing", "distancing", e.distancing(f["model"], checkpoints=e.many)),
        Series("no_hill", "no hill (its twin)", e.control(e.distancing(f["model"], checkpoints=e.many))),
    )),)


# Each pair's barrier against how far apart its members are: a longer step along a curved valley
# against a ridge (the barriers measurement, drawn a second way).
figure("basins_distance", "barriers")()


def peer_models(e: RunBuilder, f: dict[str, Any]) -> tuple[Panel, ...]:
    """One panel per model of ``peers.models``: its peer ensembles (the peer tables' ``model``),
    so that each model's peer comparisons, and what they rest on, are that model's own."""
    return tuple(Panel(model, model, ()) for model in e.config["peers"]["models"])


for _name in ("peers_members", "peers_diversity", "peers_weights", "peers_spaces"):
    figure(_name, "peers")(peer_models)
# The peers' members averaged in weight space (SWA's average) against their ensembles (the averages measurement).
figure("weight_averages", "averages")(peer_models)


def settings_schema() -> dict[str, Any]:
    """The schema of ``experiments``, from the figure table: one entry per figure that takes settings."""
    wanted = {name: spec.settings for name, spec in FIGURE_TABLE.items() if spec.settings is not None}
    return {"type": "object", "additionalProperties": False, "required": list(wanted), "properties": wanted}

