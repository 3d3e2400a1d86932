"""Verdicts: each declared claim decided on its statistic's values, gated by its controls,
with its power, its replication probability and Holm's family-wise view.

Directions (the config schema lists them): ``greater`` / ``less`` (the interval must lie above
/ below zero), ``differs`` (either side; the verdict names the side), ``not_below`` /
``not_above`` with a positive ``margin`` (non-inferiority: the interval must lie above −margin /
below +margin). Verdicts name the direction in words ("holds: distance rises with s"). An
undecided claim whose declared effect needs more seeds than it had says so. ``verdict_holm``
decides each row again with Holm's step-down adjustment over every row of the table (the
family-wise view).

**What a control gates.** A control gates a claim only where the control's failure would by
itself explain the claim's null result; then an undecided claim resting on a control not shown
to hold (its own verdict is not "holds") is "untestable in this profile", and a decided one
stands, with a note. Applied to every statistic from this rule, not from any run:

1. A comparison of ensembles with each other, or of an ensemble with its own best member (the
   hill against its no-hill twin's ensemble, a hill against a peer, the ensemble against its
   best member, the ensemble's slope in s) rests on *ensembling helps at this scale*: the deep
   ensemble of M independent networks beating one network (``catalogue.ENSEMBLING_HELPS``), in
   the same metric. If even independent networks cannot beat one, no ensemble difference can
   show. The twin's members being too alike does not explain such a null: that is what the hill
   is meant to remedy. The deep ensemble is the peers' model's (``peers.model``), so a panel of
   another model (the ResNet of Figure 3.7) rests on it too: "at this scale" means this data
   and budget.
2. A method against one network rests on the same construction without what is new: the
   distancing ensemble (Figure 3.7, and either hill among the peers) on the snapshot ensemble
   (its members at the same epochs, no hill) beating one network.
3. Controls themselves rest on nothing.

A check whose failure would instead explain a *positive* result is a **qualifier**: it never
gates, and a verdict that holds as claimed while one is not shown to hold carries a note. A
hill beating a peer that cannot beat one network (the peer's own control, ``Peer.control``)
and members that disagree more while less accurate are such cases.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import measurements  # noqa: F401  (registers the measurements' statistics in the catalogue)
from .catalogue import Evidence, Statistic, statistics
from .inference import (
    ALPHA,
    ROBUST,
    finite,
    holm,
    interval,
    minimum_detectable_effect,
    p_value,
    replication_probability,
    seeds_needed,
    seeds_robust,
)


def verdict(low: float, high: float, direction: str, statistic: Statistic, margin: float = 0.0,
            unit: str | None = None) -> str:
    """The verdict in words that name the direction the data show."""
    if math.isnan(low):
        return "inconclusive: no finite value"
    up, down = statistic.up, statistic.down
    if direction == "greater":
        return f"holds: {up}" if low > 0 else f"does not hold: {down}" if high < 0 else "inconclusive"
    if direction == "less":
        return f"holds: {down}" if high < 0 else f"does not hold: {up}" if low > 0 else "inconclusive"
    if direction == "differs":
        return f"holds: {up}" if low > 0 else f"holds: {down}" if high < 0 else "inconclusive"
    amount = f"{margin:g} {unit or statistic.unit}"
    if direction == "not_below":
        return (f"holds: no more than {amount} below" if low > -margin
                else f"does not hold: more than {amount} below" if high < -margin else "inconclusive")
    return (f"holds: no more than {amount} above" if high < margin
            else f"does not hold: more than {amount} above" if low > margin else "inconclusive")


def claimed(direction: str, statistic: Statistic, margin: float, metric: str | None = None) -> str:
    """The claim as declared, in words (ensemble claims name their metric)."""
    unit = statistic.unit_of(metric)
    text = {"greater": statistic.up, "less": statistic.down, "differs": f"{statistic.up}, or the reverse",
            "not_below": f"no more than {margin:g} {unit} below",
            "not_above": f"no more than {margin:g} {unit} above"}[direction]
    return f"{text}, in {metric.replace('nll_calibrated', 'calibrated NLL')}" if statistic.ensemble else text


def gated(text: str, failed: Sequence[str], needed: int | None, n: int, effect: float | None, unit: str) -> str:
    """A verdict after its controls and its power: a decided verdict stands; an undecided one is
    untestable where a control does not hold, or names the seeds its declared effect needs."""
    if not text.startswith("inconclusive"):
        return text
    if failed:
        return f"untestable in this profile: control {', '.join(failed)} not shown to hold"
    if needed is not None and needed > n:
        amount = f"{effect:g} {unit.replace('points', 'point') if effect == 1 else unit}"
        return f"inconclusive: needs {needed} seeds to detect {amount}"
    return text


def resting_depth(statistic: str, known: Mapping[str, Statistic]) -> int:
    """0 for a statistic that rests on nothing, else one more than the deepest it rests on: the
    order in which claims are decided, so that every control is decided before what it gates."""
    rests = known[statistic].controls + known[statistic].qualifiers
    return 1 + max(resting_depth(c, known) for c in rests) if rests else 0


def evaluate_claims(evidence: Evidence, declared: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per declared claim and panel of its figure, controls first (they decide whether an
    undecided claim resting on them is testable). Columns: the claim's own verdict (95 % interval),
    its replication probability, whether it is fragile, the seeds a robust verdict needs, and
    ``verdict_holm``, decided at the family-wise level over every row of the table."""
    known = statistics()
    order = sorted(declared, key=lambda c: resting_depth(declared[c]["statistic"], known))
    rows, decisions, outcome = [], [], {}  # decisions: what verdict_holm needs of each row

    def failing(names: Sequence[str], metric: str | None, panel: str) -> list[str]:
        return [c for c in names
                if not outcome.get((c, metric, panel), outcome.get((c, metric, ""), "")).startswith("holds")]

    for claim in order:
        spec = declared[claim]
        statistic = known[spec["statistic"]]
        metric = spec.get("metric") if statistic.ensemble else None
        unit = statistic.unit_of(metric)
        panels = list(evidence.figures.get(statistic.figure, {"": None})) if statistic.per_panel else [""]
        for panel in panels:
            values = statistic.compute(evidence, panel, metric)
            mean, low, high = interval(values)
            margin = float(spec.get("margin", 0.0))
            boundary = {"not_below": -margin, "not_above": margin}.get(spec["direction"], 0.0)
            effect = spec.get("effect")
            n = len(finite(values))
            needed = seeds_needed(float(np.std(finite(values), ddof=1)), effect) if effect and n >= 2 else None
            failed = failing(statistic.controls, metric, panel)
            own = verdict(low, high, spec["direction"], statistic, margin, unit)
            text = gated(own, failed, needed, n, effect, unit)
            outcome[(spec["statistic"], metric, panel)] = text
            replication = replication_probability(values, boundary)
            qualified = own.startswith("holds") and spec["direction"] != "differs"  # a positive result, as claimed
            noted = [f"control {c}" for c in (failed if text == own else [])]
            noted += [f"qualifier {c}" for c in failing(statistic.qualifiers, metric, panel) if qualified]
            rows.append({"claim": claim, "figure": statistic.figure, "panel": panel, "statistic": spec["statistic"],
                         "metric": metric or "", "measures": statistic.measures, "unit": unit,
                         "claimed": claimed(spec["direction"], statistic, margin, metric),
                         "direction": spec["direction"], "margin": margin, "effect": effect if effect else math.nan,
                         "seeds_declared": spec["seeds"], "n": n, "mean": mean, "ci95_low": low, "ci95_high": high,
                         "mde": minimum_detectable_effect(values), "seeds_needed": needed or math.nan,
                         "p": p_value(values, boundary), "verdict": text,
                         "replication": replication, "fragile": decided(own) and not replication >= ROBUST,
                         "seeds_robust": seeds_robust(values, boundary) if n >= 2 else math.nan,
                         "note": f"{', '.join(noted)} not shown to hold" if noted else "",
                         "values": " ".join(f"{v:.4g}" for v in values)})
            decisions.append((own, failed, needed, effect))
    for row, p, (own, failed, needed, effect) in zip(rows, holm([r["p"] for r in rows]), decisions, strict=True):
        row["p_holm"] = p
        row["verdict_holm"] = gated(own if p < ALPHA else "inconclusive", failed, needed, row["n"], effect, row["unit"])
    return pd.DataFrame(rows)


def decided(text: str) -> bool:
    """Whether a verdict decides the claim (holds, does not hold) rather than leaving it open."""
    return text.startswith(("holds", "does not hold"))
