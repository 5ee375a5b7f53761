"""The skorch layer of image distillation: objectives with their student-side parts, and the net.

An *objective* is a torch module that owns everything trained besides the student and
discarded after training (projector, DS2S, OFA branch) and maps ``(student logits, labels,
teacher logits, student feature, teacher map)`` to a dict of loss terms with ``"loss"`` the
total. The net taps the student's feature during training only; ``predict_proba`` runs the
student alone. Knows nothing of scikit-learn estimators.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import Callback, PassthroughScoring
from skorch.utils import to_tensor
from torch import nn

from skdistill.losses.kd import dkd_loss, fitnet_loss, kd_loss, ofa_loss
from skdistill.losses.sfkd import SFKDLoss
from skdistill.nn.vision.taps import FeatureTap, StudentProjector, VectorLift, to_canonical


def make_projector(student_shape: tuple, teacher_shape: tuple) -> nn.Module:
    """Student-side alignment onto the teacher's canonical shape.

    Maps (C, H, W) -> resize + Conv1x1 + BatchNorm; a vector (1, D) onto a map -> Linear lift;
    vector onto vector -> Linear(D_s, D_t) (kept as (B, 1, D_t)).
    """
    if len(teacher_shape) == 3:
        c_t, h, w = teacher_shape
        if len(student_shape) == 3:
            return StudentProjector(student_shape[0], c_t, (h, w))
        return VectorLift(student_shape[-1], c_t, (h, w))
    if len(student_shape) == 3:
        # A map student against a vector teacher: pool the map, then a linear map.
        return nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(student_shape[0], teacher_shape[-1]),
            nn.Unflatten(1, (1, teacher_shape[-1])),
        )
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(student_shape[-1], teacher_shape[-1]),
        nn.Unflatten(1, (1, teacher_shape[-1])),
    )


class Objective(nn.Module):
    """Base: cross-entropy only (the student alone). Subclasses add terms."""

    needs_teacher_logits = False
    needs_features = False
    term_names: tuple[str, ...] = ("ce",)

    def active_terms(self) -> tuple[str, ...]:
        """Names of the terms ``forward`` returns (besides ``"loss"``)."""
        return self.term_names

    def forward(
        self,
        logits,
        target,
        teacher_logits=None,
        student_feat=None,
        teacher_map=None,
        *,
        feature_weight_scale: float = 1.0,
    ) -> dict:
        ce = F.cross_entropy(logits, target)
        return {"loss": ce, "ce": ce}


class KDObjective(Objective):
    """Hinton KD: ``CE + alpha * T^2 KL(p_t || p_s)``."""

    needs_teacher_logits = True
    term_names = ("ce", "kd")

    def __init__(self, alpha: float = 1.0, temperature: float = 4.0) -> None:
        super().__init__()
        self.alpha, self.temperature = float(alpha), float(temperature)

    def forward(
        self,
        logits,
        target,
        teacher_logits=None,
        student_feat=None,
        teacher_map=None,
        *,
        feature_weight_scale: float = 1.0,
    ) -> dict:
        ce = F.cross_entropy(logits, target)
        kd = kd_loss(logits, teacher_logits, self.temperature)
        return {"loss": ce + self.alpha * kd, "ce": ce, "kd": kd}


class DKDObjective(Objective):
    """Decoupled KD: ``CE + DKD(alpha, beta, T)``."""

    needs_teacher_logits = True
    term_names = ("ce", "dkd")

    def __init__(self, alpha: float = 1.0, beta: float = 8.0, temperature: float = 4.0) -> None:
        super().__init__()
        self.alpha, self.beta, self.temperature = float(alpha), float(beta), float(temperature)

    def forward(
        self,
        logits,
        target,
        teacher_logits=None,
        student_feat=None,
        teacher_map=None,
        *,
        feature_weight_scale: float = 1.0,
    ) -> dict:
        ce = F.cross_entropy(logits, target)
        dkd = dkd_loss(logits, teacher_logits, target, self.alpha, self.beta, self.temperature)
        return {"loss": ce + dkd, "ce": ce, "dkd": dkd}


class FitNetObjective(Objective):
    """FitNet hint: ``CE + beta * ||r(F_s) - F_t||^2`` (+ optional ``alpha`` logit KD)."""

    needs_features = True
    term_names = ("ce", "kd", "hint")

    def __init__(
        self, projector: nn.Module, beta: float = 1.0, alpha: float = 0.0, temperature: float = 4.0
    ) -> None:
        super().__init__()
        self.projector = projector
        self.beta, self.alpha, self.temperature = float(beta), float(alpha), float(temperature)
        self.needs_teacher_logits = self.alpha > 0

    def active_terms(self) -> tuple[str, ...]:
        return ("ce", "hint", "kd") if self.alpha > 0 else ("ce", "hint")

    def forward(
        self,
        logits,
        target,
        teacher_logits=None,
        student_feat=None,
        teacher_map=None,
        *,
        feature_weight_scale: float = 1.0,
    ) -> dict:
        ce = F.cross_entropy(logits, target)
        hint = fitnet_loss(self.projector(student_feat), teacher_map)
        out = {"ce": ce, "hint": hint}
        total = ce + self.beta * feature_weight_scale * hint
        if self.alpha > 0:
            out["kd"] = kd_loss(logits, teacher_logits, self.temperature)
            total = total + self.alpha * out["kd"]
        out["loss"] = total
        return out


class OFAObjective(Objective):
    """OFA-KD: the final head and a projector branch on the tapped student stage are both
    distilled in logit space with ``-sum_c [(p_t,c + m_c)^eps - m_c] log p_s,c``.

    The branch (pool -> Linear for maps, Linear for vectors) is dropped after training.
    """

    needs_teacher_logits = True
    needs_features = True
    term_names = ("ce", "ofa", "ofa_branch")

    def __init__(
        self,
        student_shape: tuple,
        n_classes: int,
        alpha: float = 1.0,
        eps: float = 1.0,
        temperature: float = 1.0,
    ) -> None:
        super().__init__()
        width = student_shape[0] if len(student_shape) == 3 else student_shape[-1]
        pool = [nn.AdaptiveAvgPool2d(1)] if len(student_shape) == 3 else []
        self.branch = nn.Sequential(
            *pool, nn.Flatten(), nn.LayerNorm(width), nn.Linear(width, n_classes)
        )
        self.alpha, self.eps, self.temperature = float(alpha), float(eps), float(temperature)

    def forward(
        self,
        logits,
        target,
        teacher_logits=None,
        student_feat=None,
        teacher_map=None,
        *,
        feature_weight_scale: float = 1.0,
    ) -> dict:
        ce = F.cross_entropy(logits, target)
        ofa = ofa_loss(logits, teacher_logits, target, self.eps, self.temperature)
        branch = ofa_loss(
            self.branch(student_feat), teacher_logits, target, self.eps, self.temperature
        )
        total = ce + self.alpha * (ofa + branch)
        return {"loss": total, "ce": ce, "ofa": ofa, "ofa_branch": branch}


class SFKDObjective(Objective):
    """SFKD: the student map is aligned by the projector, then :class:`SFKDLoss` (DWT, DS2S,
    wavelet and GFFL terms, logit KD) compares it with the normalised teacher map."""

    term_names = ("ce", "kd", "wave", "freq")

    def __init__(self, projector: nn.Module, loss: SFKDLoss) -> None:
        super().__init__()
        self.projector = projector
        self.sfkd = loss
        self.needs_teacher_logits = loss.kd_active
        self.needs_features = loss.feature_active

    def active_terms(self) -> tuple[str, ...]:
        weights = {"kd": self.sfkd.alpha, "wave": self.sfkd.beta, "freq": self.sfkd.gamma}
        return ("ce", *[k for k, w in weights.items() if w > 0])

    def forward(
        self,
        logits,
        target,
        teacher_logits=None,
        student_feat=None,
        teacher_map=None,
        *,
        feature_weight_scale: float = 1.0,
    ) -> dict:
        student_map = self.projector(student_feat) if self.needs_features else None
        return self.sfkd(
            logits,
            target,
            teacher_logits,
            student_map,
            teacher_map if self.needs_features else None,
            feature_weight_scale=feature_weight_scale,
        )


class StudentWithObjective(nn.Module):
    """The trainable whole: the student network and the objective's student-side parts.

    In eval mode ``forward`` is the student alone (what ``predict_proba`` runs); in training
    mode it is ``forward_train``, which also returns the tapped student feature in canonical
    layout when the objective needs it.
    """

    def __init__(
        self,
        student: nn.Module,
        objective: Objective,
        layer: str | None = None,
        canonical_kwargs: dict | None = None,
    ) -> None:
        super().__init__()
        self.student = student
        self.objective = objective
        self.layer = layer
        self.canonical_kwargs = dict(canonical_kwargs or {})

    def forward(self, x: torch.Tensor):
        # Training goes through forward (not forward_train directly) so that a data-parallel
        # wrapper sees the pass and averages the gradients.
        return self.forward_train(x) if self.training else self.student(x)

    def forward_train(self, x: torch.Tensor):
        if not self.objective.needs_features:
            return self.student(x), None
        # The hook lives for one forward only: nothing to unregister before pickling.
        with FeatureTap(self.student, self.layer) as tap:
            logits = self.student(x)
        return logits, to_canonical(tap.output, **self.canonical_kwargs)


class FeatureWarmup(Callback):
    """Linear warm-up of the feature-term weights over the first ``epochs`` epochs."""

    def __init__(self, epochs: int = 0) -> None:
        self.epochs = int(epochs)

    def on_epoch_begin(self, net, **kwargs) -> None:
        done = len(net.history) - 1  # the new epoch row is already there
        net.feature_weight_scale_ = 1.0 if self.epochs <= 0 else min(1.0, (done + 1) / self.epochs)


class ClassificationDistillNet(NeuralNet):
    """skorch net for distillation into a classifier; teacher outputs arrive in the batch dict
    (``teacher_logits``, ``teacher_map``) and are stripped before the student runs."""

    feature_weight_scale_ = 1.0

    def reduce_value(self, value: torch.Tensor) -> torch.Tensor:
        """A loss value as ``history`` records it (averaged over processes when distributed)."""
        return value

    def core_module(self) -> nn.Module:
        """``module_`` itself (without a data-parallel wrapper when distributed)."""
        return self.module_

    def infer(self, x, **fit_params):
        if isinstance(x, Mapping):
            x = x["x"]
        # (logits, feature) in training mode, logits in eval mode: see StudentWithObjective.
        return self.module_(to_tensor(x, device=self.device))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = to_tensor(y_true, device=self.device)
        if not training:
            logits = y_pred[0] if isinstance(y_pred, tuple) else y_pred
            return F.cross_entropy(logits, y_true)
        logits, feat = y_pred
        batch = X if isinstance(X, Mapping) else {}
        objective = self.core_module().objective
        tl = batch.get("teacher_logits") if objective.needs_teacher_logits else None
        tm = batch.get("teacher_map") if objective.needs_features else None
        terms = objective(
            logits,
            y_true,
            to_tensor(tl, device=self.device) if tl is not None else None,
            feat,
            to_tensor(tm, device=self.device) if tm is not None else None,
            feature_weight_scale=self.feature_weight_scale_,
        )
        total = terms["loss"]
        if not torch.isfinite(total):
            bad = [k for k, v in terms.items() if not torch.isfinite(v)]
            raise FloatingPointError(f"the training loss is not finite (terms: {bad}); lower lr.")
        for name, value in terms.items():
            if name != "loss":
                self.history.record_batch(f"train_{name}", self.reduce_value(value).item())
        return total


def term_scoring(names) -> list:
    """Epoch averages of each recorded loss term in ``history``."""
    return [(f"train_{n}", PassthroughScoring(name=f"train_{n}", on_train=True)) for n in names]
