"""The measurement registry: what each built-in measurement reads of the plan, the roles it
gives members, and the check of the tables it writes (torch-free; tests/test_basins.py tests
the computations, tests/test_pipeline.py runs them)."""

import pytest

from distancing.config import member_kinds
from distancing.measurements import MEASUREMENTS, Measurement, roles, run_members, table_frame
from distancing.plan import Plan, load_profiles

from .test_pipeline import ROOT


@pytest.fixture(scope="module")
def plan():
    return Plan(load_profiles(default=ROOT / "config.yaml"))


def test_barriers_pair_every_two_members_from_the_hills_checkpoint_and_disjoint_independent_seeds(plan):
    readings = plan.readings("barriers")
    figure = plan.figure_runs("basins")
    runs = plan.runs()
    for panel_key, panel in figure.items():
        checkpoint = runs[panel["series"]["distancing"]["runs"][0]]["distancing"]["checkpoints"][0]
        for series in ("distancing", "no_hill"):
            mine = [r for r in readings if r["about"]["panel"] == panel_key and r["about"]["series"] == series]
            names = panel["series"][series]["runs"]
            assert sorted({r["about"]["seed"] for r in mine}) == sorted(runs[n]["seed"] for n in names)
            for name in names:
                kept = [e for e in member_kinds(runs[name]) if e >= checkpoint]
                assert kept[0] == checkpoint and len(kept) == 3  # the checkpoint, the next member, the final one
                pairs = [r for r in mine if r["about"]["seed"] == runs[name]["seed"]]
                expected = [(kept[0], kept[1]), (kept[0], kept[2]), (kept[1], kept[2])]
                assert [(r["members"]["a"], r["members"]["b"]) for r in pairs] == [([name, a], [name, b])
                                                                                   for a, b in expected]
                assert [r["about"]["pair"] for r in pairs] == [f"{a}-{b}" for a, b in expected]
        independent = [r for r in readings if r["about"]["panel"] == panel_key
                       and r["about"]["series"] == "independent"]
        names = panel["series"]["independent"]["runs"]
        assert len(independent) == len(names) // 2
        ends = [run for r in independent for run, _ in r["members"].values()]
        assert ends == names[:2 * len(independent)]  # disjoint pairs: 0-1, 2-3, ...
        assert all(epoch == runs[run]["train"]["epochs"] for r in independent for run, epoch in r["members"].values())


def test_the_distance_matched_step_continues_each_seeds_twin_from_the_checkpoint_at_its_own_rate():
    """The matched series pairs the twin's checkpoint with each member of a run that starts from
    that twin's state (the same seed: the run and its parent are reseeded together) and trains
    to the base's last epoch at the declared rate; its pairs are named in the hill's epochs."""
    config = load_profiles(default=ROOT / "config.yaml")
    config["experiments"]["basins"]["matched_lr"] = {"resnet": 0.7}
    plan = Plan(config)
    runs, panels = plan.runs(), plan.figure_runs("basins")
    assert "matched" not in panels["mobilenetv2"]["series"]  # a model without a rate has no such step
    readings = [r for r in plan.readings("barriers") if r["about"]["series"] == "matched"]
    twins = panels["resnet"]["series"]["no_hill"]["runs"]
    checkpoint, final = config["distancing"]["checkpoints"][0], config["base"]["train"]["epochs"]
    assert len(readings) == 2 * len(twins) and {r["about"]["panel"] for r in readings} == {"resnet"}
    for reading in readings:
        (twin, a), (step, b) = reading["members"]["a"], reading["members"]["b"]
        seed = reading["about"]["seed"]
        assert twin in twins and a == checkpoint
        assert runs[twin]["seed"] == runs[step]["seed"] == seed
        assert runs[step]["init"] == {"from": f"results/runs/{twin}", "epoch": checkpoint}
        assert runs[step]["train"]["lr"] == 0.7 and runs[step]["train"]["epochs"] == final - checkpoint
        assert runs[step]["distancing"]["strength"] == 0.0
        assert reading["about"]["pair"] == f"{checkpoint}-{checkpoint + b}"
    assert sorted({r["about"]["pair"] for r in readings}) == [f"{checkpoint}-{checkpoint + 6}", f"{checkpoint}-{final}"]


def test_the_planes_read_the_checkpoint_and_both_runs_next_then_final_members_of_the_first_seed(plan):
    nxt, final = plan.readings("plane")
    (panel,) = plan.figure_runs("basins_plane").values()
    hill, twin = panel["series"]["distancing"]["runs"][0], panel["series"]["no_hill"]["runs"][0]
    config = plan.runs()[hill]
    checkpoint = config["distancing"]["checkpoints"][0]
    assert (nxt["about"], final["about"]) == ({"plane": "next"}, {"plane": "final"})
    for reading, end in ((nxt, min(e for e in member_kinds(config) if e > checkpoint)),
                         (final, config["train"]["epochs"])):
        assert reading["members"] == {"a": [hill, checkpoint], "b": [hill, end], "c": [twin, end]}


def test_averages_read_exactly_the_members_each_peer_ensemble_uses(plan):
    readings = plan.readings("averages")
    expected = [((model, method, replicate), [[run, epoch] for run, epochs in ensemble for epoch in epochs])
                for model, by_key in plan.peers().items() for method, peer in by_key.items()
                for replicate, ensemble in enumerate(peer["ensembles"])]
    assert [(tuple(r["about"].values()), list(r["members"].values())) for r in readings] == expected
    assert {model for (model, _, _), _ in expected} == set(plan.config["peers"]["models"])


def test_run_members_read_every_stored_member_and_roles_name_each(plan):
    readings = run_members(plan, "fig3_7")
    runs = plan.runs()
    assert sum(len(r["members"]) for r in readings) == sum(len(member_kinds(runs[n]))
                                                           for n in plan.run_names("fig3_7"))
    first = readings[0]
    panel, series, seed = first["about"].values()
    given = dict(roles("norms", readings[:1]))
    for name, (run, epoch) in first["members"].items():
        assert given[(run, epoch)] == f"norms:{panel}:{series}:{seed}:{name}"


def test_a_table_with_other_columns_than_declared_stops_in_one_line():
    entry = MEASUREMENTS["averages"]
    row = dict.fromkeys(entry.tables["averages"], 0.0)
    assert list(table_frame(entry, "averages", [row]).columns) == list(entry.tables["averages"])
    assert list(table_frame(entry, "averages", []).columns) == list(entry.tables["averages"])  # empty, still typed
    with pytest.raises(ValueError, match=r"^measurement averages: a row of its table averages has the columns "
                                         r"method, accuracy; its entry declares model, method, label") as error:
        table_frame(entry, "averages", [{"method": "fge", "accuracy": 0.9}])
    assert "\n" not in str(error.value)


def test_a_measurement_registered_twice_is_refused():
    from distancing.measurements import register

    with pytest.raises(ValueError, match="measurement 'plane' is registered twice"):
        register(Measurement("plane", on="basins_plane", reads=run_members, tables={}, compute="x:y"))


@pytest.mark.parametrize("key, on, message", [
    ("steps_of_fig1_1", "fig1_1",  # the pairs of checkpoint steps need the hill's series, which fig1_1 lacks
     "measurements: the figure fig1_1 has no series 'distancing' to take the hill's checkpoint from"),
    ("lost", "no_such_figure", "measurements.lost: it is measured on the figure 'no_such_figure', which is not "
                               "registered"),
])
def test_a_measurement_on_a_figure_it_cannot_read_stops_before_any_job(key, on, message):
    """A plugin's measurement on a figure that lacks what it reads, or on no figure at all, stops
    in one line naming the key, before Snakemake builds a job."""
    from distancing.config import ConfigError
    from distancing.measurements import register
    from distancing.measurements.barriers import member_pairs
    from distancing.plan import check_config

    from .test_pipeline import SCHEMA, smoke_config

    register(Measurement(key, on=on, reads=member_pairs, tables={}, compute="x:y"))
    try:
        config = smoke_config()
        config["measurements"][key] = {}
        with pytest.raises(ConfigError) as error:
            check_config(config, str(SCHEMA))
        assert str(error.value).startswith(message) and "\n" not in str(error.value)
    finally:
        MEASUREMENTS.pop(key)


def test_a_figure_drawing_neither_a_source_nor_a_measurement_stops_in_one_line():
    from distancing.config import ConfigError
    from distancing.figures import FIGURE_TABLE, figure
    from distancing.plan import check_config

    from .test_pipeline import SCHEMA, smoke_config

    figure("curvature_map", "curvature")()
    try:
        with pytest.raises(ConfigError) as error:
            check_config(smoke_config(), str(SCHEMA))
        assert str(error.value).startswith("plugins: the figure curvature_map draws 'curvature', which is neither "
                                           "a source (formula, runs, ensembles, peers) nor a registered measurement")
    finally:
        FIGURE_TABLE.pop("curvature_map")


def test_a_claim_reading_two_measurements_gets_both_tables():
    """Alignment's drop is the barrier before (the barriers measurement) − after (its own): a
    claim on it alone still brings both measurements' tables to the claims rule."""
    config = load_profiles(default=ROOT / "config.yaml")
    config["claims"] = {k: v for k, v in config["claims"].items() if k == "alignment_lowers_independent_barrier"}
    tables = Plan(config).claim_measurement_tables()
    assert {path.split("/")[-2] for path in tables} == {"barriers", "aligned_barriers"}
