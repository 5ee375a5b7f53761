"""What ``"auto"`` loss weights do for the classifiers: accuracy and cost against fixed weights.

Digits (the first 1,200 images train, the other 597 test), one torch thread. Two teachers:
a CNN trained alone (``KDClassifier``, 20 epochs: a good teacher) and a logistic regression
fitted on shuffled labels (a teacher that can only mislead). For each, two students: a KD
MLP and an SFKD ViT (tapping the CNN's ``layer2``), each trained alone (weights 0), with the
default fixed weights and with every weight "auto"; 10 epochs. Prints the test accuracy,
the fit time, the chosen weights and whether a ``WeakTeacherWarning`` was raised; writes a
JSON record. A script that prints numbers, not a test.

Run from the repository root::

    python benchmarks/classifier_auto_weights.py
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", default="benchmarks/results/classifier_auto_weights.json")
    args = parser.parse_args()

    import torch
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    from skdistill.classification import KDClassifier, SFKDClassifier
    from skdistill.exceptions import WeakTeacherWarning

    torch.set_num_threads(args.threads)
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    Xtr, ytr, Xte, yte = X[:1200], y[:1200], X[1200:], y[1200:]
    common = dict(max_epochs=args.epochs, random_state=0, verbose=0)
    cnn = KDClassifier(student="cnn", max_epochs=20, random_state=0, verbose=0).fit(Xtr, ytr)
    liar = LogisticRegression(max_iter=500).fit(
        Xtr.reshape(len(Xtr), -1), np.random.default_rng(0).permutation(ytr)
    )
    teachers = {"CNN (good)": cnn, "shuffled-label logistic (misleading)": liar}
    print(f"teacher test accuracy: CNN {cnn.score(Xte, yte):.3f}", flush=True)
    records = []
    for t_name, teacher in teachers.items():
        flat = isinstance(teacher, LogisticRegression)
        students = {
            "KD MLP": (KDClassifier, {"student": "mlp"}, ("alpha",)),
            "SFKD ViT": (
                SFKDClassifier,
                {"student": "vit", "teacher_layer": "layer2"} if not flat else {"student": "vit"},
                ("alpha", "beta", "gamma"),
            ),
        }
        for s_name, (cls, params, weights) in students.items():
            variants = {
                "alone": dict.fromkeys(weights, 0.0),
                "fixed (defaults)": {},
                "auto": dict.fromkeys(weights, "auto"),
            }
            for v_name, w in variants.items():
                model = cls(teacher, **params, **common, **w)
                data = (
                    (Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)) if flat else (Xtr, Xte)
                )
                if flat:
                    model.set_params(input_shape=(1, 8, 8))
                t0 = time.perf_counter()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", WeakTeacherWarning)
                    model.fit(data[0], ytr)
                seconds = time.perf_counter() - t0
                rec = {
                    "teacher": t_name,
                    "student": s_name,
                    "variant": v_name,
                    "test_accuracy": float(model.score(data[1], yte)),
                    "fit_s": seconds,
                    "weights": {n: getattr(model, n + "_") for n in weights},
                    "weak_teacher_warning": any(
                        issubclass(c.category, WeakTeacherWarning) for c in caught
                    ),
                    "search": model.weight_search_,
                }
                records.append(rec)
                print(
                    f"{t_name:<38} {s_name:<8} {v_name:<16} acc {rec['test_accuracy']:.3f} "
                    f"fit {seconds:6.1f} s weights {rec['weights']} "
                    f"warned {rec['weak_teacher_warning']}",
                    flush=True,
                )
            fixed = next(r for r in records[-3:] if r["variant"] == "fixed (defaults)")
            auto = records[-1]
            print(f"  auto fit / fixed fit: {auto['fit_s'] / fixed['fit_s']:.2f}", flush=True)
    out = {"records": records, "threads": args.threads, "load_average": os.getloadavg()}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(out, indent=2, default=float))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
