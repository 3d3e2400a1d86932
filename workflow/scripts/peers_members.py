"""Peers figure: accuracy, NLL and calibrated NLL against the number of members, for every
ensemble method at the declared training budget; the single network (one member) as a line
across all sizes."""

import matplotlib.pyplot as plt
import pandas as pd

from distancing.plotting import legend_outside, peer_curves, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
table = pd.read_csv(snakemake.input.members)
metrics = ("accuracy", "nll", "nll_calibrated")
fig, axes = plt.subplots(1, len(metrics), figsize=(16, 4))
for ax, column in zip(axes, metrics, strict=True):
    peer_curves(ax, table, column)
legend_outside(axes[-1], fontsize=7)
save(fig, snakemake.output.png, snakemake.output.pdf)
