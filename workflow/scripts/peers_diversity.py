"""Peers figure: the diversity-accuracy plane, one point per pair of members: how often the
two disagree against the accuracy of their two-member ensemble; one panel per model of ``peers.models``."""

import matplotlib.pyplot as plt

from distancing.plotting import model_rows, peer_scatter, read_table, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
members = model_rows(read_table(snakemake.input.members, ["model", "method"]))
pairs = dict(model_rows(read_table(snakemake.input.pairs, ["model", "method", "label", "disagreement",
                                                           "pair_accuracy"])))
fig, axes = plt.subplots(len(members), 1, figsize=(11, 4.5 * len(members)), squeeze=False)
for ax, (model, table) in zip(axes[:, 0], members, strict=True):
    peer_scatter(ax, table, pairs[model], "disagreement", "pair_accuracy", scale=(100, 100))
    ax.set_title(model)
    ax.set_xlabel("disagreement of the pair (% of validation samples)")
    ax.set_ylabel("accuracy of the pair's ensemble (%)")
save(fig, snakemake.output.png, snakemake.output.pdf)
