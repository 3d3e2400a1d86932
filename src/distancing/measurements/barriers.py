"""The barriers measurement: is the hill's step from its checkpoint a step over a ridge?

For each model and seed of the ``basins`` figure it reads three kinds of pair (``checkpoint_steps``)
and walks the straight line between their members (``basins.line``: BatchNorm recomputed at every
point), writing the path (``paths``) and its barriers (``barriers``, with the weight distance
between the ends). Its statistics compare the hill's barrier with its twin's, resting on the
control that independent networks stand behind a higher one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..claims.catalogue import Evidence, Statistic, register_statistics
from ..config import ConfigError, member_kinds
from ..members import Stored
from .registry import Measurement, PlanView, Reading, register

INDEPENDENT = "independent"  # the series whose seeds checkpoint_steps pairs with each other


def checkpoint_steps(plan: PlanView, figure: str) -> list[Reading]:
    """Pairs ``a`` → ``b`` per panel, series and seed. The hill's series and its twin pair the
    member kept at the hill's first checkpoint with the same run's next member: the step the
    hill acts on, and the same step without it. The series ``independent`` pairs the final
    members of disjoint pairs of seeds (the first two, the next two, ...; "seed" is the first
    of each): networks that share nothing but their recipe, the control that shows a barrier
    can be detected at all. Disjoint, so that its values are independent of each other as a
    claim's interval assumes."""
    runs, readings = plan.runs(), []
    for panel_key, panel in plan.figure_runs(figure).items():
        if "distancing" not in panel["series"]:
            raise ConfigError(f"measurements: the figure {figure} has no series 'distancing' to take the "
                              f"hill's checkpoint from (panel {panel_key})")
        hill = runs[panel["series"]["distancing"]["runs"][0]]
        checkpoint = hill["distancing"]["checkpoints"][0]
        for series_key, series in panel["series"].items():
            names = series["runs"]
            for i, name in enumerate(names):
                config = runs[name]
                if series_key == INDEPENDENT:
                    if i % 2 or i + 1 == len(names):
                        continue
                    final = config["train"]["epochs"]
                    a, b = [name, final], [names[i + 1], final]
                else:
                    a, b = [name, checkpoint], [name, next(e for e in member_kinds(config) if e > checkpoint)]
                readings.append({"about": {"panel": panel_key, "series": series_key, "seed": config["seed"]},
                                 "members": {"a": a, "b": b}})
    return readings


BARRIER_KEYS = ("panel", "series", "seed", "a_run", "a_epoch", "b_run", "b_epoch")
PATH_VALUES = ("t", "train_loss", "val_loss", "val_error")


def measure(stored: Stored, readings: Sequence[Mapping[str, Any]], settings: Mapping[str, Any],
            read: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:  # noqa: ARG001
    """The path between each pair of members (``basins.line``, a row per point into ``paths``) and
    its barriers (a row per pair into ``barriers``), with the weight distance between the ends."""
    from ..basins import barrier, line, network

    paths, barriers = [], []
    for reading in readings:
        (a_run, a_epoch), (b_run, b_epoch) = reading["members"]["a"], reading["members"]["b"]
        config, data = stored.configs[a_run], stored.data(a_run)
        rows = line(network(config, data), stored.state(a_run, a_epoch), stored.state(b_run, b_epoch),
                    stored.members(a_run).parameters, data, settings["points"], settings["samples"],
                    config["train"]["eval_batch_size"])
        about = dict(reading["about"], a_run=a_run, a_epoch=a_epoch, b_run=b_run, b_epoch=b_epoch)
        paths += [dict(about, point=i, **row) for i, row in enumerate(rows)]
        t = [row["t"] for row in rows]
        apart = stored.weight_vector(a_run, a_epoch).astype(np.float64) - stored.weight_vector(b_run, b_epoch)
        barriers.append(dict(about, weight_distance=float(np.linalg.norm(apart)),
                             **{f"{column}_barrier": barrier(t, [row[column] for row in rows])
                                for column in PATH_VALUES[1:]}))
        logging.info("%s: %s", " ".join(map(str, reading["about"].values())),
                     ", ".join(f"{k} {v:.4f}" for k, v in barriers[-1].items() if k.endswith("_barrier")))
    return {"paths": paths, "barriers": barriers}


register(Measurement(
    "barriers", on="basins", reads=checkpoint_steps, compute="distancing.measurements.barriers:measure",
    tables={"barriers": (*BARRIER_KEYS, "weight_distance", "train_loss_barrier", "val_loss_barrier",
                         "val_error_barrier"),
            "paths": (*BARRIER_KEYS, "point", *PATH_VALUES)},
    settings={"points": {"type": "integer", "minimum": 3},  # on the line, both ends included
              "samples": {"type": "integer", "minimum": 2}}))  # training inputs of each BatchNorm pass


def barrier_of(e: Evidence, panel: str, series: str, column: str) -> dict[int, float]:
    """Seed -> the barrier of one series' pair of members (``column``: train_loss, val_loss or
    val_error; the error in points), from this measurement's table."""
    table = e.table("barriers", "barriers")
    rows = table[(table["panel"] == panel) & (table["series"] == series)]
    scale = 100.0 if column.endswith("error") else 1.0
    return {int(seed): scale * float(value) for seed, value in zip(rows["seed"], rows[f"{column}_barrier"],
                                                                      strict=True)}


def hill_barrier_excess(column: str) -> Callable[[Evidence, str, str], list[float]]:
    """Per seed: the barrier from the hill's checkpoint to its next member − its twin's over the same epochs."""
    def compute(e: Evidence, panel: str, metric: str) -> list[float]:  # noqa: ARG001
        hill, twin = barrier_of(e, panel, "distancing", column), barrier_of(e, panel, "no_hill", column)
        return [hill[seed] - twin[seed] for seed in sorted(hill)]
    return compute


def independent_barrier_excess(column: str) -> Callable[[Evidence, str, str], list[float]]:
    """Per disjoint pair of seeds: the barrier between their independently seeded final members −
    the twin's barrier (checkpoint to next member) of the pair's first seed."""
    def compute(e: Evidence, panel: str, metric: str) -> list[float]:  # noqa: ARG001
        apart, twin = barrier_of(e, panel, INDEPENDENT, column), barrier_of(e, panel, "no_hill", column)
        return [apart[seed] - twin[seed] for seed in sorted(apart)]
    return compute


BARRIERS = {"train_loss": "training-loss", "val_error": "validation-error"}
BARRIER_UNITS = {"train_loss": "nats", "val_error": "points"}


def independent_control(column: str) -> Statistic:
    """Independently seeded networks stand behind a higher barrier than the twin's step: a barrier
    can be detected at all (the control of the hill's statistic in the same column)."""
    return Statistic(
        "", f"the {BARRIERS[column]} barrier between the final members of two independently seeded no-hill runs "
        f"− the twin's barrier from the checkpoint to its next member, per disjoint pair of seeds",
        BARRIER_UNITS[column], "independent networks lie in different basins, detectably",
        "independent networks look no more separated than one run's step", independent_barrier_excess(column),
        measurement="barriers")


def hill_against_twin(column: str, control: str) -> Statistic:
    """The hill's step from its checkpoint against its twin's over the same epochs."""
    return Statistic(
        "", f"the {BARRIERS[column]} barrier from the hill's checkpoint to the run's next member − the no-hill "
        f"twin's over the same epochs, paired by seed", BARRIER_UNITS[column],
        "the hill's step crosses a higher barrier", "the hill's step crosses a lower barrier",
        hill_barrier_excess(column), controls=(control,), measurement="barriers")


def barrier_statistics() -> dict[str, Statistic]:
    """The basins figure's statistics, one pair per barrier (``basins.py``): the hill's step against
    its twin's, each resting on its control."""
    return {
        "barrier_train_loss_independent_vs_twin": independent_control("train_loss"),
        "barrier_train_loss_hill_vs_twin": hill_against_twin("train_loss", "barrier_train_loss_independent_vs_twin"),
        "barrier_val_error_independent_vs_twin": independent_control("val_error"),
        "barrier_val_error_hill_vs_twin": hill_against_twin("val_error", "barrier_val_error_independent_vs_twin"),
    }


register_statistics(barrier_statistics)
