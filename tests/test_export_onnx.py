"""ONNX export of fitted students: onnxruntime reproduces predict, batch axis dynamic."""

import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

ort = pytest.importorskip("onnxruntime")

from skdistill.classification import KDClassifier, SFKDClassifier  # noqa: E402
from skdistill.datasets import load_ltsf  # noqa: E402
from skdistill.forecasting import (  # noqa: E402
    DistilledMLPForecaster,
    ITransformerForecaster,
    MLPForecaster,
)

L = 48


@pytest.fixture(scope="module")
def etth1():
    return load_ltsf("ETTh1").iloc[:1500]


@pytest.fixture(scope="module")
def teacher(etth1):
    return ITransformerForecaster(
        window_length=L, d_model=8, d_ff=8, n_heads=2, e_layers=1, max_epochs=1, random_state=0
    ).fit(etth1, fh=range(1, 9))


def _windows(y, n=40):
    values = y.to_numpy()
    return np.stack([values[i : i + L] for i in range(0, 5 * n, 5)]).astype(np.float32)


@pytest.mark.parametrize("student", ["dmlp", "tsmixer", "lightts"])
def test_distilled_forecaster_matches_predict_windows(student, etth1, teacher, tmp_path):
    f = DistilledMLPForecaster(
        teacher, student=student, window_length=L, hidden_size=16, max_epochs=1, random_state=0
    ).fit(etth1, fh=[1, 4, 8])
    path = f.export_onnx(tmp_path / "student.onnx")
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == ["window"]
    assert [o.name for o in session.get_outputs()] == ["forecast"]
    windows = _windows(etth1)
    expected = f.predict_windows(windows)
    # Scaling and the fh steps are inside the graph: the output is in y's units.
    for batch in (windows, windows[:1]):
        got = session.run(None, {"window": batch})[0]
        assert got.shape == (len(batch), 3, 7)
        np.testing.assert_allclose(got, expected[: len(batch)], rtol=1e-4, atol=1e-4)


def test_mlp_forecaster_exports_too(etth1, tmp_path):
    f = MLPForecaster(window_length=L, hidden_size=8, max_epochs=1, random_state=0)
    f.fit(etth1, fh=range(1, 5))
    got = ort.InferenceSession(str(f.export_onnx(tmp_path / "mlp.onnx"))).run(
        None, {"window": _windows(etth1, 8)}
    )[0]
    np.testing.assert_allclose(got, f.predict_windows(_windows(etth1, 8)), rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


@pytest.mark.parametrize("student", ["cnn", "vit", "mixer", "mlp"])
def test_vision_student_matches_predict_proba(student, digits, tmp_path):
    X, y = digits
    teacher = SFKDClassifier(student="cnn", input_shape=(1, 8, 8), max_epochs=1, random_state=0)
    teacher.fit(X[:200], y[:200])
    clf = SFKDClassifier(
        teacher=teacher,
        student=student,
        input_shape=(1, 8, 8),
        teacher_layer="layer2",
        max_epochs=1,
        random_state=0,
    ).fit(X[:200], y[:200])
    session = ort.InferenceSession(str(clf.export_onnx(tmp_path / "clf.onnx")))
    logits = session.run(None, {"images": X[200:260]})[0]  # flat rows, as given to fit
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, clf.predict_proba(X[200:260]), atol=1e-4)
    assert np.array_equal(clf.classes_[logits.argmax(axis=1)], clf.predict(X[200:260]))
    # The training-only parts (teacher, projector, DS2S) are not in the graph.
    assert len(session.run(None, {"images": X[:1]})[0]) == 1


@pytest.mark.parametrize("input_shape", [None, (1, 8, 8)])
def test_image_input_keeps_its_layout(digits, tmp_path, input_shape):
    X, y = digits
    images = X.reshape(-1, 1, 8, 8)  # an input_shape that matches 4-D X is allowed, not used
    clf = KDClassifier(student="vit", input_shape=input_shape, max_epochs=1, random_state=0)
    clf.fit(images[:100], y[:100])
    session = ort.InferenceSession(str(clf.export_onnx(tmp_path / "vit.onnx")))
    assert session.get_inputs()[0].shape[1:] == [1, 8, 8]
    logits = session.run(None, {"images": images[100:120]})[0]
    assert np.array_equal(clf.classes_[logits.argmax(axis=1)], clf.predict(images[100:120]))


def test_unfitted_and_missing_extra_are_clear(tmp_path, monkeypatch, digits):
    with pytest.raises(NotFittedError):
        KDClassifier().export_onnx(tmp_path / "x.onnx")
    X, y = digits
    clf = KDClassifier(student="mlp", max_epochs=1, random_state=0).fit(X[:100], y[:100])
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    with pytest.raises(ImportError, match=r"skdistill\[onnx\]"):
        clf.export_onnx(tmp_path / "x.onnx")


def test_a_normal_export_prints_no_warning(etth1, digits, tmp_path):
    # Issue 20: torch's exporter warned about the normalisers' per-window statistics
    # ("was assigned during export") and its own deprecated LeafSpec; users saw both.
    forecaster = MLPForecaster(window_length=L, hidden_size=8, max_epochs=1, random_state=0)
    forecaster.fit(etth1, fh=range(1, 5))
    X, y = digits
    clf = KDClassifier(student="vit", input_shape=(1, 8, 8), max_epochs=1, random_state=0)
    clf.fit(X[:100], y[:100])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        forecaster.export_onnx(tmp_path / "mlp.onnx")
        clf.export_onnx(tmp_path / "vit.onnx")


@pytest.mark.gpu
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_cuda_fitted_student_exports_for_the_cpu(etth1, tmp_path):
    f = MLPForecaster(window_length=L, hidden_size=8, max_epochs=1, device="cuda", random_state=0)
    f.fit(etth1, fh=range(1, 5))
    got = ort.InferenceSession(str(f.export_onnx(tmp_path / "mlp.onnx"))).run(
        None, {"window": _windows(etth1, 8)}
    )[0]
    np.testing.assert_allclose(got, f.predict_windows(_windows(etth1, 8)), rtol=1e-4, atol=1e-4)
    # Exporting does not move the fitted network off the GPU.
    assert next(f._student_module().parameters()).is_cuda
