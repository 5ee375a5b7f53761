"""Bad input and faults: the exact outcome for each case (issue 17's suite, first classes).

Each case asserts what a user relies on: a clear error that names the parameter and the fix,
or the correct result. Cases are generated where one mechanism covers many inputs.
"""

import numpy as np
import pandas as pd
import pytest
import torch

from skdistill.datasets import load_ltsf
from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster

L, H = 24, 4


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


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
