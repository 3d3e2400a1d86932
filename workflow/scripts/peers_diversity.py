"""Peers figure: the diversity-accuracy plane, one point per pair of members: how often the
two disagree against the accuracy of their two-member ensemble."""

import matplotlib.pyplot as plt
import pandas as pd

from distancing.plotting import peer_scatter, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
fig, ax = plt.subplots(figsize=(11, 4.5))
peer_scatter(ax, pd.read_csv(snakemake.input.members), pd.read_csv(snakemake.input.pairs), "disagreement",
             "pair_accuracy", scale=(100, 100))
ax.set_xlabel("disagreement of the pair (% of validation samples)")
ax.set_ylabel("accuracy of the pair's ensemble (%)")
save(fig, snakemake.output.png, snakemake.output.pdf)
