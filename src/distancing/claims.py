"""The paper's claims, declared in the config before the run and decided on our runs (CSV files
only, no torch).

A claim names a **statistic** from ``statistics()`` (what is compared, paired how), for ensemble
statistics a **metric** of ``METRICS`` (accuracy, or the calibrated NLL), a **direction**, the
**effect** worth detecting and the **seeds** it needs. Each statistic gives one value per seed
(paired by seed, or per replicate for peer ensembles); scores are oriented so that positive
means better (accuracy in points, the calibrated NLL gained in nats). The table reports n, mean,
the 95 % t-interval of the mean and the **minimum detectable effect** at that n (the true mean
a paired t-test at α = 0.05, two-sided, detects with power 0.8 given the observed spread):
``MDE = (t₀.₉₇₅,ₙ₋₁ + t₀.₈₀,ₙ₋₁) · sd / √n``, and the seeds the declared effect needs.

Directions: ``greater`` / ``less`` (the interval must lie above / below zero), ``differs``
(either side; the verdict names the side), ``not_below`` / ``not_above`` with a positive
``margin`` (non-inferiority: the interval must lie above −margin / below +margin). Verdicts
name the direction in words ("holds: distance rises with s"). An undecided claim whose declared
effect needs more seeds than it had says so. ``verdict_holm`` decides each row again with Holm's
step-down adjustment over every row of the table (the family-wise view).

**What a control gates.** A control gates a claim only where the control's failure would by
itself explain the claim's null result; then an undecided claim resting on a control not shown
to hold (its own verdict is not "holds") is "untestable in this profile", and a decided one
stands, with a note. Applied to every statistic from this rule, not from any run:

1. A comparison of ensembles with each other, or of an ensemble with its own best member (the
   hill against its no-hill twin's ensemble, a hill against a peer, the ensemble against its
   best member, the ensemble's slope in s) rests on *ensembling helps at this scale*: the deep
   ensemble of M independent networks beating one network (``ENSEMBLING_HELPS``), in the same
   metric. If even independent networks cannot beat one, no ensemble difference can show.
   The twin's members being too alike does not explain such a null: that is what the hill is
   meant to remedy. The deep ensemble is the peers' model's (``peers.model``), so a panel of
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

**Replication.** Each verdict carries the probability that an independent replication with
as many seeds reaches the same verdict (the same side of the threshold, or undecided again),
by the posterior predictive: the replication's t statistic spreads around the observed one by
the sampling error of the original mean and of the replication's (variance 2), and by the
uncertainty of both standard deviations, estimated on n − 1 degrees of freedom
(``same_verdict_probability``), so a claim decided at p = 0.05 replicates with probability one
half (Goodman 1992), and a large t from three seeds is not taken for certainty. A decided
verdict below ``ROBUST`` is *fragile*; ``seeds_robust`` gives the seeds at which the observed
effect and spread would replicate with that probability.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .ensembles import full_ensembles
from .measurements import INDEPENDENT, MEASUREMENTS
from .peers import PEERS

DIRECTIONS = ("greater", "less", "differs", "not_below", "not_above")
ALPHA, POWER = 0.05, 0.8
ROBUST = 0.8  # a decided verdict that replicates with a lower probability is fragile
ENSEMBLING_HELPS = "peers_deep_m_budget_vs_single"  # the control of every ensemble-against-ensemble claim
# What ensemble claims compare, with the unit of a difference of scores (higher is better):
# accuracy in points, and the calibrated NLL gained (temperature fitted by 2-fold cross-validation).
METRICS = {"accuracy": "points", "nll_calibrated": "nats of calibrated NLL"}


def t_quantile(df: int, q: float = 1 - ALPHA / 2) -> float:
    return float(stats.t.ppf(q, df)) if df >= 1 else math.inf


def finite(values: Sequence[float]) -> np.ndarray:
    return np.asarray([x for x in values if np.isfinite(x)], dtype=float)


def interval(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and 95 % t-interval of the mean; NaNs (diverged runs) are left out."""
    v = finite(values)
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if len(v) == 1:
        return mean, -math.inf, math.inf
    half = t_quantile(len(v) - 1) * float(v.std(ddof=1)) / math.sqrt(len(v))
    return mean, mean - half, mean + half


def minimum_detectable_effect(values: Sequence[float]) -> float:
    """The effect a two-sided paired t-test (α = 0.05) detects with power 0.8 at this n and spread."""
    v = finite(values)
    if len(v) < 2:
        return math.inf
    df = len(v) - 1
    return (t_quantile(df) + t_quantile(df, POWER)) * float(v.std(ddof=1)) / math.sqrt(len(v))


def seeds_needed(sd: float, effect: float, most: int = 1000) -> int:
    """The fewest seeds at which a paired t-test (α = 0.05, two-sided, power 0.8) detects a true
    mean of ``effect`` when the paired differences spread by ``sd``: the power planning of a claim."""
    if not (math.isfinite(sd) and effect > 0):
        return most
    for n in range(2, most):
        if (t_quantile(n - 1) + t_quantile(n - 1, POWER)) * sd / math.sqrt(n) <= effect:
            return n
    return most


def same_verdict_probability(t: float, critical: float, df: int | None = None, points: int = 200) -> float:
    """The probability that a replication's t statistic lands on the same side of ±``critical`` as
    the observed ``t`` (above, below, or between: undecided again), by the posterior predictive.

    With the variance known (``df`` None), the replication's t is normal around ``t`` with
    variance 2: the sampling error of the original mean and of the replication's. With ``df``
    degrees of freedom both standard deviations are estimates too: the true standardised effect
    is ``t·√V`` and the replication's t is ``(√2·Z + t·√V) / √W`` with V, W independent χ²_df / df
    (the original's and the replication's variance estimates against the true variance, under a
    flat prior on the mean and log σ), so P(above) = E[Φ((t√V − c√W) / √2)], taken over ``points``
    quantiles of each of V and W. At n = 3 a t of 7.5 replicates with 0.74, not the 0.99 a known
    variance would give; at t = c both give one half."""
    if df is None:
        root_v = root_w = np.ones(1)
    else:
        quantiles = (np.arange(points) + 0.5) / points
        root_v = np.sqrt(stats.chi2.ppf(quantiles, df) / df)
        root_w = root_v
    shift, bound = t * root_v[:, None], critical * root_w[None, :]
    spread = math.sqrt(2)
    if t > critical:
        return float(stats.norm.cdf((shift - bound) / spread).mean())
    if t < -critical:
        return float(stats.norm.cdf((-bound - shift) / spread).mean())
    return float((stats.norm.cdf((bound - shift) / spread) - stats.norm.cdf((-bound - shift) / spread)).mean())


def replication_probability(values: Sequence[float], boundary: float = 0.0) -> float:
    """The probability that an independent replication with as many seeds reaches the same
    verdict, from the observed mean's distance to ``boundary`` (0, or ∓ the margin), its standard
    error and the n − 1 degrees of freedom of both (NaN below two values; 1 for a spread of zero)."""
    v = finite(values)
    if len(v) < 2:
        return math.nan
    sd, gap = float(v.std(ddof=1)), float(v.mean()) - boundary
    if sd == 0:
        return 1.0
    return same_verdict_probability(gap / (sd / math.sqrt(len(v))), t_quantile(len(v) - 1), len(v) - 1)


def seeds_robust(values: Sequence[float], boundary: float = 0.0, most: int = 1000) -> int:
    """The fewest seeds at which the observed mean and spread would give a decided verdict that
    replicates with probability ``ROBUST`` (``most`` where the mean sits on the boundary)."""
    v = finite(values)
    if len(v) < 2:
        return most
    sd, gap = float(v.std(ddof=1)), abs(float(v.mean()) - boundary)
    if sd == 0:
        return 2 if gap > 0 else most
    for n in range(2, most):
        t = gap / (sd / math.sqrt(n))
        critical = t_quantile(n - 1)
        if t > critical and same_verdict_probability(t, critical, n - 1) >= ROBUST:
            return n
    return most


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys against xs (NaN if fewer than two finite points)."""
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if np.isfinite(y)]
    if len(points) < 2:
        return math.nan
    x, y = np.array(points).T
    return round(float(np.polyfit(x, y, 1)[0]), 9)  # a flat line is 0, not ±1e-15 of rounding


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
        """One table a measurement wrote (``measurements.py``)."""
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


    def barrier(self, panel: str, series: str, column: str) -> dict[int, float]:
        """Seed -> the barrier of one series' pair of members (``column``: train_loss, val_loss or
        val_error; the error in points), from the barriers measurement."""
        table = self.table("barriers", "barriers")
        rows = table[(table["panel"] == panel) & (table["series"] == series)]
        scale = 100.0 if column.endswith("error") else 1.0
        return {int(seed): scale * float(value) for seed, value in zip(rows["seed"], rows[f"{column}_barrier"],
                                                                          strict=True)}


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

    A statistic of a measurement (``measurements.py``) names it in ``measurement`` and leaves
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

    def __post_init__(self) -> None:
        if self.measurement and not self.figure:
            object.__setattr__(self, "figure", MEASUREMENTS[self.measurement].on)

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


def peer_difference(e: Evidence, method: str, other: str, metric: str) -> list[float]:
    """Score of ``method``'s full ensemble − ``other``'s, per replicate (other "single": one network)."""
    full = {(r.method, r.replicate): score(r._asdict(), metric) for r in full_ensembles(e.peers, "method",
                                                                                          "replicate").itertuples()}
    return [full.get((method, r), math.nan) - full.get((other, r), math.nan)
            for r in sorted(e.peers["replicate"].unique())]


def member_difference(e: Evidence, method: str, other: str, column: str, table: str) -> list[float]:
    """Per replicate: the mean of ``column`` over ``method``'s members (table "scores") or pairs of
    members (table "pairs") − the same of ``other``'s, in points (×100)."""
    rows = e.scores if table == "scores" else e.pairs
    means = rows.groupby(["method", "replicate"])[column].mean()
    return [100 * (means.get((method, r), math.nan) - means.get((other, r), math.nan))
            for r in sorted(e.peers["replicate"].unique())]


def peer_statistics() -> dict[str, Statistic]:
    """From the peer registry: every method against one network (its control), and each method
    under test (``Peer.compared``: the weight-space and the function-space hill) against every
    other method: their ensembles (resting on ``ENSEMBLING_HELPS``, qualified by the control the
    other's registry entry names), and, for methods of several members, their members' pairwise
    disagreement (qualified by the members' accuracy, so that more disagreement does not merely
    mean worse members)."""
    result = {}
    for key, peer in PEERS.items():
        if key != "single":
            # A method under test against one network rests on its construction without what is new
            # (the registry's control: the snapshot ensemble for either hill); the other methods are controls.
            rests = peer.compared and peer.control and peer.control != key
            result[f"peers_{key}_vs_single"] = Statistic(
                "peers_members", f"{peer.called} − one network (peers.csv gives each budget), per replicate", "",
                f"{peer.called} beats one network", f"{peer.called} loses to one network",
                lambda e, p, m, key=key: peer_difference(e, key, "single", m),
                controls=(f"peers_{peer.control}_vs_single",) if rests else (), per_panel=False, ensemble=True,
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
                lambda e, p, m, tested=tested, key=key: peer_difference(e, tested, key, m),
                controls=(ENSEMBLING_HELPS,),
                qualifiers=tuple({f"peers_{peer.control}_vs_single"} - {ENSEMBLING_HELPS}) if peer.control else (),
                per_panel=False,
                ensemble=True, peers=(tested, key) + ((peer.control, "single") if peer.control else ()))
            if key.startswith("deep_"):
                continue  # independent networks: their disagreement says nothing of pushing one run apart
            result[f"member_accuracy_{tested}_vs_{key}"] = Statistic(
                "peers_spaces", f"mean accuracy of {under_test.called}'s members − {peer.called}'s, per replicate",
                "points", f"{who}'s members are more accurate", f"{who}'s members are less accurate",
                lambda e, p, m, tested=tested, key=key: member_difference(e, tested, key, "accuracy", "scores"),
                per_panel=False, peers=(tested, key))
            result[f"disagreement_{tested}_vs_{key}"] = Statistic(
                "peers_spaces", f"mean pairwise disagreement of {under_test.called}'s members (validation samples "
                f"whose predicted classes differ) − {peer.called}'s, per replicate", "points",
                f"{who}'s members disagree more", f"{who}'s members disagree less",
                lambda e, p, m, tested=tested, key=key: member_difference(e, tested, key, "disagreement", "pairs"),
                qualifiers=(f"member_accuracy_{tested}_vs_{key}",), per_panel=False, peers=(tested, key))
    return result


def distance_disagreement(e: Evidence, panel: str, metric: str) -> list[float]:  # noqa: ARG001
    """Per replicate: Spearman correlation of weight distance and disagreement over the pairs of
    distancing and snapshot members."""
    within = e.pairs[e.pairs["method"].isin(["distancing", "snapshot"])]
    values = []
    for _, rows in within.groupby("replicate"):
        if len(rows) < 3 or rows["weight_distance"].std() == 0 or rows["disagreement"].std() == 0:
            values.append(math.nan)
        else:
            values.append(float(rows[["weight_distance", "disagreement"]].rank().corr().iloc[0, 1]))
    return values


def hill_barrier_excess(column: str) -> Callable[[Evidence, str, str], list[float]]:
    """Per seed: the barrier from the hill's checkpoint to its next member − its twin's over the same epochs."""
    def compute(e: Evidence, panel: str, metric: str) -> list[float]:  # noqa: ARG001
        hill, twin = e.barrier(panel, "distancing", column), e.barrier(panel, "no_hill", column)
        return [hill[seed] - twin[seed] for seed in sorted(hill)]
    return compute


def independent_barrier_excess(column: str) -> Callable[[Evidence, str, str], list[float]]:
    """Per disjoint pair of seeds: the barrier between their independently seeded final members −
    the twin's barrier (checkpoint to next member) of the pair's first seed."""
    def compute(e: Evidence, panel: str, metric: str) -> list[float]:  # noqa: ARG001
        apart, twin = e.barrier(panel, INDEPENDENT, column), e.barrier(panel, "no_hill", column)
        return [apart[seed] - twin[seed] for seed in sorted(apart)]
    return compute


BARRIERS = {"train_loss": "training-loss", "val_error": "validation-error"}
BARRIER_UNITS = {"train_loss": "nats", "val_error": "points"}


def barrier_statistics() -> dict[str, Statistic]:
    """The basins figure's statistics, one pair per barrier (``basins.py``): the hill's step against
    its twin's, and the control that independently seeded networks stand behind a higher barrier
    than the twin's step (a barrier can be detected at all)."""
    known = {}
    for column, words in BARRIERS.items():
        control = f"barrier_{column}_independent_vs_twin"
        known[control] = Statistic(
            "", f"the {words} barrier between the final members of two independently seeded no-hill runs "
            f"− the twin's barrier from the checkpoint to its next member, per disjoint pair of seeds",
            BARRIER_UNITS[column], "independent networks lie in different basins, detectably",
            "independent networks look no more separated than one run's step", independent_barrier_excess(column),
            measurement="barriers")
        known[f"barrier_{column}_hill_vs_twin"] = Statistic(
            "", f"the {words} barrier from the hill's checkpoint to the run's next member − the no-hill "
            f"twin's over the same epochs, paired by seed", BARRIER_UNITS[column],
            "the hill's step crosses a higher barrier", "the hill's step crosses a lower barrier",
            hill_barrier_excess(column), controls=(control,), measurement="barriers")
    return known


def weight_average_excess(method: str) -> Callable[[Evidence, str, str], list[float]]:
    """Per replicate: the method's members averaged in weight space − their ensemble, as scores."""
    def compute(e: Evidence, panel: str, metric: str) -> list[float]:  # noqa: ARG001
        averages = e.table("averages", "averages")
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
        per_panel=False, ensemble=True, peers=(key,) if key.startswith("deep_") else (key, "deep_m_budget"),
        measurement="averages")
        for key, peer in PEERS.items() if key != "single"}


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
                               lambda name: e.ensemble(name, m)), ensemble=True),
    "snapshot_vs_best_member": Statistic(
        "fig3_7", "the no-hill run's checkpoint ensemble − its own best member (the gain of ensembling alone), "
        "per seed", "", "ensembling the snapshots beats their best one", "the best snapshot alone is better",
        lambda e, p, m: [e.ensemble(n, m) - e.ensemble(n, m, best_member=True) for n in e.runs("fig3_7", p, "no_hill")],
        controls=(ENSEMBLING_HELPS,), ensemble=True),
    "ensemble_vs_single": Statistic(
        "fig3_7", "the distancing run's checkpoint ensemble − the single cosine-schedule network, paired by seed",
        "", "the distancing ensemble beats one network", "the distancing ensemble loses to one network",
        lambda e, p, m: paired(e.runs("fig3_7", p, "distancing"), e.runs("fig3_7", p, "single"),
                               lambda name: e.ensemble(name, m)), controls=("snapshot_vs_single",), ensemble=True),
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
                               lambda name: e.ensemble(name, m)), controls=(ENSEMBLING_HELPS,), ensemble=True),
    "ensemble_vs_strength": Statistic(
        "fig3_8", "slope of the checkpoint ensemble's score against log10 s (s > 0), per seed", "per decade of s",
        "the ensemble improves with s", "the ensemble worsens with s",
        lambda e, p, m: sweep_slopes(e, "fig3_8", p, lambda name: e.ensemble(name, m)),
        controls=(ENSEMBLING_HELPS,), ensemble=True),
    "distance_disagreement": Statistic(
        "peers_weights", "Spearman correlation of weight distance and prediction disagreement over the pairs of "
        "distancing and snapshot members, per replicate", "correlation",
        "farther members disagree more", "farther members disagree less", distance_disagreement, per_panel=False,
        peers=("distancing", "snapshot")),
}


STATISTIC_SOURCES: list[Callable[[], dict[str, Statistic]]] = [peer_statistics, barrier_statistics,
                                                                 average_statistics]


def register_statistics(source: Callable[[], dict[str, Statistic]]) -> None:
    """Add a function returning statistics by name (a plugin's, for its measurement), called
    whenever the statistics are listed, so that it sees every registered peer."""
    STATISTIC_SOURCES.append(source)


def statistics() -> dict[str, Statistic]:
    """Every statistic a claim may name: the figures', the peer registry's (which plugins extend),
    the measurements' and any a plugin registers (``register_statistics``)."""
    known = dict(FIGURE_STATISTICS)
    for source in STATISTIC_SOURCES:
        known |= source()
    return known


# ---------------------------------------------------------------- verdicts

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


def p_value(values: Sequence[float], boundary: float = 0.0) -> float:
    """Two-sided p-value of a one-sample t-test of the mean against ``boundary`` (0, or the
    non-inferiority margin): below α exactly where the 95 % interval excludes the boundary."""
    v = finite(values)
    if len(v) < 2:
        return math.nan
    sd = float(v.std(ddof=1))
    if sd == 0:
        return 0.0 if v.mean() != boundary else 1.0
    t = (float(v.mean()) - boundary) / (sd / math.sqrt(len(v)))
    return float(2 * stats.t.sf(abs(t), len(v) - 1))


def holm(p: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN, and is not counted in the family)."""
    order = sorted((x, i) for i, x in enumerate(p) if np.isfinite(x))
    adjusted, running = [math.nan] * len(p), 0.0
    for rank, (x, i) in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * x))
        adjusted[i] = running
    return adjusted


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
