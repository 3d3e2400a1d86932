"""Peers figure: distance in weight space against disagreement in function space, one point
per pair of members (Fort, Hu & Lakshminarayanan 2019: far apart need not mean different)."""

import matplotlib.pyplot as plt
import pandas as pd

from distancing.plotting import peer_scatter, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
fig, ax = plt.subplots(figsize=(11, 4.5))
peer_scatter(ax, pd.read_csv(snakemake.input.members), pd.read_csv(snakemake.input.pairs), "weight_distance",
             "disagreement", scale=(1, 100))
ax.set_xlabel("L2 distance between the members' weights")
ax.set_ylabel("disagreement of the pair (% of validation samples)")
save(fig, snakemake.output.png, snakemake.output.pdf)
