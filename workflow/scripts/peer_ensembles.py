"""Snakemake script: every ensemble method at the declared budget, by number of members, and
one row per pair of members, into results/ensembles/peers.csv and peer_pairs.csv."""

import json

import pandas as pd

from distancing.ensembles import peer_rows
from distancing.files import atomic_write_text

snakemake = globals()["snakemake"]
rows, pairs = peer_rows(snakemake.params.results, json.loads(snakemake.params.peers), snakemake.params.members)
atomic_write_text(snakemake.output.members, pd.DataFrame(rows).to_csv(index=False))
atomic_write_text(snakemake.output.pairs, pd.DataFrame(pairs).to_csv(index=False))
