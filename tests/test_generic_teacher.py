"""Any sktime forecaster as a teacher: what it contributes for each window, and how fast."""

import copy

import numpy as np
import pandas as pd
import pytest
from sktime.forecasting.base import ForecastingHorizon
from sktime.forecasting.naive import NaiveForecaster
from sktime.forecasting.trend import TrendForecaster

from skdistill.datasets import load_ltsf
from skdistill.forecasting import DistilledMLPForecaster
from skdistill.forecasting._generic_teacher import closed_form, window_forecasts

L, H = 48, 12
FH = ForecastingHorizon(np.arange(1, H + 1), is_relative=True)


@pytest.fixture(scope="module")
def y():
    return load_ltsf("ETTh1").iloc[:400][["HUFL", "MUFL", "OT"]]


def _by_sktime(teacher, y, starts, fitted=None):
    """sktime's own forecast from each window: a fresh fit on the context alone."""
    return np.stack(
        [teacher.clone().fit(y.iloc[s : s + L], fh=FH).predict().to_numpy() for s in starts]
    )


@pytest.mark.parametrize(
    "params",
    [
        {"strategy": "last"},
        {"strategy": "last", "sp": 24},
        {"strategy": "mean"},
        {"strategy": "mean", "window_length": 24},
        {"strategy": "drift"},
        {"strategy": "drift", "window_length": 10},
    ],
    ids=lambda p: "-".join(str(v) for v in p.values()),
)
def test_naive_closed_form_is_sktimes_forecast(y, params):
    teacher = NaiveForecaster(**params)
    starts = np.array([0, 7, 130, 300])
    got = closed_form(teacher, y.to_numpy(), starts, L, H)
    assert got is not None
    np.testing.assert_allclose(got, _by_sktime(teacher, y, starts), rtol=1e-12, atol=1e-12)


def test_a_subclass_is_not_taken_for_its_parent(y):
    class Shifted(NaiveForecaster):
        def predict(self, fh=None, X=None):
            return super().predict(fh, X) + 1.0

    assert closed_form(Shifted(), np.zeros((100, 3)), np.array([0, 1]), L, H) is None


def test_a_fitted_teacher_is_distilled_as_the_user_fitted_it(y):
    """A trend fitted on 400 rows stays that trend: its in-sample forecasts, never a refit."""
    user = TrendForecaster().fit(y, fh=FH)
    coef = user.forecasters_.iloc[0, 0].regressor_.coef_.copy()
    starts = np.array([0, 50, 200, 300])
    got = window_forecasts(user, y, starts, L, H)
    for row, s in zip(got, starts, strict=True):
        target = y.index[s + L : s + L + H]
        expected = user.predict(fh=ForecastingHorizon(target, is_relative=False))
        np.testing.assert_allclose(row, expected.to_numpy(), rtol=1e-10)
    # The user's forecaster is untouched: same parameters, same cutoff.
    np.testing.assert_array_equal(user.forecasters_.iloc[0, 0].regressor_.coef_, coef)
    assert user.cutoff[0] == y.index[-1]


def test_reuse_never_reads_rows_after_the_window(y):
    # Seasonal mean has no closed form here: the copy walks the generic path. Fitted on the
    # whole series, it must still forecast each window from that window's context alone.
    teacher = NaiveForecaster(strategy="mean", sp=12, window_length=36).fit(y, fh=FH)
    starts = np.array([10, 100, 250])
    got = window_forecasts(teacher, y, starts, L, H)
    np.testing.assert_allclose(got, _by_sktime(teacher, y, starts), rtol=1e-12)


class _Uncovered(NaiveForecaster):
    """NaiveForecaster's forecasts without its closed form: the generic path."""


@pytest.mark.parametrize(
    "params", [{"strategy": "last"}, {"strategy": "drift", "window_length": 10}]
)
def test_a_forecaster_fitted_on_everything_still_forecasts_from_the_window(y, params):
    # Window forecasters keep a second copy of their data (_cur_y): forgetting only the
    # stream pool would make the copy "forecast" the rows after each window.
    teacher = _Uncovered(**params).fit(y, fh=FH)
    starts = np.array([0, 90, 333])
    expected = closed_form(NaiveForecaster(**params), y.to_numpy(), starts, L, H)
    np.testing.assert_allclose(window_forecasts(teacher, y, starts, L, H), expected, rtol=1e-12)


def test_refit_fits_each_window(y):
    starts = np.array([0, 120, 310])
    got = window_forecasts(TrendForecaster(), y, starts, L, H, mode="refit")
    np.testing.assert_allclose(got, _by_sktime(TrendForecaster(), y, starts), rtol=1e-10)


def test_the_parallel_backend_gives_the_same_forecasts(y, monkeypatch):
    from skdistill.forecasting import _generic_teacher

    monkeypatch.setattr(_generic_teacher, "CHUNK", 3)  # several tasks from a few windows
    teacher = TrendForecaster().fit(y, fh=FH)
    starts = np.arange(0, 300, 37)
    serial = window_forecasts(teacher, y, starts, L, H)
    par = copy.deepcopy(teacher)
    par.set_config(**{"backend:parallel": "loky", "backend:parallel:params": {"n_jobs": 2}})
    np.testing.assert_allclose(window_forecasts(par, y, starts, L, H), serial, rtol=1e-12)


def _distiller(teacher, **params):
    settings = {"window_length": L, "hidden_size": 8, "moving_avg": 3, "beta": 0.0}
    settings.update(max_epochs=1, validation_size=None, random_state=0)
    return DistilledMLPForecaster(teacher, **{**settings, **params})


def test_the_distiller_keeps_a_fitted_teacher_as_is(y):
    user = TrendForecaster().fit(y, fh=FH)
    d = _distiller(user).fit(y, fh=FH)
    assert d.teacher_ is user


def test_a_teacher_fitted_on_other_columns_is_refused(y):
    user = NaiveForecaster().fit(y[["OT", "HUFL"]], fh=FH)
    with pytest.raises(ValueError, match=r"fitted on columns \['OT', 'HUFL'\]"):
        _distiller(user).fit(y, fh=FH)


def test_columns_in_another_order_are_fine(y):
    user = NaiveForecaster().fit(y[y.columns[::-1]], fh=FH)
    a = _distiller(user).fit(y, fh=FH).predict()
    b = _distiller(NaiveForecaster()).fit(y, fh=FH).predict()
    pd.testing.assert_frame_equal(a, b)


def test_bad_generic_teacher_value_is_named(y):
    with pytest.raises(ValueError, match="generic_teacher"):
        _distiller(NaiveForecaster(), generic_teacher="per-window").fit(y, fh=FH)
