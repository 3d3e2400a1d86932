"""Snakemake script: checkpoint and seed ensembles into results/ensembles/*.csv."""

import logging

import pandas as pd

from distancing.ensembles import checkpoint_ensemble_rows, seed_ensemble_rows
from distancing.files import atomic_write_text
from distancing.scripts import RunFiles, log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
predictions = RunFiles(snakemake.input.predictions)
checkpoints, seeds = pd.DataFrame(checkpoint_ensemble_rows(predictions)), pd.DataFrame(seed_ensemble_rows(predictions))
atomic_write_text(snakemake.output.checkpoints, checkpoints.to_csv(index=False))
atomic_write_text(snakemake.output.seeds, seeds.to_csv(index=False))
logging.info("%d runs: %d checkpoint-ensemble rows, %d seed-ensemble rows", len(predictions), len(checkpoints),
             len(seeds))
