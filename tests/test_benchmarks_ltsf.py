"""The LTSF benchmark suite: records per cell, resume, report, and its command line."""

import json

import numpy as np
import pytest

from skdistill.benchmarks import (
    LTSFConfig,
    load_ltsf_records,
    render_ltsf_report,
    run_ltsf,
)
from skdistill.benchmarks.ltsf import with_overrides
from skdistill.cli import main

TINY = LTSFConfig(
    datasets=("ETTh1",),
    horizons=(8,),
    teachers=("itransformer",),
    methods=("teacher", "mlp", "timedistill", "no_period"),
    window_length=24,
    teacher_params={
        "itransformer": {"d_model": 8, "d_ff": 8, "n_heads": 2, "e_layers": 1, "max_epochs": 1}
    },
    student_params={"hidden_size": 16, "moving_avg": 5, "max_epochs": 1},
    latency_repeats=2,
    online_epochs=1,
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, shared_data):
    out = tmp_path_factory.mktemp("ltsf")
    lines = []
    records = run_ltsf(TINY, out, data_home=shared_data / "ltsf", log=lines.append)
    return out, records, lines


def test_every_cell_has_a_finite_record(tiny_run):
    out, records, lines = tiny_run
    methods = sorted(r["method"] for r in records)
    assert methods == sorted(["teacher", "mlp", "timedistill", "no_period", "epoch_timing"])
    for r in records:
        assert r["epoch_s"] > 0
        if r["method"] == "epoch_timing":
            # Three fits and two latencies timed back to back, for fair ratios.
            keys = (
                "epoch_s_mlp",
                "epoch_s_cached",
                "epoch_s_online",
                "latency_ms_teacher",
                "latency_ms_student",
            )
            assert all(np.isfinite(r[k]) and r[k] > 0 for k in keys)
        else:
            assert np.isfinite(r["mse"]) and np.isfinite(r["mae"]) and r["mse"] > 0
            # ETTh1 test split for L=24, H=8: rows [11496, 14400) -> 2880 - 8 + 1 windows.
            assert r["n_windows"] == 2873
            assert len(r["example"]["prediction"]) == 8
    by = {r["method"]: r for r in records}
    assert by["timedistill"]["params"] == by["mlp"]["params"]  # the student alone at inference
    assert (by["timedistill"]["alpha"], by["timedistill"]["beta"]) == (2.0, 2.0)  # ETTh1 row
    assert len(list((out / "cells").glob("*.json"))) == len(records)
    run = json.loads((out / "run.json").read_text())["runs"][0]
    assert run["config"]["window_length"] == 24 and "torch" in run["versions"]
    assert len(lines) == len(records) and "MSE" in lines[0]


def test_resume_does_not_refit(tiny_run, shared_data):
    out, records, _ = tiny_run
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    lines = []
    again = run_ltsf(TINY, out, data_home=shared_data / "ltsf", log=lines.append)
    assert all(line.endswith("recorded") for line in lines)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")} == stamps
    assert [r["mse"] for r in again if "mse" in r] == [r["mse"] for r in records if "mse" in r]
    assert len(json.loads((out / "run.json").read_text())["runs"]) == 2


def test_report_tables_and_plots(tiny_run, tmp_path):
    out, records, _ = tiny_run
    paths = render_ltsf_report(out, tmp_path)
    md = paths["md"].read_text()
    by = {r["method"]: r for r in load_ltsf_records(out)}
    assert f"{by['timedistill']['mse']:.3f}" in md
    assert "| ETTh1 | 8 |" in md and "no_period" in md and "0.429" in md
    # Issue 23: the weights each TimeDistill row used.
    assert "Loss weights (alpha, beta) of the TimeDistill rows: ETTh1 (2, 2)." in md
    # Every goal is reported as met or not, with its figure.
    assert "beats the MLP alone on every dataset" in md and "1.3x a plain MLP epoch" in md
    assert ">= 7x faster" in md and ("not met" in md or ": met" in md)
    assert ".. list-table::" in paths["rst"].read_text()
    assert {p.name for p in paths["plots"]} == {
        "ltsf_mse_itransformer.png",
        "ltsf_accuracy_latency.png",
        "ltsf_example.png",
    }
    assert all(p.stat().st_size > 1000 for p in paths["plots"])


@pytest.mark.parametrize(
    "latencies", [(0.3, 0.5, 1.1, 2.5), (0.3, 0.45), (0.05, 300.0), (1e-4, 1e5)]
)
def test_latency_plot_tick_labels_do_not_overlap(monkeypatch, tmp_path, latencies):
    # Issue 20: over about a decade, matplotlib labelled the log axis' minor ticks
    # ("3x10^-1", "4x10^-1", ...) and the labels ran into each other.
    from skdistill.benchmarks import ltsf_report
    from skdistill.benchmarks._report import pyplot

    figures = []

    def keep(fig, folder, name, names):
        fig.tight_layout()
        fig.canvas.draw()
        figures.append(fig)

    monkeypatch.setattr(ltsf_report, "save", keep)
    records = [
        {
            "dataset": "ETTh1",
            "horizon": 96,
            "teacher": f"t{i}",
            "method": "teacher",
            "mse": 0.4,
            "latency_ms": latency,
        }
        for i, latency in enumerate(latencies)
    ]
    records.append(
        {
            "dataset": "ETTh1",
            "horizon": 96,
            "teacher": None,
            "method": "mlp",
            "mse": 0.45,
            "latency_ms": min(latencies),
        }
    )
    ltsf_report._latency_plot(records, tmp_path, [])
    (fig,) = figures
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    lo, hi = ax.get_xlim()
    ticks = ax.xaxis.get_major_ticks() + ax.xaxis.get_minor_ticks()
    shown = [
        t.label1
        for t in ticks
        if lo <= t.get_loc() <= hi and t.label1.get_visible() and t.label1.get_text()
    ]
    assert len(shown) >= 2  # the axis is still labelled
    assert not [t for t in ax.xaxis.get_minor_ticks() if t.label1.get_text()]
    boxes = sorted((label.get_window_extent(renderer) for label in shown), key=lambda b: b.x0)
    assert all(a.x1 < b.x0 for a, b in zip(boxes[:-1], boxes[1:], strict=True))
    pyplot().close(fig)


def test_run_lock_is_removed_and_still_excludes(tmp_path):
    # Issue 20: append_run left .run.lock in the output folder. Removed now, and the lock
    # still lets one writer at a time read-modify-write run.json.
    import threading
    import time

    from skdistill.benchmarks._common import append_run, exclusive

    lock = tmp_path / ".run.lock"
    inside, most = [0], [0]
    guard = threading.Lock()

    def hold():
        with exclusive(lock):
            with guard:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.01)
            with guard:
                inside[0] -= 1

    # Staggered, so that some open the file while a holder removes it (the classic race of
    # removing a lock file: two holders, one on the removed file and one on a new one).
    threads = [threading.Thread(target=hold) for _ in range(16)]
    for t in threads:
        t.start()
        time.sleep(0.004)
    for t in threads:
        t.join()
    assert most[0] == 1 and not lock.exists()

    # A holder makes a second one wait (not fail), and the file goes once both are done.
    entered = threading.Event()
    with exclusive(lock):
        other = threading.Thread(target=lambda: (hold(), entered.set()))
        other.start()
        assert not entered.wait(0.2)
    assert entered.wait(5) and not lock.exists()
    other.join()

    writers = [threading.Thread(target=append_run, args=(tmp_path, TINY)) for _ in range(6)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    assert len(json.loads((tmp_path / "run.json").read_text())["runs"]) == 6
    assert not lock.exists()


def test_bad_configuration_is_named():
    with pytest.raises(ValueError, match="methods: unknown"):
        run_ltsf(LTSFConfig(methods=("teacher", "distil")), "unused")
    with pytest.raises(ValueError, match="teachers: unknown"):
        run_ltsf(LTSFConfig(teachers=("informer",)), "unused")
    with pytest.raises(ValueError, match="unknown profile"):
        run_ltsf("fast", "unused")
    with pytest.raises(ValueError, match="horizons"):
        run_ltsf(LTSFConfig(horizons=(0,)), "unused")
    with pytest.raises(ValueError, match="threads"):
        run_ltsf(LTSFConfig(threads=0), "unused")


def test_cli_report_only_without_records_fails_clearly(tmp_path, capsys):
    status = main(["benchmark", "ltsf", "--report-only", "--output-dir", str(tmp_path)])
    assert status == 2
    assert "no cell records" in capsys.readouterr().err


def test_cli_renders_the_stored_run(tiny_run, tmp_path, capsys):
    out, _, _ = tiny_run
    assert (
        main(
            [
                "benchmark",
                "ltsf",
                "--report-only",
                "--output-dir",
                str(out),
                "--report-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert (tmp_path / "report.md").exists()
    assert "report:" in capsys.readouterr().out


def test_teachers_from_outside_the_package(tmp_path, shared_data):
    pytest.importorskip("transformers")
    from skdistill.datasets import load_ltsf, ltsf_split

    config = LTSFConfig(
        datasets=("ETTh1",),
        horizons=(8,),
        teachers=("seasonal_naive", "hf_patchtst"),
        methods=("teacher", "mlp", "timedistill"),
        window_length=24,
        student_params={"hidden_size": 16, "moving_avg": 5, "max_epochs": 1},
        latency_repeats=2,
        online_epochs=1,
    )
    records = run_ltsf(config, tmp_path, data_home=shared_data / "ltsf", log=lambda s: None)
    by = {(r["teacher"], r["method"]): r for r in records}
    # No per-batch path for a forecaster without a module: no timing cell for it.
    assert ("seasonal_naive", "epoch_timing") not in by and ("hf_patchtst", "epoch_timing") in by
    naive = by["seasonal_naive", "teacher"]
    # The seasonal naive's score, computed by hand: the last 24 rows repeated, on the test
    # windows, standardised with the training rows' scaler.
    frame = load_ltsf("ETTh1", data_home=shared_data / "ltsf")
    values = frame.to_numpy()
    train, _, test = ltsf_split("ETTh1", len(frame), 24)
    mean, std = values[: train.stop].mean(0), values[: train.stop].std(0)
    z = (values - mean) / std
    starts = np.arange(test.start, test.stop - 24 - 8 + 1)
    truth = np.stack([z[s + 24 : s + 32] for s in starts])
    forecast = np.stack([z[s : s + 8] for s in starts])  # sp = L = 24: the context's first 8 rows
    assert naive["mse"] == pytest.approx(np.mean((forecast - truth) ** 2), rel=1e-9)
    assert naive["params"] == 0 and naive["epochs"] is None
    distilled = by["seasonal_naive", "timedistill"]
    assert (distilled["alpha"], distilled["beta"]) == (0.5, 0.0)  # prediction level only
    hf = by["hf_patchtst", "timedistill"]
    assert (hf["alpha"], hf["beta"]) == (1.0, 1.0) and hf["teacher_cached"]
    assert by["hf_patchtst", "teacher"]["params"] > hf["params"] / 100
    for r in records:
        if "mse" in r:
            assert np.isfinite(r["mse"]) and r["n_windows"] == 2873
    # The Hugging Face teacher is kept as weights and rebuilt, not trained again.
    saved = sorted(p.name for p in (tmp_path / "teachers").iterdir())
    assert saved == ["ETTh1_H8_hf_patchtst_teacher_s0.json", "ETTh1_H8_hf_patchtst_teacher_s0.pt"]
    again = run_ltsf(
        with_overrides(config, methods=("teacher", "prediction_only")),
        tmp_path,
        data_home=shared_data / "ltsf",
        log=lambda s: None,
    )
    hf_again = [r for r in again if r["teacher"] == "hf_patchtst" and r["method"] == "teacher"]
    assert hf_again[0]["mse"] == by["hf_patchtst", "teacher"]["mse"]


def test_quick_profile_distils_the_bundled_teacher(tmp_path, shared_data):
    # Issue 20: the quick profile's teacher, trained for a short schedule, was weaker than the
    # MLP alone, so that distilling it made the student worse. Its teacher is now the trained
    # PatchTST the package ships (test MSE 0.383 against 0.403 for the MLP alone), loaded.
    from importlib.resources import files

    import torch

    from skdistill.benchmarks.ltsf import BUNDLED_TEACHERS, LTSF_PROFILES, _Runner

    quick = LTSF_PROFILES["quick"]
    assert quick.bundled_teachers
    assert {
        (d.lower(), t, quick.window_length, h)
        for d in quick.datasets
        for t in quick.teachers
        for h in quick.horizons
    } <= set(BUNDLED_TEACHERS)
    runner = _Runner(quick, tmp_path, shared_data / "ltsf", lambda s: None)
    teacher, _ = runner.teacher("ETTh1", 96, "patchtst", 0)
    assert len(teacher.history_) == 0  # loaded, not trained
    assert not (tmp_path / "teachers").exists()  # nor kept as a fitted teacher
    path = files("skdistill.datasets").joinpath(
        "weights", BUNDLED_TEACHERS["etth1", "patchtst", 720, 96]
    )
    saved = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    state = teacher.net_.module_.student.state_dict()
    assert state.keys() == saved.keys()
    assert all(torch.equal(state[k], v) for k, v in saved.items())
    # Without the option the same cell's teacher would be trained (teacher_params are used).
    assert "patchtst" in quick.teacher_params
