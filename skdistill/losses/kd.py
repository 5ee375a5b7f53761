r"""Logit- and feature-level distillation baselines: KD, DKD, OFA and FitNet.

Pure torch: no scikit-learn, skorch or sktime here. ``z_s, z_t`` (B, K) are student and teacher
logits, ``y`` (B,) the integer class labels, ``T`` a temperature and
``p = softmax(z / T)``. Every loss is averaged over the batch.

KD (Hinton et al., 2015)
    ``L_KD = T^2 * KL(p_t || p_s) = T^2 * mean_b sum_c p_t,c (log p_t,c - log p_s,c)``.
    Both log-probabilities come from ``log_softmax``, so a teacher probability that underflows to 0
    contributes exactly 0 with a finite gradient (no ``log(0)``).

DKD (Zhao et al., "Decoupled Knowledge Distillation", CVPR 2022)
    With ``b = [p_y, 1 - p_y]`` the binary target/non-target split and ``p_hat`` the softmax over the
    K - 1 non-target logits only::

        L_DKD = T^2 * (alpha * KL(b_t || b_s) + beta * KL(p_hat_t || p_hat_s))

    ``log(1 - p_y)`` is computed as ``logsumexp(non-target z / T) - logsumexp(z / T)``, which stays
    accurate when ``p_y`` is close to 1, and ``p_hat`` is built from the non-target columns
    themselves (gathered, not masked with ``-inf``), so no ``0 * inf`` appears in the backward pass.

OFA (Hao et al., "One-for-All: Bridge the Gap Between Heterogeneous Architectures in Knowledge
Distillation", NeurIPS 2023)
    With ``m`` the one-hot label and an exponent ``eps > 0``::

        L_OFA = -mean_b sum_c [(p_t,c + m_c)^eps - m_c] * log p_s,c

    For ``eps = 1`` the bracket is ``p_t,c``: the soft-target cross-entropy. ``eps > 1`` sharpens
    the weight of the target class.

FitNet (Romero et al., 2015)
    ``L_FitNet = MSE(r(F_s), F_t)``; the regressor ``r`` belongs to the caller, this is the MSE.

Objectives
    Each method's total for an image classifier, as a
    :class:`~skdistill.losses.base.DistillationObjective` (``z_s`` = ``student_pred``, ``z_t`` =
    ``teacher.pred``, ``F_t`` = ``teacher.features[0]``, ``CE`` the cross-entropy with ``y``,
    also every objective's validation loss):

    - :class:`CrossEntropyObjective`: ``CE`` (the student alone);
    - :class:`KDObjective`: ``CE + alpha * L_KD``;
    - :class:`DKDObjective`: ``CE + L_DKD``;
    - :class:`FitNetObjective`: ``CE + s * beta * L_FitNet(r(F_s), F_t) [+ alpha * L_KD]``;
    - :class:`OFAObjective`: ``CE + alpha * (L_OFA(z_s) + L_OFA(b(F_s)))``.

    ``s`` is the feature warm-up factor ``feature_weight_scale``. The trainable parts (FitNet's
    regressor ``r``, OFA's branch ``b``) are built by the training layer and handed in.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skdistill._validation import check_float
from skdistill.losses.base import DistillationObjective

__all__ = [
    "CrossEntropyObjective",
    "DKDObjective",
    "FitNetObjective",
    "KDObjective",
    "OFAObjective",
    "dkd_loss",
    "fitnet_loss",
    "kd_loss",
    "ofa_loss",
]


# --------------------------------------------------------------------------- validation helpers
def _check_logits(student_logits: Tensor, teacher_logits: Tensor) -> None:
    for name, z in (("student_logits", student_logits), ("teacher_logits", teacher_logits)):
        if not isinstance(z, Tensor) or z.ndim != 2 or not z.is_floating_point():
            raise ValueError(
                f"{name} must be a 2-D floating tensor (batch, n_classes), got "
                f"{getattr(z, 'shape', type(z).__name__)}"
            )
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            "student_logits and teacher_logits must have the same shape, got "
            f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}"
        )


def _check_target(target: Tensor, logits: Tensor) -> None:
    n, k = logits.shape
    if (
        not isinstance(target, Tensor)
        or target.ndim != 1
        or target.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)
    ):
        raise ValueError(
            "target must be a 1-D integer tensor of class indices, got "
            f"{getattr(target, 'dtype', type(target).__name__)} "
            f"{tuple(getattr(target, 'shape', ()))}"
        )
    if target.shape[0] != n:
        raise ValueError(f"target has {target.shape[0]} entries but the logits have {n} rows")
    # One host sync; a bad index would otherwise be a device-side assert on CUDA.
    if n and bool(((target < 0) | (target >= k)).any()):
        raise ValueError(f"target must hold class indices in [0, {k}), got values outside")


# --------------------------------------------------------------------------- losses
def kd_loss(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 4.0) -> Tensor:
    """Hinton knowledge-distillation loss ``T^2 * KL(softmax(z_t/T) || softmax(z_s/T))``.

    Parameters
    ----------
    student_logits, teacher_logits : Tensor
        Logits of shape (B, K).
    temperature : float, default=4.0
        Softening temperature ``T > 0``.

    Returns
    -------
    Tensor
        Scalar: the KL summed over classes, averaged over the batch ("batchmean"), times ``T^2``
        (keeps the gradient scale independent of ``T``).

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[1.0, 2.0, 3.0]])
    >>> kd_loss(z, z).item()
    0.0
    >>> round(kd_loss(torch.zeros(1, 2), torch.tensor([[0.0, 4.0]]), temperature=4.0).item(), 4)
    1.7751
    """
    _check_logits(student_logits, teacher_logits)
    t = check_float(temperature, "temperature", strict=True)
    log_ps = F.log_softmax(student_logits / t, dim=-1)
    log_pt = F.log_softmax(teacher_logits / t, dim=-1)
    kl = (log_pt.exp() * (log_pt - log_ps)).sum(dim=-1)
    return kl.mean() * t**2


def _binary_log_probs(logits: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Log of ``[p_y, 1 - p_y]`` and the non-target log-softmax, from scaled logits (B, K)."""
    b, k = logits.shape
    lse_all = torch.logsumexp(logits, dim=-1)
    target = logits[mask]  # (B,)
    others = logits[~mask].reshape(b, k - 1)  # the K - 1 non-target columns, in order
    lse_others = torch.logsumexp(others, dim=-1)
    log_b = torch.stack([target - lse_all, lse_others - lse_all], dim=-1)
    log_hat = others - lse_others.unsqueeze(-1)
    return log_b, log_hat


def dkd_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    target: Tensor,
    alpha: float = 1.0,
    beta: float = 8.0,
    temperature: float = 4.0,
) -> Tensor:
    """Decoupled knowledge distillation: target-class KD plus non-target-class KD.

    Parameters
    ----------
    student_logits, teacher_logits : Tensor
        Logits of shape (B, K), K >= 2.
    target : Tensor
        Integer class labels of shape (B,).
    alpha : float, default=1.0
        Weight of the target-class term ``KL(b_t || b_s)``, ``b = [p_y, 1 - p_y]``.
    beta : float, default=8.0
        Weight of the non-target term ``KL(p_hat_t || p_hat_s)`` (softmax over the K - 1
        non-target classes).
    temperature : float, default=4.0
        Softening temperature ``T > 0``.

    Returns
    -------
    Tensor
        Scalar ``T^2 * (alpha * TCKD + beta * NCKD)``, each KL averaged over the batch.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, 0.5, -1.0]])
    >>> dkd_loss(z, z, torch.tensor([0])).item()
    0.0
    """
    _check_logits(student_logits, teacher_logits)
    _check_target(target, student_logits)
    if student_logits.shape[1] < 2:
        raise ValueError("dkd_loss needs at least 2 classes")
    a = check_float(alpha, "alpha")
    b = check_float(beta, "beta")
    t = check_float(temperature, "temperature", strict=True)
    mask = F.one_hot(target.long(), student_logits.shape[1]).bool()
    log_bs, log_hat_s = _binary_log_probs(student_logits / t, mask)
    log_bt, log_hat_t = _binary_log_probs(teacher_logits / t, mask)
    tckd = (log_bt.exp() * (log_bt - log_bs)).sum(dim=-1).mean()
    nckd = (log_hat_t.exp() * (log_hat_t - log_hat_s)).sum(dim=-1).mean()
    return (a * tckd + b * nckd) * t**2


def ofa_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    target: Tensor,
    eps: float = 1.0,
    temperature: float = 1.0,
) -> Tensor:
    """OFA-KD loss ``-sum_c [(p_t,c + m_c)^eps - m_c] log p_s,c``, averaged over the batch.

    Parameters
    ----------
    student_logits, teacher_logits : Tensor
        Logits of shape (B, K).
    target : Tensor
        Integer class labels of shape (B,); ``m`` is their one-hot encoding.
    eps : float, default=1.0
        Target-enhancement exponent, > 0. ``eps = 1`` gives the soft-target cross-entropy
        ``-sum_c p_t,c log p_s,c``.
    temperature : float, default=1.0
        Temperature of both softmaxes (no ``T^2`` factor, as in OFA).

    Returns
    -------
    Tensor
        Scalar loss.

    Examples
    --------
    >>> import torch
    >>> zs, zt = torch.zeros(1, 4), torch.zeros(1, 4)
    >>> round(ofa_loss(zs, zt, torch.tensor([2])).item(), 4)  # -sum 1/4 log(1/4) = log 4
    1.3863
    """
    _check_logits(student_logits, teacher_logits)
    _check_target(target, student_logits)
    e = check_float(eps, "eps", strict=True)
    t = check_float(temperature, "temperature", strict=True)
    m = F.one_hot(target.long(), student_logits.shape[1]).to(student_logits.dtype)
    log_ps = F.log_softmax(student_logits / t, dim=-1)
    pt = F.softmax(teacher_logits / t, dim=-1)
    weight = (pt + m).pow(e) - m
    return -(weight * log_ps).sum(dim=-1).mean()


def fitnet_loss(student_feat: Tensor, teacher_feat: Tensor) -> Tensor:
    """FitNet hint loss: the MSE between the (already regressed) student and teacher features.

    Parameters
    ----------
    student_feat, teacher_feat : Tensor
        Features of identical shape; map the student to the teacher's shape first (e.g. with a
        1x1 convolution and a resize).

    Returns
    -------
    Tensor
        Scalar element-mean squared error.

    Examples
    --------
    >>> import torch
    >>> fitnet_loss(torch.ones(2, 3), torch.zeros(2, 3)).item()
    1.0
    """
    for name, f in (("student_feat", student_feat), ("teacher_feat", teacher_feat)):
        if not isinstance(f, Tensor) or not f.is_floating_point():
            raise ValueError(f"{name} must be a floating tensor, got {type(f).__name__}")
    if student_feat.shape != teacher_feat.shape:
        raise ValueError(
            "student_feat and teacher_feat must have the same shape (regress the student feature "
            f"to the teacher's first), got {tuple(student_feat.shape)} and "
            f"{tuple(teacher_feat.shape)}"
        )
    return F.mse_loss(student_feat, teacher_feat)


# --------------------------------------------------------------------------- objectives
class CrossEntropyObjective(DistillationObjective):
    """The student alone, ``CE(y, z_s)``; the base of the image objectives.

    A subclass adds its terms in :meth:`distillation_terms`; :meth:`forward` adds their weighted
    parts to the cross-entropy in order. The cross-entropy is every image objective's
    :meth:`validation_loss`.

    Examples
    --------
    >>> import torch
    >>> from skdistill.losses.base import TeacherOutputs
    >>> z, y = torch.zeros(2, 4), torch.tensor([0, 3])
    >>> out = CrossEntropyObjective()(z, y, None, TeacherOutputs())
    >>> sorted(out), round(out["loss"].item(), 4)  # log 4
    (['ce', 'loss'], 1.3863)
    """

    def active_terms(self) -> tuple[str, ...]:
        return ("ce",)

    def validation_loss(self, student_pred: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(student_pred, target)

    def distillation_terms(
        self, student_pred: Tensor, target: Tensor, student_feat: Tensor | None, teacher
    ) -> tuple[dict[str, Tensor], list[Tensor]]:
        """The unweighted terms besides ``"ce"``, and the weighted parts of the total."""
        return {}, []

    def forward(self, student_pred, target, student_feat, teacher) -> dict[str, Tensor]:
        ce = F.cross_entropy(student_pred, target)
        terms, parts = self.distillation_terms(student_pred, target, student_feat, teacher)
        total = ce
        for part in parts:
            total = total + part
        return {"loss": total, "ce": ce, **terms}


class KDObjective(CrossEntropyObjective):
    """Hinton KD: ``CE + alpha * T^2 KL(p_t || p_s)`` (see :func:`kd_loss`)."""

    needs_teacher_pred = True

    def __init__(self, alpha: float = 1.0, temperature: float = 4.0) -> None:
        super().__init__()
        self.alpha, self.temperature = float(alpha), float(temperature)

    def active_terms(self) -> tuple[str, ...]:
        return ("ce", "kd")

    def distillation_terms(self, student_pred, target, student_feat, teacher):
        kd = kd_loss(student_pred, teacher.pred, self.temperature)
        return {"kd": kd}, [self.alpha * kd]


class DKDObjective(CrossEntropyObjective):
    """Decoupled KD: ``CE + DKD(alpha, beta, T)`` (see :func:`dkd_loss`)."""

    needs_teacher_pred = True

    def __init__(self, alpha: float = 1.0, beta: float = 8.0, temperature: float = 4.0) -> None:
        super().__init__()
        self.alpha, self.beta, self.temperature = float(alpha), float(beta), float(temperature)

    def active_terms(self) -> tuple[str, ...]:
        return ("ce", "dkd")

    def distillation_terms(self, student_pred, target, student_feat, teacher):
        dkd = dkd_loss(student_pred, teacher.pred, target, self.alpha, self.beta, self.temperature)
        return {"dkd": dkd}, [dkd]


class FitNetObjective(CrossEntropyObjective):
    """FitNet hint: ``CE + s * beta * ||r(F_s) - F_t||^2`` (+ ``alpha`` logit KD when > 0).

    Parameters
    ----------
    projector : nn.Module
        The regressor ``r`` onto the teacher map's shape (trained, dropped after training).
    beta : float, default=1.0
    alpha : float, default=0.0
    temperature : float, default=4.0
    """

    needs_features = True

    def __init__(
        self, projector: nn.Module, beta: float = 1.0, alpha: float = 0.0, temperature: float = 4.0
    ) -> None:
        super().__init__()
        self.projector = projector
        self.beta, self.alpha, self.temperature = float(beta), float(alpha), float(temperature)
        self.needs_teacher_pred = self.alpha > 0

    def active_terms(self) -> tuple[str, ...]:
        return ("ce", "hint", "kd") if self.alpha > 0 else ("ce", "hint")

    def distillation_terms(self, student_pred, target, student_feat, teacher):
        hint = fitnet_loss(self.projector(student_feat), teacher.features[0])
        terms, parts = {"hint": hint}, [self.beta * self.feature_weight_scale * hint]
        if self.alpha > 0:
            terms["kd"] = kd_loss(student_pred, teacher.pred, self.temperature)
            parts.append(self.alpha * terms["kd"])
        return terms, parts


class OFAObjective(CrossEntropyObjective):
    """OFA-KD: the final head and a branch on the tapped student stage, both distilled in logit
    space with :func:`ofa_loss`: ``CE + alpha * (L_OFA(z_s) + L_OFA(branch(F_s)))``.

    Parameters
    ----------
    branch : nn.Module
        Maps the tapped student feature to logits (trained, dropped after training).
    alpha : float, default=1.0
    eps : float, default=1.0
    temperature : float, default=1.0
    """

    needs_teacher_pred = True
    needs_features = True

    def __init__(
        self, branch: nn.Module, alpha: float = 1.0, eps: float = 1.0, temperature: float = 1.0
    ) -> None:
        super().__init__()
        self.branch = branch
        self.alpha, self.eps, self.temperature = float(alpha), float(eps), float(temperature)

    def active_terms(self) -> tuple[str, ...]:
        return ("ce", "ofa", "ofa_branch")

    def distillation_terms(self, student_pred, target, student_feat, teacher):
        t, eps = self.temperature, self.eps
        ofa = ofa_loss(student_pred, teacher.pred, target, eps, t)
        branch = ofa_loss(self.branch(student_feat), teacher.pred, target, eps, t)
        return {"ofa": ofa, "ofa_branch": branch}, [self.alpha * (ofa + branch)]
