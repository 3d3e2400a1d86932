# One rule per figure, drawn from CSV files only (plot code never imports torch).
# Each figure's script is its own file, so editing one plot reruns only that plot. The loop
# names the script through params: a directive's value is read when the job runs, after the
# loop has moved on, but params are fixed when the rule is defined.

ANALYTIC = {"fig0_1", "fig2_1"}
FROM_ENSEMBLES = {"fig3_7", "fig3_8"}
FROM_PEERS = {"peers_members", "peers_diversity", "peers_weights"}


def figure_inputs(figure):
    # The script is an input too, so that touching it (not only editing it) redraws the figure.
    inputs = {"script": os.path.join(workflow.basedir, f"workflow/scripts/{figure}.py")}
    if figure in ANALYTIC:
        return inputs
    if figure in FROM_PEERS:
        return inputs | {"members": rules.peer_ensembles.output.members, "pairs": rules.peer_ensembles.output.pairs}
    names = figure_runs(figure)
    inputs |= {"metrics": run_files(names, "metrics.csv"), "distances": run_files(names, "distances.csv")}
    if figure in FROM_ENSEMBLES:
        inputs["ensembles"] = rules.ensembles.output.checkpoints
    return inputs


for figure in FIGURE_NAMES:

    rule:
        name:
            figure
        input:
            **figure_inputs(figure),
        output:
            png=report(f"{FIGURES}/{figure}.png", caption=f"../report/{figure}.rst",
                       category="Peers" if figure in FROM_PEERS else "Figures",
                       labels={"figure": figure.replace("fig", "").replace("_", ".")}),
            pdf=f"{FIGURES}/{figure}.pdf",
        params:
            series="{}" if figure in ANALYTIC | FROM_PEERS else figure_series(figure),
            results=RESULTS,
            script=figure,
        log:
            f"{RESULTS}/logs/figures/{figure}.log",
        script:
            "../scripts/{params.script}.py"
