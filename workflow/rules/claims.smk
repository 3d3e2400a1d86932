# The paper's qualitative claims, each tested on our runs with a 95 % interval over seeds.

CLAIM_FIGURES = ["fig3_1", "fig3_2", "fig3_3", "fig3_5", "fig3_6"]


def sweep_values():
    """Series label -> swept value, for the sweeps the claims fit slopes to."""
    e = config["experiments"]
    from distancing.pipeline import number

    return json.dumps({
        "fig3_2": {f"s = {number(s)}": s for s in e["fig3_2"]["strengths"]},
        "fig3_3": {f"σ² = {number(v)}": v for v in e["fig3_3"]["sigma2s"]},
        "fig3_8": {f"s = {number(s)}": s for s in e["fig3_8"]["strengths"]},
    }, sort_keys=True)


rule claims:
    input:
        metrics=run_files(sorted({n for f in CLAIM_FIGURES for n in figure_runs(f)}), "metrics.csv"),
        distances=run_files(sorted({n for f in CLAIM_FIGURES for n in figure_runs(f)}), "distances.csv"),
        ensembles=rules.ensembles.output.checkpoints,
        peers=rules.peer_ensembles.output.members,
        pairs=rules.peer_ensembles.output.pairs,
    output:
        csv=f"{RESULTS}/claims.csv",
        md=f"{RESULTS}/claims.md",
    params:
        figures=json.dumps(EXPERIMENTS.figure_runs()),
        sweeps=sweep_values(),
        results=RESULTS,
    log:
        f"{RESULTS}/logs/claims.log",
    script:
        "../scripts/claims.py"
