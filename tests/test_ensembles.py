"""Ensemble metrics (``ensembles.py``) and members stored whole (``members.py``) against hand-computed values."""

import math

import numpy as np
import pytest

from distancing.ensembles import (
    accuracy,
    calibrated_nll,
    disagreement,
    ece,
    ensemble_row,
    final_first_order,
    growing_ensemble_rows,
    nll,
)
from distancing.members import MembersError, load_members, save_members

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


def test_calibrated_nll_against_an_independent_temperature_fit():
    """2-fold cross-validated temperature scaling: scipy's bounded scalar minimiser on T for
    each half against the golden-section search on log(1/T) of ensembles.py."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    from distancing.ensembles import calibrated_nll

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(301, 10)) * 5  # overconfident: calibration must help
    labels = (logits + rng.normal(size=logits.shape) * 4).argmax(-1)
    probs = np.exp(log_softmax(logits, -1))
    log_probs = np.log(probs)
    halves = (np.arange(151), np.arange(151, 301))  # np.array_split's halves of 301

    def held_out(fit, score):
        def loss(t):
            return -log_softmax(log_probs[fit] / t, -1)[np.arange(len(fit)), labels[fit]].mean()

        t = minimize_scalar(loss, bounds=(1e-2, 1e2), method="bounded", options={"xatol": 1e-10}).x
        return -log_softmax(log_probs[score] / t, -1)[np.arange(len(score)), labels[score]].sum()

    expected = (held_out(halves[0], halves[1]) + held_out(halves[1], halves[0])) / len(labels)
    assert calibrated_nll(probs, labels) == pytest.approx(expected, rel=1e-7)
    assert calibrated_nll(probs, labels) < nll(probs, labels)


def test_ensemble_rows_carry_the_best_member():
    row = ensemble_row(MEMBERS, LABELS)
    assert row["best_member_accuracy"] == 1.0  # member 0: 2 of 3 right; member 1: all 3
    from distancing.ensembles import calibrated_nll

    assert row["best_member_nll_calibrated"] == pytest.approx(min(calibrated_nll(m, LABELS) for m in MEMBERS))
    assert row["nll_calibrated"] == pytest.approx(calibrated_nll(MEMBERS.mean(0), LABELS))


def fabricate_run(root, name, epochs, kinds, probs, weights):
    run = root / "runs" / name
    run.mkdir(parents=True)
    np.savez(run / "predictions.npz", probs=np.asarray(probs, dtype=np.float32), labels=LABELS,
             epochs=np.asarray(epochs), kinds=np.asarray(kinds), status=np.asarray("completed"),
             weight_distances=np.zeros((len(epochs), len(epochs))))
    # Members stored whole: a 2-parameter "network" split over two entries, and a buffer that
    # weight distances must ignore.
    weights = np.asarray(weights, dtype=np.float32)
    states = [{"a.weight": w[:1], "b.weight": w[1:], "bn.running_var": np.full(3, 100.0 * i, np.float32)}
              for i, w in enumerate(weights)]
    save_members(run / "members.npz", epochs, kinds, states, ["a.weight", "b.weight"], states[0])


def test_a_grown_ensemble_fits_each_members_temperature_once_and_writes_the_rows_of_each_ensemble_alone():
    rng = np.random.default_rng(4)
    probs = rng.dirichlet(np.ones(5) * 0.3, size=(3, 400)).astype(np.float32)
    labels = rng.integers(0, 5, 400)
    distances = rng.random((3, 3))
    distances = distances + distances.T
    grown, own = growing_ensemble_rows(probs, labels, distances)
    assert own == [calibrated_nll(p, labels) for p in probs]
    assert grown == [ensemble_row(probs[:k], labels, distances[:k, :k]) for k in (1, 2, 3)]
    assert grown[2]["best_member_nll_calibrated"] == min(own)


def test_peer_rows_pick_members_and_measure_pairs(tmp_path):
    from distancing.ensembles import peer_rows

    a, b = MEMBERS
    fabricate_run(tmp_path, "sgdr", [2, 4, 6], ["snapshot", "checkpoint", "final"], [a, b, a],
                  [[0.0, 0.0], [1.0, 0.0], [3.0, 4.0]])
    fabricate_run(tmp_path, "deep0", [6], ["final"], [a], [[0.0, 0.0]])
    fabricate_run(tmp_path, "deep1", [6], ["final"], [b], [[0.0, 2.0]])
    peers = {"m": {"snapshot": {"label": "S", "budget": 6, "ensembles": [[("sgdr", [6, 2])]]},
                   "deep": {"label": "D", "budget": 12, "ensembles": [[("deep0", [6]), ("deep1", [6])]]}},
             "other": {"deep": {"label": "D", "budget": 12, "ensembles": [[("deep1", [6])]]}}}
    runs = tmp_path / "runs"
    predictions = {run.name: run / "predictions.npz" for run in runs.iterdir()}
    stored = {run.name: run / "members.npz" for run in runs.iterdir()}
    rows, pairs, scores = peer_rows(predictions, stored, peers, members=3)
    # Each model its own rows: the other model's one-member ensemble is its own, not the m's.
    assert [(r["model"], r["members"], r["accuracy"]) for r in rows if r["model"] == "other"] == [("other", 1, 1.0)]
    assert not [p for p in pairs if p["model"] == "other"]
    rows, pairs, scores = ([r for r in table if r["model"] == "m"] for table in (rows, pairs, scores))
    # Each member's own scores: the deep ensemble's are a (2 of 3 right) and b (all right).
    assert [(r["member"], r["accuracy"]) for r in scores if r["method"] == "deep"] == [(0, 2 / 3), (1, 1.0)]
    assert [r["nll_calibrated"] for r in scores if r["method"] == "deep"] == pytest.approx(
        [calibrated_nll(m.astype(np.float32), LABELS) for m in (a, b)])  # as stored
    assert [r["member"] for r in scores if r["method"] == "snapshot"] == [0, 1]
    snapshot = [r for r in rows if r["method"] == "snapshot"]
    assert {(r["label"], r["budget"]) for r in snapshot} == {("S", 6)}
    # The members named by epoch, in that order: final (epoch 6), then epoch 2; epoch 4 is left out.
    assert [r["members"] for r in snapshot] == [1, 2]
    assert snapshot[1]["weight_distance"] == pytest.approx(5.0)  # ‖(3, 4) − (0, 0)‖
    deep = [r for r in rows if r["method"] == "deep"]
    assert deep[1]["accuracy"] == 1.0 and deep[1]["disagreement"] == pytest.approx(1 / 3)
    (pair,) = [p for p in pairs if p["method"] == "deep"]
    assert pair["weight_distance"] == pytest.approx(2.0) and pair["pair_accuracy"] == 1.0
    with pytest.raises(ValueError, match="run sgdr: no stored member at epoch 5"):
        peer_rows(predictions, stored, {"m": {"snapshot": {"label": "S", "budget": 6,
                                                          "ensembles": [[("sgdr", [6, 5])]]}}}, members=3)


def test_members_are_stored_whole_and_an_earlier_version_is_refused_in_one_line(tmp_path):
    """Parameters and buffers come back exactly, per member, by epoch; weight vectors hold only
    the parameters, in the model's order; weights.npz of an earlier version says to retrain."""
    states = [{"w": np.arange(4, dtype=np.float32).reshape(2, 2) + i, "bn.running_mean": np.full(2, i, np.float32),
               "bn.num_batches_tracked": np.asarray(7 * i)} for i in range(3)]
    save_members(tmp_path / "members.npz", [2, 4, 6], ["snapshot", "checkpoint", "final"], states, ["w"], states[0])
    members = load_members(tmp_path / "members.npz")
    assert len(members) == 3 and members.kinds.tolist() == ["snapshot", "checkpoint", "final"]
    state = members.state(members.index(4))
    assert {k: v.tolist() for k, v in state.items()} == {k: v.tolist() for k, v in states[1].items()}
    assert state["bn.num_batches_tracked"].dtype == np.int64
    assert members.weight_vectors().tolist() == [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]]
    with pytest.raises(MembersError, match="no member kept after epoch 5"):
        members.index(5)
    (tmp_path / "old").mkdir()
    np.savez(tmp_path / "old" / "members.npz", weights=np.zeros((1, 4), np.float16))
    with pytest.raises(MembersError) as error:
        load_members(tmp_path / "old" / "members.npz")
    assert "\n" not in str(error.value) and str(error.value).endswith("retrain the run")
    save_members(tmp_path / "none.npz", [], [], [], ["w"], states[0])
    assert len(load_members(tmp_path / "none.npz")) == 0
    assert load_members(tmp_path / "none.npz").weight_vectors().shape == (0, 4)
