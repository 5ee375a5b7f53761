"""Tests for the window-level scikit-learn regressor ``skdistill.regression.DistilledMLPRegressor``."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdistill.datasets import load_ltsf
from skdistill.forecasting import ITransformerForecaster
from skdistill.regression import DistilledMLPRegressor

L, H, N_ROWS = 48, 12, 400
# Small but real: the paper's architecture at reduced width and a few epochs.
TINY = {"hidden_size": 16, "moving_avg": 5, "n_scales": 2, "max_epochs": 3, "random_state": 0}


# --- scikit-learn's estimator checks ---------------------------------------------------------
# Default parameters train for up to 100 epochs; the checks get a small width and fewer epochs.
# Every check applies (no expected failures): 2-D X is univariate windows, 1-D y a one-step target.
@parametrize_with_checks(
    [DistilledMLPRegressor(hidden_size=16, moving_avg=3, max_epochs=10, random_state=0)]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# --- real windows and a real teacher ---------------------------------------------------------
@pytest.fixture(scope="module")
def ett():
    """Stride-1 windows of the first rows of ETTh1 and an iTransformer teacher's outputs for them.

    The teacher is fitted on the same rows (it sees every window's target): fine for API tests,
    not a benchmark protocol.
    """
    y = load_ltsf("ETTh1").iloc[:N_ROWS]
    values = y.to_numpy(dtype=np.float64)
    windows = sliding_window_view(values, L + H, axis=0).transpose(0, 2, 1)  # (n, L + H, C)
    X, Y = np.ascontiguousarray(windows[:, :L]), np.ascontiguousarray(windows[:, L:])
    teacher = ITransformerForecaster(
        window_length=L, d_model=16, d_ff=16, n_heads=2, max_epochs=1, random_state=0
    ).fit(y, fh=range(1, H + 1))
    tp = teacher.predict_windows(X)
    # Features from the teacher's own standardised space (identity mapping of the adapter).
    adapter = teacher._as_teacher(teacher.scaler_mean_, teacher.scaler_scale_, H).eval()
    z = (X - teacher.scaler_mean_) / teacher.scaler_scale_
    with torch.no_grad():
        _, tf = adapter(torch.as_tensor(z, dtype=torch.float32))
    return X, Y, tp, tf.numpy().astype(np.float64)


def test_fit_predict_3d(ett):
    X, Y, tp, tf = ett
    n, C = len(X), X.shape[2]
    assert tp.shape == (n, H, C) and tf.shape == (n, C, 16)
    reg = DistilledMLPRegressor(alpha=2.0, beta=2.0, **TINY)
    assert reg.fit(X, Y, teacher_predictions=tp, teacher_features=tf) is reg
    pred = reg.predict(X[:5])
    assert pred.shape == (5, H, C) and pred.dtype == np.float64
    assert (reg.window_length_, reg.horizon_, reg.n_channels_, reg.n_features_in_) == (L, H, C, L)
    assert (reg.alpha_, reg.beta_) == (2.0, 2.0)
    last = reg.history_[-1]
    for key in (
        "train_sup",
        "train_pred_scale",
        "train_pred_period",
        "train_feat_scale",
        "train_feat_period",
        "valid_loss",
    ):
        assert np.isfinite(last[key]), key
    # score: R^2 over the flattened (n, H * C) targets.
    expected = r2_score(Y.reshape(n, -1), reg.predict(X).reshape(n, -1))
    assert reg.score(X, Y) == pytest.approx(expected)


def test_2d_layouts(ett):
    X, Y, _, _ = ett
    x, y = X[:, :, -1], Y[:, :, -1]  # the target channel OT, univariate windows
    reg = DistilledMLPRegressor(**TINY).fit(x, y)
    assert reg.predict(x).shape == (len(x), H)
    assert reg.predict(x[:, :, None]).shape == (len(x), H)  # (n, L, 1) is the same windows
    reg1 = DistilledMLPRegressor(**TINY).fit(x, y[:, 0])
    assert reg1.horizon_ == 1 and reg1.predict(x).shape == (len(x),)
    # (n, L, 1) windows with (n, H, 1) targets keep the 3-D layout.
    reg3 = DistilledMLPRegressor(**TINY).fit(X[:, :, -1:], Y[:, :, -1:])
    assert reg3.predict(x).shape == (len(x), H, 1)
    np.testing.assert_array_equal(reg3.predict(x)[:, :, 0], reg.predict(x))


def test_moving_avg_is_clipped_to_short_windows():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 10)), rng.normal(size=40)
    reg = DistilledMLPRegressor(hidden_size=8, max_epochs=1, random_state=0).fit(X, y)
    assert reg.moving_avg_ == 9  # the largest odd kernel <= L = 10
    reg = DistilledMLPRegressor(hidden_size=8, moving_avg=4, max_epochs=1, random_state=0).fit(X, y)
    assert reg.moving_avg_ == 4


# --- model selection -------------------------------------------------------------------------
class _RecordingRegressor(DistilledMLPRegressor):
    """Records the lengths fit receives (GridSearchCV slices the per-sample teacher arrays)."""

    seen: list = []

    def fit(self, X, Y, teacher_predictions=None, teacher_features=None):
        _RecordingRegressor.seen.append(
            (len(X), len(Y), len(teacher_predictions), len(teacher_features))
        )
        return super().fit(X, Y, teacher_predictions, teacher_features)


def test_grid_search_slices_teacher_arrays_per_fold(ett):
    X, Y, tp, tf = ett
    _RecordingRegressor.seen = []
    grid = {"alpha": [0.5, 2.0], "beta": [0.0, 1.0]}
    cv = TimeSeriesSplit(3)
    search = GridSearchCV(_RecordingRegressor(**TINY), grid, cv=cv)
    search.fit(X, Y, teacher_predictions=tp, teacher_features=tf)

    assert search.best_params_["alpha"] in grid["alpha"]
    assert search.best_params_["beta"] in grid["beta"]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(X[:3]).shape == (3, H, X.shape[2])
    # Each fit got teacher arrays cut to its own training fold; the refit got all windows.
    for lengths in _RecordingRegressor.seen:
        assert len(set(lengths)) == 1, lengths
    fold_sizes = sorted({len(train) for train, _ in cv.split(X)})
    assert sorted({s[0] for s in _RecordingRegressor.seen}) == [*fold_sizes, len(X)]
    assert len(_RecordingRegressor.seen) == 4 * 3 + 1


def test_teacher_arrays_must_match_the_windows(ett):
    X, Y, tp, tf = ett
    reg = DistilledMLPRegressor(**TINY)
    with pytest.raises(
        ValueError, match=f"teacher_predictions has {len(X) - 1} samples but X has {len(X)}"
    ):
        reg.fit(X, Y, teacher_predictions=tp[1:], teacher_features=tf)
    with pytest.raises(ValueError, match="teacher_features has .* samples but X has"):
        reg.fit(X, Y, teacher_predictions=tp, teacher_features=tf[:-5])
    with pytest.raises(ValueError, match=r"teacher_predictions must have shape"):
        reg.fit(X, Y, teacher_predictions=tp[:, :, :3], teacher_features=tf)
    with pytest.raises(ValueError, match=r"teacher_features must have shape \(n, C, d_t\)"):
        reg.fit(X, Y, teacher_predictions=tp, teacher_features=tf[:, :3])
    bad = tp.copy()
    bad[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match="teacher_predictions contains NaN"):
        reg.fit(X, Y, teacher_predictions=bad, teacher_features=tf)


# --- the objective ---------------------------------------------------------------------------
def test_zero_weights_equal_the_student_alone(ett):
    X, Y, tp, tf = ett
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no teacher arrays at all: plain training, silently
        plain = DistilledMLPRegressor(**TINY).fit(X, Y)
    assert (plain.alpha_, plain.beta_) == (0.0, 0.0)
    zero = DistilledMLPRegressor(alpha=0.0, beta=0.0, **TINY)
    zero.fit(X, Y, teacher_predictions=tp, teacher_features=tf)
    np.testing.assert_array_equal(zero.predict(X), plain.predict(X))
    assert "train_pred_scale" not in zero.history_[-1]


def test_distillation_changes_the_student(ett):
    X, Y, tp, tf = ett
    plain = DistilledMLPRegressor(**TINY).fit(X, Y).predict(X)
    pred_only = DistilledMLPRegressor(alpha=2.0, beta=0.0, **TINY)
    pred_only = pred_only.fit(X, Y, teacher_predictions=tp).predict(X)
    both = DistilledMLPRegressor(alpha=2.0, beta=2.0, **TINY)
    both = both.fit(X, Y, teacher_predictions=tp, teacher_features=tf).predict(X)
    assert not np.allclose(pred_only, plain)
    assert not np.allclose(both, plain)
    assert not np.allclose(both, pred_only)


FIXED = {**TINY, "alpha": 1.0, "beta": 1.0}


def test_one_missing_level_warns_and_is_off(ett):
    X, Y, tp, tf = ett
    with pytest.warns(UserWarning, match="no teacher_features"):
        reg = DistilledMLPRegressor(**FIXED).fit(X, Y, teacher_predictions=tp)
    assert (reg.alpha_, reg.beta_) == (1.0, 0.0)
    with pytest.warns(UserWarning, match="no teacher_predictions"):
        reg = DistilledMLPRegressor(**FIXED).fit(X, Y, teacher_features=tf)
    assert (reg.alpha_, reg.beta_) == (0.0, 1.0)
    assert "train_feat_scale" in reg.history_[-1] and "train_pred_scale" not in reg.history_[-1]


def test_n_scales_must_fit_the_active_levels(ett):
    X, Y, tp, tf = ett
    with pytest.raises(ValueError, match=r"n_scales=4 .* horizon H=12"):
        DistilledMLPRegressor(**{**TINY, "n_scales": 4}).fit(
            X, Y, teacher_predictions=tp, teacher_features=tf
        )
    with pytest.raises(ValueError, match=r"hidden_size=16 must be >= 2\*\*n_scales = 32"):
        DistilledMLPRegressor(**{**TINY, "n_scales": 5, "alpha": 0.0}).fit(
            X, Y, teacher_predictions=tp, teacher_features=tf
        )
    # Without teachers the constraint does not apply (plain supervised training).
    DistilledMLPRegressor(**{**TINY, "n_scales": 5, "max_epochs": 1}).fit(X[:64], Y[:64])


# --- reproducibility -------------------------------------------------------------------------
def test_deterministic_and_picklable(ett):
    X, Y, tp, tf = ett
    reg = DistilledMLPRegressor(alpha=2.0, beta=1.0, **TINY)
    a = reg.fit(X, Y, teacher_predictions=tp, teacher_features=tf).predict(X)
    b = clone(reg).fit(X, Y, teacher_predictions=tp, teacher_features=tf).predict(X)
    np.testing.assert_array_equal(a, b)
    restored = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(restored.predict(X), a)
    # random_state=None draws a seed (honouring numpy's global seed).
    free = DistilledMLPRegressor(**{**TINY, "random_state": None, "max_epochs": 1})
    np.random.seed(3)  # noqa: NPY002
    c = free.fit(X[:100], Y[:100]).predict(X[:5])
    np.random.seed(3)  # noqa: NPY002
    np.testing.assert_array_equal(clone(free).fit(X[:100], Y[:100]).predict(X[:5]), c)


# --- input errors ----------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors(ett):
    X, Y, _, _ = ett
    reg = DistilledMLPRegressor(**TINY)
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        reg.fit(bad, Y)
    badY = Y.copy()
    badY[1, 1, 1] = np.inf
    with pytest.raises(ValueError, match="y contains infinity"):
        reg.fit(X, badY)
    with pytest.raises(ValueError, match=r"Y must have shape \(n, H, C\) = \(n, H, 7\)"):
        reg.fit(X, Y[:, :, 0])
    with pytest.raises(ValueError, match="validation_size=400"):
        DistilledMLPRegressor(**{**TINY, "validation_size": 400}).fit(X, Y)

    reg.fit(X[:120], Y[:120])
    with pytest.raises(ValueError, match=r"X must have shape \(n, 48, 7\)"):
        reg.predict(X[:, :40])
    with pytest.raises(ValueError, match=r"fitted on windows of shape \(48, 7\)"):
        reg.predict(X[:, :, :3])
    with pytest.raises(ValueError, match="fitted on 7 channels"):
        reg.predict(X[:, :, 0])
    with pytest.raises(ValueError, match="X contains NaN"):
        reg.predict(bad)


def test_fitted_regressor_is_as_slim_as_a_forecaster(ett):
    """The regressor trains through the forecasters' entry point, so it gets their finish:
    no optimiser moments, no LR-scheduler object, no teacher in the pickle."""
    import pickle

    X, Y, tp, tf = ett
    reg = DistilledMLPRegressor(**TINY).fit(X, Y, teacher_predictions=tp, teacher_features=tf)
    assert not reg.net_.optimizer_.state
    assert reg.net_.teacher is None
    schedulers = [cb for _, cb in reg.net_.callbacks_ if hasattr(cb, "lr_scheduler_")]
    assert schedulers and all(cb.lr_scheduler_ is None for cb in schedulers)
    blob = pickle.dumps(reg)
    weights = sum(p.numel() for p in reg.net_.module_.parameters())
    weights += sum(p.numel() for p in reg.net_.criterion_.parameters())
    # float32 weights, plus the history and small objects: far from the 3x of Adam's moments.
    assert len(blob) < 4 * weights * 1.5 + 200_000
    np.testing.assert_array_equal(pickle.loads(blob).predict(X), reg.predict(X))
