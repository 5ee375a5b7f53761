"""``skdistill demo``: distil a teacher (iTransformer by default) into an MLP on the bundled ETTh1.

Three models are trained under the standard protocol (look-back L, horizon H, train rows
``[0, 8640)``, validation windows targeting ``[8640, 11520)``, test rows of
:func:`~skdistill.datasets.ltsf_split`): an iTransformer teacher, the DMLP student alone, and
the student distilled from the teacher (TimeDistill, alpha = beta = 2, the ETTh1 reference
weights). The demo prints one comparison table and writes ``results.json`` and
``forecast.png``. Schedules are short so that it runs in minutes on a laptop CPU; the
numbers are a demonstration, not the published ones (those need up to 100 epochs).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from skdistill.benchmarks._registry import TEACHERS, teacher_class

_DATASET = "ETTh1"
_FIT_END = 11520  # train + validation rows of the ETTh protocol
_VALIDATION_ROWS = 2880  # 11520 - 8640: the validation rows of the ETTh protocol
_TARGET = "OT"
_LATENCY_WINDOWS = 32
_QUICK = {"window_length": 96, "horizon": 24, "epochs": 2, "teacher_epochs": 1}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``skdistill demo``."""
    parser.add_argument("--window-length", type=int, default=720, help="look-back L (720)")
    parser.add_argument("--horizon", type=int, default=96, help="forecast horizon H (96)")
    parser.add_argument("--epochs", type=int, default=6, help="epochs of both MLPs (6)")
    parser.add_argument(
        "--teacher",
        default="itransformer",
        choices=sorted(TEACHERS),
        help="the teacher forecaster (itransformer)",
    )
    parser.add_argument("--teacher-epochs", type=int, default=3, help="epochs of the teacher (3)")
    parser.add_argument("--seed", type=int, default=0, help="random_state of every model (0)")
    parser.add_argument(
        "--output-dir",
        default="skdistill_output",
        help="where results.json and forecast.png go (skdistill_output)",
    )
    parser.add_argument(
        "--device", default="cpu", choices=("cpu", "cuda", "auto"), help="torch device (cpu)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run in well under a minute: L=96, H=24, 2 epochs, 1 teacher epoch "
        "(overrides those options)",
    )


def _versions() -> dict:
    out = {}
    for name in ("skdistill", "torch", "sktime", "skorch", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _machine() -> dict:
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }


def _settings(args: argparse.Namespace) -> dict:
    settings = {
        "dataset": _DATASET,
        "window_length": args.window_length,
        "horizon": args.horizon,
        "epochs": args.epochs,
        "teacher_epochs": args.teacher_epochs,
        "seed": args.seed,
        "device": args.device,
        "teacher": getattr(args, "teacher", "itransformer"),
        "quick": bool(args.quick),
    }
    if args.quick:
        settings.update(_QUICK)
    for key in ("window_length", "horizon", "epochs", "teacher_epochs"):
        if settings[key] < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be >= 1; got {settings[key]}.")
    return settings


def _format_table(rows: list[dict]) -> str:
    header = [
        "model",
        "params",
        "test MSE",
        "test MAE",
        "latency ms/32 windows",
        "speed-up vs teacher",
    ]
    body = [
        [
            r["model"],
            f"{r['params']:,}",
            f"{r['mse']:.4f}",
            f"{r['mae']:.4f}",
            f"{r['latency_ms']:.2f}",
            f"{r['speedup']:.2f}x",
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "| " + " | ".join([first, *rest]) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(b) for b in body)])


def _plot(path: Path, y, test: slice, L: int, H: int, forecasts: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    col = list(y.columns).index(_TARGET)
    series = y.to_numpy()[:, col]
    origin = test.start + L  # first forecast row of the first test window
    n_context = min(L, 2 * H)
    steps_ctx = np.arange(-n_context, 0)
    steps = np.arange(H)
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(steps_ctx, series[origin - n_context : origin], color="0.55", label="context")
    ax.plot(steps, series[origin : origin + H], color="black", lw=2, label="truth")
    styles = {"MLP alone": ":", "MLP distilled": "-"}
    for name, pred in forecasts.items():
        ax.plot(steps, pred[:, col], ls=styles.get(name, "--"), lw=1.6, label=name)
    ax.axvline(-0.5, color="0.8", lw=1)
    ax.set_xlabel(f"hours from the forecast origin ({y.index[origin]})")
    ax.set_ylabel(f"{_TARGET} (oil temperature)")
    ax.set_title(f"{_DATASET}, first test window: look-back {L}, horizon {H}")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _fit_models(settings: dict, y_fit, fh, common: dict, say) -> tuple[dict, dict]:
    """The teacher, the MLP alone and the distilled MLP, fitted in that order; their fit
    seconds."""
    from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster

    models: dict[str, object] = {}
    fit_seconds: dict[str, float] = {}

    def fit(name: str, forecaster, n_epochs: int):
        say(f"training {name} ({type(forecaster).__name__}, up to {n_epochs} epochs) ...")
        t0 = time.perf_counter()
        forecaster.fit(y_fit, fh=fh)
        fit_seconds[name] = time.perf_counter() - t0
        n_done = len(forecaster.history_)
        say(f"  done in {fit_seconds[name]:.1f} s ({n_done} epochs)")
        models[name] = forecaster
        return forecaster

    epochs, teacher_epochs = settings["epochs"], settings["teacher_epochs"]
    name = settings["teacher"]
    teacher = fit(
        f"{TEACHERS[name].label} (teacher)",
        teacher_class(name)(max_epochs=teacher_epochs, **common),
        teacher_epochs,
    )
    fit("MLP alone", MLPForecaster(max_epochs=epochs, **common), epochs)
    fit(
        "MLP distilled",
        DistilledMLPForecaster(teacher=teacher, alpha=2.0, beta=2.0, max_epochs=epochs, **common),
        epochs,
    )
    return models, fit_seconds


def _evaluate(models: dict, fit_seconds: dict, values, test: slice, scaler, H: int, contexts):
    """One row per model: test metrics on the ``scaler = (mean, scale)`` scale, latency, size
    and schedule, and its speed-up over the first model (the teacher)."""
    from skdistill._evaluation import evaluate_windows, latency_ms

    rows = []
    for name, f in models.items():
        metrics = evaluate_windows(f, values, test, *scaler, H)
        lat = latency_ms(f, contexts)
        rows.append(
            {
                "model": name,
                "class": type(f).__name__,
                "params": int(f.n_parameters()),
                "mse": metrics["mse"],
                "mae": metrics["mae"],
                "n_test_windows": metrics["n_windows"],
                "latency_ms": lat["ms"],
                "latency_min_ms": lat["min_ms"],
                "latency_repeats": lat["repeats"],
                "latency_device": lat["device"],
                "fit_seconds": fit_seconds[name],
                "epochs_run": len(f.history_),
                "best_valid_mse": float(min(f.history_[:, "valid_loss"])),
            }
        )
    teacher_ms = rows[0]["latency_ms"]
    for r in rows:
        r["speedup"] = teacher_ms / r["latency_ms"]
    return rows


def _print_comparison(rows: list[dict]) -> dict:
    """Print the table and the distilled-vs-alone change; return that change in percent."""
    by_name = {r["model"]: r for r in rows}
    alone, distilled = by_name["MLP alone"], by_name["MLP distilled"]
    improvement = {
        "mse_pct": 100.0 * (alone["mse"] - distilled["mse"]) / alone["mse"],
        "mae_pct": 100.0 * (alone["mae"] - distilled["mae"]) / alone["mae"],
    }
    print()
    print(_format_table(rows))
    print(
        f"\nDistilled MLP vs MLP alone: test MSE {improvement['mse_pct']:+.1f}%, "
        f"MAE {improvement['mae_pct']:+.1f}% better (positive = distillation helped)."
    )
    print(
        f"Latency: median of {rows[0]['latency_repeats']} forward passes of 32 windows on "
        f"{rows[0]['latency_device']}, torch threads {_machine()['torch_threads']}."
    )
    return improvement


def _results(settings, train, test, rows, improvement, distilled, wall, plot_path) -> dict:
    """What ``results.json`` holds."""
    return {
        "settings": settings,
        "protocol": {
            "fit_rows": [0, _FIT_END],
            "train_rows": [train.start, train.stop],
            "validation_size": _VALIDATION_ROWS,
            "test_rows": [test.start, test.stop],
            "metrics": "MSE/MAE on data standardised with the train-rows scaler, "
            "averaged over all stride-1 test windows, steps and channels",
        },
        "models": rows,
        "distillation": {
            "alpha": 2.0,
            "beta": 2.0,
            "teacher_cached": bool(getattr(distilled, "teacher_cached_", False)),
        },
        "improvement_distilled_vs_mlp": improvement,
        "versions": _versions(),
        "machine": _machine(),
        "wall_seconds": wall,
        "plot": str(plot_path),
    }


def run(args: argparse.Namespace) -> int:
    """Train the three models, print the comparison, write ``results.json`` and the plot."""
    t_start = time.perf_counter()
    settings = _settings(args)
    L, H = settings["window_length"], settings["horizon"]
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - t_start:7.1f} s] {message}", flush=True)

    from sktime.forecasting.base import ForecastingHorizon

    from skdistill.benchmarks._common import first_windows
    from skdistill.datasets import load_ltsf, ltsf_split

    y = load_ltsf(_DATASET)
    train, _, test = ltsf_split(_DATASET, len(y), L)
    values = y.to_numpy(dtype=np.float64)
    # The protocol's scaler: population statistics of the training rows only.
    mean = values[train].mean(axis=0)
    scale = values[train].std(axis=0)
    fh = ForecastingHorizon(np.arange(1, H + 1), is_relative=True)
    common = {
        "window_length": L,
        "validation_size": _VALIDATION_ROWS,
        "device": args.device,
        "random_state": settings["seed"],
    }
    say(
        f"{_DATASET}: {len(y)} rows x {y.shape[1]} channels; fit on rows [0, {_FIT_END}) "
        f"(train [0, {train.stop}), validation targets [{train.stop}, {_FIT_END})), "
        f"test rows [{test.start}, {test.stop}); L={L}, H={H}"
    )
    models, fit_seconds = _fit_models(settings, y.iloc[:_FIT_END], fh, common, say)
    for f in models.values():
        # The forecasters standardise with the same rows: metrics are on their scale.
        np.testing.assert_allclose(f.scaler_mean_, mean, rtol=1e-10)

    say(f"evaluating on the {test.stop - test.start - L - H + 1} test windows ...")
    contexts = first_windows(values, test.start, L, _LATENCY_WINDOWS)
    rows = _evaluate(models, fit_seconds, values, test, (mean, scale), H, contexts)
    improvement = _print_comparison(rows)

    forecasts = {name: f.predict_windows(contexts[:1])[0] for name, f in models.items()}
    plot_path = out_dir / "forecast.png"
    _plot(plot_path, y, test, L, H, forecasts)

    wall = time.perf_counter() - t_start
    results = _results(
        settings, train, test, rows, improvement, models["MLP distilled"], wall, plot_path
    )
    if not all(math.isfinite(r["mse"]) and math.isfinite(r["mae"]) for r in rows):
        print("warning: a model produced non-finite errors.")
    json_path = out_dir / "results.json"
    json_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    say(f"wrote {json_path} and {plot_path}")
    return 0
