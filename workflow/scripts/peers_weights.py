"""Peers figure: distance in weight space against disagreement in function space, one point
per pair of members (Fort, Hu & Lakshminarayanan 2019: far apart need not mean different); one
panel per model of ``peers.models``."""

import matplotlib.pyplot as plt

from distancing.plotting import model_rows, peer_scatter, read_table, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
members = model_rows(read_table(snakemake.input.members, ["model", "method"]))
pairs = dict(model_rows(read_table(snakemake.input.pairs, ["model", "method", "label", "weight_distance",
                                                           "disagreement"])))
fig, axes = plt.subplots(len(members), 1, figsize=(11, 4.5 * len(members)), squeeze=False)
for ax, (model, table) in zip(axes[:, 0], members, strict=True):
    peer_scatter(ax, table, pairs[model], "weight_distance", "disagreement", scale=(1, 100))
    ax.set_title(model)
    ax.set_xlabel("L2 distance between the members' weights")
    ax.set_ylabel("disagreement of the pair (% of validation samples)")
save(fig, snakemake.output.png, snakemake.output.pdf)
