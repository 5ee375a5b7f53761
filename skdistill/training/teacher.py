"""Frozen teachers seen from the student's side, and the computation of their output cache.

The teacher is frozen and deterministic in eval mode, so its outputs for the fixed
training windows can be computed once and reused every epoch: the same loss as
running it on every batch (the reference's way) for a fraction of the compute.
:func:`compute_teacher_outputs` writes them chunk by chunk into tensors that a destination
allocates: in RAM when the cache fits its memory budget, in memory-mapped files of a
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


class TeacherAdapter(nn.Module):
    """Run a teacher module on contexts standardised with the *student's* scaler.

    The teacher may have its own scaler, a shorter look-back and a longer horizon:
    contexts are mapped to the teacher's scale, cut to its last ``teacher_window``
    steps, and its prediction is cut to ``horizon`` steps and mapped back.

    Parameters
    ----------
    teacher : nn.Module
        Has ``forward_features(x) -> (prediction, feature)``.
    student_mean, student_scale, teacher_mean, teacher_scale : array-like of shape (C,)
        Per-channel standardisation of both sides.
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

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_t = x[:, -self.teacher_window :] * self.gain + self.shift
        pred, feat = self.teacher.forward_features(x_t)
        pred = (pred[:, : self.horizon] - self.shift) / self.gain
        return pred, feat


class EnsembleAdapter(nn.Module):
    """Several :class:`TeacherAdapter` s seen as one: the weighted mean of their predictions
    and the list of their features (one regressor each on the student's side)."""

    def __init__(self, adapters: list[nn.Module], weights) -> None:
        super().__init__()
        self.adapters = nn.ModuleList(adapters)
        self.register_buffer("weights", torch.as_tensor(np.asarray(weights, dtype=np.float32)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        preds, feats = zip(*(a(x) for a in self.adapters), strict=True)
        pred = sum(w * p for w, p in zip(self.weights, preds, strict=True))
        return pred, list(feats)


def cache_nbytes(
    n_windows: int, horizon: int, n_channels: int, feature_dim: int | None, itemsize: int = 4
) -> int:
    """Bytes a cache of predictions (and features) for ``n_windows`` takes, stored with
    ``itemsize`` bytes per value (4: float32; 2: float16 or bfloat16)."""
    per = horizon * n_channels + (n_channels * feature_dim if feature_dim else 0)
    return itemsize * n_windows * per


def _float32_empty(shape: tuple[int, ...]) -> torch.Tensor:
    return torch.empty(shape, dtype=torch.float32)


@torch.no_grad()
def compute_teacher_outputs(
    adapter: nn.Module,
    dataset,
    *,
    with_features: bool,
    n_windows: int | None = None,
    device: str = "cpu",
    chunk_bytes: int = 32 * 2**20,
    allocate: Callable[[tuple[int, ...]], torch.Tensor] = _float32_empty,
    add_pred: torch.Tensor | None = None,
) -> TeacherOutputs:
    """Run ``adapter`` over the contexts of the first ``n_windows`` windows of ``dataset``
    (default all); return its outputs on the CPU, one row per window.

    Contexts are cut ``chunk_bytes`` at a time (so the transient input, and the teacher's
    activations on it, stay small whatever the look-back and the number of channels) and the
    outputs are written into tensors allocated once by ``allocate(shape)`` (default float32 in
    RAM; :meth:`~skdistill.training.teacher_cache.CacheStore.allocate` gives file-backed or
    half-precision ones): the cache never exists twice, nor in full outside its destination.
    ``add_pred`` (rows like the predictions, float32) is added to each chunk's prediction
    before it is stored: the forecasts of teachers computed elsewhere.
    Non-finite values raise ``FloatingPointError``, chunk by chunk.
    """
    adapter = adapter.to(device).eval()
    n = len(dataset) if n_windows is None else int(n_windows)
    per_window = dataset.window_length * dataset.n_channels * 4
    batch = max(1, min(1024, chunk_bytes // max(per_window, 1)))
    pred_out, feat_out = None, []
    row = 0
    for contexts in dataset.contexts(batch, stop=n):
        pred, feat = adapter(contexts.to(device))
        feats = (list(feat) if isinstance(feat, list | tuple) else [feat]) if with_features else []
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
    return TeacherOutputs(pred_out, tuple(feat_out))


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
    def __call__(self, x: torch.Tensor):
        return self.module.eval()(x)
