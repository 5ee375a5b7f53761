"""Cost of a generic (any sktime forecaster) teacher's forecasts for every training window.

ETTh1, look-back 720, horizon 96, the LTSF protocol's training windows (7,825). Prints:

- NaiveForecaster("last") for all training windows (numpy closed form, verified against sktime
  window by window in ``tests/test_generic_teacher.py``), median of 5 runs;
- the generic path (a copy of the fitted teacher per window, ``update`` + ``predict``) for
  TrendForecaster on a sample of windows, serial and with sktime's ``loky`` backend on 2 jobs,
  as seconds per window and extrapolated to all windows;
- the same generic path on NaiveForecaster, for the closed form's speed-up.

Run from the repository root::

    python benchmarks/generic_teacher.py [--sample 200]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
import warnings

import numpy as np
from sktime.forecasting.naive import NaiveForecaster


class Uncovered(NaiveForecaster):
    """NaiveForecaster's forecasts, but not its exact class: takes the generic path."""


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=200, help="windows for the generic path")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", FutureWarning)  # sktime's remember_data notice

    from sktime.forecasting.trend import TrendForecaster

    from skdistill.datasets import load_ltsf, ltsf_split
    from skdistill.forecasting import _generic_teacher as gt

    L, H = 720, 96
    y = load_ltsf("ETTh1")
    train, _, _ = ltsf_split("ETTh1", len(y), L)
    fit_rows = y.iloc[train]
    starts = np.arange(len(fit_rows) - L - H + 1)
    fh = list(range(1, H + 1))
    record: dict = {"windows": len(starts), "channels": y.shape[1]}

    naive = NaiveForecaster(strategy="last").fit(fit_rows, fh=fh)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        out = gt.window_forecasts(naive, fit_rows, starts, L, H)
        times.append(time.perf_counter() - t0)
    record["naive_all_windows_s"] = statistics.median(times)
    print(
        f"NaiveForecaster, all {len(starts)} windows: {record['naive_all_windows_s']:.3f} s "
        f"(median of 5; output {out.shape})"
    )

    sample = starts[:: max(1, len(starts) // args.sample)][: args.sample]

    # Tasks of a few windows each, so that the sample spreads over both workers.
    gt.CHUNK = max(1, len(sample) // 8)
    for name, teacher in (
        ("TrendForecaster", TrendForecaster().fit(fit_rows, fh=fh)),
        ("NaiveForecaster via the generic path", Uncovered(strategy="last").fit(fit_rows, fh=fh)),
    ):
        # A class defined in a script cannot be unpickled by loky's workers: serial only.
        for backend in (None, "loky") if name == "TrendForecaster" else (None,):
            t = copy.deepcopy(teacher)
            if backend:
                t.set_config(
                    **{"backend:parallel": backend, "backend:parallel:params": {"n_jobs": 2}}
                )
            t0 = time.perf_counter()
            gt.window_forecasts(t, fit_rows, sample, L, H)
            per = (time.perf_counter() - t0) / len(sample)
            key = f"{name} [{backend or 'serial'}]"
            record[key] = per
            print(f"{key}: {1000 * per:.1f} ms a window -> {per * len(starts):.0f} s for all")
    return record


if __name__ == "__main__":
    main()
