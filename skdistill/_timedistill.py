"""What the two TimeDistill estimators share: their loss parameters, checked and passed on.

``DistilledMLPForecaster`` (sktime, cuts windows from a series) and ``DistilledMLPRegressor``
(scikit-learn, takes pre-cut windows) differ in their data and their teachers; the student,
the objective and its parameters are the same, and so is the training entry point they call
(:func:`skdistill.training.timedistill.fit_timedistill`).
"""

from __future__ import annotations

import warnings

from skdistill._audit import AUTO_WEIGHTS, warn_dropped_teacher
from skdistill._validation import (
    check_bool,
    check_choice,
    check_directory,
    check_float,
    check_int,
    check_loss_weight,
)
from skdistill.exceptions import WeakTeacherWarning
from skdistill.training.timedistill import kept_valid_loss

NORMS = ("mean", "revin", "none")
#: Under fixed weights, a teacher whose validation MSE exceeds the distilled student's by more
#: than this factor is reported (WeakTeacherWarning). Not 1: a distilled student commonly
#: ends better than its teacher (the demo's PatchTST 0.3834 against its student's 0.3752 on
#: test). Measured: an iTransformer teacher (ETTh1, L=336) at 1.107x its distilled student's
#: validation MSE made that student 6 % better than the MLP alone on test.
WEAK_TEACHER_MARGIN = 1.25
#: An "auto" weight where there are no validation windows to choose it on: the paper's 1.
AUTO_FALLBACK = 1.0
KL_REDUCTIONS = ("mean", "batchmean")
#: ``teacher_cache`` and ``teacher_cache_dtype`` choices (those of
#: :mod:`skdistill.training.teacher_cache`, which the training layer checks again).
TEACHER_CACHES = ("auto", "memory", "disk", "off")
TEACHER_CACHE_DTYPES = ("float32", "float16", "bfloat16")


class TimeDistillParamsMixin:
    """Checks of the TimeDistill parameters and the loss parameters built from them."""

    def _check_student_params(self) -> None:
        check_int(self.hidden_size, "hidden_size")
        check_int(self.moving_avg, "moving_avg")
        check_choice(self.norm, "norm", NORMS)

    def _check_timedistill_params(self) -> None:
        for name in ("alpha", "beta"):
            check_loss_weight(getattr(self, name), name)
        check_float(self.temperature, "temperature", strict=True)
        check_int(self.n_scales, "n_scales", minimum=0)
        check_choice(self.kl_reduction, "kl_reduction", KL_REDUCTIONS)
        for name in ("use_scale", "use_period", "use_supervised"):
            check_bool(getattr(self, name), name)

    def _check_cache_params(self) -> None:
        """The teacher-output cache: RAM budget, where it lives, its folder, its dtype."""
        check_float(self.teacher_cache_mb, "teacher_cache_mb")
        check_choice(self.teacher_cache, "teacher_cache", TEACHER_CACHES)
        check_directory(self.teacher_cache_dir, "teacher_cache_dir")
        check_choice(self.teacher_cache_dtype, "teacher_cache_dtype", TEACHER_CACHE_DTYPES)

    def _loss_params(self, alpha, beta, horizon: int, n_valid: int) -> dict:
        """:class:`~skdistill.losses.TimeDistillLoss` parameters with the weights as used;
        a weight "auto" adds the ``"candidates"`` the training layer chooses from. Without
        validation windows (``validation_size=None``, or data too short for it to give one)
        an "auto" weight is :data:`AUTO_FALLBACK`, with a warning."""
        out = {}
        if "auto" in (alpha, beta) and not n_valid:
            warnings.warn(
                "alpha/beta='auto' (the defaults) choose the weights on validation windows, but "
                f"validation_size={self.validation_size!r} gives none here: the 'auto' weights "
                f"are {AUTO_FALLBACK:g} (the paper's defaults), unchecked. Set validation_size "
                "(e.g. 0.2), or pass alpha and beta as numbers to silence this.",
                UserWarning,
                stacklevel=4,
            )
            alpha = AUTO_FALLBACK if alpha == "auto" else alpha
            beta = AUTO_FALLBACK if beta == "auto" else beta
        if "auto" in (alpha, beta):
            grid = AUTO_WEIGHTS
            if alpha == "auto" and beta == "auto":
                out["candidates"] = [(w, w) for w in grid]
            elif alpha == "auto":
                out["candidates"] = [(w, float(beta)) for w in grid]
            else:
                out["candidates"] = [(float(alpha), w) for w in grid]
            # A teacher this much worse than the student alone on validation is dropped.
            out["teacher_margin"] = WEAK_TEACHER_MARGIN
            alpha, beta = 0.0, 0.0  # replaced by the chosen pair
        return {
            **out,
            "alpha": float(alpha),
            "beta": float(beta),
            "temperature": float(self.temperature),
            "n_scales": int(self.n_scales),
            "use_scale": bool(self.use_scale),
            "use_period": bool(self.use_period),
            "use_supervised": bool(self.use_supervised),
            "reduction": self.kl_reduction,
            # A one-step forecast has no spectrum besides DC: no prediction-level period term.
            "pred_period": horizon >= 2,
        }

    def _record_fit(self, net, weights: tuple[float, float], teacher_valid_loss) -> None:
        """The fitted weights and the audit of a distilling fit: ``alpha_``, ``beta_``
        (``weights`` unless a search chose them), ``weight_search_``, ``valid_loss_``,
        ``teacher_valid_loss_``; then :func:`audit_teacher` warns if the teacher did not help."""
        self.alpha_, self.beta_ = getattr(net, "weights_", weights)
        self.weight_search_ = getattr(net, "weight_search_", None)
        self.valid_loss_ = kept_valid_loss(net)
        self.teacher_valid_loss_ = teacher_valid_loss
        audit_teacher(
            teacher_valid_loss,
            self.valid_loss_,
            self.alpha_,
            self.beta_,
            searched=self.weight_search_ is not None,
            dropped=getattr(net, "teacher_dropped_", False),
        )


def audit_teacher(
    teacher_loss,
    student_loss,
    alpha: float,
    beta: float,
    searched: bool = False,
    dropped: bool = False,
) -> None:
    """:class:`~skdistill.exceptions.WeakTeacherWarning` when a weight search chose no
    distillation (alpha = beta = 0: the teacher did not help on validation, or it was over
    :data:`WEAK_TEACHER_MARGIN` times worse than the student alone there and so was not
    tried further), or when fixed weights (alpha or beta > 0) distil a teacher that
    forecasts the validation windows more than :data:`WEAK_TEACHER_MARGIN` times worse
    than the student it was distilled into. A search that kept a teacher, within the margin,
    does not warn. ``dropped``: the search dropped the teacher for the margin."""
    if searched:
        if alpha == 0 and beta == 0:
            margin = WEAK_TEACHER_MARGIN if dropped else None
            warn_dropped_teacher(
                {"alpha": alpha, "beta": beta}, teacher_loss, student_loss, margin=margin
            )
        return
    if teacher_loss is None or student_loss is None or not (alpha > 0 or beta > 0):
        return
    if teacher_loss <= WEAK_TEACHER_MARGIN * student_loss:
        return
    warnings.warn(
        f"the teacher's validation MSE ({teacher_loss:.4g}) is over {WEAK_TEACHER_MARGIN:g}x "
        f"the distilled student's ({student_loss:.4g}, alpha={alpha:g}, beta={beta:g}): "
        "distillation may be making the student worse than training it alone, although a weaker teacher can "
        "still help. Compare with the student alone (alpha=0, beta=0, or MLPForecaster), or "
        "search the weights with 0 among them: ForecastingGridSearchCV(..., param_grid="
        "{'alpha': [0, 0.5, 1, 2], 'beta': [0, 0.5, 1, 2]}) with memory='<a folder>', which "
        "fits the teacher once per fold. Attributes: teacher_valid_loss_, valid_loss_.",
        WeakTeacherWarning,
        stacklevel=5,
    )
