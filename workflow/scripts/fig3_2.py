"""Figure 3.2: influence of the strength s on validation accuracy (top) and on the L2
distance to the checkpoint (bottom)."""

import matplotlib.pyplot as plt

from distancing.plotting import load_series, save, sweep_figure

snakemake = globals()["snakemake"]
fig = sweep_figure(snakemake.params.results, load_series(snakemake.params.series)["fig3_2"], "strength s")
save(fig, snakemake.output.png, snakemake.output.pdf)
plt.close("all")
