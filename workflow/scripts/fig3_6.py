"""Figure 3.6: cosine decay with warm restarts (SGDR) at a suboptimal learning rate, without
and with distancing; SGDR at the reference learning rate for comparison."""

import matplotlib.pyplot as plt

from distancing.plotting import (
    COLORS,
    accuracy_axis,
    checkpoint_epochs,
    legend_outside,
    load_series,
    mark_checkpoints,
    read_metrics,
    save,
    seed_band,
)
from distancing.scripts import RunFiles, log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
metrics, distances = RunFiles(snakemake.input.metrics), RunFiles(snakemake.input.distances)
series = load_series(snakemake.params.series)["fig3_6"]["series"]
fig, ax = plt.subplots(figsize=(7.5, 4))
for color, key, style in zip(COLORS, ("reference_lr", "no_hill", "distancing"), (":", "--", "-"), strict=False):
    seed_band(ax, read_metrics(metrics, series[key]["runs"]), "val_acc", series[key]["label"], color, scale=100,
              linestyle=style)
mark_checkpoints(ax, checkpoint_epochs(distances, series["distancing"]["runs"][0]))
accuracy_axis(ax)
legend_outside(ax)
save(fig, snakemake.output.png, snakemake.output.pdf)
