"""Snakemake script: checkpoint and seed ensembles into results/ensembles/*.csv."""

from pathlib import Path

import pandas as pd

from distancing.ensembles import checkpoint_ensemble_rows, seed_ensemble_rows
from distancing.files import atomic_write_text

snakemake = globals()["snakemake"]
run_dirs = {Path(p).parent.name: Path(p).parent for p in snakemake.input}
atomic_write_text(snakemake.output.checkpoints, pd.DataFrame(checkpoint_ensemble_rows(run_dirs)).to_csv(index=False))
atomic_write_text(snakemake.output.seeds, pd.DataFrame(seed_ensemble_rows(run_dirs)).to_csv(index=False))
