"""Wide teacher features projected onto their principal directions (``teacher_feature_dim``).

What a user relies on: a teacher whose feature is much wider than the student's (ModernTCN's
64 x 179 at L=720) is distilled at the cost of a narrow one, the projection is the same in the
cached and the per-batch paths, it keeps what the feature varies along (reported), and
``teacher_feature_dim=None`` is the paper's regressor on the feature as it is.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skdistill.datasets import load_ltsf
from skdistill.forecasting import DistilledMLPForecaster, ModernTCNForecaster
from skdistill.training.teacher import principal_directions

L, H = 48, 12
FH = range(1, H + 1)


@pytest.fixture(scope="module")
def y():
    return load_ltsf("ETTh1").iloc[:700]


@pytest.fixture(scope="module")
def teacher(y):
    # Feature per channel token: dims x patches = 8 x 11 = 88, wider than hidden_size (16).
    params = dict(patch_size=8, patch_stride=4, dims=8, ffn_ratio=2, large_size=5, small_size=3)
    return ModernTCNForecaster(window_length=L, max_epochs=1, random_state=0, **params).fit(
        y, fh=FH
    )


def distilled(teacher, **kw):
    params = dict(
        window_length=L,
        hidden_size=16,
        moving_avg=5,
        alpha=1.0,
        beta=1.0,
        n_scales=2,
        max_epochs=2,
        random_state=0,
    )
    return DistilledMLPForecaster(teacher, **{**params, **kw})


def test_principal_directions_recover_a_low_rank_feature():
    g = torch.Generator().manual_seed(0)
    tokens = torch.randn(400, 3, generator=g) @ torch.randn(3, 40, generator=g) + 5.0
    mean, basis, kept = principal_directions(tokens, 3)
    assert basis.shape == (3, 40) and mean.shape == (40,)
    torch.testing.assert_close(basis @ basis.T, torch.eye(3), atol=1e-5, rtol=0)
    assert kept == pytest.approx(1.0, abs=1e-6)
    # Projected and mapped back, the tokens are reproduced: nothing they vary along is lost.
    back = (tokens - mean) @ basis.T @ basis + mean
    torch.testing.assert_close(back, tokens, atol=1e-3, rtol=1e-4)


def test_fewer_tokens_than_directions_still_give_an_orthonormal_basis():
    tokens = torch.randn(6, 50, generator=torch.Generator().manual_seed(1))
    _, basis, kept = principal_directions(tokens, 20)  # the m x m Gram route, completed
    assert basis.shape == (20, 50)
    torch.testing.assert_close(basis @ basis.T, torch.eye(20), atol=1e-5, rtol=0)
    assert kept == pytest.approx(1.0, abs=1e-6)


def test_auto_projects_a_wide_feature_and_reports_the_variance_kept(y, teacher):
    wide = teacher._as_teacher(np.zeros(7), np.ones(7), H).feature_dim
    assert wide > 16
    projected = distilled(teacher).fit(y, fh=FH)
    assert projected.teacher_feature_dim == "auto"
    (kept,) = projected.teacher_feature_variance_
    assert 0.5 < kept <= 1.0
    as_is = distilled(teacher, teacher_feature_dim=None).fit(y, fh=FH)
    assert as_is.teacher_feature_variance_ == [None]
    assert "train_feat_period" in projected.history_[-1]
    # The two are different regressors, hence different students.
    assert not np.allclose(projected.history_[:, "train_loss"], as_is.history_[:, "train_loss"])


def test_auto_keeps_a_feature_no_wider_than_the_student(y, teacher):
    # "auto" projects exactly the features wider than hidden_size (R would be wider than the
    # student): at hidden_size = d_t the feature is used as it is, one below it is projected.
    wide = teacher._as_teacher(np.zeros(7), np.ones(7), H).feature_dim
    as_is = distilled(teacher, hidden_size=wide, max_epochs=1).fit(y, fh=FH)
    assert as_is.teacher_feature_variance_ == [None]
    projected = distilled(teacher, hidden_size=wide - 1, max_epochs=1).fit(y, fh=FH)
    assert projected.teacher_feature_variance_[0] is not None


def test_an_int_projects_every_feature_wider_than_it(y, teacher):
    narrow = distilled(teacher, teacher_feature_dim=4).fit(y, fh=FH)
    auto = distilled(teacher).fit(y, fh=FH)
    (kept_4,) = narrow.teacher_feature_variance_
    (kept_16,) = auto.teacher_feature_variance_
    assert kept_4 < kept_16  # fewer directions keep less of the variance
    wide = distilled(teacher, teacher_feature_dim=10_000).fit(y, fh=FH)
    assert wide.teacher_feature_variance_ == [None]  # nothing wider than 10,000


def test_the_per_batch_teacher_is_projected_the_same_way(y, teacher):
    cached = distilled(teacher).fit(y, fh=FH)
    online = distilled(teacher, teacher_cache="off").fit(y, fh=FH)
    assert online.teacher_cache_ == "off" and cached.teacher_cache_ == "memory"
    assert online.teacher_feature_variance_ == cached.teacher_feature_variance_
    for key in ("train_loss", "train_feat_scale", "train_feat_period", "valid_loss"):
        np.testing.assert_allclose(online.history_[:, key], cached.history_[:, key], rtol=1e-5)


def test_projection_is_deterministic_and_the_fit_pickles(y, teacher, tmp_path):
    import pickle

    a = distilled(teacher).fit(y, fh=FH)
    b = distilled(teacher).fit(y, fh=FH)
    np.testing.assert_array_equal(a.predict().to_numpy(), b.predict().to_numpy())
    again = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(again.predict().to_numpy(), a.predict().to_numpy())


@pytest.mark.parametrize(
    "value, error, match",
    [
        ("big", ValueError, 'teacher_feature_dim must be "auto", None or an int'),
        (0, ValueError, "teacher_feature_dim must be an integer >= 1"),
        (2.5, TypeError, "teacher_feature_dim must be an integer"),
    ],
)
def test_bad_teacher_feature_dim_is_named(y, teacher, value, error, match):
    f = distilled(teacher, teacher_feature_dim=value)
    with pytest.raises(error, match=match):
        f.fit(y, fh=FH)
    assert not hasattr(f, "net_")


@pytest.mark.parametrize("m, d", [(300, 40), (60, 200)])
def test_the_kept_variance_is_that_of_the_exact_top_directions(m, d):
    # A spectrum decaying over decades: the trailing directions are at the float32 rounding
    # floor of a Gram matrix, where careless directions double-count the leading ones.
    g = torch.Generator().manual_seed(2)
    scales = torch.logspace(0, -6, min(m, d), dtype=torch.float64)
    u = torch.linalg.qr(torch.randn(m, min(m, d), generator=g, dtype=torch.float64))[0]
    v = torch.linalg.qr(torch.randn(d, min(m, d), generator=g, dtype=torch.float64))[0]
    tokens = (u * scales) @ v.T
    k = 30
    mean, basis, kept = principal_directions(tokens.float(), k)
    torch.testing.assert_close(basis @ basis.T, torch.eye(k), atol=1e-5, rtol=0)
    centred = tokens - tokens.mean(0)
    sv = torch.linalg.svdvals(centred)
    exact = float((sv[:k] ** 2).sum() / (sv**2).sum())
    assert kept == pytest.approx(exact, rel=1e-4)
    assert kept <= 1.0
