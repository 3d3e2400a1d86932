# Ensembles from stored validation predictions: a run's checkpoints plus final model, deep
# ensembles of final models over seeds, and every method against its peers at one budget.

ENSEMBLE_RUNS = sorted(
    {
        name
        for figure in FIGURE_NAMES
        if FIGURE_TABLE[figure].source == "ensembles"
        for name in EXPERIMENTS.run_names(figure)
    }
)
PEER_RUNS = EXPERIMENTS.peer_runs()


rule ensembles:
    input:
        predictions=run_files(ENSEMBLE_RUNS, "predictions.npz"),
    output:
        checkpoints=f"{RESULTS}/ensembles/checkpoints.csv",
        seeds=f"{RESULTS}/ensembles/seeds.csv",
    log:
        f"{RESULTS}/logs/ensembles.log",
    script:
        "../scripts/ensembles.py"


rule peer_ensembles:
    input:
        predictions=run_files(PEER_RUNS, "predictions.npz"),
        weights=run_files(PEER_RUNS, "weights.npz"),
    output:
        members=f"{RESULTS}/ensembles/peers.csv",
        pairs=f"{RESULTS}/ensembles/peer_pairs.csv",
    params:
        peers=json_param(EXPERIMENTS.peers()),
        labels=json_param(EXPERIMENTS.peer_labels()),
        members=config["peers"]["members"],
    log:
        f"{RESULTS}/logs/peer_ensembles.log",
    script:
        "../scripts/peer_ensembles.py"
