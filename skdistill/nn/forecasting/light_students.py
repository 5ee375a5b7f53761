"""Light MLP students that TimeDistill also distils into: TSMixer and LightTS."""

from __future__ import annotations

import torch
from torch import nn

from skdistill._validation import check_choice, check_float, check_int

from .base import _Forecaster
from .layers import RevIN

__all__ = ["LightTS", "TSMixer"]

_TSMIXER_NORMS = ("revin", "none")


class _MixerBlock(nn.Module):
    """TSMixer block on (B, L, C): residual time-mixing MLP, then residual channel-mixing MLP."""

    def __init__(
        self, window_length: int, n_channels: int, hidden_size: int, dropout: float
    ) -> None:
        super().__init__()
        # LayerNorm over the whole (L, C) slice of a sample (the reference's norm_type="L"):
        # unlike BatchNorm it behaves identically in train and eval mode and at batch size 1.
        self.time_norm = nn.LayerNorm([window_length, n_channels])
        self.time_fc = nn.Linear(window_length, window_length)
        self.feature_norm = nn.LayerNorm([window_length, n_channels])
        self.feature_fc1 = nn.Linear(n_channels, hidden_size)
        self.feature_fc2 = nn.Linear(hidden_size, n_channels)
        self.act = nn.ReLU()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.time_norm(x).transpose(1, 2)  # time mixing acts on the last axis: (B, C, L)
        x = x + self.dropout(self.act(self.time_fc(y))).transpose(1, 2)
        y = self.dropout(self.act(self.feature_fc1(self.feature_norm(x))))
        return x + self.dropout(self.feature_fc2(y))


class TSMixer(_Forecaster):
    """TSMixer forecaster (Chen et al., 2023): stacked time- and channel-mixing MLPs.

    Each block first mixes along time (pre-LayerNorm, ``Linear(L, L)``, ReLU, dropout, residual;
    weights shared by the channels) and then along channels (pre-LayerNorm,
    ``Linear(C, hidden_size)``, ReLU, dropout, ``Linear(hidden_size, C)``, dropout, residual;
    weights shared by the time steps). A final ``Linear(L, H)`` over time gives the forecast.

    Parameters
    ----------
    window_length, horizon : int
        Look-back length L and forecast horizon H.
    n_channels : int
        Number of channels C (fixes the channel-mixing and LayerNorm sizes).
    hidden_size : int, default=512
        Hidden width of the channel-mixing MLP.
    n_blocks : int, default=2
        Number of mixer blocks.
    dropout : float, default=0.0
        Dropout in both mixing MLPs.
    norm : {"revin", "none"}, default="revin"
        ``"revin"``: standardise every (sample, channel) series over time (mean and population
        standard deviation, no affine map) and undo it on the forecast; ``"none"``: no
        normalisation.

    Attributes
    ----------
    feature_dim : int
        ``window_length``.

    Notes
    -----
    ``forward(x)`` maps ``(B, L, C)`` to ``(B, H, C)``. ``forward_features(x)`` returns
    ``(pred, feature)`` from the same pass; ``feature`` is the input of the temporal projection
    (the output of the last block, in normalised units) as one token per channel, ``(B, C, L)``.
    The normalisation inside the blocks is LayerNorm over each sample's ``(L, C)`` slice (the
    reference's ``norm_type="L"``) rather than its default BatchNorm, so train and eval mode
    agree. The channel-mixing MLP makes the model channel-dependent. With L=720, H=96, C=7 and the
    defaults the module has 1,163,150 parameters.

    Examples
    --------
    >>> import torch
    >>> model = TSMixer(32, 8, 3, hidden_size=16)
    >>> pred, feature = model.forward_features(torch.randn(4, 32, 3))
    >>> pred.shape, feature.shape, model.feature_dim
    (torch.Size([4, 8, 3]), torch.Size([4, 3, 32]), 32)
    """

    def __init__(
        self,
        window_length: int,
        horizon: int,
        n_channels: int,
        hidden_size: int = 512,
        n_blocks: int = 2,
        dropout: float = 0.0,
        norm: str = "revin",
    ) -> None:
        super().__init__(window_length, horizon, n_channels)
        self.hidden_size = check_int(hidden_size, "hidden_size")
        self.n_blocks = check_int(n_blocks, "n_blocks")
        self.dropout = check_float(dropout, "dropout", below=1.0)
        self.norm = check_choice(norm, "norm", _TSMIXER_NORMS)
        self.feature_dim = self.window_length

        self.normalizer = RevIN(self.n_channels, affine=False) if self.norm == "revin" else None
        self.blocks = nn.ModuleList(
            _MixerBlock(self.window_length, self.n_channels, self.hidden_size, self.dropout)
            for _ in range(self.n_blocks)
        )
        self.temporal_projection = nn.Linear(self.window_length, self.horizon)

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for block in self.blocks:
            x = block(x)
        feature = x.transpose(1, 2)
        return self.temporal_projection(feature).transpose(1, 2), feature


class _IEBlock(nn.Module):
    """LightTS information-exchange block on (N, n_chunks, chunk_size) -> (N, n_chunks, hidden).

    A per-chunk MLP over the chunk's points, then a residual ``Linear(n_chunks, n_chunks)``
    across chunks (identity-initialised, as in the reference, so training starts from "no
    exchange"), then an output projection per chunk.
    """

    def __init__(self, chunk_size: int, n_chunks: int, hidden_size: int) -> None:
        super().__init__()
        self.within_chunk = nn.Sequential(nn.Linear(chunk_size, hidden_size), nn.LeakyReLU())
        self.across_chunks = nn.Linear(n_chunks, n_chunks)
        nn.init.eye_(self.across_chunks.weight)
        self.output = nn.Linear(hidden_size, hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.within_chunk(x)
        h = h + self.across_chunks(h.transpose(1, 2)).transpose(1, 2)
        return self.output(h)


class LightTS(_Forecaster):
    """LightTS forecaster (Zhang et al., 2022), simplified to be channel-independent.

    Every channel's normalised window is sampled two ways: continuously (``L / chunk_size``
    consecutive chunks of ``chunk_size`` points) and by interval (``chunk_size`` sub-series taking
    every ``(L / chunk_size)``-th point, arranged so that each of the ``L / chunk_size`` groups
    holds ``chunk_size`` points). Each view goes through its own information-exchange block
    (MLP within a chunk, linear mixing across chunks, output projection) and a
    ``Linear(n_chunks, 1)`` that pools the chunks. The two ``hidden_size`` representations are
    concatenated and mapped to the horizon by ``Linear(2 * hidden_size, H)``; a linear
    autoregressive highway ``Linear(L, H)`` on the raw (normalised) window is added, as in the
    reference.

    Parameters
    ----------
    window_length, horizon : int
        Look-back length L (divisible by ``chunk_size``) and forecast horizon H.
    n_channels : int
        Number of channels C. The weights do not depend on C; it is used to validate inputs.
    hidden_size : int, default=512
        Width of each sampling branch; the feature has ``2 * hidden_size`` entries per channel.
    chunk_size : int, default=24
        Chunk length of the continuous sampling.
    dropout : float, default=0.0
        Dropout on the concatenated representation before the final Linear.

    Attributes
    ----------
    feature_dim : int
        ``2 * hidden_size``.

    Notes
    -----
    ``forward(x)`` maps ``(B, L, C)`` to ``(B, H, C)``. ``forward_features(x)`` returns
    ``(pred, feature)`` from the same pass; ``feature`` is the concatenated per-channel
    representation before the final Linear, ``(B, C, 2 * hidden_size)``. The input is always
    standardised per sample and channel over time (mean and population standard deviation, no
    affine map) and the forecast de-normalised, so the model is translation-equivariant per
    channel. The reference's last block mixes channels; here it is replaced by a per-channel
    Linear, so channels never interact. With L=720, H=96, C=7 and the defaults the module has
    720,450 parameters.

    Examples
    --------
    >>> import torch
    >>> model = LightTS(32, 8, 3, hidden_size=16, chunk_size=8)
    >>> pred, feature = model.forward_features(torch.randn(4, 32, 3))
    >>> pred.shape, feature.shape, model.feature_dim
    (torch.Size([4, 8, 3]), torch.Size([4, 3, 32]), 32)
    """

    def __init__(
        self,
        window_length: int,
        horizon: int,
        n_channels: int,
        hidden_size: int = 512,
        chunk_size: int = 24,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(window_length, horizon, n_channels)
        self.hidden_size = check_int(hidden_size, "hidden_size")
        self.chunk_size = check_int(chunk_size, "chunk_size")
        self.dropout = check_float(dropout, "dropout", below=1.0)
        if self.window_length % self.chunk_size != 0:
            raise ValueError(
                f"window_length ({self.window_length}) must be divisible by "
                f"chunk_size ({self.chunk_size})"
            )
        self.n_chunks = self.window_length // self.chunk_size
        self.feature_dim = 2 * self.hidden_size

        self.normalizer = RevIN(self.n_channels, affine=False)
        self.continuous = _IEBlock(self.chunk_size, self.n_chunks, self.hidden_size)
        self.continuous_pool = nn.Linear(self.n_chunks, 1)
        self.interval = _IEBlock(self.chunk_size, self.n_chunks, self.hidden_size)
        self.interval_pool = nn.Linear(self.n_chunks, 1)
        self.feature_dropout = nn.Dropout(self.dropout)
        self.output = nn.Linear(self.feature_dim, self.horizon)
        self.highway = nn.Linear(self.window_length, self.horizon)

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = x.shape[0]
        series = x.transpose(1, 2).reshape(-1, self.window_length)  # (B*C, L)
        # Continuous: chunk k holds points k*chunk_size .. (k+1)*chunk_size - 1.
        continuous = series.reshape(-1, self.n_chunks, self.chunk_size)
        # Interval: group k holds points k, k + n_chunks, k + 2*n_chunks, ...
        interval = series.reshape(-1, self.chunk_size, self.n_chunks).transpose(1, 2)

        def branch(block: _IEBlock, pool: nn.Linear, chunks: torch.Tensor) -> torch.Tensor:
            # (N, n_chunks, hidden) -> pool the chunk axis -> (N, hidden)
            return pool(block(chunks).transpose(1, 2)).squeeze(-1)

        hidden = torch.cat(
            [
                branch(self.continuous, self.continuous_pool, continuous),
                branch(self.interval, self.interval_pool, interval),
            ],
            dim=-1,
        )
        pred = self.output(self.feature_dropout(hidden)) + self.highway(series)
        pred = pred.reshape(batch, self.n_channels, self.horizon).transpose(1, 2)
        return pred, hidden.reshape(batch, self.n_channels, self.feature_dim)
