"""Snakemake script: results/members.csv, one record per member a run keeps, from the plan
(distancing.plan.Plan.member_records): run, epoch, kind, seed, group and its roles."""

import json
import logging

import pandas as pd

from distancing.files import atomic_write_text
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
records = pd.DataFrame(json.loads(snakemake.params.records))
atomic_write_text(snakemake.output.records, records.to_csv(index=False))
logging.info("%d members of %d runs", len(records), records["run"].nunique())
