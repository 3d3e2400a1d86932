"""Loss barriers (basins.py) against an independent computation on a tiny network."""

import numpy as np
import pytest
import torch
from torch import nn

from distancing import compiled, numerics
from distancing.basins import barrier, forward_pass, line
from distancing.data import Dataset


def tiny_network() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def logits(state, mean, var, inputs):
    """The tiny network in numpy, in evaluation mode with BatchNorm statistics ``mean`` and ``var``."""
    hidden = inputs @ state["0.weight"].T + state["0.bias"]
    normed = (hidden - mean) / np.sqrt(var + 1e-5) * state["1.weight"] + state["1.bias"]
    return np.maximum(normed, 0) @ state["3.weight"].T + state["3.bias"]


def cross_entropy(logits, y):
    shifted = logits - logits.max(1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean()), float((logits.argmax(1) != y).mean())


def test_a_measurement_uses_its_runs_forward_pass_compiled_where_the_run_compiled():
    eager = {"train": {"compile": False}, "numerics": "portable"}
    assert forward_pass(eager) is compiled.logits_of
    auto = {"train": {"compile": "auto"}, "numerics": "portable"}
    assert (forward_pass(auto) is compiled.logits_of) is not numerics.has_avx2()
    assert forward_pass({"train": {"compile": True}, "numerics": "native"}) is not compiled.logits_of


@pytest.mark.parametrize("forward", ["eager", "compiled"])
def test_the_path_recomputes_batchnorm_at_every_point_and_matches_a_numpy_network(forward):
    generator = torch.Generator().manual_seed(0)
    x_train, x_val = torch.randn(64, 3, generator=generator), torch.randn(40, 3, generator=generator)
    y_train, y_val = (x_train[:, 0] > 0).long(), (x_val[:, 0] > 0).long()
    data = Dataset("toy", x_train, y_train, x_val, y_val, num_classes=2)
    torch.manual_seed(1)
    a = {k: v.numpy().copy() for k, v in tiny_network().state_dict().items()}
    b = {k: v.numpy().copy() for k, v in tiny_network().state_dict().items()}
    a["1.running_mean"][:] = 50.0  # stale statistics, which the path must not use
    parameters = [k for k in a if k.endswith(("weight", "bias"))]
    # The measurements' forward pass as it runs (Inductor's code where the runs compiled, BatchNorm's
    # cumulative average a constant momentum per batch), or eager.
    passes = compiled.steps(forward == "compiled", torch.device("cpu"))[1]
    rows = line(tiny_network(), a, b, parameters, data, points=5, samples=48, batch_size=16, forward=passes)
    assert [r["t"] for r in rows] == [0.0, 0.25, 0.5, 0.75, 1.0]
    for row in rows:
        t = row["t"]
        state = {k: (1 - t) * a[k].astype(np.float64) + t * b[k].astype(np.float64) for k in parameters}
        x, y = x_train[:48].numpy().astype(np.float64), y_train[:48].numpy()
        # One pass of three batches of 16: the cumulative average of the batch means and unbiased
        # variances of each batch.
        hidden = x @ state["0.weight"].T + state["0.bias"]
        batches = np.split(hidden, 3)
        mean = np.mean([h.mean(0) for h in batches], axis=0)
        var = np.mean([h.var(0, ddof=1) for h in batches], axis=0)

        train_loss, _ = cross_entropy(logits(state, mean, var, x), y)
        val_loss, val_error = cross_entropy(logits(state, mean, var, x_val.numpy().astype(np.float64)), y_val.numpy())
        assert row["train_loss"] == pytest.approx(train_loss, rel=1e-4)
        assert row["val_loss"] == pytest.approx(val_loss, rel=1e-4)
        assert row["val_error"] == pytest.approx(val_error)


def test_the_barrier_is_the_largest_excess_over_the_blend_of_the_endpoints():
    t = np.linspace(0, 1, 5)
    assert barrier(t, [1.0, 1.25, 1.5, 1.75, 2.0]) == pytest.approx(0.0)  # a straight line: one basin
    assert barrier(t, [1.0, 3.0, 2.0, 1.0, 2.0]) == pytest.approx(3.0 - 1.25)  # the ridge at t = 0.25
    assert barrier(t, [2.0, 1.0, 0.5, 1.0, 2.0]) == 0.0  # a valley between: no barrier (the endpoints count)
    # By brute force over the points, against the formula's vector form.
    rng = np.random.default_rng(0)
    for _ in range(20):
        values = rng.normal(size=7)
        ts = np.linspace(0, 1, 7)
        assert barrier(ts, values) == pytest.approx(
            max(v - ((1 - s) * values[0] + s * values[-1]) for s, v in zip(ts, values, strict=True)))


def test_members_average_in_weight_space_and_the_line_ends_at_the_members_exactly():
    """The average is the mean of the parameters (buffers are recomputed later, so the first
    member's are kept); the line's endpoints are the members' own float32 values."""
    from distancing.basins import average, blend

    rng = np.random.default_rng(1)
    states = [{"w": rng.normal(size=(3, 2)).astype(np.float32), "bn.running_mean": np.full(2, i, np.float32)}
              for i in range(3)]
    mean = average(states, ["w"])
    assert np.allclose(mean["w"].numpy(), np.mean([s["w"] for s in states], axis=0), atol=1e-7)
    assert mean["w"].dtype == torch.float32 and mean["bn.running_mean"].tolist() == [0.0, 0.0]
    assert np.array_equal(blend(states[0], states[1], 0.0, ["w"])["w"].numpy(), states[0]["w"])
    assert np.array_equal(blend(states[0], states[1], 1.0, ["w"])["w"].numpy(), states[1]["w"])


def test_the_plane_puts_the_three_members_at_their_coordinates():
    """A grid point at a member's coordinates mixes exactly that member; the axes are orthonormal,
    so the coordinates keep the members' distances."""
    from distancing.basins import mix, plane_weights

    rng = np.random.default_rng(2)
    a, b, c = ({"w": rng.normal(size=(4, 3)).astype(np.float32), "b": rng.normal(size=3).astype(np.float32)}
               for _ in range(3))
    points, corners = plane_weights(a, b, c, ["w", "b"], grid=5, margin=0.0)
    flat = {k: np.concatenate([s["w"].ravel(), s["b"].ravel()]).astype(np.float64)
            for k, s in zip("abc", (a, b, c), strict=True)}
    for i, j in (("a", "b"), ("a", "c"), ("b", "c")):
        assert np.hypot(*np.subtract(corners[i], corners[j])) == pytest.approx(np.linalg.norm(flat[i] - flat[j]))
    assert len(points) == 25
    xs, ys = sorted({p["x"] for p in points}), sorted({p["y"] for p in points})
    assert xs[-1] - xs[0] == pytest.approx(ys[-1] - ys[0])  # a square
    # Every point is a + x û + y v̂, û along b − a and v̂ the part of c − a orthogonal to it.
    u = (flat["b"] - flat["a"]) / np.linalg.norm(flat["b"] - flat["a"])
    v = (flat["c"] - flat["a"]) - ((flat["c"] - flat["a"]) @ u) * u
    v /= np.linalg.norm(v)
    for point in points:
        mixed = mix([a, b, c], point["weights"], ["w", "b"])
        theta = np.concatenate([mixed["w"].numpy().ravel(), mixed["b"].numpy().ravel()]).astype(np.float64)
        assert (theta - flat["a"]) @ u == pytest.approx(point["x"], abs=1e-5)
        assert (theta - flat["a"]) @ v == pytest.approx(point["y"], abs=1e-5)
        assert np.linalg.norm(theta - flat["a"] - point["x"] * u - point["y"] * v) < 1e-5  # in the plane
