"""Tests for the PatchTST and ModernTCN teacher forecasters."""

from __future__ import annotations

import pytest
import torch

from skdistill.nn.forecasting.moderntcn import ModernTCN
from skdistill.nn.forecasting.patchtst import PatchTST

L, H, C = 48, 12, 3


def _small_patchtst(**kwargs) -> PatchTST:
    arch = dict(patch_len=8, stride=4, d_model=16, n_heads=2, e_layers=2, d_ff=32)
    arch.update(kwargs)
    return PatchTST(L, H, C, **arch)


def _small_moderntcn(**kwargs) -> ModernTCN:
    arch = dict(patch_size=8, patch_stride=4, dims=8, large_size=9, small_size=3, n_blocks=2)
    arch.update(kwargs)
    return ModernTCN(L, H, C, **arch)


FACTORIES = {"patchtst": _small_patchtst, "moderntcn": _small_moderntcn}
# The submodule whose output is the distilled feature, and how to reshape it to (B, C, d).
TAPS = {"patchtst": "encoder", "moderntcn": "backbone"}


@pytest.fixture(params=sorted(FACTORIES))
def name(request) -> str:
    return request.param


def test_small_shapes(name):
    torch.manual_seed(0)
    model = FACTORIES[name]()
    x = torch.randn(4, L, C)
    pred, feature = model.forward_features(x)
    assert pred.shape == (4, H, C)
    assert feature.shape == (4, C, model.feature_dim)
    assert isinstance(model.feature_dim, int)
    assert model(x).shape == (4, H, C)


def test_patch_counts():
    assert _small_patchtst().n_patches == (L - 8) // 4 + 2
    assert _small_patchtst().feature_dim == 12 * 16
    assert _small_moderntcn().n_patches == L // 4
    assert _small_moderntcn().feature_dim == 8 * 12


@pytest.mark.parametrize("cls", [PatchTST, ModernTCN])
def test_defaults_shapes(cls):
    torch.manual_seed(0)
    model = cls(96, 24, 7).eval()
    with torch.no_grad():
        pred, feature = model.forward_features(torch.randn(2, 96, 7))
    assert pred.shape == (2, 24, 7)
    assert feature.shape == (2, 7, model.feature_dim)


def test_moderntcn_clips_large_kernel():
    model = ModernTCN(96, 24, 7)  # N = 24 < 51
    assert model.n_patches == 24 and model.large_size == 23 and model.small_size == 5
    tiny = ModernTCN(8, 4, 2, patch_size=4, patch_stride=4, large_size=51, small_size=5)
    assert tiny.n_patches == 2 and tiny.large_size == 1 and tiny.small_size == 1
    assert tiny(torch.randn(2, 8, 2)).shape == (2, 4, 2)


def test_feature_is_tapped_output(name):
    torch.manual_seed(0)
    model = FACTORIES[name]().eval()
    tapped = []
    handle = getattr(model, TAPS[name]).register_forward_hook(
        lambda module, args, out: tapped.append(out)
    )
    x = torch.randn(2, L, C)
    with torch.no_grad():
        _, feature = model.forward_features(x)
    handle.remove()
    (out,) = tapped
    if name == "patchtst":
        assert out.shape == (2 * C, model.n_patches, model.d_model)
    else:
        assert out.shape == (2, C, model.dims, model.n_patches)
    torch.testing.assert_close(feature, out.reshape(2, C, -1), rtol=0, atol=0)


def _channel1_change(model, x) -> float:
    x2 = x.clone()
    x2[:, :, 0] = torch.randn_like(x2[:, :, 0]) * 3 + 1
    with torch.no_grad():
        return (model(x)[:, :, 1] - model(x2)[:, :, 1]).abs().max().item()


def test_patchtst_channel_independent_in_eval():
    torch.manual_seed(0)
    model = _small_patchtst().eval()
    assert _channel1_change(model, torch.randn(2, L, C)) < 1e-5


def test_moderntcn_mixes_channels():
    torch.manual_seed(0)
    model = _small_moderntcn().eval()
    assert _channel1_change(model, torch.randn(2, L, C)) > 1e-4


def test_gradients_reach_all_parameters(name):
    torch.manual_seed(0)
    model = FACTORIES[name]().train()
    pred, feature = model.forward_features(torch.randn(4, L, C))
    (pred.square().mean() + feature.square().mean()).backward()
    for pname, param in model.named_parameters():
        assert param.grad is not None, pname
        assert torch.isfinite(param.grad).all(), pname
        assert param.grad.abs().sum() > 0, pname


def test_translation_equivariance(name):
    torch.manual_seed(0)
    model = FACTORIES[name]().double().eval()
    x = torch.randn(2, L, C, dtype=torch.float64)
    shifted = x.clone()
    shifted[:, :, 1] += 5.0
    with torch.no_grad():
        base, moved = model(x), model(shifted)
    expected = base.clone()
    expected[:, :, 1] += 5.0
    torch.testing.assert_close(moved, expected, rtol=0, atol=1e-6)


def test_input_shape_checked(name):
    with pytest.raises(ValueError, match="window_length"):
        FACTORIES[name]()(torch.randn(2, L + 1, C))


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        (dict(patch_len=64), "patch_len"),
        (dict(d_model=10, n_heads=3), "n_heads"),
        (dict(stride=0), "stride"),
        (dict(e_layers=1.5), "e_layers"),
        (dict(dropout=1.0), "dropout"),
        (dict(head_dropout=-0.1), "head_dropout"),
        (dict(d_ff=True), "d_ff"),
    ],
)
def test_patchtst_validation(kwargs, param):
    with pytest.raises(ValueError, match=param):
        _small_patchtst(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        (dict(patch_size=64), "patch_size"),
        (dict(patch_stride=9), "patch_stride"),
        (dict(large_size=8), "large_size"),
        (dict(small_size=4), "small_size"),
        (dict(large_size=3, small_size=5), "small_size"),
        (dict(dims=0), "dims"),
        (dict(ffn_ratio=0), "ffn_ratio"),
        (dict(n_blocks=0), "n_blocks"),
        (dict(dropout=1.5), "dropout"),
    ],
)
def test_moderntcn_validation(kwargs, param):
    with pytest.raises(ValueError, match=param):
        _small_moderntcn(**kwargs)


def test_constructor_validates_sizes():
    with pytest.raises(ValueError, match="horizon"):
        PatchTST(48, 0, 3)
    with pytest.raises(ValueError, match="n_channels"):
        ModernTCN(48, 12, -1)
