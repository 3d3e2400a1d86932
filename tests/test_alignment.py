"""Weight matching (alignment.py): the spec is a true symmetry, and alignment undoes a permutation."""

import numpy as np
import pytest
import torch
from torch import nn

from distancing.alignment import align, permutation_spec, permute, weight_matching
from distancing.basins import barrier, line, recompute_batchnorm
from distancing.data import Dataset
from distancing.models import build_model

# (name, options, input shape): the repository's 1-D defaults, a MobileNetV2 with identity
# residuals (the default keeps one block per stage, so it has none), and a 2-D ResNet.
MODELS = {
    "mobilenetv2-1d": ("mobilenetv2", dict(width=0.25, max_blocks=1, stages=5), (1, 40)),
    "mobilenetv2-residual": ("mobilenetv2", dict(width=0.25, max_blocks=2, stages=5), (1, 40)),
    "resnet-1d": ("resnet", dict(width=16, blocks=[1, 1, 1]), (1, 40)),
    "resnet-2d": ("resnet", dict(width=8, blocks=[1, 1]), (3, 8, 8)),
}
# A conv_bn that writes into a residual sum: giving it a permutation of its own breaks the symmetry.
RESIDUAL_WRITERS = {"mobilenetv2-1d": "blocks.0.project.", "mobilenetv2-residual": "blocks.2.project.",
                    "resnet-1d": "stages.0.conv2.", "resnet-2d": "stages.1.conv2."}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These networks are tiny: one thread is as fast, and does not stall when the other core is busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def network(key: str, seed: int) -> tuple[nn.Module, torch.Tensor]:
    """A network in eval mode with random BatchNorm affine parameters and statistics (near the
    inputs' own, so the outputs depend on the inputs), and a batch of inputs."""
    name, options, shape = MODELS[key]
    torch.manual_seed(seed)
    model = build_model(name, len(shape) - 1, shape[0], 10, **options)
    x = torch.randn(16, *shape)
    recompute_batchnorm(model, x, len(x))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 1.0)
                m.running_mean.add_(0.2 * m.running_var.sqrt() * torch.randn_like(m.running_mean))
                m.running_var.mul_(torch.empty_like(m.running_var).uniform_(0.7, 1.4))
    return model.eval(), x


def state_of(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def parameters_of(model: nn.Module) -> tuple[str, ...]:
    return tuple(name for name, _ in model.named_parameters())


def random_perms(spec, state, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = {p: state[name].shape[axis] for name, axes in spec.items() for axis, p in enumerate(axes) if p}
    return {p: rng.permutation(n) for p, n in sorted(sizes.items())}


@torch.no_grad()
def outputs(model: nn.Module, state: dict[str, np.ndarray], x: torch.Tensor) -> np.ndarray:
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return model.eval()(x).numpy()


def objective(a, b, parameters) -> float:
    return sum(float(np.sum(a[k].astype(np.float64) * b[k].astype(np.float64))) for k in parameters)


@pytest.mark.parametrize("key", MODELS)
def test_permuting_by_the_spec_keeps_the_function_and_alignment_undoes_it_exactly(key):
    model, x = network(key, seed=0)
    spec, original = permutation_spec(model), state_of(model)
    assert set(spec) == set(original)
    assert all(len(axes) == original[k].ndim for k, axes in spec.items())
    assert spec["stem.0.weight"][1] is None and spec["head.weight"][0] is None  # inputs and classes stay
    expected = outputs(model, original, x)
    permuted = permute(spec, random_perms(spec, original, seed=1), original)
    assert any(not np.array_equal(permuted[k], original[k]) for k in original)
    np.testing.assert_allclose(outputs(model, permuted, x), expected, atol=1e-5, rtol=1e-5)

    aligned = align(spec, original, permuted, parameters_of(model))
    assert all(np.array_equal(aligned[k], original[k]) for k in original)

    # A spec that lets one writer into a residual sum keep a permutation of its own is no symmetry.
    writer = RESIDUAL_WRITERS[key]
    broken = {k: ((axes[0] + "!",) + axes[1:] if k.startswith(writer) and axes else axes) for k, axes in spec.items()}
    wrong = permute(broken, random_perms(broken, original, seed=1), original)
    assert np.abs(outputs(model, wrong, x) - expected).max() > 0.1


@pytest.mark.parametrize("key", ["mobilenetv2-1d", "resnet-2d"])
def test_matching_independent_networks_raises_the_objective_and_keeps_b_s_function(key):
    model_a, x = network(key, seed=0)
    model_b, _ = network(key, seed=2)
    spec, parameters = permutation_spec(model_a), parameters_of(model_a)
    a, b = state_of(model_a), state_of(model_b)
    perms = weight_matching(spec, a, b, parameters, seed=3)
    assert all(np.array_equal(perms[p], q) for p, q in weight_matching(spec, a, b, parameters, seed=3).items())
    aligned = permute(spec, perms, b)
    assert objective(a, aligned, parameters) > objective(a, b, parameters)
    np.testing.assert_allclose(outputs(model_b, aligned, x), outputs(model_b, b, x), atol=1e-5, rtol=1e-5)


def test_the_barrier_to_a_permuted_copy_vanishes_after_alignment():
    model, _ = network("resnet-1d", seed=0)
    generator = torch.Generator().manual_seed(4)
    x_train, x_val = torch.randn(64, 1, 40, generator=generator), torch.randn(32, 1, 40, generator=generator)
    with torch.no_grad():
        recompute_batchnorm(model, x_train, 32)
        # Confident logits centred over the batch: the network's own labels, in several classes,
        # give it a low loss.
        model.head.weight.mul_(20)
        model.head.bias.sub_(model(x_train).mean(0))
        y_train, y_val = model(x_train).argmax(1), model(x_val).argmax(1)
    data = Dataset("toy", x_train, y_train, x_val, y_val, num_classes=10)
    spec, a, parameters = permutation_spec(model), state_of(model), parameters_of(model)
    b = permute(spec, random_perms(spec, a, seed=5), a)

    def train_barrier(b):
        rows = line(model, a, b, parameters, data, points=3, samples=64, batch_size=32)
        return barrier([r["t"] for r in rows], [r["train_loss"] for r in rows])

    assert train_barrier(b) > 1.0
    assert abs(train_barrier(align(spec, a, b, parameters))) < 1e-6
