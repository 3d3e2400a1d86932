"""Ensemble metrics from stored validation probabilities (numpy only, no torch).

An ensemble averages its members' class probabilities. Everything here works on arrays of
shape (members, samples, classes), so adding a metric never means retraining.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .members import load_members

if TYPE_CHECKING:
    import pandas as pd

ECE_BINS = 15


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float((probs.argmax(-1) == labels).mean())


def nll(probs: np.ndarray, labels: np.ndarray, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood of the true class."""
    return float(-np.log(np.clip(probs[np.arange(len(labels)), labels], eps, None)).mean())


def scaled_nll(log_probs: np.ndarray, labels: np.ndarray, beta: float) -> float:
    """NLL of softmax(β · log p): the probabilities tempered by T = 1/β (β = 1 leaves them as they are)."""
    z = beta * log_probs
    top = z.max(-1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(z - top).sum(-1))
    return float((log_norm - z[np.arange(len(labels)), labels]).mean())


def fit_inverse_temperature(log_probs: np.ndarray, labels: np.ndarray, tolerance: float = 1e-10) -> float:
    """The β = 1/T that minimises ``scaled_nll`` (Guo et al. 2017), by Newton's method on β.

    With z = log p and q = softmax(β z): NLL(β) = mean(logsumexp(β z) − β z_y), so
    NLL'(β) = mean(E_q[z] − z_y) and NLL''(β) = mean(Var_q[z]) ≥ 0: convex in β, and a Newton
    step kept inside the bracket where the derivative changes sign (bisection where it would
    leave it) converges in a few iterations. z is clipped so that a probability of 0 counts
    as log 1e-12, as in ``nll``."""
    z = np.maximum(log_probs, math.log(1e-12))
    z_true = z[np.arange(len(labels)), labels]
    low, high, beta = 0.0, 1e3, 1.0
    for _ in range(100):
        w = beta * z
        q = np.exp(w - w.max(-1, keepdims=True))
        q /= q.sum(-1, keepdims=True)
        mean_z = (q * z).sum(-1)
        slope = float((mean_z - z_true).mean())
        curvature = float(((q * z * z).sum(-1) - mean_z**2).mean())
        low, high = (beta, high) if slope < 0 else (low, beta)
        step = beta - slope / curvature if curvature > 0 else math.nan
        new = step if low < step < high else (low + high) / 2
        if abs(new - beta) <= tolerance * max(1.0, beta):
            return new
        beta = new
    return beta


def calibrated_nll(probs: np.ndarray, labels: np.ndarray, eps: float = 1e-12) -> float:
    """NLL after temperature scaling, the temperature fitted by 2-fold cross-validation on the
    same set (Ashukha et al. 2020): fit on the first half, score the second, swap, and average
    over all samples. Comparing ensembles by it does not punish an ensemble for its members'
    miscalibration, which one scalar per model removes."""
    log_probs = np.log(np.clip(probs, eps, None))
    halves = np.array_split(np.arange(len(labels)), 2)
    total = 0.0
    for fit, score in (halves, halves[::-1]):
        beta = fit_inverse_temperature(log_probs[fit], labels[fit])
        total += len(score) * scaled_nll(log_probs[score], labels[score], beta)
    return total / len(labels)


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error over equal-width confidence bins (Guo et al. 2017).

    Bin b holds the samples with confidence in (b/B, (b+1)/B]; ECE = Σ_b n_b/N · |acc_b − conf_b|.
    """
    confidence = probs.max(-1)
    correct = probs.argmax(-1) == labels
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.sum() / len(labels) * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def disagreement(member_probs: np.ndarray) -> float:
    """Mean over member pairs of the fraction of samples whose predicted classes differ."""
    predictions = member_probs.argmax(-1)
    pairs = list(combinations(range(len(predictions)), 2))
    if not pairs:
        return 0.0
    return float(np.mean([(predictions[i] != predictions[j]).mean() for i, j in pairs]))


def mean_pairwise(matrix: np.ndarray) -> float:
    """Mean of the off-diagonal upper triangle of a symmetric (members × members) matrix."""
    upper = matrix[np.triu_indices(len(matrix), k=1)]
    return float(upper.mean()) if upper.size else 0.0


def ensemble_row(member_probs: np.ndarray, labels: np.ndarray, weight_distances: np.ndarray | None = None,
                 member_nll_calibrated: Sequence[float] | None = None) -> dict[str, float]:
    """All metrics of the ensemble that averages ``member_probs`` (members × samples × classes),
    and its best member's accuracy and calibrated NLL (each the best of the members on its own):
    the ensemble − its best member is the gain of ensembling alone. ``member_nll_calibrated``:
    the members' own calibrated NLLs where the caller has them (``growing_ensemble_rows``)."""
    mean = member_probs.mean(0)
    if member_nll_calibrated is None:
        member_nll_calibrated = [calibrated_nll(p, labels) for p in member_probs]
    return {
        "members": len(member_probs),
        "accuracy": accuracy(mean, labels),
        "nll": nll(mean, labels),
        "nll_calibrated": calibrated_nll(mean, labels),
        "best_member_accuracy": max(accuracy(p, labels) for p in member_probs),
        "best_member_nll_calibrated": min(member_nll_calibrated),
        "ece": ece(mean, labels),
        "disagreement": disagreement(member_probs),
        "weight_distance": mean_pairwise(weight_distances) if weight_distances is not None else float("nan"),
    }


def growing_ensemble_rows(member_probs: np.ndarray, labels: np.ndarray,
                          weight_distances: np.ndarray) -> tuple[list[dict[str, float]], list[float]]:
    """``ensemble_row`` of the first k members for k = 1..M (an ensemble grown one member at a
    time), and each member's own calibrated NLL, fitted once: the best member of the first k is
    the best of theirs (a temperature fit is most of an ensemble table's cost)."""
    own = [calibrated_nll(p, labels) for p in member_probs]
    return [ensemble_row(member_probs[:k], labels, weight_distances[:k, :k], own[:k])
            for k in range(1, len(member_probs) + 1)], own


def full_ensembles(table: pd.DataFrame, *by: str) -> pd.DataFrame:
    """The rows of an ensemble table with the most members in each group of ``by`` (the full
    ensembles; a table grows each ensemble one member per row)."""
    return table[table["members"] == table.groupby(list(by))["members"].transform("max")]


def load_predictions(path: str | Path) -> dict[str, np.ndarray]:
    """A run's predictions.npz as a dict of arrays."""
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def final_first_order(epochs: np.ndarray, kinds: np.ndarray) -> list[int]:
    """Member order for growing a run's ensemble: the final model, then its checkpoints newest first.

    With one member the ensemble is the single network; each addition reaches further back.
    """
    members = [i for i, k in enumerate(kinds) if k in ("final", "checkpoint")]
    return sorted(members, key=lambda i: (kinds[i] != "final", -int(epochs[i])))


def checkpoint_ensemble_rows(predictions: Mapping[str, Path], records: pd.DataFrame) -> list[dict]:
    """For each run (name -> predictions.npz): the ensemble of its final model and checkpoints,
    growing one member at a time; its seed and group from the plan's member records (members.csv)."""
    runs = records.drop_duplicates("run").set_index("run")
    rows = []
    for name, path in predictions.items():
        p = load_predictions(path)
        order = final_first_order(p["epochs"], p["kinds"])
        grown, _ = growing_ensemble_rows(p["probs"][order], p["labels"], p["weight_distances"][np.ix_(order, order)])
        for k, row in enumerate(grown, start=1):
            rows.append({"run": name, "group": runs.at[name, "group"], "seed": int(runs.at[name, "seed"]),
                         "status": str(p["status"]), "member_epochs": "+".join(str(p["epochs"][i]) for i in order[:k]),
                         **row})
    return rows


def peer_members(predictions: Mapping[str, Path], stored: Mapping[str, Path], members: list[tuple[str, list[int]]]):
    """Probabilities, labels and float32 weight vectors of one peer ensemble's members, in order.

    ``members`` lists (run name, member epochs): the stored members (final model, checkpoints,
    snapshots) of each run at those epochs, in the order given. A diverged run contributes
    nothing (it has no final model). ``predictions`` and ``stored`` map run names to their
    predictions.npz and members.npz (``members.py``).
    """
    probs, vectors, labels = [], [], None
    for name, epochs in members:
        p = load_predictions(predictions[name])
        labels = p["labels"]
        if "final" not in p["kinds"]:
            continue
        kept = {int(epoch): i for i, epoch in enumerate(p["epochs"])}
        missing = [epoch for epoch in epochs if epoch not in kept]
        if missing:
            raise ValueError(f"run {name}: no stored member at epoch {', '.join(map(str, missing))}")
        weights = load_members(stored[name]).weight_vectors()
        for epoch in epochs:
            probs.append(p["probs"][kept[epoch]])
            vectors.append(weights[kept[epoch]])
    return np.stack(probs) if probs else None, labels, np.stack(vectors) if vectors else None


def pairwise_weight_distances(weights: np.ndarray) -> np.ndarray:
    """L2 distances between members, one pair at a time: memory of one parameter vector, not
    members² of them (ResNet-18 has 11 M parameters)."""
    distances = np.zeros((len(weights), len(weights)))
    for i, j in combinations(range(len(weights)), 2):
        distances[i, j] = distances[j, i] = np.linalg.norm((weights[i] - weights[j]).astype(np.float64))
    return distances


def peer_rows(predictions: Mapping[str, Path], stored: Mapping[str, Path], peers: Mapping[str, Mapping],
              members: int) -> tuple[list[dict], list[dict], list[dict]]:
    """Per model, method and replicate: metrics of the ensemble of its first k members (k = 1..M),
    one row per pair of members (disagreement, weight distance, accuracy of the pair) and one per
    member (its own accuracy and calibrated NLL). ``peers`` is ``plan.Plan.peers()``: model ->
    method key -> its label, budget (epochs) and ensembles. ``method`` is the method's key,
    ``label`` its display text."""
    rows, pairs, scores = [], [], []
    for model, by_key in peers.items():
        for method, peer in by_key.items():
            about = {"model": model, "method": method, "label": peer["label"], "budget": peer["budget"]}
            for replicate, spec in enumerate(peer["ensembles"]):
                probs, labels, vectors = peer_members(predictions, stored, spec)
                if probs is None:
                    continue
                probs, vectors = probs[:members], vectors[:members]
                distances = pairwise_weight_distances(vectors)
                grown, own = growing_ensemble_rows(probs, labels, distances)
                rows += [{**about, "replicate": replicate, **row} for row in grown]
                for i, j in combinations(range(len(probs)), 2):
                    pairs.append({**about, "replicate": replicate, "member_a": i, "member_b": j,
                                  "disagreement": disagreement(probs[[i, j]]), "weight_distance": distances[i, j],
                                  "pair_accuracy": accuracy(probs[[i, j]].mean(0), labels)})
                for i, p in enumerate(probs):
                    scores.append({**about, "replicate": replicate, "member": i, "accuracy": accuracy(p, labels),
                                   "nll_calibrated": own[i]})
    return rows, pairs, scores
