"""A small zoo of heterogeneous image classifiers: ResNet-style CNN, ViT, MLP-Mixer and MLP.

The models are sized for 28x28 one-channel (Fashion-MNIST) and 32x32 three-channel (CIFAR-10)
images, and also run on the 8x8 sklearn digits. Every model has the constructor
``(in_channels, n_classes, image_size, **size_kwargs)`` and maps ``(B, C, H, W)`` images to
``(B, n_classes)`` logits. Their intermediate layers have different layouts (spatial maps, token
sequences, vectors), which is what heterogeneous distillation has to bridge; see
:mod:`skdistill.nn.vision.taps`.

Each architecture lives in its own module (:mod:`~skdistill.nn.vision.cnn`,
:mod:`~skdistill.nn.vision.vit`, :mod:`~skdistill.nn.vision.mixer`,
:mod:`~skdistill.nn.vision.mlp`); this one holds the registry and :func:`build_model`, and
re-exports the models.
"""

from __future__ import annotations

from torch import nn

# The private blocks are re-exported too: pickles written when they were defined here name
# them as ``skdistill.nn.vision.zoo.<name>``.
from .cnn import ResNetCNN
from .cnn import _BasicBlock as _BasicBlock
from .layers import ImageSize, default_patch_size
from .layers import _FeedForward as _FeedForward
from .layers import _PatchEmbed as _PatchEmbed
from .mixer import MLPMixer
from .mixer import _MixerBlock as _MixerBlock
from .mlp import MLPNet
from .vit import VisionTransformer
from .vit import _Attention as _Attention
from .vit import _TransformerBlock as _TransformerBlock

__all__ = [
    "ZOO_NAMES",
    "MLPMixer",
    "MLPNet",
    "ResNetCNN",
    "VisionTransformer",
    "build_model",
    "default_patch_size",
]

#: Names accepted by :func:`build_model` (case-insensitive).
ZOO_NAMES: tuple[str, ...] = ("cnn", "vit", "mixer", "mlp")

_ZOO: dict[str, type[nn.Module]] = {
    "cnn": ResNetCNN,
    "vit": VisionTransformer,
    "mixer": MLPMixer,
    "mlp": MLPNet,
}


def build_model(
    name_or_module: str | nn.Module,
    in_channels: int,
    n_classes: int,
    image_size: ImageSize,
    **kwargs: object,
) -> nn.Module:
    """Build a zoo model by name, or pass a user module through.

    Parameters
    ----------
    name_or_module : str or torch.nn.Module
        One of :data:`ZOO_NAMES` ("cnn", "vit", "mixer", "mlp"; case-insensitive), or a module,
        which is returned as is (not copied).
    in_channels : int
        Image channels C.
    n_classes : int
        Number of classes.
    image_size : int or tuple of int
        Image side (or ``(H, W)``). The ViT and the Mixer use 4x4 patches, or 2x2 patches for
        images smaller than 16 pixels (the 8x8 digits), unless ``patch_size`` is given.
    **kwargs
        Size overrides of the chosen model: ``width``, ``blocks_per_stage`` (cnn);
        ``patch_size``, ``dim``, ``depth``, ``heads``, ``mlp_ratio`` (vit); ``patch_size``,
        ``dim``, ``depth``, ``token_mlp_ratio``, ``channel_mlp_ratio`` (mixer);
        ``hidden_sizes`` (mlp).

    Returns
    -------
    torch.nn.Module
        The model, mapping ``(B, in_channels, H, W)`` to ``(B, n_classes)`` logits.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the zoo), size keyword arguments given with a
        module, or an image size not divisible by the patch size.

    Examples
    --------
    >>> import torch
    >>> model = build_model("ViT", 1, 10, 8)
    >>> model.patch_size, model.grid_size
    (2, (4, 4))
    >>> model(torch.zeros(3, 1, 8, 8)).shape
    torch.Size([3, 10])
    """
    if isinstance(name_or_module, nn.Module):
        if kwargs:
            raise ValueError(
                f"size keyword arguments {sorted(kwargs)} apply to zoo names only, not to a "
                f"{type(name_or_module).__name__} instance"
            )
        return name_or_module
    if not isinstance(name_or_module, str) or name_or_module.lower() not in _ZOO:
        raise ValueError(
            f"unknown model {name_or_module!r}: pass an nn.Module or one of {list(ZOO_NAMES)}"
        )
    return _ZOO[name_or_module.lower()](in_channels, n_classes, image_size, **kwargs)
