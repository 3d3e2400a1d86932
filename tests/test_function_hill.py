"""The function-space hill: its distances against independent formulas, its value at the
checkpoint, and its autograd gradient against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

from distancing import config as config_module
from distancing.function_hill import DISTANCES, FunctionHill, to_checkpoints


def random_log_probs(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.log_softmax(3 * torch.randn(*shape, generator=g, dtype=torch.float64), dim=-1)


def test_the_distances_match_scipy_and_numpy():
    log_p, log_q = random_log_probs(6, 10, seed=1), random_log_probs(6, 10, seed=2)
    p, q = log_p.exp().numpy(), log_q.exp().numpy()
    js = [jensenshannon(a, b) ** 2 for a, b in zip(p, q, strict=True)]  # scipy's is the square root, in nats
    assert DISTANCES["jensen_shannon"](log_p, log_q).numpy() == pytest.approx(js, rel=1e-10)
    kl = [entropy(a, b) + entropy(b, a) for a, b in zip(p, q, strict=True)]
    assert DISTANCES["symmetric_kl"](log_p, log_q).numpy() == pytest.approx(kl, rel=1e-10)
    assert DISTANCES["squared_probabilities"](log_p, log_q).numpy() == pytest.approx(((p - q) ** 2).sum(1))
    logs = ((np.log(p) - np.log(q)) ** 2).sum(1)
    assert DISTANCES["squared_log_probabilities"](log_p, log_q).numpy() == pytest.approx(logs)
    # Jensen-Shannon: symmetric, zero on itself, at most ln 2 (disjoint supports come close).
    js = DISTANCES["jensen_shannon"]
    assert torch.allclose(js(log_p, log_q), js(log_q, log_p))
    assert js(log_p, log_p).abs().max().item() < 1e-12
    sure = torch.log(torch.tensor([[1 - 1e-12, 1e-12], [1e-12, 1 - 1e-12]], dtype=torch.float64))
    assert js(sure[:1], sure[1:]).item() == pytest.approx(math.log(2), rel=1e-6)
    assert tuple(DISTANCES) == config_module.FUNCTION_DISTANCES


def test_to_checkpoints_is_the_mean_over_samples_for_each_checkpoint():
    log_p, stored = random_log_probs(5, 4, seed=3), random_log_probs(3, 5, 4, seed=4)
    js = DISTANCES["jensen_shannon"]
    want = [js(log_p, stored[c]).mean().item() for c in range(3)]
    assert to_checkpoints(js, log_p, stored).tolist() == pytest.approx(want, rel=1e-12)


def hill_with(stored: torch.Tensor, strength: float = 2.0, sigma2: float = 0.05) -> FunctionHill:
    hill = FunctionHill(strength, sigma2, "jensen_shannon")
    for epoch, log_probs in enumerate(stored, 1):
        hill.add_checkpoint(torch.zeros(1), epoch, log_probs)
    hill.log_probs = stored.clone()  # float64 for the comparisons (add_checkpoint keeps float32)
    return hill


def test_the_term_is_the_formula_and_s_at_the_checkpoint_itself():
    stored = random_log_probs(2, 8, 5, seed=5)  # two checkpoints, 8 training samples, 5 classes
    hill = hill_with(stored)
    assert FunctionHill(2.0, 0.05, "jensen_shannon").loss_term(torch.zeros(3, 5), torch.arange(3)) is None
    index = torch.tensor([6, 1, 3])
    logits = 2 * torch.randn(3, 5, dtype=torch.float64)
    log_p = torch.log_softmax(logits, -1)
    heights = [math.exp(-DISTANCES["jensen_shannon"](log_p, stored[c, index]).mean().item() / (2 * 0.05))
               for c in range(2)]
    assert hill.loss_term(logits, index).item() == pytest.approx(2.0 * np.mean(heights), rel=1e-10)
    # On the first checkpoint's own predictions its hill has height 1.
    one = hill_with(stored[:1])
    assert one.loss_term(stored[0, index], index).item() == pytest.approx(2.0, rel=1e-12)
    assert FunctionHill(0.0, 0.05, "jensen_shannon").loss_term(logits, index) is None


def test_autograd_gradient_matches_finite_differences_through_a_network():
    """∂(s · mean_c h_f)/∂W of a small linear network, by autograd and by central differences."""
    torch.manual_seed(0)
    x = torch.randn(10, 6, dtype=torch.float64)
    weight = (0.5 * torch.randn(4, 6, dtype=torch.float64)).requires_grad_(True)
    stored = torch.log_softmax(x @ (weight.detach() + 0.3 * torch.randn(4, 6, dtype=torch.float64)).T, -1)
    hill = hill_with(torch.stack([stored, random_log_probs(10, 4, seed=7)]), strength=3.0, sigma2=0.02)
    index = torch.arange(10)
    value = hill.loss_term(x @ weight.T, index)
    assert 0.05 < value.item() / 3.0 < 0.95  # on the hill's slope, not its flat top or tail
    (grad,) = torch.autograd.grad(value, weight)
    numeric = torch.zeros_like(grad)
    eps = 1e-6
    for i in range(weight.numel()):
        step = torch.zeros(weight.numel(), dtype=torch.float64)
        step[i] = eps
        step = step.view_as(weight)
        up = hill.loss_term(x @ (weight.detach() + step).T, index).item()
        down = hill.loss_term(x @ (weight.detach() - step).T, index).item()
        numeric.view(-1)[i] = (up - down) / (2 * eps)
    assert torch.allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    assert grad.abs().max().item() > 1e-3  # not trivially zero


def test_the_gradient_vanishes_at_the_checkpoint_and_descent_moves_away_from_it():
    stored = random_log_probs(1, 16, 5, seed=8)
    hill = hill_with(stored, strength=1.0, sigma2=0.05)
    index = torch.arange(16)
    logits = stored[0].clone().requires_grad_(True)
    (at_centre,) = torch.autograd.grad(hill.loss_term(logits, index), logits)
    assert at_centre.abs().max().item() < 1e-12
    logits = (stored[0] + 0.05 * torch.randn(16, 5, dtype=torch.float64)).requires_grad_(True)
    js = DISTANCES["jensen_shannon"]
    before = js(torch.log_softmax(logits.detach(), -1), stored[0]).mean().item()
    optimizer = torch.optim.SGD([logits], lr=0.5)
    for _ in range(50):
        optimizer.zero_grad()
        hill.loss_term(logits, index).backward()
        optimizer.step()
    assert js(torch.log_softmax(logits.detach(), -1), stored[0]).mean().item() > 3 * before


def test_resume_state_round_trips():
    stored = random_log_probs(2, 8, 5, seed=9).float()
    hill = FunctionHill(1.0, 0.1, "symmetric_kl")
    for epoch, log_probs in zip((3, 6), stored, strict=True):
        hill.add_checkpoint(torch.zeros(1), epoch, log_probs)
    other = FunctionHill(1.0, 0.1, "symmetric_kl")
    other.load_state_dict(hill.state_dict())
    assert other.checkpoint_epochs == [3, 6] and torch.equal(other.log_probs, hill.log_probs)
    logits, index = torch.randn(4, 5), torch.tensor([0, 2, 4, 7])
    assert other.loss_term(logits, index).item() == hill.loss_term(logits, index).item()
