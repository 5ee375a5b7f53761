"""TimeMixer (Wang et al., ICLR 2024): decomposable multi-scale mixing, channel-independent."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from skdistill._validation import check_float, check_int

from .base import _Forecaster
from .layers import MovingAverage, RevIN

__all__ = ["TimeMixer"]


def _odd_kernel(moving_avg: int, length: int) -> int:
    """Largest odd kernel <= min(moving_avg, length), so the moving average stays centred."""
    kernel = min(moving_avg, length)
    return kernel if kernel % 2 == 1 else kernel - 1


def _time_mlp(in_len: int, out_len: int) -> nn.Sequential:
    """Linear(in_len, out_len) -> GELU -> Linear(out_len, out_len), acting on the last (time) axis."""
    return nn.Sequential(nn.Linear(in_len, out_len), nn.GELU(), nn.Linear(out_len, out_len))


class _PastDecomposableMixing(nn.Module):
    """One PDM block on a list of per-scale tensors ``(N, T_m, d_model)``, finest scale first."""

    def __init__(self, lengths: list[int], d_model: int, d_ff: int, moving_avg: int) -> None:
        super().__init__()
        self.decompositions = nn.ModuleList(
            MovingAverage(_odd_kernel(moving_avg, t)) for t in lengths
        )
        n_mix = len(lengths) - 1
        # Seasonal patterns are aggregated bottom-up: fine detail informs coarser scales.
        self.season_mixing = nn.ModuleList(
            _time_mlp(lengths[i], lengths[i + 1]) for i in range(n_mix)
        )
        # Trends are clearer at coarse scales, so they are passed top-down to finer ones.
        self.trend_mixing = nn.ModuleList(
            _time_mlp(lengths[i + 1], lengths[i]) for i in range(n_mix)
        )
        self.ffn = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        seasons, trends = [], []
        for x, decomposition in zip(xs, self.decompositions, strict=True):
            # MovingAverage smooths axis 1, which is time in the (N, T_m, d_model) layout.
            season, trend = decomposition(x)
            # Mixing MLPs act on time, so put it last: (N, d_model, T_m).
            seasons.append(season.transpose(1, 2))
            trends.append(trend.transpose(1, 2))

        mixed_seasons = [seasons[0]]
        for i, mix in enumerate(self.season_mixing):
            mixed_seasons.append(seasons[i + 1] + mix(mixed_seasons[-1]))

        mixed_trends = [trends[-1]]
        for i in reversed(range(len(self.trend_mixing))):
            mixed_trends.insert(0, trends[i] + self.trend_mixing[i](mixed_trends[0]))

        return [
            x + self.ffn((season + trend).transpose(1, 2))
            for x, season, trend in zip(xs, mixed_seasons, mixed_trends, strict=True)
        ]


class TimeMixer(_Forecaster):
    """TimeMixer forecaster: multi-scale season/trend mixing with one predictor per scale.

    The window is normalised per sample and channel (mean and standard deviation over time, no
    affine map) and down-sampled ``down_sampling_layers`` times by average pooling with window
    ``down_sampling_window``, giving scales ``0 .. down_sampling_layers`` of lengths
    ``T_m = L / down_sampling_window**m``. Every channel is processed on its own (weights shared):
    each time step is embedded by ``Linear(1, d_model)``, then ``e_layers`` Past-Decomposable-Mixing
    blocks split every scale by a moving average into season and trend, mix seasons bottom-up
    (fine to coarse, ``MLP: T_m -> T_{m+1}``) and trends top-down (coarse to fine,
    ``MLP: T_{m+1} -> T_m``), and add the recombined parts back through a position-wise
    feed-forward net (``d_model -> d_ff -> d_model``). Future-Multipredictor-Mixing then maps every
    scale to the horizon with its own ``Linear(T_m, H)`` over time and a ``Linear(d_model, 1)``
    projection shared by the scales, and sums the per-scale forecasts.

    Parameters
    ----------
    window_length, horizon : int
        Look-back length L, divisible by ``down_sampling_window**down_sampling_layers``, and
        forecast horizon H.
    n_channels : int
        Number of channels C. The weights do not depend on C; it is used to validate inputs.
    d_model : int, default=16
        Width of the per-time-step embedding.
    d_ff : int, default=32
        Hidden width of the feed-forward net in each mixing block.
    e_layers : int, default=2
        Number of Past-Decomposable-Mixing blocks.
    down_sampling_layers : int, default=3
        Number of down-sampling steps (0 gives a single-scale model).
    down_sampling_window : int, default=2
        Average-pooling window and stride of each down-sampling step.
    moving_avg : int, default=25
        Kernel of the season/trend moving average; at each scale it is clipped to the largest
        odd value ``<= min(moving_avg, T_m)``.
    dropout : float, default=0.1
        Dropout after the embedding.

    Attributes
    ----------
    feature_dim : int
        ``d_model * (down_sampling_layers + 1)``.

    Notes
    -----
    ``forward(x)`` maps ``(B, L, C)`` to ``(B, H, C)``. ``forward_features(x)`` returns
    ``(pred, feature)`` from the same pass. TimeMixer has no single per-channel token, so the
    feature concatenates, over the scales (finest first), the time-average of each scale's output
    of the last mixing block: ``(B, C, d_model * (down_sampling_layers + 1))``. Averaging keeps
    the token compact while every scale contributes its own summary.

    Differences from the reference code: the embedding is ``Linear(1, d_model)`` (the reference
    uses a kernel-3 circular convolution), and the series is normalised once before down-sampling
    instead of each scale separately. Since the statistics are detached and removed exactly, the
    model is translation-equivariant per channel. With L=720, H=96, C=7 and the defaults the
    module has 3,201,537 parameters, almost all in the season/trend mixing MLPs of the finest scales
    and the ``Linear(T_m, H)`` predictors.

    Examples
    --------
    >>> import torch
    >>> model = TimeMixer(32, 8, 3, d_model=8, down_sampling_layers=2, moving_avg=5)
    >>> pred, feature = model.forward_features(torch.randn(4, 32, 3))
    >>> pred.shape, feature.shape, model.feature_dim
    (torch.Size([4, 8, 3]), torch.Size([4, 3, 24]), 24)
    """

    def __init__(
        self,
        window_length: int,
        horizon: int,
        n_channels: int,
        d_model: int = 16,
        d_ff: int = 32,
        e_layers: int = 2,
        down_sampling_layers: int = 3,
        down_sampling_window: int = 2,
        moving_avg: int = 25,
        dropout: float = 0.1,
    ) -> None:
        super().__init__(window_length, horizon, n_channels)
        self.d_model = check_int(d_model, "d_model")
        self.d_ff = check_int(d_ff, "d_ff")
        self.e_layers = check_int(e_layers, "e_layers")
        self.down_sampling_layers = check_int(
            down_sampling_layers, "down_sampling_layers", minimum=0
        )
        self.down_sampling_window = check_int(down_sampling_window, "down_sampling_window")
        self.moving_avg = check_int(moving_avg, "moving_avg")
        self.dropout = check_float(dropout, "dropout", below=1.0)
        factor = self.down_sampling_window**self.down_sampling_layers
        if self.window_length % factor != 0:
            raise ValueError(
                f"window_length ({self.window_length}) must be divisible by "
                f"down_sampling_window**down_sampling_layers "
                f"({self.down_sampling_window}**{self.down_sampling_layers} = {factor})"
            )
        self.lengths = [
            self.window_length // self.down_sampling_window**m
            for m in range(self.down_sampling_layers + 1)
        ]
        self.feature_dim = self.d_model * len(self.lengths)

        self.normalizer = RevIN(self.n_channels, affine=False)
        self.embedding = nn.Linear(1, self.d_model)
        self.embedding_dropout = nn.Dropout(self.dropout)
        self.blocks = nn.ModuleList(
            _PastDecomposableMixing(self.lengths, self.d_model, self.d_ff, self.moving_avg)
            for _ in range(self.e_layers)
        )
        self.predictors = nn.ModuleList(nn.Linear(t, self.horizon) for t in self.lengths)
        self.projection = nn.Linear(self.d_model, 1)

    def _multi_scale(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Normalised ``x`` (B, L, C) -> per-scale channel-independent series ``(B*C, T_m, 1)``."""
        series = x.transpose(1, 2)  # (B, C, L): pooling runs over the last axis
        scales = [series]
        for _ in range(self.down_sampling_layers):
            scales.append(F.avg_pool1d(scales[-1], self.down_sampling_window))
        return [s.reshape(-1, s.shape[-1], 1) for s in scales]

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = x.shape[0]
        hidden = [self.embedding_dropout(self.embedding(s)) for s in self._multi_scale(x)]
        for block in self.blocks:
            hidden = block(hidden)

        pred = sum(
            self.projection(predictor(h.transpose(1, 2)).transpose(1, 2))  # (B*C, H, 1)
            for predictor, h in zip(self.predictors, hidden, strict=True)
        )
        pred = pred.reshape(batch, self.n_channels, self.horizon).transpose(1, 2)
        feature = torch.cat([h.mean(dim=1) for h in hidden], dim=-1)
        return pred, feature.reshape(batch, self.n_channels, self.feature_dim)
