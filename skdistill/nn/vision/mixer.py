"""MLP-Mixer of the vision zoo (Tolstikhin et al., 2021), sized for small images."""

from __future__ import annotations

import torch
from torch import nn

from skdistill._validation import check_int

from .layers import (
    ImageSize,
    _check_images,
    _FeedForward,
    _PatchClassifier,
    _PatchEmbed,
)

__all__ = ["MLPMixer"]


class _MixerBlock(nn.Module):
    """Mixer block: token mixing across patches, then channel mixing, each pre-norm residual."""

    def __init__(self, n_tokens: int, dim: int, token_hidden: int, channel_hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.token_mlp = _FeedForward(n_tokens, token_hidden)
        self.norm2 = nn.LayerNorm(dim)
        self.channel_mlp = _FeedForward(dim, channel_hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Token mixing acts along the patch axis: move it last for the Linear layers.
        x = x + self.token_mlp(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.channel_mlp(self.norm2(x))


class MLPMixer(_PatchClassifier):
    """Small MLP-Mixer ("mixer" in the zoo).

    Non-overlapping patches are embedded by a strided convolution into ``h * w`` tokens (no
    class token); ``depth`` Mixer blocks alternate a token-mixing MLP (across patches) and a
    channel-mixing MLP (across features), each pre-norm with a residual; a final LayerNorm,
    mean pooling over tokens and a linear head follow.

    Parameters
    ----------
    in_channels, n_classes : int
        Image channels C and number of classes.
    image_size : int or tuple of int
        Image side (or ``(H, W)``); must be divisible by ``patch_size``.
    patch_size : int, optional
        Patch side. Default: :func:`default_patch_size` (4, or 2 below 16 pixels).
    dim : int, default=64
        Hidden (channel) width D.
    depth : int, default=4
        Number of Mixer blocks.
    token_mlp_ratio : float, default=0.5
        Hidden width of the token-mixing MLPs relative to ``dim``.
    channel_mlp_ratio : float, default=2.0
        Hidden width of the channel-mixing MLPs relative to ``dim``.

    Attributes
    ----------
    num_prefix_tokens : int
        0 (no class token).
    grid_size : tuple of int
        Patch grid ``(h, w)``; tokens are in row-major order.
    patch_embed, blocks, norm, head : torch.nn.Module
        The tap-able layers. ``patch_embed``, ``blocks.0`` ... ``blocks.{depth-1}``, ``blocks``
        and ``norm`` output ``(B, h * w, D)``. ``norm`` is the automatic tap.

    Notes
    -----
    Parameter counts with the defaults: 82,062 for ``(in_channels, image_size, n_classes) =
    (1, 28, 10)``, 88,010 for ``(3, 32, 10)`` and 72,714 for ``(1, 8, 10)`` (2x2 patches); the
    token-mixing MLPs grow with the number of patches.

    Examples
    --------
    >>> import torch
    >>> model = MLPMixer(1, 10, 28)
    >>> model.grid_size
    (7, 7)
    >>> model(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    num_prefix_tokens: int = 0

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        image_size: ImageSize,
        *,
        patch_size: int | None = None,
        dim: int = 64,
        depth: int = 4,
        token_mlp_ratio: float = 0.5,
        channel_mlp_ratio: float = 2.0,
    ):
        super().__init__(in_channels, n_classes, image_size, patch_size)
        check_int(dim, "dim")
        check_int(depth, "depth")
        if token_mlp_ratio <= 0 or channel_mlp_ratio <= 0:
            raise ValueError("token_mlp_ratio and channel_mlp_ratio must be positive")
        n_tokens = self.grid_size[0] * self.grid_size[1]
        token_hidden = max(1, round(dim * token_mlp_ratio))
        channel_hidden = max(1, round(dim * channel_mlp_ratio))
        self.patch_embed = _PatchEmbed(in_channels, dim, self.patch_size)
        self.blocks = nn.Sequential(
            *[_MixerBlock(n_tokens, dim, token_hidden, channel_hidden) for _ in range(depth)]
        )
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(self, x, self.image_size)
        tokens = self.norm(self.blocks(self.patch_embed(x)))
        return self.head(tokens.mean(dim=1))
