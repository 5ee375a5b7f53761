"""Where the TimeDistill teacher cache lives, and in what precision: accuracy, memory, time.

Distils a DMLP (ETTh1, look-back 96, horizon 96, alpha = beta = 2, no early stopping) from an
iTransformer teacher (default size, 2 epochs) fitted once, with the teacher's outputs cached
in RAM (float32), on disk (float32, float16, bfloat16; memory-mapped files) and not cached
(the teacher run on every batch). The per-batch run computes the same outputs as the RAM cache
up to float rounding (batches of 32 instead of chunks of 1024), so its distance from the RAM
run is the noise floor of this training: Adam at lr 0.01 amplifies a 1e-7 difference to about
1 % of the loss within an epoch. Each run is a child process.

Prints, per cache, the final and best validation MSE (standardised data, the protocol's
validation rows; mean over seeds), seconds per epoch (median), the child's peak resident set
from ``resource.getrusage`` (its whole life: rebuilding the teacher from its weights, which
takes a training epoch, usually dominates it), the fit's own peak resident set (``VmHWM`` of
``/proc/self/status``, reset before the fit through ``/proc/self/clear_refs``; Linux), and the
fit's peak anonymous and file-backed resident memory (sampled every 20 ms). The anonymous
pages are the process's own; the file pages of a mapped cache count in the resident set but
are page cache that the system writes back and reclaims under memory pressure. Then how far
each reduced precision's stored cache is from float32; writes a JSON record.

Run from the repository root::

    python benchmarks/teacher_cache.py                       # 3 seeds x 3 epochs, ~6 min on 2 cores
    python benchmarks/teacher_cache.py --window-length 720   # the reference look-back (slower)
    python benchmarks/teacher_cache.py --quick               # smoke run: 1 seed, 1 epoch

This is a script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

H = 96
#: (teacher_cache, teacher_cache_dtype) of the runs, the RAM float32 cache first (the reference).
RUNS = [
    ("memory", "float32"),
    ("disk", "float32"),
    ("disk", "float16"),
    ("disk", "bfloat16"),
    ("off", "float32"),
]


def _data(L: int):
    from skdistill.datasets import load_ltsf, ltsf_split

    frame = load_ltsf("ETTh1")
    train, val, _ = ltsf_split("ETTh1", len(frame), L)
    return frame.iloc[: val.stop], val.stop - train.stop


def _teacher(stem: str, L: int):
    """The iTransformer teacher (defaults, 2 epochs), fitted once and rebuilt from weights."""
    from skdistill.benchmarks._artifacts import load_or_fit_forecaster
    from skdistill.forecasting import ITransformerForecaster

    y, val_rows = _data(L)
    params = {"window_length": L, "validation_size": val_rows, "max_epochs": 2, "random_state": 0}
    return load_or_fit_forecaster(stem, ITransformerForecaster, params, y, range(1, H + 1), print)[
        0
    ]


class AnonPeak:
    """Peak of the process's anonymous resident memory (``RssAnon``), sampled in a thread."""

    def __init__(self, every: float = 0.02) -> None:
        self.peak_kb, self.file_peak_kb, self.every = 0, 0, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now_kb(field: str = "RssAnon") -> int:
        try:
            with open("/proc/self/status") as f:
                line = next(x for x in f if x.startswith(field + ":"))
        except (OSError, StopIteration):  # not Linux: no sample
            return 0
        return int(line.split()[1])

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, self.now_kb())
            self.file_peak_kb = max(self.file_peak_kb, self.now_kb("RssFile"))
            time.sleep(self.every)

    def __enter__(self) -> AnonPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _child(cfg: dict) -> None:
    """One distillation; prints one JSON line."""
    from skdistill.forecasting import DistilledMLPForecaster

    L = cfg["window_length"]
    y, val_rows = _data(L)
    teacher = _teacher(cfg["teacher"], L)
    student = DistilledMLPForecaster(
        teacher,
        window_length=L,
        alpha=2.0,
        beta=2.0,
        validation_size=val_rows,
        max_epochs=cfg["epochs"],
        patience=None,
        random_state=cfg["seed"],
        teacher_cache=cfg["cache"],
        teacher_cache_dtype=cfg["dtype"],
    )
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:  # reset the peak (Linux): what the teacher's rebuild took is not the fit's
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    anon_before_kb = AnonPeak.now_kb()
    t0 = time.perf_counter()
    with AnonPeak() as anon:
        student.fit(y, fh=range(1, H + 1))
    rows = list(student.history_)
    record = {
        **{k: cfg[k] for k in ("cache", "dtype", "seed")},
        "place": student.teacher_cache_,
        "valid_mse": [r["valid_loss"] for r in rows],
        "epoch_s": [r["dur"] for r in rows],
        "fit_s": time.perf_counter() - t0,
        "maxrss_before_fit_kb": before_kb,
        "peak_reset": reset,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "fit_peak_rss_kb": AnonPeak.now_kb("VmHWM") if reset else None,
        "anon_before_fit_kb": anon_before_kb,
        "anon_peak_kb": anon.peak_kb,
        "file_peak_kb": anon.file_peak_kb,
    }
    print(json.dumps(record), flush=True)


def _quantisation(stem: str, L: int) -> dict:
    """Relative RMS and max error of each reduced-precision cache against float32."""
    from skdistill.training.teacher import compute_teacher_outputs
    from skdistill.training.teacher_cache import CacheStore
    from skdistill.training.windows import SlidingWindowDataset, standard_scaler

    y, val_rows = _data(L)
    teacher = _teacher(stem, L)
    values = y.to_numpy()
    mean, scale = standard_scaler(values[: len(values) - val_rows])
    series = ((values - mean) / scale).astype("float32")
    n_train = len(values) - val_rows - L - H + 1
    data = SlidingWindowDataset(series, L, H)
    adapter = teacher._as_teacher(mean, scale, H)
    full = compute_teacher_outputs(adapter, data, with_features=True, n_windows=n_train)
    out = {"cache_mb_float32": 4 * (full.pred.numel() + full.features[0].numel()) / 2**20}
    for dtype in ("float16", "bfloat16"):
        with CacheStore("memory", dtype) as store:
            half = compute_teacher_outputs(
                adapter, data, with_features=True, n_windows=n_train, allocate=store.allocate
            )
        for name, a, b in (
            ("pred", half.pred, full.pred),
            ("feature", half.features[0], full.features[0]),
        ):
            err = a.float() - b
            out[f"{dtype}_{name}_rel_rms"] = float(
                err.pow(2).mean().sqrt() / b.pow(2).mean().sqrt()
            )
            out[f"{dtype}_{name}_max_abs"] = float(err.abs().max())
    return out


def _print(runs: list[dict], quant: dict) -> None:
    print(f"\ncache at float32: {quant['cache_mb_float32']:.0f} MB")
    head = (
        f"{'cache':<8}{'dtype':<10}{'valid MSE final':>18}{'best':>9}{'s/epoch':>9}"
        f"{'getrusage MB':>14}{'fit RSS MB':>12}{'fit anon MB':>13}{'fit file MB':>13}"
    )
    print(head)
    for cache, dtype in RUNS:
        mine = [r for r in runs if (r["cache"], r["dtype"]) == (cache, dtype)]
        if not mine:
            continue
        finals = [r["valid_mse"][-1] for r in mine]
        spread = f" +- {statistics.stdev(finals):.4f}" if len(finals) > 1 else ""
        print(
            f"{cache:<8}{dtype:<10}{statistics.mean(finals):>9.4f}{spread:>9}"
            f"{statistics.mean(min(r['valid_mse']) for r in mine):>9.4f}"
            f"{statistics.median(s for r in mine for s in r['epoch_s']):>9.2f}"
            f"{max(r['maxrss_kb'] for r in mine) / 1024:>14.0f}"
            f"{max(r['fit_peak_rss_kb'] or 0 for r in mine) / 1024:>12.0f}"
            f"{max(r['anon_peak_kb'] for r in mine) / 1024:>13.0f}"
            f"{max(r['file_peak_kb'] for r in mine) / 1024:>13.0f}"
        )
    for dtype in ("float16", "bfloat16"):
        print(
            f"{dtype} cache vs float32: relative RMS error {quant[f'{dtype}_pred_rel_rms']:.1e} "
            f"(predictions), {quant[f'{dtype}_feature_rel_rms']:.1e} (features)"
        )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--window-length", type=int, default=96)
    parser.add_argument("--quick", action="store_true", help="one seed, one epoch")
    parser.add_argument("--output", default="benchmarks_output/teacher_cache.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(json.loads(args.child))
        return {}
    if args.quick:
        args.seeds, args.epochs = [0], 1

    from skdistill.benchmarks._common import write_record

    L = args.window_length
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        stem = str(Path(tmp) / "teacher")
        _teacher(stem, L)
        quant = _quantisation(stem, L)
        for seed in args.seeds:
            for cache, dtype in RUNS:
                cfg = dict(teacher=stem, window_length=L, epochs=args.epochs, seed=seed)
                cfg.update(cache=cache, dtype=dtype)
                cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(cfg)]
                proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
                r = runs[-1]
                print(
                    f"seed {seed} {cache:<6} {dtype:<8}: valid MSE {r['valid_mse'][-1]:.4f}, "
                    f"{statistics.median(r['epoch_s']):.2f} s/epoch",
                    flush=True,
                )
    _print(runs, quant)
    return write_record(
        args.output,
        "teacher_cache",
        window_length=L,
        horizon=H,
        epochs=args.epochs,
        seeds=args.seeds,
        quantisation=quant,
        runs=runs,
    )


if __name__ == "__main__":
    main()
