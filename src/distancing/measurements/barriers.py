"""The barriers measurement: does the hill carry the network into another basin?

For each model and seed of the ``basins`` figure it reads every pair of a run's members from the
hill's first checkpoint on, for the hill and its twin, the checkpoint with each member of the
distance-matched no-hill step where the profile trains one (``figures.distance_matched_step``),
and final members of independently seeded runs (``member_pairs``), and walks the straight line
between them (``basins.line``: BatchNorm recomputed at every point), writing the path
(``paths``) and its barriers (``barriers``, with the weight distance between the ends and the
ends' own training loss and validation error: a barrier is an excess over the blend of the ends,
and an end high on a valley wall is not a ridge).

Its statistics decide two questions per model and kind of pair (``PAIR_KINDS``: the step the
hill acts on, and the checkpoint to the final member):

- *is the hill's barrier higher than its twin's?* (``barrier_<column>_hill_vs_twin_<kind>``,
  paired by seed), and than a no-hill step that travels as far (``_hill_vs_matched_``: a longer
  step may meet a higher barrier along one curved valley), resting on the control that
  independent networks stand behind a higher one;
- *one basin or another?* (``basin_<column>_<hill|twin>_<kind>``), against thresholds the claims
  declare before the run (``threshold``): the error barrier against Frankle et al.'s 2 points,
  the training-loss barrier against a fraction of the independent networks' barrier. Below: one
  basin; above: another basin; otherwise undecided.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..claims.catalogue import Evidence, Statistic, register_statistics
from ..config import ConfigError, member_kinds
from ..members import Stored
from .registry import Measurement, PlanView, Reading, register

INDEPENDENT = "independent"  # the series whose seeds member_pairs pairs with each other
MATCHED = "matched"  # steps from the twin's checkpoint as far as the hill (figures.distance_matched_step)


def member_pairs(plan: PlanView, figure: str) -> list[Reading]:
    """Pairs ``a`` → ``b`` per panel, series, seed and ``pair`` ("33-39": the members' epochs). The
    hill's series and its twin pair every two members a run keeps from the hill's first checkpoint
    on: the checkpoint with the next member (the step the hill acts on), each member with every
    later one, the checkpoint with the final member (the ensemble's widest pair); the twin keeps
    the same epochs, so each pair has its no-hill counterpart. The series ``independent`` pairs
    the final members of disjoint pairs of seeds (the first two, the next two, ...; "seed" is the
    first of each): networks that share nothing but their recipe, the control that shows a
    barrier can be detected at all. Disjoint, so that its values are independent of each other as
    a claim's interval assumes."""
    runs, readings = plan.runs(), []
    for panel_key, panel in plan.figure_runs(figure).items():
        if "distancing" not in panel["series"]:
            raise ConfigError(f"measurements: the figure {figure} has no series 'distancing' to take the "
                              f"hill's checkpoint from (panel {panel_key})")
        checkpoint = runs[panel["series"]["distancing"]["runs"][0]]["distancing"]["checkpoints"][0]
        for series_key, series in panel["series"].items():
            names = series["runs"]
            for i, name in enumerate(names):
                config = runs[name]
                if series_key == INDEPENDENT:
                    if i % 2 or i + 1 == len(names):
                        continue
                    final = config["train"]["epochs"]
                    pairs = [(f"{final}-{final}", [name, final], [names[i + 1], final])]
                elif series_key == MATCHED:  # from the twin's checkpoint, which its epochs count on from
                    twin, start = Path(config["init"]["from"]).name, config["init"]["epoch"]
                    pairs = [(f"{start}-{start + e}", [twin, start], [name, e]) for e in member_kinds(config)]
                else:
                    kept = [e for e in member_kinds(config) if e >= checkpoint]
                    pairs = [(f"{a}-{b}", [name, a], [name, b]) for a, b in combinations(kept, 2)]
                readings += [{"about": {"panel": panel_key, "series": series_key, "seed": config["seed"],
                                        "pair": pair}, "members": {"a": a, "b": b}} for pair, a, b in pairs]
    return readings


BARRIER_KEYS = ("panel", "series", "seed", "pair", "a_run", "a_epoch", "b_run", "b_epoch")
ENDPOINT_VALUES = ("train_loss", "val_error")  # each end's, beside the barriers: how high on the valley wall
PATH_VALUES = ("t", "train_loss", "val_loss", "val_error")


def walk(stored: Stored, reading: Mapping[str, Any], settings: Mapping[str, Any],
         b: Mapping[str, np.ndarray] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The path between a reading's members (``basins.line``) as rows of ``paths``, and its row of
    ``barriers``: the weight distance between the ends, the ends' own values and the barriers.
    ``b``: a state to walk to instead of member b's own (its units aligned, ``aligned.py``)."""
    from ..basins import barrier, forward_pass, line, network

    (a_run, a_epoch), (b_run, b_epoch) = reading["members"]["a"], reading["members"]["b"]
    config, data, parameters = stored.configs[a_run], stored.data(a_run), stored.members(a_run).parameters
    a, b = stored.state(a_run, a_epoch), stored.state(b_run, b_epoch) if b is None else b
    rows = line(network(config, data), a, b, parameters, data, settings["points"], settings["samples"],
                config["train"]["eval_batch_size"], forward_pass(config))
    about = dict(reading["about"], a_run=a_run, a_epoch=a_epoch, b_run=b_run, b_epoch=b_epoch)
    t = [row["t"] for row in rows]
    flat = [np.concatenate([np.asarray(state[name]).ravel() for name in parameters]) for state in (a, b)]
    found = dict(about, weight_distance=float(np.linalg.norm(flat[0].astype(np.float64) - flat[1])),
                 **{f"{end}_{column}": row[column] for end, row in (("a", rows[0]), ("b", rows[-1]))
                    for column in ENDPOINT_VALUES},
                 **{f"{column}_barrier": barrier(t, [row[column] for row in rows]) for column in PATH_VALUES[1:]})
    logging.info("%s: %s", " ".join(map(str, reading["about"].values())),
                 ", ".join(f"{k} {v:.4f}" for k, v in found.items() if k.endswith("_barrier")))
    return [dict(about, point=i, **row) for i, row in enumerate(rows)], found


def measure(stored: Stored, readings: Sequence[Mapping[str, Any]], settings: Mapping[str, Any],
            read: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:  # noqa: ARG001
    """The path between each pair of members (a row per point into ``paths``) and its barriers (a
    row per pair into ``barriers``), with the weight distance between the ends (``walk``)."""
    paths, barriers = [], []
    for reading in readings:
        path, found = walk(stored, reading, settings)
        paths += path
        barriers.append(found)
    return {"paths": paths, "barriers": barriers}


BARRIER_COLUMNS = (*BARRIER_KEYS, "weight_distance", *(f"{end}_{column}" for end in "ab" for column in ENDPOINT_VALUES),
                   "train_loss_barrier", "val_loss_barrier", "val_error_barrier")  # a row of walk
LINE_SETTINGS = {"points": {"type": "integer", "minimum": 3},  # on the line, both ends included
                 "samples": {"type": "integer", "minimum": 2}}  # training inputs of each BatchNorm pass


register(Measurement(
    "barriers", on="basins", reads=member_pairs, compute="distancing.measurements.barriers:measure",
    tables={"barriers": BARRIER_COLUMNS, "paths": (*BARRIER_KEYS, "point", *PATH_VALUES)}, settings=LINE_SETTINGS))


# The pairs the claims decide, each from the hill's first checkpoint (the table has every pair).
PAIR_KINDS = {"step": "from the hill's first checkpoint to the run's next member",
              "to_final": "from the hill's first checkpoint to the run's final member"}
SERIES = {"hill": "distancing", "twin": "no_hill", "matched": MATCHED}  # a statistic's word -> the series key


def pair_of(table: pd.DataFrame, panel: str, kind: str) -> str:
    """The ``pair`` key of a kind of pair (``PAIR_KINDS``) in a panel: the hill's first checkpoint
    and the next or the last member after it (every series names its pairs in the hill's epochs)."""
    rows = table[(table["panel"] == panel) & (table["series"] == SERIES["hill"])]
    first = int(rows["a_epoch"].min())
    after = rows.loc[rows["a_epoch"] == first, "b_epoch"]
    return f"{first}-{int(after.min() if kind == 'step' else after.max())}"


def barrier_of(e: Evidence, panel: str, series: str, column: str, kind: str = "step",
               measurement: str = "barriers") -> dict[int, float]:
    """Seed -> the barrier of one series' pair of members of a kind (the independent series has
    one pair per seed; ``column``: train_loss, val_loss or val_error; the error in points), from
    the table ``barriers`` of this measurement or of one walking the same pairs (``aligned.py``)."""
    table = e.table(measurement, "barriers")
    rows = table[(table["panel"] == panel) & (table["series"] == series)]
    if series != INDEPENDENT:
        rows = rows[rows["pair"] == pair_of(table, panel, kind)]
    scale = 100.0 if column.endswith("error") else 1.0
    return {int(seed): scale * float(value) for seed, value in zip(rows["seed"], rows[f"{column}_barrier"],
                                                                      strict=True)}


def hill_barrier_excess(column: str, kind: str, other: str = "twin") -> Callable[[Evidence, str, str], list[float]]:
    """Per seed: the barrier of the hill's pair of a kind − the other no-hill step's over the same
    epochs (its twin's, or the distance-matched step's)."""
    def compute(e: Evidence, panel: str, metric: str) -> list[float]:  # noqa: ARG001
        hill = barrier_of(e, panel, SERIES["hill"], column, kind)
        step = barrier_of(e, panel, SERIES[other], column, kind)
        return [hill[seed] - step.get(seed, np.nan) for seed in sorted(hill)]
    return compute


def independent_barrier_excess(column: str) -> Callable[[Evidence, str, str], list[float]]:
    """Per disjoint pair of seeds: the barrier between their independently seeded final members −
    the twin's barrier (checkpoint to next member) of the pair's first seed."""
    def compute(e: Evidence, panel: str, metric: str) -> list[float]:  # noqa: ARG001
        apart, twin = barrier_of(e, panel, INDEPENDENT, column), barrier_of(e, panel, "no_hill", column)
        return [apart[seed] - twin[seed] for seed in sorted(apart)]
    return compute


def error_barriers(series: str, kind: str = "step",
                   measurement: str = "barriers") -> Callable[[Evidence, str, str], list[float]]:
    """Per seed (per disjoint pair for the independent series): the validation-error barrier in points."""
    def compute(e: Evidence, panel: str, metric: str) -> list[float]:  # noqa: ARG001
        values = barrier_of(e, panel, series, "val_error", kind, measurement)
        return [values[seed] for seed in sorted(values)]
    return compute


def loss_barrier_fractions(series: str, kind: str,
                           measurement: str = "barriers") -> Callable[[Evidence, str, str], list[float]]:
    """Per seed: the training-loss barrier as a fraction of the mean barrier between independently
    seeded networks in the same table (the panel's reference height of a ridge between two basins;
    its own spread over the disjoint pairs is not carried into the interval). NaN where that mean
    is not positive."""
    def compute(e: Evidence, panel: str, metric: str) -> list[float]:  # noqa: ARG001
        apart = np.mean(list(barrier_of(e, panel, INDEPENDENT, "train_loss", measurement=measurement).values()))
        values = barrier_of(e, panel, series, "train_loss", kind, measurement)
        return [values[seed] / apart if apart > 0 else np.nan for seed in sorted(values)]
    return compute


BARRIERS = {"train_loss": "training-loss", "val_error": "validation-error"}
BARRIER_UNITS = {"train_loss": "nats", "val_error": "points"}
WHOSE = {"hill": "the hill's", "twin": "the no-hill twin's", "matched": "the distance-matched no-hill step's"}
ANOTHER_BASIN, ONE_BASIN = "another basin", "one basin"


def independent_control(column: str) -> Statistic:
    """Independently seeded networks stand behind a higher barrier than the twin's step: a barrier
    can be detected at all (the control of the hill's statistic in the same column)."""
    return Statistic(
        "", f"the {BARRIERS[column]} barrier between the final members of two independently seeded no-hill runs "
        f"− the twin's barrier from the checkpoint to its next member, per disjoint pair of seeds",
        BARRIER_UNITS[column], "independent networks lie in different basins, detectably",
        "independent networks look no more separated than one run's step", independent_barrier_excess(column),
        measurement="barriers")


OTHER_STEPS = {"twin": WHOSE["twin"], "matched": f"{WHOSE['matched']} (as far as the hill)"}


def hill_against(column: str, kind: str, control: str, other: str = "twin") -> Statistic:
    """The hill's pair of a kind against another no-hill step's over the same epochs: its twin's,
    or the step that travels as far (where a longer step alone would explain a higher barrier)."""
    return Statistic(
        "", f"the {BARRIERS[column]} barrier {PAIR_KINDS[kind]} − {OTHER_STEPS[other]} over the same epochs, "
        f"paired by seed", BARRIER_UNITS[column],
        "the hill's pair stands behind a higher barrier", "the hill's pair stands behind a lower barrier",
        hill_barrier_excess(column, kind, other), controls=(control,), measurement="barriers")


def independent_basin(measurement: str = "barriers", how: str = "") -> Statistic:
    """Independently seeded networks, against the error threshold of one basin: whether the
    threshold can call anything another basin (the control of every basin statistic). ``how``:
    what was done to the pair before walking the line (their units aligned)."""
    return Statistic(
        "", f"the validation-error barrier between the final members of two independently seeded no-hill runs"
        f"{how}, per disjoint pair of seeds", "points", ANOTHER_BASIN, ONE_BASIN,
        error_barriers(INDEPENDENT, measurement=measurement), measurement=measurement)


def basin(column: str, series: str, kind: str, measurement: str = "barriers", how: str = "") -> Statistic:
    """One series' pair of a kind against a declared threshold (the claim's ``threshold``): one
    basin below it, another above. The error barrier is in points (Frankle et al. 2020 call two
    networks linearly connected below 2); the training-loss barrier as a fraction of the barrier
    between independent networks. The hill's rests on the independent networks' control (the
    threshold can call a pair another basin at all) and is qualified by its twin's and by the
    distance-matched step's (either behind the same barrier would explain the hill's "another
    basin" without the hill, or by the distance alone). ``measurement``: the table it reads, and
    ``how`` what was done to the pair before walking the line."""
    aligned = "" if measurement == "barriers" else "_aligned"
    control = (f"basin_val_error_independent{aligned}" if column == "val_error" or aligned
               else "barrier_train_loss_independent_vs_twin")
    hill = series == "hill"
    if column == "val_error":
        measures, unit, compute = "", "points", error_barriers(SERIES[series], kind, measurement)
    else:
        measures, unit = f", as a fraction of the mean barrier between independently seeded networks{how}", \
            "of the independent networks' barrier"
        compute = loss_barrier_fractions(SERIES[series], kind, measurement)
    return Statistic(
        "", f"{WHOSE[series]} {BARRIERS[column]} barrier {PAIR_KINDS[kind]}{how}{measures}, per seed", unit,
        ANOTHER_BASIN, ONE_BASIN, compute, controls=(control,) if hill else (),
        qualifiers=(f"basin_{column}_twin_{kind}{aligned}", *(() if aligned else (f"basin_{column}_matched_{kind}",)))
        if hill else (), measurement=measurement)


# Each basin statistic's (column, series, kind of pair): what the results page decides them by.
BASIN_STATISTICS = {f"basin_{column}_{series}_{kind}": (column, series, kind)
                    for column in BARRIERS for series in SERIES for kind in PAIR_KINDS}


def barrier_statistics() -> dict[str, Statistic]:
    """The basins figure's statistics (``basins.py``): per barrier, the hill's pair against its
    twin's (each kind of pair), resting on the independent networks' control; and per kind of
    pair, the hill's and its twin's barrier against the threshold of one basin."""
    found = {"basin_val_error_independent": independent_basin()}
    for column in BARRIERS:
        control = f"barrier_{column}_independent_vs_twin"
        found[control] = independent_control(column)
        for kind in PAIR_KINDS:
            for other in OTHER_STEPS:
                found[f"barrier_{column}_hill_vs_{other}_{kind}"] = hill_against(column, kind, control, other)
    return found | {name: basin(*about) for name, about in BASIN_STATISTICS.items()}


register_statistics(barrier_statistics)
