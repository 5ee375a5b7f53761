"""Lazy stride-1 windows over one standardised series (or pre-cut windows), and a tail
validation split.

A window ``i`` is ``x = series[s_i : s_i + L]`` and ``y = series[s_i + L : s_i + L + H]``
for start ``s_i``. Only the series is stored; each window is a view cut on access,
so memory does not grow with (number of windows x look-back).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from skdistill.losses.base import TeacherOutputs
from skdistill.training.net import SERIES, TEACHER_FEAT, TEACHER_PRED


def standard_scaler(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and population std over every axis but the last (the channels).

    A (near-)constant channel gets scale 1, so that it is shifted but never divided by ~0.
    """
    axes = tuple(range(train.ndim - 1))
    mean = train.mean(axis=axes)
    scale = train.std(axis=axes)
    return mean, np.where(_flat(mean, scale), 1.0, scale)


def _flat(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return ~(std > 1e-12 * np.maximum(1.0, np.abs(mean)))


def constant_channels(*arrays: np.ndarray) -> np.ndarray:
    """Boolean mask of the channels (last axis) that hold one value across all ``arrays``.

    Such a channel carries no signal to learn: a network trained on it outputs its bias,
    which the scale of 1 that :func:`standard_scaler` gives it maps to noise in data units,
    so its forecast is its last observed value instead (see :func:`predict_student`).
    """
    flat = np.concatenate([a.reshape(-1, a.shape[-1]) for a in arrays])
    return _flat(flat.mean(axis=0), flat.std(axis=0))


class _Windows(Dataset):
    """Items ``({"x": (L, C), teacher entries}, (H, C))``: the dict form skorch passes to
    ``infer`` and ``get_loss``. Cached teacher outputs cover the first ``len(teacher)``
    windows (the training ones, which come first); later windows carry no teacher entries.

    The cache is indexed one row per item, so a cache in files is read a batch's
    rows at a time, never in full; rows stored in half precision come out as float32.

    Indexing with a list of ints gives the whole batch at once, exactly what the default
    collation of the items would give: the training nets read batches so (see
    :meth:`~skdistill.training.net.DistillNet.get_iterator`), because cutting and stacking
    32 items one by one was 4 % of a DMLP distillation epoch.
    """

    window_length: int
    teacher: TeacherOutputs | None = None
    #: Indexing with a list of ints gives the collated batch (see
    #: :func:`~skdistill.training.net.reads_batches`).
    reads_batches = True

    def _teacher_entries(self, i: int) -> dict:
        if self.teacher is None or i >= self.n_cached:
            return {}
        # .float() is a no-op (the row itself) for a float32 cache.
        return self._read_teacher(lambda rows: rows[i].float())

    def _teacher_batch(self, idx: np.ndarray) -> dict:
        n_cached = self.n_cached
        if self.teacher is None or not len(idx) or idx.min() >= n_cached:
            return {}
        if idx.max() >= n_cached:
            # Items with and without entries do not collate either; TailSplit never mixes them.
            raise RuntimeError("a batch mixes windows with and without cached teacher outputs")
        return self._read_teacher(lambda rows: _rows(rows, idx))

    def _read_teacher(self, read) -> dict:
        """The teacher entries, each cached array read by ``read`` (an item's or a batch's)."""
        teacher, out = self.teacher, {}
        if teacher.pred is not None:
            out[TEACHER_PRED] = read(teacher.pred)
        if teacher.features:
            # A list collates to a list of batched tensors: one per teacher, typed, in order.
            out[TEACHER_FEAT] = [read(f) for f in teacher.features]
        return out

    @property
    def n_cached(self) -> int:
        """Number of leading windows that carry cached teacher outputs."""
        teacher = self.teacher
        if teacher is None:
            return 0
        rows = teacher.pred if teacher.pred is not None else teacher.features[0]
        return len(rows)

    def with_teacher(self, teacher: TeacherOutputs | None):
        """This dataset with cached teacher outputs for its first windows."""
        self.teacher = teacher
        return self


def _rows(rows, idx: np.ndarray) -> torch.Tensor:
    """Rows ``idx`` of a cached tensor (gathered) or :class:`FileRows` (read one by one), as
    float32."""
    if isinstance(rows, torch.Tensor):
        return rows[torch.as_tensor(idx)].float()
    return torch.stack([rows[int(i)] for i in idx]).float()


class SlidingWindowDataset(_Windows):
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
    teacher : TeacherOutputs, optional
        Cached teacher outputs, one row per window, for the first windows.
    series_ids : array-like of int, optional
        For several series laid end to end in ``series`` (a panel): the series of each
        window, which items carry as ``"series"`` (a teacher scaled per series needs it).
        The caller's starts keep each window within its series.
    """

    def __init__(
        self,
        series,
        window_length: int,
        horizon: int,
        starts=None,
        teacher: TeacherOutputs | None = None,
        series_ids=None,
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
        self.teacher = teacher
        self.n_channels = self.series.shape[1]
        self.series_ids = None
        if series_ids is not None:
            self.series_ids = torch.as_tensor(np.asarray(series_ids, dtype=np.int64))
            if self.series_ids.shape != (len(self.starts),):
                raise ValueError("series_ids must hold one series per window start.")

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i):
        if isinstance(i, list):
            return self._batch(np.asarray(i, dtype=np.int64))
        s = int(self.starts[i])
        mid = s + self.window_length
        x = {"x": self.series[s:mid], **self._teacher_entries(i)}
        if self.series_ids is not None:
            x[SERIES] = self.series_ids[i]
        return x, self.series[mid : mid + self.horizon]

    def _batch(self, idx: np.ndarray):
        starts = torch.as_tensor(self.starts[idx])[:, None]
        x = {
            "x": self.series[starts + torch.arange(self.window_length)],
            **self._teacher_batch(idx),
        }
        if self.series_ids is not None:
            x[SERIES] = self.series_ids[torch.as_tensor(idx)]
        offsets = torch.arange(self.window_length, self.window_length + self.horizon)
        return [x, self.series[starts + offsets]]  # a list, as collated items are

    def contexts(self, batch_size: int = 1024, stop: int | None = None, start: int = 0):
        """Yield ``(contexts (b, L, C), series (b,) or None)`` of the windows ``start`` to
        ``stop`` (default: the first to the last), in order, ``batch_size`` at a time."""
        starts = self.starts[start:stop]
        series = None if self.series_ids is None else self.series_ids[start:stop]
        offsets = torch.arange(self.window_length)
        for lo in range(0, len(starts), batch_size):
            rows = torch.as_tensor(starts[lo : lo + batch_size])[:, None] + offsets[None, :]
            ids = None if series is None else series[lo : lo + batch_size]
            yield self.series[rows], ids


class ArrayWindowDataset(_Windows):
    """Pre-cut windows ``X`` (n, L, C) and targets ``Y`` (n, H, C), as float32 tensors."""

    def __init__(self, X, Y, teacher: TeacherOutputs | None = None) -> None:
        self.X = torch.as_tensor(np.asarray(X, dtype=np.float32))
        self.Y = torch.as_tensor(np.asarray(Y, dtype=np.float32))
        self.window_length, self.n_channels = self.X.shape[1], self.X.shape[2]
        self.teacher = teacher

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i):
        if isinstance(i, list):
            idx = np.asarray(i, dtype=np.int64)
            return [{"x": self.X[idx], **self._teacher_batch(idx)}, self.Y[idx]]
        return {"x": self.X[i], **self._teacher_entries(i)}, self.Y[i]

    def contexts(self, batch_size: int = 1024, stop: int | None = None, start: int = 0):
        """Yield ``(contexts (b, L, C), None)`` of the windows ``start`` to ``stop``, in order."""
        X = self.X[start:stop]
        for lo in range(0, len(X), batch_size):
            yield X[lo : lo + batch_size], None


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
