"""Tests for the TimeDistill losses (skdistill.losses.timedistill)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from skdistill.losses import TimeDistillLoss, multiperiod_kl, multiscale_mse


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def _randn(gen: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=torch.float64) * scale


# --------------------------------------------------------------------------- multiscale_mse
def test_multiscale_mse_hand_computed_ramp() -> None:
    # x = 1..8 against 0; pyramid by hand:
    # m0 [1..8]                 -> mean sq 204/8 = 25.5
    # m1 [1.5, 3.5, 5.5, 7.5]   -> 101/4 = 25.25
    # m2 [2.5, 6.5]             -> 48.5/2 = 24.25
    # m3 [4.5]                  -> 20.25
    x = torch.arange(1.0, 9.0, dtype=torch.float64).reshape(1, 8, 1)
    got = multiscale_mse(x, torch.zeros_like(x), n_scales=3, dim=1)
    assert got.item() == pytest.approx((25.5 + 25.25 + 24.25 + 20.25) / 4)


def test_multiscale_mse_hand_computed_both_nonzero() -> None:
    # s = [2, 0, 4, 4], t = [0, 0, 0, 2]
    # m0: diff [2, 0, 4, 2] -> 24/4 = 6
    # m1: P(s) = [1, 4], P(t) = [0, 1] -> diff [1, 3] -> 10/2 = 5
    # m2: P^2(s) = [2.5], P^2(t) = [0.5] -> 4
    s = torch.tensor([[2.0, 0.0, 4.0, 4.0]], dtype=torch.float64)
    t = torch.tensor([[0.0, 0.0, 0.0, 2.0]], dtype=torch.float64)
    assert multiscale_mse(s, t, n_scales=0).item() == pytest.approx(6.0)
    assert multiscale_mse(s, t, n_scales=1).item() == pytest.approx((6 + 5) / 2)
    assert multiscale_mse(s, t, n_scales=2).item() == pytest.approx((6 + 5 + 4) / 3)


def test_multiscale_mse_floor_drops_odd_tail() -> None:
    # x = 1..5 against 0, n_scales=2:
    # m0 [1..5] -> 55/5 = 11; m1 [1.5, 3.5] (5 dropped) -> 7.25; m2 [2.5] -> 6.25
    x = torch.arange(1.0, 6.0, dtype=torch.float64).reshape(1, 5)
    got = multiscale_mse(x, torch.zeros_like(x), n_scales=2, dim=-1)
    assert got.item() == pytest.approx((11 + 7.25 + 6.25) / 3)


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 3),
    length=st.integers(8, 40),
    channels=st.integers(1, 3),
    n_scales=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_multiscale_mse_matches_avg_pool1d(
    batch: int, length: int, channels: int, n_scales: int, seed: int
) -> None:
    # Independent reference: pool both signals separately with F.avg_pool1d on (B, C, L).
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(batch, length, channels, generator=g, dtype=torch.float64)
    t = torch.randn(batch, length, channels, generator=g, dtype=torch.float64)
    ps, pt = s.transpose(1, 2), t.transpose(1, 2)
    losses = [F.mse_loss(ps, pt)]
    for _ in range(n_scales):
        ps, pt = F.avg_pool1d(ps, 2, 2), F.avg_pool1d(pt, 2, 2)
        losses.append(F.mse_loss(ps, pt))
    expected = torch.stack(losses).mean()
    got = multiscale_mse(s, t, n_scales=n_scales, dim=1)
    torch.testing.assert_close(got, expected)


def test_multiscale_mse_dim_handling(gen: torch.Generator) -> None:
    s, t = _randn(gen, 2, 16, 3), _randn(gen, 2, 16, 3)
    ref = multiscale_mse(s, t, dim=1)
    torch.testing.assert_close(multiscale_mse(s, t, dim=-2), ref)
    torch.testing.assert_close(multiscale_mse(s.transpose(1, 2), t.transpose(1, 2), dim=-1), ref)
    # Four dims, signal axis in the middle.
    s4, t4 = s.unsqueeze(0), t.unsqueeze(0)
    torch.testing.assert_close(multiscale_mse(s4, t4, dim=2), ref)


def test_multiscale_mse_gradient_and_zero(gen: torch.Generator) -> None:
    s = _randn(gen, 2, 16, 3).requires_grad_(True)
    t = _randn(gen, 2, 16, 3)
    multiscale_mse(s, t).backward()
    assert s.grad is not None and torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0
    assert multiscale_mse(t, t).item() == 0.0


@pytest.mark.parametrize("length", [8, 13, 96, 512])
@pytest.mark.parametrize("dim", [1, -1])
def test_multiscale_mse_gradient_matches_autograd(
    gen: torch.Generator, length: int, dim: int
) -> None:
    # The hand-written backward against autograd through explicit average pooling.
    shape = (3, length, 5) if dim == 1 else (3, 5, length)
    s, t = _randn(gen, *shape).requires_grad_(True), _randn(gen, *shape).requires_grad_(True)

    def reference(a, b):
        a, b = a.movedim(dim, -1), b.movedim(dim, -1)
        terms = []
        terms = [F.mse_loss(a, b)]
        for _ in range(3):
            a, b = (F.avg_pool1d(x.flatten(0, -2)[:, None], 2)[:, 0] for x in (a, b))
            terms.append(F.mse_loss(a, b))
        return sum(terms) / 4

    got, ref = multiscale_mse(s, t, n_scales=3, dim=dim), reference(s, t)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=0)
    for g, r in zip(
        torch.autograd.grad(got, (s, t)), torch.autograd.grad(ref, (s, t)), strict=True
    ):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-15)
    small = (s[:1, :9, :3], t[:1, :9, :3]) if dim == 1 else (s[:1, :3, :9], t[:1, :3, :9])
    assert torch.autograd.gradcheck(lambda a, b: multiscale_mse(a, b, n_scales=3, dim=dim), small)


def test_multiscale_mse_errors() -> None:
    x = torch.zeros(2, 7, 3)
    with pytest.raises(ValueError, match=r"n_scales=3.*length 7"):
        multiscale_mse(x, x, n_scales=3)
    multiscale_mse(x, x, n_scales=2)  # 7 >= 4 is fine
    with pytest.raises(ValueError, match=r"\(2, 7, 3\).*\(2, 8, 3\)"):
        multiscale_mse(x, torch.zeros(2, 8, 3))
    with pytest.raises(ValueError, match="n_scales"):
        multiscale_mse(x, x, n_scales=-1)
    with pytest.raises(ValueError, match="n_scales"):
        multiscale_mse(x, x, n_scales=1.5)
    with pytest.raises(ValueError, match="dim"):
        multiscale_mse(x, x, dim=3)


# --------------------------------------------------------------------------- multiperiod_kl
def _numpy_multiperiod_kl(s: np.ndarray, t: np.ndarray, tau: float, axis: int) -> float:
    def q(x: np.ndarray) -> np.ndarray:
        amp = np.abs(np.fft.rfft(x, axis=axis))
        amp = np.delete(amp, 0, axis=axis) / tau
        e = np.exp(amp - amp.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    qs, qt = q(s), q(t)
    return float(np.mean(qt * np.log(qt) - qt * np.log(qs + 1e-8)))


# F.kl_div warns that reduction="mean" will change meaning; that "mean" is the reference here.
@pytest.mark.filterwarnings("ignore:reduction. .mean. divides:UserWarning")
@pytest.mark.parametrize("length", [16, 15, 2])
def test_multiperiod_kl_matches_numpy_and_kl_div(gen: torch.Generator, length: int) -> None:
    s, t = _randn(gen, 4, length, 3, scale=0.3), _randn(gen, 4, length, 3, scale=0.3)
    got = multiperiod_kl(s, t, temperature=0.5, dim=1)
    expected = _numpy_multiperiod_kl(s.numpy(), t.numpy(), 0.5, axis=1)
    assert got.item() == pytest.approx(expected, rel=1e-9, abs=1e-12)

    # The reference code's formulation (safe here: no target probability underflows).
    amp = lambda x: torch.fft.rfft(x, dim=1).abs()[:, 1:] / 0.5  # noqa: E731
    qs, qt = torch.softmax(amp(s), dim=1), torch.softmax(amp(t), dim=1)
    assert (qt > 0).all()
    ref = F.kl_div(torch.log(qs + 1e-8), qt, reduction="mean")
    torch.testing.assert_close(got, ref)


@pytest.mark.parametrize("length", [16, 15])
def test_multiperiod_kl_batchmean_is_mean_times_bins(gen: torch.Generator, length: int) -> None:
    s, t = _randn(gen, 4, length, 3), _randn(gen, 4, length, 3)
    n_bins = length // 2  # rfft gives length // 2 + 1 bins, DC dropped
    mean = multiperiod_kl(s, t, reduction="mean")
    batchmean = multiperiod_kl(s, t, reduction="batchmean")
    torch.testing.assert_close(batchmean, mean * n_bins)


def test_multiperiod_kl_self_is_zero_and_positive_otherwise(gen: torch.Generator) -> None:
    s, t = _randn(gen, 4, 16, 3), _randn(gen, 4, 16, 3)
    # Not exactly 0 because of the reference's +1e-8 inside the log.
    assert abs(multiperiod_kl(t, t).item()) < 1e-7
    assert multiperiod_kl(s, t).item() > 1e-4


def test_multiperiod_kl_target_with_exact_zeros_is_finite() -> None:
    # A strong single-frequency teacher with a sharp softmax: most target probabilities underflow
    # to exactly 0. The teacher also requires grad, as the regressed teacher feature does; there
    # F.kl_div(log(q_s + 1e-8), q_t) (and xlogy(q_t, q_t)) give NaN teacher gradients.
    g = torch.Generator().manual_seed(1)
    n = 32
    time = torch.arange(n, dtype=torch.float32)
    teacher = (50 * torch.sin(2 * math.pi * 3 * time / n)).repeat(4, 2, 1).transpose(1, 2)
    teacher = (teacher + torch.randn(4, n, 2, generator=g)).requires_grad_(True)
    student = torch.randn(4, n, 2, generator=g).requires_grad_(True)
    tau = 0.01

    q_t = torch.softmax(torch.fft.rfft(teacher, dim=1).abs()[:, 1:] / tau, dim=1)
    assert (q_t == 0).any(), "test setup: the target must contain exact zeros"

    for reduction in ("mean", "batchmean"):
        student.grad = teacher.grad = None
        loss = multiperiod_kl(student, teacher, temperature=tau, reduction=reduction)
        assert torch.isfinite(loss)
        loss.backward()
        # Saturated: the softmaxes are one-hot far beyond e^-60, where the KL's eps has
        # flattened the gradients (to 0 here; see losses/_fused.py). No NaN is what matters.
        assert torch.isfinite(student.grad).all() and torch.isfinite(teacher.grad).all()


def _autograd_multiperiod_kl(s, t, tau, batchmean):
    """The term composed of autograd's operations, as the reference code writes it."""
    log_q = lambda x: torch.log_softmax(torch.fft.rfft(x, dim=-1).abs()[..., 1:] / tau, -1)  # noqa: E731
    log_q_t = log_q(t)
    k = log_q_t.exp() * log_q_t - log_q_t.exp() * torch.log(log_q(s).exp() + 1e-8)
    return k.sum(-1).mean() if batchmean else k.mean()


@pytest.mark.parametrize("length", [2, 9, 16, 96, 512])
@pytest.mark.parametrize("reduction", ["mean", "batchmean"])
def test_multiperiod_kl_gradient_matches_autograd(
    gen: torch.Generator, length: int, reduction: str
) -> None:
    # The hand-written backward (one inverse FFT) against autograd through rfft and abs, with
    # the amplitudes of real features (std 3: sharp softmaxes, tiny probabilities).
    s = _randn(gen, 4, 3, length, scale=3.0).requires_grad_(True)
    t = _randn(gen, 4, 3, length, scale=3.0).requires_grad_(True)
    batchmean = reduction == "batchmean"
    ref = _autograd_multiperiod_kl(s, t, 0.5, batchmean)
    r_s, r_t = torch.autograd.grad(ref, (s, t))
    got = multiperiod_kl(s, t, dim=-1, reduction=reduction)
    g_s, g_t = torch.autograd.grad(got, (s, t))
    torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-12)
    for g, r in ((g_s, r_s), (g_t, r_t)):
        torch.testing.assert_close(g, r, rtol=1e-7, atol=1e-9 * r.abs().max().item() + 1e-25)

    # In float32, as training runs it: as close to the float64 truth as autograd's float32.
    s32, t32 = (x.detach().float().requires_grad_(True) for x in (s, t))
    new = torch.autograd.grad(multiperiod_kl(s32, t32, dim=-1, reduction=reduction), (s32, t32))
    old = torch.autograd.grad(_autograd_multiperiod_kl(s32, t32, 0.5, batchmean), (s32, t32))
    for n32, o32, r in zip(new, old, (r_s, r_t), strict=True):
        err_new = (n32.double() - r).abs().max().item()
        err_old = (o32.double() - r).abs().max().item()
        assert err_new <= 3 * err_old + 1e-7 * r.abs().max().item() + 1e-25


def test_multiperiod_kl_gradcheck_and_teacher_without_grad(gen: torch.Generator) -> None:
    s = _randn(gen, 2, 3, 15).requires_grad_(True)
    t = _randn(gen, 2, 3, 15).requires_grad_(True)
    for red in ("mean", "batchmean"):
        fn = lambda a, b, red=red: multiperiod_kl(a, b, dim=-1, reduction=red)  # noqa: E731
        assert torch.autograd.gradcheck(fn, (s, t))
    # Only the student needs a gradient (a cached teacher prediction): the same gradient.
    (g_both,) = torch.autograd.grad(multiperiod_kl(s, t, dim=-1), (s,))
    (g_one,) = torch.autograd.grad(multiperiod_kl(s, t.detach(), dim=-1), (s,))
    torch.testing.assert_close(g_one, g_both, rtol=0, atol=0)


def test_multiperiod_kl_gradient_flows_to_student(gen: torch.Generator) -> None:
    s = _randn(gen, 2, 16, 3).requires_grad_(True)
    t = _randn(gen, 2, 16, 3)
    multiperiod_kl(s, t).backward()
    assert s.grad is not None and torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0


def test_multiperiod_kl_dim_handling(gen: torch.Generator) -> None:
    s, t = _randn(gen, 2, 16, 3), _randn(gen, 2, 16, 3)
    for reduction in ("mean", "batchmean"):
        ref = multiperiod_kl(s, t, dim=1, reduction=reduction)
        st_, tt = s.transpose(1, 2), t.transpose(1, 2)
        torch.testing.assert_close(multiperiod_kl(st_, tt, dim=-1, reduction=reduction), ref)
        torch.testing.assert_close(multiperiod_kl(s, t, dim=-2, reduction=reduction), ref)
        s4, t4 = s.unsqueeze(-1), t.unsqueeze(-1)
        torch.testing.assert_close(multiperiod_kl(s4, t4, dim=1, reduction=reduction), ref)


def test_multiperiod_kl_half_precision_input(gen: torch.Generator) -> None:
    s, t = _randn(gen, 2, 12, 3).bfloat16(), _randn(gen, 2, 12, 3).bfloat16()
    loss = multiperiod_kl(s, t)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)


def test_multiperiod_kl_errors() -> None:
    x = torch.zeros(2, 8, 3)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature"):
            multiperiod_kl(x, x, temperature=bad)
    with pytest.raises(ValueError, match="reduction"):
        multiperiod_kl(x, x, reduction="sum")
    with pytest.raises(ValueError, match=r"\(2, 8, 3\).*\(2, 8, 4\)"):
        multiperiod_kl(x, torch.zeros(2, 8, 4))
    y = torch.zeros(2, 1, 3)
    with pytest.raises(ValueError, match="length 1"):
        multiperiod_kl(y, y)
    with pytest.raises(ValueError, match="dim"):
        multiperiod_kl(x, x, dim=-4)


# --------------------------------------------------------------------------- TimeDistillLoss
@pytest.fixture
def batch(gen: torch.Generator) -> dict[str, torch.Tensor]:
    return {
        "y_pred": _randn(gen, 4, 16, 3).requires_grad_(True),
        "y_true": _randn(gen, 4, 16, 3),
        "teacher_pred": _randn(gen, 4, 16, 3),
        "student_feat": _randn(gen, 4, 3, 32).requires_grad_(True),
        "teacher_feat": _randn(gen, 4, 3, 32).requires_grad_(True),
    }


def test_timedistill_alpha_beta_zero_is_exactly_mse(batch: dict[str, torch.Tensor]) -> None:
    out = TimeDistillLoss(alpha=0.0, beta=0.0)(**batch)
    assert set(out) == {"loss", "sup"}
    assert torch.equal(out["loss"], F.mse_loss(batch["y_pred"], batch["y_true"]))
    # Teacher inputs are not needed then.
    out2 = TimeDistillLoss(alpha=0, beta=0)(batch["y_pred"], batch["y_true"])
    assert torch.equal(out2["loss"], out["loss"])


def test_timedistill_full_objective(batch: dict[str, torch.Tensor]) -> None:
    alpha, beta, tau = 0.5, 2.0, 0.5
    out = TimeDistillLoss(alpha=alpha, beta=beta, temperature=tau)(**batch)
    assert set(out) == {"loss", "sup", "pred_scale", "pred_period", "feat_scale", "feat_period"}
    b = batch
    expected = (
        F.mse_loss(b["y_pred"], b["y_true"])
        + alpha
        * (
            multiperiod_kl(b["y_pred"], b["teacher_pred"], temperature=tau, dim=1)
            + multiscale_mse(b["y_pred"], b["teacher_pred"], dim=1)
        )
        + beta
        * (
            multiperiod_kl(b["student_feat"], b["teacher_feat"], temperature=tau, dim=-1)
            + multiscale_mse(b["student_feat"], b["teacher_feat"], dim=-1)
        )
    )
    torch.testing.assert_close(out["loss"], expected)
    torch.testing.assert_close(
        out["feat_scale"], multiscale_mse(b["student_feat"], b["teacher_feat"], dim=2)
    )
    # Gradients reach the student's prediction and feature and the regressed teacher feature.
    out["loss"].backward()
    for name in ("y_pred", "student_feat", "teacher_feat"):
        grad = batch[name].grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "removed"),
    [
        ({"use_scale": False}, {"pred_scale", "feat_scale"}),
        ({"use_period": False}, {"pred_period", "feat_period"}),
        ({"use_supervised": False}, {"sup"}),
        ({"alpha": 0.0}, {"pred_scale", "pred_period"}),
        ({"beta": 0.0}, {"feat_scale", "feat_period"}),
    ],
)
def test_timedistill_switches_remove_terms(
    batch: dict[str, torch.Tensor], kwargs: dict, removed: set[str]
) -> None:
    alpha, beta = 0.7, 1.3
    full = TimeDistillLoss(alpha=alpha, beta=beta)(**batch)
    params = {"alpha": alpha, "beta": beta, **kwargs}
    out = TimeDistillLoss(**params)(**batch)
    assert set(out) == set(full) - removed
    weight = {"sup": 1.0, "pred": alpha, "feat": beta}
    dropped = sum(weight[k.split("_")[0]] * full[k] for k in removed)
    torch.testing.assert_close(out["loss"], full["loss"] - dropped)
    assert not torch.isclose(out["loss"], full["loss"])


def test_timedistill_unneeded_inputs_may_be_none(batch: dict[str, torch.Tensor]) -> None:
    b = batch
    out = TimeDistillLoss(use_supervised=False, beta=0.0)(b["y_pred"], None, b["teacher_pred"])
    assert set(out) == {"loss", "pred_scale", "pred_period"}
    out = TimeDistillLoss(alpha=0.0)(
        b["y_pred"], b["y_true"], student_feat=b["student_feat"], teacher_feat=b["teacher_feat"]
    )
    assert set(out) == {"loss", "sup", "feat_scale", "feat_period"}


def test_timedistill_missing_inputs_raise(batch: dict[str, torch.Tensor]) -> None:
    b = batch
    with pytest.raises(ValueError, match="teacher_pred"):
        TimeDistillLoss(beta=0.0)(b["y_pred"], b["y_true"])
    with pytest.raises(ValueError, match="student_feat"):
        TimeDistillLoss(alpha=0.0)(b["y_pred"], b["y_true"], student_feat=b["student_feat"])
    with pytest.raises(ValueError, match="y_true"):
        TimeDistillLoss(alpha=0.0, beta=0.0)(b["y_pred"], None)
    with pytest.raises(ValueError, match=r"y_pred and y_true.*\(4, 16, 3\).*\(4, 16, 2\)"):
        TimeDistillLoss(alpha=0.0, beta=0.0)(b["y_pred"], b["y_true"][..., :2])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"alpha": -1.0}, "alpha"),
        ({"alpha": float("inf")}, "alpha"),
        ({"beta": float("nan")}, "beta"),
        ({"beta": "1"}, "beta"),
        ({"temperature": 0.0}, "temperature"),
        ({"n_scales": -1}, "n_scales"),
        ({"reduction": "sum"}, "reduction"),
        ({"alpha": 0.0, "beta": 0.0, "use_supervised": False}, "use_supervised"),
        ({"use_scale": False, "use_period": False, "use_supervised": False}, "use_supervised"),
    ],
)
def test_timedistill_invalid_params(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        TimeDistillLoss(**kwargs)


def test_timedistill_nan_raises_floating_point_error(batch: dict[str, torch.Tensor]) -> None:
    b = dict(batch)
    b["teacher_feat"] = b["teacher_feat"].detach().clone()
    b["teacher_feat"][0, 0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="feat_scale") as info:
        TimeDistillLoss()(**b)
    assert "pred_" not in str(info.value) and "sup=" not in str(info.value)

    b = dict(batch)
    b["y_true"] = torch.full_like(b["y_true"], float("inf"))
    with pytest.raises(FloatingPointError, match="sup="):
        TimeDistillLoss(alpha=0.0, beta=0.0)(**b)

    # The check can be turned off.
    out = TimeDistillLoss(alpha=0.0, beta=0.0, check_finite=False)(**b)
    assert not torch.isfinite(out["loss"])


def test_timedistill_is_a_parameterless_module() -> None:
    loss = TimeDistillLoss(alpha=2.0, beta=0.5)
    assert isinstance(loss, torch.nn.Module)
    assert list(loss.parameters()) == []
    assert "alpha=2.0" in repr(loss)
