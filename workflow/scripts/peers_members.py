"""Peers figure: accuracy, NLL and calibrated NLL against the number of members, for every
ensemble method at the declared training budget; the single network (one member) as a line
across all sizes."""

import matplotlib.pyplot as plt
import pandas as pd

from distancing.plotting import COLORS, ENSEMBLE_METRICS, legend_outside, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
table = pd.read_csv(snakemake.input.members)
metrics = ("accuracy", "nll", "nll_calibrated")
fig, axes = plt.subplots(1, len(metrics), figsize=(16, 4))
for i, (method, rows) in enumerate(table.groupby("method", sort=False)):
    color = COLORS[i % len(COLORS)]
    label = rows["label"].iloc[0]
    for ax, column in zip(axes, metrics, strict=True):
        stats = rows.groupby("members")[column].agg(["mean", "std"]).fillna(0.0) * ENSEMBLE_METRICS[column][1]
        if method == "single":  # one member: a line, so it is not hidden under the others' first points
            mean, std = stats["mean"].iloc[0], stats["std"].iloc[0]
            ax.axhline(mean, color="0.2", linewidth=1.4, label=label)
            ax.axhspan(mean - std, mean + std, color="0.2", alpha=0.12, linewidth=0)
            continue
        ax.plot(stats.index, stats["mean"], marker="o", color=color, label=label)
        ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], color=color,
                        alpha=0.15, linewidth=0)
for ax, column in zip(axes, metrics, strict=True):
    ax.set_xlabel("ensemble members")
    ax.set_ylabel(ENSEMBLE_METRICS[column][0])
    ax.set_xticks(sorted(table["members"].unique()))
legend_outside(axes[-1], fontsize=7)
save(fig, snakemake.output.png, snakemake.output.pdf)
