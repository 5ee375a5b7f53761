"""ResNet-style CNN of the vision zoo: a 3x3 stem, three BasicBlock stages (He et al., 2016)."""

from __future__ import annotations

import torch
from torch import nn

from skdistill._validation import check_int

from .layers import ImageSize, _check_images, _ImageClassifier

__all__ = ["ResNetCNN"]


class _BasicBlock(nn.Module):
    """ResNet BasicBlock: two 3x3 conv-BN layers with an identity (or 1x1 conv-BN) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        # Not in-place: an in-place ReLU would overwrite tensors that a FeatureTap holds.
        self.relu = nn.ReLU()
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNetCNN(_ImageClassifier):
    """Small ResNet-style CNN ("cnn" in the zoo).

    A 3x3 convolution stem followed by three stages of BasicBlocks (widths ``width``,
    ``2 * width``, ``4 * width``; stride 2 at the first block of stages 2 and 3), global average
    pooling and a linear head. BatchNorm after every convolution.

    Parameters
    ----------
    in_channels, n_classes : int
        Image channels C and number of classes.
    image_size : int or tuple of int
        Image side (or ``(H, W)``). Only validated: the network is fully convolutional and its
        parameter count does not depend on it.
    width : int, default=16
        Channels of the first stage.
    blocks_per_stage : int, default=1
        BasicBlocks per stage (1 gives a ResNet-8, 3 the classic CIFAR ResNet-20).

    Attributes
    ----------
    stem, layer1, layer2, layer3, pool, head : torch.nn.Module
        The tap-able stages. For an ``H x W`` input the outputs are ``stem`` and ``layer1``:
        ``(B, width, H, W)``; ``layer2``: ``(B, 2 * width, ceil(H/2), ceil(W/2))``; ``layer3``:
        ``(B, 4 * width, ceil(H/4), ceil(W/4))`` (7x7 for 28x28 inputs, 8x8 for 32x32, 2x2 for
        8x8); ``pool``: ``(B, 4 * width, 1, 1)``. ``layer3`` is the automatic tap.

    Notes
    -----
    Parameter counts with the defaults: 77,754 for ``(in_channels, image_size, n_classes) =
    (1, 28, 10)`` (and ``(1, 8, 10)``) and 78,042 for ``(3, 32, 10)``.

    Examples
    --------
    >>> import torch
    >>> model = ResNetCNN(1, 10, 28)
    >>> model(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        image_size: ImageSize,
        *,
        width: int = 16,
        blocks_per_stage: int = 1,
    ):
        super().__init__(in_channels, n_classes, image_size)
        check_int(width, "width")
        check_int(blocks_per_stage, "blocks_per_stage")
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
        )
        self.layer1 = self._stage(width, width, 1, blocks_per_stage)
        self.layer2 = self._stage(width, 2 * width, 2, blocks_per_stage)
        self.layer3 = self._stage(2 * width, 4 * width, 2, blocks_per_stage)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(4 * width, n_classes)

    @staticmethod
    def _stage(in_channels: int, out_channels: int, stride: int, n_blocks: int) -> nn.Sequential:
        blocks = [_BasicBlock(in_channels, out_channels, stride)]
        blocks += [_BasicBlock(out_channels, out_channels) for _ in range(n_blocks - 1)]
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(self, x, None)
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.head(torch.flatten(self.pool(x), 1))
