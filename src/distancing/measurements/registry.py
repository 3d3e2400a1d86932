"""The registry of measurements on stored members: one entry per measurement.

A measurement reads members the runs already stored (``members.npz``) and never retrains. Its
entry says:

- ``reads``: which members, from the plan (seen through ``PlanView``: runs, a figure's series,
  the peers) and the figure it is measured ``on``: a named function returning *readings*, each
  ``{"about": {column: value}, "members": {name: [run, epoch]}}``. ``run_members`` here reads
  the members of every run of the figure; the built-in measurements read pairs of members across
  runs (``barriers.member_pairs``), three members spanning a plane (``plane.plane_corners``)
  or a peer ensemble's members (``averages.peer_ensembles``);
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
claim reads it through a statistic that names it (``claims.catalogue.Statistic.measurement``).
A measurement is one module: its reader, its ``register(Measurement(...))`` entry, its compute
function (importing torch inside it) and its statistics (``claims.catalogue.register_statistics``).
The built-in ones are ``barriers.py``, ``plane.py``, ``averages.py`` and ``aligned.py`` beside
this file, which the package's ``__init__`` imports so that importing ``distancing.measurements``
registers them; a researcher's goes under ``plugins`` (``tests/toy_measurement.py`` is one), its
key under ``measurements``. No torch here: the Snakefile imports this.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..config import member_kinds

Reading = dict[str, Any]  # {"about": {column: value}, "members": {name: [run, epoch]}}


class PlanView(Protocol):
    """What a reader sees of the plan (``plan.Plan``, which imports this registry)."""

    config: Mapping[str, Any]  # the pipeline config (``peers.members``: the members an ensemble averages)

    def runs(self) -> dict[str, dict[str, Any]]:
        """Run name -> resolved run config (``seed``, ``distancing.checkpoints``, ``train.epochs``)."""
        ...

    def figure_runs(self, figure: str) -> dict[str, dict[str, Any]]:
        """Panel key -> {"title", "value", "series": series key -> {"label", "value", "runs"}}."""
        ...

    def peers(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Model -> peer key -> {"label", "budget", "ensembles": [[(run, epochs of its members), ...], ...]}."""
        ...


@dataclass(frozen=True)
class Measurement:
    key: str
    on: str  # the figure whose runs it reads, and under which its claims sit
    reads: Callable[[PlanView, str], list[Reading]]
    tables: Mapping[str, tuple[str, ...]]  # table -> its columns, in order
    compute: str  # "module:function" (see the module's docstring)
    settings: Mapping[str, Any] = field(default_factory=dict)  # JSON schema properties, all required
    read: tuple[str, ...] = ()  # pipeline tables it reads besides members (measurements.smk: PIPELINE_TABLES)

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

def run_members(plan: PlanView, figure: str) -> list[Reading]:
    """Every member of every run of the figure, one reading per panel, series and seed; members
    named by their epoch."""
    runs = plan.runs()
    return [{"about": {"panel": panel_key, "series": series_key, "seed": runs[name]["seed"]},
             "members": {str(epoch): [name, epoch] for epoch in member_kinds(runs[name])}}
            for panel_key, panel in plan.figure_runs(figure).items()
            for series_key, series in panel["series"].items() for name in series["runs"]]
