"""Peers figure: accuracy, NLL and calibrated NLL against the number of members, for every
ensemble method at the declared training budget, one row per model of ``peers.models``; the
single network (one member) as a line across all sizes."""

import matplotlib.pyplot as plt

from distancing.plotting import legend_outside, model_rows, peer_curves, read_table, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
metrics = ("accuracy", "nll", "nll_calibrated")
rows = model_rows(read_table(snakemake.input.members, ["model", "method", "label", "members", *metrics]))
fig, axes = plt.subplots(len(rows), len(metrics), figsize=(16, 4 * len(rows)), squeeze=False)
for row, (model, table) in zip(axes, rows, strict=True):
    for ax, column in zip(row, metrics, strict=True):
        peer_curves(ax, table, column)
        ax.set_title(model)
    legend_outside(row[-1], fontsize=7)
save(fig, snakemake.output.png, snakemake.output.pdf)
