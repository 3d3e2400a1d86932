"""Peers figure: distance in weight space against disagreement in function space, one point
per pair of members (Fort, Hu & Lakshminarayanan 2019: far apart need not mean different); one
panel per model of ``peers.models``."""

from distancing.plotting import peer_scatter_per_model, read_table, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
fig = peer_scatter_per_model(read_table(snakemake.input.members, ["model", "method"]),
                             read_table(snakemake.input.pairs, ["model", "method", "label", "weight_distance",
                                                                "disagreement"]),
                             "weight_distance", "disagreement", (1, 100),
                             ("L2 distance between the members' weights",
                              "disagreement of the pair (% of validation samples)"))
save(fig, snakemake.output.png, snakemake.output.pdf)
