# The results page: docs/results.md written from the claims table, the captions and the figures
# (never typed), with the figures it shows copied beside it, so that the repository's page is the
# output of a run and anyone can diff it against their own.


rule results_page:
    input:
        claims=rules.claims.output.csv,
        figures=expand(f"{FIGURES}/{{figure}}.png", figure=FIGURE_NAMES),
        captions=expand(os.path.join(workflow.basedir, "workflow/report/{figure}.rst"), figure=FIGURE_NAMES),
    output:
        page=f"{DOCS}/results.md",
        figures=expand(f"{DOCS}/figures/{{figure}}.png", figure=FIGURE_NAMES),
    params:
        captions=json_param({figure: caption_tail(PLAN, figure) for figure in FIGURE_NAMES}),
        regime=regime(PLAN),
    log:
        f"{RESULTS}/logs/results_page.log",
    benchmark:
        f"{RESULTS}/benchmarks/results_page.tsv"
    script:
        "../scripts/results_page.py"
