"""The vision benchmark suite: splits, records per cell, resume, report, and its command line."""

import json

import numpy as np
import pytest

from skdistill.benchmarks import (
    VisionConfig,
    load_vision_records,
    load_vision_split,
    render_vision_report,
    run_vision,
)
from skdistill.benchmarks._common import with_overrides
from skdistill.benchmarks.vision import _augmented
from skdistill.cli import main

TINY = VisionConfig(
    datasets=("digits",),
    pairs=("cnn->vit", "cnn->cnn_small"),
    methods=("alone", "kd", "sfkd", "sfkd_mse"),
    ablation_pairs=("cnn->vit",),
    epochs=1,
    teacher_epochs=2,
    n_train=400,
    teacher_data="all",
)

# One teacher and one student cell: the cheapest full run.
ONE_CELL = VisionConfig(
    datasets=("digits",),
    pairs=("cnn->vit",),
    methods=("alone",),
    epochs=1,
    teacher_epochs=1,
    n_train=300,
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vision")
    lines = []
    records = run_vision(TINY, out, log=lines.append)
    return out, records, lines


def test_splits_are_stratified_disjoint_and_deterministic():
    split = load_vision_split("digits", TINY)
    X_tr, y_tr = split["train"]
    X_va, y_va = split["valid"]
    assert X_tr.shape[1:] == (1, 8, 8) and X_tr.dtype == np.float32
    assert len(y_tr) + len(y_va) == 400 and len(split["test"][1]) == 599
    # Every class in validation, none of its images in training.
    assert set(y_va) == set(range(10))
    assert not {x.tobytes() for x in X_va} & {x.tobytes() for x in X_tr}
    again = load_vision_split("digits", TINY)
    assert np.array_equal(again["valid"][0], X_va)


def test_teachers_may_train_on_every_image_but_validation():
    split = load_vision_split("digits", TINY)
    X_t, y_t = split["teacher_train"]
    X_va = split["valid"][0]
    # 1,198 training digits less the 40 validation ones; the students' images are among them.
    assert len(y_t) == 1198 - 40
    seen = {x.tobytes() for x in X_t}
    assert not seen & {x.tobytes() for x in X_va}
    assert {x.tobytes() for x in split["train"][0]} <= seen
    students_only = load_vision_split("digits", VisionConfig(n_train=400))
    assert students_only["teacher_train"][0] is students_only["train"][0]


def test_teacher_augmentation_multiplies_only_the_teachers_images(tmp_path):
    config = with_overrides(ONE_CELL, teacher_flip=True, teacher_shift=1)
    records = run_vision(config, tmp_path, log=lambda line: None)
    teacher = next(r for r in records if r["method"] == "teacher")
    student = next(r for r in records if r["method"] == "alone")
    # Original + mirror, each also shifted four ways: 10 copies; the student keeps its 270.
    assert student["n_train"] == 270 and teacher["n_train"] == 10 * 270


def test_a_cell_does_not_depend_on_what_ran_before_it(tmp_path):
    import torch

    config = ONE_CELL
    first = run_vision(config, tmp_path / "a", log=lambda line: None)
    torch.rand(1000)  # what a previous cell in the same process would have drawn
    second = run_vision(config, tmp_path / "b", log=lambda line: None)
    assert [r["accuracy"] for r in first] == [r["accuracy"] for r in second]
    assert [r["final_train_loss"] for r in first] == [r["final_train_loss"] for r in second]


def test_augmented_copies_are_mirrors_and_zero_filled_shifts():
    X = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4)
    y = np.array([3, 7])
    X_aug, y_aug = _augmented(X, y, flip=True, shift=1)
    assert X_aug.shape == (20, 1, 4, 4) and list(y_aug[:4]) == [3, 7, 3, 7]
    assert np.array_equal(X_aug[2], X[0, :, :, ::-1])
    # Each shift moves the image one pixel and fills the uncovered row or column with zeros.
    shifted = {X_aug[i].tobytes() for i in range(4, 20)}
    down = np.zeros_like(X[0])
    down[:, :-1] = X[0, :, 1:]
    assert down.tobytes() in shifted
    assert np.array_equal(_augmented(X, y, flip=False, shift=0)[0], X)


def test_cifar10_subset_split_is_3000_1000(shared_data):
    split = load_vision_split("cifar10", VisionConfig(n_train=None), shared_data / "vision")
    assert len(split["train"][1]) + len(split["valid"][1]) == 3000
    assert split["test"][0].shape == (1000, 3, 32, 32)
    # Stratified: each class keeps its share of the 4000 images in the test quarter.
    counts = np.bincount(np.concatenate([split[s][1] for s in ("train", "valid", "test")]))
    assert np.all(np.abs(np.bincount(split["test"][1]) - counts / 4) <= 1)


def test_every_cell_has_a_finite_record(tiny_run):
    _, records, lines = tiny_run
    cells = {(r["pair"], r["method"]) for r in records}
    assert ("cnn->cnn", "teacher") in cells
    assert ("cnn->vit", "sfkd_mse") in cells
    # Ablations only on the ablation pairs.
    assert ("cnn->cnn_small", "sfkd_mse") not in cells
    assert len(records) == len(lines) == 1 + 2 * 3 + 1
    for r in records:
        assert 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["valid_accuracy"] <= 1.0
        assert np.isfinite(r["epoch_s"]) and r["latency_ms"] > 0
    by = {(r["pair"], r["method"]): r for r in records}
    # The homogeneous pair's student is the narrower CNN; SFKD adds training-only modules.
    assert by[("cnn->cnn_small", "alone")]["params"] < by[("cnn->cnn", "teacher")]["params"]
    assert by[("cnn->vit", "sfkd")]["train_only_params"] > 0
    assert {"ce", "kd", "wave", "freq"} <= set(by[("cnn->vit", "sfkd")]["final_terms"])
    assert by[("cnn->vit", "kd")]["train_only_params"] == 0
    # A trained teacher is far above chance; every method's student has the same size.
    assert by[("cnn->cnn", "teacher")]["accuracy"] > 0.5
    assert len({by[("cnn->vit", m)]["params"] for m in ("alone", "kd", "sfkd")}) == 1


def test_resume_does_not_refit(tiny_run):
    out, records, _ = tiny_run
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    lines = []
    again = run_vision(TINY, out, log=lines.append)
    assert all(line.endswith("recorded") for line in lines)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")} == stamps
    assert [r["accuracy"] for r in again] == [r["accuracy"] for r in records]
    assert len(json.loads((out / "run.json").read_text())["runs"]) == 2


def test_report_tables_claims_and_plots(tiny_run, tmp_path):
    out, _, _ = tiny_run
    paths = render_vision_report(out, tmp_path, rst_image_prefix="vision/")
    md = paths["md"].read_text()
    by = {(r["pair"], r["method"]): r for r in load_vision_records(out)}
    assert f"{100 * by[('cnn->vit', 'sfkd')]['accuracy']:.2f}" in md
    assert "| cnn->vit |" in md and "| cnn->cnn_small |" in md
    assert "sfkd_mse" in md and "80.54" in md  # ablation table and the published OFA figure
    assert "360 training images (teachers: 1,158) / 599 test images" in md
    assert (
        "Seeds per cell (mean ± std where more than one): alone 1, kd 1, sfkd 1, sfkd_mse 1" in md
    )
    # Claims count heterogeneous pairs only: cnn->cnn_small is homogeneous.
    assert "SFKD beats alone on" in md and "of 1 heterogeneous" in md
    assert ".. image:: vision/vision_accuracy_digits.png" in paths["rst"].read_text()
    assert {p.name for p in paths["plots"]} == {
        "vision_accuracy_digits.png",
        "vision_accuracy_cost.png",
    }
    assert all(p.stat().st_size > 1000 for p in paths["plots"])


def test_bad_configuration_is_named():
    with pytest.raises(ValueError, match="methods: unknown"):
        run_vision(VisionConfig(methods=("alone", "crd")), "unused")
    with pytest.raises(ValueError, match="pairs"):
        run_vision(VisionConfig(pairs=("cnn->resnet50",)), "unused")
    with pytest.raises(ValueError, match="datasets: unknown"):
        run_vision(VisionConfig(datasets=("imagenet",)), "unused")
    with pytest.raises(ValueError, match="epochs"):
        run_vision(VisionConfig(epochs=0), "unused")
    with pytest.raises(ValueError, match="teacher_shift"):
        run_vision(VisionConfig(teacher_shift=-2), "unused")
    with pytest.raises(ValueError, match="teacher_data"):
        run_vision(VisionConfig(teacher_data="full"), "unused")
    with pytest.raises(ValueError, match="unknown profile"):
        run_vision("fast", "unused")


def test_cli_report_only_without_records_fails_clearly(tmp_path, capsys):
    status = main(["benchmark", "vision", "--report-only", "--output-dir", str(tmp_path)])
    assert status == 2
    assert "no cell records" in capsys.readouterr().err


def test_cli_renders_the_stored_run(tiny_run, tmp_path, capsys):
    out, _, _ = tiny_run
    argv = [
        "benchmark",
        "vision",
        "--report-only",
        "--output-dir",
        str(out),
        "--report-dir",
        str(tmp_path),
    ]
    assert main(argv) == 0
    assert (tmp_path / "report.md").exists()
    assert "report:" in capsys.readouterr().out
