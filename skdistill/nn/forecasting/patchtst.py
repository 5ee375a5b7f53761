"""PatchTST (Nie et al., ICLR 2023): a channel-independent Transformer over patches of each series."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from skdistill._validation import check_float, check_int

from .base import _Forecaster
from .layers import (
    RevIN,
    _check_heads,
    _HeadProjections,
    _repeat_last,
)

__all__ = ["PatchTST"]


class _BatchNormTokens(nn.Module):
    """BatchNorm1d over the width of ``(N, tokens, d)`` tokens (the reference's Transpose-BN-Transpose)."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class _ResidualAttention(_HeadProjections):
    """Multi-head self-attention that adds the previous layer's pre-softmax scores (res_attention)."""

    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__(d_model, n_heads)
        self.out_dropout = nn.Dropout(dropout)
        self.scale = 1.0 / math.sqrt(d_model // n_heads)

    def forward(
        self, x: torch.Tensor, prev_scores: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        q, k, v = self._project(x)
        scores = q @ k.transpose(-2, -1) * self.scale
        if prev_scores is not None:
            scores = scores + prev_scores
        attended = F.softmax(scores, dim=-1) @ v
        return self.out_dropout(self._merge(attended)), scores


class _EncoderLayer(nn.Module):
    """Post-norm encoder layer with BatchNorm: ``BN(x + attn(x))`` then ``BN(x + ffn(x))``."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.attention = _ResidualAttention(d_model, n_heads, dropout)
        self.norm_attn = _BatchNormTokens(d_model)
        self.ffn = nn.Sequential(
            nn.Linear(d_model, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model)
        )
        self.norm_ffn = _BatchNormTokens(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, prev_scores: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        attended, scores = self.attention(x, prev_scores)
        x = self.norm_attn(x + self.dropout(attended))
        x = self.norm_ffn(x + self.dropout(self.ffn(x)))
        return x, scores


class _Encoder(nn.Module):
    """Stack of encoder layers; threads the attention scores from layer to layer."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float, e_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(
            _EncoderLayer(d_model, n_heads, d_ff, dropout) for _ in range(e_layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = None
        for layer in self.layers:
            x, scores = layer(x, scores)
        return x


class PatchTST(_Forecaster):
    """PatchTST forecaster: each channel is cut into patches that a Transformer encoder attends over.

    Every channel is processed independently with shared weights: the series is normalised over
    time, padded at the end by repeating its last value ``stride`` times, cut into
    ``n_patches = (L - patch_len) // stride + 2`` patches, embedded by ``Linear(patch_len,
    d_model)`` plus a learned positional embedding, encoded by ``e_layers`` Transformer layers
    (BatchNorm instead of LayerNorm, GELU feed-forward), flattened and mapped to the horizon by
    ``Linear(n_patches * d_model, H)``.

    Parameters
    ----------
    window_length, horizon : int
        Look-back length L (>= ``patch_len``) and forecast horizon H.
    n_channels : int
        Number of channels C. The weights do not depend on C; it is used to validate inputs.
    patch_len : int, default=16
        Length of a patch.
    stride : int, default=8
        Step between consecutive patches; also the number of end-padding values.
    d_model : int, default=128
        Patch-token width. Must be divisible by ``n_heads``.
    n_heads : int, default=16
        Attention heads.
    e_layers : int, default=3
        Encoder layers.
    d_ff : int, default=256
        Hidden width of the feed-forward network.
    dropout : float, default=0.2
        Dropout after the embedding, after the attention projection and in the residual branches.
    head_dropout : float, default=0.0
        Dropout on the flattened encoder output before the linear head.

    Attributes
    ----------
    n_patches : int
        Number of patches per channel.
    feature_dim : int
        Size d of the per-channel feature (= ``n_patches * d_model``).

    Notes
    -----
    ``forward(x)`` maps ``(B, L, C)`` to ``(B, H, C)``. ``forward_features(x)`` returns
    ``(pred, feature)`` from the same pass; ``feature`` is the encoder output
    ``(B * C, n_patches, d_model)`` reshaped to ``(B, C, n_patches * d_model)``.

    As the reference supervised model, attention is "residual" (every layer adds the previous
    layer's pre-softmax scores) and the encoder's BatchNorm makes channels and samples interact
    in training mode only; in eval mode the model is exactly channel-independent. Instance
    normalisation has no affine map (as the reference with ``affine=0``). With L=720, H=96, C=7
    and the defaults the module has 1,517,152 parameters.

    Examples
    --------
    >>> import torch
    >>> model = PatchTST(32, 8, 3, patch_len=8, stride=4, d_model=16, n_heads=2, e_layers=1)
    >>> pred, feature = model.forward_features(torch.randn(4, 32, 3))
    >>> pred.shape, feature.shape, model.n_patches
    (torch.Size([4, 8, 3]), torch.Size([4, 3, 128]), 8)
    """

    def __init__(
        self,
        window_length: int,
        horizon: int,
        n_channels: int,
        patch_len: int = 16,
        stride: int = 8,
        d_model: int = 128,
        n_heads: int = 16,
        e_layers: int = 3,
        d_ff: int = 256,
        dropout: float = 0.2,
        head_dropout: float = 0.0,
    ) -> None:
        super().__init__(window_length, horizon, n_channels)
        self.patch_len = check_int(patch_len, "patch_len")
        self.stride = check_int(stride, "stride")
        self.d_model = check_int(d_model, "d_model")
        self.n_heads = check_int(n_heads, "n_heads")
        self.e_layers = check_int(e_layers, "e_layers")
        self.d_ff = check_int(d_ff, "d_ff")
        self.dropout = check_float(dropout, "dropout", below=1.0)
        self.head_dropout = check_float(head_dropout, "head_dropout", below=1.0)
        if self.patch_len > self.window_length:
            raise ValueError(
                f"patch_len ({self.patch_len}) must not exceed window_length ({self.window_length})"
            )
        _check_heads(self.d_model, self.n_heads)
        self.n_patches = (self.window_length - self.patch_len) // self.stride + 2
        self.feature_dim = self.n_patches * self.d_model

        self.revin = RevIN(self.n_channels, affine=False)
        self.patch_embedding = nn.Linear(self.patch_len, self.d_model)
        # Learned positional embedding, initialised as the reference's pe="zeros" (U(-0.02, 0.02)).
        self.position = nn.Parameter(
            torch.empty(self.n_patches, self.d_model).uniform_(-0.02, 0.02)
        )
        self.embedding_dropout = nn.Dropout(self.dropout)
        self.encoder = _Encoder(self.d_model, self.n_heads, self.d_ff, self.dropout, self.e_layers)
        self.head = nn.Sequential(
            nn.Dropout(self.head_dropout), nn.Linear(self.feature_dim, self.horizon)
        )

    def _normalizer(self) -> RevIN:
        return self.revin

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, c = x.shape
        series = x.transpose(1, 2)  # (B, C, L)
        # Repeat the last value ``stride`` times so that the tail gets a full patch.
        series = _repeat_last(series, self.stride)
        patches = series.unfold(-1, self.patch_len, self.stride)  # (B, C, n_patches, patch_len)
        tokens = self.patch_embedding(patches.reshape(b * c, self.n_patches, self.patch_len))
        tokens = self.embedding_dropout(tokens + self.position)
        encoded = self.encoder(tokens)  # (B * C, n_patches, d_model)
        feature = encoded.reshape(b, c, self.feature_dim)
        return self.head(feature).transpose(1, 2), feature
