"""Panels and hierarchies: one global model over every series (issue 19).

The forecasters take sktime's ``pd-multiindex`` / ``pd_multiindex_hier`` whole: windows of
every series train one model, each series standardised by its own training rows, and one
call forecasts every series. ``global_model=False`` hands the panel to sktime's
vectorisation (one model per series).
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.model_selection import ForecastingGridSearchCV
from sktime.forecasting.naive import NaiveForecaster
from sktime.performance_metrics.forecasting import MeanSquaredError
from sktime.split import ExpandingWindowSplitter, SingleWindowSplitter

from skdistill.datasets import load_ltsf
from skdistill.forecasting import (
    DistilledMLPForecaster,
    ITransformerForecaster,
    MLPForecaster,
    TorchForecaster,
)
from skdistill.forecasting._panel import split_series
from skdistill.forecasting._torch_teacher import _ChannelMLP

L, H = 24, 6
COLS = ["OT", "HUFL"]


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    """ETTh1 and ETTh2 (two channels each, same dates) as a panel of two series."""
    a = load_ltsf("ETTh1")[COLS].iloc[:300]
    b = load_ltsf("ETTh2")[COLS].iloc[:300]
    return pd.concat({"h1": a, "h2": b}, names=["station", "date"])


def mlp(**kw) -> MLPForecaster:
    params = dict(window_length=L, hidden_size=16, moving_avg=5, max_epochs=2, random_state=0)
    return MLPForecaster(**{**params, **kw})


def teacher(**kw) -> ITransformerForecaster:
    params = dict(
        window_length=L, d_model=8, d_ff=8, n_heads=2, e_layers=1, max_epochs=1, random_state=0
    )
    return ITransformerForecaster(**{**params, **kw})


def distilled(t, **kw) -> DistilledMLPForecaster:
    params = dict(
        window_length=L, hidden_size=16, moving_avg=5, n_scales=2, max_epochs=2, random_state=0
    )
    return DistilledMLPForecaster(t, **{**params, **kw})


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return fn(*args, **kwargs)


# --- one global model ------------------------------------------------------------------------


def test_panel_forecasts_every_series_with_its_index_and_scaler(panel):
    f = mlp().fit(panel, fh=range(1, H + 1))
    pred = f.predict()
    assert pred.index.names == ["station", "date"]
    assert list(pred.index.get_level_values(0).unique()) == ["h1", "h2"]
    for key in ("h1", "h2"):
        last = panel.loc[key].index[-1]
        expected = pd.date_range(last, periods=H + 1, freq="h")[1:]
        assert list(pred.loc[key].index) == list(expected)
    assert f.series_keys_ == ["h1", "h2"] and f.scaler_mean_.shape == (2, 2)
    # Each series is standardised by its own training rows (the tail validates).
    n_train = 300 - int(0.2 * 300)
    for i, key in enumerate(("h1", "h2")):
        rows = panel.loc[key].to_numpy()[:n_train]
        np.testing.assert_allclose(f.scaler_mean_[i], rows.mean(axis=0))
        np.testing.assert_allclose(f.scaler_scale_[i], rows.std(axis=0))


def test_a_rescaled_copy_of_a_series_is_forecast_rescaled(panel):
    # Per-series standardisation: a series that is 3 x another + 5 is the same series to the
    # global model, so its forecast is 3 x the other's + 5.
    a = panel.loc["h1"]
    y = pd.concat({"a": a, "b": 3 * a + 5}, names=["s", "date"])
    pred = mlp().fit(y, fh=range(1, H + 1)).predict()
    np.testing.assert_allclose(
        pred.loc["b"].to_numpy(), 3 * pred.loc["a"].to_numpy() + 5, rtol=1e-5, atol=1e-4
    )


def test_one_global_model_trains_on_the_windows_of_every_series(panel):
    f = mlp(validation_size=None, max_epochs=1, batch_size=1000).fit(panel, fh=range(1, H + 1))
    # One epoch of one batch holding every training window of both series.
    per_series = 300 - L - H + 1
    assert f.history_[-1, "batches", 0, "train_batch_size"] == 2 * per_series


def test_series_of_different_lengths_and_ends_are_each_forecast_from_their_end(panel):
    y = pd.concat(
        {
            "long": panel.loc["h1"],
            "late": panel.loc["h2"].iloc[40:],
            "early": panel.loc["h2"].iloc[:-30],
        },
        names=["s", "date"],
    )
    pred = mlp().fit(y, fh=range(1, H + 1)).predict()
    for key in ("long", "late", "early"):
        assert pred.loc[key].index[0] == y.loc[key].index[-1] + pd.Timedelta(hours=1)


def test_hierarchy_keeps_its_levels(panel):
    y = pd.concat(
        {
            ("north", "h1"): panel.loc["h1"],
            ("north", "h2"): panel.loc["h2"],
            ("south", "h1"): panel.loc["h1"] * 2,
        },
        names=["region", "station", "date"],
    )
    f = mlp().fit(y, fh=[1, 3])
    pred = f.predict()
    assert pred.index.names == ["region", "station", "date"]
    assert f.series_keys_ == [("north", "h1"), ("north", "h2"), ("south", "h1")]
    assert pred.shape == (6, 2)


def test_univariate_panel(panel):
    y = panel[["OT"]]
    pred = mlp().fit(y, fh=range(1, H + 1)).predict()
    assert pred.shape == (2 * H, 1) and list(pred.columns) == ["OT"]


def test_per_series_models_when_global_model_is_false(panel):
    f = mlp(global_model=False).fit(panel, fh=range(1, H + 1))
    assert f.forecasters_.shape[0] == 2  # sktime fitted one clone per series
    alone = mlp().fit(panel.loc["h2"], fh=range(1, H + 1)).predict()
    np.testing.assert_allclose(f.predict().loc["h2"].to_numpy(), alone.to_numpy(), rtol=1e-6)


# --- update, predict_windows, pickle, ONNX --------------------------------------------------


def test_update_moves_each_series_look_back(panel):
    y = load_ltsf("ETTh1")[COLS].iloc[:320]
    z = load_ltsf("ETTh2")[COLS].iloc[:320]
    f = mlp().fit(panel, fh=range(1, H + 1))
    before = f.predict()
    new = pd.concat({"h1": y.iloc[300:]}, names=["station", "date"])
    f.update(new, update_params=False)
    after = f.predict()
    # h1 moved 20 steps on, forecast from its new look-back; h2 is as it was.
    assert after.loc["h1"].index[0] == y.index[-1] + pd.Timedelta(hours=1)
    np.testing.assert_allclose(after.loc["h2"].to_numpy(), before.loc["h2"].to_numpy())
    window = y.to_numpy()[-L:][None]
    np.testing.assert_allclose(
        after.loc["h1"].to_numpy(), f.predict_windows(window, series="h1")[0], rtol=1e-6
    )
    with pytest.raises(ValueError, match="series 'h3'"):
        f.update(pd.concat({"h3": z.iloc[300:]}, names=["station", "date"]))


def test_predict_windows_needs_the_series_of_each_window(panel):
    f = mlp().fit(panel, fh=range(1, H + 1))
    windows = np.stack([panel.loc[k].to_numpy()[-L:] for k in ("h1", "h2")])
    out = f.predict_windows(windows, series=["h1", "h2"])
    np.testing.assert_allclose(out.reshape(-1, 2), f.predict().to_numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="series="):
        f.predict_windows(windows)
    with pytest.raises(ValueError, match="'nope' was not in the panel"):
        f.predict_windows(windows, series=["h1", "nope"])
    single = mlp().fit(panel.loc["h1"], fh=range(1, H + 1))
    with pytest.raises(ValueError, match="only used by forecasters fitted on a panel"):
        single.predict_windows(windows, series="h1")


def test_panel_model_pickles_and_predicts_identically(panel):
    f = distilled(teacher()).fit(panel, fh=range(1, H + 1))
    again = pickle.loads(pickle.dumps(f))
    pd.testing.assert_frame_equal(again.predict(), f.predict())


def test_onnx_graph_of_a_panel_model_takes_each_window_series(panel, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    f = mlp().fit(panel, fh=[1, 3, 6])
    path = f.export_onnx(tmp_path / "panel.onnx")
    windows = np.stack(
        [
            panel.loc[k].to_numpy()[-L - i : len(panel.loc[k]) - i]
            for k in ("h1", "h2")
            for i in (0, 5)
        ]
    )
    keys = ["h1", "h1", "h2", "h2"]
    session = ort.InferenceSession(str(path))
    got = session.run(
        None,
        {"window": windows.astype(np.float32), "series": np.array([0, 0, 1, 1], dtype=np.int64)},
    )[0]
    np.testing.assert_allclose(got, f.predict_windows(windows, series=keys), rtol=1e-4, atol=1e-4)


# --- distillation on panels -------------------------------------------------------------------


def test_distilled_panel_global_teacher_cached_or_per_batch_alike(panel):
    cached = distilled(teacher()).fit(panel, fh=range(1, H + 1))
    assert cached.teacher_.series_keys_ == ["h1", "h2"]
    assert cached.teacher_cache_ == "memory"
    per_batch = distilled(teacher(), teacher_cache="off").fit(panel, fh=range(1, H + 1))
    # The teacher, scaled per series, gives the same outputs from the cache and per batch.
    np.testing.assert_allclose(
        per_batch.predict().to_numpy(), cached.predict().to_numpy(), rtol=1e-5
    )


def test_prefitted_teacher_must_know_the_same_series(panel):
    t = teacher().fit(panel.loc["h1"], fh=range(1, H + 1))
    ok = distilled(t).fit(panel, fh=range(1, H + 1))  # a one-series teacher serves every series
    assert ok.predict().shape == (2 * H, 2)
    other = teacher().fit(
        pd.concat({"x": panel.loc["h1"], "h2": panel.loc["h2"]}, names=["station", "date"]),
        fh=range(1, H + 1),
    )
    with pytest.raises(ValueError, match="same series"):
        distilled(other).fit(panel, fh=range(1, H + 1))


def test_generic_teacher_forecasts_each_series_window(panel):
    f = distilled(NaiveForecaster(strategy="last"), beta=0.0)
    f.fit(panel, fh=range(1, H + 1))
    series = f.teacher_.forecasters_  # sktime fitted the naive teacher per series
    assert series.shape[0] == 2
    # The teacher's standardised forecast of a training window is its last value, per series.
    parts = split_series(panel)
    starts = [np.array([0, 100]), np.array([7])]
    pred = f._generic_teacher_predictions(f.teacher_, parts, starts, L, H)
    for row, (i, s) in enumerate([(0, 0), (0, 100), (1, 7)]):
        last = parts.frames[i].to_numpy()[s + L - 1]
        expected = (last - f.scaler_mean_[i]) / f.scaler_scale_[i]
        np.testing.assert_allclose(pred[row], np.repeat(expected[None], H, axis=0), rtol=1e-6)


def test_torch_teacher_on_a_panel(panel):
    t = TorchForecaster(_ChannelMLP(L, H, 8), window_length=L, scaling="standard")
    f = distilled(t).fit(panel, fh=range(1, H + 1))
    assert f.teacher_.scaler_mean_.shape == (2, 2)
    assert np.isfinite(f.predict().to_numpy()).all()


# --- sktime workflows -----------------------------------------------------------------------


def test_evaluate_on_a_panel_matches_a_hand_computed_fold(panel):
    f = distilled(mlp(max_epochs=1, validation_size=None), max_epochs=1, validation_size=None)
    cv = ExpandingWindowSplitter(initial_window=200, step_length=40, fh=range(1, H + 1))
    results = quiet(evaluate, f, cv, panel, scoring=MeanSquaredError(), return_data=False)
    assert len(results) == 3
    # Fold 0 by hand: fit on each series' first 200 rows, forecast the next H, squared error
    # averaged over series (equal lengths: the mean over every value).
    train = panel.groupby(level=0, group_keys=False).apply(lambda s: s.iloc[:200])
    test = panel.groupby(level=0, group_keys=False).apply(lambda s: s.iloc[200 : 200 + H])
    pred = f.clone().fit(train, fh=range(1, H + 1)).predict()
    expected = float(((pred.to_numpy() - test.to_numpy()) ** 2).mean())
    assert results["test_MeanSquaredError"].iloc[0] == pytest.approx(expected, rel=1e-6)


def test_grid_search_over_alpha_on_a_panel(panel):
    f = distilled(mlp(max_epochs=1, validation_size=None), max_epochs=1, validation_size=None)
    cv = SingleWindowSplitter(fh=range(1, H + 1), window_length=250)
    gscv = ForecastingGridSearchCV(f, cv=cv, param_grid={"alpha": [0.5, 2.0]}, backend=None)
    quiet(gscv.fit, panel, fh=range(1, H + 1))
    assert gscv.best_params_["alpha"] in (0.5, 2.0)
    assert gscv.predict().shape == (2 * H, 2)


# --- bad input ------------------------------------------------------------------------------


def test_short_series_are_forecast_by_the_global_model_with_a_warning(panel):
    y = pd.concat(
        {"h1": panel.loc["h1"], "short": panel.loc["h2"].iloc[-(L + 2) :]}, names=["s", "date"]
    )
    with pytest.warns(UserWarning, match="too short for a training window"):
        f = mlp().fit(y, fh=range(1, H + 1))
    assert f.predict().loc["short"].shape == (H, 2)
    tiny = pd.concat(
        {"h1": panel.loc["h1"], "tiny": panel.loc["h2"].iloc[-5:]}, names=["s", "date"]
    )
    with pytest.raises(ValueError, match=r"series 'tiny'.*fewer than window_length"):
        mlp().fit(tiny, fh=range(1, H + 1))


def test_bad_series_index_is_named(panel):
    b = panel.loc["h2"].iloc[::-1]
    y = pd.concat({"h1": panel.loc["h1"], "h2": b}, names=["s", "date"])
    with pytest.raises(ValueError, match=r"series 'h2'"):
        mlp().fit(y, fh=range(1, H + 1))


def test_global_model_must_be_a_bool(panel):
    with pytest.raises(TypeError, match="global_model"):
        mlp(global_model="yes").fit(panel, fh=range(1, H + 1))


def test_per_series_teacher_for_a_global_student_is_refused(panel):
    t = teacher(global_model=False).fit(panel, fh=range(1, H + 1))
    with pytest.raises(ValueError, match="global_model=True"):
        distilled(t).fit(panel, fh=range(1, H + 1))


def test_distiller_with_global_model_false_fits_a_teacher_per_series(panel):
    f = distilled(teacher(), global_model=False).fit(panel, fh=range(1, H + 1))
    inner = f.forecasters_.loc["h1"].iloc[0]
    assert inner.series_keys_ is None and inner.teacher_.series_keys_ is None
    assert f.predict().shape == (2 * H, 2)
