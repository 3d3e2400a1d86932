# The paper's claims as declared in the config, each decided on our runs with a 95 % interval
# over seeds and its minimum detectable effect.


rule claims:
    input:
        metrics=run_files(claim_runs(), "metrics"),
        distances=run_files(claim_runs(), "distances"),
        ensembles=rules.ensembles.output.checkpoints,
        peers=rules.peer_ensembles.output.members,
        pairs=rules.peer_ensembles.output.pairs,
        scores=rules.peer_ensembles.output.scores,
        measurements=claim_measurement_tables(),
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
        summary=REPORT_SUMMARY,
    params:
        figures=json_param({figure: PLAN.figure_runs(figure) for figure in claim_figures()}),
        claims=json_param(CLAIMS),
        regime=regime(PLAN),
    log:
        f"{RESULTS}/logs/claims.log",
    script:
        "../scripts/claims.py"
