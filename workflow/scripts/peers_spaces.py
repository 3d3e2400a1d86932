"""Peers figure: which space to distance in. Every method at the declared budget: ensemble
accuracy and calibrated NLL against members; pairwise disagreement against pairwise weight
distance (Fort, Hu & Lakshminarayanan 2019); each member's own accuracy; one row per model of ``peers.models``."""

import matplotlib.pyplot as plt

from distancing.plotting import (
    COLORS,
    PEER_MARKERS,
    legend_outside,
    model_rows,
    peer_curves,
    peer_scatter,
    read_table,
    save,
)
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
members = model_rows(read_table(snakemake.input.members, ["model", "method", "label", "members", "accuracy",
                                                          "nll_calibrated"]))
pairs = dict(model_rows(read_table(snakemake.input.pairs, ["model", "method", "weight_distance", "disagreement"])))
scores = dict(model_rows(read_table(snakemake.input.scores, ["model", "method", "label", "member", "accuracy"])))
fig, grid = plt.subplots(len(members), 4, figsize=(21, 4.6 * len(members)), squeeze=False,
                         gridspec_kw={"width_ratios": [1, 1, 1.15, 1.15]})
for axes, (model, table) in zip(grid, members, strict=True):
    for ax, column in zip(axes[:2], ("accuracy", "nll_calibrated"), strict=True):
        peer_curves(ax, table, column)
        ax.set_title(model)
    peer_scatter(axes[2], table, pairs[model], "weight_distance", "disagreement", scale=(1, 100))
    axes[2].get_legend().remove()
    axes[2].set_xlabel("L2 distance between the members' weights")
    axes[2].set_ylabel("disagreement of the pair (% of validation samples)")
    own = scores[model]
    for i, method in enumerate(dict.fromkeys(table["method"])):  # each member's own accuracy, per replicate
        rows = own[own["method"] == method]
        color = "0.2" if method == "single" else COLORS[i % len(COLORS)]
        jitter = (rows["member"] - rows["member"].mean()) * 0.08
        axes[3].scatter(i + jitter, 100 * rows["accuracy"], color=color, marker=PEER_MARKERS[i % len(PEER_MARKERS)],
                        alpha=0.6, s=18, label=rows["label"].iloc[0])
        axes[3].hlines(100 * rows["accuracy"].mean(), i - 0.3, i + 0.3, color=color, linewidth=2)
    axes[3].set_xticks([])
    axes[3].set_xlabel("method (legend)")
    axes[3].set_ylabel("each member's own validation accuracy (%)")
    legend_outside(axes[3], fontsize=7)
save(fig, snakemake.output.png, snakemake.output.pdf)
