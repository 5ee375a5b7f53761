"""DMLP, the TimeDistill student, and the feature regressor that maps teacher features onto it."""

from __future__ import annotations

import torch
from torch import nn

from skdistill._validation import check_choice, check_int

from .base import _Forecaster
from .layers import MeanNorm, MovingAverage, RevIN

__all__ = ["DMLP", "FeatureRegressor"]

_NORMS = ("mean", "revin", "none")


class _Branch(nn.Module):
    """Linear(L, D) -> BatchNorm1d(C) -> ReLU -> Linear(D, H) on a (B, C, L) tensor.

    ``forward`` also returns the first Linear's output (before BatchNorm): DMLP's feature.
    """

    def __init__(self, window_length: int, horizon: int, n_channels: int, hidden_size: int):
        super().__init__()
        self.fc1 = nn.Linear(window_length, hidden_size)
        # BatchNorm1d(C) on (B, C, D): one mean/scale per channel, statistics over batch and D.
        self.bn = nn.BatchNorm1d(n_channels)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, horizon)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.fc1(x)
        return self.fc2(self.act(self.bn(hidden))), hidden


class DMLP(_Forecaster):
    """Decomposition MLP student of TimeDistill (Ni et al., 2025), channel-independent.

    The input window is normalised per sample and channel, split by a moving average into a
    trend and a seasonal part, and each part goes through its own two-layer MLP over the time
    axis (weights shared by all channels). The two branch outputs are summed and de-normalised.

    Parameters
    ----------
    window_length, horizon : int
        Look-back length L and forecast horizon H.
    n_channels : int
        Number of channels C (fixes the size of the BatchNorm layers and of RevIN).
    hidden_size : int, default=512
        Hidden width D of both branches; also the feature dimension.
    moving_avg : int, default=25
        Kernel of the trend moving average, ``1 <= moving_avg <= window_length``.
    norm : {"mean", "revin", "none"}, default="mean"
        Per-sample normalisation: subtract the mean over time and add it back ("mean", the
        reference default), RevIN with a learnable per-channel affine map ("revin", used by the
        reference on Traffic), or nothing.

    Attributes
    ----------
    feature_dim : int
        Size d of the per-channel feature returned by ``forward_features`` (= ``hidden_size``).
    seasonal, trend : torch.nn.Module
        The two branches; ``seasonal.fc1`` and ``trend.fc1`` are the first Linear layers whose
        summed outputs form the feature.

    Notes
    -----
    ``forward(x)`` maps ``(B, L, C)`` to ``(B, H, C)``. ``forward_features(x)`` returns
    ``(pred, feature)`` from the same pass, with ``feature`` of shape ``(B, C, D)``: the sum of the
    two first-Linear outputs before BatchNorm, as distilled by TimeDistill. There is no dropout.
    At L=720, H=96, C=7, D=512 with ``norm="mean"`` the module has 836,828 parameters
    (RevIN adds ``2 * C``).

    Examples
    --------
    >>> import torch
    >>> model = DMLP(window_length=32, horizon=8, n_channels=3, hidden_size=16, moving_avg=5)
    >>> pred, feature = model.forward_features(torch.randn(4, 32, 3))
    >>> pred.shape, feature.shape
    (torch.Size([4, 8, 3]), torch.Size([4, 3, 16]))
    """

    def __init__(
        self,
        window_length: int,
        horizon: int,
        n_channels: int,
        hidden_size: int = 512,
        moving_avg: int = 25,
        norm: str = "mean",
    ) -> None:
        super().__init__(window_length, horizon, n_channels)
        self.hidden_size = check_int(hidden_size, "hidden_size")
        self.moving_avg = check_int(moving_avg, "moving_avg")
        if self.moving_avg > self.window_length:
            raise ValueError(
                f"moving_avg must be <= window_length ({self.window_length}), got {moving_avg!r}"
            )
        self.norm = check_choice(norm, "norm", _NORMS)
        self.feature_dim = self.hidden_size

        self.normalizer: MeanNorm | RevIN | None
        if self.norm == "mean":
            self.normalizer = MeanNorm()
        elif self.norm == "revin":
            self.normalizer = RevIN(self.n_channels)
        else:
            self.normalizer = None
        self.decomposition = MovingAverage(self.moving_avg)
        self.seasonal = _Branch(self.window_length, self.horizon, self.n_channels, self.hidden_size)
        self.trend = _Branch(self.window_length, self.horizon, self.n_channels, self.hidden_size)

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seasonal, trend = self.decomposition(x)
        # Channel-independent branches act on the time axis: (B, L, C) -> (B, C, L).
        seasonal_out, seasonal_hidden = self.seasonal(seasonal.transpose(1, 2))
        trend_out, trend_hidden = self.trend(trend.transpose(1, 2))
        return (seasonal_out + trend_out).transpose(1, 2), seasonal_hidden + trend_hidden


class FeatureRegressor(nn.Module):
    """Per-channel-token MLP mapping teacher features onto the student's feature space.

    ``Linear(in_dim, out_dim) -> ReLU -> Linear(out_dim, out_dim)`` applied to the last axis of a
    ``(B, C, in_dim)`` tensor, giving ``(B, C, out_dim)``. TimeDistill trains it jointly with the
    student and discards it afterwards.

    Parameters
    ----------
    in_dim : int
        Teacher feature size d_t.
    out_dim : int
        Student feature size D.
    """

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.in_dim = check_int(in_dim, "in_dim")
        self.out_dim = check_int(out_dim, "out_dim")
        self.fc1 = nn.Linear(self.in_dim, self.out_dim)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(self.out_dim, self.out_dim)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Map ``h`` (..., in_dim) to (..., out_dim), token by token."""
        if h.shape[-1] != self.in_dim:
            raise ValueError(f"expected last dimension in_dim={self.in_dim}, got {tuple(h.shape)}")
        return self.fc2(self.act(self.fc1(h)))
