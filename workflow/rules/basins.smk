# Loss barriers between stored members (src/distancing/basins.py): the loss on the straight line
# between two members, BatchNorm recomputed at every point. Read from members.npz; never retrains.

BARRIER_FIGURES = [figure for figure in FIGURE_NAMES if FIGURE_TABLE[figure].source == "barriers"]


rule barriers:
    input:
        members=lambda wildcards: run_files(barrier_runs(wildcards), "members"),
        configs=lambda wildcards: run_files(barrier_runs(wildcards), "config"),
    output:
        barriers=f"{RESULTS}/basins/{{figure}}/barriers.csv",
        paths=f"{RESULTS}/basins/{{figure}}/paths.csv",
    wildcard_constraints:
        figure="|".join(BARRIER_FIGURES) or "(?!)",
    params:
        pairs=lambda wildcards: json_param(PLAN.barrier_pairs(wildcards.figure)),
        points=lambda wildcards: config["experiments"][wildcards.figure]["points"],
        samples=lambda wildcards: config["experiments"][wildcards.figure]["samples"],
    threads: config["threads"]
    log:
        f"{RESULTS}/logs/barriers/{{figure}}.log",
    script:
        "../scripts/barriers.py"


rule average_members:
    input:
        members=run_files(PEER_RUNS, "members"),
        configs=run_files(PEER_RUNS, "config"),
        ensembles=rules.peer_ensembles.output.members,
    output:
        averages=f"{RESULTS}/basins/weight_averages.csv",
    params:
        peers=json_param(PLAN.peers()),
        members=config["peers"]["members"],
        samples=config["experiments"]["weight_averages"]["samples"],
    threads: config["threads"]
    log:
        f"{RESULTS}/logs/average_members.log",
    script:
        "../scripts/average_members.py"
