"""The ``skdistill demo`` command and the windowed evaluation it is built on."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from skdistill._evaluation import evaluate_windows, iter_windows, latency_ms
from skdistill.cli import main
from skdistill.datasets import load_ltsf


def test_demo_quick_prints_table_and_writes_results(tmp_path, capsys):
    assert main(["demo", "--quick", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert "test MSE" in table[0] and "speed-up vs teacher" in table[0]
    names = [line.split("|")[1].strip() for line in table[1:]]
    assert names == ["PatchTST (teacher)", "MLP alone", "MLP distilled"]
    assert "faster than its teacher" in out and "interleaved" in out

    results = json.loads((tmp_path / "results.json").read_text())
    assert [m["model"] for m in results["models"]] == names
    for m in results["models"]:
        assert math.isfinite(m["mse"]) and math.isfinite(m["mae"]) and m["mse"] > 0
        assert m["latency_ms"] > 0 and m["params"] > 0
        # Every stride-1 test window of the ETTh1 protocol: 2880 test rows, H=24.
        assert m["n_test_windows"] == 2880 - 24 + 1
    assert results["settings"]["window_length"] == 96 and results["settings"]["horizon"] == 24
    assert {"skdistill", "torch", "sktime"} <= set(results["versions"])
    assert results["machine"]["cpu_count"] >= 1
    # Another L than the bundled teacher's: the teacher was trained here.
    assert results["teacher"] == "trained" and results["settings"]["teacher_weights"] is None
    assert (tmp_path / "demo.png").stat().st_size > 1000


def test_demo_uses_the_bundled_teacher_unless_told_to_train_it():
    import argparse

    from skdistill.demo import _settings, add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert _settings(parser.parse_args([]))["teacher_weights"] == "ETTh1_PatchTST_L720_H96.pt"
    for argv in (["--train-teacher"], ["--horizon", "192"], ["--teacher", "itransformer"]):
        assert _settings(parser.parse_args(argv))["teacher_weights"] is None


def test_bundled_teacher_loads_without_code_and_forecasts_etth1():
    from importlib.resources import files

    import torch

    from skdistill.forecasting import PatchTSTForecaster

    path = files("skdistill.datasets").joinpath("weights", "ETTh1_PatchTST_L720_H96.pt")
    assert path.stat().st_size < 2_000_000  # a few MB at most
    record = torch.load(path, weights_only=True)
    assert record["estimator"] == "PatchTSTForecaster" and record["fh_steps"] == list(range(1, 97))
    y = load_ltsf("ETTh1").iloc[:11520]
    teacher = PatchTSTForecaster.from_weights(path, y, verbose=0)
    values = load_ltsf("ETTh1").to_numpy()
    # The first 64 test windows: the trained teacher beats repeating the last value.
    test = slice(10800, 10800 + 720 + 96 + 63)
    metrics = evaluate_windows(
        teacher, values, test, teacher.scaler_mean_, teacher.scaler_scale_, 96
    )
    contexts = np.stack([values[10800 + i : 10800 + i + 720] for i in range(64)])
    truth = np.stack([values[10800 + 720 + i : 10800 + 816 + i] for i in range(64)])
    naive = ((np.repeat(contexts[:, -1:], 96, axis=1) - truth) / teacher.scaler_scale_) ** 2
    assert metrics["n_windows"] == 64 and metrics["mse"] < 0.8 * naive.mean()


def test_iter_windows_covers_exactly_the_target_rows():
    # Row r holds the values (r, -r): every window can be traced back to its rows.
    T = 50
    values = np.stack([np.arange(T), -np.arange(T)], axis=1).astype(float)
    start, stop, L, H = 7, 41, 5, 3
    chunks = list(iter_windows(values, start, stop, L, H, batch=4))
    assert max(len(c) for c, _ in chunks) == 4 and len(chunks) == 7  # 26 windows
    contexts = np.concatenate([c for c, _ in chunks])
    targets = np.concatenate([t for _, t in chunks])
    n = stop - start - L - H + 1
    assert contexts.shape == (n, L, 2) and targets.shape == (n, H, 2)
    for i in range(n):
        np.testing.assert_array_equal(contexts[i], values[start + i : start + i + L])
        np.testing.assert_array_equal(targets[i], values[start + i + L : start + i + L + H])
    # Targets cover exactly rows [start + L, stop): the last window ends at the last row.
    assert set(targets[:, :, 0].ravel().astype(int)) == set(range(start + L, stop))
    # Chunks are copies, not views on the series.
    c0, _ = chunks[0]
    assert c0.base is None or not np.shares_memory(c0, values)
    with pytest.raises(ValueError, match="no window fits"):
        next(iter_windows(values, 0, L + H - 1, L, H))


@pytest.fixture(scope="module")
def tiny_mlp():
    from skdistill.forecasting import MLPForecaster

    y = load_ltsf("ETTh1").iloc[:400]
    f = MLPForecaster(
        window_length=16,
        hidden_size=8,
        moving_avg=5,
        max_epochs=1,
        validation_size=None,
        random_state=0,
    )
    return f.fit(y, fh=np.arange(1, 7))


def test_evaluate_windows_matches_direct_computation(tiny_mlp):
    values = load_ltsf("ETTh1").to_numpy()
    L, H = 16, 6
    rows = slice(400, 470)
    mean, scale = values[:400].mean(axis=0), values[:400].std(axis=0)
    starts = range(rows.start, rows.stop - L - H + 1)
    contexts = np.stack([values[s : s + L] for s in starts])
    targets = np.stack([values[s + L : s + L + H] for s in starts])
    pred = tiny_mlp.predict_windows(contexts)
    z_pred, z_true = (pred - mean) / scale, (targets - mean) / scale

    # batch=10 does not divide the 49 windows: the chunking must not change the average
    # (up to float32 rounding: the network sees batches of another size).
    got = evaluate_windows(tiny_mlp, values, rows, mean, scale, H, batch=10)
    assert got["n_windows"] == len(contexts) == 49
    assert got["mse"] == pytest.approx(np.mean((z_pred - z_true) ** 2), rel=1e-6)
    assert got["mae"] == pytest.approx(np.mean(np.abs(z_pred - z_true)), rel=1e-6)

    lat = latency_ms(tiny_mlp, contexts[:32], repeats=3, warmup=1)
    assert lat["ms"] > 0 and lat["repeats"] == 3 and lat["n_windows"] == 32


def test_demo_with_another_teacher(tmp_path, capsys):
    from skdistill.cli import main

    assert main(["demo", "--quick", "--teacher", "timemixer", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "TimeMixer (teacher)" in out and (tmp_path / "results.json").exists()
