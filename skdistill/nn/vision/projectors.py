"""Student-side alignment of SFKD features to the teacher (``sfkd.md`` sections 2.1 and 2.2).

The teacher's feature is only normalised, by a parameter-free per-position LayerNorm
(:func:`channel_layernorm`); everything else happens on the student side: the target grid
(:func:`aligned_grid`) and the train-only projectors that bring a student map
(:class:`StudentProjector`) or vector (:class:`VectorLift`) to the teacher's
``(B, C, h, w)`` shape.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import _pair

__all__ = ["StudentProjector", "VectorLift", "aligned_grid", "channel_layernorm"]


def channel_layernorm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Parameter-free LayerNorm over channels at each position of a ``(B, C, ...)`` map.

    Each spatial position's C-vector gets mean 0 and variance 1. Channels are *not*
    standardised over space: that would zero each channel's spatial mean, and with it the
    coarsest wavelet LL band that SFKD distils (``sfkd.md`` section 2.2).

    Parameters
    ----------
    x : torch.Tensor
        ``(B, C, H, W)`` map (any ``(B, C, *spatial)`` works), C >= 2.
    eps : float, default=1e-5
        Added to the variance.

    Returns
    -------
    torch.Tensor
        Same shape as ``x``.

    Raises
    ------
    ValueError
        If C < 2: a single channel normalises to zeros everywhere.

    Examples
    --------
    >>> import torch
    >>> y = channel_layernorm(torch.randn(2, 8, 4, 4))
    >>> bool(y.mean(dim=1).abs().max() < 1e-5)
    True
    """
    if x.ndim < 3:
        raise ValueError(f"expected a (B, C, ...) map, got shape {tuple(x.shape)}")
    if x.shape[1] < 2:
        raise ValueError(
            f"channel_layernorm needs at least 2 channels, got shape {tuple(x.shape)} "
            "(one channel would normalise to zeros)"
        )
    mean = x.mean(dim=1, keepdim=True)
    var = x.var(dim=1, keepdim=True, correction=0)
    return (x - mean) / torch.sqrt(var + eps)


def aligned_grid(teacher_hw: int | tuple[int, int], levels: int) -> tuple[int, int]:
    """The target grid: the teacher grid rounded up to a multiple of ``2 ** levels``.

    A ``levels``-level DWT halves the grid ``levels`` times, so both sides must be divisible
    by ``2 ** levels``.

    Parameters
    ----------
    teacher_hw : int or tuple of int
        Teacher grid ``(h, w)`` (an int for a square grid).
    levels : int
        DWT levels, >= 0.

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> aligned_grid((14, 14), 2), aligned_grid(7, 2), aligned_grid((8, 7), 3)
    ((16, 16), (8, 8), (8, 8))
    """
    h, w = _pair(teacher_hw, "teacher_hw")
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 0:
        raise ValueError(f"levels must be a non-negative int, got {levels!r}")
    m = 2**levels
    return -(-h // m) * m, -(-w // m) * m


class _ToTeacherMap(nn.Module):
    """Base of the projectors: the output is a teacher-shaped ``(B, out_channels, h, w)`` map."""

    def __init__(self, out_channels: int, out_grid: int | tuple[int, int]):
        super().__init__()
        self.out_channels = out_channels
        self.out_grid = _pair(out_grid, "out_grid")


class StudentProjector(_ToTeacherMap):
    """Align a student map to the teacher: bilinear resize -> Conv1x1 -> BatchNorm2d.

    Parameters
    ----------
    in_channels : int
        Student channels C_s.
    out_channels : int
        Teacher channels C_t.
    out_grid : int or tuple of int
        Target grid ``(h, w)`` (see :func:`aligned_grid`).

    Notes
    -----
    The resize (``align_corners=False``) is skipped when the student grid already equals
    ``out_grid``. The 1x1 convolution has no bias (BatchNorm follows). Train-only: it is not
    part of the fitted predictor.

    Examples
    --------
    >>> import torch
    >>> proj = StudentProjector(32, 64, (8, 8))
    >>> tuple(proj(torch.zeros(2, 32, 14, 14)).shape)
    (2, 64, 8, 8)
    """

    def __init__(self, in_channels: int, out_channels: int, out_grid: int | tuple[int, int]):
        super().__init__(out_channels, out_grid)
        self.in_channels = in_channels
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"StudentProjector expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        if tuple(x.shape[2:]) != self.out_grid:
            x = F.interpolate(x, size=self.out_grid, mode="bilinear", align_corners=False)
        return self.bn(self.conv(x))


class VectorLift(_ToTeacherMap):
    """Lift a vector student feature to a teacher-shaped map: Linear(D, C*h*w) -> reshape.

    For MLP students distilled from map teachers (``sfkd.md`` section 2.1).

    Parameters
    ----------
    in_features : int
        Student feature size D.
    out_channels : int
        Teacher channels C.
    out_grid : int or tuple of int
        Target grid ``(h, w)``.

    Notes
    -----
    Accepts ``(B, D)`` vectors or their canonical ``(B, 1, D)`` form. The Linear layer has
    ``D * C * h * w + C * h * w`` parameters (e.g. 528,384 for D=128, C=64, 8x8).

    Examples
    --------
    >>> import torch
    >>> lift = VectorLift(128, 64, 8)
    >>> tuple(lift(torch.zeros(2, 128)).shape)
    (2, 64, 8, 8)
    """

    def __init__(self, in_features: int, out_channels: int, out_grid: int | tuple[int, int]):
        super().__init__(out_channels, out_grid)
        self.in_features = in_features
        h, w = self.out_grid
        self.linear = nn.Linear(in_features, out_channels * h * w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3 and x.shape[1] == 1:
            x = x.squeeze(1)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"VectorLift expects (B, {self.in_features}) or (B, 1, {self.in_features}), "
                f"got {tuple(x.shape)}"
            )
        return self.linear(x).reshape(x.shape[0], self.out_channels, *self.out_grid)
