# Training: one rule, one run per job; a run started from another (init.from) waits for the
# parent's saved states, and a branch, whose first epochs its trunk trains, for the state the
# trunk kept (src/distancing/branching.py). The resume state lives under state/, outside the
# declared outputs (Snakemake deletes those of an interrupted job), so a killed job started
# again continues from its last finished epoch.


rule prepare_data:
    output:
        touch(f"{DATA['root']}/{DATA['dataset']}.ready"),
    params:
        dataset=DATA["dataset"],
        root=lambda wildcards, output: os.path.dirname(output[0]),
        held_out=held_out_arguments(DATA),
    log:
        f"{RESULTS}/logs/prepare_data.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare_data.tsv"
    shell:
        "distancing prepare {params.dataset} --root {params.root} {params.held_out} > {log} 2>&1"


rule train:
    input:
        data=rules.prepare_data.output,
        parent=parent_states,
        trunk=trunk_states,
    output:
        **{kind: run_file("{run}", kind) for kind in RUN_FILES},
    wildcard_constraints:
        run="[^/]+",
    params:
        settings=lambda wildcards: run_settings(wildcards.run),
        out=lambda wildcards, output: os.path.dirname(output.metrics),
        state=lambda wildcards: f"{RESULTS}/state/{wildcards.run}.pt",
        branch=branch_arguments,
        device=config["device"],
        gpus=config["gpus"],
    threads: config["threads"]
    resources:
        mem_mb=config["resources"]["mem_mb"],
        runtime=config["resources"]["runtime"],  # minutes
        gpu=1 if config["gpus"] else 0,
    log:
        f"{RESULTS}/logs/train/{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{run}}.tsv"
    shell:
        "distancing train {params.settings} --out {params.out} --state {params.state} {params.branch}"
        " --threads {threads} --device {params.device} --gpus {params.gpus} --discard-stale-state > {log} 2>&1"
