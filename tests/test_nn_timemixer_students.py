"""Tests for TimeMixer (teacher) and the TSMixer / LightTS students."""

from __future__ import annotations

import pytest
import torch

from skdistill.nn.forecasting.light_students import LightTS, TSMixer
from skdistill.nn.forecasting.timemixer import TimeMixer

L, H, C = 48, 12, 3

SMALL = {
    "timemixer": lambda: TimeMixer(L, H, C, d_model=8, d_ff=16, moving_avg=5),
    "timemixer-1scale": lambda: TimeMixer(L, H, C, d_model=8, down_sampling_layers=0),
    "tsmixer": lambda: TSMixer(L, H, C, hidden_size=16),
    "tsmixer-nonorm": lambda: TSMixer(L, H, C, hidden_size=16, norm="none", dropout=0.1),
    "lightts": lambda: LightTS(L, H, C, hidden_size=16, chunk_size=12),
}
EXPECTED_FEATURE_DIM = {
    "timemixer": 8 * 4,
    "timemixer-1scale": 8,
    "tsmixer": L,
    "tsmixer-nonorm": L,
    "lightts": 32,
}
CHANNEL_INDEPENDENT = ("timemixer", "lightts")
NORMALISED = ("timemixer", "tsmixer", "lightts")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("name", list(SMALL))
def test_shapes_small(name):
    model = SMALL[name]()
    x = torch.randn(4, L, C)
    pred, feature = model.forward_features(x)
    assert pred.shape == (4, H, C)
    assert feature.shape == (4, C, model.feature_dim)
    assert model.feature_dim == EXPECTED_FEATURE_DIM[name]
    assert isinstance(model.feature_dim, int)
    model.eval()
    torch.testing.assert_close(model(x), model.forward_features(x)[0])


@pytest.mark.parametrize(
    ("cls", "feature_dim"), [(TimeMixer, 16 * 4), (TSMixer, 96), (LightTS, 1024)]
)
def test_shapes_defaults(cls, feature_dim):
    model = cls(96, 24, 5)
    pred, feature = model.forward_features(torch.randn(2, 96, 5))
    assert pred.shape == (2, 24, 5)
    assert feature.shape == (2, 5, feature_dim)
    assert model.feature_dim == feature_dim


@pytest.mark.parametrize("name", list(SMALL))
def test_gradients_reach_every_parameter(name):
    model = SMALL[name]()
    pred, feature = model.forward_features(torch.randn(4, L, C))
    (pred.square().mean() + feature.square().mean()).backward()
    for pname, param in model.named_parameters():
        assert param.grad is not None, pname
        assert torch.isfinite(param.grad).all(), pname
        assert param.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", list(SMALL))
def test_channel_dependence(name):
    model = SMALL[name]().eval()
    x = torch.randn(2, L, C)
    x2 = x.clone()
    x2[:, :, 0] = torch.randn(2, L)
    with torch.no_grad():
        pred, feature = model.forward_features(x)
        pred2, feature2 = model.forward_features(x2)
    assert not torch.allclose(pred[:, :, 0], pred2[:, :, 0])
    if name in CHANNEL_INDEPENDENT:
        torch.testing.assert_close(pred[:, :, 1:], pred2[:, :, 1:])
        torch.testing.assert_close(feature[:, 1:], feature2[:, 1:])
    elif name.startswith("tsmixer"):
        assert not torch.allclose(pred[:, :, 1], pred2[:, :, 1])


@pytest.mark.parametrize("name", NORMALISED)
def test_translation_equivariance(name):
    model = SMALL[name]().double().eval()
    x = torch.randn(2, L, C, dtype=torch.float64)
    shifted = x.clone()
    shifted[:, :, 1] += 3.5
    with torch.no_grad():
        pred = model(x)
        pred_shifted = model(shifted)
    expected = pred.clone()
    expected[:, :, 1] += 3.5
    torch.testing.assert_close(pred_shifted, expected, atol=1e-6, rtol=0)


def test_wrong_input_shape():
    for make in SMALL.values():
        with pytest.raises(ValueError, match="window_length"):
            make()(torch.randn(2, L + 1, C))


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (TimeMixer, {"window_length": 0}, "window_length"),
        (TimeMixer, {"horizon": 1.5}, "horizon"),
        (TimeMixer, {"n_channels": True}, "n_channels"),
        (TimeMixer, {"d_model": 0}, "d_model"),
        (TimeMixer, {"d_ff": -1}, "d_ff"),
        (TimeMixer, {"e_layers": 0}, "e_layers"),
        (TimeMixer, {"down_sampling_layers": -1}, "down_sampling_layers"),
        (TimeMixer, {"down_sampling_window": 0}, "down_sampling_window"),
        (TimeMixer, {"moving_avg": 0}, "moving_avg"),
        (TimeMixer, {"dropout": 1.0}, "dropout"),
        (TimeMixer, {"window_length": 36}, "divisible"),  # 36 % 2**3 != 0
        (TSMixer, {"hidden_size": 0}, "hidden_size"),
        (TSMixer, {"n_blocks": 0}, "n_blocks"),
        (TSMixer, {"dropout": -0.1}, "dropout"),
        (TSMixer, {"norm": "batch"}, "norm"),
        (LightTS, {"hidden_size": 0}, "hidden_size"),
        (LightTS, {"chunk_size": 0}, "chunk_size"),
        (LightTS, {"dropout": "0.1"}, "dropout"),
        (LightTS, {"chunk_size": 10}, "chunk_size"),  # 48 % 10 != 0
    ],
)
def test_constructor_validation(cls, kwargs, match):
    params = {"window_length": L, "horizon": H, "n_channels": C, **kwargs}
    with pytest.raises(ValueError, match=match):
        cls(**params)


def test_lightts_divisibility_message_names_both():
    with pytest.raises(ValueError, match=r"window_length \(48\).*chunk_size \(10\)"):
        LightTS(L, H, C, chunk_size=10)


def test_timemixer_scale_lengths_and_kernels():
    model = TimeMixer(48, H, C, moving_avg=25)
    assert model.lengths == [48, 24, 12, 6]
    kernels = [d.kernel_size for d in model.blocks[0].decompositions]
    assert kernels == [25, 23, 11, 5]
