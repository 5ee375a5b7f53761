"""The skorch layer of TimeDistill: one ``NeuralNet`` subclass with small hooks.

- ``infer`` strips the per-sample teacher entries from the batch dict and runs the
  student (with its feature regressor) on ``x``;
- ``get_loss`` adds the distillation terms while training and returns the plain
  MSE on validation batches (early stopping watches the student's own error);
- every active loss term is recorded per batch and averaged per epoch in
  ``history`` (``train_sup``, ``train_pred_scale``, ...).

Knows nothing of sktime or scikit-learn estimators.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, LRScheduler, PassthroughScoring
from skorch.utils import to_tensor
from torch import nn

from skdistill.losses.timedistill import TimeDistillLoss
from skdistill.training.teacher import FrozenTeacher

TEACHER_KEYS = ("teacher_pred", "teacher_feat")
TERM_NAMES = ("sup", "pred_scale", "pred_period", "feat_scale", "feat_period")


class StudentWithRegressor(nn.Module):
    """The trainable part: a forecasting student and, for feature distillation, ``R``.

    ``forward(x)`` returns ``(prediction, feature)`` of the student. The regressor
    maps teacher features to the student's width and is discarded after training.
    """

    def __init__(self, student: nn.Module, regressor: nn.Module | None = None) -> None:
        super().__init__()
        self.student = student
        self.regressor = regressor

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.student.forward_features(x)


class HalvingLR:
    """``lr_e = lr * 0.5 ** max(e - 2, 0)`` for 1-based epoch e: the reference schedule.

    Epochs 1 and 2 run at the base rate, then the rate halves every epoch. A class
    (not a lambda) so that fitted nets pickle.
    """

    def __call__(self, epochs_done: int) -> float:
        return 0.5 ** max(epochs_done - 1, 0)

    def __repr__(self) -> str:
        return "HalvingLR()"


class DistillationNet(NeuralNet):
    """skorch net that trains a student with the TimeDistill objective.

    Parameters
    ----------
    module : StudentWithRegressor
        Student and optional feature regressor.
    teacher : FrozenTeacher, optional
        Frozen teacher mapping a batch of standardised contexts ``(B, L, C)`` to
        ``(prediction, feature)`` in the student's space. Used when the batch does
        not carry cached teacher outputs (the cache did not fit its memory budget).
    **kwargs
        Passed to :class:`skorch.NeuralNet` (``criterion__alpha=...`` etc.).
    """

    def __init__(self, module, *args, teacher: FrozenTeacher | None = None, **kwargs):
        kwargs.setdefault("criterion", TimeDistillLoss)
        kwargs.setdefault("predict_nonlinearity", None)
        super().__init__(module, *args, **kwargs)
        self.teacher = teacher

    # --- hooks ----------------------------------------------------------------------------
    def reduce_value(self, value: torch.Tensor) -> torch.Tensor:
        """A loss value as ``history`` records it (averaged over processes when distributed)."""
        return value

    def core_module(self) -> nn.Module:
        """``module_`` itself (without a data-parallel wrapper when distributed)."""
        return self.module_

    def infer(self, x, **fit_params):
        if isinstance(x, Mapping):
            x = x["x"]
        return self.module_(to_tensor(x, device=self.device), **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        pred, feat = y_pred
        y_true = to_tensor(y_true, device=self.device)
        if not training:
            # Validation: the student's own error, whatever the objective.
            loss = F.mse_loss(pred, y_true)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"validation MSE is not finite ({loss.item()}); training diverged: lower lr."
                )
            return loss
        teacher_pred, teacher_feats = self._teacher_outputs(X)
        criterion = self.criterion_
        student_feat, regressed = feat, None
        if criterion.feat_active:
            regressors = self.core_module().regressor
            if not isinstance(regressors, nn.ModuleList):
                regressors = [regressors]
            # Several teachers: stacking (student, R_k(teacher_k)) pairs along the batch makes
            # every feature term the exact average of the per-teacher terms (equal-size chunks).
            regressed = torch.cat([r(f) for r, f in zip(regressors, teacher_feats, strict=True)])
            student_feat = feat.repeat(len(teacher_feats), 1, 1)
        terms = criterion(pred, y_true, teacher_pred, student_feat, regressed)
        for name in TERM_NAMES:
            if name in terms:
                self.history.record_batch(f"train_{name}", self.reduce_value(terms[name]).item())
        return terms["loss"]

    def _teacher_outputs(self, X):
        """``(teacher prediction, [teacher feature per teacher])`` from the batch or the teacher."""
        criterion = self.criterion_
        if not (criterion.pred_active or criterion.feat_active):
            return None, []
        if isinstance(X, Mapping) and "teacher_pred" in X:
            tp = to_tensor(X["teacher_pred"], device=self.device)
            keys = sorted(
                (k for k in X if k == "teacher_feat" or k.startswith("teacher_feat_")),
                key=lambda k: int(k.rsplit("_", 1)[1]) if k[-1].isdigit() else -1,
            )
            return tp, [to_tensor(X[k], device=self.device) for k in keys]
        if self.teacher is None:
            raise RuntimeError("no cached teacher outputs in the batch and no teacher set.")
        x = to_tensor(X["x"] if isinstance(X, Mapping) else X, device=self.device)
        tp, tf = self.teacher(x)
        return tp, (list(tf) if isinstance(tf, list | tuple) else [tf])

    def initialize_module(self):
        super().initialize_module()
        if self.teacher is not None:
            # Under Accelerate ``device`` is None and the accelerator places the student.
            accelerator = getattr(self, "accelerator", None)
            self.teacher.to(accelerator.device if accelerator is not None else self.device)
        return self


def term_callbacks(criterion_kwargs: dict) -> list:
    """PassthroughScoring callbacks that turn each active term's batch values into epoch values."""
    probe = TimeDistillLoss(**criterion_kwargs)
    names = []
    if probe.use_supervised:
        names.append("sup")
    for prefix, active in (("pred", probe.pred_active), ("feat", probe.feat_active)):
        if active:
            period = probe.use_period and (prefix != "pred" or probe.pred_period)
            names += [
                f"{prefix}_{p}" for p, on in (("scale", probe.use_scale), ("period", period)) if on
            ]
    return [(f"train_{n}", PassthroughScoring(name=f"train_{n}", on_train=True)) for n in names]


def _silent(*args, **kwargs) -> None:
    """A picklable sink that drops skorch's messages when verbose=0."""


def training_callbacks(
    criterion_kwargs: dict, patience: int | None, has_valid: bool, verbose: int = 0
) -> list:
    """Term logging, the halving schedule, and (with validation) early stopping on valid_loss."""
    callbacks = term_callbacks(criterion_kwargs)
    callbacks.append(
        (
            "lr_schedule",
            LRScheduler(policy=torch.optim.lr_scheduler.LambdaLR, lr_lambda=HalvingLR()),
        )
    )
    if has_valid and patience:
        callbacks.append(
            (
                "early_stopping",
                EarlyStopping(
                    monitor="valid_loss",
                    patience=patience,
                    load_best=True,
                    sink=print if verbose else _silent,
                ),
            )
        )
    return callbacks
