# Config loading and validation, and the helpers the rules share (no rules here).
import json
import os

from distancing.config import ConfigError
from distancing.files import RUN_FILES
from distancing.measurements import MEASUREMENTS
from distancing.numerics import pin_numpy
from distancing.plan import check_config, cli_settings
from distancing.prose import caption_tail, regime

# The default profile. Profiles given with --configfile are merged over it key by key
# (Snakemake's configuration docs: mappings merge, anything else is replaced), so a profile
# states only what differs; distancing.plan.load_profiles merges the same way for Python.
# tests/test_workflow.py pins it.


configfile: "config.yaml"


try:
    PLAN = check_config(config, os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml"))
except ConfigError as error:
    raise WorkflowError(f"invalid config: {error}") from None

# numpy's kernels pinned for every job this process starts, as torch's are for every run
# (src/distancing/numerics.py): the same bytes on every x86-64 machine.
pin_numpy(PLAN.builder.resolve_base()["numerics"])

RESULTS = config["results"]
FIGURES = config["figures"]
DOCS = config["docs"]  # the results page and the figures it shows
LAYOUT = PLAN.layout  # where every table lives (distancing.files.Layout)
RUNS = PLAN.runs()
DATA = PLAN.builder.resolve_base()["data"]

FIGURE_TABLE = PLAN.figures()  # the experiment design: figure -> source and panels of series
FIGURE_NAMES = list(FIGURE_TABLE)
ALL_FIGURES = expand(f"{FIGURES}/{{figure}}.{{ext}}", figure=FIGURE_NAMES, ext=["png", "pdf"])
MEASURED = list(config["measurements"])  # the measurements to compute, with their settings
CLAIMS = PLAN.claims  # as declared, with at most max_claim_seeds seeds each
# The report opens on what the claims decided: the claims rule writes that page; before the
# claims exist, the report opens on a page that says so.
REPORT_SUMMARY = f"{RESULTS}/report/summary.rst"
REPORT_PAGE = (
    os.path.abspath(REPORT_SUMMARY)
    if os.path.exists(REPORT_SUMMARY)
    else os.path.join(workflow.basedir, "workflow/report/no_claims_yet.rst")
)


def json_param(value):
    """A nested value as one JSON string: params stay plain scalars, and a changed value reruns the rule."""
    return json.dumps(value)  # keeps key order: series and legend order


def run_settings(name):
    """The `distancing train` arguments of one run; a name that is not a run of this config fails with an example."""
    if name not in RUNS:
        raise WorkflowError(f"{RESULTS}/runs/{name}: not a run of this config; runs are named like {next(iter(RUNS))}")
    return cli_settings(RUNS[name])


def held_out_arguments(data):
    """`distancing prepare`'s arguments for the held-out samples ensembles are scored on (MNIST-1D's
    fresh sequences are generated there once, not by every run)."""
    if data["ensemble_val_samples"] is None:
        return ""
    return f"--train-samples {data['train_samples']} --held-out {data['ensemble_val_samples']}"


def run_file(name, kind):
    """The path of one file of a run (``kind``: a key of distancing.files.RUN_FILES)."""
    return LAYOUT.run_file(name, kind)


def run_files(names, kind):
    """Paths of one kind of file (metrics, distances, predictions, ...) of several runs."""
    return LAYOUT.run_files(names, kind)


def parent_states(wildcards):
    """A run started from another depends on the parent's saved states (so it reruns when they change)."""
    parent = PLAN.parent(wildcards.run) if wildcards.run in RUNS else None
    return [run_file(parent, "states")] if parent else []


def trunk_states(wildcards):
    """A branch depends on the states its trunk kept (src/distancing/branching.py): it reruns when they change."""
    trunk = PLAN.trunk(wildcards.run) if wildcards.run in RUNS else None
    return [run_file(trunk[0], "branches")] if trunk else []


def branch_arguments(wildcards, input):
    """A branch continues from the state its trunk kept after the last epoch they share."""
    trunk = PLAN.trunk(wildcards.run)
    return f"--branch-from {input.trunk} --branch-epoch {trunk[1]}" if trunk else ""


def figure_series(figure):
    """Panels -> series -> label, swept value and run names, as one JSON string (a plain scalar
    for Snakemake params). Run names, not paths: scripts find each run's files among their declared inputs."""
    return json_param(PLAN.figure_runs(figure))


def figure_inputs(figure):
    """A figure rule's named inputs: its script, and the tables its source reads (distancing.sources)."""
    # The script is an input too, so that touching it (not only editing it) redraws the figure.
    script = os.path.join(workflow.basedir, f"workflow/scripts/{figure}.py")
    return {"script": script} | PLAN.figure_inputs(figure)
