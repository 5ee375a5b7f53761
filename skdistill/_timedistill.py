"""What the two TimeDistill estimators share: their loss parameters, checked and passed on.

``DistilledMLPForecaster`` (sktime, cuts windows from a series) and ``DistilledMLPRegressor``
(scikit-learn, takes pre-cut windows) differ in their data and their teachers; the student,
the objective and its parameters are the same, and so is the training entry point they call
(:func:`skdistill.training.timedistill.fit_timedistill`).
"""

from __future__ import annotations

from skdistill._validation import (
    check_bool,
    check_choice,
    check_directory,
    check_float,
    check_int,
)

NORMS = ("mean", "revin", "none")
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
        check_float(self.alpha, "alpha")
        check_float(self.beta, "beta")
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

    def _loss_params(self, alpha: float, beta: float, horizon: int) -> dict:
        """:class:`~skdistill.losses.TimeDistillLoss` parameters with the weights as used."""
        return {
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
