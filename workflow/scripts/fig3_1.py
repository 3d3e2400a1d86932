"""Figure 3.1: MobileNetV2 with one checkpoint against its no-hill control (same schedule and
seeds): validation accuracy (top, dotted line at the checkpoint) and L2 distance to the
checkpoint (bottom)."""

import matplotlib.pyplot as plt

from distancing.plotting import (
    COLORS,
    accuracy_axis,
    legend_outside,
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
series = load_series(snakemake.params.series)["fig3_1"]["series"]
checkpoint = read_distances(distances, series["distancing"]["runs"][:1])[0]["checkpoint_epoch"].iloc[0]

fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 6), sharex=True)
for color, key in zip(COLORS, ("no_hill", "distancing"), strict=False):
    runs, label = series[key]["runs"], series[key]["label"]
    style = "--" if key == "no_hill" else "-"
    seed_band(top, read_metrics(metrics, runs), "val_acc", label, color, scale=100, linestyle=style)
    seed_band(bottom, read_distances(distances, runs, checkpoint=0), "distance", label, color, linestyle=style)
for ax in (top, bottom):
    mark_checkpoints(ax, [checkpoint], label=ax is top)
accuracy_axis(top)
top.set_xlabel("")
legend_outside(top)
bottom.set_xlabel("epoch")
bottom.set_ylabel(f"L2 distance to the epoch-{checkpoint} checkpoint")
save(fig, snakemake.output.png, snakemake.output.pdf)
