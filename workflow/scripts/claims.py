"""Snakemake script: results/claims.csv and a markdown table of the same rows."""

import json

import pandas as pd

from distancing.claims import evaluate_claims, markdown_table
from distancing.files import atomic_write_text

snakemake = globals()["snakemake"]
table = evaluate_claims(snakemake.params.results, json.loads(snakemake.params.figures),
                        pd.read_csv(snakemake.input.ensembles), json.loads(snakemake.params.sweeps),
                        pd.read_csv(snakemake.input.peers), pd.read_csv(snakemake.input.pairs))
atomic_write_text(snakemake.output.csv, table.to_csv(index=False, na_rep="nan"))
atomic_write_text(snakemake.output.md, "# Claims of the paper, tested on this run\n\n" + markdown_table(table))
