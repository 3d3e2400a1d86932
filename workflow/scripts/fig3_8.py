"""Figure 3.8: accuracy (left) and calibrated NLL (right) of the final model alone and of the
checkpoint ensemble for each strength s (s = 0: the no-hill control, whose checkpoints are a
snapshot ensemble); points are means over seeds with 95 % t-intervals, the interval the claims use."""

import matplotlib.pyplot as plt
import pandas as pd

from distancing.ensembles import full_ensembles
from distancing.plotting import COLORS, ENSEMBLE_METRICS, legend_outside, load_series, save, t_interval
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
series = load_series(snakemake.params.series)["fig3_8"]["series"]
table = pd.read_csv(snakemake.input.ensembles)


def final_alone(rows: pd.DataFrame, metric: str) -> pd.Series:
    return rows[rows["members"] == 1][metric] * ENSEMBLE_METRICS[metric][1]


def whole_ensemble(rows: pd.DataFrame, metric: str) -> pd.Series:
    return full_ensembles(rows, "run")[metric] * ENSEMBLE_METRICS[metric][1]


fig, axes = plt.subplots(1, 2, figsize=(12, 4))
positions = list(range(len(series)))
for ax, metric in zip(axes, ("accuracy", "nll_calibrated"), strict=True):
    for label, color, pick, offset, marker in (("final model alone", COLORS[0], final_alone, -0.1, "o"),
                                               ("ensemble: checkpoints + final", COLORS[1], whole_ensemble, 0.1,
                                                "s")):
        stats = [t_interval(pick(table[table["run"].isin(s["runs"])], metric).tolist()) for s in series.values()]
        ax.errorbar([p + offset for p in positions], [m for m, _ in stats], yerr=[h for _, h in stats], fmt=marker,
                    color=color, capsize=4, label=f"{label} (mean, 95 % interval)")
    ax.set_xticks(positions, [s["label"] for s in series.values()])
    ax.set_xlim(-0.5, len(positions) - 0.5)
    ax.set_xlabel("strength of the hill")
    ax.set_ylabel(ENSEMBLE_METRICS[metric][0].replace("ensemble ", ""))
legend_outside(axes[-1])
save(fig, snakemake.output.png, snakemake.output.pdf)
