"""Forecasts of any sktime forecaster for every training window: the generic teacher's side.

A forecaster without hidden features contributes its *forecast from each training window*:
the H steps it predicts when the data it knows ends at the window's last context row. Two
semantics, chosen by ``DistilledMLPForecaster(generic_teacher=...)``:

``"reuse"`` (default)
    The fitted teacher's parameters are kept; only its data changes. A copy of the fitted
    teacher forgets the data it remembers, receives the window's context through
    ``update(update_params=False)`` and predicts. What the user fitted is what is distilled:
    a fitted trend stays that trend, a naive forecaster repeats the window's last value. The
    copy forgets first because sktime's ``update`` merges the new rows into everything the
    forecaster has seen, so a forecaster fitted on the whole series and moved back to an
    earlier window would read the rows after it (a naive "last" forecast would return the
    truth).
``"refit"``
    A clone is fitted on each window's context: the semantics of local statistical models
    (e.g. exponential smoothing refitted per window), at the cost of one fit per window.

Windows are processed in chunks through sktime's own parallel backend (the teacher's
``backend:parallel`` config: ``"loky"``, ``"multiprocessing"``, ``"dask"`` ...), with a
progress bar when ``verbose``. Forecasters whose forecast is a closed form of the context
(:class:`~sktime.forecasting.naive.NaiveForecaster` with the strategies below) are computed
for all windows at once in numpy, exactly as sktime computes them (tested window by window).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from sktime.forecasting.base import ForecastingHorizon
from sktime.utils.parallel import parallelize

from skdistill.training.progress import progress_bar

#: Windows per task handed to the parallel backend (amortises copying the teacher).
CHUNK = 256


# --- closed forms ---------------------------------------------------------------------------
def _naive(teacher, values: np.ndarray, starts: np.ndarray, L: int, H: int) -> np.ndarray | None:
    """NaiveForecaster's forecast from every window at once, or None where not covered.

    Covered: ``"last"`` with any ``sp`` (the last season repeated), ``"mean"`` and ``"drift"``
    with ``sp=1`` and any ``window_length`` (the mean of / the line through the last
    ``window_length`` values, all of the context when None). Only the rows each forecast
    reads are gathered (the windows themselves never exist); anything else takes the
    generic path.
    """
    strategy, sp = teacher.strategy, int(teacher.sp)
    w = teacher.window_length
    end = starts + L  # one past each context's last row
    h = np.arange(H)
    if strategy == "last":
        if sp > L:
            return None
        return values[end[:, None] - sp + (h % sp)[None, :]]
    if sp != 1:
        return None
    w = L if w is None or w >= L else int(w)
    if strategy == "mean":
        # Summed as sktime sums (no running totals, whose rounding grows with the series),
        # CHUNK windows at a time so that at most CHUNK x w rows are gathered.
        offsets = np.arange(-w, 0)
        mean = np.concatenate(
            [
                values[e[:, None] + offsets].mean(axis=1)
                for e in np.array_split(end, max(1, -(-len(end) // CHUNK)))
            ]
        )
        return np.repeat(mean[:, None], H, axis=1)
    if strategy == "drift" and w > 1:
        last, first = values[end - 1], values[end - w]
        slope = (last - first) / (w - 1)
        return last[:, None] + (h + 1)[None, :, None] * slope[:, None]
    return None


def closed_form(
    teacher, values: np.ndarray, starts: np.ndarray, L: int, H: int
) -> np.ndarray | None:
    """The teacher's forecasts ``(len(starts), H, C)`` from the windows of ``values``
    (``(n, C)``; window ``i`` is ``values[starts[i] : starts[i] + L]``), or None.

    Only for the exact classes listed here: a subclass may override ``predict``.
    """
    from sktime.forecasting.naive import NaiveForecaster

    if type(teacher) is NaiveForecaster:
        return _naive(teacher, values, np.asarray(starts, dtype=np.int64), L, H)
    return None


# --- the generic path -----------------------------------------------------------------------
def _forecaster_for(teacher, context: pd.DataFrame, fh, mode: str):
    if mode == "refit":
        return teacher.clone().fit(context, fh=fh)
    walker = copy.deepcopy(teacher)
    _forget(walker)
    return walker.update(context, update_params=False)


#: Where sktime forecasters keep the data they have seen.
_REMEMBERED = ("_y", "_X", "_cur_y", "_cur_X")


def _forget(forecaster) -> None:
    """Drop the data a fitted forecaster remembers, keep its fitted parameters.

    sktime keeps data under two conventions: the stream pool ``_y``/``_X`` of every
    forecaster, and the snapshot ``_cur_y``/``_cur_X`` of window forecasters (naive, ...);
    ``update`` starts both again from the context when they are None. Per-column or
    per-instance clones of a vectorised forecaster (``forecasters_``) forget too. A
    forecaster that keeps a copy of its data under another name is not covered: use
    ``generic_teacher="refit"`` for it.
    """
    for name in _REMEMBERED:
        if name in vars(forecaster):
            setattr(forecaster, name, None)
    forecaster.set_config(remember_data=True)  # the context must be remembered to be used
    inner = getattr(forecaster, "forecasters_", None)
    if isinstance(inner, pd.DataFrame):
        for f in inner.to_numpy().ravel():
            _forget(f)


def _forecast_chunk(chunk: tuple, meta: dict) -> list:
    """The raw forecasts of one chunk of windows (run by the parallel backend)."""
    starts, frame = chunk
    L, fh, teacher, mode = meta["L"], meta["fh"], meta["teacher"], meta["mode"]
    out = []
    for s in starts:
        forecaster = _forecaster_for(teacher, frame.iloc[s : s + L], fh, mode)
        out.append(forecaster.predict(fh))
    return out


def _chunks(
    frame: pd.DataFrame, starts: np.ndarray, L: int
) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
    # Each task gets only the rows its windows span, so no worker receives the whole series.
    for i in range(0, len(starts), CHUNK):
        part = starts[i : i + CHUNK]
        lo, hi = int(part[0]), int(part[-1]) + L
        yield part - lo, frame.iloc[lo:hi]


def window_forecasts(
    teacher,
    y: pd.DataFrame,
    starts: np.ndarray,
    L: int,
    H: int,
    *,
    mode: str = "reuse",
    check=None,
    verbose: int = 0,
) -> np.ndarray:
    """The teacher's forecast from every window: ``(len(starts), H, C)`` in y's units.

    Parameters
    ----------
    teacher : sktime forecaster
        Fitted (``mode="reuse"``; never modified) or any (``"refit"``; cloned per window).
    y : pandas.DataFrame
        The series; window ``i`` has context ``y[starts[i] : starts[i] + L]``.
    starts : array of int
        Sorted window starts.
    L, H : int
        Look-back and horizon.
    mode : {"reuse", "refit"}
        See the module docstring.
    check : callable, optional
        ``check(forecast, window_index) -> (H, C) array``: validates one raw forecast.
    verbose : int
        A progress bar (on stderr) when > 0.
    """
    starts = np.asarray(starts, dtype=np.int64)
    fast = closed_form(teacher, y.to_numpy(np.float64), starts, L, H)
    if fast is not None:
        return fast
    fh = ForecastingHorizon(np.arange(1, H + 1), is_relative=True)
    config = teacher.get_config()
    meta = {"L": L, "fh": fh, "teacher": teacher, "mode": mode}
    backend = config.get("backend:parallel")
    params = config.get("backend:parallel:params")
    out = np.empty((len(starts), H, y.shape[1]))
    tasks = list(_chunks(y, starts, L))
    name = f"teacher {type(teacher).__name__} forecasts"
    bar = progress_bar(len(starts), name, verbose, unit="window")
    row = 0
    # Tasks go to the backend a few at a time, so the bar moves and results do not pile up.
    step = 1 if backend in (None, "None") else 4 * _n_jobs(params)
    try:
        for i in range(0, len(tasks), step):
            for forecasts in parallelize(
                _forecast_chunk, tasks[i : i + step], meta, backend, params
            ):
                for forecast in forecasts:
                    out[row] = forecast.to_numpy() if check is None else check(forecast, row)
                    row += 1
                bar.update(len(forecasts))
    finally:
        bar.close()
    return out


def _n_jobs(params) -> int:
    jobs = (params or {}).get("n_jobs", 2)
    return 2 if jobs in (None, -1) else max(1, int(jobs))


__all__: Sequence[str] = ["window_forecasts", "closed_form", "CHUNK"]
