"""The distilling classifiers as a scikit-learn user relies on them."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks
from skorch import NeuralNetClassifier

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


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def cnn_teacher(digits):
    X_tr, _, y_tr, _ = digits
    return KDClassifier(student="cnn", input_shape=SHAPE, max_epochs=8, random_state=0).fit(
        X_tr, y_tr
    )


@parametrize_with_checks([cls(max_epochs=10, random_state=0) for cls in ALL])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# --- distillation across architectures ---------------------------------------------------------


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_heterogeneous_pair_trains_and_records_terms(cls, digits, cnn_teacher):
    X_tr, X_te, y_tr, y_te = digits
    clf = cls(teacher=cnn_teacher, student="vit", input_shape=SHAPE, max_epochs=2, random_state=0)
    if cls in (SFKDClassifier, FitNetClassifier):
        clf.set_params(teacher_layer="layer2")  # 4x4: room for 2 wavelet levels on 8x8 digits
    clf.fit(X_tr, y_tr)
    assert clf.predict_proba(X_te).shape == (len(X_te), 10)
    np.testing.assert_allclose(clf.predict_proba(X_te).sum(axis=1), 1.0, rtol=1e-6)
    last = clf.history_[-1]
    assert np.isfinite(last["train_loss"]) and np.isfinite(last["train_ce"])
    expected = {
        SFKDClassifier: {"train_kd", "train_wave", "train_freq"},
        KDClassifier: {"train_kd"},
        FitNetClassifier: {"train_hint"},
        OFAClassifier: {"train_ofa", "train_ofa_branch"},
        DKDClassifier: {"train_dkd"},
    }[cls]
    assert expected <= set(last)


def test_sfkd_feature_shapes_and_layers(digits, cnn_teacher):
    X_tr, _, y_tr, _ = digits
    clf = SFKDClassifier(
        cnn_teacher,
        student="mixer",
        input_shape=SHAPE,
        teacher_layer="layer2",
        max_epochs=1,
        random_state=0,
    ).fit(X_tr, y_tr)
    t, s = clf.feature_shapes_["teacher"], clf.feature_shapes_["student"]
    assert t["layer"] == "layer2" and t["aligned"] == (32, 4, 4)
    assert s["layer"] == "norm" and len(s["canonical"]) == 3


def test_teacher_is_frozen_and_student_alone_predicts(digits, cnn_teacher):
    X_tr, X_te, y_tr, _ = digits
    teacher_module = cnn_teacher.net_.module_.student
    before = {k: v.clone() for k, v in teacher_module.state_dict().items()}
    clf = SFKDClassifier(
        teacher_module,
        student="mlp",
        input_shape=SHAPE,
        teacher_layer="layer2",
        max_epochs=2,
        random_state=0,
    ).fit(X_tr, y_tr)
    for k, v in teacher_module.state_dict().items():
        assert torch.equal(before[k], v), k
    # predict_proba runs the student alone: it equals the student network's softmax.
    student = clf.net_.module_.student.eval()
    with torch.no_grad():
        direct = torch.softmax(student(torch.as_tensor(X_te.reshape(-1, *SHAPE))).double(), 1)
    np.testing.assert_allclose(clf.predict_proba(X_te), direct.numpy(), rtol=1e-6)


def test_zero_weights_equal_the_student_alone(digits, cnn_teacher):
    X_tr, X_te, y_tr, _ = digits
    common = dict(student="cnn", input_shape=SHAPE, max_epochs=2, random_state=0)
    alone = SFKDClassifier(**common).fit(X_tr, y_tr)
    zero = SFKDClassifier(cnn_teacher, alpha=0.0, beta=0.0, gamma=0.0, **common).fit(X_tr, y_tr)
    np.testing.assert_allclose(alone.predict_proba(X_te), zero.predict_proba(X_te), rtol=1e-5)
    kd = SFKDClassifier(cnn_teacher, beta=0.0, gamma=0.0, **common).fit(X_tr, y_tr)
    assert not np.allclose(alone.predict_proba(X_te), kd.predict_proba(X_te))


# --- teacher forms -------------------------------------------------------------------------------


def test_skorch_net_teacher(digits):
    X_tr, X_te, y_tr, _ = digits
    net = NeuralNetClassifier(
        build_model("cnn", 1, 10, 8),
        max_epochs=1,
        lr=1e-3,
        optimizer=torch.optim.Adam,
        train_split=None,
        criterion=torch.nn.CrossEntropyLoss,
        verbose=0,
    )
    net.fit(X_tr.reshape(-1, *SHAPE), y_tr)
    clf = SFKDClassifier(
        net, student="vit", input_shape=SHAPE, teacher_layer="layer2", max_epochs=1, random_state=0
    ).fit(X_tr, y_tr)
    assert clf.teacher_ is net and clf.predict(X_te).shape == (len(X_te),)


def test_sklearn_teacher_gives_logits_only_with_a_warning(digits):
    X_tr, _, y_tr, _ = digits
    lr = LogisticRegression(max_iter=300).fit(X_tr, y_tr)
    clf = SFKDClassifier(lr, student="mlp", max_epochs=1, random_state=0)
    with pytest.warns(UserWarning, match="feature terms are off"):
        clf.fit(X_tr, y_tr)
    assert clf.beta_ == 0.0 and clf.gamma_ == 0.0 and "train_kd" in clf.history_[-1]


def test_unfitted_teacher_is_cloned_and_fitted(digits):
    X_tr, _, y_tr, _ = digits
    teacher = LogisticRegression(max_iter=200)
    clf = KDClassifier(teacher, student="mlp", max_epochs=1, random_state=0).fit(X_tr, y_tr)
    assert clf.teacher_ is not teacher and hasattr(clf.teacher_, "coef_")
    assert not hasattr(teacher, "coef_")


def test_clone_shares_a_torch_teacher_and_frozen_estimator_stays_fitted(digits, cnn_teacher):
    module = cnn_teacher.net_.module_.student
    clf = SFKDClassifier(module, alpha=2.0)
    copy = clone(clf)
    assert copy.teacher is module and copy.alpha == 2.0
    X_tr, _, y_tr, _ = digits
    frozen = FrozenEstimator(cnn_teacher)
    # The teacher takes (1, 8, 8) images: the rows need input_shape (issue 20).
    distiller = KDClassifier(frozen, student="mlp", input_shape=SHAPE, max_epochs=1, random_state=0)
    fitted = clone(distiller).fit(X_tr, y_tr)
    assert fitted.teacher_ is cnn_teacher


def test_grid_search_over_loss_weights_in_a_pipeline(digits, cnn_teacher):
    X_tr, X_te, y_tr, y_te = digits
    pipe = make_pipeline(
        FunctionTransformer(lambda X: X.astype(np.float32)),
        SFKDClassifier(
            cnn_teacher.net_.module_.student,
            student="cnn",
            input_shape=SHAPE,
            teacher_layer="layer2",
            max_epochs=1,
            random_state=0,
        ),
    )
    grid = {
        "sfkdclassifier__alpha": [0.5, 1.0],
        "sfkdclassifier__gamma": [0.0, 0.1],
        "sfkdclassifier__temperature": [4.0],
    }
    search = GridSearchCV(pipe, grid, cv=2).fit(X_tr, y_tr)
    assert set(search.best_params_) == set(grid)
    assert 0.0 <= search.score(X_te, y_te) <= 1.0


# --- determinism and persistence ---------------------------------------------------------------


def test_deterministic_and_pickle_round_trip(digits, cnn_teacher):
    X_tr, X_te, y_tr, _ = digits

    def make():
        return SFKDClassifier(
            cnn_teacher,
            student="vit",
            input_shape=SHAPE,
            teacher_layer="layer2",
            max_epochs=1,
            random_state=3,
        )

    a, b = make().fit(X_tr, y_tr), make().fit(X_tr, y_tr)
    np.testing.assert_array_equal(a.predict_proba(X_te), b.predict_proba(X_te))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict_proba(X_te), a.predict_proba(X_te))


def test_string_labels(digits):
    X_tr, X_te, y_tr, _ = digits
    labels = np.array(list("abcdefghij"))[y_tr]
    clf = KDClassifier(student="mlp", max_epochs=1, random_state=0).fit(X_tr, labels)
    assert set(clf.predict(X_te)) <= set("abcdefghij")


# --- errors -------------------------------------------------------------------------------------


def test_input_shape_mismatch(digits):
    X_tr, _, y_tr, _ = digits
    with pytest.raises(ValueError, match=r"input_shape=\(1, 7, 7\) needs 49"):
        SFKDClassifier(input_shape=(1, 7, 7), max_epochs=1).fit(X_tr, y_tr)


def test_wrong_rank_and_nan(digits):
    X_tr, _, y_tr, _ = digits
    with pytest.raises(ValueError):
        SFKDClassifier(max_epochs=1).fit(X_tr.reshape(len(X_tr), 8, 8), y_tr)
    X = X_tr.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SFKDClassifier(max_epochs=1).fit(X, y_tr)


def test_predict_with_other_shape(digits):
    X_tr, _, y_tr, _ = digits
    clf = KDClassifier(student="mlp", max_epochs=1, random_state=0).fit(X_tr, y_tr)
    with pytest.raises(ValueError, match="64 features"):
        clf.predict(np.zeros((2, 10), dtype=np.float32))


def test_teacher_with_other_classes(digits, cnn_teacher):
    X_tr, _, y_tr, _ = digits
    mask = y_tr < 5
    with pytest.raises(ValueError, match="logits, one per class"):
        SFKDClassifier(cnn_teacher.net_.module_.student, input_shape=SHAPE, max_epochs=1).fit(
            X_tr[mask], y_tr[mask]
        )
    lr = LogisticRegression(max_iter=100).fit(X_tr[mask], y_tr[mask])
    with pytest.raises(ValueError, match="teacher's classes"):
        KDClassifier(lr, student="mlp", max_epochs=1).fit(X_tr, y_tr)


def test_unknown_layer_lists_valid_names(digits, cnn_teacher):
    X_tr, _, y_tr, _ = digits
    with pytest.raises(ValueError, match="layer2"):
        SFKDClassifier(cnn_teacher, input_shape=SHAPE, teacher_layer="layer9", max_epochs=1).fit(
            X_tr, y_tr
        )


def test_grid_too_small_for_levels(digits, cnn_teacher):
    # Issue 17: the default levels are clipped to the 2x2 map silently (recorded in levels_);
    # the robustness tests cover the warning for explicit levels.
    X_tr, _, y_tr, _ = digits
    clf = SFKDClassifier(cnn_teacher, input_shape=SHAPE, max_epochs=1).fit(X_tr, y_tr)
    assert clf.levels_ == 1 and clf.feature_shapes_["teacher"]["aligned"][1:] == (2, 2)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": -1.0}, "alpha must be"),
        ({"temperature": 0.0}, "temperature must be"),
        ({"ds2s": "half"}, "ds2s must be one of"),
        ({"feature_loss": "l1"}, "feature_loss must be one of"),
        ({"student": "resnet50"}, "student must be one of"),
        ({"levels": 0}, "levels"),
    ],
)
def test_invalid_parameters(digits, params, match):
    X_tr, _, y_tr, _ = digits
    with pytest.raises(ValueError, match=match):
        SFKDClassifier(max_epochs=1, **params).fit(X_tr, y_tr)


def test_teacher_of_the_wrong_kind(digits):
    X_tr, _, y_tr, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError, match="teacher must be"):
            KDClassifier(teacher="resnet", max_epochs=1).fit(X_tr, y_tr)


def test_probability_outputs_of_a_teacher_are_read_as_log_probabilities(digits, cnn_teacher):
    X_tr, _, y_tr, _ = digits
    softmax_teacher = torch.nn.Sequential(cnn_teacher.net_.module_.student, torch.nn.Softmax(dim=1))
    logits_teacher = cnn_teacher.net_.module_.student
    a = KDClassifier(
        softmax_teacher, student="mlp", input_shape=SHAPE, max_epochs=1, random_state=0
    )
    b = KDClassifier(logits_teacher, student="mlp", input_shape=SHAPE, max_epochs=1, random_state=0)
    # log-softmax differs from the logits by a per-row constant: KD sees the same distribution.
    np.testing.assert_allclose(
        a.fit(X_tr, y_tr).predict_proba(X_tr[:20]),
        b.fit(X_tr, y_tr).predict_proba(X_tr[:20]),
        rtol=1e-4,
        atol=1e-5,
    )


class _TokenTeacher(torch.nn.Module):
    """Six tokens on a 2x3 grid: not square, so the layout needs grid_size."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Linear(64, 6 * 16)
        self.tokens = torch.nn.Identity()
        self.head = torch.nn.Linear(16, 10)

    def forward(self, x):
        t = self.tokens(self.embed(x.flatten(1)).view(-1, 6, 16))
        return self.head(t.mean(1))


def test_non_square_token_grid_needs_grid_size(digits):
    X_tr, _, y_tr, _ = digits
    torch.manual_seed(0)
    teacher = _TokenTeacher()
    clf = SFKDClassifier(
        teacher,
        student="cnn",
        input_shape=SHAPE,
        teacher_layer="tokens",
        levels=1,
        max_epochs=1,
        random_state=0,
    )
    with pytest.raises(ValueError, match="grid_size"):
        clf.fit(X_tr, y_tr)
    teacher.grid_size = (2, 3)
    clf.fit(X_tr, y_tr)
    assert clf.feature_shapes_["teacher"]["canonical"] == (16, 2, 3)
    assert clf.feature_shapes_["teacher"]["aligned"] == (16, 2, 4)


def test_highpass_gffl_changes_the_frequency_term(digits, cnn_teacher):
    X_tr, _, y_tr, _ = digits
    common = dict(
        student="cnn",
        input_shape=SHAPE,
        teacher_layer="layer2",
        alpha=0.0,
        beta=0.0,
        gamma=1.0,
        max_epochs=1,
        random_state=0,
    )
    low = SFKDClassifier(cnn_teacher, **common).fit(X_tr, y_tr)
    high = SFKDClassifier(cnn_teacher, gffl_highpass=True, **common).fit(X_tr, y_tr)
    assert low.history_[-1]["train_freq"] != high.history_[-1]["train_freq"]
