# Ensembles from stored validation predictions: a run's checkpoints plus final model, and every
# method of the peer registry (distancing.peers) against the others at one budget.

ENSEMBLE_RUNS = sorted(
    {name for figure in FIGURE_NAMES if FIGURE_TABLE[figure].source == "ensembles" for name in PLAN.run_names(figure)}
)
PEER_RUNS = PLAN.peer_runs()


rule member_records:
    output:
        records=f"{RESULTS}/members.csv",
    params:
        records=json_param(PLAN.member_records()),
    log:
        f"{RESULTS}/logs/member_records.log",
    script:
        "../scripts/member_records.py"


rule ensembles:
    input:
        predictions=run_files(ENSEMBLE_RUNS, "predictions"),
        records=rules.member_records.output.records,
    output:
        checkpoints=f"{RESULTS}/ensembles/checkpoints.csv",
    log:
        f"{RESULTS}/logs/ensembles.log",
    script:
        "../scripts/ensembles.py"


rule peer_ensembles:
    input:
        predictions=run_files(PEER_RUNS, "predictions"),
        members=run_files(PEER_RUNS, "members"),
    output:
        members=f"{RESULTS}/ensembles/peers.csv",
        pairs=f"{RESULTS}/ensembles/peer_pairs.csv",
        scores=f"{RESULTS}/ensembles/peer_member_scores.csv",
    params:
        peers=json_param(PLAN.peers()),
        members=config["peers"]["members"],
    log:
        f"{RESULTS}/logs/peer_ensembles.log",
    script:
        "../scripts/peer_ensembles.py"
