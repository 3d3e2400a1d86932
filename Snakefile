# Machine learning with distancing: every figure of the paper from stored metrics.
#   snakemake --cores 2 figures                    # everything, on the default profile
#   snakemake --cores 2 fig3_2                     # one figure (and the runs it needs)
#   snakemake --report report.zip                  # every figure with its caption
import os

from distancing.config import ConfigError
from distancing.pipeline import check_config

# The default profile, unless profiles are given with --configfile (which would otherwise be
# merged over it, key by key, and inherit settings they do not mention).
if not workflow.config_settings.configfiles:

    configfile: "config.yaml"


try:
    EXPERIMENTS = check_config(config, os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml"))
except ConfigError as error:
    raise WorkflowError(f"invalid config: {error}") from None

RESULTS = config["results"]
FIGURES = config["figures"]
RUNS = EXPERIMENTS.runs()
FIGURE_NAMES = ["fig0_1", "fig1_1", "fig2_1", "fig3_1", "fig3_2", "fig3_3", "fig3_4", "fig3_5", "fig3_6",
                "fig3_7", "fig3_8", "peers_members", "peers_diversity", "peers_weights"]



ALL_FIGURES = expand(f"{FIGURES}/{{figure}}.{{ext}}", figure=FIGURE_NAMES, ext=["png", "pdf"])


rule all:
    input:
        ALL_FIGURES,
        f"{RESULTS}/claims.csv",
        f"{RESULTS}/claims.md",


rule figures:
    input:
        ALL_FIGURES,
        f"{RESULTS}/claims.md",


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/ensembles.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/claims.smk"
