"""bf16 against fp32 on the CPU: DMLP distillation on ETTh1, epoch time and test MSE.

Distils a ``DistilledMLPForecaster`` (look-back 336, horizon 96, reference sizes, 2 epochs,
no early stopping, the protocol's validation rows) from an ``MLPForecaster`` teacher (2
epochs, fitted once and kept under ``benchmarks/results/precision/teachers/``) with
``precision="32"`` and ``precision="bf16"``, interleaved (the order alternates per repeat,
the seed is the repeat), and prints per precision the median over repeats of: seconds per
epoch (skorch's ``dur``; it includes the teacher-output cache's share only in the fit time),
the whole fit, ``predict_windows`` on the 2,785 test windows, and the test MSE (standardised
with the training rows' statistics, every test window of the standard split). Writes a JSON
record.

Wall-clock epochs on a machine shared with other work measure the other work as much as
the precision; ``--steps`` measures instead the CPU time (``time.process_time``, one thread)
of one training step of the DMLP (batch 32, forward, backward and Adam), float32 and bf16
interleaved, median of 20 rounds of 10 steps: what bf16 saves per step, whatever else runs.

Run from the repository root::

    python benchmarks/precision.py                 # 3 repeats, ~5 minutes on 2 cores
    python benchmarks/precision.py --repeats 1     # quicker
    python benchmarks/precision.py --steps         # per-step CPU time only, ~15 s

This is a script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

L, H = 336, 96
PRECISIONS = ("32", "bf16")
TEACHERS = Path("benchmarks/results/precision/teachers")


def _data():
    from numpy.lib.stride_tricks import sliding_window_view

    from skdistill.datasets import load_ltsf, ltsf_split

    frame = load_ltsf("ETTh1")
    train, val, test = ltsf_split("ETTh1", len(frame), L)
    values = frame.to_numpy()
    scale = values[: train.stop].std(axis=0)
    windows = sliding_window_view(values[test], L + H, axis=0).transpose(0, 2, 1)
    return frame.iloc[: val.stop], val.stop - train.stop, windows[:, :L], windows[:, L:], scale


def step_cpu_ms(rounds: int = 20, steps: int = 10) -> dict:
    """Median CPU milliseconds (one thread) of one DMLP training step per precision."""
    import torch

    from skdistill.nn.forecasting import DMLP

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = DMLP(L, H, 7, hidden_size=512, moving_avg=25)
    x = torch.randn(32, L, 7)
    optimizer = torch.optim.Adam(model.parameters(), fused=True)

    def step(bf16: bool) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            pred, feat = model.forward_features(x)
        loss = pred.float().pow(2).mean() + feat.float().pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    times: dict = {"32": [], "bf16": []}
    for r in range(rounds):
        for precision in PRECISIONS if r % 2 == 0 else PRECISIONS[::-1]:
            step(precision == "bf16")  # warm
            t0 = time.process_time()
            for _ in range(steps):
                step(precision == "bf16")
            times[precision].append(1000 * (time.process_time() - t0) / steps)
    return {p: statistics.median(v) for p, v in times.items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", action="store_true", help="per-step CPU time only")
    parser.add_argument("--output", default=None, help="JSON record path")
    args = parser.parse_args(argv)
    from skdistill.benchmarks._common import write_record

    if args.steps:
        ms = step_cpu_ms()
        print("one DMLP training step (batch 32, L=336, H=96, C=7, D=512), CPU ms, 1 thread:")
        for precision, value in ms.items():
            print(f"  {precision:>4}: {value:.2f} ms")
        return write_record(
            args.output or "benchmarks/results/precision_steps.json",
            "precision_steps",
            step_cpu_ms=ms,
            rounds=20,
            steps=10,
        )
    import torch

    from skdistill.benchmarks._artifacts import load_or_fit_forecaster
    from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster

    y, n_val, contexts, targets, scale = _data()
    common = {"window_length": L, "validation_size": n_val, "patience": None, "verbose": 0}
    # The paper's fixed weights: what is timed is the distillation step, not a weight search.
    weights = {"alpha": 1.0, "beta": 1.0}
    TEACHERS.mkdir(parents=True, exist_ok=True)
    teacher, teacher_s = load_or_fit_forecaster(
        TEACHERS / "mlp_L336_H96",
        MLPForecaster,
        {**common, "max_epochs": 2, "random_state": 0},
        y,
        range(1, H + 1),
        print,
    )
    print(f"teacher: MLPForecaster (fit {teacher_s:.0f} s, kept for later runs)")
    runs = []
    for r in range(args.repeats):
        for precision in PRECISIONS if r % 2 == 0 else PRECISIONS[::-1]:
            student = DistilledMLPForecaster(
                teacher,
                **common,
                **weights,
                max_epochs=args.epochs,
                random_state=r,
                precision=precision,
            )
            t0 = time.perf_counter()
            student.fit(y, fh=range(1, H + 1))
            fit_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            pred = student.predict_windows(contexts)
            predict_s = time.perf_counter() - t0
            run = {
                "precision": precision,
                "seed": r,
                "epoch_s": [float(row["dur"]) for row in student.history_],
                "fit_s": fit_s,
                "predict_s": predict_s,
                "valid_mse": float(student.history_[-1]["valid_loss"]),
                "test_mse": float(np.mean(((pred - targets) / scale) ** 2)),
            }
            runs.append(run)
            print(
                f"repeat {r} {precision:>4}: epoch {statistics.median(run['epoch_s']):.2f} s, "
                f"fit {fit_s:.1f} s, predict {predict_s:.2f} s, test MSE {run['test_mse']:.4f}",
                flush=True,
            )
    summary = {}
    for precision in PRECISIONS:
        mine = [r for r in runs if r["precision"] == precision]
        summary[precision] = {
            key: statistics.median(
                statistics.median(r[key]) if key == "epoch_s" else r[key] for r in mine
            )
            for key in ("epoch_s", "fit_s", "predict_s", "valid_mse", "test_mse")
        }
    print(f"\nmedian of {args.repeats} repeats (torch threads {torch.get_num_threads()}):")
    print(
        f"{'precision':<10}{'s/epoch':>9}{'fit s':>8}{'predict s':>11}{'valid MSE':>11}"
        f"{'test MSE':>10}"
    )
    for precision, s in summary.items():
        print(
            f"{precision:<10}{s['epoch_s']:>9.2f}{s['fit_s']:>8.1f}{s['predict_s']:>11.2f}"
            f"{s['valid_mse']:>11.4f}{s['test_mse']:>10.4f}"
        )
    return write_record(
        args.output or "benchmarks/results/precision.json",
        "precision",
        window_length=L,
        horizon=H,
        epochs=args.epochs,
        repeats=args.repeats,
        torch_threads=torch.get_num_threads(),
        summary=summary,
        runs=runs,
    )


if __name__ == "__main__":
    main()
