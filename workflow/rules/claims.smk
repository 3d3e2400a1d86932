# The paper's qualitative claims, each tested on our runs with a 95 % interval over seeds.


rule claims:
    input:
        metrics=run_files(claim_runs(), "metrics.csv"),
        distances=run_files(claim_runs(), "distances.csv"),
        ensembles=rules.ensembles.output.checkpoints,
        peers=rules.peer_ensembles.output.members,
        pairs=rules.peer_ensembles.output.pairs,
    output:
        csv=report(
            f"{RESULTS}/claims.csv",
            caption="../report/claims.rst",
            category="Claims",
            labels={"table": "claims (CSV)"},
        ),
        html=report(
            f"{RESULTS}/claims.html",
            caption="../report/claims.rst",
            category="Claims",
            labels={"table": "claims"},
        ),
        md=f"{RESULTS}/claims.md",
    params:
        figures=json_param(EXPERIMENTS.figure_runs()),
        sweeps=sweep_values(),
    log:
        f"{RESULTS}/logs/claims.log",
    script:
        "../scripts/claims.py"
