"""Tests for the vision zoo and feature taps in ``skdistill.nn.vision``."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from skdistill.nn.vision import (
    ZOO_NAMES,
    FeatureTap,
    MLPMixer,
    MLPNet,
    ResNetCNN,
    StudentProjector,
    VectorLift,
    VisionTransformer,
    aligned_grid,
    auto_layer,
    build_model,
    channel_layernorm,
    describe_layout,
    discover_shapes,
    to_canonical,
)

INPUTS = [(1, 28), (3, 32), (1, 8)]

# The counts documented in the class docstrings, (in_channels, image_size) -> parameters.
PARAM_COUNTS = {
    "cnn": {(1, 28): 77_754, (3, 32): 78_042, (1, 8): 77_754},
    "vit": {(1, 28): 139_018, (3, 32): 142_026, (1, 8): 136_138},
    "mixer": {(1, 28): 82_062, (3, 32): 88_010, (1, 8): 72_714},
    "mlp": {(1, 28): 235_146, (3, 32): 820_874, (1, 8): 50_826},
}
CLASSES = {"cnn": ResNetCNN, "vit": VisionTransformer, "mixer": MLPMixer, "mlp": MLPNet}
AUTO_LAYERS = {"cnn": "layer3", "vit": "norm", "mixer": "norm", "mlp": "fc2"}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------------------------
# zoo


@pytest.mark.parametrize("name", ZOO_NAMES)
@pytest.mark.parametrize(("channels", "size"), INPUTS)
def test_zoo_forward_shape_and_param_counts(name, channels, size):
    model = build_model(name, channels, 10, size)
    assert isinstance(model, CLASSES[name])
    out = model(torch.randn(2, channels, size, size))
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()
    assert _n_params(model) == PARAM_COUNTS[name][(channels, size)]


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_documented_param_counts_in_docstrings(name):
    doc = CLASSES[name].__doc__
    for (channels, size), count in PARAM_COUNTS[name].items():
        assert f"{count:,}" in doc, (name, channels, size)


def test_build_model_names_and_errors():
    assert isinstance(build_model("CNN", 1, 10, 28), ResNetCNN)
    module = nn.Linear(3, 3)
    assert build_model(module, 1, 10, 28) is module
    with pytest.raises(ValueError, match="cnn.*vit.*mixer.*mlp"):
        build_model("resnet50", 1, 10, 28)
    with pytest.raises(ValueError, match="zoo names only"):
        build_model(module, 1, 10, 28, width=8)
    with pytest.raises(ValueError, match=r"image_size=30.*patch_size=4"):
        build_model("vit", 1, 10, 30)
    with pytest.raises(ValueError, match=r"image_size=28.*patch_size=8"):
        build_model("mixer", 1, 10, 28, patch_size=8)
    with pytest.raises(ValueError, match="divisible by heads"):
        build_model("vit", 1, 10, 28, dim=30)


def test_build_model_size_overrides_and_patch_choice():
    cnn = build_model("cnn", 3, 5, 32, width=8, blocks_per_stage=2)
    assert cnn.head.in_features == 32 and len(cnn.layer2) == 2
    vit = build_model("vit", 1, 10, 28, dim=32, depth=2)
    assert len(vit.blocks) == 2 and vit.norm.normalized_shape == (32,)
    assert (vit.patch_size, vit.grid_size) == (4, (7, 7))
    small = build_model("mixer", 1, 10, 8)
    assert (small.patch_size, small.grid_size) == (2, (4, 4))
    forced = build_model("vit", 1, 10, 8, patch_size=4)
    assert forced.grid_size == (2, 2)
    mlp = build_model("mlp", 1, 10, 28, hidden_sizes=(64, 32, 16))
    assert mlp.fc3.out_features == 16
    assert mlp(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_wrong_input_shape_is_reported():
    model = build_model("vit", 1, 10, 28)
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        model(torch.zeros(2, 1, 32, 32))


# --------------------------------------------------------------------------------------------
# taps


@pytest.mark.parametrize("name", ZOO_NAMES)
@pytest.mark.parametrize(("channels", "size"), INPUTS)
def test_auto_layer_on_the_zoo(name, channels, size):
    model = build_model(name, channels, 10, size)
    model.train()
    if name == "cnn":
        model.layer1.eval()
    assert auto_layer(model, torch.randn(2, channels, size, size)) == AUTO_LAYERS[name]
    # The dry run restores each submodule's own mode.
    assert model.training
    if name == "cnn":
        assert not model.layer1.training and model.layer2.training


def test_auto_layer_skips_parameter_free_leaves_and_pooled_maps():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.relu = nn.ReLU()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.proj = nn.Conv2d(4, 4, 1)  # has parameters but a single position
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            x = self.proj(self.pool(self.relu(self.conv(x))))
            return self.fc(x.flatten(1))

    assert auto_layer(Net(), torch.zeros(2, 1, 6, 6)) == "conv"

    class NoFeatures(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(x)

    with pytest.raises(ValueError, match="explicitly"):
        auto_layer(NoFeatures(), torch.zeros(2, 4))


def test_feature_tap_captures_the_submodule_output():
    model = build_model("cnn", 1, 10, 28).eval()
    x = torch.randn(2, 1, 28, 28)
    with FeatureTap(model, "layer2") as tap:
        model(x)
        assert tap.active
    assert not tap.active
    with torch.no_grad():
        manual = model.layer2(model.layer1(model.stem(x)))
    torch.testing.assert_close(tap.output, manual)
    # After removal the stored output no longer changes.
    before = tap.output
    model(torch.randn(2, 1, 28, 28))
    assert tap.output is before


def test_feature_tap_tuple_output_and_detach():
    class Pair(nn.Module):
        def forward(self, x):
            return 2 * x, x

    model = nn.Sequential(nn.Linear(3, 3), Pair())
    tap = FeatureTap(model, "1")
    x = torch.randn(4, 3)
    out = model(x)
    torch.testing.assert_close(tap.output, out[0])
    assert tap.output.requires_grad
    tap.remove()
    tap.remove()  # idempotent
    detached = FeatureTap(model, "0", detach=True)
    model(x)
    assert not detached.output.requires_grad
    detached.clear()
    assert detached.output is None


def test_feature_tap_unknown_path_lists_valid_names():
    model = build_model("vit", 1, 10, 28)
    with pytest.raises(ValueError) as info:
        FeatureTap(model, "blocks.9")
    message = str(info.value)
    assert "blocks.0" in message and "norm" in message and "blocks.3" in message
    assert "more" in message  # the ViT has more than 40 submodules: the list is cut
    with pytest.raises(ValueError, match="Did you mean"):
        FeatureTap(model, "nrom")


# --------------------------------------------------------------------------------------------
# canonical layout


def test_to_canonical_vit_tokens_drop_class_token():
    model = build_model("vit", 3, 10, 32).eval()
    x = torch.randn(2, 3, 32, 32)
    with FeatureTap(model, "norm") as tap, torch.no_grad():
        model(x)
    tokens = tap.output
    assert tokens.shape == (2, 65, 64)
    grid = to_canonical(tokens)
    assert grid.shape == (2, 64, 8, 8)
    # Patch token k (after the class token) sits at row k // 8, column k % 8.
    row, col = 3, 5
    torch.testing.assert_close(grid[:, :, row, col], tokens[:, 1 + row * 8 + col, :])
    torch.testing.assert_close(grid, to_canonical(tokens, num_prefix_tokens=1, grid_size=8))


def test_to_canonical_other_layouts():
    maps = torch.randn(2, 5, 4, 3)
    assert to_canonical(maps) is maps
    nhwc = torch.randn(2, 4, 3, 5)
    out = to_canonical(nhwc, channels_last=True)
    assert out.shape == (2, 5, 4, 3)
    torch.testing.assert_close(out[:, :, 1, 2], nhwc[:, 1, 2, :])
    assert to_canonical(torch.randn(2, 7)).shape == (2, 1, 7)
    mixer_tokens = torch.randn(2, 49, 16)
    assert to_canonical(mixer_tokens).shape == (2, 16, 7, 7)
    # DeiT-style class + distillation tokens on a 14x14 grid.
    assert to_canonical(torch.randn(1, 198, 8)).shape == (1, 8, 14, 14)
    # A non-square grid given explicitly.
    rect = torch.randn(2, 1 + 4 * 8, 6)
    out = to_canonical(rect, grid_size=(4, 8))
    assert out.shape == (2, 6, 4, 8)
    torch.testing.assert_close(out[:, :, 2, 7], rect[:, 1 + 2 * 8 + 7])


def test_to_canonical_errors():
    with pytest.raises(ValueError, match="grid_size"):
        to_canonical(torch.randn(2, 4 * 8, 6))  # 32 tokens: not square
    with pytest.raises(ValueError, match="grid_size"):
        to_canonical(torch.randn(2, 50, 6), num_prefix_tokens=2)
    with pytest.raises(ValueError, match="do not match"):
        to_canonical(torch.randn(2, 50, 6), grid_size=(8, 8))
    with pytest.raises(ValueError, match="cannot canonicalise"):
        to_canonical(torch.randn(2, 3, 4, 5, 6))


def test_discover_shapes_and_describe_layout():
    model = build_model("mlp", 1, 10, 28)
    info = discover_shapes(model, "auto", torch.zeros(2, 1, 28, 28))
    assert info["layer"] == "fc2"
    assert info["raw_shape"] == (128,) and info["canonical_shape"] == (1, 128)
    cnn = build_model("cnn", 3, 10, 32)
    info = discover_shapes(cnn, "layer2", torch.zeros(2, 3, 32, 32))
    assert info["raw_shape"] == info["canonical_shape"] == (32, 16, 16)
    assert describe_layout(info["canonical_shape"]) == "2-D map: 32 channels, 16x16 grid"
    # A ViT tap without the class token (patch embedding) still canonicalises.
    vit = build_model("vit", 1, 10, 28)
    info = discover_shapes(vit, "patch_embed", torch.zeros(2, 1, 28, 28))
    assert info["raw_shape"] == (49, 64) and info["canonical_shape"] == (64, 7, 7)
    with pytest.raises(ValueError, match="no submodule"):
        discover_shapes(vit, "head.weight.x", torch.zeros(2, 1, 28, 28))


# --------------------------------------------------------------------------------------------
# alignment


def test_channel_layernorm_is_per_position_not_per_channel():
    # A map whose channels have very different spatial means (a strong LL band).
    x = torch.randn(3, 16, 8, 8) + torch.linspace(-5, 5, 16).view(1, 16, 1, 1)
    x[:, :, :4] += 3.0 * torch.randn(1, 16, 1, 1)  # spatial structure differing by channel
    y = channel_layernorm(x)
    assert y.shape == x.shape
    torch.testing.assert_close(y.mean(dim=1), torch.zeros(3, 8, 8), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(dim=1, correction=0), torch.ones(3, 8, 8), atol=1e-3, rtol=0)
    spatial_means = y.mean(dim=(2, 3))
    assert spatial_means.abs().max() > 0.5  # a per-channel standardisation would give 0
    with pytest.raises(ValueError, match="2 channels"):
        channel_layernorm(torch.randn(2, 1, 16))


def test_aligned_grid():
    assert aligned_grid((14, 14), 2) == (16, 16)
    assert aligned_grid(7, 2) == (8, 8)
    assert aligned_grid((8, 8), 2) == (8, 8)
    assert aligned_grid((7, 5), 1) == (8, 6)
    assert aligned_grid(2, 0) == (2, 2)
    with pytest.raises(ValueError):
        aligned_grid(7, -1)


def test_student_projector_shape_and_gradients():
    proj = StudentProjector(32, 64, aligned_grid(7, 2))
    x = torch.randn(4, 32, 14, 14, requires_grad=True)
    out = proj(x)
    assert out.shape == (4, 64, 8, 8)
    out.square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert proj.conv.weight.grad is not None and proj.conv.weight.grad.abs().sum() > 0
    # Same grid: no resize, just conv + BN.
    assert StudentProjector(8, 4, (4, 4))(torch.randn(2, 8, 4, 4)).shape == (2, 4, 4, 4)
    with pytest.raises(ValueError, match="expects"):
        proj(torch.randn(4, 16, 14, 14))


def test_gradients_flow_from_student_through_tap_and_projector():
    student = build_model("vit", 1, 10, 28)
    teacher_grid = aligned_grid(7, 2)
    with FeatureTap(student, "norm") as tap:
        student(torch.randn(2, 1, 28, 28))
    feat = to_canonical(tap.output)
    proj = StudentProjector(feat.shape[1], 16, teacher_grid)
    target = channel_layernorm(torch.randn(2, 16, *teacher_grid))
    nn.functional.mse_loss(proj(feat), target).backward()
    assert student.blocks[0].attn.qkv.weight.grad.abs().sum() > 0


def test_vector_lift():
    lift = VectorLift(128, 16, (8, 8))
    x = torch.randn(3, 128, requires_grad=True)
    assert lift(x).shape == (3, 16, 8, 8)
    assert lift(to_canonical(x)).shape == (3, 16, 8, 8)
    lift(x).sum().backward()
    assert x.grad is not None
    with pytest.raises(ValueError, match="VectorLift expects"):
        lift(torch.randn(3, 64))
