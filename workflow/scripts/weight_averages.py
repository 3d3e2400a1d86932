"""Weight averaging: every peer's members averaged in weight space into one network (BatchNorm
recomputed) minus their ensemble, in accuracy (left, points) and calibrated NLL (right, nats;
the ensemble's minus the averaged network's, so that right of zero is better for the average in
both), mean over replicates with the 95 % t-interval. A symmetric-log axis keeps both the few
points between one basin's members and the collapse of independent networks' average readable."""

import textwrap

import matplotlib.pyplot as plt
import numpy as np

from distancing.plotting import read_table, save, t_interval
from distancing.scripts import log_to

METRICS = {"accuracy": ("averaged − ensemble, accuracy (points)", 100.0),
           "nll_calibrated": ("ensemble − averaged, calibrated NLL (nats)", -1.0)}  # scores: higher is better

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
table = read_table(snakemake.input.averages, ["method", "label", "replicate", "members", *METRICS,
                                              *(f"ensemble_{m}" for m in METRICS)])
table = table[table["members"] > 1]  # one member averages to itself
methods = list(dict.fromkeys(table["method"]))
labels = [table[table["method"] == m]["label"].iloc[0] for m in methods]
fig, axes = plt.subplots(1, 2, figsize=(13, 1.5 + 0.7 * len(methods)), sharey=True)
for ax, (metric, (label, scale)) in zip(axes, METRICS.items(), strict=True):
    stats = [t_interval((table[table["method"] == m][metric] - table[table["method"] == m][f"ensemble_{metric}"])
                        * scale) for m in methods]
    y = np.arange(len(methods))
    ax.errorbar([s[0] for s in stats], y, xerr=[s[1] for s in stats], fmt="s", capsize=3, color="C3")
    ax.axvline(0, color="0.3", linewidth=1)
    linear = 1.0 if metric == "accuracy" else 0.02
    ax.set_xscale("symlog", linthresh=linear)
    low, high = min(m - h for m, h in stats), max(m + h for m, h in stats)
    ax.set_xlim(min(1.6 * low, -linear), max(1.6 * high, linear))  # room around the outermost intervals
    ax.set_xlabel(label)
axes[0].set_yticks(np.arange(len(methods)), [textwrap.fill(text, 45) for text in labels], fontsize=7)
axes[0].invert_yaxis()
save(fig, snakemake.output.png, snakemake.output.pdf)
