"""The one skorch net of every distiller: the student is the module, the objective the criterion.

skorch's hooks, each a few lines:

- ``infer`` strips the per-sample teacher entries from the batch dict and runs the student,
  which returns ``(prediction, feature)`` while training (``feature`` None when unused);
- ``get_loss`` gives the objective the batch's :class:`~skdistill.losses.base.TeacherOutputs`
  (cached in the batch, or computed by a frozen teacher held by the net) while training, and the
  objective's plain validation loss otherwise (early stopping watches the student's own error);
- every active term is recorded per batch and averaged per epoch in ``history`` (``train_sup``,
  ``train_kd``, ...), by :func:`term_scoring`.

Why the criterion: it is skorch's place for the loss, skorch optimises a criterion's parameters
with the module's, moves it to the device and prepares it under Accelerate; so the parts that
exist only for training (regressors, projectors, DS2S, OFA branches) live in the objective and
the fitted ``module_`` is the student alone. Knows nothing of sktime or scikit-learn estimators.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring
from skorch.utils import to_tensor
from torch import nn

from skdistill.losses.base import DistillationObjective, TeacherOutputs
from skdistill.training.accelerate import make_net

#: Batch keys of cached teacher outputs (stripped before the student runs).
TEACHER_PRED, TEACHER_FEAT = "teacher_pred", "teacher_feat"


class DistillNet(NeuralNet):
    """skorch net that trains a student with a :class:`DistillationObjective` as criterion.

    Parameters
    ----------
    module : nn.Module
        The student wrapper: ``.student`` is the network that predicts; in training mode its
        ``forward`` returns ``(prediction, feature)``.
    teacher : callable, optional
        A frozen teacher mapping a batch of inputs to ``(prediction, features)``, used when the
        batch carries no cached teacher outputs (the cache did not fit its memory budget).
    **kwargs
        Passed to :class:`skorch.NeuralNet`; ``criterion`` is the objective (an instance).
    """

    def __init__(self, module, *args, teacher=None, **kwargs):
        kwargs.setdefault("predict_nonlinearity", None)
        super().__init__(module, *args, **kwargs)
        self.teacher = teacher

    # --- what differs when distributed (see training.accelerate) ---------------------------
    def reduce_value(self, value: torch.Tensor) -> torch.Tensor:
        """A loss value as ``history`` records it (averaged over processes when distributed)."""
        return value

    def core_module(self) -> nn.Module:
        """``module_`` itself (without a data-parallel wrapper when distributed)."""
        return self.module_

    def core_criterion(self) -> DistillationObjective:
        """``criterion_`` itself (without a data-parallel wrapper when distributed)."""
        return self.criterion_

    # --- skorch hooks ---------------------------------------------------------------------
    def infer(self, x, **fit_params):
        if isinstance(x, Mapping):
            x = x["x"]
        return self.module_(to_tensor(x, device=self.device), **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        pred, feat = y_pred if isinstance(y_pred, tuple) else (y_pred, None)
        y_true = to_tensor(y_true, device=self.device)
        objective = self.core_criterion()
        if not training:
            loss = objective.validation_loss(pred, y_true)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the validation loss is not finite ({loss.item()}); training diverged: "
                    "lower lr."
                )
            return loss
        terms = self.criterion_(pred, y_true, feat, self.teacher_outputs(X))
        total = terms["loss"]
        if not torch.isfinite(total):
            bad = [k for k, v in terms.items() if not torch.isfinite(v)]
            raise FloatingPointError(f"the training loss is not finite (terms: {bad}); lower lr.")
        for name in objective.active_terms():
            self.history.record_batch(f"train_{name}", self.reduce_value(terms[name]).item())
        return total

    def teacher_outputs(self, X) -> TeacherOutputs:
        """The teacher's outputs for the batch ``X``: cached in it, or computed now."""
        objective = self.core_criterion()
        if not (objective.needs_teacher_pred or objective.needs_features):
            return TeacherOutputs()
        if isinstance(X, Mapping) and (TEACHER_PRED in X or TEACHER_FEAT in X):
            pred = X.get(TEACHER_PRED) if objective.needs_teacher_pred else None
            feats = X.get(TEACHER_FEAT) if objective.needs_features else None
        elif self.teacher is None:
            raise RuntimeError("no cached teacher outputs in the batch and no teacher set.")
        else:
            x = X["x"] if isinstance(X, Mapping) else X
            pred, feats = self.teacher(to_tensor(x, device=self.device))
        if feats is None:
            feats = ()
        elif not isinstance(feats, list | tuple):
            feats = (feats,)
        return TeacherOutputs(
            None if pred is None else to_tensor(pred, device=self.device),
            tuple(to_tensor(f, device=self.device) for f in feats),
        )

    def initialize_module(self):
        super().initialize_module()
        if self.teacher is not None:
            # Under Accelerate ``device`` is None and the accelerator places the student.
            accelerator = getattr(self, "accelerator", None)
            self.teacher.to(accelerator.device if accelerator is not None else self.device)
        return self


#: Names kept for code written against the two nets this one replaces.
DistillationNet = DistillNet
ClassificationDistillNet = DistillNet


def term_scoring(names) -> list:
    """PassthroughScoring callbacks: each recorded term's batch values averaged per epoch."""
    return [(f"train_{n}", PassthroughScoring(name=f"train_{n}", on_train=True)) for n in names]


def silent(*args, **kwargs) -> None:
    """A picklable sink that drops skorch's messages when verbose=0."""


@dataclass
class TrainSettings:
    """How a student is trained: the estimators' common parameters, validated."""

    lr: float
    max_epochs: int
    batch_size: int
    device: str
    verbose: int = 0
    seed: int | None = None
    patience: int | None = None
    warmup_epochs: int = 0


def build_net(
    module: nn.Module,
    objective: DistillationObjective,
    settings: TrainSettings,
    *,
    train_split,
    callbacks: list,
    teacher=None,
) -> DistillNet:
    """The :class:`DistillNet` of every entry point: Adam on the student and the objective's
    trainable parts, shuffled batches (or its accelerated variant under ``use_accelerator``)."""
    device = settings.device
    return make_net(
        DistillNet,
        device,
        module=module,
        criterion=objective,
        teacher=teacher,
        optimizer=torch.optim.Adam,
        # One fused kernel instead of a Python loop over parameter tensors.
        optimizer__fused=device.startswith(("cpu", "cuda")),
        lr=float(settings.lr),
        max_epochs=int(settings.max_epochs),
        batch_size=int(settings.batch_size),
        iterator_train__shuffle=True,
        train_split=train_split,
        callbacks=callbacks,
        verbose=int(settings.verbose),
    )
