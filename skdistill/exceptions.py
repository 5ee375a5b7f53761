"""Warnings and errors of skdistill that callers may want to catch or filter by class."""

from __future__ import annotations

__all__ = ["DivergenceWarning"]


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
