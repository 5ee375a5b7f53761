"""GPU-ready check: teacher and distilled student fitted on a device, fp32 and bf16, timed.

On the bundled ETTh1 (look-back 336, horizon 96, the standard split) it fits, on ``--device``
(default "cuda"), an iTransformer teacher (reference size, 3 epochs) and a
``DistilledMLPForecaster`` from it (3 epochs), once with ``precision="32"`` and once with
``precision="bf16"``; on CUDA also the student with ``precision="16-mixed"`` (float16 with
gradient scaling) and with ``compile=True``; and, for reference, one epoch of each fp32 fit on
the CPU. It records

* the seconds per epoch (skorch's ``dur`` in ``history_``; the first epoch apart, it pays
  the warm-up and any compilation),
* the inference time of ``predict_windows`` on a batch of test windows (median of repeats,
  after a warm-up) on the device, and on the CPU for the same models unpickled there,
* the test MSE (standardised, the protocol's test windows),

and checks that every fit ends with finite losses and forecasts; that each device-fitted
model, pickled and unpickled where CUDA is hidden (a child process with
``CUDA_VISIBLE_DEVICES=""``, as on a CPU-only machine), predicts the same on the CPU
(``np.allclose``: rtol 1e-4 for fp32; bf16 autocast rounds differently on each device, so
rtol 5e-2 there); and that bf16's test MSE is within 10 % of fp32's. The JSON record goes to
``--output``; the exit code is 1 when a check fails (2 when the device is missing).

``--device cpu`` is a dry run with tiny settings (look-back 96, horizon 24, 1 epoch, 1,500
rows, small networks; bf16 on the CPU, the pickled models reloaded in-process, "16-mixed"
checked to be refused): well under a minute on two cores. It checks the script itself, on
any machine.

Run from the repository root::

    python benchmarks/gpu_check.py                    # on CUDA, ~2-3 minutes on one GPU
    python benchmarks/gpu_check.py --device cpu       # dry run

This is a script that prints numbers and checks; tests/test_gpu_check.py runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DEFAULT_OUTPUT = "benchmarks/results/gpu_check.json"
#: rtol of the device-vs-CPU comparison per precision (relative to the forecasts' scale).
RTOL = {"32": 1e-4, "bf16": 5e-2, "16-mixed": 5e-2}
#: Largest relative gap between bf16's and fp32's test MSE.
MSE_GAP = 0.10


def _settings(dry: bool) -> dict:
    if dry:
        return {
            "window_length": 96,
            "horizon": 24,
            "rows": 1500,
            "epochs": 1,
            "teacher": {"d_model": 16, "d_ff": 16, "n_heads": 2, "e_layers": 1},
            "student": {"hidden_size": 64},
            "infer_batch": 64,
            "repeats": 3,
        }
    return {
        "window_length": 336,
        "horizon": 96,
        "rows": None,
        "epochs": 3,
        "teacher": {},
        "student": {},
        "infer_batch": 1024,
        "repeats": 10,
    }


def _data(cfg: dict):
    """``(y for fit, validation rows, test contexts, test targets, train mean, train scale)``."""
    from numpy.lib.stride_tricks import sliding_window_view

    from skdistill.datasets import load_ltsf, ltsf_split

    frame = load_ltsf("ETTh1")
    L, H = cfg["window_length"], cfg["horizon"]
    if cfg["rows"] is None:
        train, val, test = ltsf_split("ETTh1", len(frame), L)
        fit_rows, n_val = val.stop, val.stop - train.stop
        test_rows = frame.to_numpy()[test]
    else:
        n = cfg["rows"]
        fit_rows, n_val = int(0.8 * n), int(0.8 * n) // 5
        test_rows = frame.to_numpy()[fit_rows - L : n]
    values = frame.to_numpy()
    mean = values[: fit_rows - n_val].mean(axis=0)
    scale = values[: fit_rows - n_val].std(axis=0)
    windows = sliding_window_view(test_rows, L + H, axis=0).transpose(0, 2, 1)
    return frame.iloc[:fit_rows], n_val, windows[:, :L], windows[:, L:], mean, scale


def _fit(cls, params: dict, y, H: int) -> tuple[object, dict]:
    t0 = time.perf_counter()
    model = cls(**params).fit(y, fh=range(1, H + 1))
    rows = list(model.history_)
    return model, {
        "fit_s": time.perf_counter() - t0,
        "epoch_s": [float(r["dur"]) for r in rows],
        "train_loss": [float(r["train_loss"]) for r in rows],
        "valid_loss": [float(r.get("valid_loss", np.nan)) for r in rows],
    }


def _time_predict(model, windows: np.ndarray, repeats: int, sync=None) -> tuple[np.ndarray, float]:
    """``(forecasts, median seconds)`` of ``predict_windows`` after one warm-up call."""
    model.predict_windows(windows[: min(8, len(windows))])
    times, out = [], None
    for _ in range(repeats):
        if sync is not None:
            sync()
        t0 = time.perf_counter()
        out = model.predict_windows(windows)
        if sync is not None:
            sync()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def _cpu_child(models_path: str, windows_path: str, out_path: str, repeats: int) -> int:
    """Child process (CUDA hidden): unpickle the models, predict and time on the CPU."""
    import torch

    with open(models_path, "rb") as f:
        models = pickle.load(f)
    windows = np.load(windows_path)
    preds, record = {}, {"cuda_available": torch.cuda.is_available(), "models": {}}
    for name, model in models.items():
        pred, seconds = _time_predict(model, windows, repeats)
        preds[name] = pred
        record["models"][name] = {
            "infer_s": seconds,
            "device_": str(getattr(model, "device_", "")),
            "net_device": str(model.net_.device),
        }
    np.savez(out_path + ".npz", **preds)
    Path(out_path + ".json").write_text(json.dumps(record))
    return 0


def _predict_on_cpu(models: dict, windows: np.ndarray, repeats: int, in_process: bool) -> dict:
    """``{name: (forecasts, seconds, where)}`` of the pickled models, predicting on the CPU."""
    blob = pickle.dumps(models)
    if in_process:
        out = {}
        for name, model in pickle.loads(blob).items():
            pred, seconds = _time_predict(model, windows, repeats)
            out[name] = (pred, seconds, str(model.net_.device))
        return out
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, n) for n in ("models.pkl", "windows.npy", "out")]
        Path(paths[0]).write_bytes(blob)
        np.save(paths[1], windows)
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
        cmd = [sys.executable, __file__, "--cpu-child", *paths, str(repeats)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"the CPU child failed:\n{proc.stderr[-3000:]}")
        preds = np.load(paths[2] + ".npz")
        record = json.loads(Path(paths[2] + ".json").read_text())
        if record["cuda_available"]:
            raise RuntimeError("the CPU child still saw CUDA (CUDA_VISIBLE_DEVICES ignored)")
        return {
            name: (preds[name], info["infer_s"], info["net_device"])
            for name, info in record["models"].items()
        }


def run(device: str, dry: bool, compile_student: bool, log=print) -> dict:
    """Fit, time and check; return the record (``record["passed"]``: every check)."""
    import torch

    from skdistill.forecasting import DistilledMLPForecaster, ITransformerForecaster

    cfg = _settings(dry)
    L, H, epochs = cfg["window_length"], cfg["horizon"], cfg["epochs"]
    y, n_val, contexts, targets, mean, scale = _data(cfg)
    batch = contexts[: cfg["infer_batch"]]
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    common = {
        "window_length": L,
        "validation_size": n_val,
        "max_epochs": epochs,
        "patience": None,
        "random_state": 0,
        "verbose": 0,
    }
    # Fixed weights for the distilled student (no weight search): epochs are what is timed.
    fixed = {"alpha": 1.0, "beta": 1.0}

    def mse(model) -> float:
        pred = model.predict_windows(contexts)
        return float(np.mean(((pred - targets) / scale) ** 2))

    fits, checks, models, device_preds = {}, {}, {}, {}

    def fit(name: str, cls, params: dict):
        log(f"fitting {name} ...")
        model, info = _fit(cls, params, y, H)
        pred, seconds = _time_predict(model, batch, cfg["repeats"], sync)
        first, rest = info["epoch_s"][0], info["epoch_s"][1:]
        info.update(
            first_epoch_s=first,
            median_epoch_s=statistics.median(rest) if rest else first,
            infer_s_device=seconds,
            test_mse=mse(model),
        )
        fits[name] = info
        checks[f"{name}: finite"] = bool(
            np.isfinite(info["train_loss"]).all() and np.isfinite(pred).all()
        )
        models[name], device_preds[name] = model, pred
        log(
            f"  {name}: epoch {info['median_epoch_s']:.2f} s (first {first:.2f} s), predict "
            f"{1000 * seconds:.1f} ms / {len(batch)} windows, test MSE {info['test_mse']:.4f}"
        )
        return model

    teachers = {}
    for precision in ("32", "bf16"):
        kw = {**common, "device": device, "precision": precision}
        teachers[precision] = fit(
            f"teacher {precision}", ITransformerForecaster, {**kw, **cfg["teacher"]}
        )
        fit(
            f"student {precision}",
            DistilledMLPForecaster,
            {**kw, **cfg["student"], **fixed, "teacher": teachers[precision]},
        )
    if device.startswith("cuda"):
        kw = {**common, "device": device, **cfg["student"], **fixed, "teacher": teachers["32"]}
        fit("student 16-mixed", DistilledMLPForecaster, {**kw, "precision": "16-mixed"})
        if compile_student:
            fit("student compile", DistilledMLPForecaster, {**kw, "compile": True})
    else:
        try:
            params = {**common, **fixed, "teacher": teachers["32"], "precision": "16-mixed"}
            DistilledMLPForecaster(**params).fit(y, fh=range(1, H + 1))
            checks["16-mixed refused on the CPU"] = False
        except ValueError as exc:
            checks["16-mixed refused on the CPU"] = "needs a CUDA device" in str(exc)

    # Pickled, then unpickled where CUDA is hidden: the same forecasts on the CPU.
    log("predicting on the CPU after pickling ...")
    on_cpu = _predict_on_cpu(models, batch, cfg["repeats"], in_process=device == "cpu")
    for name, (pred, seconds, where) in on_cpu.items():
        precision = name.split()[-1] if name.split()[-1] in RTOL else "32"
        ref = device_preds[name]
        atol = RTOL[precision] * float(np.abs(ref).mean())
        diff = float(np.abs(pred - ref).max())
        fits[name].update(infer_s_cpu=seconds, cpu_max_abs_diff=diff, cpu_device=where)
        checks[f"{name}: same forecasts on the CPU"] = bool(
            where == "cpu" and np.allclose(pred, ref, rtol=RTOL[precision], atol=atol)
        )
    gap = abs(fits["student bf16"]["test_mse"] / fits["student 32"]["test_mse"] - 1)
    checks[f"bf16 student's test MSE within {MSE_GAP:.0%} of fp32's"] = bool(gap <= MSE_GAP)

    reference = {}
    if device != "cpu":
        log("CPU reference (one epoch each) ...")
        kw = {**common, "device": "cpu", "max_epochs": 1}
        t_model, t_info = _fit(ITransformerForecaster, {**kw, **cfg["teacher"]}, y, H)
        _, s_info = _fit(
            DistilledMLPForecaster,
            {**kw, **cfg["student"], **fixed, "teacher": teachers["32"]},
            y,
            H,
        )
        reference = {"teacher 32": t_info, "student 32": s_info}
        for name, info in reference.items():
            log(f"  {name} on the CPU: epoch {info['epoch_s'][0]:.2f} s")
    return {
        "device": device,
        "device_name": torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
        "dry_run": dry,
        "settings": cfg,
        "fits": fits,
        "cpu_reference": reference,
        "checks": checks,
        "passed": all(checks.values()),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help='"cuda", "cuda:N" or "cpu" (dry run)')
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="JSON record path")
    parser.add_argument(
        "--no-compile", action="store_true", help="skip the compile=True student (CUDA)"
    )
    parser.add_argument("--cpu-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cpu_child:
        *paths, repeats = args.cpu_child
        return _cpu_child(*paths, int(repeats))
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"--device {args.device}: CUDA is not available here.", file=sys.stderr)
        return 2
    if args.device != "cpu" and not args.device.startswith("cuda"):
        print(f"--device must be 'cuda', 'cuda:N' or 'cpu'; got {args.device!r}.", file=sys.stderr)
        return 2
    from skdistill.benchmarks._common import write_record

    t0 = time.perf_counter()
    record = run(args.device, dry=args.device == "cpu", compile_student=not args.no_compile)
    record["wall_s"] = time.perf_counter() - t0
    write_record(args.output, "gpu_check", **record)
    for name, ok in record["checks"].items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    print(f"{'passed' if record['passed'] else 'FAILED'} in {record['wall_s']:.0f} s")
    return 0 if record["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
