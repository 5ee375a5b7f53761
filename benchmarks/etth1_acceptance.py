"""Acceptance run of TimeDistill on ETTh1 (standard protocol, look-back 720, horizon 96).

Trains the default iTransformer teacher, the MLP alone and the distilled MLP (alpha = beta = 2)
with their default schedules, and prints test MSE / MAE on standardised data, parameter counts and
the inference latency for a batch of 32 windows. Writes a JSON record next to ``--output``.

    python benchmarks/etth1_acceptance.py --output benchmarks_output/etth1_h96.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import skdistill.forecasting as forecasting
from skdistill import __version__
from skdistill._evaluation import evaluate_windows, latency_ms
from skdistill.datasets import load_ltsf, ltsf_split
from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster

_TEACHERS = {
    "itransformer": "ITransformerForecaster",
    "patchtst": "PatchTSTForecaster",
    "moderntcn": "ModernTCNForecaster",
    "timemixer": "TimeMixerForecaster",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window-length", type=int, default=720)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--alpha", type=float, default=2.0)
    parser.add_argument("--beta", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--teacher", default="itransformer",
        choices=("itransformer", "patchtst", "moderntcn", "timemixer"),
    )
    parser.add_argument("--teacher-epochs", type=int, default=None,
                        help="cap the teacher's max_epochs (default: its own)")
    parser.add_argument("--student", default="dmlp", choices=("dmlp", "tsmixer", "lightts"))
    parser.add_argument("--output", default="benchmarks_output/etth1_acceptance.json")
    args = parser.parse_args()
    L, H = args.window_length, args.horizon

    df = load_ltsf("ETTh1")
    values = df.to_numpy()
    train, val, test = ltsf_split("ETTh1", len(df), L)
    y = df.iloc[: val.stop]
    n_val = val.stop - train.stop
    fh = range(1, H + 1)
    common = dict(window_length=L, validation_size=n_val, random_state=args.seed, verbose=1)

    models = {}
    timings = {}
    t0 = time.perf_counter()
    teacher_kw = {} if args.teacher_epochs is None else {"max_epochs": args.teacher_epochs}
    teacher = getattr(forecasting, _TEACHERS[args.teacher])(**common, **teacher_kw).fit(y, fh=fh)
    timings["teacher"] = time.perf_counter() - t0
    models[f"{args.teacher} (teacher)"] = teacher
    t0 = time.perf_counter()
    models["MLP alone"] = MLPForecaster(**common).fit(y, fh=fh)
    timings["mlp"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    models[f"TimeDistill {args.student}"] = DistilledMLPForecaster(
        teacher, alpha=args.alpha, beta=args.beta, student=args.student, **common
    ).fit(y, fh=fh)
    timings["distilled"] = time.perf_counter() - t0

    mean, scale = models["MLP alone"].scaler_mean_, models["MLP alone"].scaler_scale_
    assert np.allclose(mean, values[train].mean(axis=0))
    contexts = np.stack([values[test.start + i : test.start + i + L] for i in range(32)])
    rows = []
    for name, model in models.items():
        metrics = evaluate_windows(model, values, test, mean, scale, H)
        lat = latency_ms(model, contexts)
        rows.append(
            {
                "model": name,
                "params": model.n_parameters(),
                "mse": metrics["mse"],
                "mae": metrics["mae"],
                "n_windows": metrics["n_windows"],
                "latency_ms": lat["ms"],
                "epochs": len(model.history_),
            }
        )
    teacher_lat = rows[0]["latency_ms"]
    print(f"\nETTh1, L={L}, H={H}, test windows: {rows[0]['n_windows']}")
    print(f"{'model':<24}{'params':>10}{'MSE':>9}{'MAE':>9}{'ms/32':>9}{'speed-up':>10}{'epochs':>8}")
    for r in rows:
        print(
            f"{r['model']:<24}{r['params']:>10,}{r['mse']:>9.4f}{r['mae']:>9.4f}"
            f"{r['latency_ms']:>9.2f}{teacher_lat / r['latency_ms']:>9.1f}x{r['epochs']:>8}"
        )
    gain = 100 * (rows[1]["mse"] - rows[2]["mse"]) / rows[1]["mse"]
    print(f"distilled vs MLP alone: {gain:+.1f}% MSE; fit seconds: {timings}")
    record = {
        "settings": vars(args),
        "rows": rows,
        "fit_seconds": timings,
        "versions": {"skdistill": __version__, "torch": torch.__version__},
        "machine": {"platform": platform.platform(), "threads": torch.get_num_threads()},
    }
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
