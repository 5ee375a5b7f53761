"""iTransformer (Liu et al., ICLR 2024): a Transformer encoder over variate tokens."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from skdistill._validation import check_choice, check_float, check_int

from .base import _Forecaster
from .layers import (
    _check_heads,
    _HeadProjections,
)

__all__ = ["ITransformer"]

_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}


class _SelfAttention(_HeadProjections):
    """Full multi-head self-attention with separate query/key/value/output projections."""

    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__(d_model, n_heads)
        self.dropout = dropout  # on the attention weights, as in the reference FullAttention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        attended = F.scaled_dot_product_attention(
            *self._project(x), dropout_p=self.dropout if self.training else 0.0
        )
        return self._merge(attended)


class _EncoderLayer(nn.Module):
    """Post-norm Transformer encoder layer (attention, then a position-wise feed-forward net)."""

    def __init__(
        self, d_model: int, n_heads: int, d_ff: int, dropout: float, activation: str
    ) -> None:
        super().__init__()
        self.attention = _SelfAttention(d_model, n_heads, dropout)
        # Linear on the last axis == the reference's Conv1d with kernel 1 (same parameters).
        self.ff1 = nn.Linear(d_model, d_ff)
        self.ff2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = _ACTIVATIONS[activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.dropout(self.attention(x)))
        y = self.dropout(self.activation(self.ff1(x)))
        y = self.dropout(self.ff2(y))
        return self.norm2(x + y)


class _InstanceNorm:
    """The reference iTransformer's non-stationary normalisation, for one forward pass.

    Not a module: it has no parameters and holds the statistics of a single window only.
    """

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        # Mean detached and std not, exactly as the reference; parameter gradients are the
        # same either way (the statistics depend on the data only).
        self.mean = x.mean(dim=1, keepdim=True).detach()
        x = x - self.mean
        self.std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + 1e-5)
        return x / self.std

    def denormalize(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.std + self.mean


class ITransformer(_Forecaster):
    """iTransformer forecaster: every channel's whole window is one token, attention mixes channels.

    Each series (one per channel) is normalised over time, embedded by ``Linear(L, d_model)``,
    processed by ``e_layers`` Transformer encoder layers whose self-attention runs across the C
    variate tokens, and projected by ``Linear(d_model, H)`` to the horizon.

    Parameters
    ----------
    window_length, horizon : int
        Look-back length L and forecast horizon H.
    n_channels : int
        Number of channels C (= number of tokens). The weights do not depend on C; it is used to
        validate inputs.
    d_model : int, default=256
        Token width; also the feature dimension. Must be divisible by ``n_heads``.
    n_heads : int, default=8
        Attention heads.
    e_layers : int, default=2
        Encoder layers.
    d_ff : int, default=256
        Hidden width of the position-wise feed-forward network.
    dropout : float, default=0.1
        Dropout after the embedding, on the attention weights, and in every residual branch.
    activation : {"gelu", "relu"}, default="gelu"
        Feed-forward activation.
    use_norm : bool, default=True
        Non-stationary normalisation: subtract the per-sample, per-channel mean over time and
        divide by ``sqrt(var + 1e-5)`` (population variance); undo both on the output.

    Attributes
    ----------
    feature_dim : int
        Size d of the per-channel feature returned by ``forward_features`` (= ``d_model``).

    Notes
    -----
    ``forward(x)`` maps ``(B, L, C)`` to ``(B, H, C)``. ``forward_features(x)`` returns
    ``(pred, feature)`` from the same pass; ``feature`` is the encoder output after its final
    LayerNorm, ``(B, C, d_model)``: the teacher feature TimeDistill distils.

    Unlike the reference implementation, no time-feature (``x_mark``) tokens are appended: the
    training layer passes only the series, so the tokens are exactly the C variates. Layers
    follow the reference (post-norm, Linear in place of kernel-1 Conv1d); with L=720, H=96 and
    the defaults the module has 1,001,312 parameters.

    Examples
    --------
    >>> import torch
    >>> model = ITransformer(32, 8, 3, d_model=16, n_heads=2, e_layers=1, d_ff=16)
    >>> pred, feature = model.forward_features(torch.randn(4, 32, 3))
    >>> pred.shape, feature.shape
    (torch.Size([4, 8, 3]), torch.Size([4, 3, 16]))
    """

    def __init__(
        self,
        window_length: int,
        horizon: int,
        n_channels: int,
        d_model: int = 256,
        n_heads: int = 8,
        e_layers: int = 2,
        d_ff: int = 256,
        dropout: float = 0.1,
        activation: str = "gelu",
        use_norm: bool = True,
    ) -> None:
        super().__init__(window_length, horizon, n_channels)
        self.d_model = check_int(d_model, "d_model")
        self.n_heads = check_int(n_heads, "n_heads")
        self.e_layers = check_int(e_layers, "e_layers")
        self.d_ff = check_int(d_ff, "d_ff")
        _check_heads(self.d_model, self.n_heads)
        self.dropout = check_float(dropout, "dropout", below=1.0)
        self.activation = check_choice(activation, "activation", tuple(_ACTIVATIONS))
        if not isinstance(use_norm, bool):
            raise ValueError(f"use_norm must be a bool, got {use_norm!r}")
        self.use_norm = use_norm
        self.feature_dim = self.d_model

        self.embedding = nn.Linear(self.window_length, self.d_model)
        self.embedding_dropout = nn.Dropout(self.dropout)
        self.layers = nn.ModuleList(
            _EncoderLayer(self.d_model, self.n_heads, self.d_ff, self.dropout, self.activation)
            for _ in range(self.e_layers)
        )
        self.final_norm = nn.LayerNorm(self.d_model)
        self.projector = nn.Linear(self.d_model, self.horizon)

    def _normalizer(self) -> _InstanceNorm | None:
        return _InstanceNorm() if self.use_norm else None

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Inverted embedding: one token per channel, its whole window as the token's input.
        tokens = self.embedding_dropout(self.embedding(x.transpose(1, 2)))
        for layer in self.layers:
            tokens = layer(tokens)
        feature = self.final_norm(tokens)
        return self.projector(feature).transpose(1, 2), feature
