"""Figure 3.5: L2 distance to each existing checkpoint as new ones are added, with weight decay
(L2 regularisation, top) and without (bottom); the no-hill control of each, dashed."""

import matplotlib.pyplot as plt

from distancing.plotting import (
    COLORS,
    checkpoint_epochs,
    legend_outside,
    load_series,
    mark_checkpoints,
    read_distances,
    save,
    seed_band,
)
from distancing.scripts import RunFiles, log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
distances = RunFiles(snakemake.input.distances)
panels = load_series(snakemake.params.series)
order = sorted(panels.values(), key=lambda panel: -panel["value"])  # weight decay first: the paper's upper plot
fig, axes = plt.subplots(len(order), 1, figsize=(7.5, 3.2 * len(order)), sharex=True, squeeze=False)
for ax, panel in zip(axes[:, 0], order, strict=True):
    hill, control = panel["series"]["distancing"], panel["series"]["no_hill"]
    epochs = checkpoint_epochs(distances, hill["runs"][0])
    for index, epoch in enumerate(epochs):
        seed_band(ax, read_distances(distances, hill["runs"], checkpoint=index), "distance",
                  f"to the epoch-{epoch} checkpoint", COLORS[index])
        seed_band(ax, read_distances(distances, control["runs"], checkpoint=index), "distance",
                  f"no hill, to epoch {epoch}", COLORS[index], linestyle="--")
    mark_checkpoints(ax, epochs)
    ax.set_title(panel["title"])
    ax.set_ylabel("L2 distance")
    legend_outside(ax)
axes[-1, 0].set_xlabel("epoch")
save(fig, snakemake.output.png, snakemake.output.pdf)
