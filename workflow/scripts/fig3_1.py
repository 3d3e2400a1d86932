"""Figure 3.1: MobileNetV2 with one checkpoint against its no-hill control (same schedule and
seeds): validation accuracy (top, dotted line at the checkpoint), L2 distance to the
checkpoint (middle) and the validation disagreement with it (bottom)."""

from distancing.plotting import load_series, save, sweep_figure
from distancing.scripts import RunFiles, log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
fig = sweep_figure(RunFiles(snakemake.input.metrics), RunFiles(snakemake.input.distances),
                   load_series(snakemake.params.series)["fig3_1"])
save(fig, snakemake.output.png, snakemake.output.pdf)
