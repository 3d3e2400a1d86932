"""Weight averaging: every peer's members averaged in weight space into one network (BatchNorm
recomputed) against their ensemble, in accuracy (left) and calibrated NLL (right), mean over
replicates with the 95 % t-interval."""

import textwrap

import matplotlib.pyplot as plt
import numpy as np

from distancing.plotting import legend_outside, read_table, save, t_interval
from distancing.scripts import log_to

METRICS = {"accuracy": ("accuracy (%)", 100.0), "nll_calibrated": ("calibrated NLL (nats)", 1.0)}

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
table = read_table(snakemake.input.averages, ["method", "label", "replicate", *METRICS,
                                              *(f"ensemble_{m}" for m in METRICS)])
table = table[table["members"] > 1]  # one member averages to itself
methods = list(dict.fromkeys(table["method"]))
labels = [table[table["method"] == m]["label"].iloc[0] for m in methods]
fig, axes = plt.subplots(1, 2, figsize=(14, 1.5 + 0.75 * len(methods)), sharey=True)
for ax, (metric, (label, scale)) in zip(axes, METRICS.items(), strict=True):
    for offset, (column, name, marker) in enumerate(((f"ensemble_{metric}", "ensemble of the members", "o"),
                                                     (metric, "members averaged in weight space", "s"))):
        stats = [t_interval(table[table["method"] == m][column] * scale) for m in methods]
        y = np.arange(len(methods)) + (offset - 0.5) * 0.25
        ax.errorbar([s[0] for s in stats], y, xerr=[s[1] for s in stats], fmt=marker, capsize=3,
                    color=("C0", "C3")[offset], label=name)
    ax.set_xlabel(label)
axes[0].set_yticks(np.arange(len(methods)), [textwrap.fill(text, 45) for text in labels], fontsize=7)
axes[0].invert_yaxis()
legend_outside(axes[-1], fontsize=8)
save(fig, snakemake.output.png, snakemake.output.pdf)
