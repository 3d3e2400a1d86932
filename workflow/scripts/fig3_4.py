"""Figure 3.4: influence of several checkpoints on the validation accuracy of MobileNetV2 and
ResNet (one panel per model)."""

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
panels = load_series(snakemake.params.series)
fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), sharey=True, squeeze=False)
for ax, (panel, series) in zip(axes[0], sorted(panels.items()), strict=True):
    # Runs differ only after their later checkpoints: dashes keep overlapping curves visible.
    for color, style, (label, names) in zip(COLORS, ["-", "--", "-.", ":"] * 3, series.items(), strict=False):
        seed_band(ax, read_metrics(metrics, names), "val_acc", label, color, scale=100, linestyle=style)
    longest = max(series.values(), key=lambda names: len(checkpoint_epochs(distances, names[0])))
    mark_checkpoints(ax, checkpoint_epochs(distances, longest[0]))
    ax.set_title(panel.split("/", 1)[1])
    accuracy_axis(ax)
    ax.legend(loc="lower right")
save(fig, snakemake.output.png, snakemake.output.pdf)
