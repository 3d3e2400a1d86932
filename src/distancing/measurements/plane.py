"""The plane measurement: the loss and error on the plane through three members of one seed
(the hill's checkpoint, the hill's next member and its twin's), BatchNorm recomputed at every
point of a square grid (``basins.plane``), for the ``basins_plane`` figure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ..config import member_kinds
from ..members import Stored
from .registry import Measurement, PlanView, Reading, register


def plane_corners(plan: PlanView, figure: str) -> list[Reading]:
    """One reading of three members, of the figure's first seed: ``a`` the hill's first
    checkpoint, ``b`` the hill run's next member, ``c`` its no-hill twin's member at that epoch
    (the twin shares the checkpoint, so the plane holds both steps from it)."""
    (panel,) = plan.figure_runs(figure).values()
    hill, twin = panel["series"]["distancing"]["runs"][0], panel["series"]["no_hill"]["runs"][0]
    config = plan.runs()[hill]
    checkpoint = config["distancing"]["checkpoints"][0]
    after = next(e for e in member_kinds(config) if e > checkpoint)
    return [{"about": {}, "members": {"a": [hill, checkpoint], "b": [hill, after], "c": [twin, after]}}]


def measure(stored: Stored, readings: Sequence[Mapping[str, Any]], settings: Mapping[str, Any],
            read: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:  # noqa: ARG001
    """The loss and error on the plane through the reading's three members (``plane``), and
    their coordinates in it."""
    from ..basins import network, plane

    (reading,) = readings
    corners = reading["members"]
    a_run = corners["a"][0]
    config, data = stored.configs[a_run], stored.data(a_run)
    states = {end: stored.state(run, epoch) for end, (run, epoch) in corners.items()}
    rows, coordinates = plane(network(config, data), states["a"], states["b"], states["c"],
                              stored.members(a_run).parameters, data, settings["grid"], settings["samples"],
                              config["train"]["eval_batch_size"])
    logging.info("%d points; members at %s", len(rows), coordinates)
    return {"plane": rows, "corners": [{"member": end, "run": corners[end][0], "epoch": corners[end][1], "x": x,
                                        "y": y} for end, (x, y) in coordinates.items()]}


register(Measurement(
    "plane", on="basins_plane", reads=plane_corners, compute="distancing.measurements.plane:measure",
    tables={"plane": ("x", "y", "train_loss", "val_loss", "val_error"),
            "corners": ("member", "run", "epoch", "x", "y")},
    settings={"grid": {"type": "integer", "minimum": 3}, "samples": {"type": "integer", "minimum": 2}}))
