"""Planes through three members of one seed (Figure 0.1 on a trained network): training loss
(left) and validation error (right) on the plane through the hill's checkpoint and the next
members of the distancing run and its no-hill twin (top), and through the checkpoint and both
runs' final members (bottom), BatchNorm recomputed at every point
(results/measurements/plane/plane.csv)."""

import matplotlib.pyplot as plt

from distancing.plotting import read_table, save
from distancing.scripts import log_to

COLUMNS = {"train_loss": ("training loss", 1.0), "val_error": ("validation error (%)", 100.0)}
NAMES = {"a": "checkpoint", "b": "distancing", "c": "no hill (its twin)"}
MARKERS = {"a": "o", "b": "s", "c": "^"}

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
plane = read_table(snakemake.input.plane, ["plane", "x", "y", *COLUMNS])
corners = read_table(snakemake.input.corners, ["plane", "member", "epoch", "x", "y"])
planes = list(dict.fromkeys(plane["plane"]))
fig, axes = plt.subplots(len(planes), 2, figsize=(13, 5.5 * len(planes)), squeeze=False)
for row, name in zip(axes, planes, strict=True):
    points, members = plane[plane["plane"] == name], corners[corners["plane"] == name]
    epoch = int(members.loc[members["member"] == "b", "epoch"].iloc[0])
    for ax, (column, (label, scale)) in zip(row, COLUMNS.items(), strict=True):
        grid = points.pivot(index="y", columns="x", values=column) * scale
        image = ax.contourf(grid.columns, grid.index, grid.values, levels=20, cmap="viridis")
        fig.colorbar(image, ax=ax, label=label)
        for member in members.itertuples():
            ax.plot(member.x, member.y, marker=MARKERS[member.member], color="white", markeredgecolor="black",
                    markersize=9, label=f"{NAMES[member.member]} (epoch {member.epoch})")
        ax.set_xlabel("along the distancing run's way (L2)")
        ax.set_ylabel("toward the no-hill run's (L2)")
        ax.set_aspect("equal", adjustable="box")
        ax.set_title(f"{label}: checkpoint and both runs at epoch {epoch}", fontsize=10)
    row[0].legend(loc="best", fontsize=8, framealpha=0.85)
save(fig, snakemake.output.png, snakemake.output.pdf)
