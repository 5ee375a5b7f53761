"""Data-parallel TimeDistill training: 2 CPU processes (gloo, Accelerate) vs 1 process.

Distils a DMLP (ETTh1, look-back 720, horizon 96, alpha = beta = 2) from an iTransformer
teacher fitted once, for the same number of epochs (no early stopping) in one process with
all the machine's threads and in two processes with half the threads each. Prints seconds per
epoch (median), the speed-up, and the final validation MSE of both (which should agree within
noise: two processes take one optimiser step per 2 x batch_size windows), and writes a JSON
record.

Run from the repository root::

    python benchmarks/accelerate_speedup.py --epochs 4 --output benchmarks/results/accelerate_speedup.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

L, H = 720, 96


def _teacher(stem: str, frame, val_rows: int):
    """The iTransformer teacher, fitted once by the parent and rebuilt from weights by workers."""
    from skdistill.benchmarks._artifacts import load_or_fit_forecaster
    from skdistill.forecasting import ITransformerForecaster

    params = {"window_length": L, "validation_size": val_rows, "max_epochs": 1, "random_state": 0}
    return load_or_fit_forecaster(
        stem, ITransformerForecaster, params, frame, range(1, H + 1), print
    )[0]


def _worker(args) -> None:
    import torch

    from skdistill.datasets import load_ltsf, ltsf_split
    from skdistill.forecasting import DistilledMLPForecaster

    torch.set_num_threads(args.threads)
    frame = load_ltsf("ETTh1")
    train, val, _ = ltsf_split("ETTh1", len(frame), L)
    teacher = _teacher(args.teacher, frame.iloc[: val.stop], val.stop - train.stop)
    student = DistilledMLPForecaster(
        teacher,
        alpha=2.0,
        beta=2.0,
        window_length=L,
        validation_size=val.stop - train.stop,
        max_epochs=args.epochs,
        patience=None,
        random_state=0,
    )
    distributed = "RANK" in os.environ
    if distributed:
        from accelerate import Accelerator

        from skdistill.training.accelerate import use_accelerator

        accelerator = Accelerator(cpu=True)
        with use_accelerator(accelerator):
            student.fit(frame.iloc[: val.stop], fh=range(1, H + 1))
        main = accelerator.is_main_process
    else:
        student.fit(frame.iloc[: val.stop], fh=range(1, H + 1))
        main = True
    if main:
        rows = list(student.history_)
        print(
            json.dumps(
                {
                    "processes": int(os.environ.get("WORLD_SIZE", 1)),
                    "threads_per_process": args.threads,
                    "epoch_s": [r["dur"] for r in rows],
                    "valid_loss": [r["valid_loss"] for r in rows],
                }
            ),
            flush=True,
        )
    if distributed:
        accelerator.wait_for_everyone()
        accelerator.end_training()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--cores", type=int, default=2, help="threads of the 1-process run")
    parser.add_argument("--output", default="benchmarks_output/accelerate_speedup.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--teacher", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args)
        return {}

    from skdistill.benchmarks._common import write_record
    from skdistill.datasets import load_ltsf, ltsf_split

    frame = load_ltsf("ETTh1")
    train, val, _ = ltsf_split("ETTh1", len(frame), L)
    with tempfile.TemporaryDirectory() as tmp:
        teacher_path = Path(tmp) / "teacher"
        _teacher(str(teacher_path), frame.iloc[: val.stop], val.stop - train.stop)
        me = [
            str(Path(__file__).resolve()),
            "--worker",
            "--teacher",
            str(teacher_path),
            "--epochs",
            str(args.epochs),
        ]
        runs = {}
        for label, cmd in (
            ("1 process", [sys.executable, *me, "--threads", str(args.cores)]),
            (
                "2 processes",
                [
                    sys.executable,
                    "-m",
                    "torch.distributed.run",
                    "--standalone",
                    "--nproc_per_node",
                    "2",
                    *me,
                    "--threads",
                    str(max(1, args.cores // 2)),
                ],
            ),
        ):
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            line = [x for x in proc.stdout.splitlines() if x.startswith("{")][-1]
            runs[label] = json.loads(line)
    one, two = runs["1 process"], runs["2 processes"]
    # The first epoch includes start-up (process group, allocator): compare the rest.
    t1 = statistics.median(one["epoch_s"][1:] or one["epoch_s"])
    t2 = statistics.median(two["epoch_s"][1:] or two["epoch_s"])
    print(f"ETTh1 L={L} H={H}, DMLP distilled from iTransformer, {args.epochs} epochs")
    for label, run, t in (("1 process", one, t1), ("2 processes", two, t2)):
        print(
            f"  {label:<12} {run['threads_per_process']} thread(s) each: {t:6.2f} s/epoch, "
            f"final valid MSE {run['valid_loss'][-1]:.4f}"
        )
    print(f"  speed-up {t1 / t2:.2f}x")
    return write_record(
        args.output,
        "accelerate_speedup",
        epochs=args.epochs,
        runs=runs,
        epoch_s_median={"1 process": t1, "2 processes": t2},
        speedup=t1 / t2,
    )


if __name__ == "__main__":
    main()
