# The paper's claims as declared in the config, each decided on our runs with a 95 % interval
# over seeds and its minimum detectable effect.


rule claims:
    input:
        metrics=run_files(PLAN.claim_runs(), "metrics"),
        distances=run_files(PLAN.claim_runs(), "distances"),
        ensembles=LAYOUT.checkpoint_ensembles,
        peers=LAYOUT.peer_tables["members"],
        pairs=LAYOUT.peer_tables["pairs"],
        scores=LAYOUT.peer_tables["scores"],
        measurements=PLAN.claim_measurement_tables(),
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
        figures=json_param({figure: PLAN.figure_runs(figure) for figure in PLAN.claim_figures()}),
        claims=json_param(CLAIMS),
        regime=regime(PLAN),
    log:
        f"{RESULTS}/logs/claims.log",
    benchmark:
        f"{RESULTS}/benchmarks/claims.tsv"
    script:
        "../scripts/claims.py"
