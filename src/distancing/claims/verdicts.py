"""Verdicts: each declared claim decided on its statistic's values, gated by its controls,
graded against its declared effect, with its power, its replication probability and the
family-wise view of its family.

Directions (the config schema lists them): ``greater`` / ``less`` (the interval must lie above
/ below zero), ``differs`` (either side; the verdict names the side), ``not_below`` /
``not_above`` with a positive ``margin`` (non-inferiority: the interval must lie above −margin /
below +margin). Verdicts name the direction in words ("holds: distance rises with s"). An
undecided claim whose declared effect needs more seeds than it had says so. A ``greater`` or
``less`` claim with a ``threshold`` is decided against it instead of zero, and names the side:
the basins' "another basin" above a declared barrier, "one basin" below it
(``measurements/barriers.py``); ``greater`` holds above it and does not hold below it, ``less``
the reverse, so a control or qualifier declared in the direction it is needed in holds exactly
where it does its job. The threshold is its size, so it is not graded.

**How large.** A claim that declares the effect worth detecting (δ) is graded (``size``): a
decided verdict is *at least δ* where its 95 % interval lies beyond ±δ, *smaller than δ* where
it lies within ±δ, else *of undetermined size*. A comparison the interval leaves undecided in
sign is a **powered null**, "no effect worth detecting", where two one-sided tests at the same α
put it within ±δ (its 90 % interval lies there, ``inference.equivalence_p``): that decides the
question as much as an effect does. It is decided, so a control not shown to hold does not make
it untestable: it stands with a note, an answer to whether distancing pays here, not to why.

**Families.** A claim belongs to the ``primary`` family (``family: primary`` in the config: the
comparisons that answer whether distancing is worth its budget) or to the ``secondary`` one
(every other claim); a claim whose statistic is a control or a qualifier of another declared
claim belongs to no family: its job is to hold, and it is read alone. ``verdict_holm`` decides
each family's rows again with Holm's step-down adjustment within that family only, so adding a
secondary claim never weakens a primary one. A graded row brings two hypotheses to its family,
no difference and a difference of at least δ (the powered null): Holm over all of them keeps
the family-wise error at α whichever of the two a row ends on, at the price of a family twice
its rows (a gatekeeping order would need one hypothesis declared first, which a question that
may be answered either way does not have).

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
   is meant to remedy. The deep ensemble is the panel's own model's (the peers train every model
   of ``peers.models``), so each model's panels rest on that model's controls; a figure of one
   panel (Figure 3.8) trains the reference model (``distancing.model``) and rests on its.
2. A method against one network rests on the same construction without what is new: the
   distancing ensemble (Figure 3.7, and either hill among the peers) on the snapshot ensemble
   (its members at the same epochs, no hill) beating one network.
3. Controls themselves rest on nothing.

A check whose failure would instead explain a *positive* result is a **qualifier**: it never
gates, and a verdict that holds as claimed while one is not shown to hold carries a note. A
hill beating a peer that cannot beat one network (the peer's own control, ``Peer.control``)
and members that disagree more while less accurate are such cases. So is the control of a
non-inferiority claim (``not_below`` / ``not_above``): a control showing that a loss can be
detected at all (independent networks' averages lose) would, failing, explain a *pass*, so for
those directions a statistic's controls act as qualifiers.

A figure statistic that makes a peer comparison on the same runs (``Statistic.peer_comparison``,
``catalogue.same_comparisons``: on each model both train) is that comparison's only row there: a
claim or a control naming the peer statistic reads it, and the row says which other figure shows
it (``also_on``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import measurements  # noqa: F401  (registers the measurements' statistics in the catalogue)
from .catalogue import METRIC_WORDS, Evidence, Same, Statistic, row_statistic, same_comparisons, shared_with, statistics
from .inference import (
    ALPHA,
    ROBUST,
    equivalence_p,
    finite,
    holm,
    interval,
    minimum_detectable_effect,
    null_replication,
    p_value,
    replication_probability,
    seeds_needed,
    seeds_robust,
    seeds_robust_null,
)

FAMILIES = ("primary", "secondary")  # a claim's family; controls and qualifiers belong to none ("")
NULL = "no effect worth detecting"  # the powered null's verdict
NON_INFERIORITY = ("not_below", "not_above")  # directions decided against a margin, not graded by an effect


def verdict(low: float, high: float, direction: str, statistic: Statistic, margin: float = 0.0,
            unit: str | None = None, threshold: float | None = None) -> str:
    """The verdict in words that name the direction the data show (against a ``threshold``, the
    side of it)."""
    if math.isnan(low):
        return "inconclusive: no finite value"
    up, down = statistic.up, statistic.down
    if threshold is not None:  # greater or less, against the threshold: the verdict names its side
        level = amount(threshold, unit or statistic.unit)
        above, below = f"{up} (above {level})", f"{down} (below {level})"
        if direction == "greater":
            return f"holds: {above}" if low > threshold else f"does not hold: {below}" if high < threshold \
                else "inconclusive"
        return f"holds: {below}" if high < threshold else f"does not hold: {above}" if low > threshold \
            else "inconclusive"
    if direction == "greater":
        return f"holds: {up}" if low > 0 else f"does not hold: {down}" if high < 0 else "inconclusive"
    if direction == "less":
        return f"holds: {down}" if high < 0 else f"does not hold: {up}" if low > 0 else "inconclusive"
    if direction == "differs":
        return f"holds: {up}" if low > 0 else f"holds: {down}" if high < 0 else "inconclusive"
    accepted = f"{margin:g} {unit or statistic.unit}"
    if direction == "not_below":
        return (f"holds: no more than {accepted} below" if low > -margin
                else f"does not hold: more than {accepted} below" if high < -margin else "inconclusive")
    return (f"holds: no more than {accepted} above" if high < margin
            else f"does not hold: more than {accepted} above" if low > margin else "inconclusive")


def claimed(direction: str, statistic: Statistic, margin: float, metric: str | None = None,
            threshold: float | None = None) -> str:
    """The claim as declared, in words (ensemble claims name their metric)."""
    unit = statistic.unit_of(metric)
    if threshold is not None:
        level = amount(threshold, unit)
        return f"{statistic.up} (above {level})" if direction == "greater" else f"{statistic.down} (below {level})"
    text = {"greater": statistic.up, "less": statistic.down, "differs": f"{statistic.up}, or the reverse",
            "not_below": f"no more than {margin:g} {unit} below",
            "not_above": f"no more than {margin:g} {unit} above"}[direction]
    return f"{text}, in {METRIC_WORDS[metric]}" if statistic.ensemble else text


def gated(text: str, failed: Sequence[str], needed: int | None, n: int, effect: float | None, unit: str) -> str:
    """A verdict after its controls and its power: a decided verdict stands; an undecided one is
    untestable where a control does not hold, or names the seeds its declared effect needs."""
    if not text.startswith("inconclusive"):
        return text
    if failed:
        return (f"untestable in this profile: undecided, and the control that would explain it, "
                f"{', '.join(failed)}, is not shown to hold")
    if needed is not None and needed > n:
        return f"inconclusive: needs {needed} seeds to detect {amount(effect, unit)}"
    return text


def amount(effect: float, unit: str) -> str:
    """An effect in its unit, singular where it is one ("1 point")."""
    return f"{effect:g} {unit.replace('points', 'point') if effect == 1 else unit}".strip()


def graded(text: str, low: float, high: float, effect: float | None, direction: str, unit: str) -> str:
    """How large a decided verdict's effect is against the declared effect worth detecting δ
    (``""`` where no δ is declared, or the claim is a non-inferiority one: its margin is its size)."""
    if not effect or direction in NON_INFERIORITY or not decided(text):
        return ""
    if text.startswith(NULL) or -effect < low and high < effect:
        return f"smaller than {amount(effect, unit)}"
    if low >= effect or high <= -effect:
        return f"at least {amount(effect, unit)}"
    return "of undetermined size"


def powered_null(p_null: float, effect: float | None, unit: str) -> str | None:
    """The powered null where two one-sided tests (their p-value ``p_null``, NaN where the claim
    is not graded) put the mean within ±δ, else None."""
    return f"{NULL}: within ±{amount(effect, unit)}" if effect and p_null < ALPHA else None


def resting_depth(statistic: str, known: Mapping[str, Statistic]) -> int:
    """0 for a statistic that rests on nothing, else one more than the deepest it rests on: the
    order in which claims are decided, so that every control is decided before what it gates."""
    rests = known[statistic].controls + known[statistic].qualifiers
    return 1 + max(resting_depth(c, known) for c in rests) if rests else 0


def families(declared: Mapping[str, Mapping[str, Any]], known: Mapping[str, Statistic], same: Same) -> dict[str, str]:
    """Each declared claim's family: its declared ``family`` (``secondary`` by default), or none
    (``""``) where its statistic is a control or a qualifier of another declared claim's
    statistic (in the same metric; a peer statistic counts as the figure statistic it shares
    its rows with, ``same``)."""
    resting = {(name, spec.get("metric")) for spec in declared.values()
               for c in known[spec["statistic"]].controls + known[spec["statistic"]].qualifiers
               for name in shared_with(same, c)}
    return {claim: "" if (spec["statistic"], spec.get("metric")) in resting else spec.get("family", "secondary")
            for claim, spec in declared.items()}


def evaluate_claims(evidence: Evidence, declared: Mapping[str, Mapping[str, Any]],
                    reference_model: str = "") -> pd.DataFrame:
    """One row per declared claim and panel of its figure (those it names in ``panels``, if it
    does), controls first (they decide whether an undecided claim resting on them is testable).
    Columns: the claim's family, its own verdict
    (95 % interval; the powered null by two one-sided tests), its size against the declared
    effect, its replication probability, whether it is fragile, the seeds a robust verdict needs,
    and ``verdict_holm``, decided at the family-wise level within its family (a control's is its
    own). A control is read on the claim's own panel (a model); a figure of one panel, which
    trains ``reference_model`` (``distancing.model``), reads that model's."""
    known = statistics()
    same = same_comparisons(known, {f: list(panels) for f, panels in evidence.figures.items()})
    family = families(declared, known, same)
    shown_also = {(name, panel): known[peer].figure for (peer, panel), name in same.items()}  # the other figure
    order = sorted(declared, key=lambda c: resting_depth(declared[c]["statistic"], known))
    rows, decisions, outcome = [], [], {}  # decisions: what verdict_holm needs of each row

    def failing(names: Sequence[str], metric: str | None, panel: str) -> list[str]:
        def result(c: str) -> str:
            # The control's row on the claim's panel, where its figure has that panel (a model);
            # else its only row, or, for a figure of one panel, the reference model's.
            its_panels = evidence.figures.get(known[c].figure, {}) if known[c].per_panel else {}
            on = "" if not known[c].per_panel else panel if panel in its_panels else reference_model
            return outcome.get((row_statistic(same, c, on), metric, on), "")
        return [c for c in names if not result(c).startswith("holds")]

    for claim in order:
        spec = declared[claim]
        statistic = known[spec["statistic"]]
        metric = spec.get("metric") if statistic.ensemble else None
        unit = statistic.unit_of(metric)
        panels = list(evidence.figures.get(statistic.figure, {"": None})) if statistic.per_panel else [""]
        panels = [panel for panel in panels if panel in spec.get("panels", panels)]  # declared on these only
        direction = spec["direction"]
        # A non-inferiority claim's controls would explain a pass: they qualify it (the docstring).
        gates, qualifiers = ((), statistic.controls + statistic.qualifiers) if direction in NON_INFERIORITY \
            else (statistic.controls, statistic.qualifiers)
        for panel in panels:
            values = statistic.compute(evidence, panel, metric)
            mean, low, high = interval(values)
            margin, threshold = float(spec.get("margin", 0.0)), spec.get("threshold")
            boundary = {"not_below": -margin, "not_above": margin}.get(direction, threshold or 0.0)
            effect = spec.get("effect")
            n = len(finite(values))
            needed = seeds_needed(float(np.std(finite(values), ddof=1)), effect) if effect and n >= 2 else None
            failed = failing(gates, metric, panel)
            sign = verdict(low, high, direction, statistic, margin, unit, threshold)
            p_null = equivalence_p(values, effect) if effect and direction not in NON_INFERIORITY else math.nan
            null = powered_null(p_null, effect, unit)
            own = null if null and not decided(sign) else sign
            described = [f"{c} ({known[c].up})" for c in failed]
            text = gated(own, described, needed, n, effect, unit)
            outcome[(spec["statistic"], metric, panel)] = text
            is_null = own.startswith(NULL)
            replication = null_replication(values, effect) if is_null else replication_probability(values, boundary)
            qualified = own.startswith("holds") and direction != "differs"  # a positive result, as claimed
            noted = [f"control {c}" for c in (failed if text == own else [])]
            noted += [f"qualifier {c}" for c in failing(qualifiers, metric, panel) if qualified]
            rows.append({"claim": claim, "family": family[claim], "figure": statistic.figure, "panel": panel,
                         "also_on": shown_also.get((spec["statistic"], panel), ""),
                         "statistic": spec["statistic"], "metric": metric or "", "measures": statistic.measures,
                         "unit": unit, "claimed": claimed(direction, statistic, margin, metric, threshold),
                         "direction": direction, "margin": margin,
                         "threshold": math.nan if threshold is None else float(threshold),
                         "effect": effect if effect else math.nan,
                         "seeds_declared": spec["seeds"], "n": n, "mean": mean, "ci95_low": low, "ci95_high": high,
                         "mde": minimum_detectable_effect(values), "seeds_needed": needed or math.nan,
                         "p": p_value(values, boundary), "p_null": p_null, "verdict": text,
                         "size": graded(own, low, high, effect, direction, unit),
                         "replication": replication, "fragile": decided(own) and not replication >= ROBUST,
                         "seeds_robust": math.nan if n < 2 else seeds_robust_null(values, effect) if is_null
                         else seeds_robust(values, boundary),
                         "note": f"{', '.join(noted)} not shown to hold" if noted else "",
                         "values": " ".join(f"{v:.4g}" for v in values)})
            decisions.append((sign, null, described, needed, effect))
    family_wise(rows, decisions)
    return pd.DataFrame(rows)


def family_wise(rows: list[dict[str, Any]], decisions: Sequence[tuple[str, str | None, Sequence[str],
                                                                     int | None, float | None]]) -> None:
    """``p_holm`` and ``verdict_holm`` of each row, by Holm within its family over every hypothesis
    the family brings (no difference; for a graded row also a difference of at least δ); a
    control's (no family) are its own."""
    adjusted: dict[tuple[int, str], float] = {}
    for name in FAMILIES:
        hypotheses = [(i, kind) for i, row in enumerate(rows) if row["family"] == name
                      for kind in ("p", "p_null") if np.isfinite(row[kind])]
        for key, p in zip(hypotheses, holm([rows[i][kind] for i, kind in hypotheses]), strict=True):
            adjusted[key] = p
    for i, (row, (sign, null, failed, needed, effect)) in enumerate(zip(rows, decisions, strict=True)):
        if not row["family"]:
            row["p_holm"], row["verdict_holm"] = row["p"], row["verdict"]
            continue
        row["p_holm"] = adjusted.get((i, "p"), math.nan)
        text = sign if row["p_holm"] < ALPHA else null if null and adjusted.get((i, "p_null"), 1.0) < ALPHA \
            else "inconclusive"
        row["verdict_holm"] = gated(text, failed, needed, row["n"], effect, row["unit"])


def decided(text: str) -> bool:
    """Whether a verdict decides the claim (holds, does not hold, no effect worth detecting)
    rather than leaving it open."""
    return text.startswith(("holds", "does not hold", NULL))
