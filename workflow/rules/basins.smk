# Measurements on stored members (src/distancing/basins.py, members.npz; never retrains): the loss on
# the straight line between two members and on the plane through three, and the peers' members
# averaged in weight space, BatchNorm recomputed at every point. Each job's CPU is benchmarked
# (results/benchmarks/measurements/), for benchmarks/pipeline_cost.py.

BARRIER_FIGURES = [figure for figure in FIGURE_NAMES if FIGURE_TABLE[figure].source == "barriers"]
PLANE_FIGURES = [figure for figure in FIGURE_NAMES if FIGURE_TABLE[figure].source == "plane"]


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
    benchmark:
        f"{RESULTS}/benchmarks/measurements/barriers-{{figure}}.tsv"
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
    benchmark:
        f"{RESULTS}/benchmarks/measurements/average_members.tsv"
    script:
        "../scripts/average_members.py"


rule plane:
    input:
        members=lambda wildcards: run_files(plane_runs(wildcards), "members"),
        configs=lambda wildcards: run_files(plane_runs(wildcards), "config"),
    output:
        plane=f"{RESULTS}/basins/{{figure}}/plane.csv",
        corners=f"{RESULTS}/basins/{{figure}}/corners.csv",
    wildcard_constraints:
        figure="|".join(PLANE_FIGURES) or "(?!)",
    params:
        corners=lambda wildcards: json_param(PLAN.plane_members(wildcards.figure)),
        grid=lambda wildcards: config["experiments"][wildcards.figure]["grid"],
        samples=lambda wildcards: config["experiments"][wildcards.figure]["samples"],
    threads: config["threads"]
    log:
        f"{RESULTS}/logs/plane/{{figure}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/measurements/plane-{{figure}}.tsv"
    script:
        "../scripts/plane.py"
