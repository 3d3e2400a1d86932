"""The benchmarks' own logic, on tables made here (the benchmarks themselves are run by hand)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import machine  # noqa: E402
import matched_step  # noqa: E402
import pipeline_cost  # noqa: E402
import power_planning  # noqa: E402
import process_cost  # noqa: E402
import scheduling_cost  # noqa: E402
import seed_robustness  # noqa: E402


def claims(verdicts: dict[str, tuple[str, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame([{"claim": claim, "figure": "fig3_7", "panel": "", "metric": "accuracy", "verdict": verdict,
                          "verdict_holm": verdict, "replication": replication, "fragile": fragile}
                         for claim, (verdict, replication, fragile) in verdicts.items()])


def test_seed_robustness_lists_every_change_of_category_and_counts_the_fragile_ones():
    first = claims({"same": ("holds: up", 0.95, False), "lost": ("holds: up", 0.6, True),
                    "gained": ("inconclusive", 0.7, False), "flipped": ("does not hold: down", 0.55, True),
                    "gated": ("inconclusive: needs 9 seeds", 0.8, False)})
    second = claims({"same": ("holds: up", 0.9, False), "lost": ("untestable in this profile: control x", 0.7, False),
                     "gained": ("does not hold: down", 0.6, True), "flipped": ("holds: up", 0.6, True),
                     "gated": ("untestable in this profile: control x", 0.8, False)})
    text = seed_robustness.compare(first, second, ("A", "B"))
    assert ("5 claims × panels: 1 decided in both, the same way; 2 decided in one set only; 1 decided in neither; "
            "1 decided the opposite way.") in text
    assert "Verdicts that change category (3; 2 of them marked fragile in A, which marked 2 of its 3 decided " \
           "verdicts fragile):" in text
    assert "- lost: holds → undecided *fragile*" in text and "- gained: undecided → does not hold" in text
    assert "- flipped: does not hold → holds *fragile*" in text
    assert "gated:" not in text.split("change category")[1]  # undecided both times: no change of category


def test_seed_robustness_puts_the_primary_family_first_with_its_categories_on_both_sets():
    first = claims({"beats": ("holds: up", 0.9, False), "adds": ("no effect worth detecting: within ±1 point", 0.9,
                                                                  False), "other": ("holds: up", 0.9, False)})
    second = claims({"beats": ("holds: up", 0.9, False), "adds": ("inconclusive", 0.7, False),
                     "other": ("holds: up", 0.9, False)})
    for table in (first, second):
        table["family"] = ["primary", "primary", "secondary"]
        table["size"] = ["at least 1 point", "smaller than 1 point", ""]
        table["panel"] = ["mobilenetv2", "resnet", ""]
        table["claimed"] = ["beats, in accuracy", "adds, in accuracy", "other"]
        table[["mean", "ci95_low", "ci95_high", "n", "effect"]] = 1.0, 0.5, 1.5, 20, 1.0
        table[["unit", "also_on"]] = "points", ""
    text = seed_robustness.primary(first, second, ("A", "B"))
    assert "| beats | mobilenetv2 | holds: up | at least 1 point | holds: up | at least 1 point | yes |" in text
    assert "| adds | resnet | no effect worth detecting: within ±1 point | smaller than 1 point | inconclusive | " \
           "smaller than 1 point | no |" in text
    assert "| other |" not in text and "1 of 2 primary comparisons in the same family-wise category." in text
    assert text.endswith("- A: So, at this budget, distancing is worth it on mobilenetv2 (accuracy); not worth it on "
                         "resnet (accuracy).\n- B: So, at this budget, distancing is worth it on mobilenetv2 "
                         "(accuracy); undecided on resnet (accuracy).")


def test_power_planning_plans_each_primary_comparison_from_the_upper_end_of_its_spread():
    """The seeds that decide a comparison either way come from the upper end of its spread's
    one-sided 95 % interval; the candidate the distancing ensemble leads least is the strongest."""
    from scipy import stats

    from distancing.claims.inference import sd_upper, seeds_to_decide

    values = {"beats": [1.0, 2.0, 3.0, 2.0], "candidate_fge_accuracy": [2.0, 2.5, 1.5, 2.0],
              "candidate_function_accuracy": [0.5, -0.5, 1.5, 0.5]}
    table = pd.DataFrame([{"claim": claim, "statistic": "", "panel": "mobilenetv2", "metric": "accuracy",
                           "effect": 1.0, "values": " ".join(map(str, v))} for claim, v in values.items()])
    table.loc[0, "statistic"] = "twin_statistic"  # the twin: a primary row already
    sd = float(pd.Series(values["beats"]).std())
    assert sd_upper(sd, 4) == pytest.approx(sd * (3 / stats.chi2.ppf(0.05, 3)) ** 0.5, rel=1e-12)
    text = power_planning.plan(table, {"beats"}, {("peers_distancing_vs_snapshot", "mobilenetv2"): "twin_statistic"})
    assert "| accuracy | mobilenetv2 | snapshot | +2 | " in text  # the twin ranked among the candidates, its own row
    assert f"| beats | mobilenetv2 | accuracy | 4 | {sd:.3g} | {sd_upper(sd, 4):.3g} | 1 points | " \
           f"{seeds_to_decide(sd_upper(sd, 4), 1.0)} |" in text
    assert ("Strongest alternative in accuracy on mobilenetv2: function (the distancing ensemble leads it least, "
            "by +0.5).") in text


def test_seeds_to_decide_cover_an_effect_and_a_powered_null():
    """At the seeds planned, a true effect of δ is detected with power 0.8 (the MDE) and a true
    zero falls within ±δ by two one-sided tests with power 0.8 (simulated here)."""
    import numpy as np

    from distancing.claims.inference import equivalence_p, minimum_detectable_effect, seeds_to_decide

    sd, effect = 0.8, 1.0
    n = seeds_to_decide(sd, effect)
    spread = np.linspace(-1, 1, n)
    assert minimum_detectable_effect(spread * sd / np.std(spread, ddof=1)) <= effect
    rng = np.random.default_rng(1)
    nulls = [equivalence_p(rng.normal(0.0, sd, n), effect) < 0.05 for _ in range(4000)]
    assert np.mean(nulls) >= 0.8
    fewer = [equivalence_p(rng.normal(0.0, sd, n - 3), effect) < 0.05 for _ in range(4000)]
    assert np.mean(fewer) < np.mean(nulls)


def test_power_planning_runs_the_primary_family_its_candidates_and_what_they_rest_on():
    from distancing.plan import load_profiles

    config = load_profiles(default=ROOT / "config.yaml")
    planned = power_planning.calibration_claims(config, 20)
    primary = {name for name, spec in config["claims"].items() if spec.get("family") == "primary"}
    assert primary <= set(planned) and {"control_snapshot_beats_single", "control_deep_beats_single"} <= set(planned)
    assert {f"candidate_{key}_accuracy" for key in ("fge", "function", "average_snapshot")} <= set(planned)
    assert "candidate_snapshot_accuracy" not in planned  # the twin: Figure 3.7's primary row already
    assert not {"sgdr_beats_fixed_lr", "distance_grows", "hill_crosses_a_barrier"} & set(planned)
    assert all(spec["seeds"] == 20 for spec in planned.values())
    assert {name for name, spec in planned.items() if spec.get("family") == "primary"} == primary
    alone = power_planning.calibration_claims(config, 20, candidates=False)  # seed_robustness.py --primary
    assert primary <= set(alone) <= set(planned) and not any(name.startswith("candidate_") for name in alone)
    assert "control_fge_beats_single" in planned and "control_fge_beats_single" not in alone  # a candidate's only


def test_matched_step_chooses_the_rate_whose_distance_is_nearest_the_hills_in_ratio():
    """Per model the rate whose mean distance to the next member is nearest the hill's in ratio
    (2.0 against 8: a ratio of 4; 20 against 8: 2.5, nearer), from the barriers' pairs."""
    hill = {("m", "distancing", "33-39"): [7.0, 9.0], ("m", "distancing", "33-45"): [11.0, 13.0]}
    results = {0.1: {**hill, ("m", "matched", "33-39"): [2.0, 2.0], ("m", "matched", "33-45"): [3.0, 3.0]},
               0.2: {**hill, ("m", "matched", "33-39"): [20.0, 20.0], ("m", "matched", "33-45"): [25.0, 25.0]}}
    lines = matched_step.table(results).splitlines()
    assert "| m | distancing | (the hill's) | 8.00 | 12.00 |" in lines
    assert "| m | matched | 0.2 | 20.00 | 25.00 |" in lines
    assert lines[-1] == "| m | **chosen** | **0.2** | | |"


def test_matched_step_trains_the_hills_runs_and_each_rates_step_on_the_calibration_seeds(tmp_path):
    """Each rate's config keeps the profile and puts the calibration seeds and the rate in;
    the members it needs are the hill's and the matched step's of those seeds only."""
    config = matched_step.configure(tmp_path, [1000, 1001], 0.3)
    assert config["seeds"] == [1000, 1001] and config["max_claim_seeds"] == 2
    assert config["experiments"]["basins"]["matched_lr"] == {"mobilenetv2": 0.3, "resnet": 0.3}
    _, readings = matched_step.members_needed(config)
    assert {r["about"]["series"] for r in readings} == {"distancing", "matched"}
    assert {r["about"]["seed"] for r in readings} == {1000, 1001}


def test_the_machine_line_names_the_cpu_its_native_kernels_and_a_reference_rate():
    """The line every benchmark prints above its table: torch's and numpy's native kernels are
    asked without the portable pins (on an AVX-512 CPU, AVX-512, although this process is pinned)."""
    import re

    line = machine.note()
    assert line.startswith(f"Machine: {machine.cpu_model()}, ")
    found = re.search(r"native kernels: torch (\w+), numpy (\w+); .* ([0-9.]+) steps per CPU-second$", line)
    assert found and float(found[3]) > 0
    if " avx512f " in Path("/proc/cpuinfo").read_text():
        assert (found[1], found[2]) == ("AVX512", "X86_V4")


BENCHMARK_HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def benchmark_file(path: Path, wall: float, cpu: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BENCHMARK_HEADER + f"{wall}\t0:00:01\t1\t1\t1\t1\t0\t0\t50\t{cpu}\n")


def test_pipeline_cost_splits_the_pipeline_by_phase_job_and_snakemakes_own_process(tmp_path):
    """Every job is a row, from its log's CPU-seconds at exit where it wrote them (usage.py), else
    from its sampled benchmark; the server's own process is its CPU at exit less its runs and
    compiles; "the rest" is the pipeline's CPU less every part counted."""
    import yaml

    from distancing import usage

    run = tmp_path / "runs" / "mobilenetv2-seed0"
    run.mkdir(parents=True)
    (run / "timing.csv").write_text("phase,cpu_seconds,wall_seconds,count\nstartup,1.0,2.0,1\n"
                                    "train_steps,40.0,50.0,10\nevaluation,20.0,25.0,12\nwrites,3.0,4.0,11\n"
                                    "total,65.0,82.0,1\ncompiled_graphs,0.0,0.0,0\n")
    (run / "config.yaml").write_text(yaml.safe_dump({"data": {"train_samples": 1000}, "model": {"name": "mobilenetv2"},
                                                     "train": {"epochs": 10, "batch_size": 128}}))
    benchmark_file(tmp_path / "benchmarks" / "train" / "mobilenetv2-seed0.tsv", 83.0, 0.5)
    benchmark_file(tmp_path / "benchmarks" / "measurements" / "barriers.tsv", 30.0, 25.0)
    benchmark_file(tmp_path / "benchmarks" / "claims.tsv", 4.0, 3.5)
    benchmark_file(tmp_path / "benchmarks" / "ensembles.tsv", 9.0, 8.0)
    benchmark_file(tmp_path / "benchmarks" / "figures" / "fig3_1.tsv", 2.0, 1.5)
    benchmark_file(tmp_path / "benchmarks" / "figures" / "fig3_2.tsv", 2.5, 2.0)
    (tmp_path / "logs" / "measurements").mkdir(parents=True)
    (tmp_path / "logs" / "measurements" / "barriers.log").write_text(
        "INFO lines: 4 rows\nINFO " + usage.LINE.format(own=26.0, waited=3.0) + "\n")  # the benchmark saw 25.0
    (tmp_path / "logs" / "ensembles.log").write_text("INFO " + usage.LINE.format(own=8.5, waited=0.0) + "\n")
    (tmp_path / "logs" / "training_server.log").write_text(
        "compiled the steps of runs like results/runs/a in 12.5 CPU-s, its compiler's included\n"
        + usage.LINE.format(own=16.0, waited=65.5) + "\n")
    found = pipeline_cost.analyse(tmp_path)
    table = pipeline_cost.report(found, wall=200.0, cpu=150.0, snakemake_cpu=6.0)
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1] for line in table.splitlines()
            if line.startswith("| ") and not line.startswith("| what")}
    assert rows["measurement on stored members: barriers (its log at exit; 3.0 of it in the processes it "
                "waited for)"] == "29.0"
    assert rows["job: ensembles (its log at exit; 0.0 of it in the processes it waited for)"] == "8.5"
    assert rows["job: claims (Snakemake's benchmark)"] == "3.5"
    assert rows["jobs: the 2 figures (Snakemake's benchmarks)"] == "3.5"
    assert rows["jobs: the 1 training jobs' shells and `distancing train` clients (their benchmarks)"] == "0.5"
    assert rows["Snakemake itself: scheduling, bookkeeping, benchmarking its jobs (its own process)"] == "6.0"
    server = 16.0 + 65.5 - 65.0 - 12.5
    assert rows["the training server's own process outside its compiles: importing torch, serving, forking (its "
                "log at exit, less every run's timing.csv and its compiles)"] == f"{server:.1f}"
    rest = 150.0 - 65.0 - 29.0 - 12.5 - server - (3.5 + 8.5 + 3.5 + 0.5) - 6.0
    assert rows[pipeline_cost.REST] == f"{rest:.1f}"
    assert "**overhead ratio** = pipeline CPU ÷ training-step CPU = 150.0 ÷ 40.0 = **3.750**" in table


def accounting_record(pid: int, ppid: int, command: str, ticks: tuple[int, int], started: int = 1000,
                      forked: bool = False) -> bytes:
    """One struct acct_v3 as the kernel writes it; ``ticks`` (user, system) already comp_t-encoded."""
    return process_cost.RECORD.pack(int(forked), 3, 0, 0, 0, 0, pid, ppid, started, 1.0, *ticks, 0, 0, 0, 0, 0, 0,
                                    command.encode())


def test_process_cost_splits_each_snakemake_tree_by_role_from_the_kernels_records(tmp_path):
    """The kernel's records of a pipeline: Snakemake, its training server, a forked run, the server's
    and a script job's C++ compiler, a training job's shell and client, and a process outside."""
    big = (1 << 13) | 2500  # comp_t: mantissa 2500, one base-8 exponent step: 20000 ticks
    records = [accounting_record(100, 1, "snakemake", (300, 20)),
               accounting_record(101, 100, "distancing", (700, 50)),
               accounting_record(102, 101, "distancing", (big, 100), forked=True),
               accounting_record(103, 101, "g++", (5, 1), started=1001),
               accounting_record(104, 103, "cc1plus", (900, 40), started=1000),  # started rounded a second early
               accounting_record(105, 100, "python3", (4000, 200)),
               accounting_record(106, 105, "g++", (2, 0)),
               accounting_record(107, 106, "cc1plus", (600, 10)),
               accounting_record(108, 100, "bash", (1, 0)),
               accounting_record(109, 108, "distancing", (30, 5)),
               accounting_record(110, 1, "python3", (999, 0))]  # not the pipeline's
    path = tmp_path / "pacct"
    path.write_bytes(b"".join(records))
    roles = process_cost.split(process_cost.read(path))
    assert list(roles) == [100]
    cpu = {role: round(value[0], 2) for role, value in roles[100].items()}
    assert cpu == {"Snakemake itself": 3.2, "the training server's own process": 7.5,
                   "runs (the server's forked children)": 201.0,
                   "the server's C++ compiler (g++, cc1plus, as, ld)": 9.46,
                   "script jobs (their Python processes)": 42.0,
                   "script jobs' child processes (the C++ compiler)": 6.12,
                   "training jobs' shells and `distancing train` clients": 0.36,
                   "other processes of the tree": 0.0}
    table = process_cost.report(process_cost.read(path))
    assert "Snakemake process 100: 269.6 CPU-seconds in its tree" in table
    path.write_bytes(b"\x00\x02" + records[0][2:])
    with pytest.raises(SystemExit, match="record 0 is acct version 2, not 3"):
        process_cost.read(path)


def test_scheduling_cost_counts_a_round_per_job_only_where_the_pipeline_schedules_when_jobs_end(tmp_path):
    """Three jobs on one core: Snakemake's timer adds rounds while two wait; the pipeline's
    workflow/rules/scheduling.smk leaves one round per job started (the three and `all`), unless
    the command line asks for a pace of its own."""
    for folder in (tmp_path / "default", tmp_path / "asked"):
        folder.mkdir()
        scheduling_cost.write_snakefile(folder, seconds=1.5)
    rounds = {variant: scheduling_cost.run(tmp_path / "default", 3, variant, 1)[2]
              for variant in scheduling_cost.VARIANTS}
    assert rounds["when_jobs_end"] == 4 and rounds["with_timer_rounds"] > 4, rounds
    asked = scheduling_cost.run(tmp_path / "asked", 3, "when_jobs_end", 1, "--max-jobs-per-timespan", "50/1s")[2]
    assert asked > 4, asked
