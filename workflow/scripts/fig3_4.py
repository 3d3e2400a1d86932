"""Figure 3.4: influence of one to K checkpoints on the validation accuracy of MobileNetV2 and
ResNet (one panel per model, each with its own y-axis), against the no-hill control."""

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
panels = load_series(snakemake.params.series)
fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels) + 1.8, 4.4), squeeze=False)
for ax, panel in zip(axes[0], panels.values(), strict=True):
    # Runs differ only after their later checkpoints: dashes keep overlapping curves visible.
    for color, style, series in zip(COLORS, ["--", "-", "-.", ":"] * 3, panel["series"].values(), strict=False):
        seed_band(ax, read_metrics(metrics, series["runs"]), "val_acc", series["label"], color, scale=100,
                  linestyle=style)
    most = max((s for s in panel["series"].values() if s["value"]), key=lambda s: s["value"])
    mark_checkpoints(ax, checkpoint_epochs(distances, most["runs"][0]))
    ax.set_title(panel["title"])
    accuracy_axis(ax)
legend_outside(axes[0, -1])  # the panels share series and styles
# The curves climb from chance: the lower y-limit follows the last cycle so its differences show.
for ax in axes[0]:
    low = min(line.get_ydata()[len(line.get_ydata()) // 3:].min() for line in ax.lines if len(line.get_ydata()) > 3)
    ax.set_ylim(max(0, low - 5), 100)
save(fig, snakemake.output.png, snakemake.output.pdf)
