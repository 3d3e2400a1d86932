"""Peers figure: the diversity-accuracy plane, one point per pair of members: how often the
two disagree against the accuracy of their two-member ensemble; one panel per model of ``peers.models``."""

from distancing.plotting import peer_scatter_per_model, read_table, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
fig = peer_scatter_per_model(read_table(snakemake.input.members, ["model", "method"]),
                             read_table(snakemake.input.pairs, ["model", "method", "label", "disagreement",
                                                                "pair_accuracy"]),
                             "disagreement", "pair_accuracy", (100, 100),
                             ("disagreement of the pair (% of validation samples)",
                              "accuracy of the pair's ensemble (%)"))
save(fig, snakemake.output.png, snakemake.output.pdf)
