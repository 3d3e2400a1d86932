"""Figure 3.3: influence of the width σ² on validation accuracy (top) and on the L2
distance to the checkpoint (bottom)."""

import matplotlib.pyplot as plt

from distancing.plotting import load_series, save, sweep_figure

snakemake = globals()["snakemake"]
fig = sweep_figure(snakemake.params.results, load_series(snakemake.params.series)["fig3_3"], "width σ²")
save(fig, snakemake.output.png, snakemake.output.pdf)
plt.close("all")
