"""Figure 3.5: L2 distance to each existing checkpoint as new ones are added, with weight
decay (L2 regularisation, top) and without (bottom)."""

import matplotlib.pyplot as plt

from distancing.plotting import (
    COLORS,
    checkpoint_epochs,
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
# Weight decay first (the paper's upper plot), then without.
order = sorted(panels, key=lambda key: "no weight decay" in key)
fig, axes = plt.subplots(len(order), 1, figsize=(6.5, 3.2 * len(order)), sharex=True, squeeze=False)
for ax, panel in zip(axes[:, 0], order, strict=True):
    (label, names), = panels[panel].items()
    epochs = checkpoint_epochs(distances, names[0])
    for index, epoch in enumerate(epochs):
        seed_band(ax, read_distances(distances, names, checkpoint=index), "distance",
                  f"to the epoch-{epoch} checkpoint", COLORS[index])
    mark_checkpoints(ax, epochs)
    ax.set_title(label)
    ax.set_ylabel("L2 distance")
    ax.legend(loc="upper left")
axes[-1, 0].set_xlabel("epoch")
save(fig, snakemake.output.png, snakemake.output.pdf)
