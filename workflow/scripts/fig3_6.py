"""Figure 3.6: cosine decay with warm restarts (SGDR) at a suboptimal learning rate, without
and with distancing; the reference SGDR run at the default learning rate for comparison."""

import matplotlib.pyplot as plt

from distancing.plotting import (
    COLORS,
    accuracy_axis,
    checkpoint_epochs,
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
series = load_series(snakemake.params.series)["fig3_6"]
fig, ax = plt.subplots(figsize=(6.5, 4))
for color, (label, names), style in zip(COLORS, series.items(), ["--", "-", "-"], strict=False):
    seed_band(ax, read_metrics(metrics, names), "val_acc", label, color, scale=100, linestyle=style)
with_hill = [names for label, names in series.items() if "distancing" in label][0]
mark_checkpoints(ax, checkpoint_epochs(distances, with_hill[0]))
accuracy_axis(ax)
ax.legend(loc="lower right")
save(fig, snakemake.output.png, snakemake.output.pdf)
