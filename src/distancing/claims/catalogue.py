"""The catalogue of statistics a claim may name, and the evidence they read (CSV files only, no torch).

A claim names a **statistic** (what is compared, paired how), for ensemble statistics a
**metric** of ``METRICS`` (accuracy, or the calibrated NLL), a **direction**, the **effect**
worth detecting and the **seeds** it needs (``verdicts.py`` decides it). Each statistic gives one
value per seed (paired by seed, or per replicate for peer ensembles); scores are oriented so that
positive means better (accuracy in points, the calibrated NLL gained in nats).

Statistics are registered by name: the figures' below (``FIGURE_STATISTICS``), the peer
registry's, one per method against one network (``peers_<method>_vs_single``) and per method
under test against every other (``peers_<tested>_vs_<other>``, ``member_accuracy_<tested>_vs_<other>``,
``disagreement_<tested>_vs_<other>``), made for whatever peers are registered
(``peer_statistics``), and each measurement's, in its own module
(``measurements/barriers.py``, ``measurements/averages.py``), through ``register_statistics``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..ensembles import full_ensembles
from ..peers import PEERS
from .inference import slope

ENSEMBLING_HELPS = "peers_deep_m_budget_vs_single"  # the control of every ensemble-against-ensemble claim
# What ensemble claims compare, with the unit of a difference of scores (higher is better):
# accuracy in points, and the calibrated NLL gained (temperature fitted by 2-fold cross-validation).
METRICS = {"accuracy": "points", "nll_calibrated": "nats of calibrated NLL"}
METRIC_WORDS = {"accuracy": "accuracy", "nll_calibrated": "calibrated NLL"}  # each metric in a sentence


# ---------------------------------------------------------------- the evidence a statistic reads

class Evidence:
    """What statistics read: run files (``files`` maps a kind of ``files.RUN_FILES``, metrics
    or distances, to run name -> path), the figures' panels and series (``plan.Plan.figure_runs`` per figure), the
    checkpoint-ensemble table, the peer tables (ensembles by size, pairs of members, each member's
    scores) and the measurements' tables (``measurements``: measurement -> table -> rows)."""

    def __init__(self, files: Mapping[str, Mapping[str, Path]], figures: Mapping[str, Any],
                 ensembles: pd.DataFrame | None = None, peers: pd.DataFrame | None = None,
                 pairs: pd.DataFrame | None = None, scores: pd.DataFrame | None = None,
                 measurements: Mapping[str, Mapping[str, pd.DataFrame]] | None = None) -> None:
        self.files, self.figures = files, figures
        self.ensembles, self.peers, self.pairs, self.scores = ensembles, peers, pairs, scores
        self.measurements = measurements or {}
        self._cache: dict[tuple[str, str], pd.DataFrame] = {}

    def table(self, measurement: str, table: str) -> pd.DataFrame:
        """One table a measurement wrote (``measurements/``)."""
        return self.measurements[measurement][table]

    def read(self, name: str, kind: str) -> pd.DataFrame:
        if (name, kind) not in self._cache:
            self._cache[(name, kind)] = pd.read_csv(self.files[kind][name])
        return self._cache[(name, kind)]

    def runs(self, figure: str, panel: str, series: str) -> list[str]:
        return self.figures[figure][panel]["series"][series]["runs"]

    def final(self, name: str) -> float:
        """Last epoch's validation accuracy in points; NaN for a diverged run."""
        m = self.read(name, "metrics")
        return math.nan if (m["status"] == "diverged").any() else 100 * float(m["val_acc"].iloc[-1])

    def distance(self, name: str, checkpoint: int = 0, epoch: int | None = None) -> float:
        """L2 distance to the checkpoint with this index, at ``epoch`` (default: the last)."""
        d = self.read(name, "distances")
        d = d[d["checkpoint"] == checkpoint]
        if epoch is not None:
            d = d[d["epoch"] == epoch]
        return float(d["distance"].iloc[-1]) if len(d) else math.nan

    def ensemble(self, name: str, metric: str, best_member: bool = False) -> float:
        """A run's checkpoint ensemble, all members, as a score (``score``; a run without
        checkpoints, such as the single network: its final model); or its best member's."""
        rows = self.ensembles[self.ensembles["run"] == name]
        if rows.empty:
            return math.nan
        full = full_ensembles(rows, "run").iloc[0]
        return score(full, f"best_member_{metric}" if best_member else metric)


def score(row: Mapping[str, float], column: str) -> float:
    """An ensemble table's metric as a score where higher is better: accuracy in points, the
    negative (calibrated) NLL in nats, so every difference of scores reads "better by"."""
    value = float(row[column])
    return 100 * value if column.endswith("accuracy") else -value


def paired(a: Sequence[str], b: Sequence[str], f: Callable[[str], float]) -> list[float]:
    """f(a_i) − f(b_i) for runs paired by position (the same seed)."""
    return [f(x) - f(y) for x, y in zip(a, b, strict=True)]


def sweep_slopes(evidence: Evidence, figure: str, panel: str, f: Callable[[str], float]) -> list[float]:
    """Per seed: slope of f(run) against log10 of the swept value over the swept series."""
    series = [s for s in evidence.figures[figure][panel]["series"].values() if s["value"]]
    seeds = len(series[0]["runs"])
    return [slope([math.log10(s["value"]) for s in series], [f(s["runs"][i]) for s in series]) for i in range(seeds)]


# ---------------------------------------------------------------- statistics

@dataclass(frozen=True)
class Statistic:
    """A per-seed statistic of one figure (one row per panel), with the words for each sign.

    A statistic of a measurement (``measurements/``) names it in ``measurement`` and leaves
    ``figure`` empty: its figure is the one the measurement is on."""

    figure: str  # the figure that draws what it compares ("" for a measurement's: the figure it is on)
    measures: str
    unit: str
    up: str  # what a positive value means
    down: str  # what a negative value means
    compute: Callable[[Evidence, str, str], list[float]]  # (evidence, panel, metric) -> per seed
    controls: tuple[str, ...] = ()  # statistics (same panel and metric, or the figure's only one) whose failure
    # would explain this one's null: an undecided verdict is untestable where one does not hold
    qualifiers: tuple[str, ...] = ()  # ... whose failure would explain a positive result: a note, never a gate
    per_panel: bool = True  # one row per panel of the figure; False: one row comparing panels
    ensemble: bool = False  # compares ensembles: the claim names a metric of ``METRICS``
    peers: tuple[str, ...] = ()  # the peer methods (``peers.PEERS``) it reads from the peer tables
    measurement: str = ""  # the measurement whose tables it reads (a key of ``measurements.MEASUREMENTS``)
    reads_also: tuple[str, ...] = ()  # other measurements whose tables it reads (before against after)
    peer_comparison: tuple[str, ...] = ()  # (method, other): on a panel of a model the peers also train, the same
    # runs and comparison as peers_<method>_vs_<other>, which then reads this statistic's row (``same_comparisons``)

    def __post_init__(self) -> None:
        if self.measurement and not self.figure:
            from ..measurements.registry import MEASUREMENTS  # whose modules register statistics here

            object.__setattr__(self, "figure", MEASUREMENTS[self.measurement].on)

    def measurements(self) -> tuple[str, ...]:
        """Every measurement whose tables it reads."""
        return tuple(m for m in (self.measurement, *self.reads_also) if m)

    def unit_of(self, metric: str | None) -> str:
        """The unit of its values: an ensemble statistic's metric, per what its own unit says (a slope)."""
        return f"{METRICS[metric]} {self.unit}".strip() if self.ensemble else self.unit


def restart_maxima_slopes(e: Evidence, panel: str, metric: str) -> list[float]:
    """Per seed: slope of the best accuracy within each SGDR cycle against the cycle's index.
    A cycle starts where the learning rate rises."""
    slopes = []
    for name in e.runs("fig1_1", panel, "sgdr"):
        m = e.read(name, "metrics")
        cycle = np.concatenate([[0], np.cumsum(np.diff(m["lr"].to_numpy()) > 0)])
        maxima = m.groupby(cycle)["val_acc"].max().to_numpy() * 100
        slopes.append(slope(list(range(len(maxima))), list(maxima)))
    return slopes


def distance_jump(e: Evidence, name: str) -> float:
    """Change of the distance to the first checkpoint over the epoch after the second is stored."""
    d = e.read(name, "distances")
    second = sorted(d["checkpoint_epoch"].unique())[1]
    return e.distance(name, 0, epoch=second + 1) - e.distance(name, 0, epoch=second)


def weight_decay_jumps(e: Evidence, panel: str, metric: str) -> list[float]:
    """Per seed, the jump the new checkpoint's hill causes (distancing − its no-hill twin, which
    sees the same learning-rate restart), with the largest weight decay − without."""
    panels = e.figures["fig3_5"]

    def hill_jumps(key: str) -> list[float]:
        return paired(e.runs("fig3_5", key, "distancing"), e.runs("fig3_5", key, "no_hill"),
                      lambda name: distance_jump(e, name))

    on = max(panels, key=lambda key: panels[key]["value"])
    off = min(panels, key=lambda key: panels[key]["value"])
    return [a - b for a, b in zip(hill_jumps(on), hill_jumps(off), strict=True)]


def most_checkpoints(e: Evidence, panel: str) -> str:
    series = e.figures["fig3_4"][panel]["series"]
    return max((key for key in series if series[key]["value"]), key=lambda key: series[key]["value"])


def of_model(table: pd.DataFrame, model: str) -> pd.DataFrame:
    """A peer table's rows of one model (a panel of the peers' figures: each of ``peers.models``)."""
    return table[table["model"] == model]


def peer_difference(e: Evidence, model: str, method: str, other: str, metric: str) -> list[float]:
    """Score of ``method``'s full ensemble − ``other``'s, per replicate of the model (other "single":
    one network)."""
    peers = of_model(e.peers, model)
    full = {(r.method, r.replicate): score(r._asdict(), metric)
            for r in full_ensembles(peers, "method", "replicate").itertuples()}
    return [full.get((method, r), math.nan) - full.get((other, r), math.nan)
            for r in sorted(peers["replicate"].unique())]


def member_difference(e: Evidence, model: str, method: str, other: str, column: str, table: str) -> list[float]:
    """Per replicate of the model: the mean of ``column`` over ``method``'s members (table "scores")
    or pairs of members (table "pairs") − the same of ``other``'s, in points (×100)."""
    rows = of_model(e.scores if table == "scores" else e.pairs, model)
    means = rows.groupby(["method", "replicate"])[column].mean()
    return [100 * (means.get((method, r), math.nan) - means.get((other, r), math.nan))
            for r in sorted(of_model(e.peers, model)["replicate"].unique())]


def peer_statistics() -> dict[str, Statistic]:
    """From the peer registry, per model of ``peers.models`` (the peers' figures' panels): every
    method against one network (its control), and each method under test (``Peer.compared``: the
    weight-space and the function-space hill) against every other method: their ensembles (resting
    on ``ENSEMBLING_HELPS``, the same model's, qualified by the control the other's registry entry
    names), and, for methods of several members, their members' pairwise disagreement (qualified
    by the members' accuracy, so that more disagreement does not merely mean worse members)."""
    result = {}
    for key, peer in PEERS.items():
        if key != "single":
            # A method under test against one network rests on its construction without what is new
            # (the registry's control: the snapshot ensemble for either hill); the other methods are controls.
            rests = peer.compared and peer.control and peer.control != key
            result[f"peers_{key}_vs_single"] = Statistic(
                "peers_members", f"{peer.called} − one network (peers.csv gives each budget), per replicate", "",
                f"{peer.called} beats one network", f"{peer.called} loses to one network",
                lambda e, p, m, key=key: peer_difference(e, p, key, "single", m),
                controls=(f"peers_{peer.control}_vs_single",) if rests else (), ensemble=True,
                peers=(key, "single") + ((peer.control,) if rests else ()))
    for tested, under_test in PEERS.items():
        if not under_test.compared:
            continue
        who = under_test.subject or under_test.called
        for key, peer in PEERS.items():
            if key in ("single", tested):
                continue
            result[f"peers_{tested}_vs_{key}"] = Statistic(
                "peers_members", f"{under_test.called} − {peer.called} (peers.csv gives each budget), per replicate",
                "", f"{who} beats {peer.called}", f"{who} loses to {peer.called}",
                lambda e, p, m, tested=tested, key=key: peer_difference(e, p, tested, key, m),
                controls=(ENSEMBLING_HELPS,),
                qualifiers=tuple({f"peers_{peer.control}_vs_single"} - {ENSEMBLING_HELPS}) if peer.control else (),
                ensemble=True, peers=(tested, key) + ((peer.control, "single") if peer.control else ()))
            if key.startswith("deep_"):
                continue  # independent networks: their disagreement says nothing of pushing one run apart
            result[f"member_accuracy_{tested}_vs_{key}"] = Statistic(
                "peers_spaces", f"mean accuracy of {under_test.called}'s members − {peer.called}'s, per replicate",
                "points", f"{who}'s members are more accurate", f"{who}'s members are less accurate",
                lambda e, p, m, tested=tested, key=key: member_difference(e, p, tested, key, "accuracy", "scores"),
                peers=(tested, key))
            result[f"disagreement_{tested}_vs_{key}"] = Statistic(
                "peers_spaces", f"mean pairwise disagreement of {under_test.called}'s members (validation samples "
                f"whose predicted classes differ) − {peer.called}'s, per replicate", "points",
                f"{who}'s members disagree more", f"{who}'s members disagree less",
                lambda e, p, m, tested=tested, key=key: member_difference(e, p, tested, key, "disagreement", "pairs"),
                qualifiers=(f"member_accuracy_{tested}_vs_{key}",), peers=(tested, key))
    return result


def distance_disagreement(e: Evidence, panel: str, metric: str) -> list[float]:  # noqa: ARG001
    """Per replicate of the panel's model: Spearman correlation of weight distance and
    disagreement over the pairs of distancing and snapshot members."""
    pairs = of_model(e.pairs, panel)
    within = pairs[pairs["method"].isin(["distancing", "snapshot"])]
    values = []
    for _, rows in within.groupby("replicate"):
        if len(rows) < 3 or rows["weight_distance"].std() == 0 or rows["disagreement"].std() == 0:
            values.append(math.nan)
        else:
            values.append(float(rows[["weight_distance", "disagreement"]].rank().corr().iloc[0, 1]))
    return values


FIGURE_STATISTICS: dict[str, Statistic] = {
    "sgdr_vs_fixed_lr": Statistic(
        "fig1_1", "final validation accuracy, SGDR − fixed learning rate, paired by seed", "points",
        "SGDR ends higher", "SGDR ends lower",
        lambda e, p, m: paired(e.runs("fig1_1", p, "sgdr"), e.runs("fig1_1", p, "fixed_lr"), e.final)),
    "sgdr_restart_maxima": Statistic(
        "fig1_1", "slope of each SGDR cycle's best validation accuracy against the cycle's index, per seed",
        "points per restart", "maxima rise restart by restart", "maxima fall restart by restart",
        restart_maxima_slopes),
    "distance_after_checkpoint": Statistic(
        "fig3_1", "final L2 distance to the checkpoint, distancing − no hill (same schedule), paired by seed",
        "L2", "distancing ends farther from the checkpoint", "distancing ends nearer the checkpoint",
        lambda e, p, m: paired(e.runs("fig3_1", p, "distancing"), e.runs("fig3_1", p, "no_hill"), e.distance)),
    "accuracy_after_checkpoint": Statistic(
        "fig3_1", "final validation accuracy, distancing − no hill (same schedule), paired by seed", "points",
        "distancing ends higher", "distancing ends lower",
        lambda e, p, m: paired(e.runs("fig3_1", p, "distancing"), e.runs("fig3_1", p, "no_hill"), e.final)),
    "distance_vs_strength": Statistic(
        "fig3_2", "slope of the final distance to the checkpoint against log10 s, per seed", "L2 per decade",
        "distance rises with s", "distance falls with s",
        lambda e, p, m: sweep_slopes(e, "fig3_2", p, e.distance)),
    "distance_vs_sigma2": Statistic(
        "fig3_3", "slope of the final distance to the checkpoint against log10 σ², per seed", "L2 per decade",
        "distance rises with σ²", "distance falls with σ²",
        lambda e, p, m: sweep_slopes(e, "fig3_3", p, e.distance)),
    "accuracy_with_checkpoints": Statistic(
        "fig3_4", "final validation accuracy with the most checkpoints − no hill (same schedule), paired by seed",
        "points", "more checkpoints end higher", "more checkpoints end lower",
        lambda e, p, m: paired(e.runs("fig3_4", p, most_checkpoints(e, p)), e.runs("fig3_4", p, "no_hill"), e.final)),
    "weight_decay_distance_jump": Statistic(
        "fig3_5", "change of the distance to the first checkpoint over the epoch after the second is stored, "
        "distancing − its no-hill twin (the same restart), largest weight decay − none, paired by seed", "L2",
        "weight decay makes the jump larger", "weight decay makes the jump smaller", weight_decay_jumps,
        per_panel=False),
    "sgdr_rescue": Statistic(
        "fig3_6", "final validation accuracy of SGDR at the suboptimal learning rate, with − without distancing, "
        "paired by seed", "points", "distancing ends higher", "distancing ends lower",
        lambda e, p, m: paired(e.runs("fig3_6", p, "distancing"), e.runs("fig3_6", p, "no_hill"), e.final)),
    "snapshot_vs_single": Statistic(
        "fig3_7", "the no-hill run's checkpoint ensemble (a snapshot ensemble) − the single cosine-schedule "
        "network, paired by seed", "", "the snapshot ensemble beats one network",
        "the snapshot ensemble loses to one network",
        lambda e, p, m: paired(e.runs("fig3_7", p, "no_hill"), e.runs("fig3_7", p, "single"),
                               lambda name: e.ensemble(name, m)), ensemble=True,
        peer_comparison=("snapshot", "single")),
    "snapshot_vs_best_member": Statistic(
        "fig3_7", "the no-hill run's checkpoint ensemble − its own best member (the gain of ensembling alone), "
        "per seed", "", "ensembling the snapshots beats their best one", "the best snapshot alone is better",
        lambda e, p, m: [e.ensemble(n, m) - e.ensemble(n, m, best_member=True) for n in e.runs("fig3_7", p, "no_hill")],
        controls=(ENSEMBLING_HELPS,), ensemble=True),
    "ensemble_vs_single": Statistic(
        "fig3_7", "the distancing run's checkpoint ensemble − the single cosine-schedule network, paired by seed",
        "", "the distancing ensemble beats one network", "the distancing ensemble loses to one network",
        lambda e, p, m: paired(e.runs("fig3_7", p, "distancing"), e.runs("fig3_7", p, "single"),
                               lambda name: e.ensemble(name, m)), controls=("snapshot_vs_single",), ensemble=True,
        peer_comparison=("distancing", "single")),
    "ensemble_vs_best_member": Statistic(
        "fig3_7", "the distancing run's checkpoint ensemble − its own best member (the gain of ensembling alone), "
        "per seed", "", "ensembling the distancing checkpoints beats their best one",
        "the best distancing checkpoint alone is better",
        lambda e, p, m: [e.ensemble(n, m) - e.ensemble(n, m, best_member=True)
                         for n in e.runs("fig3_7", p, "distancing")], controls=(ENSEMBLING_HELPS,), ensemble=True),
    "ensemble_vs_no_hill": Statistic(
        "fig3_7", "the distancing run's checkpoint ensemble − the same schedule's checkpoint ensemble without a "
        "hill, paired by seed", "", "the hill improves the checkpoint ensemble",
        "the hill worsens the checkpoint ensemble",
        lambda e, p, m: paired(e.runs("fig3_7", p, "distancing"), e.runs("fig3_7", p, "no_hill"),
                               lambda name: e.ensemble(name, m)), controls=(ENSEMBLING_HELPS,), ensemble=True,
        peer_comparison=("distancing", "snapshot")),
    "ensemble_vs_strength": Statistic(
        "fig3_8", "slope of the checkpoint ensemble's score against log10 s (s > 0), per seed", "per decade of s",
        "the ensemble improves with s", "the ensemble worsens with s",
        lambda e, p, m: sweep_slopes(e, "fig3_8", p, lambda name: e.ensemble(name, m)),
        controls=(ENSEMBLING_HELPS,), ensemble=True),
    "distance_disagreement": Statistic(
        "peers_weights", "Spearman correlation of weight distance and prediction disagreement over the pairs of "
        "distancing and snapshot members, per replicate", "correlation",
        "farther members disagree more", "farther members disagree less", distance_disagreement,
        peers=("distancing", "snapshot")),
}


# The measurements' modules add theirs when the registry imports them (``measurements/__init__.py``).
STATISTIC_SOURCES: list[Callable[[], dict[str, Statistic]]] = [peer_statistics]


def register_statistics(source: Callable[[], dict[str, Statistic]]) -> None:
    """Add a function returning statistics by name (a plugin's, for its measurement), called
    whenever the statistics are listed, so that it sees every registered peer."""
    STATISTIC_SOURCES.append(source)


Same = dict[tuple[str, str], str]  # (peer statistic, panel) -> the figure statistic whose row it is


def same_comparisons(known: Mapping[str, Statistic], panels: Mapping[str, Sequence[str]]) -> Same:
    """(Peer statistic, panel) -> figure statistic, for every peer comparison a figure already
    makes on the same runs: on each model that is a panel of both (``panels``: figure -> its panel
    keys; the peers' figures have one per model of ``peers.models``). A figure that shows such a
    row reads the figure statistic's, so each comparison is one row."""
    return {(f"peers_{a}_vs_{b}", panel): name for name, s in known.items() if s.peer_comparison
            for a, b in [s.peer_comparison]
            for panel in panels.get(s.figure, ()) if panel in panels.get(known[f"peers_{a}_vs_{b}"].figure, ())}


def row_statistic(same: Same, statistic: str, panel: str) -> str:
    """The statistic whose row holds ``statistic`` on ``panel``: a figure's, where it makes the same comparison."""
    return same.get((statistic, panel), statistic)


def shared_with(same: Same, statistic: str) -> set[str]:
    """The statistic and every figure statistic that holds its rows on some panel."""
    return {statistic} | {name for (peer, _), name in same.items() if peer == statistic}


def statistics() -> dict[str, Statistic]:
    """Every statistic a claim may name: the figures', the peer registry's (which plugins extend),
    the measurements' (complete once ``distancing.measurements`` is imported, as the plan and the
    verdicts do) and any a plugin registers (``register_statistics``)."""
    known = dict(FIGURE_STATISTICS)
    for source in STATISTIC_SOURCES:
        known |= source()
    return known
