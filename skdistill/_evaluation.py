"""Evaluation helpers shared by the demo and the benchmarks: windowed metrics and latency.

The metrics follow the standard long-term forecasting protocol: stride-1 windows over a row
range, every window used, errors computed on data standardised with the training-rows scaler and
averaged over all windows, steps and channels.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["evaluate_windows", "iter_windows", "latency_ms"]


def _window_range(n_rows: int, start: int, stop: int, window_length: int, horizon: int) -> int:
    """Check the row range and return the number of stride-1 windows in it."""
    for value, name in ((window_length, "window_length"), (horizon, "horizon")):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    if not 0 <= start <= stop <= n_rows:
        raise ValueError(f"rows [{start}, {stop}) are not inside the {n_rows} rows of values.")
    n_windows = stop - start - window_length - horizon + 1
    if n_windows < 1:
        raise ValueError(
            f"rows [{start}, {stop}) hold {stop - start} rows, fewer than window_length + horizon "
            f"= {window_length + horizon}: no window fits."
        )
    return n_windows


def iter_windows(
    values,
    start: int,
    stop: int,
    window_length: int,
    horizon: int,
    batch: int = 256,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield chunks of the stride-1 windows of rows ``[start, stop)``.

    Window ``i`` has context rows ``[start + i, start + i + L)`` and target rows
    ``[start + i + L, start + i + L + H)``; every window whose target ends by ``stop`` is
    yielded, in order (``stop - start - L - H + 1`` windows in all).

    Parameters
    ----------
    values : array-like of shape (T, C)
        The series.
    start, stop : int
        Row range the windows (contexts and targets) lie in.
    window_length : int
        Look-back ``L``.
    horizon : int
        Target length ``H``.
    batch : int, default=256
        Windows per chunk (the last chunk may be shorter).

    Yields
    ------
    contexts : numpy.ndarray of shape (b, L, C)
    targets : numpy.ndarray of shape (b, H, C)
        Fresh contiguous copies of one chunk.

    Notes
    -----
    The windows are a strided view of the series (``sliding_window_view``); only one chunk
    is copied at a time, so memory does not grow with ``n_windows * L``.
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"values must be 2-D (rows, channels); got shape {values.shape}.")
    if isinstance(batch, bool) or not isinstance(batch, int | np.integer) or batch < 1:
        raise ValueError(f"batch must be a positive integer; got {batch!r}.")
    start, stop = int(start), int(stop)
    L, H = int(window_length), int(horizon)
    n_windows = _window_range(len(values), start, stop, L, H)
    # (n, C, L + H) view: the window axis is appended last by sliding_window_view.
    view = sliding_window_view(values[start:stop], L + H, axis=0)
    for lo in range(0, n_windows, int(batch)):
        chunk = view[lo : lo + int(batch)]
        contexts = np.ascontiguousarray(chunk[:, :, :L].transpose(0, 2, 1))
        targets = np.ascontiguousarray(chunk[:, :, L:].transpose(0, 2, 1))
        yield contexts, targets


def evaluate_windows(
    forecaster,
    values,
    rows: slice,
    mean,
    scale,
    horizon: int,
    *,
    batch: int = 256,
) -> dict:
    """MSE and MAE of a fitted window forecaster over every stride-1 window of ``rows``.

    Parameters
    ----------
    forecaster : fitted forecaster with ``predict_windows`` and ``window_length``
        E.g. :class:`~skdistill.forecasting.MLPForecaster`; it must forecast ``horizon``
        steps (fitted with ``fh = 1..horizon``).
    values : array-like of shape (T, C)
        The series in the units of ``y``.
    rows : slice
        Row range of the split (e.g. the test slice of :func:`~skdistill.datasets.ltsf_split`,
        which starts ``L`` rows early so the first window has a full context).
    mean, scale : array-like of shape (C,)
        Scaler fitted on the training rows; errors are computed on ``(x - mean) / scale``.
    horizon : int
        Forecast length ``H``.
    batch : int, default=256
        Windows predicted at a time.

    Returns
    -------
    dict
        ``mse``, ``mae`` (floats, averaged over all windows, steps and channels) and
        ``n_windows``.

    Examples
    --------
    Any object with ``window_length`` and ``predict_windows`` is scored; here one that
    repeats the last row of each context, on a series rising by 2 a row:

    >>> import numpy as np
    >>> from skdistill.metrics import evaluate_windows
    >>> class Persistence:
    ...     window_length = 4
    ...     def predict_windows(self, contexts):
    ...         return np.repeat(contexts[:, -1:], 2, axis=1)
    >>> values = np.arange(20.0).reshape(10, 2)
    >>> evaluate_windows(Persistence(), values, slice(0, 10), [0, 0], [1, 1], horizon=2)
    {'mse': 10.0, 'mae': 3.0, 'n_windows': 5}

    For a fitted skdistill forecaster on a dataset of the benchmark, score the test rows of
    :func:`~skdistill.datasets.ltsf_split` with the scaler the forecaster fitted on its
    training rows: ``evaluate_windows(f, df.to_numpy(), test, f.scaler_mean_,
    f.scaler_scale_, H)``.
    """
    values = np.asarray(values, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    if not isinstance(rows, slice) or rows.step not in (None, 1):
        raise ValueError(f"rows must be a slice with step 1; got {rows!r}.")
    start, stop, _ = rows.indices(len(values))
    L, H = int(forecaster.window_length), int(horizon)
    sq_sum = abs_sum = 0.0
    n_values = n_windows = 0
    for contexts, targets in iter_windows(values, start, stop, L, H, batch):
        pred = np.asarray(forecaster.predict_windows(contexts), dtype=np.float64)
        if pred.shape != targets.shape:
            raise ValueError(
                f"predict_windows returned shape {pred.shape}, expected {targets.shape}: fit the "
                f"forecaster with fh = 1..{H}."
            )
        # Both sides standardised with the same scaler: the mean cancels in the error.
        err = (pred - targets) / scale
        sq_sum += float(np.square(err).sum())
        abs_sum += float(np.abs(err).sum())
        n_values += err.size
        n_windows += len(err)
    return {"mse": sq_sum / n_values, "mae": abs_sum / n_values, "n_windows": n_windows}


def latency_ms(forecaster, contexts, repeats: int = 30, warmup: int = 5) -> dict:
    """Median wall time of the fitted network's forward pass on one batch of contexts.

    Times the pure torch module (``forecaster._student_module()``) in eval mode under
    ``no_grad`` on standardised float32 input already on ``forecaster.net_.device``: what
    ``predict_windows`` costs without the numpy conversions. Torch's thread settings are
    left as they are.

    Parameters
    ----------
    forecaster : fitted skdistill deep forecaster
    contexts : array-like of shape (n, L, C)
        Contexts in the units of ``y`` (32 windows for the usual "ms per 32 windows").
    repeats : int, default=30
        Timed forward passes; the median is reported.
    warmup : int, default=5
        Untimed passes first (allocator, kernels, caches).

    Returns
    -------
    dict
        ``ms`` (median milliseconds per forward of the whole batch), ``min_ms``, ``repeats``,
        ``n_windows`` and ``device``.
    """
    # One model timed alone is the interleaved measurement with a single model.
    return interleaved_latency_ms({"model": forecaster}, contexts, repeats, warmup)["model"]


def interleaved_latency_ms(
    forecasters: dict, contexts, repeats: int = 31, warmup: int = 3
) -> dict[str, dict]:
    """Median forward-pass times of several fitted forecasters, measured interleaved.

    One round times each network once on the same batch, in turn, so that a burst of load
    on a shared machine slows every model alike instead of whichever was being timed; the
    median over ``repeats`` rounds is reported per model. Otherwise as :func:`latency_ms`
    (pure torch forward, eval mode, ``no_grad``, standardised float32 input on the model's
    device, torch's thread settings as they are).

    Returns
    -------
    dict
        Per name: ``ms`` (median), ``min_ms``, ``repeats``, ``n_windows``, ``device``.
    """
    import torch

    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0; got {repeats}, {warmup}.")
    contexts = np.asarray(contexts, dtype=np.float64)
    if contexts.ndim != 3:
        raise ValueError(f"contexts must be 3-D (n, L, C); got shape {contexts.shape}.")
    was_training = {name: f._student_module().training for name, f in forecasters.items()}
    runs = {}
    for name, f in forecasters.items():
        device = torch.device(f.net_.device)
        z = (contexts - f.scaler_mean_) / f.scaler_scale_
        runs[name] = (
            f._student_module().eval(),
            torch.as_tensor(z, dtype=torch.float32, device=device),
            device,
        )
    times: dict[str, list[float]] = {name: [] for name in runs}
    try:
        with torch.no_grad():
            for _ in range(warmup):
                for module, x, _device in runs.values():
                    module(x)
            for r in range(repeats):
                names = list(runs)
                # Rotate the order too: no model is always timed right after the same one.
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    module, x, device = runs[name]
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    t0 = time.perf_counter()
                    module(x)
                    if device.type == "cuda":  # asynchronous kernels: wait for them
                        torch.cuda.synchronize(device)
                    times[name].append(1000.0 * (time.perf_counter() - t0))
    finally:
        for name, (module, _x, _device) in runs.items():
            module.train(was_training[name])
    return {
        name: {
            "ms": float(np.median(t)),
            "min_ms": float(np.min(t)),
            "repeats": repeats,
            "n_windows": len(contexts),
            "device": str(runs[name][2]),
        }
        for name, t in times.items()
    }
