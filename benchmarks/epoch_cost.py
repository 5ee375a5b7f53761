"""What distillation costs per epoch against plain training of the same student, on the CPU.

Two parts, each interleaved in one process (the order alternates per repeat, the seed is the
repeat) so that a noisy machine shifts both sides alike; the ratios are of medians:

* ``timedistill``: ``MLPForecaster`` against ``DistilledMLPForecaster`` (alpha = beta = 1) on
  ETTh1 at the paper's look-back (L = 720, H = 96, batch 32), from an iTransformer teacher
  (default size, 512-wide features, one epoch, fitted once; its outputs are cached by the
  distiller, so a distillation epoch never runs the teacher), in float32 and in bf16 autocast.
* ``sfkd``: ``KDClassifier`` against ``SFKDClassifier`` (defaults, teacher layer ``layer2``)
  on 4,500 Fashion-MNIST images, a CNN teacher (one epoch, fitted once) and a ViT student.

Seconds per epoch are skorch's ``dur`` (the training and validation passes of one epoch).
Prints per arm the epochs and their median, and the ratios; writes a JSON record.

Run from the repository root::

    python benchmarks/epoch_cost.py                    # both parts, 3 repeats x 2 epochs (~12 min)
    python benchmarks/epoch_cost.py --part sfkd --batch-size 32
    python benchmarks/epoch_cost.py --quick            # smoke run: 1 repeat, 1 epoch, less data

This is a script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from pathlib import Path

import torch

from skdistill.classification import KDClassifier, SFKDClassifier
from skdistill.datasets import load_fashion_mnist, load_ltsf
from skdistill.forecasting import DistilledMLPForecaster, ITransformerForecaster, MLPForecaster

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _interleaved(arms: dict, repeats: int) -> dict:
    """Run every arm ``repeats`` times, alternating the order; the epochs of each arm."""
    names = list(arms)
    epochs: dict = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            model = arms[name](r)
            epochs[name] += [float(row["dur"]) for row in model.history_]
            print(
                f"  repeat {r} {name}: {[round(d, 2) for d in epochs[name][-len(model.history_) :]]}"
            )
    return epochs


def timedistill(repeats: int, epochs: int, quick: bool) -> dict:
    y = load_ltsf("ETTh1").iloc[: 8640 + 2880]
    window = 96 if quick else 720
    fh = list(range(1, 97))
    teacher = ITransformerForecaster(
        window_length=window, max_epochs=1, patience=None, random_state=0, verbose=0
    ).fit(y, fh=fh)
    common = {"window_length": window, "max_epochs": epochs, "patience": None, "verbose": 0}

    def arm(kind: str, precision: str):
        def fit(seed: int):
            if kind == "mlp":
                model = MLPForecaster(random_state=seed, precision=precision, **common)
            else:
                model = DistilledMLPForecaster(
                    teacher=teacher,
                    alpha=1.0,
                    beta=1.0,
                    random_state=seed,
                    precision=precision,
                    **common,
                )
            return model.fit(y, fh=fh)

        return fit

    arms = {f"{k}_{p}": arm(k, p) for p in ("32", "bf16") for k in ("mlp", "distilled")}
    result = _interleaved(arms, repeats)
    med = {k: statistics.median(v) for k, v in result.items()}
    return {
        "setting": {"dataset": "ETTh1", "window_length": window, "horizon": 96, "batch_size": 32},
        "epochs_s": result,
        "median_s": med,
        "ratio_32": med["distilled_32"] / med["mlp_32"],
        "ratio_bf16": med["distilled_bf16"] / med["mlp_bf16"],
        "ratio_bf16_to_mlp_32": med["distilled_bf16"] / med["mlp_32"],
    }


def sfkd(repeats: int, epochs: int, batch_size: int, quick: bool) -> dict:
    X, y = load_fashion_mnist(DATA / "vision", download=False)
    n = 1000 if quick else 4500
    X, y = X[:n], y[:n]
    teacher = KDClassifier(
        student="cnn", max_epochs=1, random_state=0, verbose=0, batch_size=128
    ).fit(X, y)
    common = {"student": "vit", "max_epochs": epochs, "verbose": 0, "batch_size": batch_size}
    arms = {
        "kd": lambda seed: KDClassifier(teacher, random_state=seed, **common).fit(X, y),
        "sfkd": lambda seed: SFKDClassifier(
            teacher, teacher_layer="layer2", random_state=seed, **common
        ).fit(X, y),
    }
    result = _interleaved(arms, repeats)
    med = {k: statistics.median(v) for k, v in result.items()}
    return {
        "setting": {
            "dataset": "fashion_mnist",
            "n_train": n,
            "pair": "cnn->vit",
            "batch_size": batch_size,
        },
        "epochs_s": result,
        "median_s": med,
        "ratio": med["sfkd"] / med["kd"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("timedistill", "sfkd", "both"), default="both")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128, help="of the sfkd part")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", default="benchmarks/results/epoch_cost.json")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.epochs = 1, 1
    torch.set_num_threads(args.threads)
    record = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "torch": torch.__version__,
            "threads": args.threads,
        },
        "repeats": args.repeats,
        "epochs": args.epochs,
    }
    if args.part in ("timedistill", "both"):
        print("timedistill: MLP against distilled MLP, float32 and bf16")
        record["timedistill"] = timedistill(args.repeats, args.epochs, args.quick)
        td = record["timedistill"]
        print({k: round(v, 2) for k, v in td["median_s"].items()})
        print(
            f"distilled / MLP epoch: float32 {td['ratio_32']:.2f}x, bf16 {td['ratio_bf16']:.2f}x, "
            f"bf16 distilled / float32 MLP {td['ratio_bf16_to_mlp_32']:.2f}x"
        )
    if args.part in ("sfkd", "both"):
        print(f"sfkd: KD against SFKD, batch {args.batch_size}")
        record["sfkd"] = sfkd(args.repeats, args.epochs, args.batch_size, args.quick)
        sf = record["sfkd"]
        print({k: round(v, 2) for k, v in sf["median_s"].items()})
        print(f"SFKD / KD epoch: {sf['ratio']:.2f}x")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"record: {out}")


if __name__ == "__main__":
    main()
