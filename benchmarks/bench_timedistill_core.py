"""Core costs of TimeDistill in skdistill: epoch time, peak memory, inference latency.

Run from the repository root::

    python benchmarks/bench_timedistill_core.py            # full (several minutes on 2 cores)
    python benchmarks/bench_timedistill_core.py --quick    # smoke run, small look-back

(a) Seconds per training epoch on ETTh1 (standard protocol, batch 32): the MLP alone, the
    distilled MLP with the teacher-output cache, and with ``teacher_cache_mb=0`` (the teacher
    runs on every batch, as in the reference code). Taken from skorch's per-epoch ``dur``
    (training and validation passes; the one-off cache computation is reported separately).
(b) Peak resident memory of a child process that fits an iTransformer teacher and distils it
    on an Electricity-shaped series (8000 rows x 321 channels built from real ETTm1 data with
    per-channel time shifts), from ``getrusage(RUSAGE_CHILDREN).ru_maxrss``.
(c) Latency of one forward pass on 32 windows (median), teacher vs student, and parameters.

This is a script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA_HOME = REPO.parent / "shared" / "data"
_MEMORY_TARGET_GB = 2.5
_ELECTRICITY_SHAPE = (8000, 321)


def _machine() -> str:
    import torch

    return (
        f"{platform.platform()} | python {platform.python_version()} | cpu_count {os.cpu_count()}"
        f" | torch {torch.__version__}, {torch.get_num_threads()} threads"
    )


# --- (a) epoch cost and (c) latency ------------------------------------------------------
def bench_epochs(L: int, H: int, n_epochs: int, device: str, seed: int) -> dict:
    """Fit the three configurations on ETTh1 and return per-epoch durations and models."""
    from skdistill.datasets import load_ltsf, ltsf_split
    from skdistill.forecasting import (
        DistilledMLPForecaster,
        ITransformerForecaster,
        MLPForecaster,
    )

    y = load_ltsf("ETTh1")
    train, _, _ = ltsf_split("ETTh1", len(y), L)
    y_fit = y.iloc[:11520]  # train [0, 8640) + validation targets [8640, 11520)
    fh = np.arange(1, H + 1)
    common = {
        "window_length": L,
        "batch_size": 32,
        "patience": None,  # every epoch runs: durations are comparable
        "validation_size": 11520 - train.stop,
        "device": device,
        "random_state": seed,
    }
    n_train_windows = train.stop - L - H + 1
    print(
        f"\n(a) epoch cost: ETTh1, L={L}, H={H}, batch 32, {n_train_windows} training windows, "
        f"{11520 - train.stop - H + 1} validation windows, {n_epochs} epochs each"
    )

    def fit(name, forecaster):
        t0 = time.perf_counter()
        forecaster.fit(y_fit, fh=fh)
        wall = time.perf_counter() - t0
        durs = [float(d) for d in forecaster.history_[:, "dur"]]
        row = {
            "median_s": statistics.median(durs),
            "epochs_s": durs,
            "fit_wall_s": wall,
            # Outside the epochs: setup, and for the cached student the teacher pass.
            "outside_epochs_s": wall - sum(durs),
        }
        print(
            f"  {name:<34} median {row['median_s']:7.2f} s/epoch  "
            f"(epochs: {', '.join(f'{d:.2f}' for d in durs)}; "
            f"outside epochs {row['outside_epochs_s']:.1f} s)",
            flush=True,
        )
        return forecaster, row

    rows = {}
    teacher = ITransformerForecaster(**{**common, "max_epochs": 1})
    teacher, rows["teacher (1 epoch, for reference)"] = fit(
        "iTransformer teacher (1 epoch)", teacher
    )
    mlp, rows["mlp"] = fit("MLP alone", MLPForecaster(max_epochs=n_epochs, **common))
    cached, rows["distill_cached"] = fit(
        "distilled, teacher cache on",
        DistilledMLPForecaster(teacher=teacher, alpha=2.0, beta=2.0, max_epochs=n_epochs, **common),
    )
    online, rows["distill_online"] = fit(
        "distilled, teacher per batch",
        DistilledMLPForecaster(
            teacher=teacher, alpha=2.0, beta=2.0, teacher_cache_mb=0, max_epochs=n_epochs, **common
        ),
    )
    assert cached.teacher_cached_ and not online.teacher_cached_
    base = rows["mlp"]["median_s"]
    ratios = {
        "distill_cached/mlp": rows["distill_cached"]["median_s"] / base,
        "distill_online/mlp": rows["distill_online"]["median_s"] / base,
    }
    print(
        f"  ratio distill-cached / MLP: {ratios['distill_cached/mlp']:.2f}x   "
        f"distill-online / MLP: {ratios['distill_online/mlp']:.2f}x"
    )
    return {"rows": rows, "ratios": ratios, "models": (teacher, cached, y)}


def bench_latency(teacher, student, y, L: int, repeats: int) -> dict:
    """(c) Median forward latency on 32 windows and parameter counts."""
    from skdistill._evaluation import latency_ms

    values = y.to_numpy(dtype=np.float64)
    start = 11520 - L  # the first test contexts of the ETTh protocol
    contexts = np.stack([values[start + i : start + i + L] for i in range(32)])
    out = {}
    print(f"\n(c) inference latency, 32 windows (median of {repeats} forwards after warm-up)")
    for name, f in (("teacher (iTransformer)", teacher), ("student (DMLP)", student)):
        lat = latency_ms(f, contexts, repeats=repeats)
        out[name] = {"ms": lat["ms"], "min_ms": lat["min_ms"], "params": f.n_parameters()}
        print(
            f"  {name:<24} {lat['ms']:7.2f} ms  (min {lat['min_ms']:.2f})  "
            f"{f.n_parameters():>10,} parameters  [{lat['device']}]"
        )
    t, s = out["teacher (iTransformer)"], out["student (DMLP)"]
    print(f"  speed-up {t['ms'] / s['ms']:.2f}x, parameter ratio {t['params'] / s['params']:.2f}x")
    return out


# --- (b) peak memory in a child process ------------------------------------------------------
def electricity_shaped(data_home: str, n_rows: int, n_channels: int):
    """A real-data series of shape (n_rows, n_channels) from ETTm1: channels tiled with shifts.

    Channel k is ETTm1 column ``k % 7`` starting at row ``(k // 7) * shift``: every channel is
    a distinct stretch of real measurements.
    """
    import pandas as pd

    from skdistill.datasets import load_ltsf

    src = load_ltsf("ETTm1", data_home=data_home).to_numpy(dtype=np.float64)
    n_src, c_src = src.shape
    n_groups = -(-n_channels // c_src)
    shift = (n_src - n_rows) // max(n_groups - 1, 1)
    if shift < 1:
        raise ValueError(f"ETTm1 is too short for {n_channels} shifted channels of {n_rows} rows.")
    cols = [
        src[(k // c_src) * shift : (k // c_src) * shift + n_rows, k % c_src]
        for k in range(n_channels)
    ]
    index = pd.date_range("2016-07-01", periods=n_rows, freq="h")
    return pd.DataFrame(
        np.stack(cols, axis=1), index=index, columns=[f"c{k}" for k in range(n_channels)]
    )


def memory_child(cfg: dict) -> None:
    """Runs in the child: fit the teacher, then distil; print one JSON line."""
    from skdistill.forecasting import DistilledMLPForecaster, ITransformerForecaster

    y = electricity_shaped(cfg["data_home"], cfg["rows"], cfg["channels"])
    L, H = cfg["window_length"], cfg["horizon"]
    rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # noqa: E731 (KB on Linux)
    rss_data = rss()
    t0 = time.perf_counter()
    teacher = ITransformerForecaster(
        window_length=L, d_model=64, d_ff=64, n_heads=4, max_epochs=1, random_state=0
    ).fit(y, fh=np.arange(1, H + 1))
    rss_teacher, t_teacher = rss(), time.perf_counter() - t0
    kwargs = {"teacher": teacher, "window_length": L, "max_epochs": 1, "random_state": 0}
    if cfg["cache_mb"] is not None:
        kwargs["teacher_cache_mb"] = cfg["cache_mb"]
    student = DistilledMLPForecaster(**kwargs).fit(y, fh=np.arange(1, H + 1))
    print(
        json.dumps(
            {
                "teacher_cached": bool(student.teacher_cached_),
                "teacher_cache_mb": student.teacher_cache_mb,
                "maxrss_after_data_kb": rss_data,
                "maxrss_after_teacher_kb": rss_teacher,
                "teacher_fit_s": t_teacher,
                "student_fit_s": time.perf_counter() - t0 - t_teacher,
                "teacher_params": teacher.n_parameters(),
                "student_params": student.n_parameters(),
            }
        )
    )


def bench_memory(cfg: dict) -> dict:
    rows, channels = cfg["rows"], cfg["channels"]
    L, H = cfg["window_length"], cfg["horizon"]
    n_train_windows = int(rows * 0.8) - L - H + 1  # validation_size 0.2 (the default)
    # Cached per window: the prediction (H x C) and the teacher feature (C x d_model=64).
    cache_gb = 4 * n_train_windows * channels * (H + 64) / 2**30
    print(
        f"\n(b) peak memory: Electricity-shaped series {rows} x {channels} (real ETTm1 data, "
        f"shifted), L={L}, H={H}, 1 epoch each; teacher iTransformer d_model=64, student "
        f"hidden 512 (a full teacher cache would take {cache_gb:.2f} GB)",
        flush=True,
    )
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--memory-child", json.dumps(cfg)],
        capture_output=True,
        text=True,
        cwd=str(REPO),
    )
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode:
        print(proc.stdout[-2000:], proc.stderr[-4000:], sep="\n")
        raise RuntimeError(f"memory child failed with exit status {proc.returncode}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    peak_gb = peak_kb / 2**20
    print(
        f"  child peak RSS {peak_gb:.2f} GB ({peak_kb:,} KB) in {wall:.0f} s "
        f"[after loading data {info['maxrss_after_data_kb'] / 2**20:.2f} GB, after the teacher "
        f"{info['maxrss_after_teacher_kb'] / 2**20:.2f} GB]"
    )
    print(
        f"  teacher cached: {info['teacher_cached']} (teacher_cache_mb="
        f"{info['teacher_cache_mb']}); teacher fit {info['teacher_fit_s']:.0f} s, "
        f"distillation {info['student_fit_s']:.0f} s"
    )
    verdict = "OK" if peak_gb < _MEMORY_TARGET_GB else "OVER"
    print(f"  target < {_MEMORY_TARGET_GB} GB: {verdict}")
    return {"peak_rss_kb": peak_kb, "wall_s": wall, **info}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per configuration (3)")
    parser.add_argument("--skip-memory", action="store_true", help="skip the memory child (b)")
    parser.add_argument(
        "--skip-epochs", action="store_true", help="skip the epoch cost (a) and latency (c)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: L=96, H=24, 1 epoch, memory on 2000 rows"
    )
    parser.add_argument(
        "--data-home",
        default=str(DEFAULT_DATA_HOME),
        help="folder with ETTm1.csv.gz (default ../shared/data)",
    )
    parser.add_argument(
        "--memory-cache-mb",
        type=float,
        default=None,
        help="teacher_cache_mb of the memory run (default: the estimator's)",
    )
    parser.add_argument("--repeats", type=int, default=30, help="latency repeats (30)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write all numbers to this file")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))  # run from a checkout without installing
    if args.memory_child is not None:
        memory_child(json.loads(args.memory_child))
        return 0

    L, H, n_epochs = (96, 24, 1) if args.quick else (720, 96, args.epochs)
    print(f"machine: {_machine()}")
    results = {"machine": _machine(), "quick": args.quick}
    if not args.skip_memory:
        # First, so that RUSAGE_CHILDREN sees this child only.
        cfg = {
            "data_home": args.data_home,
            "rows": 2000 if args.quick else _ELECTRICITY_SHAPE[0],
            "channels": _ELECTRICITY_SHAPE[1],
            "window_length": L,
            "horizon": H,
            "cache_mb": args.memory_cache_mb,
        }
        results["memory"] = bench_memory(cfg)
    if args.skip_epochs:
        _write(args.json, results)
        return 0
    epochs = bench_epochs(L, H, n_epochs, args.device, args.seed)
    results["epochs"] = {"rows": epochs["rows"], "ratios": epochs["ratios"]}
    teacher, student, y = epochs["models"]
    results["latency"] = bench_latency(teacher, student, y, L, args.repeats)
    _write(args.json, results)
    return 0


def _write(path: str | None, results: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(results, indent=2, default=float) + "\n")


if __name__ == "__main__":
    sys.exit(main())
