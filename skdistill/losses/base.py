"""The one objective signature shared by every distillation method (pure torch).

Every method's objective is a ``torch.nn.Module`` with

``forward(student_pred, target, student_feat, teacher) -> {"loss": total, term: value, ...}``

where ``teacher`` is a :class:`TeacherOutputs`. An objective owns every trainable part that
exists only for training (TimeDistill's feature regressors, SFKD's projector and DS2S, FitNet's
hint projector, OFA's branch): the training layer passes it to skorch as the ``criterion``, so
skorch optimises its parameters with the student's and a fitted estimator predicts with the
student alone. The trainable parts are built by the training layer and handed in, so that this
layer imports no architecture.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

__all__ = ["DistillationObjective", "TeacherOutputs"]


@dataclass(frozen=True)
class TeacherOutputs:
    """What a frozen teacher contributes to one batch.

    Parameters
    ----------
    pred : Tensor or None
        The teacher's prediction: a forecast in the student's data space, (B, H, C), or class
        logits, (B, K). None when no active term needs it.
    features : tuple of Tensor
        The teacher's hidden features, one per teacher (an ensemble of forecasters has
        several): (B, C, d_t) per-channel tokens for forecasting, (B, C, H, W) or (B, 1, D)
        canonical maps for images. Empty when no feature term is active.
    """

    pred: Tensor | None = None
    features: tuple[Tensor, ...] = ()


class DistillationObjective(nn.Module):
    """Base of the objectives: the contract the training layer relies on.

    Subclasses implement :meth:`forward` and :meth:`validation_loss` and list, in
    :meth:`active_terms`, exactly the terms ``forward`` returns besides ``"loss"`` (the single
    source of truth for which terms run and are logged).

    Attributes
    ----------
    needs_teacher_pred : bool
        Whether an active term reads ``teacher.pred``.
    needs_features : bool
        Whether an active term reads the student's feature and ``teacher.features``.
    feature_weight_scale : float
        Multiplier of the feature terms' weights, set by a warm-up callback (1.0 = no warm-up).
    """

    needs_teacher_pred: bool = False
    needs_features: bool = False
    feature_weight_scale: float = 1.0

    def active_terms(self) -> tuple[str, ...]:
        """Names of the unweighted terms :meth:`forward` returns besides ``"loss"``."""
        raise NotImplementedError

    def validation_loss(self, student_pred: Tensor, target: Tensor) -> Tensor:
        """The student's own error on held-out data, whatever the distillation terms."""
        raise NotImplementedError

    def forward(
        self,
        student_pred: Tensor,
        target: Tensor,
        student_feat: Tensor | None,
        teacher: TeacherOutputs,
    ) -> dict[str, Tensor]:
        """``{"loss": weighted total, **unweighted active terms}`` for one training batch."""
        raise NotImplementedError
