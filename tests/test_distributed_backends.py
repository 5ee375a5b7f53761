"""Backtests and searches on a dask cluster give the same answers as in one process.

A ``distributed.LocalCluster`` with two worker *processes* makes every task cross a process
boundary, so the estimators (and their fitted teachers) are pickled as a real cluster would.
"""

import pickle

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from sklearn.model_selection import GridSearchCV  # noqa: E402
from sktime.forecasting.model_evaluation import evaluate  # noqa: E402
from sktime.forecasting.model_selection import ForecastingGridSearchCV  # noqa: E402
from sktime.split import ExpandingWindowSplitter  # noqa: E402

from skdistill.classification import KDClassifier  # noqa: E402
from skdistill.datasets import load_ltsf  # noqa: E402
from skdistill.forecasting import DistilledMLPForecaster, ITransformerForecaster  # noqa: E402

L, H = 24, 8


def _set_one_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        c.run(_set_one_thread)  # as in this process (conftest), so results match bit for bit
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def y():
    return load_ltsf("ETTh1").iloc[:700]


@pytest.fixture(scope="module")
def forecaster(y):
    teacher = ITransformerForecaster(
        window_length=L, d_model=8, d_ff=8, n_heads=2, e_layers=1, max_epochs=1, random_state=0
    ).fit(y.iloc[:400], fh=range(1, H + 1))
    return DistilledMLPForecaster(
        teacher,
        window_length=L,
        hidden_size=8,
        moving_avg=5,
        max_epochs=1,
        validation_size=None,
        random_state=0,
    )


def _cv():
    return ExpandingWindowSplitter(initial_window=400, step_length=100, fh=range(1, H + 1))


def test_evaluate_on_dask_matches_one_process(client, y, forecaster):
    local = evaluate(forecaster, _cv(), y)
    remote = evaluate(forecaster, _cv(), y, backend="dask")
    assert len(remote) == len(local) == 3
    col = [c for c in local.columns if c.startswith("test_")][0]
    assert np.all(np.isfinite(remote[col]))
    np.testing.assert_allclose(remote[col].to_numpy(), local[col].to_numpy(), rtol=1e-6)


def test_forecasting_grid_search_on_dask(client, y, forecaster):
    grid = {"alpha": [0.0, 1.0]}
    kwargs = dict(forecaster=forecaster, cv=_cv(), param_grid=grid)
    fh = range(1, H + 1)
    local = ForecastingGridSearchCV(**kwargs, backend=None).fit(y, fh=fh)
    remote = ForecastingGridSearchCV(**kwargs, backend="dask").fit(y, fh=fh)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_MeanAbsolutePercentageError"],
        local.cv_results_["mean_test_MeanAbsolutePercentageError"],
        rtol=1e-6,
    )


def test_sklearn_grid_search_under_joblib_dask(client):
    import joblib
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X[:400] / 16.0).astype(np.float32)
    y = y[:400]
    teacher = KDClassifier(student="cnn", input_shape=(1, 8, 8), max_epochs=2, random_state=0)
    teacher.fit(X, y)
    student = KDClassifier(
        teacher=teacher.net_.module_.student,
        student="mlp",
        input_shape=(1, 8, 8),
        max_epochs=2,
        random_state=0,
    )
    grid = {"alpha": [0.0, 1.0], "temperature": [2.0, 4.0]}
    local = GridSearchCV(student, grid, cv=2).fit(X, y)
    with joblib.parallel_backend("dask"):
        remote = GridSearchCV(student, grid, cv=2, n_jobs=-1).fit(X, y)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )


def test_forecaster_with_fitted_teacher_pickles_small(forecaster):
    # What crosses to a worker per task: the unfitted student's parameters and the teacher.
    # The fitted teacher carries its weights (skorch stores them with the module and with the
    # optimizer), its history and small state: no training data, no optimiser moments.
    size = len(pickle.dumps(forecaster))
    teacher_size = len(pickle.dumps(forecaster.teacher))
    weights = 4 * forecaster.teacher.n_parameters()
    assert size < teacher_size + 50_000
    assert teacher_size < 2 * weights + 300_000
