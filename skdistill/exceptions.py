"""Warnings and errors of skdistill that callers may want to catch or filter by class."""

from __future__ import annotations

__all__ = ["DivergenceWarning", "WeakTeacherWarning"]


class DivergenceWarning(UserWarning):
    """Training ended far worse than it started: the learning rate is almost surely too high.

    Issued when the last epoch's mean training loss exceeds ``10x`` the loss of the first
    batch (the untrained network's). The fitted model is kept (it is what training produced),
    but it is not worth using; lower ``lr``. A loss that becomes NaN or infinite is an error
    instead (:class:`FloatingPointError`), and the estimator then stays as it was.

    Examples
    --------
    >>> import warnings
    >>> from skdistill.exceptions import DivergenceWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", DivergenceWarning)  # make divergence fail a search
    ...     pass
    """


class WeakTeacherWarning(UserWarning):
    """Distillation may not have helped: the teacher forecasts the validation windows clearly
    worse than the distilled student, or a weight search chose no teacher.

    Issued by a distilling forecaster at the end of ``fit`` when the loss weights are fixed
    (``alpha > 0`` or ``beta > 0``) and the teacher's validation loss
    (``teacher_valid_loss_``) exceeds 1.25 times the student's (``valid_loss_``; within that
    margin a student that ends a little better than its teacher, as distilled students
    often do, is not reported), and when ``alpha="auto"`` chose 0: the teacher did not
    help on validation, or it was over 1.25 times worse than the student alone there and
    was dropped (a search that kept a teacher within that margin does not warn, even one
    weaker than the student). Pulling the student
    towards such a teacher can leave it worse than training it alone; the message gives both
    numbers and the remedies: train without a teacher (``alpha = beta = 0``, or
    ``MLPForecaster``), or search the weights, 0 included, with ``ForecastingGridSearchCV``
    and ``memory`` (the teacher is then fitted once per fold). A weaker teacher can still
    help: the warning says so, and compares only what was measured.

    Examples
    --------
    >>> import warnings
    >>> from skdistill.exceptions import WeakTeacherWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", WeakTeacherWarning)  # make a weak teacher fail a run
    ...     pass
    """
