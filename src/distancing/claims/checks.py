"""The declared claims checked before any job runs: each claim on its own (``check_claims``), then
what needs the figures' panels (``check_comparisons``): one claim per comparison, the controls
each rests on, families. Every error is one line naming the offending key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..config import ConfigError
from .catalogue import METRICS, same_comparisons, shared_with, statistics
from .verdicts import NON_INFERIORITY, families


def check_claims(config: Mapping[str, Any]) -> None:
    """Each declared claim: a known statistic, a margin where and only where the direction means
    non-inferiority, a threshold only on a greater or less claim (and then no effect), an effect
    for an ensemble claim, no more seeds than the config lists; a primary claim compares
    ensembles, in a metric, in a direction, at a declared effect. The
    schema holds the static rules: the directions, the families, positive margins and effects;
    ``check_comparisons`` what needs the figures' panels."""
    known = statistics()
    for claim, spec in config.get("claims", {}).items():
        key = f"claims.{claim}"
        statistic = known.get(spec["statistic"])
        if statistic is None:
            raise ConfigError(f"{key}.statistic: unknown statistic {spec['statistic']!r}; known: "
                              f"{', '.join(known)}")
        absent = [peer for peer in statistic.peers if peer not in config["peers"]["methods"]]
        if absent:
            raise ConfigError(f"{key}.statistic: {spec['statistic']} compares the peer {absent[0]!r}, which "
                              f"peers.methods does not list")
        metric = spec.get("metric")
        if statistic.ensemble and metric not in METRICS:
            raise ConfigError(f"{key}.metric: {spec['statistic']} compares ensembles; metric must be one of "
                              f"{', '.join(METRICS)}, got {metric!r}")
        if not statistic.ensemble and metric is not None:
            raise ConfigError(f"{key}.metric: only ensemble statistics take a metric ({spec['statistic']} does not)")
        if statistic.ensemble and "effect" not in spec:
            raise ConfigError(f"{key}.effect: an ensemble claim states the effect worth detecting (in "
                              f"{statistic.unit_of(metric)})")
        non_inferiority = spec["direction"] in NON_INFERIORITY
        if non_inferiority and "margin" not in spec:
            raise ConfigError(f"{key}.margin: a {spec['direction']} claim needs a positive margin "
                              f"(the largest difference accepted, in {statistic.unit_of(metric)})")
        if "margin" in spec and not non_inferiority:
            raise ConfigError(f"{key}.margin: only not_below and not_above claims take a margin "
                              f"(direction is {spec['direction']})")
        if "threshold" in spec and spec["direction"] not in ("greater", "less"):
            raise ConfigError(f"{key}.threshold: only greater and less claims take a threshold "
                              f"(direction is {spec['direction']})")
        if "threshold" in spec and "effect" in spec:
            raise ConfigError(f"{key}.effect: a claim decided against a threshold is not graded by an effect "
                              f"(its threshold is its size)")
        if spec.get("family") == "primary" and (not statistic.ensemble or non_inferiority):
            raise ConfigError(f"{key}.family: a primary claim compares ensembles in a metric, greater, less or "
                              f"differs at a declared effect ({spec['statistic']} "
                              f"{'is not an ensemble comparison' if not statistic.ensemble else 'is non-inferiority'})")
        if min(spec["seeds"], config.get("max_claim_seeds") or spec["seeds"]) > len(config["seeds"]):
            raise ConfigError(f"{key}.seeds: the claim needs {spec['seeds']} seeds, but seeds lists "
                              f"{len(config['seeds'])}")


def check_comparisons(config: Mapping[str, Any], panels: Mapping[str, Sequence[str]]) -> None:
    """A claim's ``panels`` among its figure's; one claim per comparison (a peer comparison a figure
    makes on the same runs is declared on the figure's statistic, ``catalogue.same_comparisons``);
    every control and qualifier a claim rests on declared in its metric (``claims/verdicts.py``:
    what a control gates); a family only where the claim is not a control. ``panels``: figure ->
    its panel keys."""
    known = statistics()
    declared = config.get("claims", {})
    same = same_comparisons(known, panels)
    pairs = {(name, spec.get("metric")) for spec in declared.values() for name in shared_with(same, spec["statistic"])}
    for claim, spec in declared.items():
        key, statistic, metric = f"claims.{claim}", known[spec["statistic"]], spec.get("metric")
        on = panels.get(statistic.figure, []) if statistic.per_panel else []
        absent = [panel for panel in spec.get("panels", []) if panel not in on]
        if absent:
            raise ConfigError(f"{key}.panels: {spec['statistic']} has no panel {absent[0]!r} (its figure "
                              f"{statistic.figure}'s panels: {', '.join(on) or 'none, one row'})")
        shared = sorted((panel, name) for (peer, panel), name in same.items() if peer == spec["statistic"])
        if shared:
            panel, row = shared[0]
            raise ConfigError(f"{key}.statistic: {spec['statistic']} is the comparison {row} makes on its "
                              f"{panel} panel (the same runs); declare it once, on {row}")
        for rests, names in (("rests on the control", statistic.controls), ("is qualified by", statistic.qualifiers)):
            missing = [c for c in names if not any((name, metric) in pairs for name in shared_with(same, c))]
            if missing:
                raise ConfigError(f"{key}.statistic: {spec['statistic']} {rests} {missing[0]}"
                                  f"{f' in {metric}' if metric else ''}, which no claim declares")
    for claim, family in families(declared, known, same).items():
        if not family and "family" in declared[claim]:
            raise ConfigError(f"claims.{claim}.family: {declared[claim]['statistic']} is a control or qualifier of "
                              f"another claim, which belongs to no family; it cannot be {declared[claim]['family']}")
