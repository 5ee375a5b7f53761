"""Loss weights chosen on held-out data ("auto"), for every estimator: the grid, and the
audit's warning when the search dropped the teacher.

A search that chose 0 for every searched weight trained the student without the teacher's
signal: distilling did not help on held-out data. The forecasters, the regressor and the
classifiers say so with the same warning.
"""

from __future__ import annotations

import warnings

from skdistill.exceptions import WeakTeacherWarning

#: What "auto" chooses from: the TimeDistill paper's grid {0.1, 0.5, 1, 2} and 0 (no teacher).
#: The forecasters' weights take these values (the same for both levels when both are
#: "auto"); a classifier's "auto" weight is its default times one of them.
AUTO_WEIGHTS = (0.0, 0.1, 0.5, 1.0, 2.0)


def warn_dropped_teacher(
    weights: dict,
    teacher_loss: float | None,
    student_loss: float | None,
    stacklevel: int = 5,
    margin: float | None = None,
) -> None:
    """Warn (:class:`~skdistill.exceptions.WeakTeacherWarning`) that the search chose
    ``weights`` (all 0), with the teacher's and the student's held-out losses when known;
    ``margin``: the teacher was dropped for being over that many times worse."""
    chosen = ", ".join(f"{name}={value:g}" for name, value in weights.items())
    numbers = (
        ""
        if teacher_loss is None or student_loss is None
        else f" (validation loss: teacher {teacher_loss:.4g}, student {student_loss:.4g})"
    )
    why = (
        "did not help the student on the held-out data"
        if margin is None
        else f"is over {margin:g}x worse than the student alone on the held-out data, where "
        "its apparent help does not carry over to new data (a stale or overfitted teacher)"
    )
    warnings.warn(
        f"the search over the loss weights chose {chosen}: this teacher{numbers} {why}, so "
        "the student was trained without the teacher's signal. See weight_search_ for every "
        "candidate's validation loss; a better teacher (more epochs, more data) may help, "
        "or pass the weights as numbers to distil it anyway.",
        WeakTeacherWarning,
        stacklevel=stacklevel + 1,
    )
