"""Pure-torch vision modules for SFKD: a heterogeneous model zoo and feature taps.

- :mod:`~skdistill.nn.vision.zoo`: ResNet-style CNN, ViT, MLP-Mixer and MLP classifiers sized
  for 28x28 / 32x32 images (and the 8x8 digits), built by name with :func:`build_model`.
- :mod:`~skdistill.nn.vision.taps`: forward-hook taps by module path, the automatic layer
  choice, the canonical feature layout (``(B, C, H, W)`` maps, ``(B, 1, D)`` signals) and the
  student-side alignment (target grid, projector, vector lift, teacher LayerNorm).
"""

from .taps import (
    FeatureTap,
    StudentProjector,
    VectorLift,
    aligned_grid,
    auto_layer,
    channel_layernorm,
    describe_layout,
    discover_shapes,
    to_canonical,
)
from .zoo import (
    ZOO_NAMES,
    MLPMixer,
    MLPNet,
    ResNetCNN,
    VisionTransformer,
    build_model,
    default_patch_size,
)

__all__ = [
    "ZOO_NAMES",
    "FeatureTap",
    "MLPMixer",
    "MLPNet",
    "ResNetCNN",
    "StudentProjector",
    "VectorLift",
    "VisionTransformer",
    "aligned_grid",
    "auto_layer",
    "build_model",
    "channel_layernorm",
    "default_patch_size",
    "describe_layout",
    "discover_shapes",
    "to_canonical",
]
