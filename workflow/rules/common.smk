# Paths and the JSON that tells each script which runs form which series.
import json

from distancing.pipeline import cli_settings

DATA = EXPERIMENTS.resolve_base()["data"]


def run_files(names, kind):
    """Paths of one output file (metrics.csv, distances.csv, predictions.npz) of several runs."""
    return [f"{RESULTS}/runs/{name}/{kind}" for name in names]


def figure_runs(figure):
    """Every run name one figure (all its panels) reads."""
    return sorted({name for series in EXPERIMENTS.figure_inputs(figure).values()
                   for names in series.values() for name in names})


def figure_series(figure):
    """Panels -> series label -> run names, as one JSON string (a plain scalar for Snakemake params)."""
    return json.dumps(EXPERIMENTS.figure_inputs(figure))  # keeps series order: legend order
