"""Figure 3.1: MobileNetV2 baseline against distancing from one checkpoint: validation
accuracy (top, dotted line at the checkpoint) and L2 distance to the checkpoint (bottom)."""

import matplotlib.pyplot as plt

from distancing.plotting import (
    COLORS,
    accuracy_axis,
    load_series,
    mark_checkpoints,
    read_distances,
    read_metrics,
    save,
    seed_band,
)
from distancing.scripts import RunFiles, log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
metrics, distances = RunFiles(snakemake.input.metrics), RunFiles(snakemake.input.distances)
series = load_series(snakemake.params.series)["fig3_1"]
distancing_runs = series["distancing"]
checkpoint = read_distances(distances, distancing_runs[:1])[0]["checkpoint_epoch"].iloc[0]

fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 6), sharex=True)
for color, (label, names) in zip(COLORS, series.items(), strict=False):
    seed_band(top, read_metrics(metrics, names), "val_acc", label, color, scale=100)
    seed_band(bottom, read_distances(distances, names, checkpoint=0), "distance", label, color)
for ax in (top, bottom):
    mark_checkpoints(ax, [checkpoint], label=ax is top)
accuracy_axis(top)
top.set_xlabel("")
top.legend(loc="lower right")
bottom.set_xlabel("epoch")
bottom.set_ylabel(f"L2 distance to the epoch-{checkpoint} checkpoint")
save(fig, snakemake.output.png, snakemake.output.pdf)
