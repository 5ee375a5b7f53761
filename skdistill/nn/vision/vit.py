"""Vision Transformer of the vision zoo (Dosovitskiy et al., 2021), sized for small images."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from skdistill._validation import check_int

from .layers import (
    ImageSize,
    _check_images,
    _FeedForward,
    _PatchClassifier,
    _PatchEmbed,
)

__all__ = ["VisionTransformer"]


class _Attention(nn.Module):
    """Multi-head self-attention with a fused qkv projection."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class _TransformerBlock(nn.Module):
    """Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x))."""

    def __init__(self, dim: int, heads: int, mlp_hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = _Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = _FeedForward(dim, mlp_hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(_PatchClassifier):
    """Small Vision Transformer ("vit" in the zoo).

    Non-overlapping patches are embedded by a strided convolution, a learnable class token is
    prepended and a learned position embedding added; ``depth`` pre-norm transformer blocks and a
    final LayerNorm follow, and the linear head reads the class token.

    Parameters
    ----------
    in_channels, n_classes : int
        Image channels C and number of classes.
    image_size : int or tuple of int
        Image side (or ``(H, W)``); must be divisible by ``patch_size``.
    patch_size : int, optional
        Patch side. Default: :func:`default_patch_size`, i.e. 4 (28x28 -> 7x7 grid, 32x32 ->
        8x8), or 2 for images smaller than 16 pixels (8x8 -> 4x4).
    dim : int, default=64
        Embedding width D.
    depth : int, default=4
        Number of transformer blocks.
    heads : int, default=4
        Attention heads; must divide ``dim``.
    mlp_ratio : float, default=2.0
        Hidden width of the block MLPs relative to ``dim``.

    Attributes
    ----------
    num_prefix_tokens : int
        1 (the class token, first in the sequence).
    grid_size : tuple of int
        Patch grid ``(h, w)``; patch tokens are in row-major order.
    patch_embed, blocks, norm, head : torch.nn.Module
        The tap-able layers. ``patch_embed`` outputs ``(B, h * w, D)`` tokens (no class token);
        ``blocks.0`` ... ``blocks.{depth-1}``, ``blocks`` and ``norm`` output
        ``(B, 1 + h * w, D)``. ``norm`` is the automatic tap.

    Notes
    -----
    Parameter counts with the defaults: 139,018 for ``(in_channels, image_size, n_classes) =
    (1, 28, 10)``, 142,026 for ``(3, 32, 10)`` and 136,138 for ``(1, 8, 10)`` (2x2 patches).

    Examples
    --------
    >>> import torch
    >>> model = VisionTransformer(3, 10, 32)
    >>> model.grid_size, model.num_prefix_tokens
    ((8, 8), 1)
    >>> model(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """

    num_prefix_tokens: int = 1

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        image_size: ImageSize,
        *,
        patch_size: int | None = None,
        dim: int = 64,
        depth: int = 4,
        heads: int = 4,
        mlp_ratio: float = 2.0,
    ):
        super().__init__(in_channels, n_classes, image_size, patch_size)
        for name, value in (("dim", dim), ("depth", depth), ("heads", heads)):
            check_int(value, name)
        if dim % heads:
            raise ValueError(f"dim={dim} must be divisible by heads={heads}")
        if mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be positive, got {mlp_ratio!r}")
        n_tokens = self.grid_size[0] * self.grid_size[1]
        self.patch_embed = _PatchEmbed(in_channels, dim, self.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + n_tokens, dim))
        # Small-std init as in ViT/DeiT: a zero position embedding would make patches permutable.
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        hidden = max(1, round(dim * mlp_ratio))
        self.blocks = nn.Sequential(*[_TransformerBlock(dim, heads, hidden) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(self, x, self.image_size)
        tokens = self.patch_embed(x)
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat([cls, tokens], dim=1) + self.pos_embed
        tokens = self.norm(self.blocks(tokens))
        return self.head(tokens[:, 0])
