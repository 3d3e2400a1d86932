"""Figure 1.1: validation accuracy with a fixed learning rate and with cosine decay with warm
restarts (left); the learning rate of every optimizer step (right)."""

import matplotlib.pyplot as plt

from distancing.plotting import COLORS, accuracy_axis, load_series, read_metrics, read_table, save, seed_band
from distancing.scripts import RunFiles, log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
metrics, rates = RunFiles(snakemake.input.metrics), RunFiles(snakemake.input.learning_rates)
series = load_series(snakemake.params.series)["fig1_1"]["series"]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
for color, (key, s) in zip(COLORS, series.items(), strict=False):
    seed_band(left, read_metrics(metrics, s["runs"]), "val_acc", s["label"], color, scale=100)
    # Every seed follows the same schedule: the first seed's steps, on an epoch axis.
    steps = read_table(rates[s["runs"][0]], ["step", "epoch", "lr"])
    per_epoch = steps.groupby("epoch")["step"].count().iloc[0]
    right.plot(steps["step"] / per_epoch, steps["lr"], color=color, label=s["label"],
               linestyle="--" if key == "fixed_lr" else "-")
accuracy_axis(left)
left.set_title("validation accuracy")
left.legend(loc="lower right")
right.set_xlabel("epoch (one point per optimizer step)")
right.set_ylabel("learning rate")
right.set_title("learning-rate schedule")
save(fig, snakemake.output.png, snakemake.output.pdf)
