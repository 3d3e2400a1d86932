"""Figure 3.7: accuracy of the ensemble of a distancing run's checkpoints and final model, as
members are added, for each network, against the single baseline network."""

import matplotlib.pyplot as plt
import pandas as pd

from distancing.plotting import COLORS, ensemble_curve, load_series, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
panels = load_series(snakemake.params.series)
table = pd.read_csv(snakemake.input.ensembles)
fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), sharey=True, squeeze=False)
for ax, (panel, series) in zip(axes[0], sorted(panels.items()), strict=True):
    ensemble_curve(ax, table, series["distancing"], "distancing: checkpoints + final", COLORS[1])
    ensemble_curve(ax, table, series["single network"], "baseline: checkpoints + final", COLORS[0],
                   linestyle="--")
    single = table[table["run"].isin(series["single network"]) & (table["members"] == 1)]["accuracy"] * 100
    ax.axhline(single.mean(), color="0.2", linewidth=1.2, label="single baseline network")
    ax.axhspan(single.mean() - single.std(), single.mean() + single.std(), color="0.2", alpha=0.12, linewidth=0)
    ax.set_title(panel.split("/", 1)[1])
    ax.set_xlabel("ensemble members (final model, then checkpoints newest first)")
    ax.set_ylabel("ensemble validation accuracy (%)")
    ax.legend(loc="lower right")
save(fig, snakemake.output.png, snakemake.output.pdf)
