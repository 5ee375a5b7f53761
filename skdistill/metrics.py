"""Scores of the long-term forecasting protocol for fitted window forecasters.

:func:`evaluate_windows` scores a fitted forecaster as the LTSF papers do: every stride-1
window of a row range (e.g. the test rows of :func:`~skdistill.datasets.ltsf_split`), errors
on data standardised with the training rows' scaler, averaged over all windows, steps and
channels. :func:`iter_windows` yields those windows, for scores of your own.
"""

from __future__ import annotations

from skdistill._evaluation import evaluate_windows, iter_windows

__all__ = ["evaluate_windows", "iter_windows"]
