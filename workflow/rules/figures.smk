# One rule per figure, drawn from CSV files only (plot code never imports torch).
# Each figure's script is its own file, so editing one plot reruns only that plot. The loop
# names the script through params: a directive's value is read when the job runs, after the
# loop has moved on, but params are fixed when the rule is defined. Captions are Jinja
# templates that see the rule's params: each ends with the one settings paragraph. Scripts read the runs'
# files from their named inputs; params.series only says which runs form which series.


for figure in FIGURE_NAMES:

    rule:
        name:
            figure
        input:
            **figure_inputs(figure),
        output:
            png=report(
                f"{FIGURES}/{figure}.png",
                caption=f"../report/{figure}.rst",
                category=FIGURE_TABLE[figure].source.category,
                labels={"figure": figure.replace("fig", "").replace("_", ".")},
            ),
            pdf=f"{FIGURES}/{figure}.pdf",
        params:
            series=figure_series(figure),
            caption=caption_tail(PLAN, figure),  # the caption's settings paragraph
            script=figure,
        log:
            f"{RESULTS}/logs/figures/{figure}.log",
        benchmark:
            f"{RESULTS}/benchmarks/figures/{figure}.tsv"
        script:
            "../scripts/{params.script}.py"
