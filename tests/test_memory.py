"""``memory``: the teacher fitted once per training set (grid search, evaluate, refits).

What a user relies on: with ``memory`` a folder, a search over the loss weights fits the
teacher once per fold (+ the refit), across processes too; a change of the data or of the
teacher's parameters is a miss; the cached teacher gives the same student as a fresh fit;
and a bad ``memory`` is named.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sktime.forecasting.model_selection import ForecastingGridSearchCV
from sktime.split import ExpandingWindowSplitter

from skdistill.classification import KDClassifier, SFKDClassifier
from skdistill.datasets import load_ltsf
from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster

SCRIPTS = Path(__file__).resolve().parent / "scripts"
sys.path.insert(0, str(SCRIPTS))
from counting import FitCountingLogistic, FitCountingMLP, n_fits  # noqa: E402

L, H = 24, 4
FH = list(range(1, H + 1))


@pytest.fixture(scope="module")
def y():
    return load_ltsf("ETTh1").iloc[:400, :3]


def student(teacher, **kw):
    params = dict(
        window_length=L,
        hidden_size=8,
        moving_avg=5,
        n_scales=1,
        max_epochs=1,
        validation_size=None,
        random_state=0,
        verbose=0,
    )
    return DistilledMLPForecaster(teacher=teacher, **{**params, **kw})


def search(forecaster, backend=None):
    cv = ExpandingWindowSplitter(initial_window=250, step_length=40, fh=FH)
    grid = {"alpha": [0.5, 1.0, 2.0], "beta": [0.5, 1.0]}  # 6 (alpha, beta) pairs
    return ForecastingGridSearchCV(
        forecaster, cv=cv, param_grid=grid, backend=backend, error_score="raise"
    )


def test_grid_search_fits_the_teacher_once_per_training_set(y, tmp_path):
    log = tmp_path / "fits.log"
    gs = search(student(FitCountingMLP(log=str(log)), memory=str(tmp_path / "cache")))
    gs.fit(y, fh=FH)
    cv_folds = gs.cv.get_n_splits(y)
    assert cv_folds == 4
    assert n_fits(log) == cv_folds + 1  # one per fold, one for the refit on all of y

    # Without memory: every candidate on every fold, the refit, and one more fit that
    # sktime's search makes (26 for 4 folds, as issue 23 counted).
    log_none = tmp_path / "fits_none.log"
    search(student(FitCountingMLP(log=str(log_none)))).fit(y, fh=FH)
    assert n_fits(log_none) == 6 * cv_folds + 2


def test_grid_search_under_loky_shares_the_folder(y, tmp_path):
    log = tmp_path / "fits.log"
    gs = search(student(FitCountingMLP(log=str(log)), memory=str(tmp_path / "cache")), "loky")
    gs.set_config(**{"backend:parallel:params": {"n_jobs": 2}})
    gs.fit(y, fh=FH)
    # Two workers may both miss a key they start together: at most twice per fold.
    assert 4 + 1 <= n_fits(log) <= 2 * 4 + 1


def test_a_cached_teacher_is_reused_and_gives_the_same_student(y, tmp_path):
    teacher = MLPForecaster(window_length=L, hidden_size=8, moving_avg=5, max_epochs=1, verbose=0)
    cache = str(tmp_path / "cache")
    fresh = student(teacher).fit(y, fh=FH)
    first = student(teacher, memory=cache).fit(y, fh=FH)
    entries = _entries(cache)
    assert len(entries["_fit_clone"]) == 1
    again = student(teacher, memory=cache, verbose=1).fit(y, fh=FH)  # verbose: not in the key
    assert _entries(cache) == entries
    np.testing.assert_array_equal(first.predict(), fresh.predict())
    np.testing.assert_array_equal(again.predict(), fresh.predict())


def _entries(cache) -> dict[str, list[str]]:
    """The folder's entries by cached function: "_fit_clone" (fitted teachers) and
    "_compute" (the teacher's outputs over the windows and its validation loss)."""
    out: dict[str, list[str]] = {"_fit_clone": [], "_compute": []}
    for p in Path(cache).rglob("output.pkl"):
        out[p.parent.parent.name].append(p.parent.name)
    return {k: sorted(v) for k, v in out.items()}


def test_the_teachers_outputs_are_computed_once_per_teacher_and_windows(y, tmp_path, capsys):
    teacher = MLPForecaster(window_length=L, hidden_size=8, moving_avg=5, max_epochs=1, verbose=0)
    cache = str(tmp_path / "cache")
    kw = dict(validation_size=0.2, alpha=2.0, beta=0.5)
    first = student(teacher, memory=cache, **kw).fit(y, fh=FH)
    # One fitted teacher, its outputs over the training windows and its validation loss.
    assert {k: len(v) for k, v in _entries(cache).items()} == {"_fit_clone": 1, "_compute": 2}
    capsys.readouterr()
    again = student(teacher, memory=cache, verbose=2, **{**kw, "alpha": 0.5}).fit(y, fh=FH)
    assert "teacher outputs: loaded from memory" in capsys.readouterr().out
    assert {k: len(v) for k, v in _entries(cache).items()} == {"_fit_clone": 1, "_compute": 2}
    assert again.teacher_valid_loss_ == first.teacher_valid_loss_
    # The student trained on the loaded outputs is the one a fit without memory gives.
    plain = student(teacher, **{**kw, "alpha": 0.5}).fit(y, fh=FH)
    np.testing.assert_array_equal(again.predict(), plain.predict())
    assert again.teacher_valid_loss_ == plain.teacher_valid_loss_

    # Other windows (another look-back): both passes again, the teacher's fit reused.
    student(teacher, memory=cache, **{**kw, "window_length": L + 4}).fit(y, fh=FH)
    assert {k: len(v) for k, v in _entries(cache).items()} == {"_fit_clone": 1, "_compute": 4}
    # An already fitted teacher is keyed by its weights: one more pass for other weights.
    fitted = teacher.clone().set_params(random_state=7).fit(y, fh=FH)
    for _ in range(2):
        student(fitted, memory=cache, **kw).fit(y, fh=FH)
    assert {k: len(v) for k, v in _entries(cache).items()} == {"_fit_clone": 1, "_compute": 6}


def test_a_cache_on_disk_is_not_remembered(y, tmp_path):
    teacher = MLPForecaster(window_length=L, hidden_size=8, moving_avg=5, max_epochs=1, verbose=0)
    cache = str(tmp_path / "cache")
    # Above the RAM budget the outputs live in one fit's files: loading them whole from the
    # memory folder would break the budget, so they are recomputed.
    student(teacher, memory=cache, teacher_cache="disk").fit(y, fh=FH)
    assert {k: len(v) for k, v in _entries(cache).items()} == {"_fit_clone": 1, "_compute": 0}


def test_the_outputs_key_is_content_not_identity():
    import copy
    import pickle

    import joblib
    import torch

    from skdistill.nn.forecasting import ITransformer
    from skdistill.training.teacher_memory import module_key

    torch.manual_seed(0)
    module = ITransformer(L, H, 3)
    key = joblib.hash(module_key(module))
    # Copies and round trips (another process unpickles the same way) keep the key.
    assert joblib.hash(module_key(copy.deepcopy(module))) == key
    assert joblib.hash(module_key(pickle.loads(pickle.dumps(module)))) == key
    assert joblib.hash(module_key(module.eval())) == key  # the mode is not a setting
    with torch.no_grad():
        next(module.parameters()).view(-1)[0] += 1e-3  # one weight
    assert joblib.hash(module_key(module)) != key


def test_other_data_or_teacher_parameters_miss(y, tmp_path):
    log, cache = tmp_path / "fits.log", str(tmp_path / "cache")
    student(FitCountingMLP(log=str(log)), memory=cache).fit(y, fh=FH)
    student(FitCountingMLP(log=str(log)), memory=cache).fit(y, fh=FH)
    assert n_fits(log) == 1
    changed = y.copy()
    changed.iloc[-1, 0] += 1.0  # one value of the training data
    student(FitCountingMLP(log=str(log)), memory=cache).fit(changed, fh=FH)
    assert n_fits(log) == 2
    student(FitCountingMLP(log=str(log), hidden_size=4), memory=cache).fit(y, fh=FH)
    assert n_fits(log) == 3
    student(FitCountingMLP(log=str(log)), memory=cache, alpha=2.0).fit(y, fh=FH)
    assert n_fits(log) == 3  # the student's own parameters are not the teacher's key


def test_another_process_hits_the_folder(y, tmp_path):
    log, cache = tmp_path / "fits.log", tmp_path / "cache"
    code = f"""
import sys, warnings
sys.path.insert(0, {str(SCRIPTS)!r})
warnings.simplefilter("ignore")
from counting import FitCountingMLP
from skdistill.datasets import load_ltsf
from skdistill.forecasting import DistilledMLPForecaster
y = load_ltsf("ETTh1").iloc[:400, :3]
DistilledMLPForecaster(teacher=FitCountingMLP(log={str(log)!r}), window_length={L},
    hidden_size=8, moving_avg=5, n_scales=1, max_epochs=1, validation_size=None,
    random_state=0, verbose=0, memory={str(cache)!r}).fit(y, fh={FH})
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
    assert n_fits(log) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        student(FitCountingMLP(log=str(log)), memory=str(cache)).fit(y, fh=FH)
    assert n_fits(log) == 1  # this process loaded what the other one fitted


@pytest.mark.parametrize("memory", [3, object(), ["a"]])
def test_bad_memory_is_named(y, memory):
    with pytest.raises(ValueError, match="memory must be None, a folder path"):
        student(MLPForecaster(window_length=L, max_epochs=1), memory=memory).fit(y, fh=FH)


# --- classifiers -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16.0).astype(np.float32), y[:300]


def sfkd(teacher, **kw):
    params = dict(student="mlp", input_shape=(1, 8, 8), max_epochs=1, random_state=0, verbose=0)
    return SFKDClassifier(teacher=teacher, **{**params, **kw})


@pytest.mark.filterwarnings("ignore:.*exposes no feature maps")
def test_classifier_grid_search_fits_the_teacher_once_per_fold(digits, tmp_path):
    X, y = digits
    grid = {"alpha": [0.5, 1.0], "temperature": [2.0, 4.0]}
    log = tmp_path / "fits.log"
    teacher = FitCountingLogistic(log=str(log))
    GridSearchCV(sfkd(teacher, memory=str(tmp_path / "cache")), grid, cv=3).fit(X, y)
    assert n_fits(log) == 3 + 1
    log_none = tmp_path / "fits_none.log"
    GridSearchCV(sfkd(FitCountingLogistic(log=str(log_none))), grid, cv=3).fit(X, y)
    assert n_fits(log_none) == 4 * 3 + 1


def test_classifier_cached_torch_teacher_gives_the_same_student(digits, tmp_path):
    X, y = digits
    teacher = KDClassifier(student="cnn", input_shape=(1, 8, 8), max_epochs=1, verbose=0)
    cache = str(tmp_path / "cache")
    fresh = sfkd(teacher, teacher_layer="layer2").fit(X, y)
    first = sfkd(teacher, teacher_layer="layer2", memory=cache).fit(X, y)
    again = sfkd(teacher, teacher_layer="layer2", memory=cache, beta=0.2).fit(X, y)
    assert len(list(Path(cache).rglob("output.pkl"))) == 1  # beta is the student's
    np.testing.assert_array_equal(first.predict_proba(X), fresh.predict_proba(X))
    assert again.predict_proba(X).shape == (len(X), 10)
    with pytest.raises(ValueError, match="memory must be None, a folder path"):
        sfkd(teacher, memory=3).fit(X, y)
