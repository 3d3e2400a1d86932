"""MobileNetV2 and ResNet in the CIFAR style, written once for 1-D and 2-D inputs.

The CIFAR style (kuangliu/pytorch-cifar) uses a 3-wide, stride-1 stem and no max-pool, so
small inputs (32x32 images, length-40 sequences) are not downsampled away at the start.
``dim`` picks Conv1d/BatchNorm1d or Conv2d/BatchNorm2d; everything else is shared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

_CONV = {1: nn.Conv1d, 2: nn.Conv2d}
_NORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
_POOL = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d}


def conv_bn(dim: int, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """A bias-free convolution followed by batch norm (the building unit of both models)."""
    return nn.Sequential(
        _CONV[dim](cin, cout, kernel, stride, padding=kernel // 2, groups=groups, bias=False),
        _NORM[dim](cout),
    )


class BasicBlock(nn.Module):
    """ResNet basic block: two 3-wide convolutions and a (projected when needed) shortcut."""

    def __init__(self, dim: int, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = conv_bn(dim, cin, cout, 3, stride)
        self.conv2 = conv_bn(dim, cout, cout, 3)
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else conv_bn(dim, cin, cout, 1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.conv1(x))
        return torch.relu(self.conv2(out) + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR ResNet: ``blocks[i]`` basic blocks in stage i, ``width * 2**i`` channels, stride 2 from stage 2 on."""

    def __init__(self, dim: int, in_channels: int, num_classes: int, width: int = 64,
                 blocks: Sequence[int] = (2, 2, 2, 2)) -> None:
        super().__init__()
        self.stem = conv_bn(dim, in_channels, width, 3)
        stages, cin = [], width
        for i, n in enumerate(blocks):
            cout = width * 2**i
            for j in range(n):
                stages.append(BasicBlock(dim, cin, cout, stride=2 if (i > 0 and j == 0) else 1))
                cin = cout
        self.stages = nn.Sequential(*stages)
        self.pool = _POOL[dim](1)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(torch.relu(self.stem(x)))
        return self.head(self.pool(x).flatten(1))


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expansion, 3-wide depthwise convolution, linear 1x1 projection."""

    def __init__(self, dim: int, cin: int, cout: int, expansion: int, stride: int) -> None:
        super().__init__()
        hidden = cin * expansion
        self.expand = conv_bn(dim, cin, hidden, 1)
        self.depthwise = conv_bn(dim, hidden, hidden, 3, stride, groups=hidden)
        self.project = conv_bn(dim, hidden, cout, 1)
        self.residual = stride == 1 and cin == cout
        # kuangliu's CIFAR variant projects the shortcut when only the channel count changes.
        self.shortcut = conv_bn(dim, cin, cout, 1) if stride == 1 and cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.expand(x))
        out = self.project(torch.relu(self.depthwise(out)))
        if self.residual:
            return out + x
        if self.shortcut is not None:
            return out + self.shortcut(x)
        return out


# (expansion, channels, blocks, stride) of MobileNetV2 for CIFAR: the first stride-2 stage of
# the ImageNet network runs at stride 1, as in kuangliu/pytorch-cifar.
MOBILENETV2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2),
                      (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _scaled(channels: int, multiplier: float) -> int:
    return max(1, round(channels * multiplier))


class MobileNetV2(nn.Module):
    """MobileNetV2 with a width multiplier (channels of every layer) and depth caps.

    ``max_blocks`` caps the blocks per stage and ``stages`` keeps only the first stages (the
    later ones are the widest, and on a CPU each costs about as much as the rest together);
    the 1-D default uses both to keep a small, fast network of the same kind of blocks.
    """

    def __init__(self, dim: int, in_channels: int, num_classes: int, width: float = 1.0,
                 max_blocks: int | None = None, stages: int | None = None) -> None:
        super().__init__()
        cin = _scaled(32, width)
        self.stem = conv_bn(dim, in_channels, cin, 3)
        blocks = []
        for expansion, channels, n, stride in MOBILENETV2_STAGES[:stages]:
            cout = _scaled(channels, width)
            for j in range(n if max_blocks is None else min(n, max_blocks)):
                blocks.append(InvertedResidual(dim, cin, cout, expansion, stride if j == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        features = _scaled(1280, width)
        self.last = conv_bn(dim, cin, features, 1)
        self.pool = _POOL[dim](1)
        self.head = nn.Linear(features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.last(self.blocks(torch.relu(self.stem(x)))))
        return self.head(self.pool(x).flatten(1))


MODELS: dict[str, Callable[..., nn.Module]] = {
    "mobilenetv2": MobileNetV2,
    "resnet": ResNet,
    "resnet18": lambda dim, in_channels, num_classes: ResNet(dim, in_channels, num_classes, 64, (2, 2, 2, 2)),
}


def build_model(name: str, dim: int, in_channels: int, num_classes: int, **options) -> nn.Module:
    """Build a registered model; an unknown name fails with the list of known ones."""
    if name not in MODELS:
        raise ValueError(f"model.name: unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    return MODELS[name](dim, in_channels, num_classes, **options)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters: the P of the hill."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
