"""Peak memory and epoch cost of TimeDistill with heavy teachers on wide data, in a child process.

Run from the repository root::

    python benchmarks/timedistill_memory.py --case electricity  # 8000 x 321, iTransformer
    python benchmarks/timedistill_memory.py --case moderntcn    # ETTh1, ModernTCN
    python benchmarks/timedistill_memory.py --quick             # smoke run: L=96, H=24

Both cases use L=720, H=96 and both distillation levels. A child process fits the teacher (one
epoch on the first rows: its size matters here, not its accuracy), then distils it:

* ``electricity``: an Electricity-shaped series built from real ETTm1 data (321 channels tiled
  with per-channel time shifts), an iTransformer teacher at its default size (d_model 256);
  one distillation epoch.
* ``moderntcn``: ETTh1's training and validation rows (as the LTSF suite fits them), ModernTCN
  at the reference's size (1.65 M parameters, feature 64 x 180 per channel); the MLP alone and
  the distilled MLP, two epochs each, alternated twice, so that the ratio of their median
  epochs is measured back to back.

The teacher is fitted (or loaded, when kept from an earlier run) by a first child process and
kept as weights; a second child loads it and distils, so that its peaks are the
distillation's alone. Reported: where the teacher cache lived, the distilling child's peak
resident memory (its ``ru_maxrss``, which counts the pages of a memory-mapped cache the
process touched) and its peak anonymous memory (sampled ``RssAnon``: what the process itself
holds), against a 2.5 GB target; and the epoch ratio. ``--student '{"teacher_feature_dim":
null}'`` turns the projection of wide teacher features off (the paper's regressor).

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


def _teacher(cfg: dict, y):
    """The case's teacher, fitted on the first ``teacher_rows`` rows for one epoch (its
    quality does not matter here, only its size: what the cache and the epochs cost). Fitted
    by a first child and kept as weights (``skdistill_output/memory_teachers/``), so that the
    distilling child's peak memory is the distillation's, not the teacher's training."""
    from skdistill.benchmarks._artifacts import load_or_fit_forecaster
    from skdistill.benchmarks._registry import teacher_class

    params = {"window_length": cfg["window_length"], "max_epochs": 1, "random_state": 0}
    params.update(cfg["teacher_params"])
    rows = y.iloc[: cfg["teacher_rows"]]
    stem = REPO / "skdistill_output" / "memory_teachers" / f"{cfg['case']}_L{cfg['window_length']}"
    stem.parent.mkdir(parents=True, exist_ok=True)
    say = lambda line: print(line, file=sys.stderr)  # noqa: E731
    fh = np.arange(1, cfg["horizon"] + 1)
    return load_or_fit_forecaster(stem, teacher_class(cfg["teacher"]), params, rows, fh, say)


def _series(cfg: dict):
    if cfg["case"] == "electricity":
        return electricity_shaped(cfg["data_home"], cfg["rows"], cfg["channels"])
    from skdistill.datasets import load_ltsf

    return load_ltsf("ETTh1", data_home=cfg["data_home"]).iloc[: cfg["rows"]]


def memory_child(cfg: dict) -> None:
    """Runs in the child: fit the teacher, then the MLP and the distilled MLP back to back
    (alternating, ``repeats`` times); print one JSON line."""
    import statistics

    from skdistill.benchmarks._common import AnonymousPeak
    from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster

    torch_threads(cfg.get("threads"))
    y = _series(cfg)
    H = cfg["horizon"]
    fh = np.arange(1, H + 1)
    rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # noqa: E731 (KB on Linux)
    rss_data = rss()
    teacher, t_teacher = _teacher(cfg, y)
    rss_teacher = rss()
    if cfg.get("phase") == "teacher":
        print(json.dumps({"teacher_fit_s": t_teacher}))
        return
    common = {
        "window_length": cfg["window_length"],
        "max_epochs": cfg["epochs"],
        "patience": None,
        "random_state": 0,
    }
    # Fixed weights (no search): the measured fit is one distillation.
    distilled = {"teacher": teacher, "alpha": 1.0, "beta": 1.0, **common, **cfg["student_params"]}
    if cfg["cache_mb"] is not None:
        distilled["teacher_cache_mb"] = cfg["cache_mb"]
    epochs = {"mlp": [], "distilled": []}
    fit_s = {"mlp": [], "distilled": []}
    with AnonymousPeak() as anon:
        for _ in range(cfg["repeats"]):
            for name in ("mlp", "distilled") if cfg["compare_mlp"] else ("distilled",):
                model = (
                    MLPForecaster(**common)
                    if name == "mlp"
                    else DistilledMLPForecaster(**distilled)
                )
                t1 = time.perf_counter()
                model.fit(y, fh=fh)
                fit_s[name].append(time.perf_counter() - t1)
                epochs[name] += [row["dur"] for row in model.history_]
                if name == "distilled":
                    student = model
    med = {k: statistics.median(v) for k, v in epochs.items() if v}
    print(
        json.dumps(
            {
                "teacher_cached": bool(student.teacher_cached_),
                "teacher_cache": getattr(student, "teacher_cache_", None),
                "teacher_cache_mb": student.teacher_cache_mb,
                "teacher_feature_variance": student.teacher_feature_variance_,
                "maxrss_kb": rss(),
                "maxrss_after_data_kb": rss_data,
                "maxrss_after_teacher_kb": rss_teacher,
                "peak_anonymous_mb": anon.mb,
                "teacher_fit_s": t_teacher,
                "fit_s": fit_s,
                "epoch_s": epochs,
                "median_epoch_s": med,
                "epoch_ratio": med["distilled"] / med["mlp"] if "mlp" in med else None,
                "teacher_params": teacher.n_parameters(),
                "student_params": student.n_parameters(),
                "teacher_feature_dim": teacher._as_teacher(
                    student.scaler_mean_, student.scaler_scale_, H
                ).feature_dim,
            }
        )
    )


def torch_threads(n) -> None:
    if n:
        import torch

        torch.set_num_threads(int(n))


def bench_memory(cfg: dict) -> dict:
    """Run :func:`memory_child` in a fresh process and report its peak resident memory."""
    print(
        f"case {cfg['case']}: {json.dumps({k: v for k, v in cfg.items() if k != 'data_home'})}",
        flush=True,
    )
    t0 = time.perf_counter()
    for phase in ("teacher", "distil"):  # the teacher first, in a process of its own
        child = json.dumps({**cfg, "phase": phase})
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--memory-child", child],
            capture_output=True,
            text=True,
            cwd=str(REPO),
        )
        if proc.returncode:
            print(proc.stdout[-2000:], proc.stderr[-4000:], sep="\n")
            raise RuntimeError(f"{phase} child failed with exit status {proc.returncode}")
    wall = time.perf_counter() - t0
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    peak_kb = info["maxrss_kb"]  # the distilling child's own peak
    peak_gb = peak_kb / 2**20
    anon_gb = (info["peak_anonymous_mb"] or float("nan")) / 1024
    print(
        f"  child peak RSS {peak_gb:.2f} GB (ru_maxrss, mapped cache pages included), peak "
        f"anonymous {anon_gb:.2f} GB, in {wall:.0f} s [after loading data "
        f"{info['maxrss_after_data_kb'] / 2**20:.2f} GB, after the teacher "
        f"{info['maxrss_after_teacher_kb'] / 2**20:.2f} GB]"
    )
    print(
        f"  teacher {info['teacher_params']:,} parameters, feature width "
        f"{info['teacher_feature_dim']}, variance kept {info['teacher_feature_variance']}; "
        f"cached: {info['teacher_cached']} in {info.get('teacher_cache')} "
        f"(teacher_cache_mb={info['teacher_cache_mb']}); teacher fit {info['teacher_fit_s']:.0f} s"
    )
    med = info["median_epoch_s"]
    line = ", ".join(f"{k} {v:.2f} s" for k, v in med.items())
    ratio = info["epoch_ratio"]
    print(f"  median epoch: {line}" + (f"; distilled / MLP {ratio:.2f}x" if ratio else ""))
    verdict = "OK" if peak_gb < _MEMORY_TARGET_GB else "OVER"
    print(f"  target peak RSS < {_MEMORY_TARGET_GB} GB: {verdict}")
    return {"peak_rss_kb": peak_kb, "wall_s": wall, **info}


_CASES = {
    # An Electricity-shaped series, iTransformer at its default width (d_model 256): its
    # outputs are 5,585 windows x 321 channels x (256 + 96) floats (2.5 GiB).
    "electricity": {
        "rows": _ELECTRICITY_SHAPE[0],
        "channels": _ELECTRICITY_SHAPE[1],
        "teacher": "itransformer",
        "teacher_params": {},
        "teacher_rows": 1500,
        "student_params": {},
        "epochs": 1,
        "repeats": 1,
        "compare_mlp": False,
    },
    # ETTh1 as the LTSF suite fits it (train + validation rows), ModernTCN at the reference's
    # size: feature 64 x 180 = 11,520 per channel token.
    "moderntcn": {
        "rows": 11520,
        "channels": 7,
        "teacher": "moderntcn",
        "teacher_params": {"batch_size": 128, "lr": 5e-4},
        "teacher_rows": 2000,
        "student_params": {"alpha": 2.0, "beta": 2.0},
        "epochs": 2,
        "repeats": 2,
        "compare_mlp": True,
    },
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=tuple(_CASES), default="electricity")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2000 rows, L=96, H=24")
    parser.add_argument("--threads", type=int, default=None, help="torch threads of the child")
    parser.add_argument(
        "--student",
        default="{}",
        help="JSON of extra DistilledMLPForecaster parameters (e.g. teacher_feature_dim)",
    )
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
        **_CASES[args.case],
        "case": args.case,
        "data_home": args.data_home,
        "window_length": L,
        "horizon": H,
        "cache_mb": args.cache_mb,
        "threads": args.threads,
    }
    cfg["student_params"] = {**cfg["student_params"], **json.loads(args.student)}
    if args.quick:
        cfg.update(rows=2000, teacher_rows=600, epochs=1, repeats=1)
    memory = bench_memory(cfg)
    if args.json:
        write_record(args.json, f"timedistill_memory_{args.case}", quick=args.quick, memory=memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
