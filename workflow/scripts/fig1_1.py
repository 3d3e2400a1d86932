"""Figure 1.1: validation accuracy with a fixed learning rate and with cosine decay with warm
restarts (left); the two learning-rate schedules (right)."""

import matplotlib.pyplot as plt

from distancing.plotting import COLORS, accuracy_axis, load_series, read_metrics, save, seed_band
from distancing.scripts import RunFiles, log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
metrics = RunFiles(snakemake.input.metrics)
series = load_series(snakemake.params.series)["fig1_1"]
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
for color, (label, names) in zip(COLORS, series.items(), strict=False):
    frames = read_metrics(metrics, names)
    seed_band(left, frames, "val_acc", label, color, scale=100)
    seed_band(right, frames, "lr", label, color)
accuracy_axis(left)
left.set_title("validation accuracy")
left.legend(loc="lower right")
right.set_xlabel("epoch")
right.set_ylabel("learning rate (at the start of the epoch)")
right.set_title("learning-rate schedule")
save(fig, snakemake.output.png, snakemake.output.pdf)
