"""The plane through three members of one seed (Figure 0.1 on a trained network): training loss
(left) and validation error (right) on the plane through the hill's checkpoint, the distancing
run's next member and its no-hill twin's member at the same epoch, BatchNorm recomputed at every
point (results/measurements/plane/plane.csv)."""

import matplotlib.pyplot as plt

from distancing.plotting import read_table, save
from distancing.scripts import log_to

COLUMNS = {"train_loss": ("training loss", 1.0), "val_error": ("validation error (%)", 100.0)}
NAMES = {"a": "checkpoint", "b": "distancing, next member", "c": "no hill, same epoch"}

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
plane = read_table(snakemake.input.plane, ["x", "y", *COLUMNS])
corners = read_table(snakemake.input.corners, ["member", "epoch", "x", "y"])
fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
for ax, (column, (label, scale)) in zip(axes, COLUMNS.items(), strict=True):
    grid = plane.pivot(index="y", columns="x", values=column) * scale
    image = ax.contourf(grid.columns, grid.index, grid.values, levels=20, cmap="viridis")
    fig.colorbar(image, ax=ax, label=label)
    for row, marker in zip(corners.itertuples(), ("o", "s", "^"), strict=True):
        ax.plot(row.x, row.y, marker=marker, color="white", markeredgecolor="black", markersize=9,
                label=f"{NAMES[row.member]} (epoch {row.epoch})")
    ax.set_xlabel("along the distancing step (L2)")
    ax.set_ylabel("toward the no-hill step (L2)")
    ax.set_aspect("equal", adjustable="box")
    ax.set_title(label)
axes[0].legend(loc="best", fontsize=8, framealpha=0.85)
save(fig, snakemake.output.png, snakemake.output.pdf)
