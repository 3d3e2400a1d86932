"""The claims (``claims/``): statistics, verdicts, gating, replication and Holm against hand-computed
and independent values, and the results page that says what they decided."""

import math

import numpy as np
import pandas as pd
import pytest

from distancing.claims.catalogue import FIGURE_STATISTICS as STATISTICS
from distancing.claims.inference import interval, minimum_detectable_effect, slope
from distancing.claims.verdicts import verdict


def test_interval_and_verdicts_name_the_direction():
    mean, low, high = interval([1.0, 2.0, 3.0])
    half = 4.30265 * 1.0 / math.sqrt(3)  # t(0.975, 2) · s / √n with s = 1
    assert (mean, low, high) == pytest.approx((2.0, 2.0 - half, 2.0 + half), rel=1e-5)
    assert interval([1.0, float("nan"), 3.0])[0] == 2.0  # a diverged run is left out
    s = STATISTICS["distance_vs_strength"]
    assert verdict(0.1, 0.5, "greater", s) == "holds: distance rises with s"
    assert verdict(-0.5, -0.1, "greater", s) == "does not hold: distance falls with s"
    assert verdict(-0.1, 0.5, "greater", s) == "inconclusive"
    assert verdict(-0.5, -0.1, "differs", s) == "holds: distance falls with s"
    assert verdict(-0.5, -0.1, "less", s) == "holds: distance falls with s"
    a = STATISTICS["accuracy_after_checkpoint"]  # points
    assert verdict(-1.5, 0.4, "not_below", a, margin=2.0) == "holds: no more than 2 points below"
    assert verdict(-4.0, -2.5, "not_below", a, margin=2.0) == "does not hold: more than 2 points below"
    assert verdict(-3.0, 0.5, "not_below", a, margin=2.0) == "inconclusive"
    assert verdict(2.5, 4.0, "greater", a, threshold=2.0) == f"holds: {a.up} (above 2 points)"
    assert verdict(0.5, 1.5, "greater", a, threshold=2.0) == f"does not hold: {a.down} (below 2 points)"
    assert verdict(0.5, 1.5, "less", a, threshold=2.0) == f"holds: {a.down} (below 2 points)"
    assert verdict(2.5, 4.0, "less", a, threshold=2.0) == f"does not hold: {a.up} (above 2 points)"
    assert verdict(0.5, 2.5, "less", a, threshold=2.0) == "inconclusive"
    assert verdict(0.5, 1.5, "less", a) == f"does not hold: {a.up}"  # against zero where none is declared
    assert slope([0, 1, 2], [1, 3, 5]) == pytest.approx(2.0)
    assert slope([0, 1, 2], [0.1, 0.1, 0.1]) == 0.0  # flat is exactly flat


def test_minimum_detectable_effect_of_a_paired_t_test():
    # n = 5, sd = 1: (t(0.975, 4) + t(0.80, 4)) / √5 = (2.776 + 0.941) / 2.236
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    sd = math.sqrt(2.5)
    assert minimum_detectable_effect(values) == pytest.approx((2.776 + 0.941) * sd / math.sqrt(5), rel=1e-3)
    # Three seeds detect about twice the effect five do at the same spread.
    ratio = minimum_detectable_effect([0.0, 1.0, 2.0]) / minimum_detectable_effect([0.0, 0.5, 1.0, 1.5, 2.0])
    five = (2.776 + 0.941) * math.sqrt(0.625) / math.sqrt(5)  # sd of 0, 0.5, ..., 2 is √0.625
    assert ratio == pytest.approx(((4.303 + 1.061) / math.sqrt(3)) / five, rel=1e-3)
    assert minimum_detectable_effect([1.0]) == math.inf


def write_run(root, name, val_acc, distances=()):
    run = root / name
    run.mkdir(parents=True)
    rows = "".join(f"{i + 1},0.1,0.5,0.5,0.5,{acc},0,0,ok\n" for i, acc in enumerate(val_acc))
    (run / "metrics.csv").write_text("epoch,lr,train_loss,train_acc,val_loss,val_acc,hill,checkpoints,status\n" + rows)
    (run / "distances.csv").write_text("epoch,checkpoint,checkpoint_epoch,distance\n" + "".join(
        f"{e},0,1,{d}\n" for e, d in distances))
    return name


# Per panel: the snapshot control's gain, then the distancing ensemble's gain over one network
# (points, before a per-seed spread of 0.1 · seed); gaps of ±0.1 · seed make the intervals.
GATING_PANELS = {
    "control_holds_claim_holds": (2.0, 3.0, 0.1),
    "control_holds_claim_undecided": (2.0, 0.0, 1.0),
    "control_fails_claim_holds": (-1.0, 3.0, 0.1),
    "control_fails_claim_fails": (-1.0, -3.0, 0.1),
    "control_fails_claim_undecided": (-1.0, 0.0, 1.0),
}


def test_controls_gate_only_undecided_verdicts(tmp_path):
    """Figure 3.7 with five panels: each verdict of the claim with its control holding and failing."""
    from distancing.claims.catalogue import Evidence
    from distancing.claims.verdicts import evaluate_claims

    runs, ensembles, panels = {}, [], {}
    for panel, (snapshot_gain, gain, spread) in GATING_PANELS.items():
        series = {"single": [], "no_hill": [], "distancing": []}
        for seed in range(3):
            for key in series:
                name = write_run(tmp_path, f"{panel}-{key}-{seed}", [0.9])
                series[key].append(name)
                runs[name] = tmp_path / name / "metrics.csv"
            base = 90.0 + seed
            wobble = spread * (seed - 1) if gain == 0 else 0.1 * seed
            for key, accuracy_points, members in (("single", base, 1),
                                                  ("no_hill", base + snapshot_gain + 0.1 * seed, 3),
                                                  ("distancing", base + gain + wobble, 3)):
                ensembles.append({"run": series[key][-1], "members": members, "accuracy": accuracy_points / 100,
                                  "nll_calibrated": 0.5 - accuracy_points / 1000})
        panels[panel] = {"title": panel, "value": None,
                         "series": {k: {"label": k, "value": None, "runs": v} for k, v in series.items()}}
    evidence = Evidence({"metrics": runs}, {"fig3_7": panels}, pd.DataFrame(ensembles))
    declared = {
        "beats": {"statistic": "ensemble_vs_single", "metric": "accuracy", "direction": "greater", "seeds": 3},
        "control": {"statistic": "snapshot_vs_single", "metric": "accuracy", "direction": "greater", "seeds": 3},
        "beats_nll": {"statistic": "ensemble_vs_single", "metric": "nll_calibrated", "direction": "greater",
                      "seeds": 3},
        "control_nll": {"statistic": "snapshot_vs_single", "metric": "nll_calibrated", "direction": "greater",
                        "seeds": 3},
    }
    table = evaluate_claims(evidence, declared).set_index(["claim", "panel"])
    assert [c for c, _ in table.index[:10]] == ["control"] * 5 + ["control_nll"] * 5  # controls first
    assert set(table["figure"]) == {"fig3_7"}
    verdict_of = table["verdict"].to_dict()
    note_of = table["note"].to_dict()
    assert verdict_of[("control", "control_holds_claim_holds")] == "holds: the snapshot ensemble beats one network"
    assert verdict_of[("control", "control_fails_claim_holds")] == \
        "does not hold: the snapshot ensemble loses to one network"
    assert verdict_of[("beats", "control_holds_claim_holds")] == "holds: the distancing ensemble beats one network"
    assert note_of[("beats", "control_holds_claim_holds")] == ""
    assert verdict_of[("beats", "control_holds_claim_undecided")] == "inconclusive"
    # A decided verdict stands, with a note naming the control that did not hold.
    assert verdict_of[("beats", "control_fails_claim_holds")] == "holds: the distancing ensemble beats one network"
    assert note_of[("beats", "control_fails_claim_holds")] == "control snapshot_vs_single not shown to hold"
    assert verdict_of[("beats", "control_fails_claim_fails")] == \
        "does not hold: the distancing ensemble loses to one network"
    assert note_of[("beats", "control_fails_claim_fails")] == "control snapshot_vs_single not shown to hold"
    # An undecided one is untestable there.
    assert verdict_of[("beats", "control_fails_claim_undecided")] == (
        "untestable in this profile: undecided, and the control that would explain it, snapshot_vs_single (the "
        "snapshot ensemble beats one network), is not shown to hold")
    # The calibrated NLL is gated by the control of the same metric, and reads "better by".
    assert verdict_of[("beats_nll", "control_fails_claim_undecided")].startswith("untestable")
    assert table.loc[("beats_nll", "control_holds_claim_holds"), "mean"] == pytest.approx(3.1 / 1000)
    assert table.loc[("beats_nll", "control_holds_claim_holds"), "unit"] == "nats of calibrated NLL"
    assert table.loc[("beats", "control_holds_claim_holds"), "mean"] == pytest.approx(3.1)  # points
    assert table.loc[("beats", "control_holds_claim_holds"), "n"] == 3


def test_each_models_ensemble_claims_rest_on_that_models_own_deep_ensemble():
    """Figure 3.7's ResNet panel rests on the ResNet's deep ensemble, not the MobileNetV2's: where
    only the MobileNetV2's beats one network, only the ResNet's undecided hill is untestable. Figure
    3.8, one panel of the reference model (``distancing.model``), rests on that model's."""
    from distancing.claims.catalogue import Evidence
    from distancing.claims.verdicts import evaluate_claims

    ensembles, peers, figures = [], [], {"fig3_7": {}, "fig3_8": {}, "peers_members": {"mobilenetv2": {},
                                                                                     "resnet": {}}}
    wobble = (0.5, -0.4, 0.1)  # undecided at n = 3

    def ensemble(name: str, accuracy_points: float) -> str:
        ensembles.append({"run": name, "members": 3, "accuracy": accuracy_points / 100, "nll_calibrated": 0.5})
        return name

    for model in ("mobilenetv2", "resnet"):
        figures["fig3_7"][model] = {"series": {
            "distancing": {"runs": [ensemble(f"{model}-hill-{i}", 90 + w) for i, w in enumerate(wobble)]},
            "no_hill": {"runs": [ensemble(f"{model}-twin-{i}", 90.0) for i in range(3)]}}}
        deep_gain = (3.0, 3.1, 2.9) if model == "mobilenetv2" else wobble  # only the MobileNetV2's helps
        for replicate, gain in enumerate(deep_gain):
            peers += [{"model": model, "method": "single", "replicate": replicate, "members": 1, "accuracy": 0.8,
                       "nll_calibrated": 0.5},
                      {"model": model, "method": "deep_m_budget", "replicate": replicate, "members": 3,
                       "accuracy": 0.8 + gain / 100, "nll_calibrated": 0.5}]
    figures["fig3_8"]["fig3_8"] = {"series": {
        f"s{s}": {"value": s, "runs": [ensemble(f"s{s}-{i}", 90 + w * s) for i, w in enumerate(wobble)]}
        for s in (1.0, 10.0)}}
    evidence = Evidence({}, figures, pd.DataFrame(ensembles), pd.DataFrame(peers))
    declared = {
        "control": {"statistic": "peers_deep_m_budget_vs_single", "metric": "accuracy", "direction": "greater",
                    "effect": 1.0, "seeds": 3},
        "hill": {"statistic": "ensemble_vs_no_hill", "metric": "accuracy", "direction": "greater", "effect": 0.5,
                 "seeds": 3},
        "slope": {"statistic": "ensemble_vs_strength", "metric": "accuracy", "direction": "differs", "effect": 0.5,
                  "seeds": 3}}
    table = evaluate_claims(evidence, declared, "mobilenetv2").set_index(["claim", "panel"])["verdict"]
    assert table[("control", "mobilenetv2")] == "holds: the deep ensemble at M × budget beats one network"
    assert table[("control", "resnet")] == "no effect worth detecting: within ±1 point"  # not shown to hold
    assert table[("hill", "mobilenetv2")].startswith("inconclusive: needs")
    assert table[("hill", "resnet")] == (
        "untestable in this profile: undecided, and the control that would explain it, peers_deep_m_budget_vs_single "
        "(the deep ensemble at M × budget beats one network), is not shown to hold")
    assert table[("slope", "fig3_8")].startswith("inconclusive: needs")  # the reference model's control holds
    on_resnet = evaluate_claims(evidence, declared, "resnet").set_index(["claim", "panel"])["verdict"]
    assert on_resnet[("slope", "fig3_8")].startswith("untestable")
    # A claim declared on some panels only (a comparison chosen per model) has rows there alone.
    one = evaluate_claims(evidence, declared | {"hill": dict(declared["hill"], panels=["resnet"])}, "mobilenetv2")
    assert list(one.loc[one["claim"] == "hill", "panel"]) == ["resnet"]


def test_an_undecided_claim_names_the_seeds_its_effect_needs(tmp_path):
    """Values 1, −1, 0.5 (sd 1.04): three seeds are too few for an effect of 0.5; the n needed is
    the smallest at which the paired t-test's detectable effect reaches 0.5."""
    from distancing.claims.catalogue import Evidence
    from distancing.claims.inference import minimum_detectable_effect, seeds_needed
    from distancing.claims.verdicts import evaluate_claims

    runs, ensembles, names = {}, [], {"single": [], "no_hill": []}
    for seed, gain in enumerate((1.0, -1.0, 0.5)):
        for key, points in (("single", 90.0), ("no_hill", 90.0 + gain)):
            name = write_run(tmp_path, f"{key}-{seed}", [0.9])
            names[key].append(name)
            runs[name] = tmp_path / name / "metrics.csv"
            ensembles.append({"run": name, "members": 1, "accuracy": points / 100})
    panels = {"fig3_7": {"fig3_7": {"title": "", "value": None,
                                    "series": {k: {"label": k, "value": None, "runs": v} for k, v in names.items()}}}}
    declared = {"control": {"statistic": "snapshot_vs_single", "metric": "accuracy", "direction": "greater",
                            "effect": 0.5, "seeds": 3}}
    (row,) = evaluate_claims(Evidence({"metrics": runs}, panels, pd.DataFrame(ensembles)),
                             declared).to_dict("records")
    sd = float(np.std([1.0, -1.0, 0.5], ddof=1))
    needed = seeds_needed(sd, 0.5)
    assert row["seeds_needed"] == needed
    assert row["verdict"] == f"inconclusive: needs {needed} seeds to detect 0.5 points"
    spread = lambda n: [sd * x for x in np.linspace(-1, 1, n) / np.std(np.linspace(-1, 1, n), ddof=1)]  # noqa: E731
    assert minimum_detectable_effect(spread(needed)) <= 0.5 < minimum_detectable_effect(spread(needed - 1))


def test_p_values_and_holm_against_independent_computations():
    from scipy import stats

    from distancing.claims.inference import holm, p_value

    values = [0.3, 1.2, 0.8, 0.5, 1.1]
    assert p_value(values) == pytest.approx(stats.ttest_1samp(values, 0.0).pvalue)
    assert p_value(values, -2.0) == pytest.approx(stats.ttest_1samp(values, -2.0).pvalue)
    # Sorted 0.01, 0.03, 0.04 with 3, 2, 1 hypotheses left: 0.03, 0.06, max(0.06, 0.04).
    assert holm([0.01, 0.04, float("nan"), 0.03]) == pytest.approx([0.03, 0.06, float("nan"), 0.06], nan_ok=True)
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_the_weight_decay_claim_subtracts_each_no_hill_twin(tmp_path):
    """The jump of the distance to the first checkpoint after the second (epoch 2 -> 3), hill − twin,
    with weight decay − without: (1.0 − 0.4) − (0.5 − 0.3) = 0.4."""
    from distancing.claims.catalogue import Evidence
    from distancing.claims.verdicts import evaluate_claims

    def run(name, before, after):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "distances.csv").write_text(
            "epoch,checkpoint,checkpoint_epoch,distance\n"
            f"2,0,1,{before}\n2,1,2,0.0\n3,0,1,{after}\n3,1,2,0.2\n")
        return name

    runs = {"on_hill": (2.0, 3.0), "on_twin": (1.0, 1.4), "off_hill": (2.0, 2.5), "off_twin": (1.0, 1.3)}
    files = {name: tmp_path / run(name, *d) / "distances.csv" for name, d in runs.items()}
    panels = {key: {"title": key, "value": wd, "series": {
        "distancing": {"label": "d", "value": None, "runs": [f"{key}_hill"]},
        "no_hill": {"label": "c", "value": None, "runs": [f"{key}_twin"]}}} for key, wd in (("on", 5e-3), ("off", 0.0))}
    table = evaluate_claims(Evidence({"distances": files}, {"fig3_5": panels}),
                            {"jump": {"statistic": "weight_decay_distance_jump", "direction": "differs", "seeds": 2}})
    (row,) = table.to_dict("records")  # one row for the figure, not one per panel
    assert row["panel"] == "" and row["mean"] == pytest.approx(0.4) and row["n"] == 1


def test_the_function_hills_member_claims_read_pairs_and_scores_and_are_qualified_by_member_accuracy():
    """Disagreement of the function-space hill's members − the weight hill's, per replicate, in
    points; less accurate members would explain more disagreement, not less, so their accuracy
    qualifies a decided verdict (a note) and never gates an undecided one."""
    from distancing.claims.catalogue import ENSEMBLING_HELPS, Evidence, statistics
    from distancing.claims.verdicts import evaluate_claims

    known = statistics()
    more = known["disagreement_function_vs_distancing"]
    assert more.controls == () and more.qualifiers == ("member_accuracy_function_vs_distancing",)
    assert known["peers_function_vs_distancing"].controls == (ENSEMBLING_HELPS,)
    assert known["peers_function_vs_distancing"].qualifiers == ("peers_snapshot_vs_single",)
    assert "disagreement_function_vs_deep_m_budget" not in known  # independent networks: no push to compare
    peers = pd.DataFrame([{"model": "resnet", "method": m, "replicate": r, "members": 1, "accuracy": 0.9}
                          for m in ("function", "distancing") for r in range(3)])

    def decide(function_accuracy, disagreements=((0.20, 0.10), (0.16, 0.12), (0.30, 0.20))):
        pairs = pd.DataFrame([{"model": "resnet", "method": m, "replicate": r, "disagreement": d}
                              for r, (f, w) in enumerate(disagreements)
                              for m, value in (("function", f), ("distancing", w))
                              for d in (value - 0.01, value + 0.01)])
        scores = pd.DataFrame([{"model": "resnet", "method": m, "replicate": r, "member": k, "accuracy": a}
                               for r in range(3) for k in range(2)
                               for m, a in (("function", function_accuracy[r]), ("distancing", 0.85))])
        figures = {"peers_spaces": {"resnet": {}}}  # one panel per model of peers.models
        return evaluate_claims(Evidence({}, figures, peers=peers, pairs=pairs, scores=scores), {
            "keep": {"statistic": "member_accuracy_function_vs_distancing", "direction": "not_below", "margin": 2.0,
                     "seeds": 3},
            "more": {"statistic": "disagreement_function_vs_distancing", "direction": "greater", "effect": 1.0,
                     "seeds": 3}}).set_index("claim")

    table = decide([0.85, 0.855, 0.85])
    assert table.loc["more", "values"] == "10 4 10" and table.loc["keep", "mean"] == pytest.approx(0.5 / 3)
    assert table.loc["keep", "verdict"].startswith("holds")
    assert table.loc["more", "verdict"].startswith("inconclusive")  # interval [−0.6, 16.6] at n = 3
    collapsed = decide([0.70, 0.72, 0.71])  # members 14 points worse
    assert collapsed.loc["keep", "verdict"].startswith("does not hold")
    assert collapsed.loc["more", "verdict"].startswith("inconclusive") and collapsed.loc["more", "note"] == ""
    apart = decide([0.70, 0.72, 0.71], ((0.20, 0.10), (0.21, 0.10), (0.22, 0.10)))  # decided: 10, 11, 12 points
    assert apart.loc["more", "verdict"] == "holds: the function-space hill's members disagree more"
    assert apart.loc["more", "note"] == "qualifier member_accuracy_function_vs_distancing not shown to hold"


def test_peer_statistics_come_from_the_registry_with_their_controls():
    """Every registered peer gets "beats one network" and "distancing against it"; the latter rests on
    ensembling helping at all (the deep ensemble's control), is qualified by the control its registry
    entry names, and both read the full ensembles of the peer table."""
    from distancing.claims.catalogue import Evidence, peer_difference, statistics

    known = statistics()
    assert known["peers_distancing_vs_fge"].controls == ("peers_deep_m_budget_vs_single",)
    assert known["peers_distancing_vs_fge"].qualifiers == ("peers_fge_vs_single",)
    assert known["peers_distancing_vs_deep_equal_budget"].controls == ("peers_deep_m_budget_vs_single",)
    assert known["peers_distancing_vs_deep_equal_budget"].qualifiers == ("peers_deep_equal_budget_vs_single",)
    assert known["peers_distancing_vs_snapshot"].qualifiers == ("peers_snapshot_vs_single",)
    assert set(known["peers_distancing_vs_fge"].peers) == {"distancing", "fge", "single"}
    assert "peers_single_vs_single" not in known and "peers_distancing_vs_distancing" not in known
    rows = []
    for model, replicates in (("mobilenetv2", ((0.90, (0.89, 0.93)), (0.80, (0.81, 0.84)))),
                              ("resnet", ((0.70, (0.75, 0.71)), (0.60, (0.50, 0.62)), (0.5, (0.5, 0.5))))):
        for replicate, (single, fge) in enumerate(replicates):
            rows.append({"model": model, "method": "single", "replicate": replicate, "members": 1, "accuracy": single})
            rows += [{"model": model, "method": "fge", "replicate": replicate, "members": k + 1, "accuracy": a}
                     for k, a in enumerate(fge)]
    evidence = Evidence({}, {}, peers=pd.DataFrame(rows))
    assert peer_difference(evidence, "mobilenetv2", "fge", "single", "accuracy") == pytest.approx([3.0, 4.0])
    # Each model its own replicates: the panel is the model.
    assert known["peers_fge_vs_single"].compute(evidence, "resnet", "accuracy") == pytest.approx([1.0, 2.0, 0.0])


def test_controls_gate_what_their_failure_would_explain():
    """The rule of claims/verdicts.py, applied to every statistic: ensemble against ensemble (or against its
    own best member) rests on ensembling helping at all; the hill's ensemble against one network on
    the snapshot ensemble doing so; controls rest on nothing."""
    from distancing.claims.catalogue import ENSEMBLING_HELPS, statistics

    known = statistics()
    for name in ("ensemble_vs_no_hill", "ensemble_vs_best_member", "snapshot_vs_best_member", "ensemble_vs_strength"):
        assert known[name].controls == (ENSEMBLING_HELPS,), name
    assert known["ensemble_vs_single"].controls == ("snapshot_vs_single",)
    for hill in ("distancing", "function"):  # either hill among the peers, against one network
        assert known[f"peers_{hill}_vs_single"].controls == ("peers_snapshot_vs_single",)
    for name, statistic in known.items():
        if name.startswith(("peers_distancing_vs_", "peers_function_vs_")):
            assert statistic.controls == (ENSEMBLING_HELPS,) or name.endswith("_vs_single"), name
        elif name.startswith("peers_") and name.endswith("_vs_single") or name == "snapshot_vs_single":
            assert statistic.controls == statistic.qualifiers == (), name  # the controls themselves


def test_replication_probability_against_hand_values():
    """With the variance known, the predictive replication probability is normal: one half at the
    threshold, 0.8 at √2 · z₀.₈ beyond it, and an undecided result stays undecided with the normal
    mass between the thresholds."""
    from distancing.claims.inference import same_verdict_probability

    critical = 2.5706  # t₀.₉₇₅ with 5 degrees of freedom (n = 6)
    assert same_verdict_probability(critical, critical) == pytest.approx(0.5, abs=1e-3)
    assert same_verdict_probability(critical + 1.41421 * 0.84162, critical) == pytest.approx(0.8, abs=1e-4)
    assert same_verdict_probability(-(critical + 1.41421 * 0.84162), critical) == pytest.approx(0.8, abs=1e-4)
    # Undecided at t = 0: P(|N(0, 2)| < 2.5706) = 2 Φ(1.8177) − 1 = 0.93089.
    assert same_verdict_probability(0.0, critical) == pytest.approx(0.93089, abs=1e-4)
    # At the normal limit, p = 0.005 (z = 2.807) replicates with Φ((2.807 − 1.960) / √2) = Φ(0.599) = 0.7254.
    assert same_verdict_probability(2.807, 1.95996) == pytest.approx(0.7254, abs=1e-3)
    # With the variance estimated on df degrees of freedom: still one half at the threshold, and
    # the known-variance value as df grows.
    assert same_verdict_probability(critical + 1e-9, critical, 5) == pytest.approx(0.5, abs=1e-3)
    assert same_verdict_probability(3.0, 1.984, 99) == pytest.approx(same_verdict_probability(3.0, 1.984), abs=0.01)


def simulated_replications(values, boundary, draws=200_000):
    """The posterior predictive by simulation, independently of the quadrature: σ² and μ from
    their posterior (flat prior on μ and log σ), a replication of as many values, its verdict."""
    v = np.asarray(values)
    n, mean, sd = len(v), v.mean(), v.std(ddof=1)
    rng = np.random.default_rng(7)
    sigma2 = (n - 1) * sd**2 / rng.chisquare(n - 1, draws)
    mu = rng.normal(mean, np.sqrt(sigma2 / n))
    replicate = rng.normal(mu[:, None], np.sqrt(sigma2)[:, None], (draws, n))
    t = (replicate.mean(1) - boundary) / (replicate.std(1, ddof=1) / np.sqrt(n))
    from scipy import stats

    critical = stats.t.ppf(0.975, n - 1)
    observed = (mean - boundary) / (sd / np.sqrt(n))
    region = np.sign(observed) if abs(observed) > critical else 0
    return float(np.mean(np.where(np.abs(t) > critical, np.sign(t), 0) == region))


@pytest.mark.parametrize("values,boundary", [
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 0.0),  # decided, t = 4.58 at n = 6
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3.5),  # undecided: the mean on the boundary
    ([4.0, 4.6, 5.1], 0.0),  # decided at three seeds with a large t (8.6): far from certain
    ([0.3, -0.5, 1.2, 0.1], -2.0),  # non-inferiority: the boundary is −margin
])
def test_replication_probability_against_a_simulated_replication(values, boundary):
    from distancing.claims.inference import replication_probability

    assert replication_probability(values, boundary) == pytest.approx(simulated_replications(values, boundary),
                                                                      abs=0.006)


def test_seeds_for_a_robust_verdict():
    from distancing.claims.inference import ROBUST, replication_probability, seeds_robust

    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # mean 3.5, sd 1.8708
    n = seeds_robust(values)
    assert n == 6  # at n = 6 the observed values replicate with 0.813
    assert replication_probability(values) >= ROBUST
    five = np.arange(1.0, 6.0)
    shorter = 3.5 + (five - five.mean()) / five.std(ddof=1) * np.std(values, ddof=1)  # the same mean and sd, n = 5
    assert np.std(shorter, ddof=1) == pytest.approx(1.8708, abs=1e-3) and shorter.mean() == pytest.approx(3.5)
    assert replication_probability(shorter) < ROBUST
    assert seeds_robust(values, boundary=3.5) == 1000  # no effect: never robust
    assert math.isnan(replication_probability([1.0]))


def test_the_results_page_and_the_reports_opening_are_one_text():
    """results_page: the primary family's table and the answer in words first, then the secondary
    family grouped by its family-wise verdict, the controls by their own, every figure with its
    claims' rows; the same opening in reStructuredText for the report."""
    from docutils.core import publish_doctree

    from distancing.results_page import markdown, opening, page, rst

    row = {"claim": "hill_improves_ensemble", "family": "secondary", "figure": "fig3_7", "panel": "resnet",
           "statistic": "ensemble_vs_no_hill", "metric": "accuracy", "measures": "", "unit": "points",
           "claimed": "the hill improves, in accuracy", "effect": 1.0, "size": "smaller than 1 point",
           "n": 6, "mean": 0.55, "ci95_low": 0.21, "ci95_high": 0.89, "mde": 0.4, "verdict": "holds: the hill "
           "improves", "replication": 0.62, "fragile": True, "seeds_robust": 11, "note": "",
           "verdict_holm": "inconclusive", "also_on": ""}
    beats = dict(row, claim="beats", family="primary", statistic="ensemble_vs_single", size="at least 1 point",
                 claimed="the distancing ensemble beats one network, in accuracy", mean=2.5, ci95_low=1.5,
                 ci95_high=3.5, verdict="holds: beats", verdict_holm="holds: beats", fragile=False, replication=0.9)
    beats_mnv2 = dict(beats, panel="mobilenetv2", mean=0.1, ci95_low=-0.2, ci95_high=0.4, size="smaller than 1 point",
                      verdict="no effect worth detecting: within ±1 point",
                      verdict_holm="no effect worth detecting: within ±1 point", also_on="peers_members")
    alternative = dict(beats, claim="alternative", figure="weight_averages", panel="mobilenetv2",
                       statistic="distancing_vs_average",
                       claimed="distancing beats the averaged snapshots, in accuracy", mean=1.5, ci95_low=1.2,
                       ci95_high=1.8)
    table = pd.DataFrame([beats, beats_mnv2, alternative, row,
                          dict(row, claim="other", figure="fig3_1", panel="", verdict="inconclusive", size="",
                               fragile=False, replication=0.9, seeds_robust=40),
                          dict(row, claim="control", family="", statistic="snapshot_vs_single", verdict="holds: yes",
                               verdict_holm="holds: yes", fragile=False)])
    text = markdown(page(table, "mnist1d, 45 epochs", [("fig3_7", "Figure 3.7", "Ensembles.", "figures/fig3_7.png"),
                                                         ("fig0_1", "Figure 0.1", "A surface.", "figures/fig0_1.png")]))
    first = text.split("\n\n")
    assert first[0] == "# Machine learning with distancing: is it worth its training budget?"
    assert first[1].startswith("| comparison | model | metric | difference, 95 % interval | n |")
    assert ("| the distancing ensemble beats one network | resnet | accuracy | +2.5 [+1.5, +3.5] points | 6 | 1 | "
            "at least 1 point | 0.90 | holds: beats |") in first[1]
    assert "| distancing beats the averaged snapshots | mobilenetv2 | accuracy |" in first[1]  # its panel, a model
    # A gain shown smaller than the effect worth detecting does not make distancing worth its budget.
    small = dict(beats, panel="vgg", mean=0.3, ci95_low=0.1, ci95_high=0.5, size="smaller than 1 point")
    answer = markdown(opening(pd.concat([table, pd.DataFrame([small])], ignore_index=True), "")).split("\n\n")[2]
    assert answer.endswith("worth it on resnet (accuracy); not worth it on mobilenetv2 (accuracy) and vgg (accuracy).")
    assert first[2] == (
        "- Whether distancing beats the averaged snapshots: mobilenetv2, accuracy: better by +1.5 points, 95 % "
        "interval [+1.2, +1.8], at least 1 point.\n- Whether the distancing ensemble beats one network: mobilenetv2, "
        "accuracy: no effect worth detecting (+0.1 points, 95 % interval [-0.2, +0.4], within ±1); resnet, accuracy: "
        "better by +2.5 points, 95 % interval [+1.5, +3.5], at least 1 point.\n- So, at this budget, distancing is "
        "worth it on resnet (accuracy); not worth it on mobilenetv2 (accuracy).")
    # The secondary family by its family-wise verdict (the Holm-adjusted one), then the controls by their own.
    secondary = text.split("## The secondary family: inconclusive 2")[1].split("## Controls and qualifiers")[0]
    assert ("- `hill_improves_ensemble` (fig3_7, resnet), the hill improves, in accuracy: +0.55 points, 95 % "
            "interval [+0.21, +0.89], n = 6, smaller than 1 point; *fragile*: a replication agrees with probability "
            "0.62; 11 seeds for a robust verdict.") in secondary
    assert "### Not decided" in secondary and "### What holds" not in secondary
    assert "## Controls and qualifiers: holds 1\n\n### What holds\n\n- `control`" in text
    assert "### Figure 3.7\n\n![Figure 3.7](figures/fig3_7.png)\n\nEnsembles.\n\n| claim |" in text
    assert "| `hill_improves_ensemble` | resnet | the hill improves, in accuracy | 6 | +0.55 points | " \
           "[+0.21, +0.89] | 0.4 | holds: the hill improves | 0.62 *fragile* | 11 | inconclusive |" in text
    assert "`other`" not in text.split("### Figure 3.7")[1]  # each figure shows its own claims
    assert "### Figure 0.1\n\n![Figure 0.1](figures/fig0_1.png)\n\nA surface.\n\nNo claim rests on this figure." in text
    report = rst(opening(table, "mnist1d, 45 epochs"))
    assert report.startswith("Machine learning with distancing: is it worth its training budget?\n=====")
    tables = [node for node in publish_doctree(report).traverse() if node.tagname == "table"]
    assert len(tables) == 1 and "at least 1 point" in tables[0].astext()
    assert "- ``hill_improves_ensemble`` (fig3_7, resnet)" in report and "*fragile*" in report
    assert markdown(opening(table, "mnist1d, 45 epochs")) in text  # the page opens with it


def fig3_7_evidence(tmp_path, gains):
    """Figure 3.7 with one panel per entry of ``gains``: panel -> per-seed accuracy gains (points) of
    the distancing ensemble over one network and of the snapshot ensemble over one network."""
    from distancing.claims.catalogue import Evidence

    runs, ensembles, panels = {}, [], {}
    for panel, (distancing, snapshot) in gains.items():
        series = {"single": [], "no_hill": [], "distancing": []}
        for seed, (d, s) in enumerate(zip(distancing, snapshot, strict=True)):
            for key, points in (("single", 90.0), ("no_hill", 90.0 + s), ("distancing", 90.0 + d)):
                name = write_run(tmp_path, f"{panel}-{key}-{seed}", [0.9])
                series[key].append(name)
                runs[name] = tmp_path / name / "metrics.csv"
                ensembles.append({"run": name, "members": 3, "accuracy": points / 100,
                                  "nll_calibrated": 0.5 - points / 1000 + 0.001 * seed ** 2})
        panels[panel] = {"title": panel, "value": None,
                         "series": {k: {"label": k, "value": None, "runs": v} for k, v in series.items()}}
    return Evidence({"metrics": runs}, {"fig3_7": panels}, pd.DataFrame(ensembles))


def test_a_powered_null_two_one_sided_tests_and_the_size_of_an_effect(tmp_path):
    """Against the declared effect δ = 1 point: an interval beyond δ is "at least 1 point", one
    within ±δ but off zero "smaller than 1 point", one straddling δ "of undetermined size"; an
    undecided interval whose 90 % lies within ±δ is the powered null. TOST's p-value against
    scipy's one-sided t-tests."""
    from scipy import stats

    from distancing.claims.inference import equivalence_p
    from distancing.claims.verdicts import evaluate_claims

    snapshot = [1.5, 2.0, 2.5, 1.8, 2.2, 2.0]  # the control holds everywhere
    gains = {"large": [3.0, 3.2, 2.8, 3.1, 2.9, 3.0], "small": [0.3, 0.4, 0.5, 0.35, 0.45, 0.4],
             "straddles": [0.5, 2.5, 1.0, 2.0, 1.5, 0.3], "null": [0.1, -0.1, 0.05, -0.05, 0.0, 0.02],
             "wide": [3.0, -3.0, 2.0, -2.5, 1.0, -1.0]}
    declared = {"beats": {"statistic": "ensemble_vs_single", "metric": "accuracy", "direction": "greater",
                          "effect": 1.0, "seeds": 6, "family": "primary"},
                "control": {"statistic": "snapshot_vs_single", "metric": "accuracy", "direction": "greater",
                            "effect": 1.0, "seeds": 6}}
    table = evaluate_claims(fig3_7_evidence(tmp_path, {k: (v, snapshot) for k, v in gains.items()}),
                            declared).set_index(["claim", "panel"])
    row = table.loc["beats"]
    assert row.loc["large", "size"] == "at least 1 point" and row.loc["large", "verdict"].startswith("holds")
    assert row.loc["small", "size"] == "smaller than 1 point" and row.loc["small", "verdict"].startswith("holds")
    assert row.loc["straddles", "size"] == "of undetermined size"
    assert row.loc["null", "verdict"] == "no effect worth detecting: within ±1 point"
    assert row.loc["null", "size"] == "smaller than 1 point" and not row.loc["null", "fragile"]
    assert row.loc["wide", "verdict"].startswith("inconclusive: needs") and row.loc["wide", "size"] == ""
    for panel, values in gains.items():
        lower = stats.ttest_1samp(values, -1.0, alternative="greater").pvalue
        upper = stats.ttest_1samp(values, 1.0, alternative="less").pvalue
        assert equivalence_p(values, 1.0) == pytest.approx(max(lower, upper), rel=1e-9), panel
        assert row.loc[panel, "p_null"] == pytest.approx(max(lower, upper), rel=1e-9), panel


def test_holm_runs_within_each_family_and_controls_belong_to_none(tmp_path):
    """Holm's adjustment counts the hypotheses of the row's own family only (two per graded row:
    no difference, and the powered null), so adding secondary claims leaves the primary family's
    adjusted p-values as they were; a control is read alone."""
    from distancing.claims.inference import holm
    from distancing.claims.verdicts import evaluate_claims

    snapshot = [1.5, 2.0, 2.5, 1.8, 2.2, 2.0]
    gains = {"a": ([1.2, 1.0, 0.8, 1.1, 0.9, 1.3], snapshot), "b": ([0.2, 0.9, 0.4, 0.1, 0.6, 0.3], snapshot)}
    evidence = fig3_7_evidence(tmp_path, gains)
    primary = {"beats": {"statistic": "ensemble_vs_single", "metric": "accuracy", "direction": "greater",
                         "effect": 1.0, "seeds": 6, "family": "primary"},
               "control": {"statistic": "snapshot_vs_single", "metric": "accuracy", "direction": "greater",
                           "effect": 1.0, "seeds": 6}}
    alone = evaluate_claims(evidence, primary).set_index(["claim", "panel"])
    more = evaluate_claims(evidence, primary | {
        "beats_nll": {"statistic": "ensemble_vs_single", "metric": "nll_calibrated", "direction": "greater",
                      "effect": 0.02, "seeds": 6},
        "control_nll": {"statistic": "snapshot_vs_single", "metric": "nll_calibrated", "direction": "greater",
                        "effect": 0.02, "seeds": 6}}).set_index(["claim", "panel"])
    assert alone.loc[("control", "a"), "family"] == "" and alone.loc[("beats", "a"), "family"] == "primary"
    assert more.loc[("beats_nll", "a"), "family"] == "secondary" and more.loc[("control_nll", "a"), "family"] == ""
    assert list(more.loc["beats", "p_holm"]) == list(alone.loc["beats", "p_holm"])
    rows = alone.loc["beats"]
    family = list(rows["p"]) + list(rows["p_null"])
    assert list(rows["p_holm"]) == pytest.approx(holm(family)[:2])
    # A control's family-wise verdict is its own.
    assert list(alone.loc["control", "verdict_holm"]) == list(alone.loc["control", "verdict"])


def test_a_non_inferiority_claims_control_qualifies_a_pass_instead_of_gating():
    """The snapshot average keeping up with its ensemble rests on averaging being able to lose at all
    (independent networks' averages do): if that control fails, it would explain a pass, so it is a
    note on a pass and never makes an undecided claim untestable."""
    from distancing.claims.catalogue import Evidence
    from distancing.claims.verdicts import evaluate_claims

    def decide(snapshot_gaps, deep_gaps):
        rows = [{"model": "m", "method": method, "replicate": r, "accuracy": 0.9 + gap / 100,
                 "ensemble_accuracy": 0.9}
                for method, gaps in (("snapshot", snapshot_gaps), ("deep_m_budget", deep_gaps))
                for r, gap in enumerate(gaps)]
        evidence = Evidence({}, {"weight_averages": {"m": {}}},
                            measurements={"averages": {"averages": pd.DataFrame(rows)}})
        return evaluate_claims(evidence, {
            "keeps_up": {"statistic": "weight_average_vs_ensemble_snapshot", "metric": "accuracy",
                         "direction": "not_below", "margin": 1.0, "effect": 1.0, "seeds": 4},
            "control": {"statistic": "weight_average_vs_ensemble_deep_m_budget", "metric": "accuracy",
                        "direction": "less", "effect": 1.0, "seeds": 4}}).set_index("claim")

    passed = decide([0.1, -0.1, 0.0, 0.05], [0.5, -0.4, 0.3, -0.2])  # the deep average does not lose
    assert not passed.loc["control", "verdict"].startswith("holds")
    assert passed.loc["keeps_up", "verdict"] == "holds: no more than 1 points below"
    assert passed.loc["keeps_up", "note"] == "qualifier weight_average_vs_ensemble_deep_m_budget not shown to hold"
    undecided = decide([2.0, -3.0, 0.5, -2.5], [0.5, -0.4, 0.3, -0.2])
    assert undecided.loc["keeps_up", "verdict"].startswith("inconclusive")  # not untestable
    assert passed.loc["keeps_up", "family"] == "secondary" and passed.loc["control", "family"] == ""


@pytest.mark.parametrize("values", [
    [0.5, 0.9, 0.2, 0.7, 0.4, 1.0, 0.3, 0.6, 0.8, 0.5, 0.2, 0.9],  # near +δ: the upper test decides
    [0.1, -0.3, 0.2, 0.0, -0.1, 0.3, -0.2, 0.1],  # well within ±δ
])
def test_a_powered_nulls_replication_against_simulation(values):
    """The probability that a replication finds no effect worth detecting again, against the
    posterior predictive simulated directly (σ² and μ from their posterior, a replication of as
    many values, its two one-sided tests)."""
    from scipy import stats

    from distancing.claims.inference import null_replication

    v, effect, draws = np.asarray(values), 1.0, 200_000
    n, mean, sd = len(v), v.mean(), v.std(ddof=1)
    rng = np.random.default_rng(11)
    sigma2 = (n - 1) * sd**2 / rng.chisquare(n - 1, draws)
    replicate = rng.normal(rng.normal(mean, np.sqrt(sigma2 / n))[:, None], np.sqrt(sigma2)[:, None], (draws, n))
    se = replicate.std(1, ddof=1) / np.sqrt(n)
    critical = stats.t.ppf(0.95, n - 1)
    passes = ((replicate.mean(1) + effect) / se > critical) & ((replicate.mean(1) - effect) / se < -critical)
    assert null_replication(values, effect) == pytest.approx(passes.mean(), abs=0.02)


def barrier_table(hill: dict[str, list[float]], twin: dict[str, list[float]], apart: list[float],
                  apart_loss: list[float]) -> pd.DataFrame:
    """A barriers table of one panel: per pair ("33-39", "33-45", "39-45") the hill's and the twin's
    validation-error barrier per seed (a fraction; the training-loss barrier is half of it), the
    distance-matched step's (the twin's, here) and the independent pairs' (seeds 0, 2, ...)."""
    rows = [{"panel": "m", "series": series, "seed": seed, "pair": pair, "a_epoch": int(pair[:2]),
             "b_epoch": int(pair[3:]), "val_error_barrier": value, "train_loss_barrier": value / 2}
            for series, pairs in (("distancing", hill), ("no_hill", twin), ("matched", twin))
            for pair, values in pairs.items() for seed, value in enumerate(values)]
    rows += [{"panel": "m", "series": "independent", "seed": 2 * i, "pair": "45-45", "a_epoch": 45, "b_epoch": 45,
              "val_error_barrier": error, "train_loss_barrier": loss}
             for i, (error, loss) in enumerate(zip(apart, apart_loss, strict=True))]
    return pd.DataFrame(rows)


def test_basin_statistics_read_the_kind_of_pair_they_name():
    """The step is the first checkpoint to the next member (33-39), the checkpoint to the final
    member 33-45; 39-45 is measured but decided by neither. Errors in points, training-loss
    barriers as a fraction of the independent networks' mean."""
    from distancing.claims.catalogue import Evidence, statistics

    hill = {"33-39": [0.01, 0.02, 0.03], "33-45": [0.05, 0.07, 0.09], "39-45": [0.5, 0.5, 0.5]}
    twin = {"33-39": [0.001, 0.002, 0.0], "33-45": [0.003, 0.0, 0.001], "39-45": [0.4, 0.4, 0.4]}
    evidence = Evidence({}, {}, measurements={"barriers": {"barriers": barrier_table(hill, twin, [0.2, 0.3],
                                                                                     [2.0, 3.0])}})
    known = statistics()

    def values(name):
        return known[name].compute(evidence, "m", None)

    assert values("basin_val_error_hill_step") == pytest.approx([1.0, 2.0, 3.0])
    assert values("basin_val_error_twin_to_final") == pytest.approx([0.3, 0.0, 0.1])
    assert values("basin_train_loss_hill_to_final") == pytest.approx([0.025 / 2.5, 0.035 / 2.5, 0.045 / 2.5])
    assert values("barrier_val_error_hill_vs_twin_to_final") == pytest.approx([4.7, 7.0, 8.9])
    assert values("basin_val_error_independent") == pytest.approx([20.0, 30.0])


def test_a_threshold_claim_decides_one_basin_or_another_and_is_qualified_by_the_twin():
    """Against a declared threshold a claim decides either way: an interval below it is one basin,
    above it another, across it undecided; declared greater ("another basin"), above holds, declared
    less ("one basin"), below holds. The hill's "another basin" carries a note where the twin's
    pair is not shown to be one basin; the threshold is its size, so it is not graded."""
    from distancing.claims.catalogue import Evidence
    from distancing.claims.verdicts import evaluate_claims

    def decide(hill_final, twin_final):
        hill = {"33-39": [0.001, 0.002, 0.001, 0.0], "33-45": hill_final, "39-45": [0.0] * 4}
        twin = {"33-39": [0.0] * 4, "33-45": twin_final, "39-45": [0.0] * 4}
        table = barrier_table(hill, twin, [0.2, 0.3, 0.25, 0.35], [2.0, 2.5, 2.2, 2.4])
        declared = {f"{who}_{kind}": {"statistic": f"basin_val_error_{who}_{kind}",
                                      "direction": "greater" if who == "hill" else "less", "threshold": 2.0,
                                      "seeds": 4}
                    for who in ("hill", "twin", "matched") for kind in ("step", "to_final")}
        declared["control"] = {"statistic": "basin_val_error_independent", "direction": "greater", "threshold": 2.0,
                               "seeds": 4}
        figures = {"basins": {"m": {"series": {}}}}  # the panel the statistics read
        return evaluate_claims(Evidence({}, figures, measurements={"barriers": {"barriers": table}}),
                               declared).set_index("claim")

    apart = decide([0.08, 0.06, 0.09, 0.07], [0.001, 0.0, 0.002, 0.001])
    assert apart.loc["hill_to_final", "verdict"] == "holds: another basin (above 2 points)"
    assert apart.loc["hill_step", "verdict"] == "does not hold: one basin (below 2 points)"
    assert apart.loc["twin_to_final", "verdict"] == "holds: one basin (below 2 points)"
    assert apart.loc["control", "verdict"] == "holds: another basin (above 2 points)"
    assert apart.loc["hill_to_final", "note"] == "" and apart.loc["hill_to_final", "size"] == ""
    assert apart.loc["hill_to_final", "threshold"] == 2.0
    assert apart.loc["hill_to_final", "claimed"] == "another basin (above 2 points)"
    assert apart.loc["twin_to_final", "claimed"] == "one basin (below 2 points)"
    assert apart.loc["twin_to_final", "family"] == "" and apart.loc["hill_to_final", "family"] == "secondary"
    across = decide([0.01, 0.04, 0.0, 0.03], [0.001, 0.0, 0.002, 0.001])
    assert across.loc["hill_to_final", "verdict"] == "inconclusive"
    shared = decide([0.08, 0.06, 0.09, 0.07], [0.01, 0.04, 0.0, 0.03])  # the twin's own pair is undecided
    assert shared.loc["hill_to_final", "note"] == ("qualifier basin_val_error_twin_to_final, qualifier "
                                                   "basin_val_error_matched_to_final not shown to hold")


def test_the_page_decides_each_pair_from_both_measures_and_says_whether_averaging_agrees():
    """One basin where the error and the training-loss barrier both lie below their thresholds,
    another where either lies above; the sentence gives the numbers, the twin's and the
    independent networks'. Weight averaging agrees with "another basin" where the distancing
    members' average loses to their ensemble, and disagrees where it keeps up."""
    from distancing.claims.catalogue import Evidence
    from distancing.claims.verdicts import evaluate_claims
    from distancing.results_page import averaging, basins_decided

    hill = {"33-39": [0.001, 0.002, 0.001, 0.0], "33-45": [0.08, 0.06, 0.09, 0.07], "39-45": [0.0] * 4}
    twin = {"33-39": [0.0] * 4, "33-45": [0.001, 0.0, 0.002, 0.001], "39-45": [0.0] * 4}
    table = barrier_table(hill, twin, [0.2, 0.3, 0.25, 0.35], [2.0, 2.5, 2.2, 2.4])
    declared = {f"{who}_{kind}{loss}": {"statistic": f"basin_{column}_{who}_{kind}",
                                        "direction": "greater" if who == "hill" else "less",
                                        "threshold": 2.0 if column == "val_error" else 0.1, "seeds": 4}
                for who in ("hill", "twin") for kind in ("step", "to_final")
                for loss, column in (("", "val_error"), ("_loss", "train_loss"))}
    declared["control"] = {"statistic": "basin_val_error_independent", "direction": "greater", "threshold": 2.0,
                           "seeds": 4}
    claims = evaluate_claims(Evidence({}, {"basins": {"m": {"series": {}}}},
                                      measurements={"barriers": {"barriers": table}}), declared)
    step, final = basins_decided(claims)
    assert step.startswith("m, the hill's first checkpoint to the run's next member: the hill's pair is **one basin** "
                           "(validation-error barrier +0.1 points")
    assert final.startswith("m, the hill's first checkpoint to the run's final member: the hill's pair is **another "
                            "basin** (validation-error barrier +7.5 points")
    # the training loss is half the error (a fraction), against the independent networks' mean of 2.275 nats
    assert "training-loss barrier +0.0165 × the independent networks' barrier" in final
    # 20, 30, 25, 35 points: sd 6.455, half-width t(0.975, 3) · sd / 2 = 3.182 · 3.227 = 10.27
    assert "its twin's, one basin" in final and final.endswith("; independent networks, another basin "
                                                               "(validation-error barrier +27.5 points [+17.2, +37.8], "
                                                               "threshold 2).")
    loses = pd.DataFrame([{"statistic": "weight_average_vs_ensemble_distancing", "metric": "accuracy", "mean": -3.1,
                           "ci95_low": -4.0, "ci95_high": -2.2, "verdict": "holds: the average loses", "panel": "m"}])
    assert averaging(loses, "m", "another basin").startswith(" Weight averaging agrees: the distancing members "
                                                             "averaged into one network score -3.1 points")
    assert averaging(loses, "m", "one basin").startswith(" Weight averaging disagrees")
    assert averaging(loses.assign(verdict="inconclusive"), "m", "another basin").startswith(
        " Weight averaging cannot be compared")
    assert averaging(loses, "other", "another basin") == ""  # another model's members say nothing of this one's
