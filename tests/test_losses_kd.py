"""Tests for the logit/feature distillation baselines (skdistill.losses.kd)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from skdistill.losses import dkd_loss, fitnet_loss, kd_loss, ofa_loss


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def _randn(gen: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=torch.float64) * scale


def _labels(gen: torch.Generator, n: int, k: int) -> torch.Tensor:
    return torch.randint(0, k, (n,), generator=gen)


# --------------------------------------------------------------------------- kd_loss
def test_kd_loss_hand_computed() -> None:
    # z_s = [0, 0] -> p_s = [1/2, 1/2]; z_t / 4 = [0, 1] -> p_t = [1, e] / (1 + e).
    e = math.e
    pt = [1 / (1 + e), e / (1 + e)]
    expected = 16 * sum(p * math.log(p / 0.5) for p in pt)
    got = kd_loss(torch.zeros(1, 2), torch.tensor([[0.0, 4.0]]), temperature=4.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("temperature", [1.0, 4.0, 0.5])
def test_kd_loss_equals_kl_div_batchmean(gen: torch.Generator, temperature: float) -> None:
    zs, zt = _randn(gen, 6, 5, scale=3.0), _randn(gen, 6, 5, scale=3.0)
    ref = F.kl_div(
        F.log_softmax(zs / temperature, dim=-1),
        F.softmax(zt / temperature, dim=-1),
        reduction="batchmean",
    )
    got = kd_loss(zs, zt, temperature)
    assert got.item() == pytest.approx(ref.item() * temperature**2, rel=1e-10)


def test_kd_loss_zero_for_equal_and_nonnegative(gen: torch.Generator) -> None:
    z = _randn(gen, 4, 7)
    assert kd_loss(z, z).item() == 0.0
    assert kd_loss(_randn(gen, 4, 7), z).item() > 0


def test_kd_loss_extreme_logits_finite_gradient(gen: torch.Generator) -> None:
    # Teacher probabilities underflow to exactly 0: value and gradient must stay finite.
    zs = _randn(gen, 3, 4, scale=1e4).requires_grad_(True)
    zt = _randn(gen, 3, 4, scale=1e4).requires_grad_(True)
    loss = kd_loss(zs, zt, temperature=1.0)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(zs.grad).all() and torch.isfinite(zt.grad).all()


def test_kd_loss_errors() -> None:
    z = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="temperature"):
        kd_loss(z, z, temperature=0.0)
    with pytest.raises(ValueError, match="same shape"):
        kd_loss(z, torch.zeros(2, 4))
    with pytest.raises(ValueError, match="2-D"):
        kd_loss(torch.zeros(2), torch.zeros(2))


# --------------------------------------------------------------------------- dkd_loss
def _dkd_direct(zs, zt, y, alpha, beta, t):
    """DKD from probabilities, the textbook way (float64, moderate logits)."""
    total = 0.0
    for zs_i, zt_i, y_i in zip(zs, zt, y, strict=True):
        ps, pt = F.softmax(zs_i / t, dim=0), F.softmax(zt_i / t, dim=0)
        bs = torch.stack([ps[y_i], 1 - ps[y_i]])
        bt = torch.stack([pt[y_i], 1 - pt[y_i]])
        keep = torch.arange(len(ps)) != y_i
        hs, ht = ps[keep] / ps[keep].sum(), pt[keep] / pt[keep].sum()
        tckd = (bt * (bt / bs).log()).sum()
        nckd = (ht * (ht / hs).log()).sum()
        total = total + alpha * tckd + beta * nckd
    return total / len(y) * t**2


@pytest.mark.parametrize(
    ("alpha", "beta", "t"), [(1.0, 8.0, 4.0), (0.5, 2.0, 1.0), (1.0, 0.0, 2.0)]
)
def test_dkd_loss_matches_direct_formula(gen, alpha, beta, t) -> None:
    zs, zt = _randn(gen, 5, 6, scale=2.0), _randn(gen, 5, 6, scale=2.0)
    y = _labels(gen, 5, 6)
    got = dkd_loss(zs, zt, y, alpha=alpha, beta=beta, temperature=t)
    assert got.item() == pytest.approx(_dkd_direct(zs, zt, y, alpha, beta, t).item(), rel=1e-10)


def test_dkd_decomposes_kd(gen: torch.Generator) -> None:
    # DKD identity (Zhao et al.): KL(p_t || p_s) = TCKD + (1 - p_t,y) * NCKD, per sample.
    zs, zt, y = _randn(gen, 1, 5), _randn(gen, 1, 5), torch.tensor([3])
    t = 2.0
    pty = F.softmax(zt / t, dim=-1)[0, 3]
    tckd = dkd_loss(zs, zt, y, alpha=1.0, beta=0.0, temperature=t)
    nckd = dkd_loss(zs, zt, y, alpha=0.0, beta=1.0, temperature=t)
    assert (tckd + (1 - pty) * nckd).item() == pytest.approx(kd_loss(zs, zt, t).item(), rel=1e-10)


def test_dkd_two_classes_has_no_nontarget_term(gen: torch.Generator) -> None:
    zs, zt, y = _randn(gen, 4, 2), _randn(gen, 4, 2), _labels(gen, 4, 2)
    assert dkd_loss(zs, zt, y, alpha=0.0, beta=8.0).item() == pytest.approx(0.0, abs=1e-12)


def test_dkd_extreme_logits_finite_gradient(gen: torch.Generator) -> None:
    zs = _randn(gen, 4, 5, scale=1e3).requires_grad_(True)
    zt = _randn(gen, 4, 5, scale=1e3)
    loss = dkd_loss(zs, zt, _labels(gen, 4, 5), temperature=1.0)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(zs.grad).all()


def test_dkd_errors() -> None:
    z = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="target"):
        dkd_loss(z, z, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="target"):
        dkd_loss(z, z, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="entries"):
        dkd_loss(z, z, torch.tensor([0]))
    with pytest.raises(ValueError, match="beta"):
        dkd_loss(z, z, torch.tensor([0, 1]), beta=-1.0)
    with pytest.raises(ValueError, match="2 classes"):
        dkd_loss(torch.zeros(2, 1), torch.zeros(2, 1), torch.tensor([0, 0]))


# --------------------------------------------------------------------------- ofa_loss
def test_ofa_eps_one_is_soft_cross_entropy(gen: torch.Generator) -> None:
    # (p_t + m)^1 - m = p_t: the loss is -sum p_t log p_s, the soft-target cross-entropy.
    zs, zt, y = _randn(gen, 6, 4), _randn(gen, 6, 4), _labels(gen, 6, 4)
    ref = F.cross_entropy(zs, F.softmax(zt, dim=-1))
    assert ofa_loss(zs, zt, y, eps=1.0).item() == pytest.approx(ref.item(), rel=1e-10)
    # ... which is the KL plus the teacher entropy.
    pt = F.softmax(zt, dim=-1)
    entropy = -(pt * pt.log()).sum(-1).mean()
    assert ofa_loss(zs, zt, y).item() == pytest.approx((kd_loss(zs, zt, 1.0) + entropy).item())


def test_ofa_eps_two_expansion(gen: torch.Generator) -> None:
    # (p_t + m)^2 - m = p_t^2 + 2 p_t m (m^2 = m): expanded by hand.
    zs, zt, y = _randn(gen, 5, 3), _randn(gen, 5, 3), _labels(gen, 5, 3)
    t = 2.0
    pt, log_ps = F.softmax(zt / t, dim=-1), F.log_softmax(zs / t, dim=-1)
    m = F.one_hot(y, 3).double()
    ref = -((pt**2 + 2 * pt * m) * log_ps).sum(-1).mean()
    got = ofa_loss(zs, zt, y, eps=2.0, temperature=t)
    assert got.item() == pytest.approx(ref.item(), rel=1e-10)


def test_ofa_gradient_and_errors(gen: torch.Generator) -> None:
    zs = _randn(gen, 3, 4, scale=1e3).requires_grad_(True)
    loss = ofa_loss(zs, _randn(gen, 3, 4), _labels(gen, 3, 4), eps=1.5)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(zs.grad).all()
    with pytest.raises(ValueError, match="eps"):
        ofa_loss(zs, zs, torch.tensor([0, 1, 2]), eps=0.0)


# --------------------------------------------------------------------------- fitnet_loss
def test_fitnet_is_mse_and_errors(gen: torch.Generator) -> None:
    a = _randn(gen, 2, 3, 4, 4).requires_grad_(True)
    b = _randn(gen, 2, 3, 4, 4)
    loss = fitnet_loss(a, b)
    assert loss.item() == pytest.approx(F.mse_loss(a, b).item())
    loss.backward()
    assert torch.isfinite(a.grad).all()
    with pytest.raises(ValueError, match="same shape"):
        fitnet_loss(a, b[:, :2])
