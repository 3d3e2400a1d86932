"""The aligned barriers measurement: the barriers that a reordering of hidden units cannot explain.

Independently seeded networks differ also by a permutation of their units, which alone raises
the barrier between them (Entezari et al. 2022; Ainsworth et al. 2023). So before walking the
line, member b's units are reordered to match a's by weight matching (``alignment.py``: a
linear assignment per permutation, on ``scipy.optimize.linear_sum_assignment``), and the line
is walked as the barriers measurement walks it (``barriers.walk``: BatchNorm recomputed at every
point). The pairs (``alignable_pairs``): the independent networks' (the control: how high a
ridge between two basins stands once permutations are removed) and, per seed, the hill's first
checkpoint to its final member and its twin's (a barrier that alignment removes is a
permutation, not another basin). Weight matching is coordinate ascent: it can stop short of the
best reordering, on MobileNetV2's wide last layer most of all (``alignment.py``), so an aligned
barrier is an upper bound on the permutation-free one; ``units_moved`` says how much it moved.

Its statistics: how much alignment lowers the independent networks' barrier (per disjoint pair,
before − after, the before read from the barriers measurement), and the basin statistics of
``barriers.py`` on the aligned table (``_aligned``), the training-loss fraction against the
aligned independent networks' barrier.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..claims.catalogue import Evidence, Statistic, register_statistics
from ..members import Stored
from .barriers import (
    BARRIER_COLUMNS,
    BARRIER_KEYS,
    BARRIER_UNITS,
    BARRIERS,
    INDEPENDENT,
    LINE_SETTINGS,
    PATH_VALUES,
    barrier_of,
    basin,
    independent_basin,
    member_pairs,
    walk,
)
from .registry import Measurement, PlanView, Reading, register

HOW = ", units aligned by weight matching"  # what was done to a pair before its line was walked


def alignable_pairs(plan: PlanView, figure: str) -> list[Reading]:
    """Of the barriers' pairs (``barriers.member_pairs``), the independent networks' and each
    run's first checkpoint to its final member."""
    runs = plan.runs()

    def wanted(reading: Reading) -> bool:
        (run, a), (_, b) = reading["members"]["a"], reading["members"]["b"]
        config = runs[run]
        return reading["about"]["series"] == INDEPENDENT or (
            a == config["distancing"]["checkpoints"][0] and b == config["train"]["epochs"])

    return [reading for reading in member_pairs(plan, figure) if wanted(reading)]


def measure(stored: Stored, readings: Sequence[Mapping[str, Any]], settings: Mapping[str, Any],
            read: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:  # noqa: ARG001
    """Each pair's line after aligning b's units to a's (``alignment.weight_matching``), a row
    per point into ``paths`` and a row per pair into ``barriers`` (``barriers.walk``'s, with the
    distance before alignment and the fraction of hidden units moved)."""
    from ..alignment import permutation_spec, permute, weight_matching
    from ..basins import network

    paths, barriers = [], []
    for reading in readings:
        (a_run, a_epoch), (b_run, b_epoch) = reading["members"]["a"], reading["members"]["b"]
        parameters = stored.members(a_run).parameters
        spec = permutation_spec(network(stored.configs[a_run], stored.data(a_run)))
        a, b = stored.state(a_run, a_epoch), stored.state(b_run, b_epoch)
        perms = weight_matching(spec, a, b, parameters)
        path, found = walk(stored, reading, settings, permute(spec, perms, b))
        before = stored.weight_vector(a_run, a_epoch).astype(np.float64) - stored.weight_vector(b_run, b_epoch)
        units = np.concatenate(list(perms.values()))
        identity = np.concatenate([np.arange(len(perm)) for perm in perms.values()])
        paths += path
        barriers.append(dict(found, distance_before=float(np.linalg.norm(before)),
                             units_moved=float(np.mean(units != identity))))
    return {"paths": paths, "barriers": barriers}


register(Measurement(
    "aligned_barriers", on="basins", reads=alignable_pairs, compute="distancing.measurements.aligned:measure",
    tables={"barriers": (*BARRIER_COLUMNS, "distance_before", "units_moved"),
            "paths": (*BARRIER_KEYS, "point", *PATH_VALUES)},
    settings=LINE_SETTINGS))


def alignment_drop(column: str) -> Callable[[Evidence, str, str], list[float]]:
    """Per disjoint pair of independent seeds: the barrier before alignment − after."""
    def compute(e: Evidence, panel: str, metric: str) -> list[float]:  # noqa: ARG001
        before = barrier_of(e, panel, INDEPENDENT, column)
        after = barrier_of(e, panel, INDEPENDENT, column, measurement="aligned_barriers")
        return [before[seed] - after[seed] for seed in sorted(after)]
    return compute


# Each aligned basin statistic's (column, series, kind of pair), as barriers.BASIN_STATISTICS.
ALIGNED_BASIN_STATISTICS = {f"basin_{column}_{series}_to_final_aligned": (column, series, "to_final")
                            for column in BARRIERS for series in ("hill", "twin")}


def aligned_statistics() -> dict[str, Statistic]:
    """How much alignment lowers the independent networks' barrier, and the basin statistics of
    the checkpoint → final pairs and the independent networks after alignment."""
    found = {f"alignment_lowers_independent_{column}_barrier": Statistic(
        "", f"the {BARRIERS[column]} barrier between the final members of two independently seeded no-hill runs, "
        f"before − after aligning their units by weight matching, per disjoint pair of seeds",
        BARRIER_UNITS[column], "alignment lowers the barrier",
        "alignment raises the barrier", alignment_drop(column), measurement="aligned_barriers",
        reads_also=("barriers",))
        for column in BARRIERS}
    found["basin_val_error_independent_aligned"] = independent_basin("aligned_barriers", HOW)
    return found | {name: basin(*about, measurement="aligned_barriers", how=HOW)
                    for name, about in ALIGNED_BASIN_STATISTICS.items()}


register_statistics(aligned_statistics)
