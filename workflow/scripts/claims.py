"""Snakemake script: results/claims.csv, the same rows as an HTML table (for the report) and in
markdown, and the report's opening page (what the claims decided, in words: the opening of the
results page, results_page.opening)."""

import json
import logging
from pathlib import Path

import pandas as pd

from distancing.claims.catalogue import Evidence
from distancing.claims.verdicts import evaluate_claims
from distancing.files import atomic_write_text
from distancing.plan import import_plugins
from distancing.results_page import claims_markdown, html_table, opening, rst
from distancing.scripts import RunFiles, log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
import_plugins(snakemake.config)  # a plugin's peers and measurements bring their statistics
measurements = {}  # measurement -> table -> rows, from results/measurements/<measurement>/<table>.csv
for path in map(Path, snakemake.input.measurements):
    measurements.setdefault(path.parent.name, {})[path.stem] = pd.read_csv(path)
files = {"metrics": RunFiles(snakemake.input.metrics), "distances": RunFiles(snakemake.input.distances)}
evidence = Evidence(files, json.loads(snakemake.params.figures), pd.read_csv(snakemake.input.ensembles),
                    pd.read_csv(snakemake.input.peers), pd.read_csv(snakemake.input.pairs),
                    pd.read_csv(snakemake.input.scores), measurements)
table = evaluate_claims(evidence, json.loads(snakemake.params.claims), snakemake.config["distancing"]["model"])
atomic_write_text(snakemake.output.csv, table.to_csv(index=False, na_rep="nan"))
atomic_write_text(snakemake.output.html, html_table(table))
atomic_write_text(snakemake.output.md, claims_markdown(table))
atomic_write_text(snakemake.output.summary, rst(opening(table, snakemake.params.regime)))
logging.info("%d claims from %d runs: %s; %d fragile", len(table), len(files["metrics"]),
             table["verdict"].value_counts().to_dict(), int(table["fragile"].sum()))
