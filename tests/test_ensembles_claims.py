"""Ensemble metrics and claim statistics against hand-computed values."""

import math

import numpy as np
import pytest

from distancing.claims import STATISTICS, interval, minimum_detectable_effect, slope, verdict
from distancing.ensembles import accuracy, disagreement, ece, ensemble_row, final_first_order, nll

# Three samples, two classes, two members.
MEMBERS = np.array([
    [[0.9, 0.1], [0.4, 0.6], [0.3, 0.7]],
    [[0.7, 0.3], [0.8, 0.2], [0.1, 0.9]],
])
LABELS = np.array([0, 0, 1])


def test_accuracy_and_nll_of_the_averaged_ensemble():
    mean = MEMBERS.mean(0)  # [[0.8, 0.2], [0.6, 0.4], [0.2, 0.8]]: all three correct
    assert accuracy(mean, LABELS) == 1.0
    assert accuracy(MEMBERS[0], LABELS) == pytest.approx(2 / 3)
    assert nll(mean, LABELS) == pytest.approx(-(math.log(0.8) + math.log(0.6) + math.log(0.8)) / 3)


def test_ece_with_equal_width_bins():
    # Member 0: confidences 0.9 (correct), 0.6 (wrong), 0.7 (correct) fall in bins
    # (13/15, 14/15], (8/15, 9/15], (10/15, 11/15]: ECE = (0.1 + 0.6 + 0.3) / 3.
    assert ece(MEMBERS[0], LABELS) == pytest.approx((0.1 + 0.6 + 0.3) / 3)
    # Two samples in one bin: confidences 0.75 and 0.8, one right: |0.5 − 0.775|.
    probs = np.array([[0.75, 0.25], [0.8, 0.2]])
    assert ece(probs, np.array([0, 1])) == pytest.approx(0.275)


def test_disagreement_is_the_mean_over_pairs():
    assert disagreement(MEMBERS) == pytest.approx(1 / 3)  # sample 2: classes 1 and 0
    three = np.concatenate([MEMBERS, MEMBERS[:1]])  # pairs (0,1): 1/3, (0,2): 0, (1,2): 1/3
    assert disagreement(three) == pytest.approx(2 / 9)
    assert disagreement(MEMBERS[:1]) == 0.0


def test_ensemble_row_reports_the_mean_weight_distance():
    distances = np.array([[0.0, 3.0], [3.0, 0.0]])
    row = ensemble_row(MEMBERS, LABELS, distances)
    assert row["members"] == 2 and row["weight_distance"] == 3.0 and row["accuracy"] == 1.0


def test_members_grow_from_the_final_model_back():
    epochs = np.array([2, 4, 5, 8])
    kinds = np.array(["checkpoint", "checkpoint", "snapshot", "final"])
    assert final_first_order(epochs, kinds) == [3, 1, 0]


def test_interval_and_verdicts_name_the_direction():
    mean, low, high = interval([1.0, 2.0, 3.0])
    half = 4.303 * 1.0 / math.sqrt(3)  # t(0.975, 2) · s / √n with s = 1
    assert (mean, low, high) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
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
    assert slope([0, 1, 2], [1, 3, 5]) == pytest.approx(2.0)
    assert slope([0, 1, 2], [0.1, 0.1, 0.1]) == 0.0  # flat is exactly flat


def test_minimum_detectable_effect_of_a_paired_t_test():
    # n = 5, sd = 1: (t(0.975, 4) + t(0.80, 4)) / √5 = (2.776 + 0.941) / 2.236
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    sd = math.sqrt(2.5)
    assert minimum_detectable_effect(values) == pytest.approx((2.776 + 0.941) * sd / math.sqrt(5))
    # Three seeds detect about twice the effect five do at the same spread.
    ratio = minimum_detectable_effect([0.0, 1.0, 2.0]) / minimum_detectable_effect([0.0, 0.5, 1.0, 1.5, 2.0])
    five = (2.776 + 0.941) * math.sqrt(0.625) / math.sqrt(5)  # sd of 0, 0.5, ..., 2 is √0.625
    assert ratio == pytest.approx(((4.303 + 1.061) / math.sqrt(3)) / five)
    assert minimum_detectable_effect([1.0]) == math.inf


def write_run(root, name, val_acc, distances=()):
    run = root / name
    run.mkdir(parents=True)
    rows = "".join(f"{i + 1},0.1,0.5,0.5,0.5,{acc},0,0,ok\n" for i, acc in enumerate(val_acc))
    (run / "metrics.csv").write_text("epoch,lr,train_loss,train_acc,val_loss,val_acc,hill,checkpoints,status\n" + rows)
    (run / "distances.csv").write_text("epoch,checkpoint,checkpoint_epoch,distance\n" + "".join(
        f"{e},0,1,{d}\n" for e, d in distances))
    return name


def test_claims_are_decided_per_panel_and_untestable_when_their_control_fails(tmp_path):
    """Figure 3.7 with two panels: the control holds in one and fails in the other."""
    import pandas as pd

    from distancing.claims import Evidence, evaluate_claims

    runs, ensembles = {}, []
    panels = {}
    for panel, snapshot_gain in (("good", 2.0), ("bad", -1.0)):
        series = {"single": [], "no_hill": [], "distancing": []}
        for seed in range(3):
            for key in series:
                name = write_run(tmp_path, f"{panel}-{key}-{seed}", [0.9])
                series[key].append(name)
                runs[name] = tmp_path / name / "metrics.csv"
            base = 90.0 + seed
            gain = 0.1 * seed  # a spread, so that intervals have a width
            ensembles += [{"run": series["single"][-1], "members": 1, "accuracy": base / 100},
                          {"run": series["no_hill"][-1], "members": 3, "accuracy": (base + snapshot_gain + gain) / 100},
                          {"run": series["distancing"][-1], "members": 3, "accuracy": (base + 3.0 + gain) / 100}]
        panels[panel] = {"title": panel, "value": None,
                         "series": {k: {"label": k, "value": None, "runs": v} for k, v in series.items()}}
    evidence = Evidence({"metrics.csv": runs}, {"fig3_7": panels}, pd.DataFrame(ensembles))
    declared = {"beats": {"statistic": "ensemble_vs_single", "direction": "greater", "seeds": 3},
                "control": {"statistic": "snapshot_vs_single", "direction": "greater", "seeds": 3}}
    table = evaluate_claims(evidence, declared).set_index(["claim", "panel"])
    assert list(table.index)[:2] == [("control", "good"), ("control", "bad")]  # controls first
    assert table.loc[("control", "good"), "verdict"] == "holds: the snapshot ensemble beats one network"
    assert table.loc[("control", "bad"), "verdict"] == "does not hold: the snapshot ensemble loses to one network"
    assert table.loc[("beats", "good"), "verdict"] == "holds: the distancing ensemble beats one network"
    assert table.loc[("beats", "bad"), "verdict"].startswith("untestable in this profile: control snapshot_vs_single")
    assert table.loc[("beats", "good"), "mean"] == pytest.approx(3.1)  # points: 3 + 0.1 · mean seed
    assert table.loc[("beats", "good"), "n"] == 3


def fabricate_run(root, name, epochs, kinds, probs, weights):
    run = root / "runs" / name
    run.mkdir(parents=True)
    np.savez(run / "predictions.npz", probs=np.asarray(probs, dtype=np.float32), labels=LABELS,
             epochs=np.asarray(epochs), kinds=np.asarray(kinds), status=np.asarray("completed"),
             weight_distances=np.zeros((len(epochs), len(epochs))))
    np.savez(run / "weights.npz", weights=np.asarray(weights, dtype=np.float16), epochs=np.asarray(epochs),
             kinds=np.asarray(kinds))


def test_peer_rows_pick_members_and_measure_pairs(tmp_path):
    from distancing.ensembles import peer_rows

    a, b = MEMBERS
    fabricate_run(tmp_path, "sgdr", [2, 4, 6], ["snapshot", "checkpoint", "final"], [a, b, a],
                  [[0.0, 0.0], [1.0, 0.0], [3.0, 4.0]])
    fabricate_run(tmp_path, "deep0", [6], ["final"], [a], [[0.0, 0.0]])
    fabricate_run(tmp_path, "deep1", [6], ["final"], [b], [[0.0, 2.0]])
    peers = {"snapshot": [[("sgdr", [6, 2])]], "deep": [[("deep0", [6]), ("deep1", [6])]]}
    runs = tmp_path / "runs"
    predictions = {run.name: run / "predictions.npz" for run in runs.iterdir()}
    weights = {run.name: run / "weights.npz" for run in runs.iterdir()}
    rows, pairs = peer_rows(predictions, weights, peers, members=3, method_labels={"snapshot": "S", "deep": "D"})
    snapshot = [r for r in rows if r["method"] == "snapshot"]
    assert {r["label"] for r in snapshot} == {"S"}
    # The members named by epoch, in that order: final (epoch 6), then epoch 2; epoch 4 is left out.
    assert [r["members"] for r in snapshot] == [1, 2]
    assert snapshot[1]["weight_distance"] == pytest.approx(5.0)  # ‖(3, 4) − (0, 0)‖
    deep = [r for r in rows if r["method"] == "deep"]
    assert deep[1]["accuracy"] == 1.0 and deep[1]["disagreement"] == pytest.approx(1 / 3)
    (pair,) = [p for p in pairs if p["method"] == "deep"]
    assert pair["weight_distance"] == pytest.approx(2.0) and pair["pair_accuracy"] == 1.0
    with pytest.raises(ValueError, match="run sgdr: no stored member at epoch 5"):
        peer_rows(predictions, weights, {"snapshot": [[("sgdr", [6, 5])]]}, members=3, method_labels={"snapshot": "S"})


def test_the_weight_decay_claim_subtracts_each_no_hill_twin(tmp_path):
    """The jump of the distance to the first checkpoint after the second (epoch 2 -> 3), hill − twin,
    with weight decay − without: (1.0 − 0.4) − (0.5 − 0.3) = 0.4."""
    from distancing.claims import Evidence, evaluate_claims

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
    table = evaluate_claims(Evidence({"distances.csv": files}, {"fig3_5": panels}),
                            {"jump": {"statistic": "weight_decay_distance_jump", "direction": "differs", "seeds": 2}})
    (row,) = table.to_dict("records")  # one row for the figure, not one per panel
    assert row["panel"] == "" and row["mean"] == pytest.approx(0.4) and row["n"] == 1
