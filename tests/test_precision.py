"""``precision`` and ``compile`` on every estimator: bf16 on CPU, checks, compile, pickling."""

import os
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits

from skdistill.classification import KDClassifier, SFKDClassifier
from skdistill.datasets import load_ltsf
from skdistill.forecasting import (
    DistilledMLPForecaster,
    ITransformerForecaster,
    MLPForecaster,
    TorchForecaster,
)
from skdistill.forecasting._torch_teacher import _ChannelMLP
from skdistill.regression import DistilledMLPRegressor

L, H = 48, 12
SHAPE = (1, 8, 8)


@pytest.fixture(scope="module")
def etth1():
    return load_ltsf("ETTh1").iloc[:500]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:400] / 16.0).astype(np.float32), y[:400]


@pytest.fixture(scope="module")
def windows():
    rng = np.random.default_rng(0)
    return rng.normal(size=(120, 16, 2)), rng.normal(size=(120, 8, 2))


def tiny_mlp(**kw):
    params = dict(
        window_length=L,
        hidden_size=16,
        moving_avg=5,
        max_epochs=1,
        random_state=0,
        verbose=0,
    )
    return MLPForecaster(**{**params, **kw})


def tiny_distilled(**kw):
    params = dict(
        teacher=tiny_mlp(hidden_size=32),
        window_length=L,
        hidden_size=16,
        moving_avg=5,
        n_scales=2,
        max_epochs=2,
        random_state=0,
        verbose=0,
    )
    return DistilledMLPForecaster(**{**params, **kw})


@pytest.fixture(scope="module")
def bf16_forecaster(etth1):
    return tiny_distilled(precision="bf16").fit(etth1, fh=range(1, H + 1))


@pytest.fixture(scope="module")
def bf16_classifier(digits):
    X, y = digits
    teacher = KDClassifier(input_shape=SHAPE, max_epochs=1, random_state=0, verbose=0).fit(X, y)
    clf = SFKDClassifier(
        teacher,
        student="vit",
        input_shape=SHAPE,
        teacher_layer="layer2",
        max_epochs=2,
        random_state=0,
        verbose=0,
        precision="bf16",
    )
    return clf.fit(X, y)


# --- bf16 on CPU ----------------------------------------------------------------------------


def test_bf16_distilled_forecaster_fits_and_predicts_finite(etth1, bf16_forecaster):
    f = bf16_forecaster
    pred = f.predict()
    assert pred.shape == (H, etth1.shape[1]) and (pred.dtypes == np.float64).all()
    assert np.isfinite(pred.to_numpy()).all()
    windows = etth1.to_numpy()[None, -L:]
    out = f.predict_windows(np.repeat(windows, 3, axis=0))
    assert out.dtype == np.float64 and np.isfinite(out).all()
    # Every distillation term was trained and recorded, finite.
    last = f.history_[-1]
    for key in ("train_loss", "valid_loss", "train_pred_scale", "train_feat_period"):
        assert np.isfinite(last[key]), key
    assert f.net_.precision == "bf16"


def test_bf16_is_close_to_float32(etth1, bf16_forecaster):
    """Same seed, same data: bf16 autocast changes the forecasts by rounding, not by much."""
    f32 = tiny_distilled().fit(etth1, fh=range(1, H + 1))
    a, b = f32.predict().to_numpy(), bf16_forecaster.predict().to_numpy()
    scale = np.abs(a).mean()
    assert np.abs(a - b).mean() < 0.1 * scale


def test_bf16_mixed_is_an_alias_of_bf16(etth1):
    a = tiny_mlp(precision="bf16").fit(etth1, fh=[1, 2, 3])
    b = tiny_mlp(precision="bf16-mixed").fit(etth1, fh=[1, 2, 3])
    np.testing.assert_array_equal(a.predict(), b.predict())
    assert b.get_params()["precision"] == "bf16-mixed"  # the parameter is stored as given


def test_bf16_classifier_fits_and_predicts(digits, bf16_classifier):
    X, _ = digits
    proba = bf16_classifier.predict_proba(X[:50])
    assert proba.dtype == np.float64 and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    last = bf16_classifier.history_[-1]
    for key in ("train_loss", "train_kd", "train_wave", "train_freq"):
        assert np.isfinite(last[key]), key


def test_bf16_regressor_and_torch_forecaster(windows, etth1):
    X, Y = windows
    reg = DistilledMLPRegressor(
        hidden_size=8, moving_avg=5, n_scales=2, max_epochs=1, random_state=0, verbose=0
    )
    reg.set_params(precision="bf16").fit(X, Y, teacher_predictions=Y + 0.1)
    assert reg.predict(X).dtype == np.float64 and np.isfinite(reg.predict(X)).all()
    module = _ChannelMLP(8, 10, 8)
    tf32 = TorchForecaster(module, window_length=8).fit(etth1)
    tbf16 = TorchForecaster(module, window_length=8, precision="bf16").fit(etth1)
    a, b = tf32.predict(fh=range(1, 11)), tbf16.predict(fh=range(1, 11))
    assert (b.dtypes == np.float64).all()
    np.testing.assert_allclose(a, b, rtol=0.05, atol=0.05 * np.abs(a.to_numpy()).mean())


# --- parameter checks ----------------------------------------------------------------------


def _estimators():
    return [
        tiny_mlp(),
        tiny_distilled(),
        ITransformerForecaster(window_length=L, d_model=8, d_ff=8, n_heads=2, verbose=0),
        SFKDClassifier(input_shape=SHAPE, max_epochs=1, verbose=0),
        KDClassifier(input_shape=SHAPE, max_epochs=1, verbose=0),
        DistilledMLPRegressor(hidden_size=8, moving_avg=5, max_epochs=1, verbose=0),
        TorchForecaster(_ChannelMLP(8, 10, 8), window_length=8),
    ]


def _fit(est, etth1, digits, windows):
    if isinstance(est, SFKDClassifier | KDClassifier):
        return est.fit(*digits)
    if isinstance(est, DistilledMLPRegressor):
        return est.fit(*windows)
    return est.fit(etth1, fh=[1, 2, 3])


@pytest.mark.parametrize("est", _estimators(), ids=lambda e: type(e).__name__)
def test_every_estimator_has_precision_and_compile(est):
    params = est.get_params()
    assert params["precision"] == "32" and params["compile"] is False
    est.set_params(precision="bf16", compile=True)
    again = clone(est)
    assert again.get_params()["precision"] == "bf16" and again.get_params()["compile"] is True


@pytest.mark.parametrize("est", _estimators(), ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("bad", ["64", "fp16", "BF16", 16, None])
def test_bad_precision_is_a_value_error_naming_it(est, bad, etth1, digits, windows):
    est.set_params(precision=bad)
    with pytest.raises(ValueError, match="precision must be one of .*'32', 'bf16', '16-mixed'"):
        _fit(est, etth1, digits, windows)


@pytest.mark.parametrize("est", _estimators(), ids=lambda e: type(e).__name__)
def test_bad_compile_is_refused(est, etth1, digits, windows):
    est.set_params(compile="yes")
    with pytest.raises(TypeError, match="compile must be True or False"):
        _fit(est, etth1, digits, windows)


@pytest.mark.skipif(torch.cuda.is_available(), reason="on CUDA '16-mixed' is allowed")
@pytest.mark.parametrize("est", _estimators(), ids=lambda e: type(e).__name__)
def test_float16_mixed_needs_cuda(est, etth1, digits, windows):
    est.set_params(precision="16-mixed")
    with pytest.raises(ValueError, match="precision='16-mixed'.*needs a CUDA device"):
        _fit(est, etth1, digits, windows)
    assert not hasattr(est, "net_")  # refused before anything was trained


def test_float16_mixed_under_accelerate_needs_its_fp16_scaling():
    accelerate = pytest.importorskip("accelerate")
    from skdistill.training.accelerate import make_net, use_accelerator
    from skdistill.training.net import DistillNet

    with use_accelerator(accelerate.Accelerator(cpu=True)):
        with pytest.raises(ValueError, match="mixed_precision='fp16'"):
            make_net(
                DistillNet,
                "cpu",
                module=torch.nn.Linear(2, 2),
                criterion=None,
                precision="16-mixed",
            )


def test_bf16_under_accelerate(windows):
    accelerate = pytest.importorskip("accelerate")
    from skdistill.training.accelerate import use_accelerator

    X, Y = windows
    reg = DistilledMLPRegressor(
        hidden_size=8, moving_avg=5, max_epochs=1, random_state=0, verbose=0, precision="bf16"
    )
    with use_accelerator(accelerate.Accelerator(cpu=True)):
        reg.fit(X, Y)
    assert type(reg.net_).__name__ == "DistillNet" and reg.net_.precision == "bf16"
    assert np.isfinite(reg.predict(X)).all()


# --- compile -------------------------------------------------------------------------------


def _compile_works() -> bool:
    try:
        return bool(torch.compile(lambda x: x * 2)(torch.ones(2)).sum() == 4)
    except Exception:
        return False


def test_compile_fits_and_predicts(etth1, monkeypatch):
    """compile=True through skorch, on the student only; the fitted net keeps the plain module.

    Dynamo traces the student for real; code generation uses the "eager" backend, since
    inductor's C++ compilation takes ~35 s on a small CPU (see the real test below).
    """
    if not _compile_works():
        pytest.skip("torch.compile does not work here (no C compiler?)")
    real = torch.compile
    compiled = []

    def eager_compile(model=None, **kwargs):
        compiled.append(type(model).__name__)
        return real(model, **{**kwargs, "backend": "eager"})

    monkeypatch.setattr(torch, "compile", eager_compile)
    params = dict(window_length=24, hidden_size=8, validation_size=None)
    f = tiny_mlp(compile=True, **params).fit(etth1.iloc[:200], fh=range(1, 7))
    assert compiled == ["ForecastStudent"]  # the student, never the objective
    assert "_orig_mod" not in f.net_.module_._modules  # the plain module is kept
    plain = tiny_mlp(**params).fit(etth1.iloc[:200], fh=range(1, 7))
    np.testing.assert_allclose(f.predict(), plain.predict(), rtol=1e-4, atol=1e-4)
    again = pickle.loads(pickle.dumps(f))
    np.testing.assert_array_equal(again.predict(), f.predict())


def test_torch_forecaster_compiles_its_predictions(etth1, monkeypatch):
    if not _compile_works():
        pytest.skip("torch.compile does not work here (no C compiler?)")
    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda m, **kw: real(m, **{**kw, "backend": "eager"}))
    module = _ChannelMLP(8, 10, 8)
    tf = TorchForecaster(module, window_length=8, compile=True).fit(etth1)
    plain = TorchForecaster(module, window_length=8).fit(etth1)
    pred = tf.predict(fh=range(1, 11))
    np.testing.assert_allclose(pred, plain.predict(fh=range(1, 11)), rtol=1e-5, atol=1e-6)
    assert tf._compiled._orig_mod is tf.wrapped_
    again = pickle.loads(pickle.dumps(tf))
    assert not hasattr(again, "_compiled")  # compiled again on first use, never pickled
    np.testing.assert_allclose(again.predict(fh=range(1, 11)), pred, rtol=1e-6)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("SKDISTILL_TEST_COMPILE") != "1",
    reason="inductor compiles for ~35 s on CPU; set SKDISTILL_TEST_COMPILE=1 to run",
)
def test_compile_with_inductor(etth1):
    if not _compile_works():
        pytest.skip("torch.compile does not work here (no C compiler?)")
    params = dict(window_length=24, hidden_size=8, validation_size=None)
    f = tiny_mlp(compile=True, **params).fit(etth1.iloc[:200], fh=range(1, 7))
    plain = tiny_mlp(**params).fit(etth1.iloc[:200], fh=range(1, 7))
    np.testing.assert_allclose(f.predict(), plain.predict(), rtol=1e-4, atol=1e-4)


# --- pickling ----------------------------------------------------------------------------


def test_bf16_forecaster_pickles_and_predicts_identically(bf16_forecaster):
    again = pickle.loads(pickle.dumps(bf16_forecaster))
    np.testing.assert_array_equal(again.predict(), bf16_forecaster.predict())
    assert again.net_.precision == "bf16"


def test_bf16_classifier_pickles_and_predicts_identically(digits, bf16_classifier):
    X, _ = digits
    again = pickle.loads(pickle.dumps(bf16_classifier))
    np.testing.assert_array_equal(again.predict_proba(X), bf16_classifier.predict_proba(X))


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a machine without CUDA")
def test_cuda_fitted_forecaster_unpickles_on_cpu(bf16_forecaster):
    """A model fitted on CUDA records device "cuda"; without CUDA it loads on the CPU."""
    f = pickle.loads(pickle.dumps(bf16_forecaster))
    expected = f.predict()
    f.device_, f.net_.device = "cuda", "cuda"  # as after a fit on a GPU (tensors aside)
    blob = pickle.dumps(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skorch says it maps the net to the CPU
        again = pickle.loads(blob)
    assert again.device_ == "cpu" and str(again.net_.device) == "cpu"
    np.testing.assert_array_equal(again.predict(), expected)
