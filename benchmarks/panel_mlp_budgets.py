"""Where the global model's accuracy goes on Weather: the MLP alone, global against per series.

Run from the repository root (after ``benchmarks/panels.py``, whose panel and protocol it
reuses: the last 8,000 rows of Weather's 21 variables as 21 series, L = H = 96)::

    python benchmarks/panel_mlp_budgets.py

Three fits of the DMLP student alone, at most 10 epochs with patience 3 each, one torch thread:
a global model at batch size 256, a global model at batch size 32, and one model per series
(sktime's vectorisation, ``global_model=False``) at batch size 32. Printed per fit: the wall
time, and the standardised test MSE / MAE averaged over the series, with the median MSE over
the series (Weather's rain, wind and pressure series dominate the mean).

This is a script that prints numbers, not a test.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import panels as P  # noqa: E402

from skdistill.forecasting import MLPForecaster  # noqa: E402


def run(panel: P.Panel, name: str, global_model: bool, **params) -> None:
    model = MLPForecaster(**{**P.student_params(panel, (10, 3), global_model), **params})
    start = time.perf_counter()
    model.fit(panel.y_fit, fh=range(1, P.H + 1))
    seconds = time.perf_counter() - start
    if global_model:
        predict = P.global_predictor(model)
    else:  # sktime's per-series clones, one row of forecasters_ per series
        predict = P.per_series_predictor({k: model.forecasters_.loc[k].iloc[0] for k in panel.keys})
    s = P.score(panel, predict)
    median = float(np.median(list(s["per_series_mse"].values())))
    print(
        f"{name:22s} fit {seconds:7.1f} s  MSE {s['mse']:.4f}  MAE {s['mae']:.4f}  "
        f"median MSE {median:.4f}",
        flush=True,
    )


def main() -> None:
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(1)
    panel = P.weather_panel(8000, P.default_data_home(), None)
    run(panel, "global, batch 256", True, batch_size=256)
    run(panel, "global, batch 32", True)
    run(panel, "per series, batch 32", False)


if __name__ == "__main__":
    main()
