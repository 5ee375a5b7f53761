"""Weights files: a forecaster rebuilt from save_weights predicts as the one that wrote it,
loads without running code, and refuses files and data that do not fit."""

import numpy as np
import pytest
import torch

from skdistill.datasets import load_ltsf
from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster, PatchTSTForecaster

L, H = 48, 12


@pytest.fixture(scope="module")
def etth1():
    return load_ltsf("ETTh1").iloc[:700]


@pytest.fixture(scope="module")
def fitted_patchtst(etth1):
    f = PatchTSTForecaster(
        window_length=L,
        patch_len=8,
        stride=4,
        d_model=8,
        n_heads=2,
        e_layers=1,
        d_ff=16,
        max_epochs=1,
        validation_size=100,
        random_state=0,
        verbose=0,
    )
    return f.fit(etth1, fh=range(1, H + 1))


def test_from_weights_predicts_as_the_forecaster_that_saved_them(fitted_patchtst, etth1, tmp_path):
    path = fitted_patchtst.save_weights(tmp_path / "teacher.pt")
    # Loadable by torch alone without unpickling code: tensors, numbers and strings.
    record = torch.load(path, weights_only=True)
    assert record["estimator"] == "PatchTSTForecaster"
    loaded = PatchTSTForecaster.from_weights(path, etth1)
    np.testing.assert_array_equal(loaded.predict().to_numpy(), fitted_patchtst.predict().to_numpy())
    windows = np.stack([etth1.to_numpy()[i : i + L] for i in (0, 100, 300)])
    np.testing.assert_array_equal(
        loaded.predict_windows(windows), fitted_patchtst.predict_windows(windows)
    )
    assert loaded.get_params()["d_model"] == 8 and len(loaded.history_) == 0


def test_a_loaded_forecaster_teaches_a_student(fitted_patchtst, etth1, tmp_path):
    path = fitted_patchtst.save_weights(tmp_path / "teacher.pt")
    teacher = PatchTSTForecaster.from_weights(path, etth1)
    student = DistilledMLPForecaster(
        teacher=teacher,
        window_length=L,
        hidden_size=32,
        moving_avg=5,
        n_scales=2,
        max_epochs=1,
        validation_size=100,
        random_state=0,
        verbose=0,
    ).fit(etth1, fh=range(1, H + 1))
    assert np.isfinite(student.predict().to_numpy()).all()


def test_columns_are_matched_by_name(fitted_patchtst, etth1, tmp_path):
    path = fitted_patchtst.save_weights(tmp_path / "teacher.pt")
    shuffled = etth1[etth1.columns[::-1]]
    loaded = PatchTSTForecaster.from_weights(path, shuffled)
    assert list(loaded.predict().columns) == list(etth1.columns)
    np.testing.assert_array_equal(loaded.predict().to_numpy(), fitted_patchtst.predict().to_numpy())
    with pytest.raises(ValueError, match="lacks the column"):
        PatchTSTForecaster.from_weights(path, etth1.drop(columns="OT"))


def test_wrong_class_wrong_shape_and_foreign_files_are_refused(fitted_patchtst, etth1, tmp_path):
    path = fitted_patchtst.save_weights(tmp_path / "teacher.pt")
    with pytest.raises(ValueError, match="PatchTSTForecaster.from_weights"):
        MLPForecaster.from_weights(path, etth1)
    with pytest.raises(ValueError, match="do not fit this network"):
        PatchTSTForecaster.from_weights(path, etth1, d_model=16)
    with pytest.raises(TypeError, match="unknown parameter"):
        PatchTSTForecaster.from_weights(path, etth1, hidden_size=3)
    other = tmp_path / "other.pt"
    torch.save({"a": torch.ones(1)}, other)
    with pytest.raises(ValueError, match="not a weights file"):
        PatchTSTForecaster.from_weights(other, etth1)
    with pytest.raises(FileNotFoundError):
        PatchTSTForecaster.from_weights(tmp_path / "missing.pt", etth1)


def test_save_weights_needs_a_fitted_forecaster(tmp_path):
    from sktime.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MLPForecaster().save_weights(tmp_path / "x.pt")
