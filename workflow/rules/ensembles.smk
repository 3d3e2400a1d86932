# Ensembles from stored validation predictions: a run's checkpoints plus final model, and
# the deep ensembles of final models over seeds.

ENSEMBLE_RUNS = sorted(set(figure_runs("fig3_7")) | set(figure_runs("fig3_8")))


rule ensembles:
    input:
        run_files(ENSEMBLE_RUNS, "predictions.npz"),
    output:
        checkpoints=f"{RESULTS}/ensembles/checkpoints.csv",
        seeds=f"{RESULTS}/ensembles/seeds.csv",
    params:
        runs=" ".join(ENSEMBLE_RUNS),
    log:
        f"{RESULTS}/logs/ensembles.log",
    script:
        "../scripts/ensembles.py"
