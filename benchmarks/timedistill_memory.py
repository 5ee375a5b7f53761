"""Peak memory of TimeDistill at Electricity's shape (321 channels), in a child process.

Run from the repository root::

    python benchmarks/timedistill_memory.py            # 8000 rows x 321 channels, L=720, H=96
    python benchmarks/timedistill_memory.py --quick    # smoke run: 2000 rows, L=96, H=24

A child process fits an iTransformer teacher (d_model 64, one epoch) and distils it into the
DMLP (one epoch) on an Electricity-shaped series built from real ETTm1 data (channels tiled
with per-channel time shifts); its peak resident memory is read from
``getrusage(RUSAGE_CHILDREN).ru_maxrss``, against a 2.5 GB target.

The epoch cost (MLP alone, distillation with the teacher cache and with the teacher run on
every batch) and the teacher / student latency that this script used to measure as well are
the LTSF suite's timing cell::

    skdistill benchmark ltsf --datasets ETTh1 --horizons 96 --teachers itransformer \\
        --methods timedistill --online-epochs 3 --window-length 720

This is a script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA_HOME = REPO.parent / "shared" / "data"
_MEMORY_TARGET_GB = 2.5
_ELECTRICITY_SHAPE = (8000, 321)


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
    from skdistill.benchmarks._registry import teacher_class
    from skdistill.forecasting import DistilledMLPForecaster

    y = electricity_shaped(cfg["data_home"], cfg["rows"], cfg["channels"])
    L, H = cfg["window_length"], cfg["horizon"]
    rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # noqa: E731 (KB on Linux)
    rss_data = rss()
    t0 = time.perf_counter()
    teacher = teacher_class("itransformer")(
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
                "teacher_cache": getattr(student, "teacher_cache_", None),
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
    """Run :func:`memory_child` in a fresh process and report its peak resident memory."""
    rows, channels = cfg["rows"], cfg["channels"]
    L, H = cfg["window_length"], cfg["horizon"]
    n_train_windows = int(rows * 0.8) - L - H + 1  # validation_size 0.2 (the default)
    # Cached per window: the prediction (H x C) and the teacher feature (C x d_model=64).
    cache_gb = 4 * n_train_windows * channels * (H + 64) / 2**30
    print(
        f"peak memory: Electricity-shaped series {rows} x {channels} (real ETTm1 data, "
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
        f"  teacher cached: {info['teacher_cached']} in {info.get('teacher_cache')} "
        f"(teacher_cache_mb="
        f"{info['teacher_cache_mb']}); teacher fit {info['teacher_fit_s']:.0f} s, "
        f"distillation {info['student_fit_s']:.0f} s"
    )
    verdict = "OK" if peak_gb < _MEMORY_TARGET_GB else "OVER"
    print(f"  target < {_MEMORY_TARGET_GB} GB: {verdict}")
    return {"peak_rss_kb": peak_kb, "wall_s": wall, **info}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 2000 rows, L=96, H=24")
    parser.add_argument(
        "--data-home",
        default=str(DEFAULT_DATA_HOME),
        help="folder with ETTm1.csv.gz (default ../shared/data)",
    )
    parser.add_argument(
        "--cache-mb",
        type=float,
        default=None,
        help="teacher_cache_mb of the distillation (default: the estimator's)",
    )
    parser.add_argument("--json", default=None, help="also write the numbers to this file")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))  # run from a checkout without installing
    if args.memory_child is not None:
        memory_child(json.loads(args.memory_child))
        return 0

    from skdistill.benchmarks._common import write_record

    L, H = (96, 24) if args.quick else (720, 96)
    cfg = {
        "data_home": args.data_home,
        "rows": 2000 if args.quick else _ELECTRICITY_SHAPE[0],
        "channels": _ELECTRICITY_SHAPE[1],
        "window_length": L,
        "horizon": H,
        "cache_mb": args.cache_mb,
    }
    memory = bench_memory(cfg)
    if args.json:
        write_record(args.json, "timedistill_memory", quick=args.quick, memory=memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
