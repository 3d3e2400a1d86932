"""Aligning two members' hidden units by weight matching (Git Re-Basin, Ainsworth et al. 2023, Algorithm 1).

A network's hidden units can be reordered without changing its function. If the output channels
of a layer (rows of its weight W_l, entries of its BatchNorm vectors and statistics) are permuted
by P, and the input channels of every layer that reads them (columns of W_{l+1}) by the same P,

    W_{l+1} Pᵀ σ(BN(P W_l x)) = W_{l+1} σ(BN(W_l x)),

because σ and BatchNorm act on each channel alone. A residual sum x + f(x) adds channel to
channel, so f's last layer and every layer writing into the same stream share one permutation;
a depthwise convolution maps channel c to channel c, so it carries its input's permutation.
``permutation_spec`` names, for every axis of every state entry, the permutation acting on it
(None: not permuted: the input channels, the classes, kernel positions).

Two members a and b trained from different seeds may sit in one basin up to such a reordering.
Weight matching picks the permutations π of b's units that make b's weights most like a's,

    max_π  Σ_l ⟨W_l^a, π(W_l^b)⟩      (the trainable parameters, in float64).

With all permutations but one, P, held fixed the sum is linear in P: ⟨C, P⟩ with
C = Σ A Bᵀ over the (entry, axis) pairs P acts on, A the entry of a and B the entry of b with
its other axes permuted, both unfolded along the axis. Maximising ⟨C, P⟩ is a linear assignment
problem, solved exactly (``scipy.optimize.linear_sum_assignment``). Coordinate ascent from the
identity visits the permutations in a random order, keeping each solution that raises the sum,
until a full round raises nothing: no step lowers the objective, and it stops at an optimum in
each permutation alone, not always the joint one (a wide layer fed by a narrow one, as
MobileNetV2's ``last``, can stall it even on a permuted copy of a when BatchNorm is at its init).

Convention: ``perms[p][i]`` is the unit of b that becomes unit i, so the aligned entry is
``np.take(w, perms[p], axis)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from torch import nn

from .models import BasicBlock, InvertedResidual, MobileNetV2, ResNet

Spec = dict[str, tuple[str | None, ...]]


def permutation_spec(model: nn.Module) -> Spec:
    """The permutation acting on each axis of each ``state_dict`` entry of a ResNet or MobileNetV2,
    derived from its blocks, so any width, depth and dim is covered."""
    names = {module: name for name, module in model.named_modules()}
    spec: Spec = {}

    def unit(seq: nn.Sequential, cin: str | None, cout: str) -> str:
        """A conv_bn: output channels and BatchNorm share ``cout``; a depthwise conv keeps its input's."""
        conv, prefix = seq[0], names[seq]
        depthwise = conv.groups > 1
        if depthwise and not (conv.groups == conv.in_channels == conv.out_channels and cin == cout):
            raise ValueError(f"{prefix}: only depthwise grouped convolutions are supported")
        spec[f"{prefix}.0.weight"] = (cout, None if depthwise else cin) + (None,) * (conv.weight.dim() - 2)
        spec.update({f"{prefix}.1.{k}": (cout,) for k in ("weight", "bias", "running_mean", "running_var")})
        spec[f"{prefix}.1.num_batches_tracked"] = ()
        return cout

    if isinstance(model, ResNet):
        stream = unit(model.stem, None, "stem")
        for block in model.stages:
            assert isinstance(block, BasicBlock)
            hidden = unit(block.conv1, stream, f"{names[block]}.conv1")
            out = stream if isinstance(block.shortcut, nn.Identity) else unit(block.shortcut, stream, names[block])
            stream = unit(block.conv2, hidden, out)
    elif isinstance(model, MobileNetV2):
        stream = unit(model.stem, None, "stem")
        for block in model.blocks:
            assert isinstance(block, InvertedResidual)
            hidden = unit(block.expand, stream, f"{names[block]}.expand")
            unit(block.depthwise, hidden, hidden)
            out = stream if block.residual else names[block]
            if block.shortcut is not None:
                unit(block.shortcut, stream, out)
            stream = unit(block.project, hidden, out)
        stream = unit(model.last, stream, "last")
    else:
        raise TypeError(f"no permutation spec for {type(model).__name__}")
    spec.update({"head.weight": (None, stream), "head.bias": (None,)})
    if missing := set(model.state_dict()) - set(spec):
        raise ValueError(f"permutation spec misses {sorted(missing)}")
    return spec


def permute(spec: Spec, perms: Mapping[str, np.ndarray], state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The state with every axis re-indexed by its permutation (unit i becomes unit ``perms[p][i]``)."""
    return {name: _permuted(value, spec.get(name, ()), perms) for name, value in state.items()}


def _permuted(w: np.ndarray, axes: Sequence[str | None], perms: Mapping[str, np.ndarray],
              skip: int | None = None) -> np.ndarray:
    w = np.array(w)
    for axis, p in enumerate(axes):
        if p is not None and axis != skip:
            w = np.take(w, perms[p], axis=axis)
    return w


def _unfold(w: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)


def weight_matching(spec: Spec, a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray],
                    parameters: Sequence[str], rounds: int = 100, seed: int = 0) -> dict[str, np.ndarray]:
    """Permutations of b's units that align b to a: coordinate ascent on Σ ⟨W_a, π(W_b)⟩ over the
    trainable ``parameters``, one linear assignment per permutation, in a seeded random order."""
    a64 = {name: np.asarray(a[name], dtype=np.float64) for name in parameters}
    b64 = {name: np.asarray(b[name], dtype=np.float64) for name in parameters}
    acts: dict[str, list[tuple[str, int]]] = {}  # permutation -> the (parameter, axis) pairs it acts on
    sizes: dict[str, int] = {}
    for name, axes in spec.items():
        for axis, p in enumerate(axes):
            if p is not None:
                sizes[p] = np.shape(a[name])[axis]
                if name in a64:
                    acts.setdefault(p, []).append((name, axis))
    perms = {p: np.arange(n) for p, n in sizes.items()}
    rng = np.random.default_rng(seed)
    order = sorted(acts)
    for _ in range(rounds):
        improved = False
        for p in (order[i] for i in rng.permutation(len(order))):
            cost = sum(_unfold(a64[name], axis) @ _unfold(_permuted(b64[name], spec[name], perms, axis), axis).T
                       for name, axis in acts[p])
            _, best = linear_sum_assignment(cost, maximize=True)
            rows = np.arange(len(best))
            old, new = cost[rows, perms[p]].sum(), cost[rows, best].sum()
            if new > old + 1e-12 * max(1.0, abs(old)):
                perms[p], improved = best, True
        if not improved:
            break
    return perms


def align(spec: Spec, a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], parameters: Sequence[str],
          seed: int = 0) -> dict[str, np.ndarray]:
    """b's state (parameters and BatchNorm buffers) with its units reordered to match a's."""
    return permute(spec, weight_matching(spec, a, b, parameters, seed=seed), b)
