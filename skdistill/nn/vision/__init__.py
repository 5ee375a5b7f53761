"""Pure-torch vision modules for SFKD: a heterogeneous model zoo and feature taps.

- :mod:`~skdistill.nn.vision.zoo`: ResNet-style CNN (:mod:`~skdistill.nn.vision.cnn`), ViT
  (:mod:`~skdistill.nn.vision.vit`), MLP-Mixer (:mod:`~skdistill.nn.vision.mixer`) and MLP
  (:mod:`~skdistill.nn.vision.mlp`) classifiers sized for 28x28 / 32x32 images (and the 8x8
  digits), built by name with :func:`build_model`; their shared parts are in
  :mod:`~skdistill.nn.vision.layers`.
- :mod:`~skdistill.nn.vision.taps`: forward-hook taps by module path, the automatic layer
  choice and the canonical feature layout (``(B, C, H, W)`` maps, ``(B, 1, D)`` signals).
- :mod:`~skdistill.nn.vision.projectors`: the student-side alignment (target grid, projector,
  vector lift, teacher LayerNorm).
"""

from .cnn import ResNetCNN
from .ds2s import DS2S as DS2S
from .layers import default_patch_size
from .mixer import MLPMixer
from .mlp import MLPNet
from .projectors import StudentProjector, VectorLift, aligned_grid, channel_layernorm
from .taps import FeatureTap, auto_layer, describe_layout, discover_shapes, to_canonical
from .vit import VisionTransformer
from .zoo import ZOO_NAMES, build_model

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
