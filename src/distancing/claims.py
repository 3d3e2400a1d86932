"""The paper's claims, declared in the config before the run and decided on our runs (CSV files
only, no torch).

A claim names a **statistic** from ``STATISTICS`` (what is compared, paired how), a
**direction** and the **seeds** it needs. Each statistic gives one value per seed (paired by
seed, or per replicate for peer ensembles); the table reports n, mean, the 95 % t-interval of
the mean and the **minimum detectable effect** at that n (the true mean a paired t-test at
α = 0.05, two-sided, detects with power 0.8 given the observed spread):
``MDE = (t₀.₉₇₅,ₙ₋₁ + t₀.₈₀,ₙ₋₁) · sd / √n``.

Directions: ``greater`` / ``less`` (the interval must lie above / below zero), ``differs``
(either side; the verdict names the side), ``not_below`` / ``not_above`` with a positive
``margin`` (non-inferiority: the interval must lie above −margin / below +margin). Verdicts
name the direction in words ("holds: distance rises with s"). A claim whose statistic rests on
a **control** (a known method that must work in this regime) is "untestable in this profile"
unless every such control, declared and evaluated in the same table, holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Quantiles of Student's t by degrees of freedom (a smaller df is conservative).
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042, 60: 2.000, 120: 1.980}
T80 = {1: 1.376, 2: 1.061, 3: 0.978, 4: 0.941, 5: 0.920, 6: 0.906, 7: 0.896, 8: 0.889, 9: 0.883,
       10: 0.879, 15: 0.866, 20: 0.860, 30: 0.854, 60: 0.848, 120: 0.845}
DIRECTIONS = ("greater", "less", "differs", "not_below", "not_above")


def t_quantile(df: int, table: Mapping[int, float] = T975) -> float:
    return table[max(k for k in table if k <= df)] if df >= 1 else math.inf


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
    return (t_quantile(df) + t_quantile(df, T80)) * float(v.std(ddof=1)) / math.sqrt(len(v))


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys against xs (NaN if fewer than two finite points)."""
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if np.isfinite(y)]
    if len(points) < 2:
        return math.nan
    x, y = np.array(points).T
    return round(float(np.polyfit(x, y, 1)[0]), 9)  # a flat line is 0, not ±1e-15 of rounding


# ---------------------------------------------------------------- the evidence a statistic reads

class Evidence:
    """What statistics read: run files (``files`` maps metrics.csv and distances.csv to run
    name -> path), the figures' panels and series (``Experiments.figure_runs`` per figure), the
    checkpoint-ensemble table and the peer tables."""

    def __init__(self, files: Mapping[str, Mapping[str, Path]], figures: Mapping[str, Any],
                 ensembles: pd.DataFrame | None = None, peers: pd.DataFrame | None = None,
                 pairs: pd.DataFrame | None = None) -> None:
        self.files, self.figures = files, figures
        self.ensembles, self.peers, self.pairs = ensembles, peers, pairs
        self._cache: dict[tuple[str, str], pd.DataFrame] = {}

    def read(self, name: str, kind: str) -> pd.DataFrame:
        if (name, kind) not in self._cache:
            self._cache[(name, kind)] = pd.read_csv(self.files[kind][name])
        return self._cache[(name, kind)]

    def runs(self, figure: str, panel: str, series: str) -> list[str]:
        return self.figures[figure][panel]["series"][series]["runs"]

    def final(self, name: str) -> float:
        """Last epoch's validation accuracy in points; NaN for a diverged run."""
        m = self.read(name, "metrics.csv")
        return math.nan if (m["status"] == "diverged").any() else 100 * float(m["val_acc"].iloc[-1])

    def distance(self, name: str, checkpoint: int = 0, epoch: int | None = None) -> float:
        """L2 distance to the checkpoint with this index, at ``epoch`` (default: the last)."""
        d = self.read(name, "distances.csv")
        d = d[d["checkpoint"] == checkpoint]
        if epoch is not None:
            d = d[d["epoch"] == epoch]
        return float(d["distance"].iloc[-1]) if len(d) else math.nan

    def ensemble(self, name: str) -> float:
        """Accuracy in points of a run's checkpoint ensemble, all members (a run without
        checkpoints, such as the single network: its final model)."""
        rows = self.ensembles[self.ensembles["run"] == name]
        if rows.empty:
            return math.nan
        return 100 * float(rows[rows["members"] == rows["members"].max()]["accuracy"].iloc[0])


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
    """A per-seed statistic of one figure (one row per panel), with the words for each sign."""

    figure: str
    measures: str
    unit: str
    up: str  # what a positive value means
    down: str  # what a negative value means
    compute: Callable[[Evidence, str], list[float]]
    controls: tuple[str, ...] = ()  # statistics (same panel, or the figure's only one) that must hold
    per_panel: bool = True  # one row per panel of the figure; False: one row comparing panels


def restart_maxima_slopes(e: Evidence, panel: str) -> list[float]:
    """Per seed: slope of the best accuracy within each SGDR cycle against the cycle's index.
    A cycle starts where the learning rate rises."""
    slopes = []
    for name in e.runs("fig1_1", panel, "sgdr"):
        m = e.read(name, "metrics.csv")
        cycle = np.concatenate([[0], np.cumsum(np.diff(m["lr"].to_numpy()) > 0)])
        maxima = m.groupby(cycle)["val_acc"].max().to_numpy() * 100
        slopes.append(slope(list(range(len(maxima))), list(maxima)))
    return slopes


def distance_jump(e: Evidence, name: str) -> float:
    """Change of the distance to the first checkpoint over the epoch after the second is stored."""
    d = e.read(name, "distances.csv")
    second = sorted(d["checkpoint_epoch"].unique())[1]
    return e.distance(name, 0, epoch=second + 1) - e.distance(name, 0, epoch=second)


def weight_decay_jumps(e: Evidence, panel: str) -> list[float]:
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


def peer_difference(e: Evidence, method: str, other: str) -> list[float]:
    """Accuracy in points, ``method`` − ``other`` per replicate, at the largest size both reach."""
    p = e.peers
    size = int(p[p["method"].isin([method, other])].groupby("method")["members"].max().min())
    at = p[p["members"] == size].set_index(["method", "replicate"])["accuracy"] * 100
    return [at.get((method, r), math.nan) - at.get((other, r), math.nan) for r in sorted(p["replicate"].unique())]


def peer_single(e: Evidence, method: str) -> list[float]:
    """A method's full ensemble − the single network, per replicate, in points."""
    p = e.peers
    rows = p[p["method"] == method]
    full = rows[rows["members"] == rows.groupby("replicate")["members"].transform("max")]
    at = full.set_index("replicate")["accuracy"]
    single = p[(p["method"] == "single") & (p["members"] == 1)].set_index("replicate")["accuracy"]
    return [100 * (at.get(r, math.nan) - single.get(r, math.nan)) for r in sorted(p["replicate"].unique())]


def distance_disagreement(e: Evidence, panel: str) -> list[float]:
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


STATISTICS: dict[str, Statistic] = {
    "sgdr_vs_fixed_lr": Statistic(
        "fig1_1", "final validation accuracy, SGDR − fixed learning rate, paired by seed", "points",
        "SGDR ends higher", "SGDR ends lower",
        lambda e, p: paired(e.runs("fig1_1", p, "sgdr"), e.runs("fig1_1", p, "fixed_lr"), e.final)),
    "sgdr_restart_maxima": Statistic(
        "fig1_1", "slope of each SGDR cycle's best validation accuracy against the cycle's index, per seed",
        "points per restart", "maxima rise restart by restart", "maxima fall restart by restart",
        restart_maxima_slopes),
    "distance_after_checkpoint": Statistic(
        "fig3_1", "final L2 distance to the checkpoint, distancing − no hill (same schedule), paired by seed",
        "L2", "distancing ends farther from the checkpoint", "distancing ends nearer the checkpoint",
        lambda e, p: paired(e.runs("fig3_1", p, "distancing"), e.runs("fig3_1", p, "no_hill"), e.distance)),
    "accuracy_after_checkpoint": Statistic(
        "fig3_1", "final validation accuracy, distancing − no hill (same schedule), paired by seed", "points",
        "distancing ends higher", "distancing ends lower",
        lambda e, p: paired(e.runs("fig3_1", p, "distancing"), e.runs("fig3_1", p, "no_hill"), e.final)),
    "distance_vs_strength": Statistic(
        "fig3_2", "slope of the final distance to the checkpoint against log10 s, per seed", "L2 per decade",
        "distance rises with s", "distance falls with s",
        lambda e, p: sweep_slopes(e, "fig3_2", p, e.distance)),
    "distance_vs_sigma2": Statistic(
        "fig3_3", "slope of the final distance to the checkpoint against log10 σ², per seed", "L2 per decade",
        "distance rises with σ²", "distance falls with σ²",
        lambda e, p: sweep_slopes(e, "fig3_3", p, e.distance)),
    "accuracy_with_checkpoints": Statistic(
        "fig3_4", "final validation accuracy with the most checkpoints − no hill (same schedule), paired by seed",
        "points", "more checkpoints end higher", "more checkpoints end lower",
        lambda e, p: paired(e.runs("fig3_4", p, most_checkpoints(e, p)), e.runs("fig3_4", p, "no_hill"), e.final)),
    "weight_decay_distance_jump": Statistic(
        "fig3_5", "change of the distance to the first checkpoint over the epoch after the second is stored, "
        "distancing − its no-hill twin (the same restart), largest weight decay − none, paired by seed", "L2",
        "weight decay makes the jump larger", "weight decay makes the jump smaller", weight_decay_jumps,
        per_panel=False),
    "sgdr_rescue": Statistic(
        "fig3_6", "final validation accuracy of SGDR at the suboptimal learning rate, with − without distancing, "
        "paired by seed", "points", "distancing ends higher", "distancing ends lower",
        lambda e, p: paired(e.runs("fig3_6", p, "distancing"), e.runs("fig3_6", p, "no_hill"), e.final)),
    "snapshot_vs_single": Statistic(
        "fig3_7", "accuracy of the no-hill run's checkpoint ensemble (a snapshot ensemble) − the single "
        "cosine-schedule network, paired by seed", "points",
        "the snapshot ensemble beats one network", "the snapshot ensemble loses to one network",
        lambda e, p: paired(e.runs("fig3_7", p, "no_hill"), e.runs("fig3_7", p, "single"), e.ensemble)),
    "ensemble_vs_single": Statistic(
        "fig3_7", "accuracy of the distancing run's checkpoint ensemble − the single cosine-schedule network, "
        "paired by seed", "points", "the distancing ensemble beats one network",
        "the distancing ensemble loses to one network",
        lambda e, p: paired(e.runs("fig3_7", p, "distancing"), e.runs("fig3_7", p, "single"), e.ensemble),
        controls=("snapshot_vs_single",)),
    "ensemble_vs_no_hill": Statistic(
        "fig3_7", "accuracy of the distancing run's checkpoint ensemble − the same schedule's checkpoint "
        "ensemble without a hill, paired by seed", "points", "the hill improves the checkpoint ensemble",
        "the hill worsens the checkpoint ensemble",
        lambda e, p: paired(e.runs("fig3_7", p, "distancing"), e.runs("fig3_7", p, "no_hill"), e.ensemble),
        controls=("snapshot_vs_single",)),
    "ensemble_vs_strength": Statistic(
        "fig3_8", "slope of the checkpoint-ensemble accuracy against log10 s (s > 0), per seed",
        "points per decade", "ensemble accuracy rises with s", "ensemble accuracy falls with s",
        lambda e, p: sweep_slopes(e, "fig3_8", p, e.ensemble)),
    "peers_deep_vs_single": Statistic(
        "peers", "accuracy of the deep ensemble at M × budget − the single network, per replicate", "points",
        "the deep ensemble beats one network", "the deep ensemble loses to one network",
        lambda e, p: peer_single(e, "deep_m_budget")),
    "peers_snapshot_vs_single": Statistic(
        "peers", "accuracy of the snapshot ensemble (equal budget) − the single network, per replicate", "points",
        "the snapshot ensemble beats one network", "the snapshot ensemble loses to one network",
        lambda e, p: peer_single(e, "snapshot")),
    "peers_distancing_vs_snapshot": Statistic(
        "peers", "ensemble accuracy at equal budget, distancing − snapshot ensemble, per replicate", "points",
        "distancing beats the snapshot ensemble", "distancing loses to the snapshot ensemble",
        lambda e, p: peer_difference(e, "distancing", "snapshot"), controls=("peers_snapshot_vs_single",)),
    "peers_distancing_vs_deep": Statistic(
        "peers", "ensemble accuracy at equal budget, distancing − deep ensemble of M shorter networks, "
        "per replicate", "points", "distancing beats the equal-budget deep ensemble",
        "distancing loses to the equal-budget deep ensemble",
        lambda e, p: peer_difference(e, "distancing", "deep_equal_budget"), controls=("peers_deep_vs_single",)),
    "distance_disagreement": Statistic(
        "peers", "Spearman correlation of weight distance and prediction disagreement over the pairs of "
        "distancing and snapshot members, per replicate", "correlation",
        "farther members disagree more", "farther members disagree less", distance_disagreement),
}


# ---------------------------------------------------------------- verdicts

def verdict(low: float, high: float, direction: str, statistic: Statistic, margin: float = 0.0) -> str:
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
    amount = f"{margin:g} {statistic.unit}"
    if direction == "not_below":
        return (f"holds: no more than {amount} below" if low > -margin
                else f"does not hold: more than {amount} below" if high < -margin else "inconclusive")
    return (f"holds: no more than {amount} above" if high < margin
            else f"does not hold: more than {amount} above" if low > margin else "inconclusive")


def claimed(direction: str, statistic: Statistic, margin: float) -> str:
    """The claim as declared, in words."""
    return {"greater": statistic.up, "less": statistic.down, "differs": f"{statistic.up}, or the reverse",
            "not_below": f"no more than {margin:g} {statistic.unit} below",
            "not_above": f"no more than {margin:g} {statistic.unit} above"}[direction]


def evaluate_claims(evidence: Evidence, declared: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per declared claim and panel of its figure, controls first (they decide whether
    the claims resting on them are testable)."""
    order = sorted(declared, key=lambda c: bool(STATISTICS[declared[c]["statistic"]].controls))
    rows, outcome = [], {}
    for claim in order:
        spec = declared[claim]
        statistic = STATISTICS[spec["statistic"]]
        panels = list(evidence.figures.get(statistic.figure, {"": None})) if statistic.per_panel else [""]
        for panel in panels:
            values = statistic.compute(evidence, panel)
            mean, low, high = interval(values)
            margin = float(spec.get("margin", 0.0))
            text = verdict(low, high, spec["direction"], statistic, margin)
            failed = [c for c in statistic.controls if not outcome.get((c, panel), outcome.get((c, ""), "")).startswith(
                "holds")]
            if failed:
                text = f"untestable in this profile: control {', '.join(failed)} does not hold"
            outcome[(spec["statistic"], panel)] = text
            rows.append({"claim": claim, "panel": panel, "statistic": spec["statistic"], "measures": statistic.measures,
                         "unit": statistic.unit, "claimed": claimed(spec["direction"], statistic, margin),
                         "direction": spec["direction"], "margin": margin, "seeds_declared": spec["seeds"],
                         "n": len(finite(values)), "mean": mean, "ci95_low": low, "ci95_high": high,
                         "mde": minimum_detectable_effect(values), "verdict": text,
                         "values": " ".join(f"{v:.4g}" for v in values)})
    return pd.DataFrame(rows)


def markdown_table(table: pd.DataFrame) -> str:
    lines = ["| claim | panel | claimed | n | mean | 95 % interval | detectable | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.claim} | {r.panel} | {r.claimed} | {r.n} | {r.mean:.3g} {r.unit} | "
                     f"[{r.ci95_low:.3g}, {r.ci95_high:.3g}] | {r.mde:.3g} | {r.verdict} |")
    return "\n".join(lines) + "\n"


def html_table(table: pd.DataFrame) -> str:
    """The claims as a standalone UTF-8 HTML page: Snakemake's report shows HTML results inline."""
    body = table.to_html(index=False, na_rep="nan", float_format="{:.4g}".format, border=0)
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Claims of the paper</title>\n'
            "<style>table{border-collapse:collapse;font:13px sans-serif}td,th{border:1px solid #ccc;"
            "padding:3px 6px;text-align:left}</style></head>\n<body>\n" + body + "\n</body></html>\n")
