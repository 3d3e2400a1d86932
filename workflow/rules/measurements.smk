# Measurements on stored members (src/distancing/measurements/: one module and registry entry each; never
# retrains): one rule per measurement the config lists under `measurements`, computing its
# tables from the members its entry reads (workflow/scripts/measure.py). Each job's CPU is
# benchmarked (results/benchmarks/measurements/), for benchmarks/pipeline_cost.py.

PIPELINE_TABLES = {"peer_ensembles": rules.peer_ensembles.output.members}  # what a measurement may read


for measurement in MEASURED:

    rule:
        name:
            f"measure_{measurement}"
        input:
            **{name: PIPELINE_TABLES[name] for name in MEASUREMENTS[measurement].read},
            members=run_files(PLAN.measurement_runs(measurement), "members"),
            configs=run_files(PLAN.measurement_runs(measurement), "config"),
        output:
            **PLAN.measurement_tables(measurement),
        params:
            measurement=measurement,
            readings=json_param(PLAN.readings(measurement)),
            settings=json_param(config["measurements"][measurement]),
        threads: config["threads"]
        log:
            f"{RESULTS}/logs/measurements/{measurement}.log",
        benchmark:
            f"{RESULTS}/benchmarks/measurements/{measurement}.tsv"
        script:
            "../scripts/measure.py"
