"""Loss weights chosen on held-out images (``"auto"``), an option of every classifier.

What a user relies on: an "auto" weight is chosen among its default times 0, 0.1, 0.5, 1
and 2 on a stratified held-out share of the training images; the record of every candidate
is kept; the fitted model is what a fit with the chosen weights fixed gives; a teacher that
does not help is dropped with a ``WeakTeacherWarning``; numbers work as before.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from skdistill.classification import DKDClassifier, KDClassifier
from skdistill.exceptions import WeakTeacherWarning
from skdistill.training.classification import HOLDOUT, holdout_split
from skdistill.training.halving import RACERS, RUNG_EPOCHS, TOLERANCE

COMMON = dict(input_shape=(1, 8, 8), student="mlp", max_epochs=3, random_state=0, verbose=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:400] / 16.0).astype(np.float32), y[:400]


@pytest.fixture(scope="module")
def good_teacher(digits):
    X, y = digits
    return LogisticRegression(max_iter=300).fit(X, y)


def test_auto_chooses_on_held_out_images_and_refits_the_choice(digits, good_teacher):
    X, y = digits
    common = dict(COMMON, max_epochs=5)
    auto = KDClassifier(good_teacher, alpha="auto", **common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakTeacherWarning)
        auto.fit(X, y)
    search = auto.weight_search_
    assert [r["alpha"] for r in search] == [0.0, 0.1, 0.5, 1.0, 2.0]  # the default 1 times
    # Every candidate 1 epoch; the baseline (0) to max_epochs; the others by successive
    # halving: the RACERS best to RUNG_EPOCHS (or on, while close), one of them to the end.
    assert search[0]["epochs"] == 5
    racers = [r for r in search[1:] if r["epochs"] >= RUNG_EPOCHS]
    finalists = [r for r in search if r["epochs"] == 5]
    assert len(racers) == RACERS and len(finalists) >= 2  # more when racers stayed close
    assert all(r["epochs"] == 1 for r in search[1:] if r not in racers)
    # The leader (the best distilled finalist) only where it beats the baseline by more than
    # TOLERANCE.
    leader = min(finalists[1:], key=lambda r: r["valid_loss"])
    wins = leader["valid_loss"] * (1 + TOLERANCE) < search[0]["valid_loss"]
    best = leader if wins else search[0]
    assert auto.alpha_ == best["alpha"] and auto.valid_loss_ == best["valid_loss"]
    assert auto.teacher_valid_loss_ is not None and np.isfinite(auto.teacher_valid_loss_)
    # The fitted model is the fit with the chosen weight fixed, on every image.
    fixed = KDClassifier(good_teacher, alpha=auto.alpha_, **common).fit(X, y)
    np.testing.assert_array_equal(auto.predict_proba(X), fixed.predict_proba(X))
    assert fixed.weight_search_ is None and fixed.valid_loss_ is None
    # Deterministic under random_state.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakTeacherWarning)
        again = clone(auto).fit(X, y)
    np.testing.assert_array_equal(auto.predict_proba(X), again.predict_proba(X))


def test_several_auto_weights_move_together_from_their_defaults(digits, good_teacher):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakTeacherWarning)
        dkd = DKDClassifier(good_teacher, alpha="auto", beta="auto", **COMMON).fit(X, y)
    pairs = [(r["alpha"], r["beta"]) for r in dkd.weight_search_]
    assert pairs == [(0.0, 0.0), (0.1, 0.8), (0.5, 4.0), (1.0, 8.0), (2.0, 16.0)]
    assert (dkd.alpha_, dkd.beta_) in pairs


def test_a_teacher_that_does_not_help_is_dropped_and_said(digits):
    X, y = digits
    # Fitted on shuffled labels: its confident answers are noise.
    rng = np.random.default_rng(0)
    liar = LogisticRegression(max_iter=300).fit(X, rng.permutation(y))
    clf = KDClassifier(liar, alpha="auto", **{**COMMON, "max_epochs": 10})
    with pytest.warns(WeakTeacherWarning, match="chose alpha=0") as record:
        clf.fit(X, y)
    assert clf.alpha_ == 0.0
    message = str([w for w in record if w.category is WeakTeacherWarning][0].message)
    assert f"teacher {clf.teacher_valid_loss_:.4g}, student {clf.valid_loss_:.4g}" in message
    assert clf.teacher_valid_loss_ > clf.valid_loss_


def test_numbers_are_unchanged_and_bad_values_are_named(digits, good_teacher):
    X, y = digits
    assert KDClassifier().get_params()["alpha"] == 1.0  # "auto" is an option, not the default
    clf = KDClassifier(good_teacher, **COMMON).fit(X, y)
    assert clf.alpha_ == 1.0 and clf.weight_search_ is None
    with pytest.raises(ValueError, match='alpha must be a number >= 0 or "auto"'):
        KDClassifier(good_teacher, alpha="best", **COMMON).fit(X, y)


def test_the_held_out_share_is_per_class_and_seeded():
    y = np.repeat(np.arange(4), [10, 5, 2, 1])
    train, held = holdout_split(y, HOLDOUT, seed=0)
    assert sorted(np.concatenate([train, held])) == list(range(len(y)))
    assert [int((y[held] == c).sum()) for c in range(4)] == [2, 1, 1, 0]
    np.testing.assert_array_equal(held, holdout_split(y, HOLDOUT, seed=0)[1])
