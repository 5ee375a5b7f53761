"""Bad input and faults of the distilling classifiers: the exact outcome of each case (issue 17).

Each case asserts what a user relies on: a ValueError/TypeError from ``fit`` that names the
parameter and the fix, or the correct result. One mechanism (the base class's checks at the
boundary of ``fit``) covers every distiller, so cases are parametrized across them.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from torch import nn

from skdistill.classification import (
    DKDClassifier,
    FitNetClassifier,
    KDClassifier,
    OFAClassifier,
    SFKDClassifier,
)
from skdistill.nn.vision import build_model

ALL = [SFKDClassifier, KDClassifier, FitNetClassifier, OFAClassifier, DKDClassifier]
SHAPE = (1, 8, 8)
TINY = {"max_epochs": 1, "batch_size": 64, "random_state": 0}


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """100 flattened 8x8 digits in [0, 1] (the first 100 hold every class)."""
    X, y = load_digits(return_X_y=True)
    return (X[:100] / 16.0).astype(np.float32), y[:100]


@pytest.fixture(scope="module")
def images(digits) -> np.ndarray:
    return digits[0].reshape(-1, *SHAPE)


@pytest.fixture(scope="module")
def cnn_teacher() -> nn.Module:
    """The zoo's CNN for 8x8 images (untrained: only its shapes matter); last map 2x2."""
    torch.manual_seed(0)
    return build_model("cnn", 1, 10, 8).eval()


def _name(cls) -> str:
    return cls.__name__


class _PooledTeacher(nn.Module):
    """A teacher whose map at ``pool`` is ``side x side`` (to probe the level clipping)."""

    def __init__(self, side: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(side)
        self.head = nn.Linear(4 * side * side, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.conv(x)).flatten(1))


class _TupleTeacher(nn.Module):
    """Returns (logits, features), as some model hubs do: not a logits tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor):
        h = x.flatten(1)
        return self.fc(h), h


class _NaNTeacher(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1)) * float("nan")


# --- y with a single class ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL, ids=_name)
def test_one_class_y_is_refused_by_every_distiller(cls, images, cnn_teacher):
    # KD/OFA/FitNet used to train a (n, 1) predict_proba; DKD failed 20 frames deep.
    y = np.zeros(len(images), dtype=int)
    with pytest.raises(ValueError, match=r"y has only 1 class \[0\].*at least 2 classes"):
        cls(teacher=cnn_teacher, student="mlp", **TINY).fit(images, y)


# --- input_shape ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL, ids=_name)
def test_4d_x_with_a_contradicting_input_shape(cls, images, digits):
    _, y = digits
    expected = (
        r"input_shape=\(1, 4, 16\) contradicts X of shape \(100, 1, 8, 8\).*"
        r"input_shape=None.*input_shape=\(1, 8, 8\)"
    )
    with pytest.raises(ValueError, match=expected):
        cls(input_shape=(1, 4, 16), **TINY).fit(images, y)


@pytest.mark.parametrize("shape", [(64, 1, 1), (1, 1, 64), (2, 8, 4)])
def test_4d_x_with_input_shape_of_equal_size_but_other_layout(shape, images, digits):
    # Same C*H*W as the samples: the old code ignored it without a word.
    _, y = digits
    with pytest.raises(ValueError, match=re.escape(f"input_shape={shape} contradicts X")):
        KDClassifier(input_shape=shape, **TINY).fit(images, y)


def test_4d_x_with_the_matching_input_shape_fits(images, digits):
    _, y = digits
    clf = KDClassifier(input_shape=SHAPE, student="mlp", **TINY).fit(images, y)
    assert clf.image_shape_ == SHAPE and clf.predict(images).shape == (100,)


def test_2d_x_whose_features_do_not_match_input_shape(digits):
    X, y = digits
    with pytest.raises(
        ValueError, match=r"input_shape=\(1, 7, 7\) needs 49 .*set input_shape.*C\*H\*W = 64"
    ):
        KDClassifier(input_shape=(1, 7, 7), **TINY).fit(X, y)


@pytest.mark.parametrize(
    "shape, error",
    [
        ((1, 8), ValueError),
        ((1, 8, 8, 1), ValueError),
        ((1, -8, 8), ValueError),
        ((1.0, 8, 8), ValueError),
        ((True, 8, 8), ValueError),
        (8, TypeError),
        ("1,8,8", TypeError),
    ],
    ids=["two", "four", "negative", "float", "bool", "int", "str"],
)
def test_malformed_input_shape(shape, error, digits):
    X, y = digits
    with pytest.raises(error, match=r"input_shape must be None or \(C, H, W\), 3 positive ints"):
        SFKDClassifier(input_shape=shape, **TINY).fit(X, y)


# --- torch teachers (and students) that do not fit the data -------------------------------------


@pytest.mark.parametrize("cls", ALL, ids=_name)
def test_teacher_that_cannot_take_the_images(cls, images, digits):
    _, y = digits
    teacher = nn.Sequential(nn.Flatten(), nn.Linear(32, 10))  # built for 32 features, not 64
    with pytest.raises(ValueError, match=r"teacher \(Sequential\) cannot take the input") as info:
        cls(teacher=teacher, **TINY).fit(images, y)
    message = str(info.value)
    assert "(2, 1, 8, 8)" in message and "mat1 and mat2 shapes cannot be multiplied" in message
    assert isinstance(info.value.__cause__, RuntimeError)  # the original error, chained


@pytest.mark.parametrize("cls", ALL, ids=_name)
def test_teacher_without_one_output_per_class(cls, images, digits):
    _, y = digits
    teacher = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    with pytest.raises(
        ValueError,
        match=r"teacher \(Sequential\) outputs \(2, 3\).*\(2, 10\) logits, one per class",
    ):
        cls(teacher=teacher, **TINY).fit(images, y)


@pytest.mark.parametrize(
    "teacher, match",
    [
        (_TupleTeacher(), r"teacher \(_TupleTeacher\) outputs tuple.*\(2, 10\) logits"),
        (_NaNTeacher(), r"teacher \(_NaNTeacher\) gives non-finite logits"),
    ],
    ids=["tuple", "nan"],
)
def test_teacher_with_unusable_logits(teacher, match, images, digits):
    _, y = digits
    with pytest.raises(ValueError, match=match):
        KDClassifier(teacher=teacher, **TINY).fit(images, y)


def test_student_module_that_cannot_take_the_images(images, digits):
    _, y = digits
    student = nn.Sequential(nn.Flatten(), nn.Linear(32, 10))
    with pytest.raises(ValueError, match=r"student \(Sequential\) cannot take the input") as info:
        KDClassifier(student=student, **TINY).fit(images, y)
    assert isinstance(info.value.__cause__, RuntimeError)


@pytest.mark.parametrize("cls", [SFKDClassifier, FitNetClassifier], ids=_name)
def test_unknown_teacher_layer_with_the_feature_terms_off(cls, images, digits, cnn_teacher):
    # The layer is not tapped with beta = gamma = 0, but a typo must not pass silently.
    _, y = digits
    clf = cls(teacher=cnn_teacher, teacher_layer="layer9", beta=0.0, **TINY)
    if cls is SFKDClassifier:
        clf.set_params(gamma=0.0)
    with pytest.raises(ValueError, match=r"teacher_layer='layer9' is not a layer.*layer2"):
        clf.fit(images, y)


@pytest.mark.parametrize("cls", [SFKDClassifier, OFAClassifier], ids=_name)
def test_unknown_student_layer_without_a_teacher(cls, images, digits):
    _, y = digits
    with pytest.raises(ValueError, match=r"student_layer='layer9' is not a layer.*layer2"):
        cls(student_layer="layer9", **TINY).fit(images, y)


# --- scikit-learn teachers with 4-D X ------------------------------------------------------------


def test_unfitted_sklearn_teacher_gets_flattened_4d_x(images, digits):
    _, y = digits
    clf = KDClassifier(LogisticRegression(max_iter=50), student="mlp", **TINY).fit(images, y)
    assert clf.teacher_.n_features_in_ == 64
    assert clf.predict(images).shape == (100,) and "train_kd" in clf.history_[-1]


def test_frozen_sklearn_teacher_fitted_on_rows_takes_4d_x(images, digits):
    X, y = digits
    lr = LogisticRegression(max_iter=50).fit(X, y)
    with pytest.warns(UserWarning, match="feature terms are off"):
        clf = SFKDClassifier(FrozenEstimator(lr), **TINY).fit(images, y)
    assert clf.teacher_ is lr and clf.predict_proba(images).shape == (100, 10)


def test_fitted_sklearn_teacher_of_another_width(images, digits):
    X, y = digits
    lr = LogisticRegression(max_iter=50).fit(X[:, :32], y)
    with pytest.raises(
        ValueError, match=r"teacher \(LogisticRegression\)\.predict_proba failed on X of shape"
    ) as info:
        KDClassifier(lr, **TINY).fit(images, y)
    assert "(100, 64)" in str(info.value) and info.value.__cause__ is not None


def test_sklearn_teacher_that_fails_to_fit(images, digits):
    _, y = digits
    with pytest.raises(
        ValueError, match=r"teacher \(LogisticRegression\) failed to fit on X of shape \(100, 64\)"
    ) as info:
        KDClassifier(LogisticRegression(C=-1.0), **TINY).fit(images, y)
    assert "C" in str(info.value.__cause__)


# --- parameters checked whatever the teacher and the active terms --------------------------------


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"wavelet": "nope"}, ValueError, r"wavelet must name a discrete PyWavelets wavelet"),
        ({"wavelet": "morl"}, ValueError, r"wavelet must name a discrete.*'morl'"),
        ({"wavelet": 3}, ValueError, r"wavelet must name a discrete PyWavelets wavelet"),
        ({"gffl_highpass": "yes"}, TypeError, r"gffl_highpass must be True or False"),
        ({"teacher_layer": 3}, TypeError, r"teacher_layer must be 'auto' or a dotted module"),
        ({"random_state": -1}, ValueError, r"random_state must be an integer >= 0"),
        ({"random_state": 1.5}, TypeError, r"random_state must be an integer >= 0"),
    ],
    ids=[
        "wavelet",
        "continuous-wavelet",
        "wavelet-int",
        "highpass",
        "layer-type",
        "seed",
        "seed-float",
    ],
)
def test_sfkd_parameters_checked_without_a_teacher(params, error, match, digits):
    X, y = digits
    with pytest.raises(error, match=match):
        SFKDClassifier(input_shape=SHAPE, **{**TINY, **params}).fit(X, y)


def test_wavelet_checked_with_the_feature_terms_off(images, digits, cnn_teacher):
    _, y = digits
    clf = SFKDClassifier(cnn_teacher, wavelet="nope", beta=0.0, gamma=0.0, **TINY)
    with pytest.raises(ValueError, match=r"wavelet must name a discrete.*'nope'"):
        clf.fit(images, y)


def test_ofa_student_layer_type_checked(images, digits):
    _, y = digits
    with pytest.raises(TypeError, match=r"student_layer must be 'auto' or a dotted module"):
        OFAClassifier(student_layer=None, **TINY).fit(images, y)


# --- SFKD levels on small images -----------------------------------------------------------------


def test_sfkd_default_levels_fit_on_digits_with_a_cnn_teacher(images, digits, cnn_teacher):
    _, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default is clipped silently
        clf = SFKDClassifier(cnn_teacher, **TINY).fit(images, y)
    assert clf.levels == 2 and clf.levels_ == 1
    assert clf.feature_shapes_["teacher"]["aligned"] == (64, 2, 2)
    assert {"train_wave", "train_freq"} <= set(clf.history_[-1])
    assert np.isfinite(clf.history_[-1]["train_loss"])
    assert clf.predict(images).shape == (100,)


def test_sfkd_explicit_levels_beyond_the_map_warn_and_clip(images, digits, cnn_teacher):
    _, y = digits
    with pytest.warns(
        UserWarning,
        match=r"levels=3 is more than the teacher's 2x2 map allows.*"
        r"levels_=1.*teacher_layer",
    ):
        clf = SFKDClassifier(cnn_teacher, levels=3, **TINY).fit(images, y)
    assert clf.levels_ == 1


@pytest.mark.parametrize(
    "side, levels_, grid",
    [(1, 1, 2), (2, 1, 2), (3, 1, 4), (5, 2, 8), (6, 2, 8), (8, 2, 8)],
)
def test_sfkd_levels_clipped_and_grid_rounded_up(side, levels_, grid, images, digits):
    # Spec: levels clipped to what the teacher grid allows, the grid rounded up to a
    # multiple of 2**levels_.
    _, y = digits
    torch.manual_seed(0)
    teacher = _PooledTeacher(side)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = SFKDClassifier(teacher, teacher_layer="pool", student="mlp", **TINY).fit(images, y)
    assert clf.levels_ == levels_
    assert clf.feature_shapes_["teacher"]["aligned"] == (4, grid, grid)


def test_sfkd_levels_kept_where_the_map_allows_them(images, digits, cnn_teacher):
    _, y = digits
    clf = SFKDClassifier(cnn_teacher, teacher_layer="layer2", **TINY).fit(images, y)
    assert clf.levels_ == 2 and clf.feature_shapes_["teacher"]["aligned"] == (32, 4, 4)


def test_sfkd_levels_recorded_without_a_teacher(images, digits):
    _, y = digits
    assert SFKDClassifier(levels=3, **TINY).fit(images, y).levels_ == 3


def test_sfkd_default_levels_in_a_pipeline_grid_search(digits, cnn_teacher):
    X, y = digits
    pipe = make_pipeline(
        FunctionTransformer(np.float32),
        SFKDClassifier(cnn_teacher, input_shape=SHAPE, **TINY),
    )
    grid = {"sfkdclassifier__alpha": [0.5, 1.0]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search = GridSearchCV(pipe, grid, cv=2, error_score="raise").fit(X, y)
    assert search.best_estimator_[-1].levels_ == 1
    assert 0.0 <= search.score(X, y) <= 1.0


# --- a missing input_shape (issue 20) -----------------------------------------------------------


@pytest.mark.parametrize("cls", ALL, ids=_name)
@pytest.mark.parametrize("name", ["cnn", "vit"])
def test_flat_x_without_input_shape_for_an_image_teacher(cls, name, digits):
    # 2-D X without input_shape is read as (1, 1, 64) vectors: a ViT teacher failed inside its
    # forward, and a CNN teacher (any size goes) silently distilled from rows of pixels.
    X, y = digits
    torch.manual_seed(0)
    teacher = build_model(name, 1, 10, 8).eval()
    with pytest.raises(ValueError) as info:
        cls(teacher=teacher, **TINY).fit(X, y)
    message = str(info.value)
    assert "X has 64 features per sample and input_shape=None" in message
    assert "input_shape=(1, 8, 8)" in message and "or X of shape (n, 1, 8, 8)" in message
    cls(teacher=teacher, input_shape=SHAPE, **TINY).fit(X, y)  # the fix it names works


def test_flat_x_without_input_shape_for_a_fitted_image_teacher_or_student(digits, images):
    X, y = digits
    fitted = KDClassifier(student="cnn", **TINY).fit(images, y)
    for teacher in (fitted, FrozenEstimator(fitted)):
        with pytest.raises(ValueError, match=r"teacher \(KDClassifier\) takes \(1, 8, 8\) images"):
            SFKDClassifier(teacher=teacher, **TINY).fit(X, y)
    student = build_model("vit", 1, 10, 8)
    with pytest.raises(ValueError, match=r"student \(VisionTransformer\).*input_shape=\(1, 8, 8\)"):
        KDClassifier(student=student, **TINY).fit(X, y)
    # A teacher for other images: the sizes differ, no input_shape can fix that.
    other = build_model("cnn", 3, 10, 8)
    with pytest.raises(ValueError, match=r"takes \(3, 8, 8\) images \(192 values each\)"):
        KDClassifier(teacher=other, **TINY).fit(X, y)


def test_flat_x_for_a_convolutional_module_is_a_missing_input_shape(digits):
    X, y = digits
    with pytest.raises(
        ValueError,
        match=r"teacher \(_PooledTeacher\) convolves 2-D images.*input_shape=\(1, 8, 8\)",
    ):
        KDClassifier(teacher=_PooledTeacher(2), **TINY).fit(X, y)


def test_flat_x_stays_vectors_for_vector_teachers_and_students(digits):
    # Plain vectors are still a supported problem: an MLP-like teacher, a zoo name (the
    # student is the zoo's MLP) or a skdistill teacher fitted on the same vectors.
    X, y = digits
    teacher = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    clf = KDClassifier(teacher=teacher, student="vit", **TINY).fit(X, y)
    assert clf.image_shape_ == (1, 1, 64)
    KDClassifier(teacher=clf, **TINY).fit(X, y)
    KDClassifier(teacher=build_model("mlp", 1, 10, (1, 64)), **TINY).fit(X, y)


def test_predict_with_x_laid_out_unlike_fit(digits, images):
    X, y = digits
    on_images = KDClassifier(student="mlp", **TINY).fit(images, y)
    with pytest.raises(ValueError, match=re.escape("pass X.reshape(-1, 1, 8, 8)")):
        on_images.predict(X)
    on_rows = KDClassifier(student="mlp", input_shape=SHAPE, **TINY).fit(X, y)
    with pytest.raises(ValueError, match=re.escape("pass X.reshape(len(X), -1)")):
        on_rows.predict_proba(images)
