"""The forecasters as an sktime user relies on them: fit/predict/update, distillation, errors, persistence."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sktime.forecasting.base import ForecastingHorizon
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.model_selection import ForecastingGridSearchCV
from sktime.forecasting.naive import NaiveForecaster
from sktime.split import ExpandingWindowSplitter, SingleWindowSplitter
from sktime.utils.estimator_checks import check_estimator

from skdistill.datasets import load_ltsf
from skdistill.forecasting import (
    DistilledMLPForecaster,
    ITransformerForecaster,
    MLPForecaster,
    ModernTCNForecaster,
    PatchTSTForecaster,
    TimeMixerForecaster,
)
from skdistill.forecasting._panel import split_series
from skdistill.training.windows import SlidingWindowDataset

L, H = 48, 12


@pytest.fixture(scope="module")
def etth1():
    return load_ltsf("ETTh1").iloc[:700]


def tiny_mlp(**kw):
    params = dict(window_length=L, hidden_size=32, moving_avg=5, max_epochs=3, random_state=0)
    params.update(kw)
    return MLPForecaster(**params)


def tiny_itransformer(**kw):
    params = dict(
        window_length=L, d_model=16, d_ff=16, n_heads=2, e_layers=1, max_epochs=1, random_state=0
    )
    params.update(kw)
    return ITransformerForecaster(**params)


def tiny_distilled(teacher, **kw):
    params = dict(
        window_length=L,
        hidden_size=32,
        moving_avg=5,
        alpha=2.0,
        beta=2.0,
        n_scales=2,
        max_epochs=3,
        random_state=0,
    )
    params.update(kw)
    return DistilledMLPForecaster(teacher, **params)


@pytest.fixture(scope="module")
def fitted_teacher(etth1):
    return tiny_itransformer().fit(etth1, fh=range(1, H + 1))


# --- sktime conformance ------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls", [MLPForecaster, ITransformerForecaster, DistilledMLPForecaster], ids=lambda c: c.__name__
)
def test_sktime_check_estimator_has_no_failures(cls):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(cls, raise_exceptions=False, verbose=False)
    failures = {k: v for k, v in results.items() if v != "PASSED"}
    assert len(results) > 100
    assert failures == {}


# --- fit / predict / update --------------------------------------------------------------


def test_multivariate_fit_predict_units_and_index(etth1):
    f = tiny_mlp().fit(etth1, fh=[1, 6, 12])
    pred = f.predict()
    assert list(pred.columns) == list(etth1.columns)
    expected_index = etth1.index[-1] + pd.to_timedelta([1, 6, 12], unit="h")
    assert list(pred.index) == list(expected_index)
    # In the units of y: a plausible level, not standardised values.
    assert abs(pred["OT"].mean() - etth1["OT"].iloc[-48:].mean()) < 5 * etth1["OT"].std()


def test_univariate_series(etth1):
    y = etth1["OT"]
    pred = tiny_mlp().fit(y, fh=range(1, 5)).predict()
    assert isinstance(pred, pd.Series) and len(pred) == 4 and np.isfinite(pred).all()


def test_predict_windows_matches_predict_on_the_last_window(etth1):
    f = tiny_mlp().fit(etth1, fh=[2, 5])
    last = etth1.to_numpy()[-L:]
    np.testing.assert_allclose(f.predict_windows(last[None])[0], f.predict().to_numpy(), atol=1e-5)
    many = np.stack([etth1.to_numpy()[i : i + L] for i in range(5)])
    assert f.predict_windows(many).shape == (5, 2, 7)


def test_update_moves_the_cutoff_without_retraining(etth1):
    f = tiny_mlp().fit(etth1.iloc[:650], fh=range(1, 4))
    weights = [p.detach().clone() for p in f.net_.module_.parameters()]
    f.update(etth1.iloc[650:], update_params=False)
    assert f.cutoff[0] == etth1.index[-1]
    expected = f.predict_windows(etth1.to_numpy()[-L:][None])[0]
    np.testing.assert_allclose(f.predict().to_numpy(), expected, rtol=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(weights, f.net_.module_.parameters(), strict=True))


def test_tail_validation_split_and_scaler_on_training_rows(etth1):
    f = tiny_mlp(validation_size=100, max_epochs=1).fit(etth1, fh=range(1, H + 1))
    train_rows = etth1.to_numpy()[:600]
    np.testing.assert_allclose(f.scaler_mean_, train_rows.mean(axis=0))
    np.testing.assert_allclose(f.scaler_scale_, train_rows.std(axis=0))
    n_train_windows = 600 - L - H + 1
    n_valid_windows = 100 - H + 1
    assert f.history_[-1, "batches"][-1]["valid_batch_size"] > 0
    n_valid_seen = sum(
        b["valid_batch_size"] for b in f.history_[-1, "batches"] if "valid_batch_size" in b
    )
    n_train_seen = sum(
        b["train_batch_size"] for b in f.history_[-1, "batches"] if "train_batch_size" in b
    )
    assert (n_train_seen, n_valid_seen) == (n_train_windows, n_valid_windows)


def test_early_stopping_restores_the_best_epoch(etth1):
    f = tiny_mlp(max_epochs=30, patience=2, lr=0.05, validation_size=150).fit(
        etth1, fh=range(1, H + 1)
    )
    valid = np.array(f.history_[:, "valid_loss"])
    assert len(valid) < 30  # stopped early
    # The restored weights reproduce the best validation loss.
    values = etth1.to_numpy()
    n = len(values)
    starts = np.arange(n - 150 - L, n - L - H + 1)
    ctx = np.stack([values[s : s + L] for s in starts])
    tgt = np.stack([values[s + L : s + L + H] for s in starts])
    pred = f.predict_windows(ctx)
    mse = np.mean(((pred - tgt) / f.scaler_scale_) ** 2)
    assert mse == pytest.approx(valid.min(), rel=1e-4)


def test_constant_channel_gives_finite_forecasts(etth1):
    y = etth1.copy()
    y["HUFL"] = 3.0
    pred = tiny_mlp().fit(y, fh=range(1, 4)).predict()
    assert np.isfinite(pred.to_numpy()).all()
    assert np.allclose(pred["HUFL"], 3.0, atol=0.5)


def test_windows_are_lazy():
    series = np.zeros((10_000, 3), dtype=np.float32)
    ds = SlidingWindowDataset(series, 720, 96)
    assert len(ds) == 10_000 - 720 - 96 + 1
    assert ds.series.untyped_storage().nbytes() == series.nbytes  # only the series is stored
    x, y = ds[5]
    assert x["x"].shape == (720, 3) and y.shape == (96, 3)
    assert x["x"].untyped_storage().data_ptr() == ds.series.untyped_storage().data_ptr()


# --- determinism and persistence ------------------------------------------------------------


def test_same_seed_same_model_and_pickle_round_trip(etth1, fitted_teacher):
    a = tiny_distilled(fitted_teacher, max_epochs=2).fit(etth1, fh=range(1, H + 1))
    b = tiny_distilled(fitted_teacher, max_epochs=2).fit(etth1, fh=range(1, H + 1))
    np.testing.assert_array_equal(a.predict().to_numpy(), b.predict().to_numpy())
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict().to_numpy(), a.predict().to_numpy())
    windows = etth1.to_numpy()[:L][None]
    np.testing.assert_array_equal(restored.predict_windows(windows), a.predict_windows(windows))
    c = tiny_distilled(fitted_teacher, max_epochs=2, random_state=1).fit(etth1, fh=range(1, H + 1))
    assert not np.allclose(c.predict().to_numpy(), a.predict().to_numpy())


def test_fitting_does_not_change_the_global_torch_rng(etth1):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny_mlp(max_epochs=1).fit(etth1, fh=[1, 2])
    assert torch.equal(torch.rand(3), expected)


# --- distillation ------------------------------------------------------------------------------


def test_zero_weights_reduce_exactly_to_the_mlp_alone(etth1, fitted_teacher):
    plain = tiny_mlp().fit(etth1, fh=range(1, H + 1))
    distilled = tiny_distilled(fitted_teacher, alpha=0.0, beta=0.0).fit(etth1, fh=range(1, H + 1))
    np.testing.assert_array_equal(plain.predict().to_numpy(), distilled.predict().to_numpy())
    assert list(plain.history_[:, "train_loss"]) == list(distilled.history_[:, "train_loss"])


def test_history_records_every_term(etth1, fitted_teacher):
    f = tiny_distilled(fitted_teacher, max_epochs=2).fit(etth1, fh=range(1, H + 1))
    last = f.history_[-1]
    for key in (
        "train_sup",
        "train_pred_scale",
        "train_pred_period",
        "train_feat_scale",
        "train_feat_period",
        "valid_loss",
        "train_loss",
    ):
        assert np.isfinite(last[key]), key
    weighted = (
        last["train_sup"]
        + 2 * (last["train_pred_scale"] + last["train_pred_period"])
        + 2 * (last["train_feat_scale"] + last["train_feat_period"])
    )
    assert last["train_loss"] == pytest.approx(weighted, rel=1e-5)
    assert f.teacher_cached_


def test_ablation_switches_remove_their_terms(etth1, fitted_teacher):
    f = tiny_distilled(fitted_teacher, max_epochs=1, use_period=False, use_supervised=False)
    f.fit(etth1, fh=range(1, H + 1))
    keys = set(f.history_[-1])
    assert {"train_pred_scale", "train_feat_scale"} <= keys
    assert not keys & {"train_sup", "train_pred_period", "train_feat_period"}


def test_cached_and_online_teacher_give_the_same_training(etth1, fitted_teacher):
    cached = tiny_distilled(fitted_teacher, max_epochs=2).fit(etth1, fh=range(1, H + 1))
    online = tiny_distilled(fitted_teacher, max_epochs=2, teacher_cache="off").fit(
        etth1, fh=range(1, H + 1)
    )
    assert cached.teacher_cached_ and not online.teacher_cached_
    for key in ("train_loss", "train_pred_period", "train_feat_scale", "valid_loss"):
        np.testing.assert_allclose(cached.history_[:, key], online.history_[:, key], rtol=1e-5)
    np.testing.assert_allclose(cached.predict().to_numpy(), online.predict().to_numpy(), rtol=1e-4)


def test_distillation_really_uses_the_teacher(etth1, fitted_teacher):
    plain = tiny_mlp().fit(etth1, fh=range(1, H + 1))
    distilled = tiny_distilled(fitted_teacher).fit(etth1, fh=range(1, H + 1))
    assert not np.allclose(plain.predict().to_numpy(), distilled.predict().to_numpy())
    assert distilled.teacher_ is fitted_teacher  # a fitted teacher is used as is


def test_fit_with_teacher_argument_sets_the_parameter(etth1, fitted_teacher):
    f = tiny_distilled(None, max_epochs=1)
    f.fit(etth1, fh=range(1, H + 1), teacher=fitted_teacher)
    assert f.get_params()["teacher"] is fitted_teacher and f.teacher_ is fitted_teacher


def test_unfitted_teacher_is_cloned_and_fitted(etth1):
    teacher = tiny_itransformer()
    f = tiny_distilled(teacher, max_epochs=1).fit(etth1, fh=range(1, H + 1))
    assert f.teacher_ is not teacher and f.teacher_.is_fitted and not teacher.is_fitted
    assert f.teacher_.horizon_ == H


def test_generic_sktime_teacher_is_prediction_only(etth1):
    f = tiny_distilled(NaiveForecaster(strategy="last"), max_epochs=1)
    with pytest.warns(UserWarning, match="beta forced to 0"):
        f.fit(etth1.iloc[:300], fh=range(1, H + 1))
    assert f.beta_ == 0.0 and "train_feat_scale" not in f.history_[-1]
    assert "train_pred_period" in f.history_[-1]


def test_generic_teacher_forecasts_match_sktime_update_predict(etth1):
    y = etth1.iloc[:200]
    f = tiny_distilled(NaiveForecaster(strategy="last"), beta=0.0, n_scales=1, max_epochs=1)
    f.fit(y, fh=[1, 2])
    starts = np.arange(0, 5)
    preds = f._generic_teacher_predictions(f.teacher_, split_series(y), [starts], L, 2)
    # "last" strategy: every step forecasts the last context value (standardised).
    last_values = np.stack([y.to_numpy()[s + L - 1] for s in starts])
    expected = (last_values - f.scaler_mean_) / f.scaler_scale_
    np.testing.assert_allclose(preds[:, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(preds[:, 1], expected, rtol=1e-6)


def test_package_teacher_with_shorter_lookback(etth1):
    teacher = tiny_itransformer(window_length=24).fit(etth1, fh=range(1, H + 1))
    f = tiny_distilled(teacher, max_epochs=1).fit(etth1, fh=range(1, H + 1))
    assert np.isfinite(f.predict().to_numpy()).all()


# --- sktime workflows --------------------------------------------------------------------------


def test_evaluate_with_expanding_window(etth1):
    y = etth1.iloc[:400]
    f = tiny_distilled(
        tiny_mlp(max_epochs=1, validation_size=None), max_epochs=1, validation_size=None
    )
    cv = ExpandingWindowSplitter(initial_window=300, step_length=50, fh=range(1, H + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        results = evaluate(f, cv, y, return_data=False)
    assert len(results) == 2 and np.isfinite(results.iloc[:, 0]).all()


def test_forecasting_grid_search_over_alpha(etth1):
    y = etth1.iloc[:400]
    f = tiny_distilled(
        tiny_mlp(max_epochs=1, validation_size=None), max_epochs=1, validation_size=None
    )
    cv = SingleWindowSplitter(fh=range(1, H + 1), window_length=300)
    gscv = ForecastingGridSearchCV(f, cv=cv, param_grid={"alpha": [0.5, 2.0]}, backend=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        gscv.fit(y, fh=range(1, H + 1))
    assert gscv.best_params_["alpha"] in (0.5, 2.0)
    assert gscv.predict().shape == (H, 7)
    assert "teacher__hidden_size" in f.get_params(deep=True)


# --- errors a user can understand -------------------------------------------------------------


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"window_length": 0}, ValueError, "window_length must be an integer >= 1"),
        ({"window_length": 2.5}, TypeError, "window_length must be an integer"),
        ({"max_epochs": 0}, ValueError, "max_epochs"),
        ({"lr": -1.0}, ValueError, "lr must be"),
        ({"validation_size": 1.5}, ValueError, "validation_size"),
        ({"moving_avg": 99}, ValueError, "moving_avg=99 must be <= window_length"),
        ({"norm": "zscore"}, ValueError, "norm must be one of"),
        (
            {"device": "cuda"} if not torch.cuda.is_available() else {"device": "tpu"},
            ValueError,
            "device",
        ),
    ],
)
def test_invalid_parameters(etth1, params, error, match):
    with pytest.raises(error, match=match):
        tiny_mlp(**params).fit(etth1, fh=[1, 2])


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"alpha": -1.0}, ValueError, "alpha must be"),
        ({"beta": float("nan")}, ValueError, "beta must be"),
        ({"temperature": 0.0}, ValueError, "temperature must be"),
        ({"kl_reduction": "sum"}, ValueError, "kl_reduction"),
    ],
)
def test_invalid_distillation_parameters(etth1, fitted_teacher, params, error, match):
    with pytest.raises(error, match=match):
        tiny_distilled(fitted_teacher, **params).fit(etth1, fh=range(1, H + 1))


def test_missing_teacher_points_to_the_mlp(etth1):
    with pytest.raises(ValueError, match="MLPForecaster"):
        DistilledMLPForecaster(window_length=L).fit(etth1, fh=[1])


def test_teacher_that_is_not_a_forecaster(etth1):
    from sklearn.linear_model import LinearRegression

    with pytest.raises(TypeError, match="teacher must be an sktime forecaster"):
        tiny_distilled(LinearRegression()).fit(etth1, fh=[1])


def test_teacher_fitted_on_other_columns(etth1, fitted_teacher):
    y = etth1.rename(columns={"OT": "oil"})
    with pytest.raises(ValueError, match="teacher was fitted on columns"):
        tiny_distilled(fitted_teacher).fit(y, fh=range(1, H + 1))


def test_teacher_fitted_for_a_shorter_horizon(etth1):
    teacher = tiny_itransformer().fit(etth1, fh=[1, 2, 3])
    with pytest.raises(ValueError, match="fitted for 3 steps ahead"):
        tiny_distilled(teacher).fit(etth1, fh=range(1, H + 1))


def test_teacher_with_longer_lookback(etth1):
    teacher = tiny_itransformer(window_length=96).fit(etth1, fh=range(1, H + 1))
    with pytest.raises(ValueError, match="window_length=96 is longer"):
        tiny_distilled(teacher).fit(etth1, fh=range(1, H + 1))


def test_nan_and_non_numeric_data(etth1):
    y = etth1.copy()
    y.iloc[10, 2] = np.nan
    with pytest.raises(ValueError, match="missing data"):  # sktime's own check
        tiny_mlp().fit(y, fh=[1])
    y = etth1.copy()
    y.iloc[5, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        tiny_mlp().fit(y, fh=[1])


def test_too_short_series_names_the_minimum(etth1):
    with pytest.raises(ValueError, match="needs at least 60 rows"):
        tiny_mlp(validation_size=None).fit(etth1.iloc[:59], fh=range(1, H + 1))


def test_series_shorter_than_one_window_is_blamed_on_the_look_back(etth1):
    # With the default validation_size, not "validation_size gives too few rows".
    with pytest.raises(ValueError, match=r"window_length=48 and horizon 12.*at least 60 rows"):
        tiny_mlp().fit(etth1.iloc[:40], fh=range(1, H + 1))


def test_predict_windows_with_wrong_shape(etth1):
    f = tiny_mlp(max_epochs=1).fit(etth1, fh=[1, 2])
    with pytest.raises(ValueError, match=r"windows must have shape \(n, 48, 7\)"):
        f.predict_windows(np.zeros((2, 24, 7)))
    with pytest.raises(ValueError, match="NaN"):
        f.predict_windows(np.full((1, L, 7), np.nan))


def test_predict_beyond_the_fitted_horizon(etth1):
    f = tiny_mlp(max_epochs=1).fit(etth1, fh=[1, 2])
    with pytest.raises(ValueError):
        f.predict(fh=[5])


def test_in_sample_fh_is_rejected(etth1):
    with pytest.raises(NotImplementedError, match="in-sample"):
        tiny_mlp().fit(etth1, fh=ForecastingHorizon([0, 1]))


def test_joblib_round_trip(tmp_path, etth1):
    import joblib

    f = tiny_mlp(max_epochs=1).fit(etth1, fh=range(1, 4))
    joblib.dump(f, tmp_path / "model.joblib")
    restored = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(restored.predict().to_numpy(), f.predict().to_numpy())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_trained_on_gpu_loads_and_predicts_on_cpu(etth1, monkeypatch):
    f = tiny_distilled(tiny_mlp(max_epochs=1), device="cuda", max_epochs=2)
    f.fit(etth1, fh=range(1, H + 1))
    assert f.device_ == "cuda" and next(f._student_module().parameters()).is_cuda
    gpu_pred = f.predict().to_numpy()
    blob = pickle.dumps(f)
    # skorch maps CUDA tensors to the CPU when CUDA is not available at load time.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        restored = pickle.loads(blob)
    assert not next(restored._student_module().parameters()).is_cuda
    np.testing.assert_allclose(restored.predict().to_numpy(), gpu_pred, rtol=1e-4, atol=1e-5)


def test_non_numeric_column_is_rejected(etth1):
    y = etth1.copy()
    y["label"] = "a"
    with pytest.raises((TypeError, ValueError)):
        tiny_mlp().fit(y, fh=[1])


# --- the teacher and student zoo -------------------------------------------------------------


@pytest.mark.parametrize(
    "cls", [PatchTSTForecaster, ModernTCNForecaster, TimeMixerForecaster], ids=lambda c: c.__name__
)
def test_zoo_teachers_pass_sktime_checks(cls):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(cls, raise_exceptions=False, verbose=False)
    assert {k: v for k, v in results.items() if v != "PASSED"} == {}


@pytest.mark.parametrize(
    "teacher",
    [
        lambda: PatchTSTForecaster(window_length=L, max_epochs=1, random_state=0),
        lambda: ModernTCNForecaster(window_length=L, dims=8, max_epochs=1, random_state=0),
        lambda: TimeMixerForecaster(window_length=L, max_epochs=1, random_state=0),
    ],
    ids=["patchtst", "moderntcn", "timemixer"],
)
def test_zoo_teachers_distil_at_both_levels(etth1, teacher):
    t = teacher().fit(etth1, fh=range(1, H + 1))
    f = tiny_distilled(t, max_epochs=1).fit(etth1, fh=range(1, H + 1))
    last = f.history_[-1]
    assert np.isfinite(last["train_feat_scale"]) and np.isfinite(last["train_pred_period"])
    # The regressor's input width is derived from the teacher's feature, projected onto the
    # student's width where wider (teacher_feature_dim="auto"). The regressors belong to the
    # objective (skorch's criterion), not to the predicting module.
    (regressor,) = f.net_.criterion_.regressors
    assert regressor.in_dim == min(t._student_module().feature_dim, f.hidden_size)
    assert regressor.out_dim == f._student_module().feature_dim


@pytest.mark.parametrize("student", ["tsmixer", "lightts"])
def test_other_students(etth1, fitted_teacher, student):
    f = tiny_distilled(fitted_teacher, student=student, max_epochs=1).fit(etth1, fh=range(1, H + 1))
    assert np.isfinite(f.predict().to_numpy()).all()
    assert (
        type(f._student_module()).__name__ == {"tsmixer": "TSMixer", "lightts": "LightTS"}[student]
    )
    assert f.net_.criterion_.regressors[0].out_dim == f._student_module().feature_dim
    assert "train_feat_period" in f.history_[-1]


# --- ensembles of teachers --------------------------------------------------------------------


def test_two_teachers_one_regressor_each_and_cache_equals_online(etth1, fitted_teacher):
    second = tiny_mlp(max_epochs=1).fit(etth1, fh=range(1, H + 1))
    cached = tiny_distilled([fitted_teacher, second], max_epochs=2).fit(etth1, fh=range(1, H + 1))
    online = tiny_distilled([fitted_teacher, second], max_epochs=2, teacher_cache="off")
    online.fit(etth1, fh=range(1, H + 1))
    regs = cached.net_.criterion_.regressors
    assert len(regs) == 2 and regs[0].in_dim == 16 and regs[1].in_dim == 32
    assert cached.teacher_ == [fitted_teacher, second]
    assert cached.teacher_cached_ and not online.teacher_cached_
    np.testing.assert_allclose(
        cached.history_[:, "train_loss"], online.history_[:, "train_loss"], rtol=1e-5
    )


def test_ensemble_prediction_is_the_weighted_mean(etth1, fitted_teacher):
    second = tiny_mlp(max_epochs=1).fit(etth1, fh=range(1, H + 1))
    f = tiny_distilled([fitted_teacher, second], teacher_weights=[3.0, 1.0], beta=0.0, max_epochs=1)
    f.fit(etth1, fh=range(1, H + 1))
    # The pred-level target the student saw equals 0.75 * teacher 1 + 0.25 * teacher 2.
    from skdistill.training.teacher import EnsembleAdapter

    adapters = [t._as_teacher(f.scaler_mean_, f.scaler_scale_, H) for t in (fitted_teacher, second)]
    x = torch.as_tensor(
        ((etth1.to_numpy()[:L] - f.scaler_mean_) / f.scaler_scale_)[None], dtype=torch.float32
    )
    with torch.no_grad():
        mixed, _ = EnsembleAdapter(adapters, [0.75, 0.25]).eval()(x)
        expected = 0.75 * adapters[0].eval()(x)[0] + 0.25 * adapters[1].eval()(x)[0]
    torch.testing.assert_close(mixed, expected)


def test_mixed_ensemble_with_a_generic_teacher(etth1, fitted_teacher):
    y = etth1.iloc[:300]
    deep = tiny_itransformer().fit(y, fh=range(1, H + 1))
    f = tiny_distilled([deep, NaiveForecaster(strategy="last")], max_epochs=1)
    f.fit(y, fh=range(1, H + 1))
    assert f.beta_ == 2.0 and "train_feat_scale" in f.history_[-1] and f.teacher_cached_


@pytest.mark.parametrize("weights", [[1.0], [-1.0, 2.0], [0.0, 0.0]])
def test_bad_teacher_weights(etth1, fitted_teacher, weights):
    with pytest.raises(ValueError, match="teacher_weights"):
        tiny_distilled([fitted_teacher, fitted_teacher], teacher_weights=weights).fit(etth1, fh=[1])
