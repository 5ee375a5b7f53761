"""alpha="auto" against fixed weights and the student alone, with a stale or a strong teacher.

The stale teacher (default, issue 23's) is an ``MLPForecaster`` (L = 336) fitted on the first
1,500 rows of the series only, without a validation split (100 epochs, no early stopping):
stale for the rest and overfitted to its rows (ETTh1 test MSE 0.83 against the MLP alone's
0.40). ``--teacher stale-es`` is the same teacher early-stopped on the last 20 % of its rows
(ETTh1 test MSE 0.54): stale too, but still of some use. The strong one (``--teacher itransformer``) is an unfitted ``ITransformerForecaster``
that each distilled fit fits on its data, so that its fit is part of the cost. On each
dataset (the protocol's split: fit on train + validation rows, test MSE on the test
windows, standardised by the training rows): the MLP alone, the distilled MLP with fixed
weights (1, 1) and with ``alpha = beta = "auto"``, same seed and schedule. Prints test MSE,
the weights chosen, the fit times and the auto fit's time over the fixed one; writes a JSON
record.

Run from the repository root::

    python benchmarks/auto_weights.py                         # ETTh1, ETTh2, ETTm1
    python benchmarks/auto_weights.py --teacher stale-es --output benchmarks/results/auto_weights_stale_es.json
    python benchmarks/auto_weights.py --datasets ETTh1 --max-epochs 3   # smoke run
    python benchmarks/auto_weights.py --datasets ETTh1 --teacher itransformer   # strong teacher

This is a script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["ETTh1", "ETTh2", "ETTm1"])
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument(
        "--teacher",
        choices=("stale", "stale-es", "itransformer"),
        default="stale",
        help="stale: an MLP fitted on the first 1,500 rows without validation (100 epochs); "
        "stale-es: the same, early-stopped on 20%% of its rows; itransformer: an unfitted "
        "ITransformerForecaster fitted inside every distilled fit (a strong teacher)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--data-home", default="../shared/data", help="folder with the LTSF files (no download)"
    )
    parser.add_argument("--output", default="benchmarks/results/auto_weights.json")
    args = parser.parse_args()

    import torch
    from sktime.forecasting.base import ForecastingHorizon

    from skdistill.datasets import load_ltsf, ltsf_split
    from skdistill.exceptions import WeakTeacherWarning
    from skdistill.forecasting import DistilledMLPForecaster, ITransformerForecaster, MLPForecaster
    from skdistill.metrics import evaluate_windows

    torch.set_num_threads(args.threads)
    L, H = 336, 96
    records = []
    for name in args.datasets:
        # One per dataset: sktime sets a horizon's frequency from the first data it meets.
        fh = ForecastingHorizon(np.arange(1, H + 1), is_relative=True)
        y = load_ltsf(name, data_home=args.data_home, download=False)
        train, valid, test = ltsf_split(name, len(y), L)
        fit_rows = y.iloc[: valid.stop]
        common = dict(
            window_length=L,
            validation_size=valid.stop - train.stop,
            random_state=0,
            verbose=0,
            max_epochs=args.max_epochs,
        )
        values = y.to_numpy(dtype=np.float64)
        mean, scale = values[train].mean(axis=0), values[train].std(axis=0)
        rec = {"dataset": name, "teacher": args.teacher}
        if args.teacher.startswith("stale"):
            split = 0.2 if args.teacher == "stale-es" else None
            teacher = MLPForecaster(**{**common, "validation_size": split})
            teacher.fit(y.iloc[:1500].copy(), fh=fh)
            rec["teacher_test_mse"] = evaluate_windows(teacher, values, test, mean, scale, H)["mse"]
            print(f"{name} stale teacher test MSE {rec['teacher_test_mse']:.4f}", flush=True)
        else:
            teacher = ITransformerForecaster(window_length=L, random_state=0, verbose=0)
        models = {
            "MLP alone": MLPForecaster(**common),
            "fixed (1, 1)": DistilledMLPForecaster(teacher=teacher, alpha=1.0, beta=1.0, **common),
            # The defaults: alpha = beta = "auto".
            "auto": DistilledMLPForecaster(teacher=teacher, **common),
        }
        for label, model in models.items():
            t0 = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", WeakTeacherWarning)
                model.fit(fit_rows, fh=fh)
            seconds = time.perf_counter() - t0
            scores = evaluate_windows(model, values, test, mean, scale, H)
            rec[label] = {
                "test_mse": scores["mse"],
                "fit_s": seconds,
                "epochs": len(model.history_),
                "weights": [getattr(model, "alpha_", None), getattr(model, "beta_", None)],
                "valid_loss": model.valid_loss_,
                "teacher_valid_loss": getattr(model, "teacher_valid_loss_", None),
                "weak_teacher_warning": any(
                    issubclass(w.category, WeakTeacherWarning) for w in caught
                ),
                "search": getattr(model, "weight_search_", None),
            }
            print(
                f"{name} {label:<13} test MSE {scores['mse']:.4f}  fit {seconds:6.1f} s "
                f"({len(model.history_)} epochs)  weights {rec[label]['weights']}  "
                f"warned {rec[label]['weak_teacher_warning']}",
                flush=True,
            )
        base = rec["MLP alone"]["test_mse"]
        for label in ("fixed (1, 1)", "auto"):
            print(f"{name} {label}: {100 * (rec[label]['test_mse'] / base - 1):+.1f} % vs alone")
        print(
            f"{name} auto fit / fixed fit: {rec['auto']['fit_s'] / rec['fixed (1, 1)']['fit_s']:.2f}"
        )
        records.append(rec)
        # Written after every dataset: a long run that fails later keeps what it measured.
        out = {"records": records, "threads": args.threads, "load_average": os.getloadavg()}
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(out, indent=2, default=float))
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
