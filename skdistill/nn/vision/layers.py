"""Shared pieces of the vision modules: argument checks, the zoo's base classes, common layers.

- validation of positive ints, image sizes (``_image_hw``) and grids (``_pair``, which also
  takes NumPy ints and ``torch.Size``);
- :func:`default_patch_size` and the patch grid of the ViT and the Mixer;
- ``_ImageClassifier`` / ``_PatchClassifier``: the ``(in_channels, n_classes, image_size)``
  constructor arguments every zoo model shares, and the input check;
- ``_FeedForward`` and ``_PatchEmbed``, the layers the ViT and the Mixer have in common.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch import nn

from skdistill._validation import check_int

__all__ = ["default_patch_size"]

ImageSize = int | tuple[int, int]


# --------------------------------------------------------------------------------------------
# validation


def _image_hw(image_size: ImageSize) -> tuple[int, int]:
    """Return ``(H, W)`` from an int (square image) or a pair of ints."""
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        check_int(image_size, "image_size")
        return image_size, image_size
    if isinstance(image_size, tuple | list) and len(image_size) == 2:
        h, w = image_size
        check_int(h, "image_size[0]")
        check_int(w, "image_size[1]")
        return int(h), int(w)
    raise ValueError(f"image_size must be an int or a pair (H, W) of ints, got {image_size!r}")


def _as_int(value: Any) -> int | None:
    # operator.index accepts Python and NumPy integers but not floats or bools-as-intent.
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _pair(value: Any, name: str) -> tuple[int, int]:
    """``(h, w)`` from a positive int or a pair of positive ints (tuple, list, torch.Size)."""
    as_int = _as_int(value)
    items = (as_int, as_int) if as_int is not None else value
    try:
        h, w = (_as_int(v) for v in items)
    except (TypeError, ValueError):
        h = w = None
    if h is None or w is None or h < 1 or w < 1:
        raise ValueError(f"{name} must be a positive int or a pair of positive ints, got {value!r}")
    return h, w


def default_patch_size(image_size: ImageSize) -> int:
    """Patch size used by the ViT and the Mixer when none is given.

    4 for images of at least 16 pixels on each side (28x28 -> 7x7 grid, 32x32 -> 8x8), and 2 for
    smaller ones (8x8 digits -> 4x4 grid), where 4-pixel patches would leave a 2x2 grid.

    Parameters
    ----------
    image_size : int or tuple of int
        Image side, or ``(H, W)``.

    Returns
    -------
    int
        The patch size.

    Examples
    --------
    >>> default_patch_size(28), default_patch_size(32), default_patch_size(8)
    (4, 4, 2)
    """
    return 2 if min(_image_hw(image_size)) < 16 else 4


def _patch_grid(image_size: ImageSize, patch_size: int | None) -> tuple[int, tuple[int, int]]:
    """Resolve the patch size and return it with the token grid ``(h, w)``."""
    h, w = _image_hw(image_size)
    patch = default_patch_size((h, w)) if patch_size is None else patch_size
    check_int(patch, "patch_size")
    if h % patch or w % patch:
        raise ValueError(
            f"image_size={image_size!r} is not divisible by patch_size={patch}; "
            "choose a patch_size that divides the image height and width"
        )
    return patch, (h // patch, w // patch)


def _check_images(model: nn.Module, x: torch.Tensor, size: tuple[int, int] | None) -> None:
    """Raise a readable error for inputs the model was not built for."""
    c = model.in_channels
    if x.ndim != 4 or x.shape[1] != c or (size is not None and tuple(x.shape[2:]) != size):
        expected = f"(B, {c}, {size[0]}, {size[1]})" if size is not None else f"(B, {c}, H, W)"
        raise ValueError(
            f"{type(model).__name__} expects images of shape {expected}, got {tuple(x.shape)}"
        )


# --------------------------------------------------------------------------------------------
# base classes


class _ImageClassifier(nn.Module):
    """Base of the zoo models: validates and stores ``in_channels``, ``n_classes``, ``image_size``.

    ``image_size`` is stored as ``(H, W)``. No other attribute is added, so pickles of the
    models do not depend on this class.
    """

    def __init__(self, in_channels: int, n_classes: int, image_size: ImageSize) -> None:
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels")
        self.n_classes = check_int(n_classes, "n_classes")
        self.image_size = _image_hw(image_size)


class _PatchClassifier(_ImageClassifier):
    """Base of the patch-token models: also resolves ``patch_size`` and the grid ``grid_size``."""

    def __init__(
        self, in_channels: int, n_classes: int, image_size: ImageSize, patch_size: int | None
    ) -> None:
        super().__init__(in_channels, n_classes, image_size)
        self.patch_size, self.grid_size = _patch_grid(image_size, patch_size)


# --------------------------------------------------------------------------------------------
# layers


class _FeedForward(nn.Module):
    """Linear -> GELU -> Linear over the last axis."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class _PatchEmbed(nn.Module):
    """Non-overlapping ``patch x patch`` patches -> ``(B, h * w, dim)`` tokens, row-major."""

    def __init__(self, in_channels: int, dim: int, patch: int):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, patch, patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)
