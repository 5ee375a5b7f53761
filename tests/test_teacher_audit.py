"""The teacher audit and the weights chosen on validation ("auto", the default).

What a user relies on: ``teacher_valid_loss_`` is the teacher's MSE on the very validation
windows (and scale) of the student's ``valid_loss_``; a teacher worse than the student warns,
once, with both numbers (fixed weights), or the search drops it and says so (the default); a
teacher better than the student does not warn.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone

from skdistill.datasets import load_ltsf
from skdistill.exceptions import WeakTeacherWarning
from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster
from skdistill.training.halving import RACERS, RUNG_EPOCHS, TOLERANCE, halve

L, H = 24, 4
FH = list(range(1, H + 1))
COMMON = dict(window_length=L, hidden_size=16, moving_avg=5, validation_size=80, random_state=0)


@pytest.fixture(scope="module")
def y():
    return load_ltsf("ETTh1").iloc[:500, :3]


def distilled(teacher, **kw):
    """Fixed weights (the paper's 1, 1) unless the test passes others."""
    params = dict(COMMON, n_scales=1, max_epochs=3, verbose=0, alpha=1.0, beta=1.0)
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
def test_auto_is_the_default():
    params = DistilledMLPForecaster().get_params()
    assert (params["alpha"], params["beta"]) == ("auto", "auto")


def test_auto_weights_choose_on_validation_and_the_winner_goes_on(y):
    teacher = MLPForecaster(**COMMON, max_epochs=10, verbose=0).fit(y, fh=FH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakTeacherWarning)
        auto = DistilledMLPForecaster(
            teacher=teacher, **COMMON, n_scales=1, max_epochs=5, patience=None, verbose=0
        ).fit(y, fh=FH)
    search = auto.weight_search_
    assert [(r["alpha"], r["beta"]) for r in search] == [(w, w) for w in (0, 0.1, 0.5, 1, 2)]
    # Successive halving: every candidate 1 epoch; the baseline (0, 0) to the end; the others
    # by halve()'s schedule. Replayed here with fits whose weights are fixed, trained to
    # each epoch the schedule asks for: the search must train the same candidates as far.
    assert search[0]["epochs"] == 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakTeacherWarning)
        memo = {}

        def fixed_valid(i, epochs):
            if (i, epochs) not in memo:
                weights = dict(alpha=search[i]["alpha"], beta=search[i]["beta"])
                fit = distilled(teacher, **weights, max_epochs=epochs, patience=None)
                memo[i, epochs] = fit.fit(y, fh=FH).valid_loss_
            return memo[i, epochs]

        epochs = dict.fromkeys(range(1, len(search)), 1)
        ranked = sorted(epochs, key=lambda i: (fixed_valid(i, 1), i))

        def advance(i, until):
            epochs[i] = max(epochs[i], until)

        leader = halve(ranked, advance, lambda i: fixed_valid(i, epochs[i]), 5)
    assert [r["epochs"] for r in search[1:]] == [epochs[i] for i in range(1, len(search))]
    assert sorted(i for i in epochs if epochs[i] >= RUNG_EPOCHS) == sorted(ranked[:RACERS])
    assert search[leader]["epochs"] == 5
    # The leader only where it beats the student alone by more than TOLERANCE.
    wins = search[leader]["valid_loss"] * (1 + TOLERANCE) < search[0]["valid_loss"]
    best = search[leader] if wins else search[0]
    assert (auto.alpha_, auto.beta_) == (best["alpha"], best["beta"])
    # The chosen finalist is the fit: its epochs, its kept validation loss.
    assert len(auto.history_) == 5
    assert auto.valid_loss_ == pytest.approx(best["valid_loss"])
    assert auto.valid_loss_ == pytest.approx(auto.history_[-1, "valid_loss"])
    # Every candidate starts from the draws of a fit with its weights fixed.
    fixed = distilled(teacher, alpha=auto.alpha_, beta=auto.beta_, max_epochs=1).fit(y, fh=FH)
    assert fixed.history_[0, "valid_loss"] == pytest.approx(auto.history_[0, "valid_loss"])
    assert fixed.weight_search_ is None
    # ... and the winner's whole training is that fit's: same shuffles, same forecasts.
    whole = distilled(teacher, alpha=auto.alpha_, beta=auto.beta_, max_epochs=5, patience=None)
    np.testing.assert_array_equal(whole.fit(y, fh=FH).predict(), auto.predict())
    # Deterministic under random_state, search included.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakTeacherWarning)
        again = clone(auto).fit(y, fh=FH)
    np.testing.assert_array_equal(auto.predict(), again.predict())


def test_auto_weights_halving_pause_keeps_early_stopping_exact(y):
    # With early stopping, the racers pause after RUNG_EPOCHS and after every epoch of a
    # close race, and the leader resumes: it must end exactly as the fit with its weights
    # fixed (same epochs, same kept validation loss), the pauses included.
    common = dict(COMMON, random_state=9)
    teacher = MLPForecaster(**common, max_epochs=10, verbose=0).fit(y, fh=FH)
    settings = dict(common, n_scales=1, max_epochs=9, patience=2, lr=0.05, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakTeacherWarning)
        auto = DistilledMLPForecaster(teacher=teacher, **settings).fit(y, fh=FH)
        search = auto.weight_search_
        leader = max(search[1:], key=lambda r: r["epochs"])
        weights = dict(alpha=leader["alpha"], beta=leader["beta"])
        fixed = DistilledMLPForecaster(teacher=teacher, **settings, **weights).fit(y, fh=FH)
    # This case pauses where it matters: the race goes on past the rung, and at one of the
    # leader's pauses its last epoch is not its best so far; it trains on past the race.
    valid = list(fixed.history_[:, "valid_loss"])
    race_end = max(r["epochs"] for r in search[1:] if r is not leader)
    pauses = range(RUNG_EPOCHS, min(race_end, leader["epochs"] - 1) + 1)
    assert race_end > RUNG_EPOCHS and leader["epochs"] > race_end
    assert any(min(valid[:k]) < valid[k - 1] for k in pauses)
    assert len(fixed.history_) == leader["epochs"]
    assert fixed.valid_loss_ == leader["valid_loss"]
    assert (auto.alpha_, auto.beta_) == (leader["alpha"], leader["beta"])
    np.testing.assert_array_equal(fixed.predict(), auto.predict())


def test_auto_weights_drop_a_useless_teacher_and_say_so(y):
    weak = MLPForecaster(**COMMON, max_epochs=1, lr=1e-7, verbose=0).fit(y, fh=FH)
    with pytest.warns(WeakTeacherWarning, match="chose alpha=0, beta=0") as record:
        auto = distilled(weak, alpha="auto", beta="auto").fit(y, fh=FH)
    assert (auto.alpha_, auto.beta_) == (0.0, 0.0)
    message = str([w for w in record if w.category is WeakTeacherWarning][0].message)
    assert f"teacher {auto.teacher_valid_loss_:.4g}, student {auto.valid_loss_:.4g}" in message
    # Trained alone: the supervised term only, no feature regressor left in the objective.
    assert "train_pred_scale" not in auto.history_[-1]
    assert not list(auto.net_.criterion_.parameters())


def test_auto_weights_drop_a_teacher_far_worse_than_the_student_alone(y):
    # A stale teacher can lower the validation loss a little and still hurt on new data
    # (issue 23's ETTh1 case): beyond the margin it is dropped once the student alone has
    # trained, without training the best distilled candidate on.
    weak = MLPForecaster(**COMMON, max_epochs=1, lr=1e-7, verbose=0).fit(y, fh=FH)
    with pytest.warns(WeakTeacherWarning, match="over 1.25x worse than the student alone"):
        auto = distilled(weak, alpha="auto", beta="auto").fit(y, fh=FH)
    assert auto.teacher_valid_loss_ > 1.25 * auto.valid_loss_
    assert [r["epochs"] for r in auto.weight_search_[1:]] == [1, 1, 1, 1]
    assert auto.weight_search_[0]["epochs"] == 3  # the student alone, trained to the end
    assert (auto.alpha_, auto.beta_) == (0.0, 0.0)
    assert auto.valid_loss_ == auto.weight_search_[0]["valid_loss"]
    # The student the search fell back on is the MLP trained alone, draw for draw.
    alone = MLPForecaster(**COMMON, max_epochs=3, verbose=0).fit(y, fh=FH)
    np.testing.assert_array_equal(auto.predict(), alone.predict())


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
        ({"beta": "best"}, 'beta must be a number >= 0 or "auto"'),
    ],
)
def test_bad_auto_use_is_named(y, params, match):
    teacher = MLPForecaster(**COMMON, max_epochs=1, verbose=0)
    with pytest.raises(ValueError, match=match):
        distilled(teacher, **params).fit(y, fh=FH)


def test_auto_without_validation_is_one_and_says_so(y):
    teacher = MLPForecaster(**COMMON, max_epochs=1, verbose=0).fit(y, fh=FH)
    student = DistilledMLPForecaster(
        teacher=teacher, **{**COMMON, "validation_size": None}, n_scales=1
    )
    with pytest.warns(UserWarning, match="validation_size=None gives none here"):
        student.set_params(max_epochs=1, verbose=0).fit(y, fh=FH)
    assert (student.alpha_, student.beta_) == (1.0, 1.0) and student.weight_search_ is None


def test_auto_on_data_too_short_for_a_validation_window_is_one_and_says_so():
    from skdistill.regression import DistilledMLPRegressor

    # 4 windows: validation_size=0.2 rounds to none (the regressor then trains on all).
    X, Y = np.random.default_rng(0).normal(size=(2, 4, 8, 1))
    reg = DistilledMLPRegressor(hidden_size=8, moving_avg=3, n_scales=1, max_epochs=1, verbose=0)
    with pytest.warns(UserWarning, match="gives none here: the 'auto' weights are 1"):
        reg.fit(X, Y[:, :4], teacher_predictions=Y[:, :4])
    assert (reg.alpha_, reg.beta_) == (1.0, 0.0) and reg.weight_search_ is None


def test_the_regressor_chooses_its_weights_on_validation_and_audits_the_teacher():
    from skdistill.regression import DistilledMLPRegressor

    rng = np.random.default_rng(0)
    series = np.sin(np.arange(700) / 6)[:, None] + 0.1 * rng.normal(size=(700, 1))
    X = np.stack([series[i : i + 24] for i in range(670)])
    Y = np.stack([series[i + 24 : i + 28] for i in range(670)])
    noisy = 2.0 - Y  # a teacher that forecasts the mirror image: far worse than the truth
    params = dict(hidden_size=16, moving_avg=5, n_scales=1, max_epochs=3, verbose=0)
    with pytest.warns(WeakTeacherWarning):
        reg = DistilledMLPRegressor(**params, random_state=0).fit(X, Y, teacher_predictions=noisy)
    assert [(r["alpha"], r["beta"]) for r in reg.weight_search_] == [
        (w, 0.0) for w in (0, 0.1, 0.5, 1, 2)
    ]
    assert (reg.alpha_, reg.beta_) == (0.0, 0.0)
    assert reg.teacher_valid_loss_ > reg.valid_loss_
    # No teacher arrays: no search, plain training, nothing to audit.
    alone = DistilledMLPRegressor(**params, random_state=0).fit(X, Y)
    assert alone.weight_search_ is None and alone.teacher_valid_loss_ is None
    assert (alone.alpha_, alone.beta_) == (0.0, 0.0)
    with pytest.warns(UserWarning, match="validation_size=None gives none here"):
        unchecked = DistilledMLPRegressor(**params, validation_size=None, random_state=0)
        unchecked.fit(X, Y, teacher_predictions=Y)
    assert (unchecked.alpha_, unchecked.beta_) == (1.0, 0.0)


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
