"""Peers figure: accuracy and NLL against the number of members, for every ensemble method
at the declared training budget."""

import matplotlib.pyplot as plt
import pandas as pd

from distancing.plotting import COLORS, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
table = pd.read_csv(snakemake.input.members)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
for color, (method, rows) in zip(COLORS, table.groupby("method", sort=False), strict=False):
    for ax, column, scale in ((left, "accuracy", 100), (right, "nll", 1)):
        stats = rows.groupby("members")[column].agg(["mean", "std"]).fillna(0.0) * scale
        ax.plot(stats.index, stats["mean"], marker="o", color=color, label=method)
        ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], color=color,
                        alpha=0.15, linewidth=0)
for ax, label in ((left, "ensemble validation accuracy (%)"), (right, "ensemble validation NLL")):
    ax.set_xlabel("ensemble members")
    ax.set_ylabel(label)
    ax.set_xticks(sorted(table["members"].unique()))
right.legend(loc="best", fontsize=7)
save(fig, snakemake.output.png, snakemake.output.pdf)
