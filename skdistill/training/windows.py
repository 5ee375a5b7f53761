"""Lazy stride-1 windows over one standardised series, and a tail validation split.

A window ``i`` is ``x = series[s_i : s_i + L]`` and ``y = series[s_i + L : s_i + L + H]``
for start ``s_i``. Only the series is stored; each window is a view cut on access,
so memory does not grow with (number of windows x look-back).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch.utils.data import Dataset, Subset


class SlidingWindowDataset(Dataset):
    """Stride-1 (context, target) windows cut lazily from a ``(T, C)`` series.

    Parameters
    ----------
    series : array-like of shape (T, C)
        The (standardised) series; stored once as a float32 tensor.
    window_length : int
        Look-back ``L``.
    horizon : int
        Number of target steps ``H``; 0 yields contexts only (for prediction).
    starts : array-like of int, optional
        Window start rows; default every start with a full target.
    extras : dict of str to Tensor, optional
        Per-window tensors (e.g. cached teacher outputs) whose first axis runs over
        ``extras_index``; a window without an entry gets no extra keys.
    extras_index : array-like of int, optional
        For each window of this dataset, the row of ``extras`` or -1.

    Notes
    -----
    Items are ``({"x": (L, C) tensor, **extras}, (H, C) tensor)``, the dict form
    skorch passes to ``infer`` and ``get_loss``.
    """

    def __init__(
        self,
        series,
        window_length: int,
        horizon: int,
        starts=None,
        extras: Mapping[str, torch.Tensor] | None = None,
        extras_index=None,
    ) -> None:
        self.series = torch.as_tensor(np.asarray(series, dtype=np.float32))
        if self.series.ndim != 2:
            raise ValueError(f"series must be 2-D (T, C); got shape {tuple(self.series.shape)}.")
        self.window_length = int(window_length)
        self.horizon = int(horizon)
        n_total = self.series.shape[0] - self.window_length - self.horizon + 1
        if starts is None:
            starts = np.arange(max(n_total, 0))
        self.starts = np.asarray(starts, dtype=np.int64)
        if self.starts.size and (self.starts.min() < 0 or self.starts.max() >= max(n_total, 0)):
            raise ValueError("window starts out of range for this series, look-back and horizon.")
        self.extras = dict(extras or {})
        if extras_index is None:
            extras_index = (
                np.full(len(self.starts), -1) if not self.extras else np.arange(len(self))
            )
        self.extras_index = np.asarray(extras_index, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int):
        s = int(self.starts[i])
        mid = s + self.window_length
        x = {"x": self.series[s:mid]}
        row = int(self.extras_index[i])
        if row >= 0:
            for key, value in self.extras.items():
                x[key] = value[row]
        return x, self.series[mid : mid + self.horizon]

    def contexts(self, batch_size: int = 1024):
        """Yield batches of contexts ``(b, L, C)`` in window order (no targets)."""
        for lo in range(0, len(self), batch_size):
            idx = self.starts[lo : lo + batch_size]
            offsets = torch.arange(self.window_length)
            rows = torch.as_tensor(idx)[:, None] + offsets[None, :]
            yield self.series[rows]


class TailSplit:
    """skorch ``train_split``: the last ``n_valid`` windows validate, the rest train.

    Time series must validate on their tail (skorch's default ``ValidSplit``
    validates on the *first* rows). A class, not a lambda, so nets stay picklable.
    """

    def __init__(self, n_valid: int) -> None:
        self.n_valid = int(n_valid)

    def __call__(self, dataset, y=None, **fit_params):
        n = len(dataset)
        if self.n_valid <= 0:
            return dataset, None
        if self.n_valid >= n:
            raise ValueError(f"validation takes {self.n_valid} of {n} windows; none left to train.")
        idx = np.arange(n)
        return Subset(dataset, idx[: n - self.n_valid]), Subset(dataset, idx[n - self.n_valid :])

    def __repr__(self) -> str:
        return f"TailSplit(n_valid={self.n_valid})"
