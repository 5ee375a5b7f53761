"""The skeleton every forecasting module shares: its shape arguments, input check and pass.

A forecaster maps a window ``x`` of shape ``(B, L, C)`` to predictions ``(B, H, C)``. Its pass is
always *normalise -> encode -> denormalise*: :meth:`_Forecaster.forward_features` checks the
input, normalises it with the module's normaliser (if any), hands it to the architecture's own
``_encode`` and undoes the normalisation on the prediction only (the feature is returned as
``_encode`` made it).
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from skdistill._validation import check_int

from .layers import _check_forecast_input

__all__: list[str] = []


class _Normalizer(Protocol):
    """What the pass needs of a normaliser: statistics taken by ``normalize``, reused after."""

    def normalize(self, x: torch.Tensor) -> torch.Tensor: ...

    def denormalize(self, y: torch.Tensor) -> torch.Tensor: ...


class _Forecaster(nn.Module):
    """Base of the forecasting modules: shape arguments, input check and the forward pass.

    ``window_length``, ``horizon`` and ``n_channels`` (look-back L, horizon H and channels C)
    are validated as positive ints and stored under those names. Subclasses implement ``_encode(x)``, mapping the normalised window ``(B, L, C)`` to
    ``(pred (B, H, C), feature (B, C, feature_dim))`` with ``pred`` still normalised. The
    normaliser is the submodule ``normalizer`` (None for none); a subclass that keeps it
    elsewhere overrides :meth:`_normalizer`. This class adds no attribute to the module, so
    pickles of the subclasses do not depend on it.
    """

    def __init__(self, window_length: int, horizon: int, n_channels: int) -> None:
        super().__init__()
        self.window_length = check_int(window_length, "window_length")
        self.horizon = check_int(horizon, "horizon")
        self.n_channels = check_int(n_channels, "n_channels")

    def _normalizer(self) -> _Normalizer | None:
        """The normaliser of one pass, or None to leave the window as it is."""
        return self.normalizer

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Predict from ``x`` (B, L, C); return ``(pred (B, H, C), feature (B, C, feature_dim))``.

        ``feature`` comes from the same pass; only ``pred`` is denormalised.
        """
        _check_forecast_input(x, self.window_length, self.n_channels)
        normalizer = self._normalizer()
        if normalizer is not None:
            x = normalizer.normalize(x)
        pred, feature = self._encode(x)
        if normalizer is not None:
            pred = normalizer.denormalize(pred)
        return pred, feature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict ``(B, H, C)`` from ``x`` (B, L, C)."""
        return self.forward_features(x)[0]
