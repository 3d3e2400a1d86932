"""The paper's qualitative claims, tested on our runs (CSV files only, no torch).

Each claim becomes a per-seed statistic (paired by seed where two settings are compared), its
mean and 95 % t-interval over seeds, and a verdict: "holds" when the interval lies on the
claimed side of the threshold, "does not hold" when it lies on the other side, otherwise
"inconclusive". Two-sided claims ("differs", "depends on") hold when the interval excludes the
threshold and are inconclusive otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# Two-sided 95 % quantiles of Student's t by degrees of freedom (a smaller df is conservative).
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042, 60: 2.000, 120: 1.980}


def t_quantile(df: int) -> float:
    return T975[max(k for k in T975 if k <= df)] if df >= 1 else math.inf


def interval(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and 95 % t-interval of the mean; NaNs (diverged runs) are left out."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if len(v) == 1:
        return mean, -math.inf, math.inf
    half = t_quantile(len(v) - 1) * float(v.std(ddof=1)) / math.sqrt(len(v))
    return mean, mean - half, mean + half


def verdict(low: float, high: float, direction: str, threshold: float = 0.0) -> str:
    if math.isnan(low):
        return "inconclusive"
    if direction == "greater":
        return "holds" if low > threshold else "does not hold" if high < threshold else "inconclusive"
    if direction == "less":
        return "holds" if high < threshold else "does not hold" if low > threshold else "inconclusive"
    return "holds" if low > threshold or high < threshold else "inconclusive"  # "differs"


@dataclass
class Claim:
    claim: str
    statistic: str
    direction: str  # greater, less or differs
    values: list[float]
    threshold: float = 0.0

    def row(self) -> dict:
        mean, low, high = interval(self.values)
        return {"claim": self.claim, "statistic": self.statistic, "seeds": sum(np.isfinite(self.values)),
                "mean": mean, "ci95_low": low, "ci95_high": high,
                "threshold": self.threshold, "direction": self.direction,
                "verdict": verdict(low, high, self.direction, self.threshold)}


class Runs:
    """Cached reads of run files; ``files`` maps a kind (metrics.csv, distances.csv) to run
    name -> path, the rule's declared inputs."""

    def __init__(self, files: Mapping[str, Mapping[str, Path]]) -> None:
        self.files = files
        self._cache: dict[tuple[str, str], pd.DataFrame] = {}

    def read(self, name: str, kind: str) -> pd.DataFrame:
        key = (name, kind)
        if key not in self._cache:
            self._cache[key] = pd.read_csv(self.files[kind][name])
        return self._cache[key]

    def final(self, name: str, column: str = "val_acc") -> float:
        """Last epoch's value; NaN for a diverged run."""
        m = self.read(name, "metrics.csv")
        return math.nan if (m["status"] == "diverged").any() else float(m[column].iloc[-1])

    def distance(self, name: str, checkpoint: int = 0, epoch: int | None = None) -> float:
        d = self.read(name, "distances.csv")
        d = d[d["checkpoint"] == checkpoint]
        if epoch is not None:
            d = d[d["epoch"] == epoch]
        return float(d["distance"].iloc[-1]) if len(d) else math.nan


def paired(a: Sequence[str], b: Sequence[str], f: Callable[[str], float]) -> list[float]:
    """f(a_i) − f(b_i) for runs paired by position (the same seed)."""
    return [f(x) - f(y) for x, y in zip(a, b, strict=True)]


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys against xs (NaN if fewer than two finite points)."""
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if np.isfinite(y)]
    if len(points) < 2:
        return math.nan
    x, y = np.array(points).T
    return float(np.polyfit(x, y, 1)[0])


def sweep_slopes(series: dict[str, list[str]], values: dict[str, float], f: Callable[[str], float]) -> list[float]:
    """Per seed: slope of f(run) against log10 of the swept value over the sweep's series."""
    labels = [label for label in series if label in values]
    seeds = len(series[labels[0]])
    return [slope([math.log10(values[label]) for label in labels], [f(series[label][i]) for label in labels])
            for i in range(seeds)]


def peer_claims(peers: pd.DataFrame, pairs: pd.DataFrame) -> list[Claim]:
    """Distancing ensembles against their peers at equal budget, and weight distance against
    disagreement; per replicate, at the largest ensemble size every method reaches."""
    methods = list(dict.fromkeys(peers["method"]))
    distancing = next(m for m in methods if m.startswith("distancing"))
    snapshot = next(m for m in methods if m.startswith("snapshot"))
    equal = next(m for m in methods if m.startswith("deep") and "equal budget" in m)
    size = int(peers[peers["method"].isin([distancing, snapshot, equal])].groupby("method")["members"].max().min())
    at = peers[peers["members"] == size].set_index(["method", "replicate"])["accuracy"]
    replicates = sorted(peers["replicate"].unique())

    def versus(other: str) -> list[float]:
        return [at.get((distancing, r), math.nan) - at.get((other, r), math.nan) for r in replicates]

    def correlation(rows: pd.DataFrame) -> float:
        if len(rows) < 3 or rows["weight_distance"].std() == 0 or rows["disagreement"].std() == 0:
            return math.nan
        return float(rows[["weight_distance", "disagreement"]].rank().corr().iloc[0, 1])

    within = pairs[pairs["method"].isin([distancing, snapshot])]
    return [
        Claim(f"the distancing ensemble beats the snapshot ensemble at equal budget ({size} members)",
              "ensemble accuracy, distancing − snapshot", "greater", versus(snapshot)),
        Claim(f"the distancing ensemble beats the equal-budget independent ensemble ({size} members)",
              "ensemble accuracy, distancing − deep ensemble of equal budget", "greater", versus(equal)),
        Claim("larger weight distance comes with larger disagreement",
              "Spearman correlation of weight distance and disagreement over pairs of distancing and snapshot "
              "members", "greater", [correlation(within[within["replicate"] == r]) for r in replicates]),
    ]


def evaluate_claims(files: Mapping[str, Mapping[str, Path]], figures: dict[str, dict[str, list[str]]],
                    ensembles: pd.DataFrame, sweeps: dict[str, dict[str, float]],
                    peers: pd.DataFrame | None = None, pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """All claims as rows. ``files`` maps metrics.csv and distances.csv to run name -> path;
    ``sweeps`` maps a figure to {series label: swept value} (s or σ²)."""
    runs = Runs(files)
    claims: list[Claim] = []
    f31 = figures["fig3_1"]
    claims.append(Claim(
        "distance grows after a checkpoint: distancing ends farther from it than plain training",
        "final L2 distance to the checkpoint, distancing − baseline", "greater",
        paired(f31["distancing"], f31["baseline"], runs.distance)))
    claims.append(Claim(
        "accuracy recovers after the checkpoint: final accuracy within 1 point of the baseline",
        "final validation accuracy, distancing − baseline", "greater",
        paired(f31["distancing"], f31["baseline"], runs.final), threshold=-0.01))
    for fig, what in (("fig3_2", "strength s"), ("fig3_3", "width σ²")):
        claims.append(Claim(
            f"larger {what} gives larger distances",
            f"slope of the final distance to the checkpoint against log10 {what.split()[-1]}", "greater",
            sweep_slopes(figures[fig], sweeps[fig], runs.distance)))
    panels = {key: series for key, series in figures.items() if key.startswith("fig3_5/")}
    with_wd = [s for key, s in panels.items() if "no weight decay" not in key]
    without = [s for key, s in panels.items() if "no weight decay" in key]
    if with_wd and without:
        (on,), (off,) = with_wd[0].values(), without[0].values()

        def growth_of_first_distance(name: str) -> float:
            d = runs.read(name, "distances.csv")
            second = sorted(d["checkpoint_epoch"].unique())[1]
            return runs.distance(name, 0) - runs.distance(name, 0, epoch=second)

        claims.append(Claim(
            "weight decay changes how new checkpoints move the distance to old ones",
            "growth of the distance to the first checkpoint after the second is stored, with − without weight decay",
            "differs", paired(on, off, growth_of_first_distance)))
    f36 = figures["fig3_6"]
    plain = [names for label, names in f36.items() if "distancing" not in label and "reference" not in label][0]
    hill = [names for label, names in f36.items() if "distancing" in label][0]
    claims.append(Claim(
        "distancing rescues SGDR at a suboptimal learning rate",
        "final validation accuracy, SGDR with − without distancing", "greater",
        paired(hill, plain, runs.final)))
    by_run = ensembles.set_index(["run", "members"])["accuracy"]
    largest = ensembles.groupby("run")["members"].max()

    def ensemble_accuracy(name: str) -> float:
        return float(by_run[(name, largest[name])])

    def single_accuracy(name: str) -> float:
        return float(by_run[(name, 1)])

    for key, series in sorted(figures.items()):
        if key.startswith("fig3_7/"):
            claims.append(Claim(
                f"checkpoint ensembles beat the single network ({key.split('/', 1)[1]})",
                "accuracy of the distancing run's checkpoint ensemble − single baseline network", "greater",
                [ensemble_accuracy(d) - single_accuracy(b)
                 for d, b in zip(series["distancing"], series["single network"], strict=True)]))
    claims.append(Claim(
        "ensemble accuracy depends on the strength s",
        "slope of the checkpoint-ensemble accuracy against log10 s", "differs",
        sweep_slopes(figures["fig3_8"], sweeps["fig3_8"], ensemble_accuracy)))
    if peers is not None and pairs is not None:
        claims += peer_claims(peers, pairs)
    return pd.DataFrame([c.row() for c in claims])


def markdown_table(table: pd.DataFrame) -> str:
    lines = ["| claim | statistic | seeds | mean | 95 % interval | verdict |", "|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.claim} | {r.statistic} | {r.seeds} | {r.mean:.4g} | "
                     f"[{r.ci95_low:.4g}, {r.ci95_high:.4g}] | {r.verdict} |")
    return "\n".join(lines) + "\n"


def html_table(table: pd.DataFrame) -> str:
    """The claims as a standalone UTF-8 HTML page: Snakemake's report shows HTML results inline."""
    body = table.to_html(index=False, na_rep="nan", float_format="{:.4g}".format, border=0)
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Claims of the paper</title>\n'
            "<style>table{border-collapse:collapse;font:13px sans-serif}td,th{border:1px solid #ccc;"
            "padding:3px 6px;text-align:left}</style></head>\n<body>\n" + body + "\n</body></html>\n")
