"""The plane measurement: the loss and error on planes through three members of one seed,
BatchNorm recomputed at every point of a square grid (``basins.plane``), for the ``basins_plane``
figure. Two planes, both through the hill's first checkpoint: ``next`` with the hill's next
member and its twin's (the step the hill acts on), ``final`` with the hill's final member and
its twin's (where each run ends; the barriers of every seed are the barriers measurement's).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ..config import member_kinds
from ..members import Stored
from .registry import Measurement, PlanView, Reading, register


def plane_corners(plan: PlanView, figure: str) -> list[Reading]:
    """Two readings of three members, of the figure's first seed: ``a`` the hill's first
    checkpoint, ``b`` the hill run's next (then final) member, ``c`` its no-hill twin's member at
    that epoch (the twin shares the checkpoint, so each plane holds both runs' way from it)."""
    (panel,) = plan.figure_runs(figure).values()
    hill, twin = panel["series"]["distancing"]["runs"][0], panel["series"]["no_hill"]["runs"][0]
    config = plan.runs()[hill]
    checkpoint = config["distancing"]["checkpoints"][0]
    ends = {"next": next(e for e in member_kinds(config) if e > checkpoint), "final": config["train"]["epochs"]}
    return [{"about": {"plane": plane}, "members": {"a": [hill, checkpoint], "b": [hill, end], "c": [twin, end]}}
            for plane, end in ends.items()]


def measure(stored: Stored, readings: Sequence[Mapping[str, Any]], settings: Mapping[str, Any],
            read: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:  # noqa: ARG001
    """The loss and error on each plane through a reading's three members (``plane``), and their
    coordinates in it."""
    from ..basins import forward_pass, network, plane

    rows, corners = [], []
    for reading in readings:
        members, name = reading["members"], reading["about"]["plane"]
        a_run = members["a"][0]
        config, data = stored.configs[a_run], stored.data(a_run)
        states = {end: stored.state(run, epoch) for end, (run, epoch) in members.items()}
        points, coordinates = plane(network(config, data), states["a"], states["b"], states["c"],
                                    stored.members(a_run).parameters, data, settings["grid"], settings["samples"],
                                    config["train"]["eval_batch_size"], forward_pass(config))
        logging.info("plane %s: %d points; members at %s", name, len(points), coordinates)
        rows += [{"plane": name, **point} for point in points]
        corners += [{"plane": name, "member": end, "run": members[end][0], "epoch": members[end][1], "x": x, "y": y}
                    for end, (x, y) in coordinates.items()]
    return {"plane": rows, "corners": corners}


register(Measurement(
    "plane", on="basins_plane", reads=plane_corners, compute="distancing.measurements.plane:measure",
    tables={"plane": ("plane", "x", "y", "train_loss", "val_loss", "val_error"),
            "corners": ("plane", "member", "run", "epoch", "x", "y")},
    settings={"grid": {"type": "integer", "minimum": 3}, "samples": {"type": "integer", "minimum": 2}}))
