"""Weight averaging: every peer's members averaged in weight space into one network (BatchNorm
recomputed) minus their ensemble, in accuracy (left, points) and calibrated NLL (right, nats;
the ensemble's minus the averaged network's, so that right of zero is better for the average in
both), mean over replicates with the 95 % t-interval; one row per model of ``peers.models``. A
symmetric-log axis keeps both the few points between one basin's members and the collapse of
independent networks' average readable."""

import textwrap

import matplotlib.pyplot as plt
import numpy as np

from distancing.plotting import model_rows, read_table, save, t_interval
from distancing.scripts import log_to

METRICS = {"accuracy": ("averaged − ensemble, accuracy (points)", 100.0),
           "nll_calibrated": ("ensemble − averaged, calibrated NLL (nats)", -1.0)}  # scores: higher is better

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
table = read_table(snakemake.input.averages, ["model", "method", "label", "replicate", "members", *METRICS,
                                              *(f"ensemble_{m}" for m in METRICS)])
rows = model_rows(table[table["members"] > 1])  # one member averages to itself
most = max(len(set(frame["method"])) for _, frame in rows)
fig, grid = plt.subplots(len(rows), 2, figsize=(13, len(rows) * (1.5 + 0.7 * most)), squeeze=False, sharey="row")
for axes, (model, frame) in zip(grid, rows, strict=True):
    methods = list(dict.fromkeys(frame["method"]))
    labels = [frame[frame["method"] == m]["label"].iloc[0] for m in methods]
    for ax, (metric, (label, scale)) in zip(axes, METRICS.items(), strict=True):
        of = [frame[frame["method"] == m] for m in methods]
        stats = [t_interval((rows_of[metric] - rows_of[f"ensemble_{metric}"]) * scale) for rows_of in of]
        y = np.arange(len(methods))
        ax.errorbar([s[0] for s in stats], y, xerr=[s[1] for s in stats], fmt="s", capsize=3, color="C3")
        ax.axvline(0, color="0.3", linewidth=1)
        linear = 1.0 if metric == "accuracy" else 0.02
        ax.set_xscale("symlog", linthresh=linear)
        low, high = min(m - h for m, h in stats), max(m + h for m, h in stats)
        ax.set_xlim(min(1.6 * low, -linear), max(1.6 * high, linear))  # room around the outermost intervals
        ax.set_xlabel(label)
        ax.set_title(model)
    axes[0].set_yticks(np.arange(len(methods)), [textwrap.fill(text, 45) for text in labels], fontsize=7)
    axes[0].invert_yaxis()
save(fig, snakemake.output.png, snakemake.output.pdf)
