"""Basins: the training loss and validation error on the straight line between pairs of members,
BatchNorm recomputed at every point (results/measurements/barriers/paths.csv). Per network two
rows (training loss, validation error), one column per pair of a run's members (from the hill's
first checkpoint on): the hill's pair, its no-hill twin's over the same epochs and, where the
profile trains one, the distance-matched no-hill step's (the twin restarted from the checkpoint at
a larger learning rate); and independently
seeded networks (the control, in a column of its own); mean over seeds with a band of one
standard deviation. The legend gives each series' mean barrier and the mean of its ends."""

import matplotlib.pyplot as plt

from distancing.plotting import load_series, read_table, save
from distancing.scripts import log_to

COLUMNS = {"train_loss": ("training loss", 1.0), "val_error": ("validation error (%)", 100.0)}
COLORS = {"distancing": "C3", "no_hill": "C0", "matched": "C2", "independent": "0.3"}

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
panels = load_series(snakemake.params.series)
paths = read_table(snakemake.input.paths, ["panel", "series", "seed", "pair", "t", *COLUMNS])
barriers = read_table(snakemake.input.barriers, ["panel", "series", "seed", "pair", "a_epoch", "b_epoch",
                                                 *(f"{c}_barrier" for c in COLUMNS),
                                                 *(f"{end}_{c}" for end in "ab" for c in COLUMNS)])
pairs = list(dict.fromkeys(barriers.loc[barriers["series"] != "independent", "pair"]))
columns = [*pairs, "independent"]  # the control in a column of its own: its barrier is ten times the others'
fig, axes = plt.subplots(2 * len(panels), len(columns), figsize=(5.0 * len(columns), 4.6 * 2 * len(panels)),
                         squeeze=False)
for i, (key, panel) in enumerate(panels.items()):
    for j, pair in enumerate(columns):
        for k, (column, (label, scale)) in enumerate(COLUMNS.items()):
            ax = axes[2 * i + k, j]
            shown = [s for s in panel["series"] if (s == "independent") == (pair == "independent")]
            for series in shown:
                chosen = (paths["panel"] == key) & (paths["series"] == series)
                found = barriers[(barriers["panel"] == key) & (barriers["series"] == series)]
                if pair != "independent":
                    chosen &= paths["pair"] == pair
                    found = found[found["pair"] == pair]
                if found.empty:  # the distance-matched step starts at the checkpoint: no later pair
                    continue
                table = paths[chosen].pivot(index="t", columns="seed", values=column) * scale
                mean, std = table.mean(axis=1), table.std(axis=1, ddof=1).fillna(0.0)
                ends = scale * found[[f"a_{column}", f"b_{column}"]].mean()
                height = scale * found[f"{column}_barrier"].mean()
                ax.plot(mean.index, mean.values, color=COLORS[series],
                        label=f"{panel['series'][series]['label']}: barrier {height:.3g}, "
                              f"ends {ends.iloc[0]:.3g} / {ends.iloc[1]:.3g} (n = {len(found)})")
                ax.fill_between(mean.index, mean - std, mean + std, color=COLORS[series], alpha=0.2, linewidth=0)
            if pair == "independent":
                ax.set_xlabel("t (0: one seed's final member, 1: the next seed's)")
                ax.set_title(f"{panel['title']}: independent seeds, final → final, {label}", fontsize=10)
            else:
                a, b = pair.split("-")
                ax.set_xlabel(f"t (0: the member after epoch {a}, 1: after epoch {b})")
                ax.set_title(f"{panel['title']}: epoch {a} → {b}, {label}", fontsize=10)
            ax.set_ylabel(label)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=7.5, frameon=False)
save(fig, snakemake.output.png, snakemake.output.pdf)
