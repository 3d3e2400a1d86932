"""Measurements on stored members: one registry entry per measurement.

A measurement reads members the runs already stored (``members.npz``) and never retrains. Its
entry says:

- ``reads``: which members, from the plan and the figure it is measured ``on``: a named function
  returning *readings*, each ``{"about": {column: value}, "members": {name: [run, epoch]}}``.
  The built-in ones read the members of one run (``run_members``), pairs of members across runs
  (``checkpoint_steps``), three members spanning a plane (``plane_corners``) or a peer
  ensemble's members (``peer_ensembles``);
- ``on``: the figure whose panels, series and seeds it reads; the claims on it are rows of that
  figure on the results page;
- ``tables``: each table it writes (``results/measurements/<key>/<table>.csv``) and its columns,
  which the rule checks;
- ``compute``: ``"module:function"``, called by ``workflow/scripts/measure.py`` (with torch
  where it needs it) as ``function(stored, readings, settings, read)``: ``stored`` the
  declared members and run configs (``members.Stored``: ``weight_vector``, ``state`` and
  ``data`` of a run), ``settings`` the mapping under ``measurements.<key>`` in the config,
  ``read`` the paths of the pipeline tables it names under ``read``; it returns table -> rows,
  each row a mapping of the table's declared columns in their order;
- ``settings``: the JSON schema of its settings, and ``read``: pipeline tables it reads
  besides members (``peer_ensembles``: the peers' ensemble scores).

The config lists the measurements to compute under ``measurements`` (key -> settings), as
``peers.methods`` lists the peers; a figure draws a measurement by naming it as its source, a
claim reads it through a statistic that names it (``claims.Statistic.measurement``). Adding one
is one ``register(Measurement(...))`` here or in a module under ``plugins``
(``tests/toy_measurement.py`` is one), its compute function, and its key under ``measurements``.
No torch here: the Snakefile imports this.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import ConfigError, member_kinds

Plan = Any  # plan.Plan, which imports this module: its readings come from the plan's figures and peers
Reading = dict[str, Any]  # {"about": {column: value}, "members": {name: [run, epoch]}}


@dataclass(frozen=True)
class Measurement:
    key: str
    on: str  # the figure whose runs it reads, and under which its claims sit
    reads: Callable[[Plan, str], list[Reading]]
    tables: Mapping[str, tuple[str, ...]]  # table -> its columns, in order
    compute: str  # "module:function" (see the module's docstring)
    settings: Mapping[str, Any] = field(default_factory=dict)  # JSON schema properties, all required
    read: tuple[str, ...] = ()  # pipeline tables it reads besides members (common.smk: PIPELINE_TABLES)

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": False, "required": list(self.settings),
                "properties": dict(self.settings)}


MEASUREMENTS: dict[str, Measurement] = {}


def register(measurement: Measurement) -> Measurement:
    if measurement.key in MEASUREMENTS:
        raise ValueError(f"measurement {measurement.key!r} is registered twice")
    MEASUREMENTS[measurement.key] = measurement
    return measurement


def settings_schema() -> dict[str, Any]:
    """The schema of ``measurements``: any registered measurement, with its settings."""
    return {"type": "object", "additionalProperties": False,
            "properties": {key: m.schema() for key, m in MEASUREMENTS.items()}}


def table_frame(measurement: Measurement, table: str, rows: list[dict[str, Any]]):
    """One table a measurement computed, as a DataFrame of its declared columns; a row with other
    columns stops in one line naming the measurement and the table."""
    import pandas as pd

    columns = list(measurement.tables[table])
    for row in rows:
        if list(row) != columns:
            raise ValueError(f"measurement {measurement.key}: a row of its table {table} has the columns "
                             f"{', '.join(row)}; its entry declares {', '.join(columns)}")
    return pd.DataFrame(rows, columns=columns)


def roles(key: str, readings: list[Reading]) -> list[tuple[tuple[str, int], str]]:
    """(run, epoch) -> the role a reading gives the member: ``<key>:<about values>:<name>``."""
    return [((run, epoch), ":".join([key, *map(str, reading["about"].values()), name]))
            for reading in readings for name, (run, epoch) in reading["members"].items()]


# ---------------------------------------------------------------- what measurements read

def run_members(plan: Plan, figure: str) -> list[Reading]:
    """Every member of every run of the figure, one reading per panel, series and seed; members
    named by their epoch."""
    runs = plan.runs()
    return [{"about": {"panel": panel_key, "series": series_key, "seed": runs[name]["seed"]},
             "members": {str(epoch): [name, epoch] for epoch in member_kinds(runs[name])}}
            for panel_key, panel in plan.figure_runs(figure).items()
            for series_key, series in panel["series"].items() for name in series["runs"]]


INDEPENDENT = "independent"  # the series whose seeds checkpoint_steps pairs with each other


def checkpoint_steps(plan: Plan, figure: str) -> list[Reading]:
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


def plane_corners(plan: Plan, figure: str) -> list[Reading]:
    """One reading of three members, of the figure's first seed: ``a`` the hill's first
    checkpoint, ``b`` the hill run's next member, ``c`` its no-hill twin's member at that epoch
    (the twin shares the checkpoint, so the plane holds both steps from it)."""
    (panel,) = plan.figure_runs(figure).values()
    hill, twin = panel["series"]["distancing"]["runs"][0], panel["series"]["no_hill"]["runs"][0]
    config = plan.runs()[hill]
    checkpoint = config["distancing"]["checkpoints"][0]
    after = next(e for e in member_kinds(config) if e > checkpoint)
    return [{"about": {}, "members": {"a": [hill, checkpoint], "b": [hill, after], "c": [twin, after]}}]


def peer_ensembles(plan: Plan, figure: str) -> list[Reading]:  # noqa: ARG001 (the peers, whatever the figure)
    """Each peer ensemble's members (``plan.Plan.peers``), one reading per method and replicate,
    members named by their place in the ensemble: the members its ensemble averages (at most
    ``peers.members``, as the ensemble tables count)."""
    readings, most = [], plan.config["peers"]["members"]
    for method, peer in plan.peers().items():
        for replicate, ensemble in enumerate(peer["ensembles"]):
            members = [[name, epoch] for name, epochs in ensemble for epoch in epochs]
            readings.append({"about": {"method": method, "replicate": replicate},
                             "members": {str(i): member for i, member in enumerate(members[:most])}})
    return readings


BARRIER_KEYS = ("panel", "series", "seed", "a_run", "a_epoch", "b_run", "b_epoch")
PATH_VALUES = ("t", "train_loss", "val_loss", "val_error")

register(Measurement(
    "barriers", on="basins", reads=checkpoint_steps, compute="distancing.basins:measure_barriers",
    tables={"barriers": (*BARRIER_KEYS, "weight_distance", "train_loss_barrier", "val_loss_barrier",
                         "val_error_barrier"),
            "paths": (*BARRIER_KEYS, "point", *PATH_VALUES)},
    settings={"points": {"type": "integer", "minimum": 3},  # on the line, both ends included
              "samples": {"type": "integer", "minimum": 2}}))  # training inputs of each BatchNorm pass
register(Measurement(
    "plane", on="basins_plane", reads=plane_corners, compute="distancing.basins:measure_plane",
    tables={"plane": ("x", "y", "train_loss", "val_loss", "val_error"),
            "corners": ("member", "run", "epoch", "x", "y")},
    settings={"grid": {"type": "integer", "minimum": 3}, "samples": {"type": "integer", "minimum": 2}}))
register(Measurement(
    "averages", on="weight_averages", reads=peer_ensembles, compute="distancing.basins:measure_averages",
    tables={"averages": ("method", "label", "replicate", "members", "accuracy", "nll_calibrated",
                         "ensemble_accuracy", "ensemble_nll_calibrated")},
    settings={"samples": {"type": "integer", "minimum": 2}}, read=("peer_ensembles",)))
