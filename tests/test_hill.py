"""The hill against independent computations of its formula.

    penalty(θ) = s · (1/C) · Σ_c exp(−‖θ − θ_c‖² / (2 σ² P))

The references below are written from that formula alone: a loop over the model's parameter
tensors in float64 with autograd for the gradient, or closed forms for a two-parameter θ.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from distancing.hill import DistancingHill, FlatParameters
from distancing.models import build_model


def reference_penalty(params, centres, strength, sigma2, normalize=True):
    """s · mean_c exp(-Σ_tensors ‖p − p_c‖² / (2 σ² P)), tensor by tensor."""
    P = sum(p.numel() for p in params)
    width = sigma2 * P if normalize else sigma2
    hills = []
    for centre in centres:
        squared = sum(((p - c) ** 2).sum() for p, c in zip(params, centre, strict=True))
        hills.append(torch.exp(-squared / (2 * width)))
    return strength * torch.stack(hills).mean()


def small_model(dtype=torch.float64):
    torch.manual_seed(0)
    return build_model("resnet", 1, 1, 10, width=4, blocks=[1, 1]).to(dtype)


def random_centres(params, count, scale, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [[p.detach() + scale * torch.randn(p.shape, generator=g, dtype=p.dtype) for p in params]
            for _ in range(count)]


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("count", [1, 3])
def test_value_and_gradient_match_the_formula(normalize, count):
    model = small_model()
    params = [p for p in model.parameters() if p.requires_grad]
    P = sum(p.numel() for p in params)
    sigma2 = 1e-3 if normalize else 5.0
    centres = random_centres(params, count, scale=0.03)
    strength = 2.5

    expected = reference_penalty(params, centres, strength, sigma2, normalize)
    expected_grad = torch.autograd.grad(expected, params)

    flat = FlatParameters(model)
    hill = DistancingHill(strength, sigma2, P, normalize=normalize, dtype=torch.float64)
    for i, centre in enumerate(centres):
        hill.add_checkpoint(torch.cat([c.reshape(-1) for c in centre]), epoch=i + 1)
    flat.zero_grad()
    value = hill.add_gradient(flat.data, flat.grad)

    assert 0.05 < expected.item() / strength < 0.95  # the hill's slope is not negligible here
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    assert hill.penalty(flat.data).item() == pytest.approx(expected.item(), rel=1e-6)
    got = torch.cat([p.grad.reshape(-1) for p in params])
    want = torch.cat([g.reshape(-1) for g in expected_grad])
    assert torch.allclose(got, want, rtol=1e-6, atol=1e-12 * want.abs().max().item())


def test_two_parameter_closed_form():
    # θ = (1, 2), θ_c = (0, 0), σ² = 0.5, P = 2: ‖θ−θ_c‖² = 5, width σ²P = 1,
    # h = exp(−5/2); ∇(s·h) = s·h·(θ_c − θ)/(σ²P) = −s·h·(1, 2).
    theta = torch.tensor([1.0, 2.0], dtype=torch.float64)
    hill = DistancingHill(strength=3.0, sigma2=0.5, numel=2, dtype=torch.float64)
    hill.add_checkpoint(torch.zeros(2, dtype=torch.float64), epoch=1)
    grad = torch.zeros(2, dtype=torch.float64)
    value = hill.add_gradient(theta, grad)
    h = math.exp(-2.5)
    assert value.item() == pytest.approx(3.0 * h, rel=1e-12)
    assert grad.tolist() == pytest.approx([-3.0 * h * 1.0, -3.0 * h * 2.0], rel=1e-12)


def test_float32_training_precision_is_close_to_float64():
    model = small_model(torch.float32)
    params = [p for p in model.parameters() if p.requires_grad]
    P = sum(p.numel() for p in params)
    centres = random_centres(params, 2, scale=0.03)
    expected = reference_penalty([p.double() for p in params], [[c.double() for c in ce] for ce in centres],
                                 1.0, 1e-3)
    flat = FlatParameters(model)
    hill = DistancingHill(1.0, 1e-3, P)
    for i, centre in enumerate(centres):
        hill.add_checkpoint(torch.cat([c.reshape(-1) for c in centre]), epoch=i + 1)
    assert hill.add_gradient(flat.data, flat.grad).item() == pytest.approx(expected.item(), rel=1e-5)


def test_gradient_is_that_of_loss_plus_hill():
    """A step of the trainer's recipe sees ∇(loss + penalty), as Algorithm 4's ĝ."""
    model = small_model()
    params = [p for p in model.parameters() if p.requires_grad]
    P = sum(p.numel() for p in params)
    centres = random_centres(params, 2, scale=0.03)
    x = torch.randn(16, 1, 40, dtype=torch.float64)
    y = torch.randint(0, 10, (16,))

    total = F.cross_entropy(model(x), y) + reference_penalty(params, centres, 2.0, 1e-3)
    want = torch.cat([g.reshape(-1) for g in torch.autograd.grad(total, params)])

    model.zero_grad(set_to_none=True)
    flat = FlatParameters(model)
    hill = DistancingHill(2.0, 1e-3, P, dtype=torch.float64)
    for i, centre in enumerate(centres):
        hill.add_checkpoint(torch.cat([c.reshape(-1) for c in centre]), epoch=i + 1)
    flat.zero_grad()
    F.cross_entropy(model(x), y).backward()
    hill.add_gradient(flat.data, flat.grad)
    assert torch.allclose(flat.grad, want, rtol=1e-6, atol=1e-12)
    # The optimiser's per-tensor gradients are views of the same buffer.
    assert torch.equal(torch.cat([p.grad.reshape(-1) for p in params]), flat.grad)


def test_descent_on_the_hill_alone_moves_away_from_the_checkpoint():
    theta = torch.tensor([0.1, -0.2, 0.05])
    hill = DistancingHill(strength=1.0, sigma2=1.0, numel=3)
    hill.add_checkpoint(torch.zeros(3), epoch=1)
    before = (hill.checkpoints - theta).norm(dim=1).item()
    optimizer_theta = theta.clone().requires_grad_(True)
    opt = torch.optim.SGD([optimizer_theta], lr=0.5)
    for _ in range(20):
        optimizer_theta.grad = torch.zeros(3)
        hill.add_gradient(optimizer_theta.detach(), optimizer_theta.grad)
        opt.step()
    assert (hill.checkpoints - optimizer_theta.detach()).norm(dim=1).item() > 2 * before


def test_flat_parameters_are_shared_with_the_model():
    model = small_model(torch.float32)
    flat = FlatParameters(model)
    first = next(model.parameters())
    flat.data.zero_()
    assert first.abs().sum().item() == 0
    # BatchNorm running statistics are buffers, not part of θ.
    P = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers())
    assert flat.numel == P and buffers > 0
    opt = torch.optim.SGD(list(model.parameters()), lr=1.0, momentum=0.9)
    flat.grad.fill_(1.0)
    opt.step()
    assert torch.all(flat.data == -1.0)


def test_no_checkpoint_or_zero_strength_adds_nothing():
    theta = torch.randn(5)
    grad = torch.zeros(5)
    hill = DistancingHill(strength=0.0, sigma2=1e-3, numel=5)
    assert hill.add_gradient(theta, grad).item() == 0.0
    hill.add_checkpoint(theta + 1, epoch=1)
    assert hill.add_gradient(theta, grad).item() == 0.0 and not grad.any()
    assert torch.equal(hill.checkpoints[0], theta + 1)  # stored all the same, for the log
