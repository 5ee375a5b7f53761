"""Fit a distilled forecaster, regressor and classifier data-parallel; run with torchrun.

``torchrun --nproc_per_node 2 accelerate_fit.py OUT_DIR``: every process writes its final
history line as JSON (rankN.json); the main process pickles the fitted estimators into OUT_DIR.
"""

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator

from skdistill.classification import SFKDClassifier
from skdistill.datasets import load_ltsf
from skdistill.forecasting import DistilledMLPForecaster, ITransformerForecaster
from skdistill.regression import DistilledMLPRegressor
from skdistill.training.accelerate import use_accelerator


def main(out: Path) -> None:
    torch.set_num_threads(1)
    accelerator = Accelerator(cpu=True)
    y = load_ltsf("ETTh1").iloc[:1200]
    teacher = ITransformerForecaster(
        window_length=48, d_model=16, d_ff=16, n_heads=2, e_layers=1, max_epochs=1, random_state=0
    ).fit(y, fh=range(1, 9))
    forecaster = DistilledMLPForecaster(
        teacher,
        window_length=48,
        hidden_size=32,
        moving_avg=5,
        max_epochs=3,
        patience=None,
        random_state=0,
        # Fixed weights: the distillation terms must run (and be averaged) in both
        # processes; "auto" drops this one-epoch teacher, far worse than the student.
        alpha=1.0,
        beta=1.0,
    )
    # The regressor on the same windows, with the teacher's own forecasts as its targets.
    values = y.to_numpy()
    starts = np.arange(0, 900)
    windows = np.stack([values[s : s + 48] for s in starts])
    targets = np.stack([values[s + 48 : s + 56] for s in starts])
    regressor = DistilledMLPRegressor(
        hidden_size=32, moving_avg=5, max_epochs=3, patience=None, random_state=0
    )
    teacher_pred = teacher.predict_windows(windows)
    from sklearn.datasets import load_digits

    X, labels = load_digits(return_X_y=True)
    X = (X[:600] / 16.0).astype(np.float32)
    labels = labels[:600]
    cnn = SFKDClassifier(student="cnn", input_shape=(1, 8, 8), max_epochs=2, random_state=0)
    cnn.fit(X, labels)
    classifier = SFKDClassifier(
        teacher=cnn.net_.module_.student,
        student="vit",
        input_shape=(1, 8, 8),
        teacher_layer="layer2",
        max_epochs=2,
        random_state=0,
    )
    with use_accelerator(accelerator):
        forecaster.fit(y, fh=range(1, 9))
        regressor.fit(windows, targets, teacher_predictions=teacher_pred)
        classifier.fit(X, labels)
    # One file per rank: two processes printing to one pipe can interleave their lines.
    out.mkdir(parents=True, exist_ok=True)
    (out / f"rank{accelerator.process_index}.json").write_text(
        json.dumps(
            {
                "rank": accelerator.process_index,
                "world": accelerator.num_processes,
                "forecaster": {k: v for k, v in forecaster.history_[-1].items() if k != "batches"},
                "classifier": {k: v for k, v in classifier.history_[-1].items() if k != "batches"},
                "regressor": {k: v for k, v in regressor.history_[-1].items() if k != "batches"},
            }
        )
    )
    if accelerator.is_main_process:
        (out / "models.pkl").write_bytes(pickle.dumps((forecaster, classifier, regressor)))
    accelerator.wait_for_everyone()
    accelerator.end_training()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
