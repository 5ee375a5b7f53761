"""Data-parallel training through Accelerate: 2 CPU processes (gloo) give one fitted model."""

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("accelerate")

from skdistill.training.accelerate import active_accelerator, use_accelerator  # noqa: E402

SCRIPT = Path(__file__).parent / "scripts" / "accelerate_fit.py"


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("accelerate")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(SCRIPT),
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(p.read_text()) for p in sorted(out.glob("rank*.json"))]
    return out, {line["rank"]: line for line in lines}


def test_two_processes_share_one_history(two_process_run):
    _, ranks = two_process_run
    assert sorted(ranks) == [0, 1] and ranks[0]["world"] == 2
    # Every term is averaged over the processes before it is recorded: identical histories,
    # so early stopping (valid_loss) would stop both processes at the same epoch.
    for model in ("forecaster", "classifier", "regressor"):
        a, b = ranks[0][model], ranks[1][model]
        for key in a:
            if key.startswith(("train_", "valid_")) and not key.endswith(("_best", "_count")):
                assert a[key] == b[key], (model, key)
    f = ranks[0]["forecaster"]
    assert {"train_sup", "train_pred_scale", "train_feat_period", "valid_loss"} <= set(f)
    # Each process trained on its half of the windows: 1,200 rows, 20 % validation, L=48, H=8
    # -> 905 training windows, 29 batches of 32 in one process, 15 in each of two.
    assert f["train_batch_count"] == 15


def test_main_process_model_predicts_and_pickles(two_process_run):
    from sklearn.datasets import load_digits

    out, _ = two_process_run
    forecaster, classifier, regressor = pickle.loads((out / "models.pkl").read_bytes())
    # An ordinary fitted estimator: the plain net class, on the CPU, no accelerator inside.
    for model in (forecaster, classifier, regressor):
        assert type(model.net_).__name__ == "DistillNet"
        assert model.net_.device == "cpu" and not hasattr(model.net_, "accelerator")
        # Slim: no optimiser moments travel with a fitted model.
        assert not model.net_.optimizer_.state
    assert regressor.predict(np.zeros((3, 48, 7))).shape == (3, 8, 7)
    pred = forecaster.predict(fh=range(1, 9))
    assert pred.shape == (8, 7) and np.isfinite(pred.to_numpy()).all()
    X, _ = load_digits(return_X_y=True)
    proba = classifier.predict_proba((X[:20] / 16.0).astype(np.float32))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    again = pickle.loads(pickle.dumps(forecaster))
    np.testing.assert_array_equal(again.predict(fh=range(1, 9)), pred)


def test_use_accelerator_is_scoped_and_checked():
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    assert active_accelerator() is None
    with use_accelerator(accelerator) as acc:
        assert active_accelerator() is acc is accelerator
    assert active_accelerator() is None
    with pytest.raises(TypeError, match="accelerate.Accelerator"):
        with use_accelerator("cuda"):
            pass
