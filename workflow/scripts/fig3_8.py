"""Figure 3.8: ensemble accuracy (checkpoints plus final model) for different strengths s,
with the accuracy of the final model alone for comparison."""

import matplotlib.pyplot as plt
import pandas as pd

from distancing.plotting import COLORS, load_series, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
series = load_series(snakemake.params.series)["fig3_8"]
table = pd.read_csv(snakemake.input.ensembles)


def final_alone(rows: pd.DataFrame) -> pd.Series:
    return rows[rows["members"] == 1]["accuracy"] * 100


def whole_ensemble(rows: pd.DataFrame) -> pd.Series:
    return rows.loc[rows.groupby("run")["members"].idxmax(), "accuracy"] * 100


fig, ax = plt.subplots(figsize=(6.5, 4))
positions = list(range(len(series)))
bars = [("final model alone", COLORS[0], final_alone, -0.16),
        ("ensemble: checkpoints + final", COLORS[1], whole_ensemble, 0.16)]
for label, color, pick, offset in bars:
    values = [pick(table[table["run"].isin(names)]) for names in series.values()]
    ax.bar([p + offset for p in positions], [v.mean() for v in values], width=0.32,
           yerr=[v.std() for v in values], capsize=3, color=color, label=label)
ax.set_xticks(positions, list(series))
ax.set_xlabel("strength")
ax.set_ylabel("validation accuracy (%)")
ax.set_ylim(max(0.0, table["accuracy"].min() * 100 - 5), 100)
ax.legend(loc="lower right")
save(fig, snakemake.output.png, snakemake.output.pdf)
