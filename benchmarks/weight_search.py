"""What a grid search over the loss weights costs, with and without ``memory``.

``ForecastingGridSearchCV`` over 6 (alpha, beta) pairs x 3 expanding folds of ETTh1's
training rows (look-back 336, horizon 96), the teacher an iTransformer fitted inside each
``fit``: once without ``memory`` (the teacher refitted for every candidate and fold), once
with ``memory`` a fresh temporary folder (fitted once per fold and for the refit), back to
back in this process, sequential backend. Prints each search's wall time, the ratio, the
number of teacher fits with ``memory`` (the cache's entries) and whether both searches chose
the same weights and predict the same; writes a JSON record.

Run from the repository root::

    python benchmarks/weight_search.py                    # teacher 2 epochs, students 2 epochs
    python benchmarks/weight_search.py --teacher-defaults   # the teacher's own schedule

The ratio depends on how much of a fit the teacher is: with the defaults above the teacher's
fit is a minority of the work, with realistic schedules it dominates. This is a script that
prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher-epochs", type=int, default=2)
    parser.add_argument(
        "--teacher-defaults",
        action="store_true",
        help="the iTransformer at its defaults (at most 10 epochs, patience 3) instead of "
        "--teacher-epochs without early stopping",
    )
    parser.add_argument("--student-epochs", type=int, default=2)
    parser.add_argument("--window-length", type=int, default=336)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", default="benchmarks/results/weight_search.json")
    args = parser.parse_args()

    import torch
    from sktime.forecasting.model_selection import ForecastingGridSearchCV
    from sktime.split import ExpandingWindowSplitter

    from skdistill.datasets import load_ltsf
    from skdistill.forecasting import DistilledMLPForecaster, ITransformerForecaster

    torch.set_num_threads(args.threads)
    H, L = 96, args.window_length
    y = load_ltsf("ETTh1").iloc[:8640]  # the protocol's training rows
    fh = list(range(1, H + 1))
    cv = ExpandingWindowSplitter(initial_window=5000, step_length=1200, fh=fh)
    grid = {"alpha": [0.5, 1.0, 2.0], "beta": [0.5, 2.0]}

    def search(memory):
        schedule = (
            {} if args.teacher_defaults else {"max_epochs": args.teacher_epochs, "patience": None}
        )
        teacher = ITransformerForecaster(window_length=L, verbose=0, **schedule)
        student = DistilledMLPForecaster(
            teacher=teacher,
            window_length=L,
            max_epochs=args.student_epochs,
            patience=None,
            random_state=0,
            verbose=0,
            memory=memory,
        )
        gs = ForecastingGridSearchCV(student, cv=cv, param_grid=grid, backend=None)
        gs.set_config(remember_data=True)  # explicit: sktime 1.3 changes the default
        t0 = time.perf_counter()
        gs.fit(y, fh=fh)
        return gs, time.perf_counter() - t0

    n_folds = cv.get_n_splits(y)
    print(f"{len(grid['alpha']) * len(grid['beta'])} candidates x {n_folds} folds, L={L}, H={H}")
    plain, t_plain = search(None)
    print(f"without memory: {t_plain:.0f} s, best {plain.best_params_}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        cached, t_cached = search(folder)
        # Teacher fits only (the teacher's remembered outputs are entries of another function).
        entries = sum("_fit_clone" in p.parts for p in Path(folder).rglob("output.pkl"))
    print(f"with memory:    {t_cached:.0f} s, best {cached.best_params_}, teacher fits {entries}")
    same = bool(np.allclose(plain.predict(fh=fh), cached.predict(fh=fh)))
    print(
        f"ratio {t_cached / t_plain:.2f}; same choice {plain.best_params_ == cached.best_params_}"
        f"; same forecasts {same}"
    )
    record = {
        "candidates": len(grid["alpha"]) * len(grid["beta"]),
        "folds": n_folds,
        "window_length": L,
        "teacher_epochs": "defaults (<= 10, patience 3)"
        if args.teacher_defaults
        else args.teacher_epochs,
        "student_epochs": args.student_epochs,
        "threads": args.threads,
        "seconds_without_memory": t_plain,
        "seconds_with_memory": t_cached,
        "ratio": t_cached / t_plain,
        "teacher_fits_with_memory": entries,
        "same_choice": plain.best_params_ == cached.best_params_,
        "same_forecasts": same,
        "load_average": os.getloadavg(),
        "machine": platform.processor() or platform.machine(),
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(record, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
