"""Tests for the SFKD building blocks (skdistill.losses.sfkd)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import pywt
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from skdistill.losses import (
    DS2S,
    SFKDLoss,
    gffl,
    inverse_wavelet_subbands,
    kd_loss,
    wavelet_loss,
    wavelet_subbands,
)


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def _randn(gen: torch.Generator, *shape: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=dtype)


def _pywt_dec2(x: torch.Tensor, wavelet: str, levels: int) -> list:
    with warnings.catch_warnings():  # pywt warns when a level is "too high" for the filter
        warnings.simplefilter("ignore")
        return pywt.wavedec2(x.numpy(), wavelet, mode="periodization", level=levels, axes=(-2, -1))


def _max_err(ours: list, ref: list) -> float:
    err = float(np.abs(ours[0].numpy() - ref[0]).max())
    for mine, theirs in zip(ours[1:], ref[1:], strict=True):
        assert len(mine) == 3
        for a, b in zip(mine, theirs, strict=True):
            assert tuple(a.shape) == b.shape
            err = max(err, float(np.abs(a.numpy() - b).max()))
    return err


# --------------------------------------------------------------------------- wavelet_subbands
@pytest.mark.parametrize("shape", [(2, 3, 16, 16), (2, 3, 8, 16)])
@pytest.mark.parametrize("wavelet", ["haar", "db2"])
@pytest.mark.parametrize("levels", [1, 2, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_wavelet_subbands_match_pywt(gen, shape, wavelet, levels, dtype) -> None:
    x = _randn(gen, *shape, dtype=dtype)
    ours = wavelet_subbands(x, wavelet=wavelet, levels=levels)
    assert len(ours) == levels + 1
    assert _max_err(ours, _pywt_dec2(x, wavelet, levels)) < 1e-5
    rec = inverse_wavelet_subbands(ours, wavelet=wavelet)
    assert rec.shape == x.shape and rec.dtype == dtype
    assert (rec - x).abs().max().item() < 1e-5


@pytest.mark.parametrize("wavelet", ["sym4", "coif1", "bior2.2"])
def test_wavelet_subbands_other_wavelets(gen, wavelet) -> None:
    # Longer filters (wrap more than once at the coarse level) and a biorthogonal pair.
    x = _randn(gen, 1, 2, 16, 8)
    ours = wavelet_subbands(x, wavelet=wavelet, levels=2)
    assert _max_err(ours, _pywt_dec2(x, wavelet, 2)) < 1e-10
    assert torch.allclose(inverse_wavelet_subbands(ours, wavelet=wavelet), x, atol=1e-10)


@pytest.mark.parametrize("wavelet", ["haar", "db2"])  # Haar takes a path of its own
def test_inverse_of_pywt_coefficients(gen, wavelet) -> None:
    x = _randn(gen, 2, 1, 8, 8)
    ref = _pywt_dec2(x, wavelet, 2)
    coeffs = [torch.from_numpy(ref[0])] + [tuple(map(torch.from_numpy, d)) for d in ref[1:]]
    assert torch.allclose(inverse_wavelet_subbands(coeffs, wavelet=wavelet), x, atol=1e-10)


def test_detail_order_is_pywt_h_v_d() -> None:
    # Rows alternate (-1)^i: a change along axis -2 only -> horizontal detail cH only.
    rows = torch.tensor([1.0, -1.0]).repeat(4)[:, None].expand(8, 8).reshape(1, 1, 8, 8)
    _, (h, v, d) = wavelet_subbands(rows, levels=1)
    assert h.abs().min() > 1 and v.abs().max() < 1e-6 and d.abs().max() < 1e-6
    _, (h, v, d) = wavelet_subbands(rows.transpose(-1, -2), levels=1)
    assert v.abs().min() > 1 and h.abs().max() < 1e-6 and d.abs().max() < 1e-6
    _, (ph, pv, pd) = pywt.dwt2(rows.numpy(), "haar", mode="periodization")
    assert np.abs(ph).min() > 1 and np.abs(pv).max() < 1e-6  # the same convention in pywt


@pytest.mark.parametrize("wavelet", ["haar", "db2"])
def test_orthogonal_dwt_preserves_energy_and_gradient(gen, wavelet) -> None:
    # Periodized orthogonal DWT is an orthogonal map: sum of squared coefficients = ||x||^2,
    # so the gradient of that sum is 2x.
    x = _randn(gen, 2, 2, 8, 8).requires_grad_(True)
    bands = wavelet_subbands(x, wavelet=wavelet, levels=3)
    energy = bands[0].square().sum() + sum(b.square().sum() for lvl in bands[1:] for b in lvl)
    energy.backward()
    assert energy.item() == pytest.approx(x.square().sum().item(), rel=1e-10)
    assert torch.allclose(x.grad, 2 * x.detach())


@pytest.mark.parametrize("wavelet", ["haar", "db2"])
@pytest.mark.parametrize("levels", [1, 3])
def test_wavelet_subbands_1d_path(gen, wavelet, levels) -> None:
    x = _randn(gen, 3, 1, 16)
    ours = wavelet_subbands(x, wavelet=wavelet, levels=levels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "level too high" for db2 at level 3
        ref = pywt.wavedec(x.numpy(), wavelet, mode="periodization", level=levels, axis=-1)
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref, strict=True):
        assert isinstance(a, torch.Tensor) and np.allclose(a.numpy(), b, atol=1e-10)
    assert torch.allclose(inverse_wavelet_subbands(ours, wavelet=wavelet), x, atol=1e-10)


@settings(max_examples=15, deadline=None)
@given(
    h_exp=st.integers(1, 4),
    w_exp=st.integers(1, 4),
    levels=st.integers(1, 4),
    wavelet=st.sampled_from(["haar", "db2", "db3"]),
)
def test_reconstruction_property(h_exp, w_exp, levels, wavelet) -> None:
    levels = min(levels, h_exp, w_exp)
    x = torch.randn(1, 2, 2**h_exp, 2**w_exp, dtype=torch.float64)
    rec = inverse_wavelet_subbands(
        wavelet_subbands(x, wavelet=wavelet, levels=levels), wavelet=wavelet
    )
    assert torch.allclose(rec, x, atol=1e-10)


def test_wavelet_subbands_errors() -> None:
    with pytest.raises(ValueError, match="levels=3.*12x12.*levels <= 2"):
        wavelet_subbands(torch.zeros(1, 1, 12, 12), levels=3)
    with pytest.raises(ValueError, match="grid 6x7"):
        wavelet_subbands(torch.zeros(1, 1, 6, 7), levels=1)
    with pytest.raises(ValueError, match="levels"):
        wavelet_subbands(torch.zeros(1, 1, 8, 8), levels=0)
    with pytest.raises(ValueError, match="'haar'"):
        wavelet_subbands(torch.zeros(1, 1, 8, 8), wavelet="nope")
    with pytest.raises(ValueError, match="discrete"):
        wavelet_subbands(torch.zeros(1, 1, 8, 8), wavelet="morl")  # continuous wavelet
    with pytest.raises(ValueError, match="floating"):
        wavelet_subbands(torch.zeros(1, 1, 8, 8, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        wavelet_subbands(torch.zeros(8, 8))


def test_inverse_wavelet_subbands_errors() -> None:
    bands = wavelet_subbands(torch.zeros(1, 1, 8, 8), levels=2)
    with pytest.raises(ValueError, match="at least one"):
        inverse_wavelet_subbands(bands[:1])
    with pytest.raises(ValueError, match=r"coeffs\[1\]"):
        inverse_wavelet_subbands([bands[0], bands[1][:2], bands[2]])
    with pytest.raises(ValueError, match=r"coeffs\[2\]"):
        inverse_wavelet_subbands([bands[0], bands[1], bands[1]])


# --------------------------------------------------------------------------- gffl
@pytest.mark.parametrize("mode", ["amplitude", "complex"])
@pytest.mark.parametrize("highpass", [False, True])
def test_gffl_zero_for_identical(gen, mode, highpass) -> None:
    x = _randn(gen, 2, 3, 8, 8)
    assert gffl(x, x, mode=mode, highpass=highpass).item() == 0.0


def test_gffl_amplitude_is_shift_invariant(gen) -> None:
    x = _randn(gen, 2, 3, 8, 16)
    shifted = torch.roll(x, shifts=(3, 5), dims=(-2, -1))
    assert gffl(shifted, x, mode="amplitude").item() < 1e-12
    assert gffl(shifted, x, mode="complex").item() > 0.1


def test_gffl_constant_offset_lives_at_dc(gen) -> None:
    x = _randn(gen, 2, 3, 8, 8)
    low = gffl(x + 2.0, x).item()
    high = gffl(x + 2.0, x, highpass=True).item()
    assert low > 0.01
    assert high == pytest.approx(0.0, abs=1e-10)  # 1 - G vanishes at frequency 0
    assert low > high


def test_gffl_hand_computed_1x2() -> None:
    # fftfreq(2) = [0, -1/2] -> G = [1, exp(-0.25 / (2 * 0.0625))] = [1, e^-2].
    # s = [2, 1]: X_s = [3, 1] / sqrt 2; t = [1, 2]: X_t = [3, -1] / sqrt 2.
    s = torch.tensor([[[[2.0, 1.0]]]], dtype=torch.float64)
    t = torch.tensor([[[[1.0, 2.0]]]], dtype=torch.float64)
    g1 = math.exp(-2.0)
    assert gffl(s, t, mode="amplitude").item() == pytest.approx(0.0, abs=1e-12)
    assert gffl(s, t, mode="complex").item() == pytest.approx(2 * g1 / (1 + g1))
    assert gffl(s, t, mode="complex", highpass=True).item() == pytest.approx(2.0)
    # Against zero: amplitudes 3/sqrt2 and 1/sqrt2 (the eps in |X| shifts this by ~1e-6).
    zero = torch.zeros_like(s)
    want = (4.5 + 0.5 * g1) / (1 + g1)
    assert gffl(s, zero).item() == pytest.approx(want, abs=1e-5)


def test_gffl_hand_computed_2x2_weights() -> None:
    # x = [[1, 2], [3, 4]]: orthonormal 2x2 DFT = [[5, -1], [-2, 0]];
    # G = [[1, e^-2], [e^-2, e^-4]] with sigma = 0.25.
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=torch.float64)
    g1, g2 = math.exp(-2.0), math.exp(-4.0)
    want = (25 + 1 * g1 + 4 * g1 + 0 * g2) / (1 + 2 * g1 + g2)
    assert gffl(x, torch.zeros_like(x), mode="complex").item() == pytest.approx(want)
    # sigma = 0.5 -> G(1/2) = e^-0.5, G(1/2, 1/2) = e^-1.
    h1, h2 = math.exp(-0.5), math.exp(-1.0)
    want = (25 + 5 * h1) / (1 + 2 * h1 + h2)
    assert gffl(x, torch.zeros_like(x), mode="complex", sigma=0.5).item() == pytest.approx(want)


def _gffl_full_spectrum(s, t, sigma, mode, highpass):
    """The docstring's formula, term by term over the whole fftn grid."""
    dims = tuple(range(2, s.ndim))
    freqs = [torch.fft.fftfreq(n, dtype=s.dtype) for n in s.shape[2:]]
    r2 = sum(
        f.reshape([-1 if i == k else 1 for i in range(len(freqs))]) ** 2
        for k, f in enumerate(freqs)
    )
    g = torch.exp(-r2 / (2 * sigma**2))
    g = 1 - g if highpass else g
    xs, xt = (torch.fft.fftn(m, dim=dims, norm="ortho") for m in (s, t))
    sq = (xs.abs() - xt.abs()) ** 2 if mode == "amplitude" else (xs - xt).abs() ** 2
    return ((sq * g).sum(dim=dims) / g.sum()).mean()


@pytest.mark.parametrize("shape", [(5, 8), (6, 7), (3, 1), (2, 2), (9,), (8,), (1, 4)])
@pytest.mark.parametrize("mode", ["amplitude", "complex"])
@pytest.mark.parametrize("highpass", [False, True])
def test_gffl_half_spectrum_equals_full_spectrum(gen, shape, mode, highpass) -> None:
    # gffl sums over rfftn's half spectrum with mirrored bins counted twice: it must equal the
    # sum over every bin of fftn, for odd and even sides (the Nyquist bin has no mirror).
    if highpass and math.prod(shape) == 1:
        return
    s, t = _randn(gen, 2, 3, *shape), _randn(gen, 2, 3, *shape)
    s.requires_grad_(True)
    got = gffl(s, t, sigma=0.3, mode=mode, highpass=highpass)
    (grad,) = torch.autograd.grad(got, s)
    s2 = s.detach().clone().requires_grad_(True)
    want = _gffl_full_spectrum(s2, t, 0.3, mode, highpass)
    (want_grad,) = torch.autograd.grad(want, s2)
    assert got.item() == pytest.approx(want.item(), rel=1e-10, abs=1e-10)
    torch.testing.assert_close(grad, want_grad, rtol=1e-8, atol=1e-10)


def test_gffl_1d_equals_2d_with_unit_height(gen) -> None:
    a, b = _randn(gen, 2, 3, 16), _randn(gen, 2, 3, 16)
    for mode in ("amplitude", "complex"):
        assert gffl(a, b, mode=mode).item() == pytest.approx(
            gffl(a.unsqueeze(2), b.unsqueeze(2), mode=mode).item()
        )


@pytest.mark.parametrize("mode", ["amplitude", "complex"])
def test_gffl_gradient_finite_at_exact_zeros(gen, mode) -> None:
    # ReLU-like map: many exact zeros in space, and exact zeros in the spectrum (Im of DC).
    s = torch.relu(_randn(gen, 2, 3, 8, 8)).requires_grad_(True)
    t = _randn(gen, 2, 3, 8, 8)
    gffl(s, t, mode=mode).backward()
    assert torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0
    # An all-zero student: |X_s| sits at the kink everywhere. The gradient stays finite; in
    # amplitude mode it is exactly 0 (the symmetric subgradient), in complex mode it is not.
    z = torch.zeros(2, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    gffl(z, t, mode=mode).backward()
    assert torch.isfinite(z.grad).all()
    assert (z.grad.abs().sum() > 0) == (mode == "complex")
    z2 = torch.zeros(2, 3, 8, 8, requires_grad=True)
    gffl(z2, torch.zeros(2, 3, 8, 8), mode=mode).backward()
    assert torch.isfinite(z2.grad).all()


def test_gffl_errors() -> None:
    x = torch.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError, match="sigma"):
        gffl(x, x, sigma=0.0)
    with pytest.raises(ValueError, match="mode"):
        gffl(x, x, mode="phase")
    with pytest.raises(ValueError, match="same shape"):
        gffl(x, torch.zeros(1, 1, 4, 8))
    with pytest.raises(ValueError, match="sum to 0"):
        gffl(torch.zeros(1, 1, 1, 1), torch.zeros(1, 1, 1, 1), highpass=True)


# --------------------------------------------------------------------------- wavelet_loss
def test_wavelet_loss_definition(gen) -> None:
    s = wavelet_subbands(_randn(gen, 2, 3, 8, 8), levels=2)
    t = wavelet_subbands(_randn(gen, 2, 3, 8, 8), levels=2)

    def band_mse(i: int) -> torch.Tensor:  # mean of the three detail MSEs
        return sum(F.mse_loss(a, b) for a, b in zip(s[i], t[i], strict=True)) / 3

    ll = F.mse_loss(s[0], t[0])
    assert wavelet_loss(s, t).item() == pytest.approx(((ll + band_mse(1) + band_mse(2)) / 3).item())
    weighted = wavelet_loss(s, t, weights=[2.0, 0.0])  # weights[0] = coarsest level (bands[1])
    assert weighted.item() == pytest.approx(((ll + 2 * band_mse(1)) / 3).item())
    assert wavelet_loss(s, s).item() == 0.0


def test_wavelet_loss_1d_and_errors(gen) -> None:
    s = wavelet_subbands(_randn(gen, 2, 1, 16), levels=2)
    t = wavelet_subbands(_randn(gen, 2, 1, 16), levels=2)
    want = sum(F.mse_loss(a, b) for a, b in zip(s, t, strict=True)) / 3
    assert wavelet_loss(s, t).item() == pytest.approx(want.item())
    with pytest.raises(ValueError, match="level"):
        wavelet_loss(s, t[:2])
    with pytest.raises(ValueError, match="one entry per level"):
        wavelet_loss(s, t, weights=[1.0])
    with pytest.raises(ValueError, match="weights"):
        wavelet_loss(s, t, weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="shapes differ"):
        wavelet_loss(s, [t[0][..., :2], *t[1:]])


# --------------------------------------------------------------------------- DS2S
def _n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("mode", ["full", "light", "none"])
@pytest.mark.parametrize(
    ("shape", "levels"), [((2, 3, 8, 16), 2), ((2, 3, 16, 16), 3), ((3, 2, 16), 2)]
)
def test_ds2s_shapes(gen, mode, shape, levels) -> None:
    x = _randn(gen, *shape, dtype=torch.float32)
    bands = wavelet_subbands(x, levels=levels)
    out = DS2S(shape[1], levels, shape[2:], mode=mode)(bands)
    assert len(out) == len(bands)
    assert out[0].shape == bands[0].shape
    for o, b in zip(out[1:], bands[1:], strict=True):
        if isinstance(b, tuple):
            assert isinstance(o, tuple) and [p.shape for p in o] == [p.shape for p in b]
        else:
            assert o.shape == b.shape


def test_ds2s_none_is_parameter_free_identity(gen) -> None:
    bands = wavelet_subbands(_randn(gen, 2, 3, 8, 8), levels=2)
    ds2s = DS2S(3, 2, (8, 8), mode="none")
    out = ds2s(bands)
    assert _n_params(ds2s) == 0
    assert out[0] is bands[0] and out[1] is bands[1] and out[2] is bands[2]


def test_ds2s_param_counts() -> None:
    counts = [_n_params(DS2S(4, 2, (16, 16), mode=m)) for m in ("none", "light", "full")]
    assert counts[0] == 0 < counts[1] < counts[2]


@pytest.mark.parametrize("train", [True, False])
def test_ds2s_at_init_light_identity_full_scaled(gen, train) -> None:
    # Zero-gamma BN and zero global filters: both stages start as the identity; the zero-init
    # gates give sigmoid(0) = 1/2, so "full" starts as exactly 1.5 x identity.
    x = _randn(gen, 4, 3, 8, 16, dtype=torch.float32)
    bands = wavelet_subbands(x, levels=2)
    for mode, factor in (("light", 1.0), ("full", 1.5)):
        ds2s = DS2S(3, 2, (8, 16), mode=mode).train(train)
        out = ds2s(bands)
        assert torch.allclose(out[0], factor * bands[0], atol=1e-6)
        for o, b in zip(out[1:], bands[1:], strict=True):
            for p, q in zip(o, b, strict=True):
                assert torch.allclose(p, factor * q, atol=1e-6)
        fused = inverse_wavelet_subbands(out)
        assert torch.allclose(fused, factor * x, atol=1e-5)


def test_ds2s_gradients_reach_every_parameter(gen) -> None:
    torch.manual_seed(0)
    ds2s = DS2S(3, 2, (8, 8), mode="full")
    with torch.no_grad():  # leave the identity init so that every path carries gradient
        for p in ds2s.parameters():
            p.add_(0.1 * torch.randn_like(p))
    x = _randn(gen, 4, 3, 8, 8, dtype=torch.float32).requires_grad_(True)
    out = ds2s(wavelet_subbands(x, levels=2))
    inverse_wavelet_subbands(out).square().mean().backward()
    assert torch.isfinite(x.grad).all()
    for name, p in ds2s.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_ds2s_errors(gen) -> None:
    with pytest.raises(ValueError, match="levels=3.*12x12"):
        DS2S(3, 3, (12, 12))
    with pytest.raises(ValueError, match="mode"):
        DS2S(3, 2, (8, 8), mode="heavy")
    with pytest.raises(ValueError, match="grid_size"):
        DS2S(3, 2, (8, 8, 8))
    with pytest.raises(ValueError, match="channels"):
        DS2S(0, 2, (8, 8))
    ds2s = DS2S(3, 2, (8, 8))
    with pytest.raises(ValueError, match="3 entries"):
        ds2s(wavelet_subbands(_randn(gen, 1, 3, 8, 8), levels=1))
    with pytest.raises(ValueError, match="shape"):
        ds2s(wavelet_subbands(_randn(gen, 1, 2, 8, 8), levels=2))  # wrong channel count


@pytest.mark.parametrize(
    "grid", [(8, 8), (4, 4), (2, 4), (1, 3), (3, 5), (8,), (2,), (64,), (16, 8), (65,)]
)
def test_ds2s_dense_circular_paths_equal_conv_and_fft(gen, grid) -> None:
    # Small grids apply the depthwise conv and the global filter as circulant matmuls; they must
    # equal the circularly padded conv and the rfftn formula, values and gradients alike (the
    # last two grids, over 64 points, take the conv / FFT path itself).
    from skdistill.nn.vision.ds2s import _GlobalFilter, _LocalRefine

    torch.manual_seed(0)
    local = _LocalRefine(3, len(grid)).double()
    glob = _GlobalFilter(3, grid).double()
    with torch.no_grad():
        glob.weight.normal_()
    dims = tuple(range(-len(grid), 0))

    def fft_filter(x):
        spec = torch.fft.rfftn(x, dim=dims, norm="ortho")
        filt = torch.view_as_complex(glob.weight)
        return x + torch.fft.irfftn(filt * spec, s=grid, dim=dims, norm="ortho")

    for dense, reference, params in (
        (local._depthwise, local.depthwise, list(local.depthwise.parameters())),
        (glob, fft_filter, [glob.weight]),
    ):
        x = _randn(gen, 2, 3, *grid).requires_grad_(True)
        probe = _randn(gen, 2, 3, *grid)
        got = dense(x)
        want = reference(x)
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
        got_grads = torch.autograd.grad((got * probe).sum(), [x, *params])
        want_grads = torch.autograd.grad((want * probe).sum(), [x, *params])
        for g, w in zip(got_grads, want_grads, strict=True):
            torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- SFKDLoss
def _inputs(gen, batch=4, classes=5, channels=3, grid=(8, 8)):
    zs = _randn(gen, batch, classes, dtype=torch.float32).requires_grad_(True)
    zt = _randn(gen, batch, classes, dtype=torch.float32)
    y = torch.randint(0, classes, (batch,), generator=gen)
    s = _randn(gen, batch, channels, *grid, dtype=torch.float32).requires_grad_(True)
    t = _randn(gen, batch, channels, *grid, dtype=torch.float32)
    return zs, y, zt, s, t


def test_sfkd_zero_weights_is_cross_entropy(gen) -> None:
    zs, y, zt, s, t = _inputs(gen)
    loss = SFKDLoss(3, (8, 8), alpha=0.0, beta=0.0, gamma=0.0)
    out = loss(zs, y)  # no teacher needed
    assert set(out) == {"loss", "ce"}
    assert torch.equal(out["loss"], F.cross_entropy(zs, y))


@pytest.mark.parametrize(
    ("alpha", "beta", "gamma", "keys"),
    [
        (1.0, 0.0, 0.0, {"kd"}),
        (0.0, 0.5, 0.0, {"wave"}),
        (0.0, 0.0, 0.5, {"freq"}),
        (1.0, 0.1, 0.1, {"kd", "wave", "freq"}),
    ],
)
def test_sfkd_terms_follow_weights(gen, alpha, beta, gamma, keys) -> None:
    zs, y, zt, s, t = _inputs(gen)
    loss = SFKDLoss(3, (8, 8), alpha=alpha, beta=beta, gamma=gamma)
    out = loss(zs, y, zt, s, t)
    assert set(out) == {"loss", "ce"} | keys
    weights = {"kd": alpha, "wave": beta, "freq": gamma}
    total = out["ce"] + sum(weights[k] * out[k] for k in keys)
    assert out["loss"].item() == pytest.approx(total.item(), rel=1e-6)
    out["loss"].backward()
    assert torch.isfinite(zs.grad).all()
    if keys & {"wave", "freq"}:
        assert torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0


def test_sfkd_feature_weight_scale(gen) -> None:
    zs, y, zt, s, t = _inputs(gen)
    loss = SFKDLoss(3, (8, 8), alpha=1.0, beta=0.3, gamma=0.2)
    full = loss(zs, y, zt, s, t)
    off = loss(zs, y, zt, s, t, feature_weight_scale=0.0)
    half = loss(zs, y, zt, s, t, feature_weight_scale=0.5)
    assert set(off) == set(full)  # terms still reported during warm-up
    assert off["loss"].item() == pytest.approx((full["ce"] + full["kd"]).item(), rel=1e-6)
    want = full["ce"] + full["kd"] + 0.5 * (0.3 * full["wave"] + 0.2 * full["freq"])
    assert half["loss"].item() == pytest.approx(want.item(), rel=1e-6)
    with pytest.raises(ValueError, match="feature_weight_scale"):
        loss(zs, y, zt, s, t, feature_weight_scale=-1.0)


def test_sfkd_terms_match_building_blocks_without_ds2s(gen) -> None:
    zs, y, zt, s, t = _inputs(gen)
    for feature_loss, ref in (("gffl", gffl(s, t)), ("mse", F.mse_loss(s, t))):
        loss = SFKDLoss(3, (8, 8), ds2s="none", feature_loss=feature_loss, temperature=2.0)
        out = loss(zs, y, zt, s, t)
        assert out["freq"].item() == pytest.approx(ref.item(), rel=1e-6)
        bands = (wavelet_subbands(s), wavelet_subbands(t))
        assert out["wave"].item() == pytest.approx(wavelet_loss(*bands).item(), rel=1e-6)
        assert out["kd"].item() == pytest.approx(kd_loss(zs, zt, 2.0).item(), rel=1e-6)


def test_sfkd_gffl_options_are_used(gen) -> None:
    zs, y, zt, s, t = _inputs(gen)
    loss = SFKDLoss(3, (8, 8), ds2s="none", gffl_mode="complex", gffl_sigma=0.1, beta=0.0)
    out = loss(zs, y, zt, s, t)
    assert out["freq"].item() == pytest.approx(gffl(s, t, sigma=0.1, mode="complex").item())


def test_sfkd_infonce(gen) -> None:
    zs, y, zt, s, t = _inputs(gen)
    loss = SFKDLoss(3, (8, 8), ds2s="none", feature_loss="infonce", alpha=0.0, beta=0.0)
    got = loss(zs, y, None, s, t)["freq"]
    q = F.normalize(s.mean(dim=(2, 3)), dim=1)
    k = F.normalize(t.mean(dim=(2, 3)), dim=1)
    want = F.cross_entropy(q @ k.T / 0.1, torch.arange(4))
    assert got.item() == pytest.approx(want.item(), rel=1e-6)
    # Matching pairs score better than a mismatched batch.
    matched = loss(zs, y, None, t, t)["freq"]
    assert matched.item() < loss(zs, y, None, t.flip(0), t)["freq"].item()


def test_sfkd_teacher_gets_no_gradient_and_ds2s_is_owned(gen) -> None:
    zs, y, zt, s, t = _inputs(gen)
    zt.requires_grad_(True)
    t.requires_grad_(True)
    loss = SFKDLoss(3, (8, 8))
    assert isinstance(loss.ds2s, DS2S)
    assert _n_params(loss) == _n_params(DS2S(3, 2, (8, 8))) > 0
    assert any(k.startswith("ds2s.") for k in loss.state_dict())
    loss(zs, y, zt, s, t)["loss"].backward()
    assert zt.grad is None and t.grad is None
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in loss.parameters())


def test_sfkd_1d_path(gen) -> None:
    zs, y, zt, _, _ = _inputs(gen)
    s = _randn(gen, 4, 1, 32, dtype=torch.float32).requires_grad_(True)
    t = _randn(gen, 4, 1, 32, dtype=torch.float32)
    for ds2s in ("full", "light", "none"):
        loss = SFKDLoss(1, 32, levels=3, ds2s=ds2s, wavelet="db2")
        out = loss(zs, y, zt, s, t)
        assert set(out) == {"loss", "ce", "kd", "wave", "freq"}
        out["loss"].backward()
        assert torch.isfinite(s.grad).all()


def test_sfkd_missing_inputs(gen) -> None:
    zs, y, zt, s, t = _inputs(gen)
    with pytest.raises(ValueError, match="teacher_logits"):
        SFKDLoss(3, (8, 8))(zs, y, None, s, t)
    with pytest.raises(ValueError, match="student_map and teacher_map"):
        SFKDLoss(3, (8, 8), gamma=0.0)(zs, y, zt)
    with pytest.raises(ValueError, match="student_map and teacher_map"):
        SFKDLoss(3, (8, 8), beta=0.0)(zs, y, zt, s, None)
    with pytest.raises(ValueError, match=r"teacher_map must be .*\(4, 3, 8, 8\)"):
        SFKDLoss(3, (8, 8))(zs, y, zt, s, t[:, :2])


def test_sfkd_constructor_errors() -> None:
    with pytest.raises(ValueError, match="alpha"):
        SFKDLoss(3, (8, 8), alpha=-1.0)
    with pytest.raises(ValueError, match="feature_loss"):
        SFKDLoss(3, (8, 8), feature_loss="l1")
    with pytest.raises(ValueError, match="mode"):
        SFKDLoss(3, (8, 8), ds2s="heavy")
    with pytest.raises(ValueError, match="levels=3.*14x14"):
        SFKDLoss(3, (14, 14), levels=3)
    with pytest.raises(ValueError, match="wavelet"):
        SFKDLoss(3, (8, 8), wavelet="nope")
    with pytest.raises(ValueError, match="gffl_sigma"):
        SFKDLoss(3, (8, 8), gffl_sigma=0.0)


def test_sfkd_non_finite_names_the_term(gen) -> None:
    zs, y, zt, s, t = _inputs(gen)
    loss = SFKDLoss(3, (8, 8))
    bad = s.detach().clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="'wave'"):
        loss(zs, y, zt, bad, t)
    with pytest.raises(FloatingPointError, match="'freq'"):
        SFKDLoss(3, (8, 8), beta=0.0)(zs, y, zt, bad, t)
    with pytest.raises(FloatingPointError, match="'kd'"):
        loss(zs, y, torch.full_like(zt, float("nan")), s, t)
    out = SFKDLoss(3, (8, 8), check_finite=False)(zs, y, zt, bad, t)
    assert torch.isnan(out["loss"])
