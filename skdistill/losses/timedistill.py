r"""TimeDistill losses: multi-scale MSE, multi-period KL and the combined objective.

Implements the distillation objective of Ni et al., "TimeDistill: Efficient Long-Term Time Series
Forecasting with MLP via Cross-Architecture Distillation" (arXiv 2502.15016, 2025), with the
defaults of the authors' reference code. Pure torch: no scikit-learn, skorch or sktime here.

Notation
--------
``B`` batch, ``H`` horizon, ``C`` channels, ``D`` student hidden width.
``Ys, Yt, Y`` (B, H, C): student prediction, teacher prediction, target (time axis ``dim=1``).
``Hs`` (B, C, D): student feature; ``R(Ht)`` (B, C, D): teacher feature after the learnable
regressor ``R`` (applied by the caller, not here); hidden axis ``dim=-1``.

Multi-scale term
----------------
Let ``P^0`` be the identity and ``P^m`` the m-fold average pooling with kernel 2, stride 2, no
padding and floor (an odd trailing element is dropped) along the signal axis::

    scale(a, b) = 1/(M+1) * sum_{m=0..M} MSE(P^m(a), P^m(b)),        M = n_scales = 3

where MSE is the element mean of the squared difference. All scales have equal weight, scale 0
(the raw signal) included. The signal length must be at least ``2**M``.

Multi-period term
-----------------
For a signal ``x`` of length ``n`` along the signal axis, with ``tau = temperature = 0.5``::

    A(x) = |rfft(x)|[1:]                  amplitude (not power), unnormalised FFT, DC bin dropped;
                                          K = n // 2 frequency bins remain
    Q(x) = softmax(A(x) / tau)            over the K bins, separately for every other index
    period(a, b) = KL(Q(b) || Q(a))       teacher b is the target, student a the estimate

The pointwise KL is ``k_i = q_t,i * log q_t,i - q_t,i * log(q_s,i + 1e-8)`` (the ``1e-8`` is the
reference code's). Two reductions:

* ``"mean"`` (default, reference behaviour, equal to
  ``F.kl_div(log(q_s + 1e-8), q_t, reduction="mean")``): the mean of ``k_i`` over *all* elements,
  frequency bins included, i.e. the per-distribution KL divided by ``K``;
* ``"batchmean"``: ``k_i`` summed over the K bins (the true KL of each distribution), then averaged
  over the distributions (every (sample, channel) index). It is exactly ``K`` times ``"mean"``.

Numerics: a sharp softmax (small ``tau``, large amplitudes) underflows some ``q_t,i`` to exactly 0.
``F.kl_div`` and ``torch.xlogy(q_t, q_t)`` then return the right *value* (``0 * log 0 = 0``) but a
NaN *gradient* with respect to ``q_t`` (the derivative of ``log q`` at 0), which poisons training
whenever the target carries gradient, as the teacher feature ``R(Ht)`` does. Here the entropy part
is computed as ``q_t * log_softmax(A_t / tau)``: ``log_softmax`` stays finite, so the product is 0
with a gradient of 0 where ``q_t`` underflows, and equals ``xlogy(q_t, q_t)`` everywhere else.
The term is computed by :func:`skdistill.losses._fused.spectral_kl`, one autograd function
whose backward is this formula differentiated by hand (one inverse FFT), about 3x faster on a
CPU than autograd's; it also sets probabilities below ``e^-60`` to 0, because arithmetic on
denormal numbers is what made the term slow (its docstring bounds the effect).

Combined objective
------------------
::

    L = [use_supervised] * MSE(Ys, Y)
      + alpha * ( period(Ys, Yt; time axis)     + scale(Ys, Yt; time axis) )
      + beta  * ( period(Hs, R(Ht); hidden axis) + scale(Hs, R(Ht); hidden axis) )

``use_period`` / ``use_scale`` switch the corresponding part off at both levels. With
``alpha = beta = 0`` the objective is exactly ``F.mse_loss(Ys, Y)`` (plain supervised training).
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import Tensor

from skdistill._validation import check_choice, check_float, check_int
from skdistill.losses._fused import multiscale_sq, spectral_kl
from skdistill.losses.base import DistillationObjective, TeacherOutputs

__all__ = ["TimeDistillLoss", "TimeDistillObjective", "multiperiod_kl", "multiscale_mse"]

# Added to the student probabilities before the log, as in the reference code.
_KL_EPS = 1e-8
_REDUCTIONS = ("mean", "batchmean")
# Signal axes of the two distillation levels: predictions (B, H, C), features (B, C, D).
_PRED_DIM = 1
_FEAT_DIM = -1


# --------------------------------------------------------------------------- validation helpers
def _check_same_shape(student: Tensor, teacher: Tensor, name: str = "student and teacher") -> None:
    if student.shape != teacher.shape:
        raise ValueError(
            f"{name} must have the same shape, got {tuple(student.shape)} and "
            f"{tuple(teacher.shape)}"
        )


def _normalize_dim(dim: int, ndim: int) -> int:
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise ValueError(f"dim must be an int, got {dim!r}")
    if not -ndim <= dim < ndim:
        raise ValueError(f"dim={dim} is out of range for a tensor with {ndim} dimension(s)")
    return int(dim) % ndim


# --------------------------------------------------------------------------- multi-scale
def multiscale_mse(student: Tensor, teacher: Tensor, *, n_scales: int = 3, dim: int = 1) -> Tensor:
    """Multi-scale MSE: mean over scales of the MSE after repeated 2x average pooling.

    ``1/(n_scales+1) * sum_{m=0..n_scales} MSE(P^m(student), P^m(teacher))`` where ``P^0`` is the
    identity and ``P^m`` pools ``m`` times (kernel 2, stride 2, no padding, floor) along ``dim``.

    Parameters
    ----------
    student : Tensor
        Student signal, any number of dimensions (floating point).
    teacher : Tensor
        Teacher signal, same shape as ``student``.
    n_scales : int, default=3
        Number of pooling steps ``M``; ``M + 1`` scales are compared (scale 0 included).
    dim : int, default=1
        Signal axis; negative values count from the end.

    Returns
    -------
    Tensor
        Scalar loss, differentiable with respect to both inputs.

    Raises
    ------
    ValueError
        If the shapes differ, ``n_scales`` is not a non-negative int, ``dim`` is out of range, or
        the signal is shorter than ``2**n_scales``.

    Examples
    --------
    >>> import torch
    >>> multiscale_mse(torch.zeros(2, 8, 3), torch.ones(2, 8, 3))
    tensor(1.)
    """
    _check_same_shape(student, teacher)
    n_scales = check_int(n_scales, "n_scales", minimum=0)
    dim = _normalize_dim(dim, student.ndim)
    length = student.shape[dim]
    if length < 2**n_scales:
        raise ValueError(
            f"multiscale_mse with n_scales={n_scales} needs a signal of length >= "
            f"2**n_scales = {2**n_scales} along dim={dim}, got length {length}"
        )
    # Pooling is linear, so P^m(a) - P^m(b) = P^m(a - b): the difference is pooled once
    # (same value, half the work), by an autograd function with the backward written out.
    return multiscale_sq(student.movedim(dim, -1), teacher.movedim(dim, -1), n_scales)


# --------------------------------------------------------------------------- multi-period
def multiperiod_kl(
    student: Tensor,
    teacher: Tensor,
    *,
    temperature: float = 0.5,
    dim: int = 1,
    reduction: str = "mean",
) -> Tensor:
    """Multi-period KL: ``KL(Q_teacher || Q_student)`` between softmaxed amplitude spectra.

    ``Q(x) = softmax(|rfft(x, dim)|[1:] / temperature)`` over the frequency axis (DC bin dropped),
    separately for every other index. Zero target probabilities contribute 0 with a zero gradient,
    also when ``teacher`` requires gradient (see the module docstring).

    Parameters
    ----------
    student : Tensor
        Student signal, any number of dimensions (real floating point).
    teacher : Tensor
        Teacher signal (the KL target), same shape as ``student``.
    temperature : float, default=0.5
        Softmax temperature ``tau > 0``; smaller is sharper.
    dim : int, default=1
        Signal axis; negative values count from the end. Its length must be >= 2 so that at
        least one non-DC frequency bin exists.
    reduction : {"mean", "batchmean"}, default="mean"
        ``"mean"``: element mean over all elements including the frequency bins, equal to
        ``F.kl_div(log(q_s + 1e-8), q_t, reduction="mean")`` of the reference code.
        ``"batchmean"``: KL summed over the bins, averaged over the distributions; this is
        ``n_bins = length // 2`` times the ``"mean"`` value.

    Returns
    -------
    Tensor
        Scalar loss, differentiable with respect to both inputs (float32 for half inputs).

    Raises
    ------
    ValueError
        If ``temperature`` is not > 0, ``reduction`` is unknown, the shapes differ, ``dim`` is out
        of range, or the signal is shorter than 2.

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(4, 16, 2)
    >>> multiperiod_kl(x, x).abs().item() < 1e-6
    True
    """
    temperature = check_float(temperature, "temperature", strict=True)
    reduction = check_choice(reduction, "reduction", _REDUCTIONS)
    _check_same_shape(student, teacher)
    dim = _normalize_dim(dim, student.ndim)
    length = student.shape[dim]
    if length < 2:
        raise ValueError(
            f"multiperiod_kl needs a signal of length >= 2 along dim={dim} (at least one "
            f"frequency bin besides DC), got length {length}"
        )
    # FFT is not implemented for half types on CPU (and only for power-of-two lengths on CUDA),
    # and a sharp softmax of large amplitudes needs the precision anyway.
    half = student.dtype in (torch.float16, torch.bfloat16)
    student, teacher = (t.movedim(dim, -1) for t in (student, teacher))
    if half:
        student, teacher = student.float(), teacher.float()
    return spectral_kl(student, teacher, temperature, _KL_EPS, reduction == "batchmean")


# --------------------------------------------------------------------------- combined objective
class TimeDistillLoss(torch.nn.Module):
    """The TimeDistill objective: supervised MSE plus prediction- and feature-level distillation.

    ``L = [use_supervised] * MSE(Ys, Y) + alpha * (period + scale)(Ys, Yt; time axis)
    + beta * (period + scale)(Hs, R(Ht); hidden axis)``; see the module docstring for the math.
    The module has no parameters; the feature regressor ``R`` lives with the caller, which passes
    the already-regressed teacher feature.

    Parameters
    ----------
    alpha : float, default=1.0
        Weight of the prediction-level distillation (time axis ``dim=1`` of (B, H, C)).
    beta : float, default=1.0
        Weight of the feature-level distillation (hidden axis ``dim=-1`` of (B, C, D)).
    temperature : float, default=0.5
        Softmax temperature of the multi-period term.
    n_scales : int, default=3
        Pooling steps of the multi-scale term (``n_scales + 1`` scales).
    use_scale : bool, default=True
        Include the multi-scale term (both levels).
    use_period : bool, default=True
        Include the multi-period term (both levels).
    use_supervised : bool, default=True
        Include the supervised MSE against the ground truth.
    reduction : {"mean", "batchmean"}, default="mean"
        Reduction of the multi-period KL (see :func:`multiperiod_kl`).
    pred_period : bool, default=True
        Include the multi-period part at the prediction level (a one-step forecast has no
        spectrum besides DC, so forecasters switch it off for a horizon of 1).
    check_finite : bool, default=True
        Raise ``FloatingPointError`` when the total is NaN or infinite. Costs one host-device
        synchronisation per call on accelerators; set False to skip.

    Raises
    ------
    ValueError
        If a weight is negative or not finite, another parameter is invalid, or no term is
        active.

    Examples
    --------
    >>> import torch
    >>> loss = TimeDistillLoss(alpha=0.0, beta=0.0)
    >>> out = loss(torch.zeros(2, 8, 3), torch.ones(2, 8, 3))
    >>> sorted(out), out["loss"]
    (['loss', 'sup'], tensor(1.))
    """

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        beta: float = 1.0,
        temperature: float = 0.5,
        n_scales: int = 3,
        use_scale: bool = True,
        use_period: bool = True,
        use_supervised: bool = True,
        reduction: str = "mean",
        check_finite: bool = True,
        pred_period: bool = True,
    ) -> None:
        super().__init__()
        self.alpha = check_float(alpha, "alpha")
        self.beta = check_float(beta, "beta")
        self.temperature = check_float(temperature, "temperature", strict=True)
        self.n_scales = check_int(n_scales, "n_scales", minimum=0)
        self.use_scale = bool(use_scale)
        self.use_period = bool(use_period)
        self.use_supervised = bool(use_supervised)
        self.reduction = check_choice(reduction, "reduction", _REDUCTIONS)
        self.check_finite = bool(check_finite)
        self.pred_period = bool(pred_period)
        if not (self.use_supervised or self.pred_active or self.feat_active):
            raise ValueError(
                "TimeDistillLoss has no active term: enable use_supervised, or set alpha > 0 or "
                "beta > 0 with use_scale or use_period"
            )

    @property
    def pred_active(self) -> bool:
        """Whether the prediction-level distillation contributes (needs ``teacher_pred``)."""
        return self.alpha > 0 and (self.use_scale or self.use_period)

    @property
    def feat_active(self) -> bool:
        """Whether the feature-level distillation contributes (needs both features)."""
        return self.beta > 0 and (self.use_scale or self.use_period)

    def _level_parts(self, prefix: str) -> tuple[str, ...]:
        """The parts ("period", "scale") computed at level ``prefix`` ("pred" or "feat")."""
        period = self.use_period and (prefix != "pred" or self.pred_period)
        return tuple(p for p, on in (("scale", self.use_scale), ("period", period)) if on)

    def active_terms(self) -> tuple[str, ...]:
        """Names of the unweighted terms :meth:`forward` returns besides ``"loss"``."""
        names = ["sup"] if self.use_supervised else []
        for prefix, active in (("pred", self.pred_active), ("feat", self.feat_active)):
            if active:
                names += [f"{prefix}_{part}" for part in self._level_parts(prefix)]
        return tuple(names)

    def _distill_terms(
        self, student: Tensor, teacher: Tensor, dim: int, prefix: str
    ) -> dict[str, Tensor]:
        terms = {}
        parts = self._level_parts(prefix)
        if "period" in parts:
            terms[f"{prefix}_period"] = multiperiod_kl(
                student, teacher, temperature=self.temperature, dim=dim, reduction=self.reduction
            )
        if "scale" in parts:
            terms[f"{prefix}_scale"] = multiscale_mse(
                student, teacher, n_scales=self.n_scales, dim=dim
            )
        return terms

    def forward(
        self,
        y_pred: Tensor,
        y_true: Tensor | None,
        teacher_pred: Tensor | None = None,
        student_feat: Tensor | None = None,
        teacher_feat: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """Compute the total loss and its active terms.

        Parameters
        ----------
        y_pred : Tensor
            Student prediction ``Ys``, (B, H, C).
        y_true : Tensor or None
            Target ``Y``, same shape; may be None when ``use_supervised=False``.
        teacher_pred : Tensor or None, default=None
            Teacher prediction ``Yt``, same shape; required when alpha > 0 (and a part is on).
        student_feat : Tensor or None, default=None
            Student feature ``Hs``, (B, C, D); required when beta > 0 (and a part is on).
        teacher_feat : Tensor or None, default=None
            Regressed teacher feature ``R(Ht)``, same shape as ``student_feat``.

        Returns
        -------
        dict of str to Tensor
            ``"loss"`` (the weighted total, always present) and the *unweighted* active terms
            among ``"sup"``, ``"pred_scale"``, ``"pred_period"``, ``"feat_scale"``,
            ``"feat_period"``. Switched-off terms are absent and not computed.

        Raises
        ------
        ValueError
            If an input needed by an active term is missing or shapes differ.
        FloatingPointError
            If ``check_finite`` and the total is NaN or infinite; the message names the term(s).
        """
        out: dict[str, Tensor] = {}
        if self.use_supervised:
            if y_true is None:
                raise ValueError("y_true is required when use_supervised=True")
            _check_same_shape(y_pred, y_true, "y_pred and y_true")
            out["sup"] = F.mse_loss(y_pred, y_true)
        if self.pred_active:
            if teacher_pred is None:
                raise ValueError(
                    f"teacher_pred is required when alpha={self.alpha} > 0; set alpha=0 to "
                    "train without prediction-level distillation"
                )
            _check_same_shape(y_pred, teacher_pred, "y_pred and teacher_pred")
            out.update(self._distill_terms(y_pred, teacher_pred, _PRED_DIM, "pred"))
        if self.feat_active:
            if student_feat is None or teacher_feat is None:
                raise ValueError(
                    f"student_feat and teacher_feat are required when beta={self.beta} > 0; set "
                    "beta=0 to train without feature-level distillation"
                )
            _check_same_shape(student_feat, teacher_feat, "student_feat and teacher_feat")
            out.update(self._distill_terms(student_feat, teacher_feat, _FEAT_DIM, "feat"))

        # Sum only what exists (no `0 * term`), so alpha = beta = 0 returns the supervised MSE
        # itself, bit for bit.
        parts = []
        if "sup" in out:
            parts.append(out["sup"])
        for prefix, weight in (("pred", self.alpha), ("feat", self.beta)):
            level = [out[k] for k in (f"{prefix}_period", f"{prefix}_scale") if k in out]
            if level:
                parts.append(weight * (level[0] + level[1] if len(level) == 2 else level[0]))
        total = parts[0]
        for part in parts[1:]:
            total = total + part

        # One check on the total; the terms are only inspected on failure.
        if self.check_finite and not bool(torch.isfinite(total)):
            bad = [f"{k}={v.item()}" for k, v in out.items() if not bool(torch.isfinite(v))]
            detail = ", ".join(bad) if bad else "all terms finite, the weighted sum overflowed"
            raise FloatingPointError(f"TimeDistillLoss is not finite ({total.item()}): {detail}")
        return {"loss": total, **out}

    def extra_repr(self) -> str:
        return (
            f"alpha={self.alpha}, beta={self.beta}, temperature={self.temperature}, "
            f"n_scales={self.n_scales}, use_scale={self.use_scale}, use_period={self.use_period}, "
            f"use_supervised={self.use_supervised}, reduction={self.reduction!r}"
        )


class TimeDistillObjective(DistillationObjective):
    """:class:`TimeDistillLoss` with its feature regressors, as the training layer uses it.

    ``R_k`` maps teacher k's feature ``Ht_k`` (B, C, d_k) onto the student's width D. With
    several teachers, every (``Hs``, ``R_k(Ht_k)``) pair is stacked along the batch, so that
    each feature term is exactly the average of the per-teacher terms (equal-size chunks).

    Parameters
    ----------
    loss : TimeDistillLoss
        The weighted terms.
    regressors : sequence of nn.Module, default=()
        One ``R_k`` per teacher feature; needed when ``loss.feat_active``.

    Examples
    --------
    >>> import torch
    >>> from skdistill.losses.base import TeacherOutputs
    >>> objective = TimeDistillObjective(TimeDistillLoss(beta=0.0))
    >>> y = torch.zeros(2, 8, 3)
    >>> sorted(objective(y, y, None, TeacherOutputs(pred=y)))
    ['loss', 'pred_period', 'pred_scale', 'sup']
    """

    def __init__(self, loss: TimeDistillLoss, regressors=()) -> None:
        super().__init__()
        self.loss = loss
        self.regressors = torch.nn.ModuleList(regressors)
        if loss.feat_active and not len(self.regressors):
            raise ValueError("feature-level distillation (beta > 0) needs one regressor a teacher")

    @property
    def needs_teacher_pred(self) -> bool:
        return self.loss.pred_active

    @property
    def needs_features(self) -> bool:
        return self.loss.feat_active

    def active_terms(self) -> tuple[str, ...]:
        return self.loss.active_terms()

    def validation_loss(self, student_pred: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(student_pred, target)

    def forward(
        self,
        student_pred: Tensor,
        target: Tensor,
        student_feat: Tensor | None,
        teacher: TeacherOutputs,
    ) -> dict[str, Tensor]:
        regressed = None
        if self.loss.feat_active:
            feats = teacher.features
            regressed = torch.cat([r(f) for r, f in zip(self.regressors, feats, strict=True)])
            student_feat = student_feat.repeat(len(feats), 1, 1)
        return self.loss(student_pred, target, teacher.pred, student_feat, regressed)
