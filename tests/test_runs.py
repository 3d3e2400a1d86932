"""The run builder (``runs.py``): a run's name lists what differs from the base, its config sets
the knobs it names, and a hill's width lands where its space keeps it (``config.HILL_SPACES``)."""

import pytest

from distancing import config as config_module
from distancing.config import hill_width, set_hill_width
from distancing.runs import RunBuilder

from .test_plan import default_config


@pytest.fixture
def builder() -> RunBuilder:
    return RunBuilder(default_config())


def test_a_name_lists_what_differs_from_the_base_and_a_run_without_a_hill_drops_its_width(builder):
    ref = builder.reference
    assert builder.name(builder.distancing()) == f"{ref['model']}-s8-sigma2_1e-4-ck33-seed0"
    assert builder.name(builder.distancing(strength=2.0, sigma2=1e-5)) == f"{ref['model']}-s2-sigma2_1e-5-ck33-seed0"
    twin = builder.control(builder.distancing())
    assert builder.name(twin).startswith(f"{ref['model']}-nohill-ck33") and twin.sigma2 is None
    # The same run asked for with its default width written out is the same run.
    assert builder.canonical(builder.distancing(sigma2=ref["sigma2"])) == builder.canonical(builder.distancing())


def test_a_function_space_run_reads_and_sweeps_the_width_of_its_own_block(builder):
    run = builder.function_distancing()
    assert builder.reference["function"] == {"strength": 0.1, "sigma2": 0.01}  # config.yaml's, named below
    assert builder.name(run) == "mobilenetv2-function-s0.1-sigma2_0.01-ck33-seed0"
    swept = builder.run_config(builder.function_distancing(sigma2=0.5))
    assert swept["distancing"]["space"] == "function" and swept["distancing"]["function"]["sigma2"] == 0.5
    assert swept["distancing"]["sigma2"] == builder.run_config(run)["distancing"]["sigma2"]  # the weights' untouched
    weights = builder.run_config(builder.distancing(sigma2=1e-5))
    assert weights["distancing"]["sigma2"] == 1e-5
    assert weights["distancing"]["function"]["sigma2"] == builder.run_config(run)["distancing"]["function"]["sigma2"]


def test_a_third_space_keeps_its_width_where_its_entry_says(monkeypatch):
    monkeypatch.setitem(config_module.HILL_SPACES, "probe", config_module.HillSpace(
        "probe", build="x:y", defaults={"width": 1.0}, check=lambda settings, key: None, block="probe", width="width"))
    block = {"sigma2": 1e-3, "function": {"sigma2": 0.01}, "probe": {"width": 2.0}}
    assert [hill_width(block, space) for space in ("weights", "function", "probe")] == [1e-3, 0.01, 2.0]
    set_hill_width(block, "probe", 3.0)
    assert block == {"sigma2": 1e-3, "function": {"sigma2": 0.01}, "probe": {"width": 3.0}}


def test_a_run_that_starts_from_another_is_reseeded_with_it(builder):
    """A figure's run over seeds carries the run it starts from to the same seed (the
    distance-matched step continues each seed's own twin), however deep the chain."""
    from distancing.figures import distance_matched_step
    from distancing.runs import Run, reseeded

    step = distance_matched_step(builder, "resnet", 0.2)
    seeded = reseeded(step, 7)
    (parent, epoch) = seeded.init_from
    assert seeded.seed == parent.seed == 7 and epoch == builder.many[0]
    twin = builder.control(builder.distancing("resnet", checkpoints=builder.many))
    assert builder.name(parent) == builder.name(reseeded(twin, 7))
    chain = Run("resnet", init_from=(Run("resnet", init_from=(Run("resnet"), 3)), 5))
    assert reseeded(chain, 2).init_from[0].init_from[0].seed == 2
