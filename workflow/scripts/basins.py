"""Basins: the training loss (left) and validation error (right) on the straight line between
pairs of members, BatchNorm recomputed at every point (results/measurements/barriers/paths.csv), one row
per network: the hill's checkpoint to the run's next member, the same step of its no-hill twin,
and independently seeded networks (the control); mean over seeds with a band of one standard
deviation. The legend gives each series' mean barrier."""

import matplotlib.pyplot as plt

from distancing.plotting import load_series, read_table, save
from distancing.scripts import log_to

COLUMNS = {"train_loss": ("training loss", 1.0), "val_error": ("validation error (%)", 100.0)}

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
panels = load_series(snakemake.params.series)
paths = read_table(snakemake.input.paths, ["panel", "series", "seed", "t", *COLUMNS])
barriers = read_table(snakemake.input.barriers, ["panel", "series", "seed", *(f"{c}_barrier" for c in COLUMNS)])
fig, axes = plt.subplots(len(panels), 2, figsize=(11, 4.4 * len(panels)), squeeze=False)
for row, (key, panel) in zip(axes, panels.items(), strict=True):
    counted = barriers[barriers["panel"] == key].groupby("series")["seed"].count()
    for (series, spec), color in zip(panel["series"].items(), ("C3", "C0", "0.3"), strict=False):
        rows = paths[(paths["panel"] == key) & (paths["series"] == series)]
        found = barriers[(barriers["panel"] == key) & (barriers["series"] == series)]
        for ax, (column, (label, scale)) in zip(row, COLUMNS.items(), strict=True):
            table = rows.pivot(index="t", columns="seed", values=column) * scale
            mean, std = table.mean(axis=1), table.std(axis=1, ddof=1).fillna(0.0)
            height = found[f"{column}_barrier"].mean() * scale
            ax.plot(mean.index, mean.values, color=color, label=f"{spec['label']} (barrier {height:.3g})")
            ax.fill_between(mean.index, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)
            ax.set_xlabel("t (0: first member, 1: second)")
            ax.set_ylabel(label)
            pairs = counted.get("independent", 0)
            ax.set_title(f"{panel['title']}: {label} ({counted.get('distancing', 0)} seeds; {pairs} "
                         f"pair{'' if pairs == 1 else 's'} of independent seeds)", fontsize=10)
    for ax in row:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=8, frameon=False)
save(fig, snakemake.output.png, snakemake.output.pdf)
