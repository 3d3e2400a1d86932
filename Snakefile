# Machine learning with distancing: every figure of the paper from stored metrics.
#   snakemake --cores 2 figures                    # everything, on the default profile
#   snakemake --cores 2 fig3_2                     # one figure (and the runs it needs)
#   snakemake --report report.zip figures          # every figure and the claims table, with captions
# `figures` also writes the results page (docs/results.md, the `docs` key) from the claims.
from snakemake.utils import min_version

min_version("8.0")


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/ensembles.smk"
include: "workflow/rules/measurements.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/results.smk"
include: "workflow/rules/warm_start.smk"
include: "workflow/rules/slurm.smk"
include: "workflow/rules/scheduling.smk"


report: REPORT_PAGE


# Snakemake runs these only when jobs will run (not for -n); it keeps one handler of each kind.
onstart:
    check_slurm_jobs()  # slurm.smk: a job no node can run stops here, before submission
    start_training_server(f"{RESULTS}/logs/training_server.log")  # warm_start.smk: local runs only
    schedule_when_jobs_end()  # scheduling.smk: a round when a job ends, not on a timer


onsuccess:
    stop_training_server()


onerror:
    stop_training_server()


rule all:
    default_target: True
    input:
        ALL_FIGURES,
        f"{RESULTS}/claims.csv",
        f"{RESULTS}/claims.md",
        rules.results_page.output.page,


rule figures:
    input:
        ALL_FIGURES,
        f"{RESULTS}/claims.md",
        rules.results_page.output.page,
