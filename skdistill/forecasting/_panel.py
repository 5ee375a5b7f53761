"""Panels and hierarchies: ``y`` split into its series and forecasts joined back.

sktime hands a panel (``pd-multiindex``) or a hierarchy (``pd_multiindex_hier``) to
``_fit`` as one DataFrame whose last index level is time and whose other levels name the
series (the *instance* levels). The deep forecasters train one global model on the windows
of every series, so they need the series one by one (each with its own scaler, validation
tail and look-back) and, after predicting, one frame with the same instance levels. A plain
DataFrame is a panel of one series whose key is ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class Series:
    """``y``'s series, in the order they first appear.

    Attributes
    ----------
    keys : list
        Instance key of each series (a scalar for a panel, a tuple for a hierarchy; ``[None]``
        for a single series).
    frames : list of pandas.DataFrame
        Each series with its time index alone.
    level_names : list or None
        Names of the instance levels and, last, of the time level; None for a single series.
    """

    keys: list
    frames: list[pd.DataFrame]
    level_names: list | None = None

    @property
    def is_panel(self) -> bool:
        return self.level_names is not None

    def label(self, i: int, what: str = "y") -> str:
        """How messages name series ``i``: ``"y"`` or ``"y (series 'a')"``."""
        return what if not self.is_panel else f"{what} (series {self.keys[i]!r})"


def split_series(y: pd.DataFrame | pd.Series) -> Series:
    """``y``'s series: one per combination of its instance levels (a plain frame: itself)."""
    if isinstance(y, pd.Series):
        y = y.to_frame()
    if not isinstance(y.index, pd.MultiIndex):
        return Series([None], [y])
    levels = list(range(y.index.nlevels - 1))
    keys, frames = [], []
    for key, frame in y.groupby(level=levels, sort=False):
        # pandas gives 1-tuples when grouping by a list of one level: a panel's key is a scalar.
        keys.append(key[0] if isinstance(key, tuple) and len(key) == 1 else key)
        frames.append(frame.droplevel(levels))
    return Series(keys, frames, list(y.index.names))


def join_series(frames: list[pd.DataFrame], keys: list, level_names: list | None) -> pd.DataFrame:
    """One frame of per-series ``frames`` under their instance ``keys`` (inverse of
    :func:`split_series`); a single series is returned as it is."""
    if level_names is None:
        return frames[0]
    joined = pd.concat(frames, keys=keys, names=level_names[:-1])
    joined.index = joined.index.set_names(level_names)
    return joined
