"""Barrier against weight distance: every pair of the barriers measurement
(results/measurements/barriers/barriers.csv), one row per network, the training-loss barrier
(left) and the validation-error barrier (right) against the L2 distance between the pair's
members. A hill whose barriers rise with distance along the twin's trend travelled farther in
one curved valley; one above that trend at the same distance crossed a ridge."""

import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter, ScalarFormatter

from distancing.plotting import read_table, save
from distancing.scripts import log_to

# label, scale, and the symmetric-log axis's linear range: the independent networks' barriers are
# ten to a hundred times the runs' own, and both must stay readable.
COLUMNS = {"train_loss": ("training-loss barrier (nats)", 1.0, 0.01),
           "val_error": ("validation-error barrier (points)", 100.0, 0.5)}
RUNS = {"distancing": ("distancing", "C3"), "no_hill": ("no hill (its twin)", "C0"),
        "matched": ("no hill, restarted at a larger rate", "C2")}
MARKERS = ("o", "s", "^", "v", "P", "X")  # one per pair of epochs

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
barriers = read_table(snakemake.input.barriers, ["panel", "series", "seed", "pair", "weight_distance",
                                                 *(f"{c}_barrier" for c in COLUMNS)])
models = list(dict.fromkeys(barriers["panel"]))
pairs = list(dict.fromkeys(barriers.loc[barriers["series"] != "independent", "pair"]))
fig, axes = plt.subplots(len(models), 2, figsize=(12.5, 4.8 * len(models)), squeeze=False)
for row, model in zip(axes, models, strict=True):
    mine = barriers[barriers["panel"] == model]
    for ax, (column, (label, scale, linear)) in zip(row, COLUMNS.items(), strict=True):
        for series, (name, color) in RUNS.items():
            for pair, marker in zip(pairs, MARKERS, strict=False):
                found = mine[(mine["series"] == series) & (mine["pair"] == pair)]
                ax.scatter(found["weight_distance"], found[f"{column}_barrier"] * scale, color=color, marker=marker,
                           alpha=0.75, s=28, label=f"{name}: epoch {pair.replace('-', ' → ')}")
        apart = mine[mine["series"] == "independent"]
        ax.scatter(apart["weight_distance"], apart[f"{column}_barrier"] * scale, color="0.3", marker="D", s=28,
                   label="independent seeds: final → final")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_yscale("symlog", linthresh=linear)
        ax.set_ylim(0.0, 2.0 * scale * float(mine[f"{column}_barrier"].max()))  # a barrier is never negative
        ax.set_xlabel("weight distance between the pair's members (L2, log scale)")
        ax.set_ylabel(f"{label}, linear below {linear:g}")
        ax.set_title(f"{model}: {label} against distance", fontsize=10)
    row[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
save(fig, snakemake.output.png, snakemake.output.pdf)
