"""The Snakemake pipeline for real: profiles through Snakemake's dry run, a bad config refused
before any job, and the smoke profile run (every figure and CSV, the report, reruns, and a job
killed mid-run). What the plan decides without running anything is tests/test_plan.py."""

import csv
import filecmp
import hashlib
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from distancing import usage
from distancing.figures import FIGURE_TABLE
from distancing.files import RUN_FILES
from distancing.plan import Plan, check_config, cli_settings, load_profiles

from . import toy_measurement, toy_peer  # noqa: F401  (register the plugins the smoke run uses)
from .test_plan import ROOT, SCHEMA, smoke_config

FIGURES = list(FIGURE_TABLE)  # every registered figure is rendered and checked


def snakemake(workdir: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Snakemake on a copied pipeline; the repository on PYTHONPATH, so its jobs find the smoke
    run's plugins (tests/toy_peer.py, tests/toy_measurement.py) as a researcher's own modules."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(workdir / "Snakefile"),
                           "--directory", str(workdir), *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def copy_pipeline(target: Path, data_root: Path, **changes) -> Path:
    """The pipeline's files in a fresh directory (so a test may edit them), with a smoke config."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Snakefile", target)
    shutil.copytree(ROOT / "workflow", target / "workflow")
    shutil.copytree(ROOT / "profiles", target / "profiles")
    shutil.copytree(ROOT / "configs", target / "configs")
    config = smoke_config()
    config["base"]["data"]["root"] = str(data_root)
    for key, value in changes.items():
        config[key] = value
    (target / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return target


def png_size(path: Path) -> tuple[int, int]:
    with open(path, "rb") as f:
        header = f.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_paper_profiles_pass_the_schema_and_dry_run_locally_and_on_slurm(tmp_path):
    check_config(load_profiles(ROOT / "configs" / "paper.yaml", default=ROOT / "config.yaml"), str(SCHEMA))
    for configs in (["configs/paper.yaml"], ["configs/paper.yaml", "configs/paper-cifar100.yaml"]):
        for profile in ([], ["--profile", str(ROOT / "profiles" / "slurm")]):
            result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "figures", "--configfile", *configs,
                                     *profile], cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stderr[-3000:]
            stats = job_stats(result.stdout + result.stderr)
            assert all(stats.get(f) == 1 for f in FIGURES) and stats["train"] > 50
    resolved = Plan(load_profiles(ROOT / "configs" / "paper.yaml", default=ROOT / "config.yaml")).runs()
    some = resolved["resnet18-nohill-ck50+100+150-seed0"]
    assert some["data"]["dataset"] == "cifar10" and some["data"]["train_samples"] is None
    assert some["train"]["precision"] == "bf16" and some["train"]["epochs"] == 200
    assert some["snapshots"] == [50, 100, 150]  # checkpoints at SGDR cycle ends


def test_snakemake_refuses_a_bad_config_before_any_job(tmp_path, data_root):
    workdir = copy_pipeline(tmp_path / "p", data_root, threads="two")
    result = snakemake(workdir, "--cores", "1", "figures")
    assert result.returncode != 0
    assert "invalid config: threads: 'two' is not of type 'integer'" in result.stderr
    assert not (workdir / "results-smoke").exists()


# ---------------------------------------------------------------- the smoke profile, for real


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, data_root):
    """The smoke profile through the cluster-generic executor: every job is a separate
    background process (profiles/local-cluster/submit.sh) sharing nothing but files."""
    config = smoke_config()
    toy = {"toy_pair_beats_single": {"statistic": "peers_toy_pair_vs_single", "metric": "accuracy",
                                     "direction": "greater", "effect": 1.0, "seeds": 2},
           "toy_hill_changes_norm": {"statistic": "final_norm_hill_vs_twin", "direction": "differs", "seeds": 2}}
    workdir = copy_pipeline(tmp_path_factory.mktemp("pipeline"), data_root,
                            plugins=["tests.toy_peer", "tests.toy_measurement"],
                            peers=dict(config["peers"], methods=[*config["peers"]["methods"], "toy_pair"]),
                            measurements={**config["measurements"], "member_norms": {}},
                            claims={**config["claims"], **toy})  # a plugin peer and measurement, through every rule
    started = time.perf_counter()
    result = snakemake(workdir, "--profile", str(workdir / "profiles" / "local-cluster"), "figures")
    assert result.returncode == 0, result.stderr[-5000:]
    assert "Using profiles" in result.stderr and "local-cluster" in result.stderr
    return workdir, time.perf_counter() - started


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_smoke_pipeline_renders_every_figure(smoke_run):
    workdir, _ = smoke_run
    for figure in FIGURES:
        png, pdf = workdir / "figures-smoke" / f"{figure}.png", workdir / "figures-smoke" / f"{figure}.pdf"
        width, height = png_size(png)
        assert width >= 600 and height >= 400, figure
        assert png.stat().st_size > 20_000 and pdf.read_bytes()[:5] == b"%PDF-"
        log = (workdir / "results-smoke" / "logs" / "figures" / f"{figure}.log").read_text()
        assert f"wrote figures-smoke/{figure}.png and figures-smoke/{figure}.pdf" in log, log
    # Every script job's log ends with its CPU-seconds (usage.py), what pipeline_cost reads.
    for log in (workdir / "results-smoke" / "logs").rglob("*.log"):
        if "train" not in log.parts and log.name not in ("prepare_data.log", "training_server.log"):
            assert usage.read(log) is not None, log


def test_smoke_pipeline_trains_each_needed_run_once(smoke_run, data_root):
    workdir, _ = smoke_run
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    expected = Plan(config).runs()
    runs = workdir / "results-smoke" / "runs"
    assert {p.name for p in runs.iterdir()} == set(expected)
    for name, run_config in expected.items():
        metrics = read_csv(runs / name / "metrics.csv")
        assert len(metrics) == run_config["train"]["epochs"]
        assert list(metrics[0]) == ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "hill",
                                    "checkpoints", "status"]
        assert (workdir / "results-smoke" / "logs" / "train" / f"{name}.log").exists()
        assert (workdir / "results-smoke" / "benchmarks" / "train" / f"{name}.tsv").exists()
    assert not list((workdir / "results-smoke" / "state").glob("*.pt"))  # resume states are cleaned up


def test_smoke_pipeline_writes_ensembles_and_claims(smoke_run):
    workdir, _ = smoke_run
    results = workdir / "results-smoke"
    checkpoints = read_csv(results / "ensembles" / "checkpoints.csv")
    assert {"run", "group", "seed", "members", "accuracy", "nll", "nll_calibrated", "best_member_accuracy",
            "best_member_nll_calibrated", "ece", "disagreement", "weight_distance"} <= set(checkpoints[0])
    # A run of 6 epochs with checkpoints [2, 4] grows to three members: final, epoch 4, epoch 2.
    rows = [r for r in checkpoints if r["run"] == "mobilenetv2-s8-sigma2_1e-4-ck2+4-seed0"]
    assert [r["members"] for r in rows] == ["1", "2", "3"] and rows[-1]["member_epochs"] == "6+4+2"
    assert not (results / "ensembles" / "seeds.csv").exists()
    peers = read_csv(results / "ensembles" / "peers.csv")
    methods = list(dict.fromkeys(r["method"] for r in peers))
    assert methods == yaml.safe_load((workdir / "config.yaml").read_text())["peers"]["methods"]
    models = yaml.safe_load((workdir / "config.yaml").read_text())["peers"]["models"]
    assert list(dict.fromkeys(r["model"] for r in peers)) == models == ["mobilenetv2", "resnet"]  # each its own
    assert {(r["model"], r["method"]) for r in peers} == {(m, k) for m in models for k in methods}
    assert {"fge", "toy_pair"} <= set(methods)
    assert {r["budget"] for r in peers if r["method"] == "toy_pair"} == {"6"}  # the plugin peer, built and counted
    assert {"label", "budget", "replicate", "members", "accuracy", "nll", "nll_calibrated", "ece", "disagreement",
            "weight_distance"} <= set(peers[0])
    assert {r["members"] for r in peers if r["method"].startswith("deep") or r["method"] == "fge"} == {"1", "2"}
    assert {r["budget"] for r in peers if r["method"] == "fge"} == {"6"}  # 2 epochs of its parent + 4 of its own
    pairs = read_csv(results / "ensembles" / "peer_pairs.csv")
    assert {"method", "replicate", "disagreement", "weight_distance", "pair_accuracy"} <= set(pairs[0])
    assert all(float(r["weight_distance"]) > 0 for r in pairs)
    scores = read_csv(results / "ensembles" / "peer_member_scores.csv")
    assert {"method", "label", "budget", "replicate", "member", "accuracy", "nll_calibrated"} <= set(scores[0])
    largest = {(r["model"], r["method"], r["replicate"]): r["members"] for r in peers}  # grown member by member
    assert Counter((r["model"], r["method"], r["replicate"]) for r in scores) == {
        key: int(k) for key, k in largest.items()}
    claims = read_csv(results / "claims.csv")
    # The function hill's members against the weight hill's: per model and replicate, from the pairs table.
    mean_pairs = {(p["model"], p["method"], p["replicate"]): [] for p in pairs}
    for p in pairs:
        mean_pairs[(p["model"], p["method"], p["replicate"])].append(float(p["disagreement"]))
    rows = [r for r in claims if r["claim"] == "function_members_disagree_more"]
    assert [r["panel"] for r in rows] == models
    for row in rows:
        want = [100 * (np.mean(mean_pairs[(row["panel"], "function", r)])
                       - np.mean(mean_pairs[(row["panel"], "distancing", r)])) for r in ("0", "1")]
        assert [float(v) for v in row["values"].split()] == pytest.approx(want, rel=1e-3, abs=1e-9)
        assert row["figure"] == "peers_spaces"
    declared = yaml.safe_load((workdir / "config.yaml").read_text())["claims"]
    assert {r["claim"] for r in claims} == set(declared)
    assert {"claim", "figure", "panel", "statistic", "metric", "claimed", "direction", "margin", "effect", "n",
            "mean", "ci95_low", "ci95_high", "mde", "seeds_needed", "p", "p_holm", "verdict", "note",
            "verdict_holm", "replication", "fragile", "seeds_robust", "family", "size", "p_null",
            "also_on"} <= set(claims[0])
    # One row per comparison: Figure 3.7's panel of each model the peers train is their comparison too.
    assert {(r["panel"], r["also_on"]) for r in claims if r["claim"] == "hill_improves_ensemble"} == {
        ("mobilenetv2", "peers_members"), ("resnet", "peers_members")}
    assert {r["family"] for r in claims if r["claim"].startswith("control_")} == {""}
    assert {r["family"] for r in claims if r["claim"].startswith("hill_improves_ensemble")} == {"primary"}
    assert {(r["claim"], r["panel"]) for r in claims if r["claim"] == "ensemble_beats_single"} == {
        ("ensemble_beats_single", "mobilenetv2"), ("ensemble_beats_single", "resnet")}  # one row per panel
    words = ("holds: ", "does not hold: ", "no effect worth detecting: ", "inconclusive",
             "untestable in this profile: ")
    assert all(r["verdict"].startswith(words) and r["verdict_holm"].startswith(words) for r in claims)
    verdicts = {(r["statistic"], r["metric"], r["panel"]): r["verdict"] for r in claims}
    verdicts |= {(r["statistic"], r["metric"], ""): r["verdict"] for r in claims if r["panel"] == ""}
    # A control that does not hold gates only an undecided claim of the same metric: the hill against one
    # network rests on the snapshot control, the hill against its twin on ensembling helping at all, each
    # read on the claim's own panel (model).
    for statistic, control in (("ensemble_vs_single", "snapshot_vs_single"),
                               ("ensemble_vs_no_hill", "peers_deep_m_budget_vs_single")):
        for r in (r for r in claims if r["statistic"] == statistic):
            held = verdicts.get((control, r["metric"], r["panel"])) or verdicts[(control, r["metric"], "")]
            powered_null = r["p_null"] != "nan" and float(r["p_null"]) < 0.05  # decided too (claims/verdicts.py)
            decided = float(r["ci95_low"]) > 0 or float(r["ci95_high"]) < 0 or powered_null
            assert r["verdict"].startswith("untestable") == (not held.startswith("holds") and not decided), r
            assert (control in r["note"]) == (not held.startswith("holds") and decided), r
    for r in claims:  # each verdict's replication, from its own t statistic (claims.same_verdict_probability)
        if r["n"] == "2" and r["mean"] != "nan":
            assert 0 <= float(r["replication"]) <= 1 and float(r["seeds_robust"]) >= 2
            assert (r["fragile"] == "True") == (r["verdict"].startswith(("holds", "does not hold", "no effect"))
                                                and float(r["replication"]) < 0.8)
    for r in claims:  # Holm never decides more than the claim's own interval
        if r["verdict_holm"].startswith(("holds", "does not hold")):
            assert r["verdict_holm"] == r["verdict"] and float(r["p_holm"]) < 0.05
        if r["verdict_holm"].startswith("no effect worth detecting"):  # its own two one-sided tests pass too
            assert float(r["p_null"]) < 0.05
    for r in claims:
        if r["mean"] != "nan" and r["n"] != "0":
            assert float(r["ci95_low"]) <= float(r["mean"]) <= float(r["ci95_high"])
            # Two seeds; independent networks pair seeds off, so two seeds make one pair.
            assert int(r["n"]) == (1 if "independent" in r["statistic"] else 2) and float(r["mde"]) >= 0
    assert "| figure | claim |" in (results / "claims.md").read_text()
    # The results page: every figure, copied beside it, with its caption and its claims' rows.
    page = (workdir / "results-smoke" / "docs" / "results.md").read_text()
    for figure in FIGURES:
        assert f"](figures/{figure}.png)" in page
        copy = workdir / "results-smoke" / "docs" / "figures" / f"{figure}.png"
        assert copy.read_bytes() == (workdir / "figures-smoke" / f"{figure}.png").read_bytes()
    assert "### Figure 3.7" in page and "{{" not in page and "snakemake.params" not in page
    for r in claims:
        assert f"| `{r['claim']}` | {r['panel']} | {r['claimed']} | {r['n']} |" in page, r["claim"]
    assert not (workdir / "docs" / "results.md").exists()  # the smoke profile never writes the repository's page
    # Figure 1.1 draws the learning rate of every step: one row per optimizer step.
    run = Plan(yaml.safe_load((workdir / "config.yaml").read_text())).figure_runs("fig1_1")
    name = run["fig1_1"]["series"]["sgdr"]["runs"][0]
    steps = read_csv(results / "runs" / name / "learning_rates.csv")
    assert len(steps) == 6 * 4 and [r["epoch"] for r in steps[:5]] == ["1", "1", "1", "1", "2"]  # 256 / 64
    assert float(steps[8]["lr"]) == pytest.approx(0.05)  # the restart after 2 epochs


def test_smoke_barriers_read_the_stored_members_of_the_pairs_the_plan_declares(smoke_run):
    """barriers.csv has one row per declared pair; each barrier is the path's (paths.csv) largest
    excess over the blend of its endpoints, and the ends' own values are the path's ends; the
    hill's path and its twin's start at the same network (they share the checkpoint's bytes);
    the weight distance is the members' own; the claims read these barriers, per kind of pair."""
    from distancing.basins import barrier
    from distancing.members import load_members

    workdir, _ = smoke_run
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    results = workdir / "results-smoke"
    barriers = read_csv(results / "measurements" / "barriers" / "barriers.csv")
    paths = read_csv(results / "measurements" / "barriers" / "paths.csv")
    declared = Plan(config).readings("barriers")
    assert [(r["panel"], r["series"], int(r["seed"]), r["pair"], [r["a_run"], int(r["a_epoch"])],
             [r["b_run"], int(r["b_epoch"])]) for r in barriers] == [
        (*p["about"].values(), p["members"]["a"], p["members"]["b"]) for p in declared]
    points = config["measurements"]["barriers"]["points"]
    starts = {}
    for r in barriers:
        key = (r["panel"], r["series"], r["seed"], r["pair"])
        path = [q for q in paths if (q["panel"], q["series"], q["seed"], q["pair"]) == key]
        t = [float(q["t"]) for q in path]
        assert t == pytest.approx(list(np.linspace(0, 1, points)))
        for column in ("train_loss", "val_loss", "val_error"):
            assert float(r[f"{column}_barrier"]) == pytest.approx(barrier(t, [float(q[column]) for q in path]))
        for column in ("train_loss", "val_error"):
            assert (r[f"a_{column}"], r[f"b_{column}"]) == (path[0][column], path[-1][column])
        a, b = (load_members(results / "runs" / r[f"{end}_run"] / "members.npz") for end in ("a", "b"))
        vectors = a.weight_vectors()[a.index(int(r["a_epoch"]))], b.weight_vectors()[b.index(int(r["b_epoch"]))]
        assert float(r["weight_distance"]) == pytest.approx(np.linalg.norm(vectors[0].astype(float) - vectors[1]))
        starts[key] = path[0]["train_loss"]
    checkpoint, final = config["distancing"]["checkpoints"][0], config["base"]["train"]["epochs"]
    hills = [key for key in starts if key[1] == "distancing" and key[3].startswith(f"{checkpoint}-")]
    assert hills and all(starts[key] == starts[(key[0], other, *key[2:])] for key in hills
                         for other in ("no_hill", "matched"))  # the distance-matched step starts there too
    by = {(r["panel"], r["series"], r["seed"], r["pair"]): float(r["train_loss_barrier"]) for r in barriers}
    for claim, pair in (("hill_crosses_a_barrier", f"{checkpoint}-{config['distancing']['checkpoints'][1]}"),
                        ("hill_to_final_crosses_a_barrier", f"{checkpoint}-{final}")):
        rows = [r for r in read_csv(results / "claims.csv") if r["claim"] == claim]
        assert {r["panel"] for r in rows} == {"mobilenetv2", "resnet"}
        for row in rows:
            want = [by[(row["panel"], "distancing", seed, pair)] - by[(row["panel"], "no_hill", seed, pair)]
                    for seed in ("0", "1")]
            assert [float(v) for v in row["values"].split()] == pytest.approx(want, rel=1e-3, abs=1e-9)


def test_smoke_aligned_barriers_keep_each_pairs_ends_and_never_move_b_away_from_a(smoke_run):
    """The aligned lines walk the independent pairs and each run's checkpoint → final pair (the
    plan's readings). Reordering b's units changes neither end's function: the ends' training
    loss and error equal the unaligned line's (BatchNorm recomputed on the same inputs). Weight
    matching only accepts a reordering that raises ⟨a, π(b)⟩, so the distance between the ends
    never grows; the page decides the aligned checkpoint → final pairs."""
    workdir, _ = smoke_run
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    results = workdir / "results-smoke" / "measurements"
    aligned = read_csv(results / "aligned_barriers" / "barriers.csv")
    plain = {(r["panel"], r["series"], r["seed"], r["pair"]): r
             for r in read_csv(results / "barriers" / "barriers.csv")}
    assert [(r["panel"], r["series"], int(r["seed"]), r["pair"]) for r in aligned] == [
        tuple(p["about"].values()) for p in Plan(config).readings("aligned_barriers")]
    final = config["base"]["train"]["epochs"]
    assert {r["pair"] for r in aligned} == {f"{config['distancing']['checkpoints'][0]}-{final}", f"{final}-{final}"}
    for r in aligned:
        before = plain[(r["panel"], r["series"], r["seed"], r["pair"])]
        for column in ("a_train_loss", "a_val_error", "b_train_loss", "b_val_error"):
            assert float(r[column]) == pytest.approx(float(before[column]), rel=1e-5, abs=1e-6), column
        assert float(r["distance_before"]) == pytest.approx(float(before["weight_distance"]))
        assert float(r["weight_distance"]) <= float(r["distance_before"]) * (1 + 1e-6)
        assert 0.0 <= float(r["units_moved"]) <= 1.0
    page = (workdir / "results-smoke" / "docs" / "results.md").read_text()
    assert "final member, units aligned by weight matching: the hill's pair is" in page


# Figure 0.1's PNG, rendered by the pipeline with numpy pinned (numerics.NUMPY), with these versions:
# its surface comes from numpy's exp, whose AVX-512 loops give other last bits than the AVX2 ones.
FIG0_1 = {"numpy": "2.4.6", "matplotlib": "3.11.2",
          "sha256": "78674a0832d3d38f2feba0d6ebfe13ca051ecc8aff701445083e2841cf661e57"}


def test_smoke_renders_the_analytic_figure_with_the_committed_bytes(smoke_run):
    """The golden check of one rendered figure: Figure 0.1 computes its surface itself, so its
    bytes depend on numpy's kernels; pinned at AVX2 they are the same on every x86-64 machine
    (on an AVX-512 machine, unpinned, they differ)."""
    import matplotlib

    from distancing.numerics import has_avx2

    versions = {"numpy": np.__version__, "matplotlib": matplotlib.__version__}
    if versions != {key: FIG0_1[key] for key in versions}:
        pytest.skip(f"the hash is of numpy {FIG0_1['numpy']} and matplotlib {FIG0_1['matplotlib']}; here {versions}")
    if not has_avx2():
        pytest.skip("portable numerics pin AVX2 kernels on x86-64 CPUs; this CPU has none to pin")
    workdir, _ = smoke_run
    png = workdir / "figures-smoke" / "fig0_1.png"
    assert hashlib.sha256(png.read_bytes()).hexdigest() == FIG0_1["sha256"]


def test_smoke_member_records_name_every_stored_member_with_the_plans_seed_group_and_roles(smoke_run):
    """members.csv holds one record per member each run stored (members.npz), of the same kind; the
    seed is the run's own and the ensembles table takes seed and group from these records."""
    from distancing.members import load_members

    workdir, _ = smoke_run
    results = workdir / "results-smoke"
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    records = read_csv(results / "members.csv")
    stored = {}
    for run in (results / "runs").iterdir():
        members = load_members(run / "members.npz")
        stored |= {(run.name, str(e)): str(k) for e, k in zip(members.epochs, members.kinds, strict=True)}
        assert all(r["seed"] == str(yaml.safe_load((run / "config.yaml").read_text())["seed"])
                   for r in records if r["run"] == run.name)
    assert {(r["run"], r["epoch"]): r["kind"] for r in records} == stored and len(records) == len(stored)
    for model, peers in Plan(config).peers().items():
        for method, peer in peers.items():
            for replicate, members in enumerate(peer["ensembles"]):
                for run, epochs in members:
                    for epoch in epochs:
                        (record,) = [r for r in records if (r["run"], r["epoch"]) == (run, str(epoch))]
                        assert f"peers:{model}:{method}:{replicate}" in record["roles"].split()
    by_run = {r["run"]: (r["seed"], r["group"]) for r in records}
    for row in read_csv(results / "ensembles" / "checkpoints.csv"):
        assert (row["seed"], row["group"]) == by_run[row["run"]]


def test_smoke_weight_averages_sit_beside_their_ensembles_and_claims_read_them(smoke_run):
    """One averaged network per peer ensemble, of as many members, beside that ensemble's own
    scores from peers.csv; the claims compare the two per replicate."""
    workdir, _ = smoke_run
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    results = workdir / "results-smoke"
    averages = read_csv(results / "measurements" / "averages" / "averages.csv")
    peers = read_csv(results / "ensembles" / "peers.csv")
    full = {}
    for r in peers:
        full[(r["model"], r["method"], r["replicate"])] = r  # rows grow member by member: the last is the full one
    assert {(r["model"], r["method"], r["replicate"]) for r in averages} == set(full)
    for r in averages:
        ensemble = full[(r["model"], r["method"], r["replicate"])]
        assert r["members"] == ensemble["members"]
        assert float(r["ensemble_accuracy"]) == pytest.approx(float(ensemble["accuracy"]))
        assert float(r["ensemble_nll_calibrated"]) == pytest.approx(float(ensemble["nll_calibrated"]))
        assert 0 <= float(r["accuracy"]) <= 1 and float(r["nll_calibrated"]) > 0
    rows = [r for r in read_csv(results / "claims.csv") if r["claim"] == "distancing_average_loses"]
    assert [r["panel"] for r in rows] == config["peers"]["models"]  # each model its own row
    for row in rows:
        want = [100 * (float(r["accuracy"]) - float(r["ensemble_accuracy"])) for r in averages
                if (r["model"], r["method"]) == (row["panel"], "distancing")]
        assert [float(v) for v in row["values"].split()] == pytest.approx(want, rel=1e-3, abs=1e-9)
        assert row["figure"] == "weight_averages" and config["peers"]["members"] == 2


def test_smoke_a_plugin_measurement_reaches_its_claim(smoke_run):
    """The toy measurement (tests/toy_measurement.py: a registry entry, a compute function, a
    statistic) runs as its own rule on the stored members of Figure 3.7's runs: one row per member
    with the norm numpy computes from members.npz, the members' records name it, and its claim's
    values are the hill's final norm − its twin's, per panel and seed."""
    from distancing.members import load_members

    workdir, _ = smoke_run
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    results = workdir / "results-smoke"
    norms = read_csv(results / "measurements" / "member_norms" / "norms.csv")
    assert list(norms[0]) == ["panel", "series", "seed", "run", "epoch", "norm"]
    plan = Plan(config)
    runs = {name for panel in plan.figure_runs("fig3_7").values() for series in panel["series"].values()
            for name in series["runs"]}
    expected = {}
    for name in runs:
        members = load_members(results / "runs" / name / "members.npz")
        for i, epoch in enumerate(members.epochs):
            expected[(name, str(epoch))] = float(np.linalg.norm(members.weight_vectors()[i].astype(np.float64)))
    assert {(r["run"], r["epoch"]): float(r["norm"]) for r in norms} == pytest.approx(expected)
    records = {(r["run"], r["epoch"]): r["roles"].split() for r in read_csv(results / "members.csv")}
    for r in norms:
        assert f"member_norms:{r['panel']}:{r['series']}:{r['seed']}:{r['epoch']}" in records[(r["run"], r["epoch"])]
    final = {(r["panel"], r["series"], r["seed"]): float(r["norm"]) for r in norms
             if r["epoch"] == str(config["base"]["train"]["epochs"])}
    rows = [r for r in read_csv(results / "claims.csv") if r["claim"] == "toy_hill_changes_norm"]
    assert {r["panel"] for r in rows} == {"mobilenetv2", "resnet"} and {r["figure"] for r in rows} == {"fig3_7"}
    for row in rows:
        want = [final[(row["panel"], "distancing", seed)] - final[(row["panel"], "no_hill", seed)] for seed in "01"]
        assert [float(v) for v in row["values"].split()] == pytest.approx(want, rel=1e-3, abs=1e-9)


def test_a_finished_tree_has_nothing_to_do_and_plot_edits_rerun_only_plots(smoke_run):
    workdir, _ = smoke_run
    result = snakemake(workdir, "-n", "figures")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr
    script = workdir / "workflow" / "scripts" / "fig3_2.py"
    before = script.stat()
    os.utime(script, (time.time() + 5, time.time() + 5))
    try:
        result = snakemake(workdir, "-n", "figures")
    finally:  # a script dated in the future would make a later test's redraw of fig3_2 look clock-skewed
        os.utime(script, ns=(before.st_atime_ns, before.st_mtime_ns))
    stats = job_stats(result.stdout + result.stderr)
    assert stats == {"fig3_2": 1, "results_page": 1, "figures": 1}, stats  # the page shows the new plot


def test_a_local_run_schedules_when_a_job_ends_not_on_the_rate_limiters_timer(smoke_run):
    """Three figures redrawn on one core: while one draws, the others wait. With Snakemake's rate
    limiter, each finished job would add a scheduling round every second for as long as jobs wait
    (workflow/rules/scheduling.smk); a local run has one round per job it starts."""
    workdir, _ = smoke_run
    result = snakemake(workdir, "figures", "--cores", "1", "--verbose", "--forcerun", *FIGURES[:3])
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    stats = job_stats(log)
    assert set(FIGURES[:3]) | {"results_page", "figures"} <= set(stats), stats
    rounds = log.count("Ready jobs:")  # Snakemake's debug line for a round that has jobs to choose from
    assert rounds == sum(stats.values()), rounds


def test_smoke_branches_continue_from_their_trunks_and_write_the_bytes_of_a_run_from_scratch(smoke_run, tmp_path):
    """Every branch trained only the epochs after its trunk's; one trained again from scratch
    with the same command line, without the trunk, writes every file byte for byte."""
    workdir, _ = smoke_run
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    tree = Plan(config).tree()
    runs = workdir / "results-smoke" / "runs"
    assert tree.trunks and tree.epochs_trained() < tree.epochs_described()
    for name, (trunk, epoch) in tree.trunks.items():
        timing = {r["phase"]: r for r in read_csv(runs / name / "timing.csv")}
        assert int(timing["train_steps"]["count"]) == tree.configs[name]["train"]["epochs"] - epoch, name
        assert epoch in torch.load(runs / trunk / "branches.pt", weights_only=False), trunk
    name = next(n for n, (_, e) in tree.trunks.items() if tree.configs[n]["distancing"]["strength"] > 0)
    command = shlex.split(cli_settings(tree.configs[name]))
    result = subprocess.run([sys.executable, "-m", "distancing.cli", "train", *command, "--out", str(tmp_path / name),
                             "--threads", "1", "--quiet"], capture_output=True, text=True, cwd=workdir, timeout=300)
    assert result.returncode == 0, result.stderr
    for file in RUN_FILES.values():
        assert filecmp.cmp(runs / name / file, tmp_path / name / file, shallow=False), file


def test_a_change_after_the_branch_point_retrains_only_the_branches(smoke_run):
    """The reference hill's strength acts only after its first checkpoint: the runs without a hill
    (the trunks) stay, and only hill runs train."""
    workdir, _ = smoke_run
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    stronger = dict(config, distancing=dict(config["distancing"], strength=10.0))
    (workdir / "stronger.yaml").write_text(yaml.safe_dump(stronger, sort_keys=False))
    try:
        result = snakemake(workdir, "-n", "figures", "--configfile", str(workdir / "stronger.yaml"))
    finally:
        (workdir / "stronger.yaml").unlink()
    assert result.returncode == 0, result.stderr[-3000:]
    trained = set(re.findall(r"wildcards: run=(\S+)", result.stdout + result.stderr))
    new = Plan(stronger).runs()
    assert trained and trained <= set(new), trained
    assert all(new[name]["distancing"]["strength"] > 0 for name in trained), trained
    assert {name for name in new if "s10-" in name} <= trained


def job_stats(output: str) -> dict[str, int]:
    """The 'Job stats' table of a Snakemake dry run, as rule -> count."""
    lines = output.split("Job stats:", 1)[1].splitlines()[3:]
    stats = {}
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        stats[parts[0]] = int(parts[1])
    return stats


def test_report_holds_every_figure_with_its_caption(smoke_run):
    workdir, _ = smoke_run
    result = snakemake(workdir, "--report", str(workdir / "report.zip"), "figures")
    assert result.returncode == 0, result.stderr[-3000:]
    with zipfile.ZipFile(workdir / "report.zip") as report:
        names = report.namelist()
        assert {f"{figure}.png" for figure in FIGURES} <= {Path(name).name for name in names}
        (table,) = [n for n in names if n.endswith("/claims.csv")]
        assert report.read(table) == (workdir / "results-smoke" / "claims.csv").read_bytes()
        (page,) = [n for n in names if n.endswith("/claims.html")]
        html = report.read(page).decode()
        assert "<table" in html and "hill_improves_ensemble" in html
        text = report.read("report/report.html").decode()
    assert "Figure 3.1" in text and "mnist1d" in text
    assert "Claims of the paper, decided on this run." in text  # the caption
    # The report opens on what the claims decided (results/report/summary.rst, from claims.csv).
    assert "is it worth its training budget?" in text and "So, at this budget, distancing is" in text
    opening = (workdir / "results-smoke" / "report" / "summary.rst").read_text()  # the results page's opening
    page = (workdir / "results-smoke" / "docs" / "results.md").read_text()
    (regime,) = [block for block in opening.split("\n\n") if block.startswith("Regime:")]
    assert regime.replace("``", "`") in page  # the regime paragraph, one text
    assert '"Claims": {' in text  # its own category


def test_a_failing_figure_leaves_its_reason_in_its_log(smoke_run, tmp_path):
    """A broken input CSV: the figure job fails, and its log names the file and what is wrong."""
    workdir = tmp_path / "broken"
    shutil.copytree(smoke_run[0], workdir, symlinks=True)
    run = Plan(yaml.safe_load((workdir / "config.yaml").read_text())).figure_runs("fig1_1")
    broken = workdir / "results-smoke" / "runs" / run["fig1_1"]["series"]["fixed_lr"]["runs"][0] / "metrics.csv"
    broken.write_text("epoch,lr\n1,0.05\n")
    result = snakemake(workdir, "--cores", "1", "fig1_1")
    assert result.returncode != 0
    assert job_stats(result.stdout + result.stderr) == {"fig1_1": 1}  # nothing retrains
    log = (workdir / "results-smoke" / "logs" / "figures" / "fig1_1.log").read_text()
    assert "Traceback" in log and f"ValueError: {broken.relative_to(workdir)}: no column val_acc" in log, log
    assert not (workdir / "figures-smoke" / "fig1_1.png").exists()


def test_a_training_job_killed_mid_run_resumes_when_the_pipeline_restarts(tmp_path, data_root):
    """Ctrl-C during a training job; the restarted pipeline continues from the last epoch."""
    config = smoke_config()
    config["base"]["train"]["epochs"] = 30
    run = Plan(config).figure_runs("fig3_4")["resnet"]["series"]["no_hill"]["runs"][0]
    assert run.startswith("resnet-nohill-ck2+4+6+8+") and run.endswith("-seed0")  # every cycle end stored
    target = f"results-smoke/runs/{run}/metrics.csv"
    killed = copy_pipeline(tmp_path / "killed", data_root, base=config["base"])
    whole = copy_pipeline(tmp_path / "whole", data_root, base=config["base"])

    command = [sys.executable, "-m", "snakemake", "--snakefile", str(killed / "Snakefile"), "--directory",
               str(killed), "--cores", "1", target]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    state = killed / "results-smoke" / "state" / f"{run}.pt"
    deadline = time.monotonic() + 120
    while not state.exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches Snakemake and the job alike
    process.wait(timeout=60)
    assert state.exists()
    partial = killed / target  # Snakemake removes it, or it holds only the epochs finished so far
    assert not partial.exists() or len(read_csv(partial)) < 30

    assert snakemake(killed, "--cores", "1", target).returncode == 0
    log = (killed / "results-smoke" / "logs" / "train" / f"{run}.log").read_text()
    assert "resuming" in log and "after epoch" in log
    assert snakemake(whole, "--cores", "1", target).returncode == 0
    for name in ("metrics.csv", "distances.csv"):
        assert (killed / target).with_name(name).read_bytes() == (whole / target).with_name(name).read_bytes()
