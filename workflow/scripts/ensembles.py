"""Snakemake script: the checkpoint ensembles of the figures' runs into results/ensembles/checkpoints.csv."""

import logging

import pandas as pd

from distancing.ensembles import checkpoint_ensemble_rows
from distancing.files import atomic_write_text
from distancing.scripts import RunFiles, log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
predictions = RunFiles(snakemake.input.predictions)
checkpoints = pd.DataFrame(checkpoint_ensemble_rows(predictions, pd.read_csv(snakemake.input.records)))
atomic_write_text(snakemake.output.checkpoints, checkpoints.to_csv(index=False))
logging.info("%d runs: %d checkpoint-ensemble rows", len(predictions), len(checkpoints))
