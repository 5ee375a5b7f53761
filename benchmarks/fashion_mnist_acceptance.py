"""Acceptance run of SFKD and the baselines on Fashion-MNIST: a CNN teacher, ViT students.

A ResNet-style CNN teacher (the zoo's "cnn", trained alone) is distilled into the zoo's ViT
with the same budget for every method: the ViT alone, KD, FitNet, OFA-KD, DKD and SFKD, all
with their default weights and the same ``random_state``. Prints test accuracy, fit seconds,
seconds per epoch (skorch's per-epoch ``dur``) and parameter counts, and writes a JSON record
with the settings, per-seed results, machine and versions.

Run from the repository root::

    python benchmarks/fashion_mnist_acceptance.py                     # 10k train, 8 epochs
    python benchmarks/fashion_mnist_acceptance.py --quick             # smoke run (2k / 2k, 1 epoch)
    python benchmarks/fashion_mnist_acceptance.py --methods alone kd sfkd --seeds 0 1 2

Data: ``--data-home``, else ``$SKDISTILL_DATA``, else ``../shared/data`` beside the repository
(the official Fashion-MNIST idx files, found directly, in ``fashion_mnist/`` or in
``vision/fashion_mnist/``). Nothing is downloaded unless ``--download`` is given.

The teacher is trained once (``--teacher-seed``) and shared by every student; ``--seeds``
repeats the students only, and the table reports mean and standard deviation over seeds.
``--quick`` only checks that everything runs: after one epoch on 2000 images the CNN
teacher is near chance (its BatchNorm statistics have not settled), so its accuracies mean
nothing. This is a script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA_HOME = REPO.parent / "shared" / "data"

METHODS = ("alone", "kd", "fitnet", "ofa", "dkd", "sfkd")
LABELS = {
    "alone": "ViT alone",
    "kd": "KD",
    "fitnet": "FitNet",
    "ofa": "OFA",
    "dkd": "DKD",
    "sfkd": "SFKD",
}


def _parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--data-home", default=None,
                        help="folder with the Fashion-MNIST files (default: $SKDISTILL_DATA, "
                             f"else {DEFAULT_DATA_HOME})")
    parser.add_argument("--download", action="store_true",
                        help="download missing files into the user cache (checksum-verified)")
    parser.add_argument("--n-train", type=int, default=10000,
                        help="first N training images")
    parser.add_argument("--n-test", type=int, default=None,
                        help="first N test images (default: all 10000)")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of every student")
    parser.add_argument("--teacher-epochs", type=int, default=8, help="epochs of the teacher")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS),
                        help="students to train, in this order")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="random_state of the students (mean and std over them)")
    parser.add_argument("--teacher-seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="'cpu', 'cuda' or 'auto'")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2000 train and 2000 test images, 1 epoch each")
    parser.add_argument("--output", default=None,
                        help="JSON path (default: benchmarks_output/fashion_mnist_acceptance"
                             "[_quick].json)")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.epochs, args.teacher_epochs = 2000, 2000, 1, 1
    if args.output is None:
        suffix = "_quick" if args.quick else ""
        args.output = str(REPO / "benchmarks_output" / f"fashion_mnist_acceptance{suffix}.json")
    for name in ("n_train", "epochs", "teacher_epochs", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.n_test is not None and args.n_test < 1:
        parser.error("--n-test must be >= 1")
    return args


def _data_home(args) -> str:
    if args.data_home is not None:
        return args.data_home
    return os.environ.get("SKDISTILL_DATA") or str(DEFAULT_DATA_HOME)


def _versions() -> dict:
    import importlib

    out = {"python": sys.version.split()[0]}
    for module in ("skdistill", "torch", "sklearn", "skorch", "numpy", "pywt"):
        try:
            out[module] = getattr(importlib.import_module(module), "__version__", None)
        except ImportError:
            out[module] = None
    return out


def _machine(device: str) -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _make(method: str, teacher, common: dict):
    from skdistill.classification import (
        DKDClassifier,
        FitNetClassifier,
        KDClassifier,
        OFAClassifier,
        SFKDClassifier,
    )

    if method == "alone":
        return SFKDClassifier(teacher=None, **common)
    cls = {
        "kd": KDClassifier,
        "fitnet": FitNetClassifier,
        "ofa": OFAClassifier,
        "dkd": DKDClassifier,
        "sfkd": SFKDClassifier,
    }[method]
    return cls(teacher=teacher, **common)


def _fit_and_score(model, X_train, y_train, X_test, y_test) -> dict:
    t0 = time.perf_counter()
    model.fit(X_train, y_train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    accuracy = float(np.mean(model.predict(X_test) == y_test))
    predict_s = time.perf_counter() - t0
    durations = [float(d) for d in model.history_[:, "dur"]]
    train_only = sum(p.numel() for p in model.net_.module_.objective.parameters())
    return {
        "accuracy": accuracy,
        "fit_s": fit_s,
        "epoch_s": statistics.fmean(durations),
        "epochs": len(durations),
        "predict_s": predict_s,
        "params": model.n_parameters(),
        "train_only_params": train_only,
        "final_train_loss": float(model.history_[-1, "train_loss"]),
    }


def _summary(runs: list[dict]) -> dict:
    def stats(key):
        values = [r[key] for r in runs]
        return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)

    acc_mean, acc_std = stats("accuracy")
    fit_mean, fit_std = stats("fit_s")
    epoch_mean, epoch_std = stats("epoch_s")
    return {
        "accuracy_mean": acc_mean,
        "accuracy_std": acc_std,
        "fit_s_mean": fit_mean,
        "fit_s_std": fit_std,
        "epoch_s_mean": epoch_mean,
        "epoch_s_std": epoch_std,
        "params": runs[0]["params"],
        "train_only_params": runs[0]["train_only_params"],
    }


def main(argv=None) -> dict:
    args = _parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    from skdistill import __version__  # noqa: F401  (fail early on a broken install)
    from skdistill._validation import resolve_device
    from skdistill.classification import KDClassifier
    from skdistill.datasets import load_fashion_mnist

    device = resolve_device(args.device)
    data_home = _data_home(args)
    t_start = time.perf_counter()
    X_train, y_train = load_fashion_mnist(data_home, split="train", download=args.download)
    X_test, y_test = load_fashion_mnist(data_home, split="test", download=args.download)
    X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    if args.n_test is not None:
        X_test, y_test = X_test[: args.n_test], y_test[: args.n_test]
    print(
        f"Fashion-MNIST: {len(X_train)} train / {len(X_test)} test images, "
        f"student epochs {args.epochs}, teacher epochs {args.teacher_epochs}, "
        f"seeds {args.seeds}, device {device}, torch threads {torch.get_num_threads()}",
        flush=True,
    )

    teacher = KDClassifier(
        student="cnn", teacher=None, max_epochs=args.teacher_epochs,
        batch_size=args.batch_size, device=device, random_state=args.teacher_seed,
    )
    teacher_run = _fit_and_score(teacher, X_train, y_train, X_test, y_test)
    print(f"  teacher (CNN): acc {teacher_run['accuracy']:.4f}, fit {teacher_run['fit_s']:.1f} s",
          flush=True)

    per_seed: dict[str, list[dict]] = {m: [] for m in args.methods}
    feature_shapes: dict[str, dict] = {}
    for seed in args.seeds:
        common = dict(student="vit", max_epochs=args.epochs, batch_size=args.batch_size,
                      device=device, random_state=seed)
        for method in args.methods:
            model = _make(method, teacher, common)
            run = _fit_and_score(model, X_train, y_train, X_test, y_test)
            run["seed"] = seed
            per_seed[method].append(run)
            feature_shapes.setdefault(method, {
                side: {k: list(v) if isinstance(v, tuple) else v for k, v in shape.items()}
                for side, shape in model.feature_shapes_.items()
            })
            print(f"  seed {seed} {LABELS[method]:<10} acc {run['accuracy']:.4f}, "
                  f"fit {run['fit_s']:.1f} s, {run['epoch_s']:.2f} s/epoch", flush=True)

    rows = [{"method": m, "label": LABELS[m], **_summary(per_seed[m])} for m in args.methods]
    n_seeds = len(args.seeds)
    print(f"\nFashion-MNIST, CNN teacher -> ViT students, {len(X_train)} train / "
          f"{len(X_test)} test, {args.epochs} epoch(s), {n_seeds} seed(s)")
    print(f"teacher CNN: {teacher_run['params']:,} parameters, test accuracy "
          f"{teacher_run['accuracy']:.4f}, fit {teacher_run['fit_s']:.1f} s\n")
    acc_head = "accuracy" if n_seeds == 1 else "accuracy (mean +- std)"
    print(f"{'method':<11}{acc_head:>24}{'fit s':>9}{'s/epoch':>9}{'params':>10}"
          f"{'train-only':>12}")
    for r in rows:
        acc = (f"{r['accuracy_mean']:.4f}" if n_seeds == 1
               else f"{r['accuracy_mean']:.4f} +- {r['accuracy_std']:.4f}")
        print(f"{r['label']:<11}{acc:>24}{r['fit_s_mean']:>9.1f}{r['epoch_s_mean']:>9.2f}"
              f"{r['params']:>10,}{r['train_only_params']:>12,}")
    print("(params: the student that predicts; train-only: projector / DS2S / OFA branch, "
          "dropped after fit)")
    total_s = time.perf_counter() - t_start
    print(f"total {total_s:.1f} s")

    record = {
        "benchmark": "fashion_mnist_acceptance",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "settings": {**vars(args), "data_home": data_home, "n_train_used": len(X_train),
                     "n_test_used": len(X_test)},
        "teacher": {"model": "cnn", **teacher_run},
        "rows": rows,
        "per_seed": per_seed,
        "feature_shapes": feature_shapes,
        "total_s": total_s,
        "versions": _versions(),
        "machine": _machine(device),
    }
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    print(f"wrote {out}")
    return record


if __name__ == "__main__":
    main()
