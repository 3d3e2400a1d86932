"""The plan (``plan.py``): runs shared by figures and named once, seeds per claim, the peers'
budgets, the tree of trunks and branches, what each run evaluates, the tables each rule reads,
and config checks that stop in one line before any job."""

import dataclasses
from pathlib import Path

import pytest

from distancing.config import ConfigError
from distancing.figures import FIGURE_TABLE
from distancing.measurements import MEASUREMENTS
from distancing.plan import Plan, check_config, load_profiles
from distancing.sources import Analytic, Curves, Ensembles, Measured, Peers

from . import toy_measurement, toy_peer  # noqa: F401  (register the plugins the smoke profile lists)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
FIGURES = list(FIGURE_TABLE)


def smoke_config() -> dict:
    """The smoke profile merged over config.yaml, as Snakemake merges a --configfile."""
    return load_profiles(ROOT / "configs" / "smoke.yaml", default=ROOT / "config.yaml")


def default_config() -> dict:
    return load_profiles(default=ROOT / "config.yaml")


def test_runs_shared_by_figures_train_once_with_readable_names():
    plan = Plan(default_config())
    runs = plan.runs()
    per_figure = [plan.run_names(figure) for figure in plan.figures()]
    assert sum(map(len, per_figure)) > len(set().union(*per_figure))  # figures share runs
    assert set().union(*per_figure) <= set(runs)
    assert "mobilenetv2-s8-sigma2_1e-4-ck33-seed0" in runs
    assert "mobilenetv2-nohill-ck33+39-seed0" in runs
    # Figures 1.1 and 3.6 share the paper's plain SGDR control (its own cycle ends as checkpoints).
    fig11 = plan.figure_runs("fig1_1")["fig1_1"]["series"]["sgdr"]["runs"]
    fig36 = plan.figure_runs("fig3_6")["fig3_6"]["series"]["reference_lr"]["runs"]
    assert fig11[0] == fig36[0] == "mobilenetv2-nohill-ck15+30-plainsgdr-T15-seed0"
    plain = runs[fig11[0]]["train"]
    assert plain["first_cycle_epochs"] is None and plain["restart_epochs"] == 15
    fig32, fig38 = plan.figure_runs("fig3_2")["fig3_2"], plan.figure_runs("fig3_8")["fig3_8"]
    fig37 = plan.figure_runs("fig3_7")["mobilenetv2"]
    s8 = fig32["series"]["s8"]["runs"][0]
    assert s8 == fig38["series"]["s8"]["runs"][0] == fig37["series"]["distancing"]["runs"][0]  # one run, 3 figures
    assert fig32["series"]["s8"]["label"] == "s = 8" and fig32["series"]["s8"]["value"] == 8.0  # key ≠ label
    config = runs["mobilenetv2-s8-sigma2_1e-4-ck33-seed0"]
    assert config["distancing"]["strength"] == 8.0 and config["distancing"]["checkpoints"] == [33]
    assert config["model"]["mobilenetv2"]["width"] == 0.25 and config["seed"] == 0
    assert config["train"]["schedule"] == "cosine_restarts" and config["train"]["restart_epochs"] == 6
    assert config["train"]["first_cycle_epochs"] == 33 and config["snapshots"] == [33, 39]
    assert config["data"]["ensemble_val_samples"] == 20000


def test_every_distancing_series_has_a_control_with_its_schedule_and_seeds_and_no_hill():
    plan = Plan(default_config())
    runs = plan.runs()
    for figure in plan.figures().values():
        for panel in figure.panels:
            keys = {s.key for s in panel.series}
            for series in panel.series:
                if series.run.strength == 0:
                    continue
                assert "no_hill" in keys, (figure.name, panel.key)
                control = next(s for s in panel.series if s.key == "no_hill").run
                hill, twin = runs[plan.builder.name(series.run)], runs[plan.builder.name(control)]
                assert twin["distancing"]["strength"] == 0 and twin["train"] == hill["train"], figure.name
                assert set(hill["distancing"]["checkpoints"]) <= set(twin["distancing"]["checkpoints"])


def test_checkpoints_are_stored_at_sgdr_cycle_ends():
    plan = Plan(default_config())
    for name, config in plan.runs().items():
        if config["distancing"]["strength"] > 0:
            assert set(config["distancing"]["checkpoints"]) <= set(config["snapshots"]), name


def test_each_figure_trains_the_seeds_its_claims_declare():
    config = default_config()
    plan = Plan(config)
    assert plan.figure_seeds("fig3_7") == list(range(20))  # the primary family: 20 seeds
    assert plan.figure_seeds("fig3_1") == [0, 1, 2, 3, 4]  # final accuracies after a hill: 5
    assert plan.figure_seeds("fig3_2") == [0, 1, 2]  # sweeps: 3
    config["claims"]["distance_rises_with_s"]["seeds"] = 4
    assert Plan(config).figure_seeds("fig3_2") == [0, 1, 2, 3]


def test_peers_share_a_budget_and_disjoint_seed_sets():
    plan = Plan(default_config())
    assert list(plan.peers()) == ["mobilenetv2", "resnet"]  # peers.models: each model its own peers
    peers = plan.peers()["mobilenetv2"]
    assert list(peers) == default_config()["peers"]["methods"]
    assert peers["deep_equal_budget"]["label"] == "deep ensemble, 3 × 15 epochs (equal budget)"
    assert {key: peer["budget"] for key, peer in peers.items()} == {
        "single": 45, "distancing": 45, "function": 45, "snapshot": 45, "deep_equal_budget": 45,
        "deep_m_budget": 135, "fge": 45}
    assert [name for name, _ in peers["deep_equal_budget"]["ensembles"][1]] == [
        f"mobilenetv2-nohill-cosine-e15-seed{s}" for s in (3, 4, 5)]
    assert peers["distancing"]["ensembles"][0] == [("mobilenetv2-s8-sigma2_1e-4-ck33+39-seed0", [45, 39, 33])]
    (snapshot, epochs), = peers["snapshot"]["ensembles"][0]
    assert epochs == [45, 39, 33] and plan.runs()[snapshot]["snapshots"] == [33, 39]
    # The snapshot ensemble is the distancing run's no-hill control, trained once for both figures.
    assert snapshot == plan.figure_runs("fig3_7")["mobilenetv2"]["series"]["no_hill"]["runs"][0]
    # The function-space hill: the same run with the hill on predictions; the same twin.
    (function, epochs), = peers["function"]["ensembles"][0]
    assert function == "mobilenetv2-function-s0.1-sigma2_0.01-ck33+39-seed0" and epochs == [45, 39, 33]
    hill = plan.runs()[function]["distancing"]
    assert (hill["space"], hill["strength"], hill["function"]["sigma2"], hill["sigma2"]) == (
        "function", 0.1, 0.01, 1e-4)  # σ² of the weights stays the base's, unused
    assert plan.builder.name(plan.builder.control(plan.builder.function_distancing(checkpoints=(33, 39)))) == snapshot
    assert all(len(peer["ensembles"]) == 12 for peer in peers.values())  # replicates: the peer claims' seeds
    # The ResNet's peers: the same methods, seeds and budgets on its own runs (its own deep ensemble,
    # whose first members are Figure 3.7's single ResNets).
    resnet = plan.peers()["resnet"]
    assert {key: peer["budget"] for key, peer in resnet.items()} == {key: peer["budget"] for key, peer in peers.items()}
    assert [name for name, _ in resnet["deep_m_budget"]["ensembles"][0]] == [
        f"resnet-nohill-cosine-seed{s}" for s in (0, 1, 2)]
    assert resnet["deep_m_budget"]["ensembles"][0][0][0] == plan.figure_runs("fig3_7")["resnet"]["series"]["single"][
        "runs"][0]
    assert resnet["snapshot"]["ensembles"][0][0][0] == plan.figure_runs("fig3_7")["resnet"]["series"]["no_hill"][
        "runs"][0]


def test_fge_starts_from_the_snapshot_run_and_counts_its_parents_epochs():
    plan = Plan(default_config())
    runs = plan.runs()
    (fge, epochs), = plan.peers()["mobilenetv2"]["fge"]["ensembles"][0]
    snapshot = plan.peers()["mobilenetv2"]["snapshot"]["ensembles"][0][0][0]
    assert fge == f"{snapshot}-at33-nohill-fge-T4-lr0.02-minlr1e-3-e12-seed0"
    assert epochs == [10, 6, 2]  # each cycle's lowest learning rate, newest first
    child = runs[fge]
    assert child["init"] == {"from": f"results/runs/{snapshot}", "epoch": 33}
    assert child["train"]["schedule"] == "fge" and child["train"]["epochs"] == 12 and child["snapshots"] == [2, 6, 10]
    assert runs[snapshot]["saved_states"] == [33]  # the parent keeps its state where the child starts
    assert plan.parent(fge) == snapshot and plan.parent(snapshot) is None
    # The other replicates' snapshot runs, either model's (FGE starts from each; the basins'
    # distance-matched step from the first 8 of them, the twins).
    kept = [name for name, config in runs.items() if name != snapshot and config["saved_states"]]
    assert all(runs[name]["saved_states"] == [33] for name in kept)
    assert sorted(kept) == sorted([f"mobilenetv2-nohill-ck33+39-seed{s}" for s in range(1, 12)]
                                  + [f"resnet-nohill-ck33+39-seed{s}" for s in range(12)])


def test_adding_a_sweep_value_adds_one_run_per_seed():
    config = default_config()
    before = Plan(config).runs()
    config["experiments"]["fig3_2"]["strengths"].append(64.0)
    after = Plan(config).runs()
    seeds = config["claims"]["distance_rises_with_s"]["seeds"]
    assert set(after) - set(before) == {f"mobilenetv2-s64-sigma2_1e-4-ck33+39-seed{s}" for s in range(seeds)}
    assert all(after[name] == before[name] for name in before)  # its trunk already keeps the state it starts from


def test_runs_that_share_their_first_epochs_form_a_tree_of_trunks_and_branches():
    """Before the first checkpoint every hill run trains as its no-hill twin: one trunk per seed
    trains those epochs; the hill with one checkpoint branches from the one with two at epoch 38."""
    plan = Plan(default_config())
    tree = plan.tree()
    twin = "mobilenetv2-nohill-ck33+39-seed0"
    assert tree.trunks["mobilenetv2-s2-sigma2_1e-4-ck33+39-seed0"] == (twin, 32)
    assert tree.trunks["mobilenetv2-function-s0.1-sigma2_0.01-ck33+39-seed0"] == (twin, 32)
    assert tree.trunks["mobilenetv2-s8-sigma2_1e-4-ck33-seed0"] == ("mobilenetv2-s8-sigma2_1e-4-ck33+39-seed0", 38)
    assert twin not in tree.trunks and tree.configs[twin]["branch_states"] == [32]
    assert tree.configs["mobilenetv2-s8-sigma2_1e-4-ck33+39-seed0"]["branch_states"] == [38]
    assert not any(name.startswith("mobilenetv2-nohill-cosine") for name in tree.trunks)  # nothing to share
    # Budgets still count every epoch a member's trajectory took.
    assert plan.peers()["mobilenetv2"]["distancing"]["budget"] == 45
    assert tree.epochs_trained() == tree.epochs_described() - sum(epoch for _, epoch in tree.trunks.values())


def test_each_evaluation_runs_only_in_the_trees_of_the_runs_that_read_it(monkeypatch):
    """Curves where a runs-figure draws a run of the tree, members on the extra held-out samples where
    an ensemble scores one, the function distance where a figure declares it reads it (none does)."""
    plan = Plan(default_config())
    tree = plan.tree()

    def root(run):
        while run in tree.trunks:
            run = tree.trunks[run][0]
        return run

    def trees(figures):
        return {root(run) for figure in figures for run in plan.run_names(figure)}

    curves = trees(name for name, figure in plan.figures().items() if isinstance(figure.source, Curves))
    scored = trees(name for name, figure in plan.figures().items() if isinstance(figure.source, Ensembles)) | {
        root(run) for run in plan.peer_runs()}
    held_out = default_config()["base"]["data"]["ensemble_val_samples"]
    for run, config in tree.configs.items():
        assert config["curves"] == (root(run) in curves), run
        assert config["data"]["ensemble_val_samples"] == (held_out if root(run) in scored else None), run
        assert not config["function_distance"], run
    assert 0 < sum(c["data"]["ensemble_val_samples"] is None for c in tree.configs.values()) < len(tree.configs)
    # A figure that reads the function distance turns it on for its runs' trees, and only those.
    monkeypatch.setitem(FIGURE_TABLE, "fig3_2", dataclasses.replace(FIGURE_TABLE["fig3_2"], function_distance=True))
    plan = Plan(default_config())
    tree, logged = plan.tree(), trees(["fig3_2"])
    assert {run for run, c in tree.configs.items() if c["function_distance"]} == {
        run for run in tree.configs if root(run) in logged}


@pytest.mark.parametrize("change,message", [
    (lambda c: c.update(threads=0), "threads: 0 is less than the minimum of 1"),
    (lambda c: c.update(colour="red"), "(top level): Additional properties are not allowed ('colour' was unexpected)"),
    (lambda c: c["distancing"].update(sigma2=-1.0), "distancing.sigma2: -1.0 is less than or equal to"),
    (lambda c: c["experiments"]["fig3_2"].update(strengths="2"), "experiments.fig3_2.strengths: '2' is not of type"),
    (lambda c: c.update(seeds=[]), "seeds: [] should be non-empty"),
    (lambda c: c["base"]["train"].update(epochs=0), "base.train.epochs: must be >= 1, got 0"),
    (lambda c: c["base"]["train"].update(optimiser="adam"), "base.train.optimiser: unknown key"),
    (lambda c: c["distancing"].update(model="vgg"), "distancing.model: no model named 'vgg' under models"),
    (lambda c: c["models"]["resnet"].update(depth=3), "models.resnet.depth: unknown key"),
    (lambda c: c["peers"].update(members=4), "peers.members: base.train.epochs (6) must be a multiple of it"),
    (lambda c: c["peers"].update(models=["mobilenetv2", "vgg"]), "peers.models: no model named 'vgg'"),
    (lambda c: c["claims"]["beats_strongest_alternative_nll"].update(panels=["vgg"]),
     "claims.beats_strongest_alternative_nll.panels: distancing_vs_average_snapshot has no panel 'vgg' (its figure "
     "weight_averages's panels: mobilenetv2, resnet)"),
    (lambda c: c["claims"]["weight_decay_changes_jump"].update(panels=["wd0"]),
     "claims.weight_decay_changes_jump.panels: weight_decay_distance_jump has no panel 'wd0' (its figure fig3_5's "
     "panels: none, one row)"),
    (lambda c: c["distancing"].update(checkpoints=[2, 6]), "distancing.checkpoints: epoch 6 is outside training"),
    (lambda c: c["experiments"]["fig3_6"].update(checkpoints=[2, 9]),
     "experiments.fig3_6.checkpoints: epoch 9 is outside training (epochs 1 to 5; base.train.epochs is 6)"),
    (lambda c: c["claims"]["distance_grows"].update(statistic="distance_grows_fast"),
     "claims.distance_grows.statistic: unknown statistic 'distance_grows_fast'"),
    (lambda c: c["claims"]["accuracy_recovers"].update(margin=-2.0),
     "claims.accuracy_recovers.margin: -2.0 is less than or equal to the minimum of 0"),
    (lambda c: c["claims"]["accuracy_recovers"].pop("margin"),
     "claims.accuracy_recovers.margin: a not_below claim needs"),
    (lambda c: c["claims"]["distance_grows"].update(margin=1.0), "claims.distance_grows.margin: only not_below"),
    (lambda c: c["claims"]["accuracy_recovers"].update(threshold=1.0),
     "claims.accuracy_recovers.threshold: only greater and less claims take a threshold (direction is not_below)"),
    (lambda c: c["claims"]["hill_step_basin"].update(effect=1.0),
     "claims.hill_step_basin.effect: a claim decided against a threshold is not graded by an effect"),
    (lambda c: c["claims"].pop("twin_to_final_basin_loss"),
     "claims.hill_to_final_basin_loss.statistic: basin_train_loss_hill_to_final is qualified by "
     "basin_train_loss_twin_to_final, which no claim declares"),
    (lambda c: c["claims"]["distance_grows"].update(direction="up"),
     "claims.distance_grows.direction: 'up' is not one"),
    (lambda c: c.update(max_claim_seeds=None, seeds=list(range(6))) or c["claims"]["distance_grows"].update(seeds=7),
     "claims.distance_grows.seeds: the claim needs 7 seeds, but seeds lists 6"),
    (lambda c: c["claims"]["distance_grows"].update(seeds=1),
     "claims.distance_grows.seeds: 1 is less than the minimum"),
    (lambda c: c["claims"].pop("control_snapshot_beats_single"),
     "claims.ensemble_beats_single.statistic: ensemble_vs_single rests on the control snapshot_vs_single in "
     "accuracy, which no claim declares"),
    (lambda c: c["claims"]["ensemble_beats_single"].update(metric="brier"),
     "claims.ensemble_beats_single.metric: ensemble_vs_single compares ensembles; metric must be one of accuracy, "
     "nll_calibrated, got 'brier'"),
    (lambda c: c["claims"]["distance_grows"].update(metric="accuracy"),
     "claims.distance_grows.metric: only ensemble statistics take a metric"),
    (lambda c: c["claims"]["ensemble_beats_single_nll"].update(effect=0.0),
     "claims.ensemble_beats_single_nll.effect: 0.0 is less than or equal to the minimum of 0"),
    (lambda c: c["claims"]["ensemble_beats_single"].pop("effect"),
     "claims.ensemble_beats_single.effect: an ensemble claim states the effect worth detecting"),
    (lambda c: c["claims"]["ensemble_beats_single"].update(family="tertiary"),
     "claims.ensemble_beats_single.family: 'tertiary' is not one of ['primary', 'secondary']"),
    (lambda c: c["claims"]["control_snapshot_beats_single"].update(family="primary"),
     "claims.control_snapshot_beats_single.family: snapshot_vs_single is a control or qualifier of another claim, "
     "which belongs to no family; it cannot be primary"),
    (lambda c: c["claims"]["distance_grows"].update(family="primary"),
     "claims.distance_grows.family: a primary claim compares ensembles in a metric, greater, less or differs at a "
     "declared effect (distance_after_checkpoint is not an ensemble comparison)"),
    (lambda c: c["claims"].update(twice={"statistic": "peers_distancing_vs_snapshot", "metric": "accuracy",
                                         "direction": "greater", "effect": 1.0, "seeds": 2}),
     "claims.twice.statistic: peers_distancing_vs_snapshot is the comparison ensemble_vs_no_hill makes on its "
     "mobilenetv2 panel (the same runs); declare it once, on ensemble_vs_no_hill"),
    (lambda c: c["base"]["train"].update(first_cycle_epochs=6),
     "base.train.first_cycle_epochs: must be < train.epochs (6), got 6"),
    (lambda c: c["base"]["train"].update(restart_epochs=6),
     "peers.members: 2 members need 1 cycle end(s) before the last epoch; base.train's schedule has 0 (none)"),
    (lambda c: c["base"]["data"].update(ensemble_val_samples=0), "base.data.ensemble_val_samples: must be >= 1"),
    (lambda c: c["peers"].update(methods=["single", "swa"]), "peers.methods: unknown peer 'swa'; registered: single"),
    (lambda c: c["peers"]["fge"].update({"from": "ensemble"}), "peers.fge.from: unknown peer 'ensemble'"),
    (lambda c: c["peers"]["fge"].update({"from": "fge"}),
     "peers.fge.from: the peers start from each other in a cycle (fge → fge)"),
    (lambda c: c["peers"]["fge"].update(min_lr=0.05), "peers.fge.min_lr: must be below peers.fge.lr (0.02), got 0.05"),
    (lambda c: c["base"]["distancing"].update(space="logits"), "base.distancing.space: unknown value 'logits'"),
    (lambda c: c["base"]["distancing"].update(function={"sigma2": 0.0}),
     "base.distancing.function.sigma2: must be > 0, got 0.0"),
    (lambda c: c["base"]["distancing"].update(function={"distance": "wasserstein"}),
     "base.distancing.function.distance: unknown value 'wasserstein'; allowed: jensen_shannon"),
    (lambda c: c["distancing"]["function"].update(sigma2=-0.01),
     "distancing.function.sigma2: -0.01 is less than or equal to the minimum of 0"),
    (lambda c: c["claims"].pop("function_members_keep_accuracy"),
     "claims.function_members_disagree_more.statistic: disagreement_function_vs_distancing is qualified by "
     "member_accuracy_function_vs_distancing, which no claim declares"),
    (lambda c: c["claims"].pop("control_deep_beats_single"),
     "claims.snapshot_beats_its_best_member.statistic: snapshot_vs_best_member rests on the control "
     "peers_deep_m_budget_vs_single in accuracy, which no claim declares"),
    (lambda c: c["base"].update(numerics="fast"), "base.numerics: unknown value 'fast'; allowed: portable, native"),
    (lambda c: c["peers"]["fge"].update(cycle_epochs=4), "peers.fge.cycle_epochs: 2 cycles of 4 epochs do not fit"),
    (lambda c: c["peers"]["fge"].update(cycle_epochs=3), "peers.fge.cycle_epochs: 3 is not a multiple of 2"),
    (lambda c: c["peers"].pop("fge"), "peers.fge: the peer fge needs its settings"),
    (lambda c: c["peers"].update(methods=["single", "distancing", "snapshot"]),
     "claims.control_deep_average_loses.statistic: weight_average_vs_ensemble_deep_m_budget compares the peer "
     "'deep_m_budget', which peers.methods does not list"),
    (lambda c: c.update(plugins=["no_such_module"]), "plugins: cannot import 'no_such_module'"),
    (lambda c: c["experiments"].pop("fig3_2"), "experiments: 'fig3_2' is a required property"),
    (lambda c: c["measurements"]["barriers"].update(points=2),
     "measurements.barriers.points: 2 is less than the minimum of 3"),
    (lambda c: c["measurements"].update(curvature={}),
     "measurements.curvature: unknown measurement 'curvature'; registered: barriers, plane, averages"),
    (lambda c: c["measurements"].pop("plane"),
     "measurements.plane: the figure basins_plane draws this measurement; list it with its settings"),
    (lambda c: c["claims"].update(toy={"statistic": "final_norm_hill_vs_twin", "direction": "differs", "seeds": 2}),
     "claims.toy.statistic: final_norm_hill_vs_twin reads the measurement 'member_norms', which this config "
     "does not compute (list it under measurements)"),
    (lambda c: c["claims"]["hill_crosses_a_barrier"].update(statistic="barrier_curvature_hill_vs_twin"),
     "claims.hill_crosses_a_barrier.statistic: unknown statistic 'barrier_curvature_hill_vs_twin'"),
])
def test_bad_pipeline_config_names_the_key(change, message):
    config = smoke_config()
    change(config)
    with pytest.raises(ConfigError) as error:
        check_config(config, str(SCHEMA))
    assert str(error.value).startswith(message), str(error.value)
    assert "\n" not in str(error.value)


def test_a_run_cannot_start_after_its_parents_last_epoch():
    config = default_config()
    config["peers"]["fge"]["from"] = "deep_equal_budget"  # 15-epoch networks; FGE starts after epoch 33
    with pytest.raises(ConfigError) as error:
        check_config(config, str(SCHEMA))
    assert str(error.value) == ("peers.fge.from: FGE starts after epoch 33 of the deep_equal_budget run, which "
                                "trains 15 epochs")


def test_peers_that_start_from_each_other_in_a_cycle_stop_in_one_line(monkeypatch):
    from distancing.peers import PEERS, Peer, members_of
    from distancing.runs import Run

    def loop(e, model, i, seed):  # a plugin peer that starts from FGE's run, while FGE starts from it
        return [(Run(model, init_from=(members_of(e, "fge", model, i, seed, needed_by="loop")[0][0], 2)), (45,))]

    monkeypatch.setitem(PEERS, "loop", Peer("loop", lambda e: "loop", loop))
    config = default_config()
    config["peers"]["methods"].append("loop")
    config["peers"]["fge"]["from"] = "loop"
    with pytest.raises(ConfigError) as error:
        check_config(config, str(SCHEMA))
    assert str(error.value) == "peers.fge.from: the peers start from each other in a cycle (loop → fge → loop)"


# ---------------------------------------------------------------- what the rules read


def run_files(runs, file: str, results: str = "results-smoke") -> list[str]:
    return [f"{results}/runs/{run}/{file}" for run in runs]


def test_each_kind_of_source_gives_its_figure_the_tables_it_draws():
    plan = Plan(smoke_config())
    figures = plan.figures()
    kinds = {name: type(figure.source) for name, figure in figures.items()}
    assert kinds["fig0_1"] is Analytic and plan.figure_inputs("fig0_1") == {}
    assert kinds["fig3_1"] is Curves
    runs = plan.run_names("fig3_1")
    assert len(runs) == 2 * len(plan.figure_seeds("fig3_1"))  # the hill and its twin over the seeds
    assert plan.figure_inputs("fig3_1") == {"metrics": run_files(runs, "metrics.csv"),
                                            "distances": run_files(runs, "distances.csv"),
                                            "learning_rates": run_files(runs, "learning_rates.csv")}
    assert kinds["fig3_7"] is Ensembles
    assert plan.figure_inputs("fig3_7") == {"ensembles": "results-smoke/ensembles/checkpoints.csv"}
    assert kinds["peers_members"] is Peers and figures["peers_members"].source.category == "Peers"
    assert plan.figure_inputs("peers_members") == {"members": "results-smoke/ensembles/peers.csv",
                                                   "pairs": "results-smoke/ensembles/peer_pairs.csv",
                                                   "scores": "results-smoke/ensembles/peer_member_scores.csv"}
    assert kinds["basins"] is Measured and figures["basins"].source.category == "Figures"
    assert plan.figure_inputs("basins") == {"barriers": "results-smoke/measurements/barriers/barriers.csv",
                                            "paths": "results-smoke/measurements/barriers/paths.csv"}
    # A measurement on the peers' ensembles takes the peers' caption paragraph; the others the regime's.
    captions = {name: figure.source.caption() for name, figure in figures.items()}
    assert captions["weight_averages"] == captions["peers_spaces"] == "peers"
    assert captions["basins"] == captions["fig3_7"] == captions["fig0_1"] == "settings"
    assert captions["fig3_1"] == "curves"


def test_tables_live_under_the_profiles_results_folder():
    config = smoke_config()
    config["results"] = "elsewhere"
    plan = Plan(config)
    assert plan.figure_inputs("fig3_7") == {"ensembles": "elsewhere/ensembles/checkpoints.csv"}
    assert plan.figure_inputs("fig3_1")["metrics"] == run_files(plan.run_names("fig3_1"), "metrics.csv",
                                                                "elsewhere")


def test_the_claims_read_the_curves_of_their_figures_drawn_from_runs_and_the_tables_of_their_measurements():
    config = smoke_config()
    plan = Plan(config)
    from distancing.claims.catalogue import statistics

    known = statistics()
    figures = {known[spec["statistic"]].figure for spec in config["claims"].values()}
    assert plan.claim_figures() == [name for name in FIGURE_TABLE if name in figures]
    drawn_from_runs = [name for name in figures if isinstance(plan.figures()[name].source, Curves)]
    assert drawn_from_runs and set(drawn_from_runs) < figures  # some claims read ensembles or measurements
    assert plan.claim_runs() == sorted({run for name in drawn_from_runs for run in plan.run_names(name)})
    read = {known[spec["statistic"]].measurement for spec in config["claims"].values()}
    assert plan.claim_measurement_tables() == [
        f"results-smoke/measurements/{key}/{table}.csv" for key in config["measurements"] if key in read
        for table in MEASUREMENTS[key].tables]
    assert "results-smoke/measurements/plane/plane.csv" not in plan.claim_measurement_tables()  # no claim reads it


def test_ensembles_and_measurements_read_exactly_the_runs_whose_members_they_use():
    plan = Plan(smoke_config())
    expected = sorted({run for name in ("fig3_7", "fig3_8") for run in plan.run_names(name)})
    assert plan.ensemble_runs() == expected
    for key in plan.config["measurements"]:
        members = [member for reading in plan.readings(key) for member in reading["members"].values()]
        assert plan.measurement_runs(key) == sorted({run for run, _ in members}), key
    assert len(plan.measurement_runs("plane")) == 2  # the hill's run and its twin, one seed


def test_a_figure_refuses_its_own_settings_through_its_check_hook():
    """The plan calls every figure's ``check`` with its key; no figure's name is written in the plan."""
    from distancing.figures import figure

    def odd_epochs_only(key, builder, settings):
        epochs = builder.defaults["epochs"]
        if epochs % 2 == 0:
            raise ConfigError(f"{key}: wants an odd number of epochs, base.train.epochs is {epochs}")

    figure("parity", "formula", check=odd_epochs_only)()
    try:
        with pytest.raises(ConfigError) as error:
            check_config(smoke_config(), str(SCHEMA))
        assert str(error.value) == "experiments.parity: wants an odd number of epochs, base.train.epochs is 6"
    finally:
        FIGURE_TABLE.pop("parity")
    check_config(smoke_config(), str(SCHEMA))  # and without it the profile passes


def test_a_peers_settings_are_checked_by_the_schema_in_its_own_entry():
    """A peer declares the schema of ``peers.<key>`` in its registry entry; the config schema takes it."""
    from distancing.peers import PEERS, Peer, register

    register(Peer("toy_widths", lambda e: "toy", lambda e, i, seed: [],
                  settings={"width": {"type": "integer", "minimum": 1}}))
    try:
        config = smoke_config()
        config["peers"]["toy_widths"] = {"width": 0}
        with pytest.raises(ConfigError) as error:
            check_config(config, str(SCHEMA))
        assert str(error.value) == "peers.toy_widths.width: 0 is less than the minimum of 1"
        config["peers"]["toy_widths"] = {"width": 2, "height": 1}
        with pytest.raises(ConfigError, match=r"^peers.toy_widths: Additional properties are not allowed"):
            check_config(config, str(SCHEMA))
    finally:
        PEERS.pop("toy_widths")


def test_a_peer_comparison_a_figure_makes_reads_the_figures_runs():
    """The premise of one row per comparison (``catalogue.same_comparisons``): on each model the
    peers train, Figure 3.7's distancing, no-hill and single runs are the peers' distancing,
    snapshot and single ensembles, replicate by seed."""
    from distancing.claims.catalogue import same_comparisons, statistics

    resnet_only = default_config()
    resnet_only["experiments"]["fig3_7"]["models"] = ["resnet"]  # a peers model Figure 3.7 does not draw: no twin row
    for config, models in ((default_config(), ["mobilenetv2", "resnet"]), (resnet_only, ["resnet"])):
        plan = Plan(config)
        panels = {name: [p.key for p in figure.panels] for name, figure in plan.figures().items()}
        assert panels["peers_members"] == panels["weight_averages"] == ["mobilenetv2", "resnet"]
        same = same_comparisons(statistics(), panels)
        assert same == {(peer, model): row for model in models for peer, row in (
            ("peers_distancing_vs_single", "ensemble_vs_single"),
            ("peers_distancing_vs_snapshot", "ensemble_vs_no_hill"),
            ("peers_snapshot_vs_single", "snapshot_vs_single"))}
        for model in models:
            series = plan.figure_runs("fig3_7")[model]["series"]
            peers = plan.peers()[model]
            for method, key in (("distancing", "distancing"), ("snapshot", "no_hill"), ("single", "single")):
                replicates = [ensemble[0][0] for ensemble in peers[method]["ensembles"]]
                assert replicates == series[key]["runs"][:len(replicates)], (model, method)
