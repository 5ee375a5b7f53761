"""Frozen teachers seen from the student's side, and the teacher-output cache.

The teacher is frozen and deterministic in eval mode, so its outputs for the fixed
training windows can be computed once and reused every epoch: the same loss as
running it on every batch (the reference's way) for a fraction of the compute.
When the cache would exceed its memory budget the net runs the teacher per batch.
"""

from __future__ import annotations

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


def cache_nbytes(n_windows: int, horizon: int, n_channels: int, feature_dim: int | None) -> int:
    """Bytes a float32 cache of predictions (and features) for ``n_windows`` takes."""
    per = horizon * n_channels + (n_channels * feature_dim if feature_dim else 0)
    return 4 * n_windows * per


@torch.no_grad()
def compute_teacher_outputs(
    adapter: nn.Module,
    dataset,
    *,
    with_features: bool,
    n_windows: int | None = None,
    device: str = "cpu",
    chunk_bytes: int = 32 * 2**20,
) -> TeacherOutputs:
    """Run ``adapter`` over the contexts of the first ``n_windows`` windows of ``dataset``
    (default all); return CPU float32 outputs, one row per window.

    Contexts are cut ``chunk_bytes`` at a time (so the transient input, and the teacher's
    activations on it, stay small whatever the look-back and the number of channels) and the
    outputs are written into tensors allocated once: the cache never exists twice.
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
            pred_out = torch.empty((n, *pred.shape[1:]), dtype=torch.float32)
            feat_out = [torch.empty((n, *f.shape[1:]), dtype=torch.float32) for f in feats]
        pred_out[row : row + len(pred)] = pred.float().cpu()
        for out, f in zip(feat_out, feats, strict=True):
            out[row : row + len(f)] = f.float().cpu()
        row += len(contexts)
    named = [("predictions", pred_out)] + [(f"feature {k}", f) for k, f in enumerate(feat_out)]
    for name, value in named:
        if value is not None and not torch.isfinite(value).all():
            raise FloatingPointError(f"the teacher produced non-finite values in its {name}.")
    return TeacherOutputs(pred_out, tuple(feat_out))


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
