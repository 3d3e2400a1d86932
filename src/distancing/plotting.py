"""Shared look and helpers of the figures. Reads CSV files only; never imports torch.

Every curve is the mean over seeds with a band of ± one standard deviation; a run that
diverged is drawn up to the epoch where it ended and marked there with a cross.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .files import DISTANCES_COLUMNS, atomic_write  # noqa: E402

COLORS = plt.get_cmap("tab10").colors
STYLE = {
    "figure.dpi": 150, "savefig.dpi": 150, "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9,
    "legend.fontsize": 8, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
    "axes.spines.right": False, "lines.linewidth": 1.6,
}
plt.rcParams.update(STYLE)


def load_series(params_json: str) -> dict[str, dict]:
    """The figure's panels, as passed by the Snakemake rule: panel key -> {"title", "value",
    "series": series key -> {"label", "value", "runs"}} (``plan.Plan.figure_runs``)."""
    return json.loads(params_json)


def legend_outside(ax: plt.Axes, **kwargs) -> None:
    """The legend to the right of the axes, where it can never cover data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def t_interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of the 95 % t-interval (the claims' interval) of finite values."""
    from .claims.inference import interval

    mean, low, high = interval(values)
    return mean, (high - low) / 2


def read_table(path: str | Path, columns: Sequence[str]) -> pd.DataFrame:
    """A CSV file that must have ``columns``: a broken input fails naming the file, not deep in a plot."""
    frame = pd.read_csv(path)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: no column {', '.join(missing)} (has {', '.join(map(str, frame.columns))})")
    return frame


def model_rows(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """A peer table split by its ``model`` column (each of ``peers.models``), in the table's order:
    one row of panels each."""
    return list(table.groupby("model", sort=False))


def read_metrics(metrics: Mapping[str, Path], names: Sequence[str]) -> list[pd.DataFrame]:
    """One frame per run; ``metrics`` maps run names to their declared metrics.csv inputs."""
    return [read_table(metrics[name], ["epoch", "lr", "val_acc"]) for name in names]


def read_distances(distances: Mapping[str, Path], names: Sequence[str], checkpoint: int = 0) -> list[pd.DataFrame]:
    """Distance to the checkpoint with this index, per epoch, one frame per run."""
    frames = []
    for name in names:
        d = read_table(distances[name], list(DISTANCES_COLUMNS))
        frames.append(d[d["checkpoint"] == checkpoint][["epoch", "distance", "disagreement", "checkpoint_epoch"]])
    return frames


def checkpoint_epochs(distances: Mapping[str, Path], name: str) -> list[int]:
    d = read_table(distances[name], list(DISTANCES_COLUMNS))
    return sorted(d["checkpoint_epoch"].unique().tolist())


def diverged(frame: pd.DataFrame) -> bool:
    return "status" in frame and (frame["status"] == "diverged").any()


def seed_band(ax: plt.Axes, frames: Sequence[pd.DataFrame], column: str, label: str, color,
              scale: float = 1.0, linestyle: str = "-") -> None:
    """Mean over seeds per epoch with a ±1 std band; crosses where diverged runs ended."""
    table = pd.concat([f.set_index("epoch")[column].rename(i) for i, f in enumerate(frames)], axis=1) * scale
    mean, std = table.mean(axis=1), table.std(axis=1, ddof=1).fillna(0.0)
    broken = sum(diverged(f) for f in frames)
    if broken:
        label = f"{label} ({broken} of {len(frames)} diverged)"
    ax.plot(mean.index, mean.values, color=color, label=label, linestyle=linestyle)
    ax.fill_between(mean.index, (mean - std).values, (mean + std).values, color=color, alpha=0.2, linewidth=0)
    for f in frames:
        if diverged(f):
            last = f.iloc[-1]
            previous = f[column].dropna()
            y = previous.iloc[-1] * scale if len(previous) else np.nan
            ax.plot([last["epoch"]], [y], marker="x", color=color, markersize=8, markeredgewidth=2)


def mark_checkpoints(ax: plt.Axes, epochs: Sequence[int], label: bool = True) -> None:
    """Dotted vertical lines where checkpoints were stored."""
    for i, epoch in enumerate(epochs):
        ax.axvline(epoch, color="0.35", linestyle=":", linewidth=1.2,
                   label="checkpoint" if label and i == 0 else None)


def accuracy_axis(ax: plt.Axes) -> None:
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (%)")


def save(fig: plt.Figure, png: str | Path, pdf: str | Path) -> None:
    """Write the figure as PNG and PDF, each atomically; the PDF without a creation date, so that
    the same data draw the same bytes in both formats."""
    fig.tight_layout()
    atomic_write(png, lambda f: fig.savefig(f, format="png"))
    atomic_write(pdf, lambda f: fig.savefig(f, format="pdf", metadata={"CreationDate": None}))
    plt.close(fig)
    logging.info("wrote %s and %s", png, pdf)


def sweep_figure(metrics: Mapping[str, Path], distances: Mapping[str, Path], panel: dict) -> plt.Figure:
    """Accuracy (top), then the L2 distance to the first checkpoint (what the hill pushes) and the
    validation disagreement with it (what that changes), one curve per series; the no-hill
    control dashed (Figures 3.1-3.3)."""
    fig, (top, bottom, changed) = plt.subplots(3, 1, figsize=(7.5, 8.4), sharex=True)
    stored: set[int] = set()
    for color, (key, series) in zip(COLORS, panel["series"].items(), strict=False):
        style = "--" if key == "no_hill" else "-"
        seed_band(top, read_metrics(metrics, series["runs"]), "val_acc", series["label"], color, scale=100,
                  linestyle=style)
        frames = read_distances(distances, series["runs"], checkpoint=0)
        seed_band(bottom, frames, "distance", series["label"], color, linestyle=style)
        seed_band(changed, frames, "disagreement", series["label"], color, scale=100, linestyle=style)
        if key != "no_hill":  # the checkpoints of the hills (the control stores more, only to log distances)
            stored |= set(checkpoint_epochs(distances, series["runs"][0]))
    checkpoint = int(frames[0]["checkpoint_epoch"].iloc[0])
    for ax in (top, bottom, changed):
        mark_checkpoints(ax, sorted(stored), label=ax is top)
    accuracy_axis(top)
    top.set_xlabel("")
    if panel["title"]:
        top.set_title(panel["title"])
    legend_outside(top)
    bottom.set_ylabel(f"L2 distance to the epoch-{checkpoint} checkpoint")
    changed.set_xlabel("epoch")
    changed.set_ylabel(f"disagreement with the epoch-{checkpoint}\ncheckpoint (% of validation samples)")
    return fig


# Ensemble metrics as drawn: column -> (axis label, scale).
ENSEMBLE_METRICS = {"accuracy": ("ensemble validation accuracy (%)", 100.0),
                    "nll": ("ensemble validation NLL (lower is better)", 1.0),
                    "nll_calibrated": ("calibrated NLL, lower is better\n(temperature by 2-fold CV)", 1.0)}


def ensemble_curve(ax: plt.Axes, table: pd.DataFrame, runs: Sequence[str], label: str, color,
                   linestyle: str = "-", column: str = "accuracy") -> None:
    """An ensemble metric against the number of members: mean over runs (seeds) with a band."""
    rows = table[table["run"].isin(runs)]
    stats = rows.groupby("members")[column].agg(["mean", "std"]).fillna(0.0) * ENSEMBLE_METRICS[column][1]
    ax.plot(stats.index, stats["mean"], marker="o", color=color, label=label, linestyle=linestyle)
    ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], color=color,
                    alpha=0.2, linewidth=0)
    ax.set_xticks(stats.index)


PEER_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def peer_curves(ax: plt.Axes, members: pd.DataFrame, column: str) -> None:
    """An ensemble metric of every peer method against its number of members (peers.csv), mean
    over replicates with a band of one standard deviation; the single network (one member) as a
    line across all sizes, so it is not hidden under the others' first points."""
    for i, (method, rows) in enumerate(members.groupby("method", sort=False)):
        stats = rows.groupby("members")[column].agg(["mean", "std"]).fillna(0.0) * ENSEMBLE_METRICS[column][1]
        label = rows["label"].iloc[0]
        if method == "single":
            mean, std = stats["mean"].iloc[0], stats["std"].iloc[0]
            ax.axhline(mean, color="0.2", linewidth=1.4, label=label)
            ax.axhspan(mean - std, mean + std, color="0.2", alpha=0.12, linewidth=0)
            continue
        color = COLORS[i % len(COLORS)]
        ax.plot(stats.index, stats["mean"], marker="o", color=color, label=label)
        ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], color=color,
                        alpha=0.15, linewidth=0)
    ax.set_xlabel("ensemble members")
    ax.set_ylabel(ENSEMBLE_METRICS[column][0])
    ax.set_xticks(sorted(members["members"].unique()))


def peer_scatter(ax: plt.Axes, members: pd.DataFrame, pairs: pd.DataFrame, x: str, y: str,
                 scale: tuple[float, float] = (1.0, 1.0)) -> None:
    """One point per pair of members, coloured by method as in the members-versus-size figure."""
    methods = list(dict.fromkeys(members["method"]))
    for method, rows in pairs.groupby("method", sort=False):
        i = methods.index(method)
        ax.scatter(rows[x] * scale[0], rows[y] * scale[1], color=COLORS[i % len(COLORS)],
                   marker=PEER_MARKERS[i % len(PEER_MARKERS)], alpha=0.75, label=rows["label"].iloc[0])
    legend_outside(ax, fontsize=7)


def peer_scatter_per_model(members: pd.DataFrame, pairs: pd.DataFrame, x: str, y: str, scale: tuple[float, float],
                           labels: tuple[str, str]) -> plt.Figure:
    """One pair-of-members scatter (``peer_scatter``) per model of the peer tables, stacked, each
    titled by its model; ``labels``: the x and y axis labels."""
    rows, by_model = model_rows(members), dict(model_rows(pairs))
    fig, axes = plt.subplots(len(rows), 1, figsize=(11, 4.5 * len(rows)), squeeze=False)
    for ax, (model, table) in zip(axes[:, 0], rows, strict=True):
        peer_scatter(ax, table, by_model[model], x, y, scale=scale)
        ax.set_title(model)
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
    return fig
