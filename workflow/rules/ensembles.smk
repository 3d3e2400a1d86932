# Ensembles from stored validation predictions: a run's checkpoints plus final model, and every
# method of the peer registry (distancing.peers) against the others at one budget.

ENSEMBLE_RUNS = PLAN.ensemble_runs()
PEER_RUNS = PLAN.peer_runs()


rule member_records:
    output:
        records=f"{RESULTS}/members.csv",
    params:
        records=json_param(PLAN.member_records()),
    log:
        f"{RESULTS}/logs/member_records.log",
    benchmark:
        f"{RESULTS}/benchmarks/member_records.tsv"
    script:
        "../scripts/member_records.py"


rule ensembles:
    input:
        predictions=run_files(ENSEMBLE_RUNS, "predictions"),
        records=rules.member_records.output.records,
    output:
        checkpoints=LAYOUT.checkpoint_ensembles,
    log:
        f"{RESULTS}/logs/ensembles.log",
    benchmark:
        f"{RESULTS}/benchmarks/ensembles.tsv"
    script:
        "../scripts/ensembles.py"


rule peer_ensembles:
    input:
        predictions=run_files(PEER_RUNS, "predictions"),
        members=run_files(PEER_RUNS, "members"),
    output:
        **LAYOUT.peer_tables,
    params:
        peers=json_param(PLAN.peers()),
        members=config["peers"]["members"],
    log:
        f"{RESULTS}/logs/peer_ensembles.log",
    benchmark:
        f"{RESULTS}/benchmarks/peer_ensembles.tsv"
    script:
        "../scripts/peer_ensembles.py"
