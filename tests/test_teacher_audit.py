"""The teacher audit: the teacher's validation loss beside the student's, and a
``WeakTeacherWarning`` when fixed weights distil a teacher worse than the student.

What a user relies on: ``teacher_valid_loss_`` is the teacher's MSE on the very validation
windows (and scale) of the student's ``valid_loss_``; a teacher worse than the student warns,
once, with both numbers; a teacher better than the student does not warn.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from skdistill.datasets import load_ltsf
from skdistill.exceptions import WeakTeacherWarning
from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster

L, H = 24, 4
FH = list(range(1, H + 1))
COMMON = dict(window_length=L, hidden_size=16, moving_avg=5, validation_size=80, random_state=0)


@pytest.fixture(scope="module")
def y():
    return load_ltsf("ETTh1").iloc[:500, :3]


def distilled(teacher, **kw):
    params = dict(COMMON, n_scales=1, max_epochs=3, verbose=0)
    return DistilledMLPForecaster(teacher=teacher, **{**params, **kw})


def test_teacher_valid_loss_is_measured_on_the_students_validation_windows(y):
    # The teacher fitted with the same window_length and validation split: its own kept
    # validation loss is the MSE over the same windows on the same scale.
    teacher = MLPForecaster(**COMMON, max_epochs=4, patience=None, verbose=0).fit(y, fh=FH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakTeacherWarning)
        student = distilled(teacher).fit(y, fh=FH)
    assert student.teacher_valid_loss_ == pytest.approx(teacher.valid_loss_, rel=1e-5)
    assert student.valid_loss_ == pytest.approx(min(student.history_[:, "valid_loss"]))


def test_a_teacher_worse_than_the_student_warns_once_with_the_numbers(y):
    # Practically untrained (one epoch at lr 1e-7): far worse than any trained student.
    weak = MLPForecaster(**COMMON, max_epochs=1, lr=1e-7, verbose=0).fit(y, fh=FH)
    with pytest.warns(WeakTeacherWarning) as record:
        student = distilled(weak).fit(y, fh=FH)
    weak_warnings = [w for w in record if issubclass(w.category, WeakTeacherWarning)]
    assert len(weak_warnings) == 1
    message = str(weak_warnings[0].message)
    assert f"{student.teacher_valid_loss_:.4g}" in message
    assert f"{student.valid_loss_:.4g}" in message and "alpha=0" in message
    assert student.teacher_valid_loss_ > student.valid_loss_


def test_a_teacher_better_than_the_student_does_not_warn(y):
    strong = MLPForecaster(**COMMON, max_epochs=30, verbose=0).fit(y, fh=FH)
    with warnings.catch_warnings():
        warnings.simplefilter("error", WeakTeacherWarning)
        student = distilled(strong, max_epochs=1).fit(y, fh=FH)
    assert student.teacher_valid_loss_ < student.valid_loss_


def test_no_audit_without_distillation_or_validation(y):
    weak = MLPForecaster(**COMMON, max_epochs=1, lr=1e-7, verbose=0).fit(y, fh=FH)
    with warnings.catch_warnings():
        warnings.simplefilter("error", WeakTeacherWarning)
        off = distilled(weak, alpha=0.0, beta=0.0).fit(y, fh=FH)
        no_valid = distilled(weak, validation_size=None).fit(y, fh=FH)
    assert off.teacher_valid_loss_ is None
    assert no_valid.valid_loss_ is None and no_valid.teacher_valid_loss_ is None
    assert np.isfinite(off.valid_loss_)


# --- alpha="auto" / beta="auto": the weights chosen on the validation windows -------------------
def test_auto_weights_choose_on_validation_and_train_as_the_fixed_choice(y):
    teacher = MLPForecaster(**COMMON, max_epochs=10, verbose=0).fit(y, fh=FH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakTeacherWarning)
        auto = distilled(teacher, alpha="auto", beta="auto", max_epochs=4).fit(y, fh=FH)
    search = auto.weight_search_
    assert [(r["alpha"], r["beta"]) for r in search] == [(w, w) for w in (0, 0.1, 0.5, 1, 2)]
    # Successive halving: every candidate 1 epoch, the best two 3 in all.
    assert sorted(r["epochs"] for r in search) == [1, 1, 1, 3, 3]
    finalists = [r for r in search if r["epochs"] == 3]
    best = min(finalists, key=lambda r: r["valid_loss"])
    assert (auto.alpha_, auto.beta_) == (best["alpha"], best["beta"])
    # The chosen weights are trained exactly as a fit with them fixed.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakTeacherWarning)
        fixed = distilled(teacher, alpha=auto.alpha_, beta=auto.beta_, max_epochs=4).fit(y, fh=FH)
    np.testing.assert_array_equal(auto.predict(), fixed.predict())
    assert fixed.weight_search_ is None


def test_auto_weights_drop_a_useless_teacher_and_say_so(y):
    weak = MLPForecaster(**COMMON, max_epochs=1, lr=1e-7, verbose=0).fit(y, fh=FH)
    with pytest.warns(WeakTeacherWarning, match="chose alpha=0, beta=0"):
        auto = distilled(weak, alpha="auto", beta="auto").fit(y, fh=FH)
    assert (auto.alpha_, auto.beta_) == (0.0, 0.0)
    alone = MLPForecaster(**COMMON, max_epochs=3, verbose=0).fit(y, fh=FH)
    np.testing.assert_allclose(auto.predict(), alone.predict(), rtol=1e-6)


def test_one_auto_weight_searches_that_level_only(y):
    teacher = MLPForecaster(**COMMON, max_epochs=5, verbose=0).fit(y, fh=FH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakTeacherWarning)
        auto = distilled(teacher, alpha="auto", beta=0.5, max_epochs=2).fit(y, fh=FH)
    assert [(r["alpha"], r["beta"]) for r in auto.weight_search_] == [
        (w, 0.5) for w in (0, 0.1, 0.5, 1, 2)
    ]
    assert auto.beta_ == 0.5


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"alpha": "auto", "validation_size": None}, "set validation_size"),
        ({"beta": "best"}, 'beta must be a number >= 0 or "auto"'),
    ],
)
def test_bad_auto_use_is_named(y, params, match):
    teacher = MLPForecaster(**COMMON, max_epochs=1, verbose=0)
    with pytest.raises(ValueError, match=match):
        distilled(teacher, **params).fit(y, fh=FH)


def test_the_regressor_takes_numbers_only():
    from skdistill.regression import DistilledMLPRegressor

    X, Y = np.zeros((20, 8, 1)), np.zeros((20, 2, 1))
    with pytest.raises(
        ValueError, match='alpha must be a number >= 0 .DistilledMLPRegressor has no "auto"'
    ):
        DistilledMLPRegressor(alpha="auto").fit(X, Y)


def test_a_search_where_every_candidate_diverges_fails_and_keeps_nothing(y):
    teacher = MLPForecaster(**COMMON, max_epochs=1, verbose=0).fit(y, fh=FH)
    student = distilled(teacher, alpha="auto", beta="auto", lr=1e12)
    with pytest.raises(FloatingPointError, match="every candidate of the weight search diverged"):
        student.fit(y, fh=FH)
    assert not student.is_fitted


def test_the_fixed_weight_rule_allows_a_student_a_little_better_than_its_teacher():
    # A distilled student often ends a little better than its teacher: no warning within
    # WEAK_TEACHER_MARGIN, a warning beyond it, none without distillation.
    from skdistill._timedistill import WEAK_TEACHER_MARGIN, audit_teacher

    with warnings.catch_warnings():
        warnings.simplefilter("error", WeakTeacherWarning)
        audit_teacher(0.99 * WEAK_TEACHER_MARGIN, 1.0, 1.0, 1.0)
        audit_teacher(5.0, 1.0, 0.0, 0.0)
        audit_teacher(5.0, 1.0, 1.0, 1.0, searched=True)  # the search kept the teacher
    with pytest.warns(WeakTeacherWarning, match="over 1.25x the distilled student's"):
        audit_teacher(1.01 * WEAK_TEACHER_MARGIN, 1.0, 1.0, 1.0)
    with pytest.warns(WeakTeacherWarning, match="chose alpha=0, beta=0"):
        audit_teacher(5.0, 1.0, 0.0, 0.0, searched=True)
