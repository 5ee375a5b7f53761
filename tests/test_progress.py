"""What ``verbose`` shows: 0 nothing at all, 1 (the default) progress bars on stderr for every
long step of a fit (a teacher fitted inside a distiller included), 2 also skorch's epoch table."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sktime.forecasting.naive import NaiveForecaster

from skdistill.classification import KDClassifier, SFKDClassifier
from skdistill.datasets import load_ltsf
from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster
from skdistill.regression import DistilledMLPRegressor
from skdistill.training.progress import EpochProgress

L, FH = 24, list(range(1, 7))
BAR = "%|"  # tqdm's percentage followed by the bar


@pytest.fixture(scope="module")
def y():
    return load_ltsf("ETTh1").iloc[:160][["HUFL", "OT"]]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16.0).astype(np.float32), y[:300]


def tiny_mlp(**kw):
    params = dict(window_length=L, hidden_size=8, moving_avg=3, max_epochs=2, random_state=0)
    return MLPForecaster(**{**params, **kw})


def tiny_distilled(teacher, **kw):
    params = dict(
        window_length=L, hidden_size=8, moving_avg=3, n_scales=1, max_epochs=2, random_state=0
    )
    return DistilledMLPForecaster(teacher, **{**params, **kw})


def tiny_sfkd(teacher, **kw):
    params = dict(student="mlp", input_shape=(1, 8, 8), max_epochs=2, random_state=0)
    return SFKDClassifier(teacher, **{**params, **kw})


def tiny_kd(**kw):
    return KDClassifier(input_shape=(1, 8, 8), max_epochs=1, random_state=0, **kw)


def test_verbose_defaults_to_progress_bars():
    for est in (
        MLPForecaster(),
        DistilledMLPForecaster(),
        DistilledMLPRegressor(),
        SFKDClassifier(),
        KDClassifier(),
    ):
        assert est.get_params()["verbose"] == 1, type(est).__name__


# --- verbose=0: nothing at all ------------------------------------------------------------------


def test_forecaster_verbose_0_is_silent(y, capfd):
    tiny_mlp(verbose=0).fit(y, fh=FH)
    assert capfd.readouterr() == ("", "")


def test_distilled_with_generic_teacher_verbose_0_is_silent(y, capfd):
    # NaiveForecaster(strategy="mean", sp=2) has no closed form: sktime runs every window.
    teacher = NaiveForecaster(strategy="mean", sp=2)
    tiny_distilled(teacher, beta=0.0, verbose=0, validation_size=None).fit(y.iloc[:60], fh=FH)
    assert capfd.readouterr() == ("", "")


def test_distiller_verbose_0_silences_the_teacher_it_fits(y, capfd):
    teacher = tiny_mlp(max_epochs=1)  # verbose=1 by default
    distilled = tiny_distilled(teacher, verbose=0).fit(y, fh=FH)
    assert capfd.readouterr() == ("", "")
    assert distilled.teacher_.verbose == 0 and teacher.verbose == 1  # the user's is unchanged


def test_classifier_verbose_0_is_silent(digits, capfd):
    X, y = digits
    tiny_sfkd(tiny_kd(), verbose=0).fit(X, y)
    assert capfd.readouterr() == ("", "")


def test_classifier_verbose_0_quiets_an_sklearn_teacher(digits, capfd):
    X, y = digits
    teacher = LogisticRegression(max_iter=50, verbose=1)
    clf = tiny_sfkd(teacher, beta=0.0, gamma=0.0, verbose=0).fit(X, y)
    assert clf.teacher_.verbose == 0 and teacher.verbose == 1
    assert capfd.readouterr() == ("", "")


# --- verbose=1: progress bars on stderr, nothing on stdout ---------------------------------------


def test_forecaster_verbose_1_draws_its_epochs(y, capfd):
    tiny_mlp().fit(y, fh=FH)
    out, err = capfd.readouterr()
    assert out == ""
    assert "MLPForecaster epochs" in err and BAR in err and "2/2" in err
    assert "train_loss=" in err and "valid_loss=" in err


def test_distilled_with_generic_teacher_verbose_1_draws_windows_and_epochs(y, capfd):
    teacher = NaiveForecaster(strategy="mean", sp=2)
    tiny_distilled(teacher, beta=0.0, validation_size=None).fit(y.iloc[:60], fh=FH)
    out, err = capfd.readouterr()
    assert out == ""
    assert "teacher NaiveForecaster forecasts" in err and "window" in err
    assert "DistilledMLPForecaster epochs" in err and BAR in err


def test_distilled_verbose_1_draws_the_teachers_fit_and_outputs(y, capfd):
    tiny_distilled(tiny_mlp(max_epochs=1), max_epochs=3).fit(y, fh=FH)
    out, err = capfd.readouterr()
    assert out == ""
    for step in (
        "teacher MLPForecaster epochs",
        "teacher outputs",
        # The weight search ("auto", the default): a bar per candidate, then the result.
        "weights alpha=0 beta=0",
        "weights alpha=2 beta=2",
        "weight search (alpha, beta): valid loss after epochs",
        # The winner goes on for the epochs left (3 - 2 of the search).
        "DistilledMLPForecaster epochs",
    ):
        assert step in err, step


def test_a_teacher_keeps_its_own_verbose_under_a_verbose_distiller(y, capfd):
    tiny_distilled(tiny_mlp(max_epochs=1, verbose=0), max_epochs=3).fit(y, fh=FH)
    err = capfd.readouterr().err
    assert "teacher MLPForecaster epochs" not in err
    assert "DistilledMLPForecaster epochs" in err


def test_classifier_verbose_1_draws_teacher_and_epochs(digits, capfd):
    X, y = digits
    tiny_sfkd(tiny_kd()).fit(X, y)
    out, err = capfd.readouterr()
    assert out == ""
    for step in ("teacher KDClassifier epochs", "teacher outputs", "SFKDClassifier epochs"):
        assert step in err, step
    assert BAR in err


# --- verbose=2: skorch's table too ---------------------------------------------------------------


def test_verbose_2_prints_the_epoch_table(y, capfd):
    tiny_mlp(verbose=2).fit(y, fh=FH)
    out, err = capfd.readouterr()
    assert "train_loss" in out and "valid_loss" in out and "epoch" in out
    assert "MLPForecaster epochs" in err


# --- fitted estimators carry no bar -----------------------------------------------------------


def test_fitted_estimators_pickle_and_clone_without_a_bar(y, digits):
    X, labels = digits
    fitted = [tiny_mlp().fit(y, fh=FH), tiny_sfkd(tiny_kd()).fit(X, labels)]
    for est in fitted:
        bars = [cb for _, cb in est.net_.callbacks_ if isinstance(cb, EpochProgress)]
        assert len(bars) == 1 and bars[0].bar_ is None
        again = pickle.loads(pickle.dumps(est))
        clone(est)
        if isinstance(est, MLPForecaster):
            pd.testing.assert_frame_equal(again.predict(), est.predict())
        else:
            np.testing.assert_array_equal(again.predict(X), est.predict(X))


def test_a_failed_fit_closes_its_bar(y, capfd):
    # A learning rate that overflows: the fit raises inside training, skorch ends no callback.
    with pytest.raises(FloatingPointError):
        tiny_mlp(lr=1e30, max_epochs=3).fit(y, fh=FH)
    err = capfd.readouterr().err
    assert "MLPForecaster epochs" in err
    from tqdm import tqdm

    assert not [bar for bar in list(tqdm._instances) if "MLPForecaster" in str(bar.desc)]
