"""Snakemake script: every ensemble method at the declared budget, by number of members, and
one row per pair of members and one per member, into results/ensembles/peers.csv,
peer_pairs.csv and peer_member_scores.csv."""

import json
import logging

import pandas as pd

from distancing.ensembles import peer_rows
from distancing.files import atomic_write_text
from distancing.scripts import RunFiles, log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
rows, pairs, scores = peer_rows(RunFiles(snakemake.input.predictions), RunFiles(snakemake.input.members),
                        json.loads(snakemake.params.peers), snakemake.params.members)
atomic_write_text(snakemake.output.members, pd.DataFrame(rows).to_csv(index=False))
atomic_write_text(snakemake.output.pairs, pd.DataFrame(pairs).to_csv(index=False))
atomic_write_text(snakemake.output.scores, pd.DataFrame(scores).to_csv(index=False))
logging.info("%d ensemble rows, %d pairs of members, %d members", len(rows), len(pairs), len(scores))
