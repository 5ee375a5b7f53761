"""Bad input and faults of the forecasters and the regressor: the exact outcome for each case.

Each case asserts what a user relies on: a clear error that names the parameter and the fix,
or the correct result. Cases are generated where one mechanism covers many inputs.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skdistill.datasets import load_ltsf
from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster

L, H = 24, 4


@pytest.fixture(scope="module")
def y():
    return load_ltsf("ETTh1").iloc[:300]


def tiny_mlp(**params) -> MLPForecaster:
    settings = {"window_length": L, "hidden_size": 8, "moving_avg": 3, "max_epochs": 1}
    return MLPForecaster(**{**settings, "validation_size": None, "random_state": 0, **params})


@pytest.fixture(scope="module")
def fitted(y):
    f = tiny_mlp()
    return f.fit(y.iloc[:200], fh=range(1, H + 1))


# --- update matches columns by name ------------------------------------------------------------


def test_update_with_reordered_columns_equals_update_in_order(y, fitted):
    ordered = fitted.clone().fit(y.iloc[:200], fh=range(1, H + 1))
    shuffled = fitted.clone().fit(y.iloc[:200], fh=range(1, H + 1))
    ordered.update(y.iloc[200:260], update_params=False)
    shuffled.update(y.iloc[200:260][y.columns[::-1]], update_params=False)
    pd.testing.assert_frame_equal(ordered.predict(), shuffled.predict())


@settings(max_examples=25, deadline=None)
@given(
    order=st.permutations(range(7)),
    start=st.integers(150, 215),
    length=st.integers(1, 40),
)
def test_update_is_by_name_and_refuses_any_gap(y, fitted, order, start, length):
    """Any column order, any overlap with what was seen, any gap: by name, or a named error."""
    import copy

    new = y.iloc[start : start + length]
    shuffled = new[new.columns[list(order)]]
    ordered, f = copy.deepcopy(fitted), copy.deepcopy(fitted)
    if start > 200:  # rows 200..start-1 are missing after the cutoff (row 199)
        with pytest.raises(ValueError, match="pass them too"):
            f.update(shuffled, update_params=False)
        pd.testing.assert_frame_equal(f.predict(), fitted.predict())
        return
    if start + length < 200:  # ends before the cutoff: it cannot move back
        with pytest.raises(ValueError, match="cannot move"):
            f.update(shuffled, update_params=False)
        return
    if start + length == 200:  # ends at the cutoff: nothing new, nothing changes
        f.update(shuffled, update_params=False)
        pd.testing.assert_frame_equal(f.predict(), fitted.predict())
        return
    ordered.update(new, update_params=False)
    f.update(shuffled, update_params=False)
    pd.testing.assert_frame_equal(f.predict(), ordered.predict())
    assert f.cutoff[0] == new.index[-1]


@pytest.mark.parametrize(
    "change",
    ["rename_one", "drop_one", "add_one"],
)
def test_update_with_other_columns_names_them(y, fitted, change):
    new = y.iloc[200:260].copy()
    if change == "rename_one":
        new = new.rename(columns={"OT": "target"})
    elif change == "drop_one":
        new = new.drop(columns="HUFL")
    else:
        new["extra"] = 1.0
    f = fitted.clone().fit(y.iloc[:200], fh=range(1, H + 1))
    with pytest.raises(ValueError, match="matched by name"):
        f.update(new, update_params=False)


# --- values too large to standardise -----------------------------------------------------------


@pytest.mark.parametrize("factor", [1e200, -1e200, 1e300, 1e306])
def test_overflowing_scale_is_an_error_not_inf_forecasts(y, factor):
    f = tiny_mlp()
    with pytest.raises(ValueError, match="too large to standardise.*rescale y"):
        f.fit(y.iloc[:200] * factor, fh=range(1, H + 1))


def test_large_but_representable_scale_still_fits(y):
    f = tiny_mlp()
    pred = f.fit(y.iloc[:200] * 1e100, fh=range(1, H + 1)).predict()
    assert np.isfinite(pred.to_numpy()).all()


# --- one seeding rule for teachers cloned inside a distiller -----------------------------------


def _distiller(teacher, random_state):
    return DistilledMLPForecaster(
        teacher,
        window_length=L,
        hidden_size=8,
        moving_avg=3,
        n_scales=2,
        max_epochs=1,
        validation_size=None,
        random_state=random_state,
    )


@pytest.mark.parametrize("seed", [0, 7])
def test_unseeded_teacher_follows_the_distillers_seed(y, seed):
    teacher = tiny_mlp(random_state=None)  # no random_state: the README's pattern
    a = _distiller(teacher, seed).fit(y.iloc[:200], fh=range(1, H + 1))
    b = _distiller(teacher, seed).fit(y.iloc[:200], fh=range(1, H + 1))
    np.testing.assert_array_equal(a.predict().to_numpy(), b.predict().to_numpy())
    assert a.teacher_.random_state == b.teacher_.random_state is not None
    assert teacher.random_state is None  # the user's object is untouched


def test_teacher_streams_differ_per_teacher_and_user_seeds_are_kept(y):
    unseeded = tiny_mlp(random_state=None)
    seeded = unseeded.clone().set_params(random_state=3)
    f = _distiller([unseeded, unseeded.clone(), seeded], 0).fit(y.iloc[:200], fh=range(1, H + 1))
    first, second, third = f.teacher_
    assert first.random_state != second.random_state
    assert third.random_state == 3


def test_no_training_signal_is_said_in_the_estimators_words():
    from skdistill.regression import DistilledMLPRegressor

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 16, 2)), rng.normal(size=(40, 8, 2))
    reg = DistilledMLPRegressor(hidden_size=8, moving_avg=3, use_supervised=False, max_epochs=1)
    with pytest.raises(ValueError, match="use_supervised=False leaves no training signal"):
        reg.fit(X, Y)
    assert not hasattr(reg, "net_")


# --- the index: one row per time step, update continues it without a gap -----------------------


def _fresh(y):
    return tiny_mlp().fit(y.iloc[:200], fh=range(1, H + 1))


@pytest.mark.parametrize("gap", [1, 5, 60])
def test_update_with_a_gap_is_an_error_not_a_spliced_look_back(y, gap):
    f = _fresh(y)
    before = f.predict()
    with pytest.raises(ValueError, match="gap.*pass them too"):
        f.update(y.iloc[200 + gap : 260 + gap], update_params=False)
    pd.testing.assert_frame_equal(f.predict(), before)  # and nothing moved
    assert f.cutoff[0] == y.index[199]


def test_update_with_overlapping_rows_uses_only_the_new_ones(y):
    plain, overlapping = _fresh(y), _fresh(y)
    plain.update(y.iloc[200:230], update_params=False)
    overlapping.update(y.iloc[180:230], update_params=False)
    pd.testing.assert_frame_equal(plain.predict(), overlapping.predict())


def test_update_with_older_rows_only_cannot_move_the_cutoff_back(y):
    f = _fresh(y)
    with pytest.raises(ValueError, match="cannot move back"):
        f.update(y.iloc[100:150], update_params=False)
    assert f.cutoff[0] == y.index[199]


def test_update_on_an_integer_index_checks_the_gap_too(y):
    yi = y.iloc[:300].reset_index(drop=True)
    f = tiny_mlp().fit(yi.iloc[:200], fh=range(1, H + 1))
    f.update(yi.iloc[200:210], update_params=False)  # contiguous: fine
    with pytest.raises(ValueError, match="next row must be 210"):
        f.update(yi.iloc[215:230], update_params=False)


def _bad_index(y, kind):
    y = y.iloc[:200].copy()
    if kind == "duplicated":
        y.index = y.index[:100].append(y.index[99:199])
    elif kind == "unsorted":
        y = y.iloc[::-1]
    elif kind == "gap":
        y = y.drop(y.index[50])
    elif kind == "irregular_ints":
        y.index = np.r_[np.arange(100), np.arange(101, 201)]
    elif kind == "strings":
        y.index = [f"t{i}" for i in range(len(y))]
    return y


@pytest.mark.parametrize(
    "kind, message",
    [
        ("duplicated", "duplicated time points"),
        ("unsorted", "not sorted"),
        ("gap", "irregular"),
        ("irregular_ints", "irregular"),
        ("strings", "DatetimeIndex, PeriodIndex or integer index"),
    ],
)
@pytest.mark.parametrize("make", ["mlp", "distilled"])
def test_a_bad_index_is_refused_at_fit_not_inside_sktimes_predict(y, kind, message, make):
    f = tiny_mlp() if make == "mlp" else _distiller(tiny_mlp(), 0)
    with pytest.raises(ValueError, match=message):
        f.fit(_bad_index(y, kind), fh=range(1, H + 1))
    assert not f.is_fitted


def test_a_period_index_fits_and_updates(y):
    yp = y.iloc[:260].copy()
    yp.index = yp.index.to_period("h")
    f = tiny_mlp().fit(yp.iloc[:200], fh=range(1, H + 1))
    f.update(yp.iloc[200:260], update_params=False)
    assert f.predict().index[0] == yp.index[-1] + 1
    with pytest.raises(ValueError, match="gap"):
        tiny_mlp().fit(yp.iloc[:200], fh=range(1, H + 1)).update(yp.iloc[201:210])


# --- constant channels are forecast as their value, not as the network's bias ------------------


@pytest.mark.parametrize("value", [0.001, -3.0, 1e6, 0.0])
def test_a_constant_channel_is_forecast_exactly(y, value):
    data = y.iloc[:200].copy()
    data["HUFL"] = value
    f = tiny_mlp().fit(data, fh=range(1, H + 1))
    assert f.constant_channels_.tolist() == [c == "HUFL" for c in data.columns]
    np.testing.assert_array_equal(f.predict()["HUFL"].to_numpy(), value)
    windows = f.predict_windows(data.to_numpy()[None, -L:])
    np.testing.assert_array_equal(windows[..., 0], value)


def test_a_channel_constant_in_training_that_moves_later_repeats_its_last_value(y):
    data = y.iloc[:260].copy()
    data.loc[data.index[:200], "HUFL"] = 2.0
    f = tiny_mlp().fit(data.iloc[:200], fh=range(1, H + 1))
    f.update(data.iloc[200:260], update_params=False)
    np.testing.assert_array_equal(f.predict()["HUFL"], data["HUFL"].iloc[-1])


def test_the_regressor_forecasts_a_constant_channel_exactly():
    from skdistill.regression import DistilledMLPRegressor

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 16, 2)), rng.normal(size=(60, 4, 2))
    X[..., 1], Y[..., 1] = 0.25, 0.25
    reg = DistilledMLPRegressor(hidden_size=8, moving_avg=3, max_epochs=1, random_state=0)
    pred = reg.fit(X, Y).predict(X)
    assert reg.constant_channels_.tolist() == [False, True]
    np.testing.assert_array_equal(pred[..., 1], 0.25)
    # A constant input whose target varies is learned, not copied.
    Y[..., 1] = rng.normal(size=(60, 4))
    assert not reg.fit(X, Y).constant_channels_.any()


# --- teacher_weights and a generic teacher's forecasts -----------------------------------------


@pytest.mark.parametrize("weights", ["ab", "12", [1.0], [1.0, -1.0], [0, 0], [np.nan, 1], [[1, 2]]])
def test_bad_teacher_weights_name_the_parameter(y, weights):
    f = _distiller([tiny_mlp(), tiny_mlp(random_state=1)], 0).set_params(teacher_weights=weights)
    with pytest.raises(ValueError, match="teacher_weights must be 2 non-negative numbers"):
        f.fit(y.iloc[:200], fh=range(1, H + 1))


def _misbehaving_teacher(kind: str):
    """A third-party sktime forecaster that breaks the forecaster contract in one way."""
    from sktime.forecasting.naive import NaiveForecaster

    class Teacher(NaiveForecaster):
        def predict(self, fh=None, X=None):
            out = super().predict(fh, X)
            if kind == "short":
                return out.iloc[:1]
            if kind == "renamed":
                return out.rename(columns=lambda c: f"{c}_hat")
            if kind == "nan":
                return out * np.nan
            return out[out.columns[::-1]]  # "reordered": fine, matched by name

    return Teacher(strategy="last")


@pytest.mark.parametrize(
    "kind, message",
    [
        ("short", r"returned a forecast of shape \(1, 7\) for an fh of 4 steps"),
        ("renamed", "columns are matched by name"),
        ("nan", "forecast NaN or infinite values"),
    ],
)
def test_a_generic_teachers_bad_forecast_is_named(y, kind, message):
    f = _distiller(_misbehaving_teacher(kind), 0).set_params(beta=0.0)
    with pytest.raises(ValueError, match=message):
        f.fit(y.iloc[:200], fh=range(1, H + 1))
    assert not f.is_fitted


def test_a_generic_teachers_reordered_columns_are_matched_by_name(y):
    from sktime.forecasting.naive import NaiveForecaster

    fits = [
        _distiller(t, 0).set_params(beta=0.0).fit(y.iloc[:200], fh=range(1, H + 1))
        for t in (_misbehaving_teacher("reordered"), NaiveForecaster(strategy="last"))
    ]
    pd.testing.assert_frame_equal(fits[0].predict(), fits[1].predict())


# --- fits are all-or-nothing --------------------------------------------------------------------


def _state(est) -> dict:
    return {k: v for k, v in vars(est).items()}


def _assert_unchanged(est, before: dict, predict_before=None, predict=None):
    after = _state(est)
    assert after.keys() == before.keys()
    for k, v in before.items():
        assert after[k] is v or (isinstance(v, dict | list | set) and after[k] == v), k
    if predict is not None:
        np.testing.assert_array_equal(np.asarray(predict()), np.asarray(predict_before))


def _nan_rows(y):
    bad = y.iloc[:200].copy()
    bad.iloc[5, 0] = np.nan
    return bad


@pytest.mark.parametrize("failure", ["nan_in_y", "nan_loss", "too_short", "bad_param", "bad_index"])
def test_a_failed_refit_leaves_the_forecaster_as_it_was(y, failure):
    f = _fresh(y)
    before, pred = _state(f), f.predict()
    args = {"fh": range(1, H + 1)}
    if failure == "nan_in_y":
        data = _nan_rows(y)
    elif failure == "nan_loss":
        data = y.iloc[:200]
        f.lr = 1e30  # as a user's set_params would (set_params resets sktime state itself)
        before = _state(f)
    elif failure == "too_short":
        data = y.iloc[:20]
    elif failure == "bad_param":
        data = y.iloc[:200]
        f.hidden_size = -1
        before = _state(f)
    else:
        data = _bad_index(y, "gap")
    with pytest.raises((ValueError, FloatingPointError)):
        f.fit(data, **args)
    _assert_unchanged(f, before, pred, f.predict)


def test_a_failed_distiller_refit_keeps_its_teacher_and_model(y):
    f = _distiller(tiny_mlp(), 0).fit(y.iloc[:200], fh=range(1, H + 1))
    before, pred = _state(f), f.predict()
    other = tiny_mlp(hidden_size=4)
    with pytest.raises(ValueError, match="missing data|NaN"):
        f.fit(_nan_rows(y), fh=range(1, H + 1), teacher=other)  # set_params(teacher=) undone
    _assert_unchanged(f, before, pred, f.predict)
    assert f.teacher is before["teacher"]


def test_a_failed_update_leaves_the_cutoff_and_look_back(y):
    f = _fresh(y)
    before, pred = _state(f), f.predict()
    bad = y.iloc[200:230].copy()
    bad.iloc[3, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        f.update(bad, update_params=False)
    _assert_unchanged(f, before, pred, f.predict)


def test_a_failed_regressor_refit_leaves_it_as_it_was():
    from skdistill.regression import DistilledMLPRegressor

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 16, 2)), rng.normal(size=(60, 4, 2))
    reg = DistilledMLPRegressor(hidden_size=8, moving_avg=3, max_epochs=1, random_state=0)
    reg.fit(X, Y)
    before, pred = _state(reg), reg.predict(X)
    with pytest.raises(ValueError):
        reg.fit(X[:, :8], Y[:, :2, :1], teacher_predictions=np.zeros((3, 2)))
    _assert_unchanged(reg, before, pred, lambda: reg.predict(X))


def _digits(n=200):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X[:n] / 16).reshape(-1, 1, 8, 8).astype(np.float32), y[:n]


def _tiny_classifier(**params):
    from skdistill.classification import KDClassifier

    return KDClassifier(
        teacher=None, student="mlp", **{"max_epochs": 1, "random_state": 0, **params}
    )


def test_a_failed_classifier_refit_keeps_classes_and_network():
    X, yy = _digits()
    c = _tiny_classifier().fit(X, yy)
    before, pred = _state(c), c.predict(X)
    X2 = X.copy()
    X2[0, 0, 0, 0] = np.nan  # refit on other labels that fails: nothing of it may stay
    with pytest.raises(ValueError):
        c.fit(X2, yy + 100)
    _assert_unchanged(c, before, pred, lambda: c.predict(X))
    assert c.classes_.max() == 9


# --- divergence: NaN is an error that says where; a finite explosion warns ----------------------


def test_an_exploding_forecaster_warns_and_says_lower_lr(y):
    from skdistill.exceptions import DivergenceWarning

    f = tiny_mlp(lr=1e6, max_epochs=3)
    with pytest.warns(DivergenceWarning, match=r"training diverged.*lower lr \(now 1e\+06\)"):
        f.fit(y.iloc[:200], fh=range(1, H + 1))


def test_an_exploding_classifier_warns():
    from skdistill.exceptions import DivergenceWarning

    X, yy = _digits()
    with pytest.warns(DivergenceWarning, match="untrained network's"):
        _tiny_classifier(lr=1e6, max_epochs=2).fit(X, yy)


@pytest.mark.parametrize("lr", [1e-4, 1e-2])
def test_sane_training_does_not_warn(y, lr):
    import warnings

    from skdistill.exceptions import DivergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        tiny_mlp(lr=lr, max_epochs=3).fit(y.iloc[:200], fh=range(1, H + 1))
        _tiny_classifier(lr=lr, max_epochs=2).fit(*_digits())


class _BlowsUpLater(torch.nn.Module):
    """A user's student that turns NaN after ``after`` training batches."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(64, 10)
        self.after, self.calls = after, 0

    def forward(self, x):
        out = self.linear(x.flatten(1))
        if self.training:
            self.calls += 1
            if self.calls > self.after:
                return out * torch.nan
        return out


def test_a_nan_loss_names_the_epoch_and_the_best_one():
    from skdistill.classification import KDClassifier

    X, yy = _digits(160)  # 5 batches of 32 per epoch: NaN in epoch 3
    c = KDClassifier(
        teacher=None,
        student=_BlowsUpLater(12),
        max_epochs=5,
        random_state=0,
        batch_size=32,
    )
    with pytest.raises(
        FloatingPointError, match=r"in epoch 3.*best epoch so far was 2.*max_epochs=2"
    ):
        c.fit(X, yy)
    assert not hasattr(c, "net_")


def test_a_nan_loss_in_the_first_epoch_says_lower_lr(y):
    with pytest.raises(FloatingPointError, match=r"in epoch 1: training diverged.*Lower lr"):
        tiny_mlp(lr=1e30).fit(y.iloc[:200], fh=range(1, H + 1))


# --- Ctrl-C stops the work and never yields a model that looks finished ------------------------


@pytest.fixture
def ctrl_c():
    """Press Ctrl-C (a real SIGINT to this process) ``delay`` seconds from now."""
    import os
    import signal
    import threading

    timers = []
    # Python's own Ctrl-C handling, whatever an earlier test's library installed (in the full
    # suite a SIGINT sent here was once never raised at all).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def press(delay: float):
        # Pressed again every 10 s until the test ends: Python swallows a KeyboardInterrupt
        # raised while a finaliser runs ("Exception ignored in ..."), and a single lost press
        # would leave an endless fit running forever instead of failing.
        for k in range(6):
            timer = threading.Timer(delay + 10 * k, os.kill, (os.getpid(), signal.SIGINT))
            timers.append(timer)
            timer.start()

    yield press
    for t in timers:
        t.cancel()
    signal.signal(signal.SIGINT, previous)


def _endless(**params):
    return tiny_mlp(max_epochs=10**6, patience=None, **params)


def test_ctrl_c_during_training_raises_and_fits_nothing(y, ctrl_c):
    f = _endless()
    ctrl_c(1.0)
    with pytest.raises(KeyboardInterrupt):
        f.fit(y.iloc[:200], fh=range(1, H + 1))
    assert not f.is_fitted and not hasattr(f, "net_")


def test_ctrl_c_during_a_refit_keeps_the_previous_model(y, ctrl_c):
    f = _fresh(y)
    before, pred = _state(f), f.predict()
    f.max_epochs, f.patience = 10**6, None
    before = _state(f)
    ctrl_c(1.0)
    with pytest.raises(KeyboardInterrupt):
        f.fit(y.iloc[:200], fh=range(1, H + 1))
    _assert_unchanged(f, before, pred, f.predict)


def test_ctrl_c_during_the_teachers_fit_stops_the_distiller(y, ctrl_c):
    teacher = _endless()
    f = _distiller(teacher, 0)
    ctrl_c(1.0)
    with pytest.raises(KeyboardInterrupt):
        f.fit(y.iloc[:200], fh=range(1, H + 1))
    assert not f.is_fitted and not hasattr(f, "teacher_")
    assert not teacher.is_fitted  # the user's teacher was cloned, never touched


def test_ctrl_c_during_a_classifiers_fit(ctrl_c):
    X, yy = _digits()
    c = _tiny_classifier().set_params(max_epochs=10**6)
    ctrl_c(1.0)
    with pytest.raises(KeyboardInterrupt):
        c.fit(X, yy)
    assert not hasattr(c, "net_") and not hasattr(c, "classes_")
