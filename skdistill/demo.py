"""``skdistill demo``: distil a heavy PatchTST teacher into an MLP on the bundled ETTh1.

Three models under the standard protocol (look-back L = 720, horizon H = 96, train rows
``[0, 8640)``, validation windows targeting ``[8640, 11520)``, test rows of
:func:`~skdistill.datasets.ltsf_split`): a PatchTST teacher, the DMLP student alone, and the
student distilled from the teacher (TimeDistill). Training the teacher is what takes long on
a CPU (about three minutes for its one epoch on two cores), so by default the demo loads the
teacher's weights from a file the package ships, written by this command's own
``--train-teacher --save-teacher PATH`` (weights only, loaded without unpickling code);
``--train-teacher`` trains it from scratch instead. The demo prints one comparison table
(test MSE/MAE on every stride-1 test window, parameters, latency measured interleaved) and
writes ``results.json`` and ``demo.png`` (accuracy against latency, and the forecasts of
the first test window).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

from skdistill.benchmarks._common import versions
from skdistill.benchmarks._registry import TEACHERS, bundled_teacher, teacher_class

_DATASET = "ETTh1"
_FIT_END = 11520  # train + validation rows of the ETTh protocol
_VALIDATION_ROWS = 2880  # 11520 - 8640: the validation rows of the ETTh protocol
_TARGET = "OT"
_LATENCY_WINDOWS = 32
_QUICK = {"window_length": 96, "horizon": 24, "epochs": 2, "teacher_epochs": 1}
#: How each teacher is trained when it is trained here (``--teacher-epochs`` sets the epochs)
#: and the distillation weights (alpha, beta): the spec's ETTh1 table where it has one.
_TEACHER_RECIPES = {
    "patchtst": ({"lr": 1e-3, "batch_size": 128}, (1.0, 1.0)),
    "itransformer": ({}, (2.0, 2.0)),
    "moderntcn": ({"lr": 5e-4, "batch_size": 128, "dims": 32, "ffn_ratio": 4}, (2.0, 2.0)),
    "timemixer": ({}, (1.0, 1.0)),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``skdistill demo``."""
    parser.add_argument("--window-length", type=int, default=720, help="look-back L (720)")
    parser.add_argument("--horizon", type=int, default=96, help="forecast horizon H (96)")
    parser.add_argument(
        "--epochs", type=int, default=6, help="at most this many epochs of both MLPs (6)"
    )
    parser.add_argument(
        "--teacher",
        default="patchtst",
        choices=sorted(TEACHERS),
        help="the teacher forecaster (patchtst)",
    )
    parser.add_argument(
        "--train-teacher",
        action="store_true",
        help="train the teacher here instead of loading the bundled PatchTST weights "
        "(always so for another teacher, L or H)",
    )
    parser.add_argument(
        "--teacher-epochs", type=int, default=1, help="epochs of a teacher trained here (1)"
    )
    parser.add_argument(
        "--save-teacher",
        metavar="PATH",
        default=None,
        help="write the teacher's weights to PATH (loadable with <Teacher>.from_weights)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random_state of every model (0)")
    parser.add_argument(
        "--output-dir",
        default="skdistill_output",
        help="where results.json and demo.png go (skdistill_output)",
    )
    parser.add_argument(
        "--device", default="cpu", choices=("cpu", "cuda", "auto"), help="torch device (cpu)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: the cores that are idle now, at least 1; see the docs)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: L=96, H=24, 2 epochs, a teacher trained for 1 epoch "
        "(overrides those options)",
    )


def _busy_cores(seconds: float = 0.5) -> float | None:
    """Cores the whole machine kept busy over ``seconds``, from ``/proc/stat`` (Linux), or
    None where that file does not exist."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
        return sum(ticks), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    return (os.cpu_count() or 1) * (1 - (idle1 - idle0) / total) if total > 0 else None


def idle_cores() -> int:
    """Cores not busy now, at least 1: the cores this process may use minus those busy over
    half a second (``/proc/stat``; elsewhere the 1-minute load average).

    Why: torch's threads wait for each other at every operation, and on a machine that other
    jobs keep busy a thread that is not scheduled stalls the rest. Measured on 2 cores at a
    load of 5, one MLP epoch took 112 s with torch's default 2 threads and 8.6 s with 1.
    The load average alone misleads in containers, which can report a load of 1 on an idle
    machine (seen on the 2-core CI machine: 180 s for the demo on 1 thread, 119 s on 2).
    """
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        n = os.cpu_count() or 1
    busy = _busy_cores()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except OSError:
            return n
    return max(1, min(n, n - round(busy)))


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
        "teacher": getattr(args, "teacher", "patchtst"),
        "quick": bool(args.quick),
    }
    if args.quick:
        settings.update(_QUICK)
    # The shipped teacher was written by ``skdistill demo --train-teacher --save-teacher``.
    path = bundled_teacher(
        _DATASET, settings["teacher"], settings["window_length"], settings["horizon"]
    )
    trained_here = getattr(args, "train_teacher", False) or path is None
    settings["teacher_weights"] = None if trained_here else path.name
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


def _plot(path: Path, y, test: slice, L: int, H: int, rows: list[dict], forecasts: dict) -> None:
    """Accuracy against latency for the three models, and their forecasts of the first
    test window (target channel)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig, (ax_cost, ax_fc) = plt.subplots(
        1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1, 1.6]}
    )
    colors = {"teacher": "tab:red", "MLP alone": "tab:gray", "MLP distilled": "tab:blue"}

    def color(name: str) -> str:
        return colors["teacher"] if "teacher" in name else colors.get(name, "tab:green")

    for r in rows:
        ax_cost.scatter(
            r["latency_ms"], r["mse"], s=30 + r["params"] / 2000, color=color(r["model"])
        )
        ax_cost.annotate(
            f"{r['model']}\n{r['params'] / 1e3:.0f}k params",
            (r["latency_ms"], r["mse"]),
            textcoords="offset points",
            xytext=(8, 4),
            fontsize=8,
        )
    ax_cost.set_xscale("log")
    ax_cost.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax_cost.xaxis.set_minor_formatter(NullFormatter())
    lo = min(r["latency_ms"] for r in rows)
    hi = max(r["latency_ms"] for r in rows)
    ax_cost.set_xlim(lo / 2, hi * 4)
    ax_cost.set_xlabel(f"latency, ms per {_LATENCY_WINDOWS} windows (log scale)")
    ax_cost.set_ylabel("test MSE (lower is better)")
    ax_cost.set_title("accuracy against inference cost")
    ax_cost.grid(alpha=0.3)

    col = list(y.columns).index(_TARGET)
    series = y.to_numpy()[:, col]
    origin = test.start + L  # first forecast row of the first test window
    n_context = min(L, 2 * H)
    ax_fc.plot(
        np.arange(-n_context, 0), series[origin - n_context : origin], color="0.6", label="context"
    )
    steps = np.arange(H)
    ax_fc.plot(steps, series[origin : origin + H], color="black", lw=2, label="truth")
    for name, pred in forecasts.items():
        ax_fc.plot(
            steps,
            pred[:, col],
            lw=1.6,
            color=color(name),
            label=name,
            ls=":" if name == "MLP alone" else "-",
        )
    ax_fc.axvline(-0.5, color="0.8", lw=1)
    ax_fc.set_xlabel(f"hours from the forecast origin ({y.index[origin]})")
    ax_fc.set_ylabel(f"{_TARGET} (oil temperature)")
    ax_fc.set_title(f"{_DATASET}, first test window: look-back {L}, horizon {H}")
    ax_fc.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _teacher(settings: dict, y_fit, fh, common: dict, say):
    """The teacher: loaded from the bundled weights, or trained here."""
    name = settings["teacher"]
    cls = teacher_class(name)
    label = f"{TEACHERS[name].label} (teacher)"
    if settings["teacher_weights"] is not None:
        path = bundled_teacher(_DATASET, name, settings["window_length"], settings["horizon"])
        say(f"loading {label} weights from the package ({path.name}; --train-teacher retrains) ...")
        t0 = time.perf_counter()
        teacher = cls.from_weights(path, y_fit, **common)
        return label, teacher, time.perf_counter() - t0, "loaded"
    recipe, _ = _TEACHER_RECIPES[name]
    n_epochs = settings["teacher_epochs"]
    say(f"training {label} ({cls.__name__}, {n_epochs} epoch(s)) ...")
    t0 = time.perf_counter()
    teacher = cls(max_epochs=n_epochs, **recipe, **common).fit(y_fit, fh=fh)
    seconds = time.perf_counter() - t0
    say(f"  done in {seconds:.1f} s")
    return label, teacher, seconds, "trained"


def _fit_models(settings: dict, y_fit, fh, common: dict, say) -> tuple[dict, dict, str]:
    """The teacher, the MLP alone and the distilled MLP, in that order; their fit seconds;
    whether the teacher was loaded or trained."""
    from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster

    label, teacher, seconds, origin = _teacher(settings, y_fit, fh, common, say)
    models: dict[str, object] = {label: teacher}
    fit_seconds: dict[str, float] = {label: seconds}
    epochs = settings["epochs"]
    alpha, beta = _TEACHER_RECIPES[settings["teacher"]][1]
    students = {
        "MLP alone": MLPForecaster(max_epochs=epochs, **common),
        "MLP distilled": DistilledMLPForecaster(
            teacher=teacher, alpha=alpha, beta=beta, max_epochs=epochs, **common
        ),
    }
    for name, forecaster in students.items():
        say(f"training {name} ({type(forecaster).__name__}, at most {epochs} epochs) ...")
        t0 = time.perf_counter()
        forecaster.fit(y_fit, fh=fh)
        fit_seconds[name] = time.perf_counter() - t0
        say(f"  done in {fit_seconds[name]:.1f} s ({len(forecaster.history_)} epochs)")
        models[name] = forecaster
    return models, fit_seconds, origin


def _evaluate(models: dict, fit_seconds: dict, values, test: slice, scaler, H: int, contexts):
    """One row per model: test metrics on the ``scaler = (mean, scale)`` scale, latency
    (interleaved), size and schedule, and its speed-up over the first model (the teacher)."""
    from skdistill._evaluation import evaluate_windows, interleaved_latency_ms

    latency = interleaved_latency_ms(models, contexts)
    rows = []
    for name, f in models.items():
        metrics = evaluate_windows(f, values, test, *scaler, H)
        history = f.history_
        rows.append(
            {
                "model": name,
                "class": type(f).__name__,
                "params": int(f.n_parameters()),
                "mse": metrics["mse"],
                "mae": metrics["mae"],
                "n_test_windows": metrics["n_windows"],
                "latency_ms": latency[name]["ms"],
                "latency_min_ms": latency[name]["min_ms"],
                "latency_repeats": latency[name]["repeats"],
                "latency_device": latency[name]["device"],
                "fit_seconds": fit_seconds[name],
                "epochs_run": len(history),
                "best_valid_mse": float(min(history[:, "valid_loss"])) if len(history) else None,
            }
        )
    teacher_ms = rows[0]["latency_ms"]
    for r in rows:
        r["speedup"] = teacher_ms / r["latency_ms"]
    return rows


def _print_comparison(rows: list[dict]) -> dict:
    """Print the table and what it shows; return the distilled student's changes in percent."""
    teacher, alone, distilled = rows
    improvement = {
        "mse_pct": 100.0 * (alone["mse"] - distilled["mse"]) / alone["mse"],
        "mae_pct": 100.0 * (alone["mae"] - distilled["mae"]) / alone["mae"],
        "mse_vs_teacher_pct": 100.0 * (teacher["mse"] - distilled["mse"]) / teacher["mse"],
    }
    print()
    print(_format_table(rows))
    print(
        f"\nThe distilled MLP forecasts {distilled['speedup']:.1f}x faster than its teacher "
        f"({distilled['latency_ms']:.1f} against {teacher['latency_ms']:.1f} ms per "
        f"{_LATENCY_WINDOWS} windows); its test MSE is {abs(improvement['mse_vs_teacher_pct']):.1f}% "
        f"{'below' if improvement['mse_vs_teacher_pct'] >= 0 else 'ABOVE'} the teacher's and "
        f"{abs(improvement['mse_pct']):.1f}% "
        f"{'below' if improvement['mse_pct'] >= 0 else 'ABOVE'} the MLP trained alone's "
        f"(MAE {improvement['mae_pct']:+.1f}% against the MLP alone; positive = better)."
    )
    print(
        f"Latency: median of {teacher['latency_repeats']} interleaved forward passes of "
        f"{_LATENCY_WINDOWS} windows each on {teacher['latency_device']}, torch threads "
        f"{_machine()['torch_threads']}."
    )
    return improvement


def _results(settings, train, test, rows, improvement, distilled, wall, plot_path, origin) -> dict:
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
        "teacher": origin,
        "models": rows,
        "distillation": {
            "alpha": float(distilled.alpha_),
            "beta": float(distilled.beta_),
            "teacher_cached": bool(getattr(distilled, "teacher_cached_", False)),
        },
        "improvement_distilled_vs_mlp": improvement,
        "versions": versions(),
        "machine": _machine(),
        "wall_seconds": wall,
        "plot": str(plot_path),
    }


def run(args: argparse.Namespace) -> int:
    """Get the three models, print the comparison, write ``results.json`` and the plot."""
    import torch

    settings = _settings(args)
    threads = getattr(args, "threads", None)
    if threads is not None and threads < 1:
        raise ValueError(f"--threads must be >= 1; got {threads}.")
    settings["threads"] = threads or min(idle_cores(), torch.get_num_threads())
    before = torch.get_num_threads()
    torch.set_num_threads(settings["threads"])
    try:
        return _run(args, settings)
    finally:
        torch.set_num_threads(before)


def _run(args: argparse.Namespace, settings: dict) -> int:
    t_start = time.perf_counter()
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
    say(f"torch threads: {settings['threads']} (of {os.cpu_count()} cores; --threads sets it)")
    say(
        f"{_DATASET}: {len(y)} rows x {y.shape[1]} channels; fit on rows [0, {_FIT_END}) "
        f"(train [0, {train.stop}), validation targets [{train.stop}, {_FIT_END})), "
        f"test rows [{test.start}, {test.stop}); L={L}, H={H}"
    )
    models, fit_seconds, origin = _fit_models(settings, y.iloc[:_FIT_END], fh, common, say)
    for f in models.values():
        # The forecasters standardise with the same rows: metrics are on their scale.
        np.testing.assert_allclose(f.scaler_mean_, mean, rtol=1e-10)
    if args.save_teacher:
        path = next(iter(models.values())).save_weights(args.save_teacher)
        say(f"wrote the teacher's weights to {path}")

    say(f"evaluating on the {test.stop - test.start - L - H + 1} test windows ...")
    contexts = first_windows(values, test.start, L, _LATENCY_WINDOWS)
    rows = _evaluate(models, fit_seconds, values, test, (mean, scale), H, contexts)
    improvement = _print_comparison(rows)

    forecasts = {name: f.predict_windows(contexts[:1])[0] for name, f in models.items()}
    plot_path = out_dir / "demo.png"
    _plot(plot_path, y, test, L, H, rows, forecasts)

    wall = time.perf_counter() - t_start
    results = _results(
        settings, train, test, rows, improvement, models["MLP distilled"], wall, plot_path, origin
    )
    if not all(math.isfinite(r["mse"]) and math.isfinite(r["mae"]) for r in rows):
        print("warning: a model produced non-finite errors.")
    json_path = out_dir / "results.json"
    json_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    say(f"wrote {json_path} and {plot_path} (demo's own time {wall:.0f} s)")
    return 0
