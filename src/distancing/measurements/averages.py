"""The averages measurement: each peer ensemble's members averaged in weight space into one
network (SWA's average, ``basins.average``; BatchNorm recomputed), scored beside the ensemble.
Members in one basin average into a good network, members of different basins do not: its
statistics compare the two, resting on the independent networks of the deep ensembles.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..claims.catalogue import Evidence, Statistic, of_model, register_statistics, score
from ..members import Stored
from ..peers import PEERS
from .registry import Measurement, PlanView, Reading, register


def peer_ensembles(plan: PlanView, figure: str) -> list[Reading]:  # noqa: ARG001 (the peers, whatever the figure)
    """Each peer ensemble's members (``plan.Plan.peers``), one reading per model, method and
    replicate, members named by their place in the ensemble: the members its ensemble averages
    (at most ``peers.members``, as the ensemble tables count)."""
    readings, most = [], plan.config["peers"]["members"]
    for model, by_key in plan.peers().items():
        for method, peer in by_key.items():
            for replicate, ensemble in enumerate(peer["ensembles"]):
                members = [[name, epoch] for name, epochs in ensemble for epoch in epochs]
                readings.append({"about": {"model": model, "method": method, "replicate": replicate},
                                 "members": {str(i): member for i, member in enumerate(members[:most])}})
    return readings


def measure(stored: Stored, readings: Sequence[Mapping[str, Any]], settings: Mapping[str, Any],
            read: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Each reading's members averaged in weight space into one network (``average``),
    BatchNorm recomputed on the first ``samples`` training inputs, scored on the samples members
    are scored on, beside its ensemble's scores (``read["peer_ensembles"]``). A diverged run
    contributes nothing, as to its ensemble."""
    import pandas as pd
    import torch

    from ..basins import average, forward_pass, network, probabilities, recompute_batchnorm
    from ..ensembles import accuracy, calibrated_nll, full_ensembles

    ensembles = full_ensembles(pd.read_csv(read["peer_ensembles"]), "model", "method", "replicate").set_index(
        ["model", "method", "replicate"])
    rows = []
    for reading in readings:
        model_key, method, replicate = (reading["about"][key] for key in ("model", "method", "replicate"))
        kept = [(run, epoch) for run, epoch in reading["members"].values() if "final" in stored.members(run).kinds]
        if not kept:
            continue
        first = kept[0][0]
        config, data = stored.configs[first], stored.data(first)
        model = network(config, data)
        model.load_state_dict(average([stored.state(run, epoch) for run, epoch in kept],
                                      stored.members(first).parameters))
        batch, forward = config["train"]["eval_batch_size"], forward_pass(config)
        recompute_batchnorm(model, data.prepare(data.x_train[:settings["samples"]]), batch, forward)
        held_out = data.x_val if data.x_extra is None else torch.cat([data.x_val, data.x_extra])
        labels = (data.y_val if data.y_extra is None else torch.cat([data.y_val, data.y_extra])).numpy()
        probs = probabilities(model, data.prepare(held_out), batch, forward)
        ensemble = ensembles.loc[(model_key, method, replicate)]
        rows.append({"model": model_key, "method": method, "label": ensemble["label"], "replicate": replicate,
                     "members": len(kept),
                     "accuracy": accuracy(probs, labels), "nll_calibrated": calibrated_nll(probs, labels),
                     "ensemble_accuracy": float(ensemble["accuracy"]),
                     "ensemble_nll_calibrated": float(ensemble["nll_calibrated"])})
        logging.info("%s %s replicate %d: averaged %.4f against the ensemble's %.4f", model_key, method, replicate,
                     rows[-1]["accuracy"], rows[-1]["ensemble_accuracy"])
    return {"averages": rows}


register(Measurement(
    "averages", on="weight_averages", reads=peer_ensembles, compute="distancing.measurements.averages:measure",
    tables={"averages": ("model", "method", "label", "replicate", "members", "accuracy", "nll_calibrated",
                         "ensemble_accuracy", "ensemble_nll_calibrated")},
    settings={"samples": {"type": "integer", "minimum": 2}}, read=("peer_ensembles",)))


def weight_average_excess(method: str) -> Callable[[Evidence, str, str], list[float]]:
    """Per replicate of the panel's model: the method's members averaged in weight space − their
    ensemble, as scores."""
    def compute(e: Evidence, panel: str, metric: str) -> list[float]:
        averages = of_model(e.table("averages", "averages"), panel)
        rows = averages[averages["method"] == method].sort_values("replicate")
        return [score(row, metric) - score(row, f"ensemble_{metric}") for _, row in rows.iterrows()]
    return compute


def average_statistics() -> dict[str, Statistic]:
    """For every peer of several members: its members averaged into one network (BatchNorm
    recomputed; ``basins.average``) against their ensemble. Members in one basin average well;
    members of different basins do not, which independently seeded networks (the deep ensembles)
    show can be detected: the control of the others."""
    control = "weight_average_vs_ensemble_deep_m_budget"
    return {f"weight_average_vs_ensemble_{key}": Statistic(
        "", f"{peer.called}'s members averaged in weight space into one network − their "
        f"ensemble, per replicate", "", "the averaged network beats the ensemble",
        "the averaged network loses to the ensemble",
        weight_average_excess(key), controls=() if key.startswith("deep_") else (control,),
        ensemble=True, peers=(key,) if key.startswith("deep_") else (key, "deep_m_budget"),
        measurement="averages")
        for key, peer in PEERS.items() if key != "single"}


def ensemble_over_average(tested: str, key: str) -> Callable[[Evidence, str, str], list[float]]:
    """Per replicate of the panel's model: the tested method's ensemble − ``key``'s members averaged
    into one network, as scores."""
    def compute(e: Evidence, panel: str, metric: str) -> list[float]:
        rows = of_model(e.table("averages", "averages"), panel).set_index(["method", "replicate"])
        return [score(rows.loc[(tested, r)], f"ensemble_{metric}") - score(rows.loc[(key, r)], metric)
                if (tested, r) in rows.index and (key, r) in rows.index else math.nan
                for r in sorted(rows.index.get_level_values("replicate").unique())]
    return compute


def alternative_statistics() -> dict[str, Statistic]:
    """Each method under test (the two hills) against another method's members averaged into one
    network: an equal-budget alternative to ensembling them (one network to run, as SWA offers)."""
    return {f"{tested}_vs_average_{key}": Statistic(
        "", f"{under_test.called} − {peer.called}'s members averaged into one network, per replicate", "",
        f"{under_test.subject or under_test.called} beats {peer.called}'s members averaged into one network",
        f"{under_test.subject or under_test.called} loses to {peer.called}'s members averaged into one network",
        ensemble_over_average(tested, key), ensemble=True, peers=(tested, key),
        measurement="averages")
        for tested, under_test in PEERS.items() if under_test.compared
        for key, peer in PEERS.items() if key not in ("single", tested) and not key.startswith("deep_")}


register_statistics(average_statistics)
register_statistics(alternative_statistics)
