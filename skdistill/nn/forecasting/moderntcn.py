"""ModernTCN (Luo & Wang, ICLR 2024): large-kernel depthwise convolutions over patch tokens."""

from __future__ import annotations

import torch
from torch import nn

from skdistill._validation import check_float, check_int

from .base import _Forecaster
from .layers import RevIN, _repeat_last

__all__ = ["ModernTCN"]


def _check_odd(value: object, name: str) -> int:
    """Return ``value`` as a positive odd int (a 'same'-padded kernel), else raise a ValueError."""
    value = check_int(value, name)
    if value % 2 == 0:
        raise ValueError(f"{name} must be odd, got {value}")
    return value


def _depthwise(width: int, kernel_size: int) -> nn.Sequential:
    """'Same'-padded depthwise Conv1d (no bias) -> BatchNorm1d, over the patch axis."""
    return nn.Sequential(
        nn.Conv1d(width, width, kernel_size, padding=kernel_size // 2, groups=width, bias=False),
        nn.BatchNorm1d(width),
    )


def _conv_ffn(width: int, hidden: int, groups: int, dropout: float) -> nn.Sequential:
    """Grouped kernel-1 ConvFFN ``width -> hidden -> width`` with GELU and dropout."""
    return nn.Sequential(
        nn.Conv1d(width, hidden, 1, groups=groups),
        nn.Dropout(dropout),
        nn.GELU(),
        nn.Conv1d(hidden, width, 1, groups=groups),
        nn.Dropout(dropout),
    )


class _Block(nn.Module):
    """One ModernTCN block on ``(B, C, D, N)``: DWConv (large + small kernel) -> BN -> ConvFFN1 -> ConvFFN2.

    The whole block is one residual branch, as in the reference ``Block.forward``.
    """

    def __init__(
        self,
        n_channels: int,
        dims: int,
        large_size: int,
        small_size: int,
        ffn_ratio: int,
        dropout: float,
    ) -> None:
        super().__init__()
        width, hidden = n_channels * dims, n_channels * dims * ffn_ratio
        # Depthwise over the patch axis, one kernel per (channel, dim). The small branch is what
        # structural re-parameterisation would fold into the large kernel; training-time form here.
        self.large = _depthwise(width, large_size)
        self.small = _depthwise(width, small_size)
        self.norm = nn.BatchNorm1d(dims)
        # ConvFFN1: groups=C, so it mixes the D dims of each channel separately.
        self.ffn1 = _conv_ffn(width, hidden, n_channels, dropout)
        # ConvFFN2: on the (D, C) permuted layout with groups=D, so it mixes channels per dim.
        self.ffn2 = _conv_ffn(width, hidden, dims, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, d, n = x.shape
        y = x.reshape(b, c * d, n)
        y = self.large(y) + self.small(y)
        y = self.norm(y.reshape(b * c, d, n)).reshape(b, c * d, n)
        y = self.ffn1(y).reshape(b, c, d, n)
        y = y.transpose(1, 2).reshape(b, d * c, n)
        y = self.ffn2(y).reshape(b, d, c, n).transpose(1, 2)
        return x + y


class ModernTCN(_Forecaster):
    """ModernTCN forecaster (one stage): per-channel patch embedding and large-kernel conv blocks.

    Each channel is normalised over time, padded at the end with ``patch_size - patch_stride``
    copies of its last value and embedded by ``Conv1d(1, dims, patch_size, patch_stride)`` (+
    BatchNorm) into ``N = L // patch_stride`` patch tokens of width ``dims``. ``n_blocks`` blocks
    follow, each a depthwise large-kernel conv plus a parallel small-kernel conv over the patch
    axis, BatchNorm, ConvFFN1 (mixes the dims of a channel) and ConvFFN2 (mixes the channels of
    a dim). The head flattens ``(dims, N)`` per channel and maps it by ``Linear(dims * N, H)``.

    Parameters
    ----------
    window_length, horizon : int
        Look-back length L (>= ``patch_size``) and forecast horizon H.
    n_channels : int
        Number of channels C. The grouped convolutions' weights depend on C.
    patch_size : int, default=8
        Patch (stem kernel) length.
    patch_stride : int, default=4
        Stem stride; must not exceed ``patch_size``.
    dims : int, default=64
        Width D of a patch token.
    large_size : int, default=51
        Odd large depthwise kernel size. Clipped to the largest odd value <= N when N is smaller
        (a kernel longer than the sequence would only see zero padding).
    small_size : int, default=5
        Odd small depthwise kernel size; clipped to at most the (clipped) ``large_size``.
    ffn_ratio : int, default=2
        Hidden-width multiplier of both ConvFFNs.
    n_blocks : int, default=1
        Number of blocks.
    dropout : float, default=0.1
        Dropout in the ConvFFNs.

    Attributes
    ----------
    n_patches : int
        Number N of patch tokens per channel.
    feature_dim : int
        Size d of the per-channel feature (= ``dims * n_patches``).

    Notes
    -----
    ``forward(x)`` maps ``(B, L, C)`` to ``(B, H, C)``. ``forward_features(x)`` returns
    ``(pred, feature)`` from the same pass; ``feature`` is the backbone output ``(B, C, dims, N)``
    flattened to ``(B, C, dims * N)``.

    Simplified from the reference: one stage (no downsampling between stages), no series
    decomposition, and the small kernel kept as a separate branch (its training-time form) rather
    than merged into the large one. Instance normalisation has no affine map. With L=720, H=96,
    C=7 and the defaults the module has 1,263,648 parameters.

    Examples
    --------
    >>> import torch
    >>> model = ModernTCN(32, 8, 3, dims=8, large_size=7, small_size=3)
    >>> pred, feature = model.forward_features(torch.randn(4, 32, 3))
    >>> pred.shape, feature.shape, model.n_patches
    (torch.Size([4, 8, 3]), torch.Size([4, 3, 64]), 8)
    """

    def __init__(
        self,
        window_length: int,
        horizon: int,
        n_channels: int,
        patch_size: int = 8,
        patch_stride: int = 4,
        dims: int = 64,
        large_size: int = 51,
        small_size: int = 5,
        ffn_ratio: int = 2,
        n_blocks: int = 1,
        dropout: float = 0.1,
    ) -> None:
        super().__init__(window_length, horizon, n_channels)
        self.patch_size = check_int(patch_size, "patch_size")
        self.patch_stride = check_int(patch_stride, "patch_stride")
        self.dims = check_int(dims, "dims")
        large_size = _check_odd(large_size, "large_size")
        small_size = _check_odd(small_size, "small_size")
        self.ffn_ratio = check_int(ffn_ratio, "ffn_ratio")
        self.n_blocks = check_int(n_blocks, "n_blocks")
        self.dropout = check_float(dropout, "dropout", below=1.0)
        if self.patch_size > self.window_length:
            raise ValueError(
                f"patch_size ({self.patch_size}) must not exceed window_length "
                f"({self.window_length})"
            )
        if self.patch_stride > self.patch_size:
            raise ValueError(
                f"patch_stride ({self.patch_stride}) must not exceed patch_size ({self.patch_size})"
            )
        if small_size > large_size:
            raise ValueError(f"small_size ({small_size}) must not exceed large_size ({large_size})")
        self._pad = self.patch_size - self.patch_stride
        # (L + pad - patch_size) // stride + 1 with pad = patch_size - stride.
        self.n_patches = (self.window_length - self.patch_stride) // self.patch_stride + 1
        largest_odd = self.n_patches if self.n_patches % 2 else self.n_patches - 1
        self.large_size = min(large_size, max(largest_odd, 1))
        self.small_size = min(small_size, self.large_size)
        self.feature_dim = self.dims * self.n_patches

        self.revin = RevIN(self.n_channels, affine=False)
        self.stem = nn.Sequential(
            nn.Conv1d(1, self.dims, self.patch_size, stride=self.patch_stride),
            nn.BatchNorm1d(self.dims),
        )
        self.backbone = nn.Sequential(
            *(
                _Block(
                    self.n_channels,
                    self.dims,
                    self.large_size,
                    self.small_size,
                    self.ffn_ratio,
                    self.dropout,
                )
                for _ in range(self.n_blocks)
            )
        )
        self.head = nn.Linear(self.feature_dim, self.horizon)

    def _normalizer(self) -> RevIN:
        return self.revin

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, c = x.shape
        series = x.transpose(1, 2)  # (B, C, L)
        if self._pad:
            series = _repeat_last(series, self._pad)
        tokens = self.stem(series.reshape(b * c, 1, -1))  # (B * C, D, N)
        encoded = self.backbone(tokens.reshape(b, c, self.dims, self.n_patches))
        feature = encoded.reshape(b, c, self.feature_dim)
        return self.head(feature).transpose(1, 2), feature
