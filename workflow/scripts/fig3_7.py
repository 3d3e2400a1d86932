"""Figure 3.7: accuracy (top) and calibrated NLL (bottom) of a distancing run's checkpoint
ensemble as members are added, against the same schedule's checkpoint ensemble without a hill
(a snapshot ensemble) and the single cosine-schedule network; one column per network, each
panel with its own y-axis."""

import matplotlib.pyplot as plt
import pandas as pd

from distancing.plotting import COLORS, ENSEMBLE_METRICS, ensemble_curve, legend_outside, load_series, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
panels = load_series(snakemake.params.series)
table = pd.read_csv(snakemake.input.ensembles)
rows = ("accuracy", "nll_calibrated")
fig, axes = plt.subplots(len(rows), len(panels), figsize=(5.0 * len(panels) + 2.5, 3.6 * len(rows)), squeeze=False)
for column, panel in zip(axes.T, panels.values(), strict=True):
    series = panel["series"]
    for ax, metric in zip(column, rows, strict=True):
        ylabel, scale = ENSEMBLE_METRICS[metric]
        ensemble_curve(ax, table, series["distancing"]["runs"], series["distancing"]["label"], COLORS[1],
                       column=metric)
        ensemble_curve(ax, table, series["no_hill"]["runs"], series["no_hill"]["label"], COLORS[0],
                       linestyle="--", column=metric)
        single = table[table["run"].isin(series["single"]["runs"]) & (table["members"] == 1)][metric] * scale
        ax.axhline(single.mean(), color="0.2", linewidth=1.2, label=series["single"]["label"])
        ax.axhspan(single.mean() - single.std(), single.mean() + single.std(), color="0.2", alpha=0.12,
                   linewidth=0)
        ax.set_ylabel(ylabel)
    column[0].set_title(panel["title"])
    column[-1].set_xlabel("ensemble members (final model, then checkpoints newest first)")
legend_outside(axes[0, -1])
save(fig, snakemake.output.png, snakemake.output.pdf)
