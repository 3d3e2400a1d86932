"""Figure 3.7: accuracy of a distancing run's checkpoint ensemble as members are added, against
the same schedule's checkpoint ensemble without a hill (a snapshot ensemble) and the single
cosine-schedule network; one panel per network, each with its own y-axis."""

import matplotlib.pyplot as plt
import pandas as pd

from distancing.plotting import COLORS, ensemble_curve, legend_outside, load_series, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
panels = load_series(snakemake.params.series)
table = pd.read_csv(snakemake.input.ensembles)
fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels) + 2.5, 4), squeeze=False)
for ax, panel in zip(axes[0], panels.values(), strict=True):
    series = panel["series"]
    ensemble_curve(ax, table, series["distancing"]["runs"], series["distancing"]["label"], COLORS[1])
    ensemble_curve(ax, table, series["no_hill"]["runs"], series["no_hill"]["label"], COLORS[0], linestyle="--")
    single = table[table["run"].isin(series["single"]["runs"]) & (table["members"] == 1)]["accuracy"] * 100
    ax.axhline(single.mean(), color="0.2", linewidth=1.2, label=series["single"]["label"])
    ax.axhspan(single.mean() - single.std(), single.mean() + single.std(), color="0.2", alpha=0.12, linewidth=0)
    ax.set_title(panel["title"])
    ax.set_xlabel("ensemble members (final model, then checkpoints newest first)")
    ax.set_ylabel("ensemble validation accuracy (%)")
legend_outside(axes[0, -1])
save(fig, snakemake.output.png, snakemake.output.pdf)
