"""Ensemble metrics and claim statistics against hand-computed values."""

import math

import numpy as np
import pytest

from distancing.claims import interval, slope, verdict
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


def test_interval_and_verdicts():
    mean, low, high = interval([1.0, 2.0, 3.0])
    half = 4.303 * 1.0 / math.sqrt(3)  # t(0.975, 2) · s / √n with s = 1
    assert (mean, low, high) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
    assert interval([1.0, float("nan"), 3.0])[0] == 2.0  # a diverged run is left out
    assert verdict(0.1, 0.5, "greater") == "holds"
    assert verdict(-0.5, -0.1, "greater") == "does not hold"
    assert verdict(-0.1, 0.5, "greater") == "inconclusive"
    assert verdict(-0.5, -0.1, "differs") == "holds"
    assert verdict(-0.02, 0.01, "greater", threshold=-0.03) == "holds"
    assert slope([0, 1, 2], [1, 3, 5]) == pytest.approx(2.0)


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
    peers = {"snapshot": [[("sgdr", "final+snapshots")]], "deep": [[("deep0", "final"), ("deep1", "final")]]}
    runs = tmp_path / "runs"
    predictions = {run.name: run / "predictions.npz" for run in runs.iterdir()}
    weights = {run.name: run / "weights.npz" for run in runs.iterdir()}
    rows, pairs = peer_rows(predictions, weights, peers, members=3)
    snapshot = [r for r in rows if r["method"] == "snapshot"]
    # final (epoch 6) then the snapshot at epoch 2; the checkpoint is not a snapshot member.
    assert [r["members"] for r in snapshot] == [1, 2]
    assert snapshot[1]["weight_distance"] == pytest.approx(5.0)  # ‖(3, 4) − (0, 0)‖
    deep = [r for r in rows if r["method"] == "deep"]
    assert deep[1]["accuracy"] == 1.0 and deep[1]["disagreement"] == pytest.approx(1 / 3)
    (pair,) = [p for p in pairs if p["method"] == "deep"]
    assert pair["weight_distance"] == pytest.approx(2.0) and pair["pair_accuracy"] == 1.0
