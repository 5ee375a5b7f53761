"""Frozen teachers seen from the student's side, and the computation of their output cache.

The teacher is frozen and deterministic in eval mode, so its outputs for the fixed
training windows can be computed once and reused every epoch: the same loss as
running it on every batch (the reference's way) for a fraction of the compute.
:func:`compute_teacher_outputs` writes them chunk by chunk into tensors that a destination
allocates: in RAM when the cache fits its memory budget, in files (read by rows) of a
temporary folder above it (or on request), optionally stored in float16 or bfloat16 (see
:mod:`skdistill.training.teacher_cache`). The teacher runs on every training batch
(:class:`FrozenTeacher`) only when the user turns the cache off.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from skdistill.losses.base import TeacherOutputs
from skdistill.training.net import SERIES
from skdistill.training.progress import progress_bar


class TeacherAdapter(nn.Module):
    """Run a teacher module on contexts standardised with the *student's* scaler.

    The teacher may have its own scaler, a shorter look-back and a longer horizon:
    contexts are mapped to the teacher's scale, cut to its last ``teacher_window``
    steps, and its prediction is cut to ``horizon`` steps and mapped back.

    Parameters
    ----------
    teacher : nn.Module
        Has ``forward_features(x) -> (prediction, feature)``.
    student_mean, student_scale, teacher_mean, teacher_scale : array-like of shape (C,) or (S, C)
        Per-channel standardisation of both sides; ``(S, C)``: one row per series of a panel
        (the same series, in the same order, on both sides where both are 2-D). Then
        ``forward`` needs each window's series.
    teacher_window : int
        The teacher's look-back.
    horizon : int
        Steps the student predicts (<= the teacher's horizon).
    """

    def __init__(
        self,
        teacher: nn.Module,
        student_mean,
        student_scale,
        teacher_mean,
        teacher_scale,
        teacher_window: int,
        horizon: int,
    ) -> None:
        super().__init__()
        self.teacher = teacher
        as_t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
        # x_teacher = x_student * gain + shift  (and the inverse for predictions)
        gain = as_t(student_scale) / as_t(teacher_scale)
        shift = (as_t(student_mean) - as_t(teacher_mean)) / as_t(teacher_scale)
        self.register_buffer("gain", gain)
        self.register_buffer("shift", shift)
        self.teacher_window = int(teacher_window)
        self.horizon = int(horizon)

    @property
    def feature_dim(self) -> int:
        """Width of the teacher's feature (per channel token)."""
        return int(self.teacher.feature_dim)

    def forward(
        self, x: torch.Tensor, series: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        gain, shift = self.gain, self.shift
        if gain.ndim == 2:  # scaled per series: each window takes its series' row
            if series is None:
                raise ValueError("this teacher is scaled per series: pass each window's series.")
            gain, shift = gain[series].unsqueeze(1), shift[series].unsqueeze(1)
        x_t = x[:, -self.teacher_window :] * gain + shift
        pred, feat = self.teacher.forward_features(x_t)
        pred = (pred[:, : self.horizon] - shift) / gain
        return pred, feat


class EnsembleAdapter(nn.Module):
    """Several :class:`TeacherAdapter` s seen as one: the weighted mean of their predictions
    and the list of their features (one regressor each on the student's side)."""

    def __init__(self, adapters: list[nn.Module], weights) -> None:
        super().__init__()
        self.adapters = nn.ModuleList(adapters)
        self.register_buffer("weights", torch.as_tensor(np.asarray(weights, dtype=np.float32)))

    def forward(
        self, x: torch.Tensor, series: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        preds, feats = zip(*(a(x, series) for a in self.adapters), strict=True)
        pred = sum(w * p for w, p in zip(self.weights, preds, strict=True))
        return pred, list(feats)


class ProjectedTeacher(nn.Module):
    """A teacher adapter whose feature is projected onto ``k`` fixed principal directions.

    ``feature -> (feature - mean) @ basis.T``: the (B, C, d_t) feature becomes (B, C, k). The
    regressor R that follows is ``Linear(k, D) -> ReLU -> Linear(D, D)`` instead of
    ``Linear(d_t, D) -> ...``; as R's first layer is linear, this restricts it to the span of the
    ``k`` directions of largest variance, and loses only the variance outside that span
    (reported as ``kept``). It cuts R's cost and the cache's size by ``d_t / k``.

    Parameters
    ----------
    adapter : TeacherAdapter
        Gives ``(prediction, feature (B, C, d_t))``.
    mean : Tensor of shape (d_t,)
    basis : Tensor of shape (k, d_t)
        Orthonormal rows (see :func:`principal_directions`).
    kept : float
        Fraction of the feature's variance the basis keeps (on the sample it was fitted on).
    """

    def __init__(self, adapter: nn.Module, mean: torch.Tensor, basis: torch.Tensor, kept: float):
        super().__init__()
        self.adapter = adapter
        self.register_buffer("mean", mean.float())
        self.register_buffer("basis", basis.float())
        self.kept = float(kept)

    @property
    def feature_dim(self) -> int:
        return int(self.basis.shape[0])

    def forward(
        self, x: torch.Tensor, series: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        pred, feat = self.adapter(x, series)
        return pred, (feat.float() - self.mean) @ self.basis.T


def principal_directions(
    tokens: torch.Tensor, k: int, overwrite: bool = False
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """``(mean, basis (k, d), kept)``: the ``k`` leading principal directions of ``tokens``.

    ``tokens`` is ``(m, d)`` (feature tokens of sampled windows); with ``overwrite`` a float32
    ``tokens`` is centred in place (no copy of a possibly large sample). Exact and
    deterministic (no random projection, so the caller's random stream is untouched): the
    eigenvectors of the smaller of the two Gram matrices, ``X^T X`` (d x d) or ``X X^T``
    (m x m), formed in float32 and solved in float64; no float64 copy of the sample is made.
    ``kept`` is the fraction of the total variance in the ``k`` directions. With fewer than
    ``k`` informative directions, the basis is completed by an orthonormal complement, so its
    shape is always ``(k, d)``.
    """
    x = tokens.float() if overwrite else tokens.float().clone()
    mean = x.mean(dim=0)
    x -= mean
    m, d = x.shape
    # Sums of squares in float64, a block of rows at a time (float32 sums of millions of
    # squares drift by percents; a float64 copy of the whole sample would double its memory).
    total = sum(float(x[i : i + 256].double().pow(2).sum()) for i in range(0, m, 256))
    if d <= m:
        vals, vecs = torch.linalg.eigh((x.T @ x).double())
        basis = vecs[:, torch.argsort(vals, descending=True)[:k]].T.float()
    else:
        vals, vecs = torch.linalg.eigh((x @ x.T).double())
        order = torch.argsort(vals, descending=True)[: min(k, m)]
        lam = vals[order].clamp_min(0)
        good = lam > lam.max().clamp_min(1e-300) * 1e-10
        # Directions in feature space: X^T v. Those of small eigenvalues carry the float32
        # Gram's rounding and are not quite orthogonal: orthonormalised (QR, largest first).
        basis = (x.T @ vecs[:, order[good]].float()).T
    if basis.shape[0] < k:  # complete with directions orthogonal to the data's
        basis = torch.cat([basis, torch.eye(k, d)[: k - basis.shape[0]]])
    if d > m or basis.shape[0] < k:
        q = torch.linalg.qr(basis.T.double())[0]
        basis = q.T.float()
    kept = float((x @ basis.T).double().pow(2).sum()) / total if total > 0 else 1.0
    return mean, basis.contiguous(), min(kept, 1.0)


@torch.no_grad()
def project_features(
    adapter: nn.Module,
    dataset,
    n_windows: int,
    k: int,
    device: str = "cpu",
    max_tokens: int = 4096,
    chunk_bytes: int = 64 * 2**20,
) -> ProjectedTeacher:
    """``adapter`` with its feature projected on ``k`` principal directions, fitted on the
    feature tokens (one per window and channel) of at most ``max_tokens // C`` training
    windows spread evenly over the first ``n_windows`` (the sample is a fixed grid: no
    randomness)."""
    adapter = adapter.to(device).eval()
    n_channels = dataset.n_channels
    n_sample = max(1, min(n_windows, max_tokens // max(n_channels, 1)))
    rows = np.unique(np.linspace(0, n_windows - 1, n_sample).round().astype(np.int64))
    batch = teacher_batch(adapter, dataset, chunk_bytes, device)
    tokens = None  # filled in place: the sample exists once
    for lo in range(0, len(rows), batch):
        items = [dataset[int(i)][0] for i in rows[lo : lo + batch]]
        contexts = torch.stack([item["x"] for item in items])
        series = torch.stack([item[SERIES] for item in items]) if SERIES in items[0] else None
        _, feat = adapter(contexts.to(device), _on(series, device))
        feat = feat.float().cpu().reshape(-1, feat.shape[-1])
        if tokens is None:
            tokens = torch.empty((len(rows) * n_channels, feat.shape[-1]))
        tokens[lo * n_channels : lo * n_channels + len(feat)] = feat
    mean, basis, kept = principal_directions(tokens, k, overwrite=True)
    return ProjectedTeacher(adapter, mean, basis, kept)


def cache_nbytes(
    n_windows: int, horizon: int, n_channels: int, feature_dim: int | None, itemsize: int = 4
) -> int:
    """Bytes a cache of predictions (and features) for ``n_windows`` takes, stored with
    ``itemsize`` bytes per value (4: float32; 2: float16 or bfloat16)."""
    per = horizon * n_channels + (n_channels * feature_dim if feature_dim else 0)
    return itemsize * n_windows * per


def _float32_empty(shape: tuple[int, ...]) -> torch.Tensor:
    return torch.empty(shape, dtype=torch.float32)


# A teacher's activations are taken as this many times its outputs (prediction and feature)
# when a chunk of windows is sized: ModernTCN's feed-forward layer is 8x its feature wide.
_ACTIVATION_FACTOR = 8


def _raw_outputs(adapter: nn.Module, probe: tuple) -> int:
    """Numbers a teacher's pass outputs for ``probe`` (contexts, series), before any projection of its feature
    (a projected feature is small, the teacher's activations are not)."""
    if isinstance(adapter, EnsembleAdapter):
        return sum(_raw_outputs(a, probe) for a in adapter.adapters)
    if isinstance(adapter, ProjectedTeacher):
        return _raw_outputs(adapter.adapter, probe)
    pred, feat = adapter(*probe)
    feats = list(feat) if isinstance(feat, list | tuple) else [feat]
    return pred.numel() + sum(f.numel() for f in feats)


@torch.no_grad()
def teacher_batch(adapter: nn.Module, dataset, chunk_bytes: int, device: str) -> int:
    """Windows per teacher pass so that a pass holds about ``chunk_bytes``: its input, and
    ``_ACTIVATION_FACTOR`` times its outputs for the teacher's activations (measured on one
    window). Between 1 and 1024."""
    contexts, series = next(iter(dataset.contexts(1, stop=1)))
    probe = (contexts.to(device), _on(series, device))
    per_window = 4 * (contexts.numel() + _ACTIVATION_FACTOR * _raw_outputs(adapter, probe))
    return max(1, min(1024, chunk_bytes // max(per_window, 1)))


@torch.no_grad()
def compute_teacher_outputs(
    adapter: nn.Module,
    dataset,
    *,
    with_features: bool,
    n_windows: int | None = None,
    device: str = "cpu",
    chunk_bytes: int = 64 * 2**20,
    allocate: Callable[[tuple[int, ...]], torch.Tensor] = _float32_empty,
    add_pred: torch.Tensor | None = None,
    verbose: int = 0,
) -> TeacherOutputs:
    """Run ``adapter`` over the contexts of the first ``n_windows`` windows of ``dataset``
    (default all); return its outputs on the CPU, one row per window.

    Contexts are cut a chunk at a time, sized by :func:`teacher_batch` to about
    ``chunk_bytes`` of input, outputs and activations (so the transient memory stays bounded
    whatever the look-back, the number of channels and the teacher's width), and the outputs
    are written into tensors allocated once by ``allocate(shape)`` (default float32 in RAM;
    :meth:`~skdistill.training.teacher_cache.CacheStore.allocate` gives file-backed or
    half-precision ones): the cache never exists twice, nor in full outside its destination.
    ``add_pred`` (rows like the predictions, float32) is added to each chunk's prediction
    before it is stored: the forecasts of teachers computed elsewhere.
    Non-finite values raise ``FloatingPointError``, chunk by chunk. ``verbose``: a progress
    bar over the windows (``"teacher outputs"``, on stderr).
    """
    adapter = adapter.to(device).eval()
    n = len(dataset) if n_windows is None else int(n_windows)
    batch = teacher_batch(adapter, dataset, chunk_bytes, device)
    pred_out, feat_out = None, []
    row = 0
    with progress_bar(n, "teacher outputs", verbose, unit="window") as bar:
        for contexts, series in dataset.contexts(batch, stop=n):
            pred, feat = adapter(contexts.to(device), _on(series, device))
            feats = list(feat) if isinstance(feat, list | tuple) else [feat]
            feats = feats if with_features else []
            if pred_out is None:
                pred_out = allocate((n, *pred.shape[1:]))
                feat_out = [allocate((n, *f.shape[1:])) for f in feats]
            rows = slice(row, row + len(contexts))
            pred = pred.float().cpu()
            if add_pred is not None:
                pred = pred + add_pred[rows]
            _store(pred_out, rows, pred, "predictions")
            for k, (out, f) in enumerate(zip(feat_out, feats, strict=True)):
                _store(out, rows, f.float().cpu(), f"feature {k}")
            row += len(contexts)
            bar.update(len(contexts))
    return TeacherOutputs(pred_out, tuple(feat_out))


def _on(series: torch.Tensor | None, device: str) -> torch.Tensor | None:
    return None if series is None else series.to(device)


def _store(out: torch.Tensor, rows: slice, value: torch.Tensor, name: str) -> None:
    """``out[rows] = value``, refusing non-finite values (checked per chunk, so that the check
    never reads the whole cache back into memory)."""
    if not torch.isfinite(value).all():
        raise FloatingPointError(f"the teacher produced non-finite values in its {name}.")
    out[rows] = value
    if out.dtype != value.dtype and not torch.isfinite(out[rows]).all():
        raise FloatingPointError(
            f"the teacher's {name} exceed the range of {out.dtype} (largest |value| "
            f"{value.abs().max().item():.3g}): store the cache as bfloat16 or float32 "
            "(teacher_cache_dtype)."
        )


class FrozenTeacher:
    """Holds a frozen teacher module for per-batch use by the net.

    Deliberately not an ``nn.Module``: skorch would register it as a component
    (optimiser, device moves, checkpoints) and refuse to drop it after training.
    """

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        for p in module.parameters():
            p.requires_grad_(False)

    def to(self, device) -> FrozenTeacher:
        self.module.to(device).eval()
        return self

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, series: torch.Tensor | None = None):
        return self.module.eval()(x, series)


@torch.no_grad()
def validation_mse(
    adapter: nn.Module, dataset, start: int, device: str = "cpu", chunk_bytes: int = 64 * 2**20
) -> float | None:
    """Mean squared error of ``adapter``'s predictions on the windows ``start`` to the end of
    ``dataset`` (the validation tail), on the scale the student is trained on; None when there
    is no such window. Chunked like :func:`compute_teacher_outputs`."""
    n = len(dataset) - int(start)
    if n <= 0:
        return None
    adapter = adapter.to(device).eval()
    batch = teacher_batch(adapter, dataset, chunk_bytes, device)
    total, count, row = 0.0, 0, int(start)
    for contexts, series in dataset.contexts(batch, start=row):
        pred, _ = adapter(contexts.to(device), _on(series, device))
        target = torch.stack([dataset[i][1] for i in range(row, row + len(contexts))])
        total += float((pred.float().cpu() - target).square().sum(dtype=torch.float64))
        count += target.numel()
        row += len(contexts)
    return total / count
