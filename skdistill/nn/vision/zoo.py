"""A small zoo of heterogeneous image classifiers: ResNet-style CNN, ViT, MLP-Mixer and MLP.

The models are sized for 28x28 one-channel (Fashion-MNIST) and 32x32 three-channel (CIFAR-10)
images, and also run on the 8x8 sklearn digits. Every model has the constructor
``(in_channels, n_classes, image_size, **size_kwargs)`` and maps ``(B, C, H, W)`` images to
``(B, n_classes)`` logits. Their intermediate layers have different layouts (spatial maps, token
sequences, vectors), which is what heterogeneous distillation has to bridge; see
:mod:`skdistill.nn.vision.taps`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

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

ImageSize = int | tuple[int, int]


# --------------------------------------------------------------------------------------------
# validation helpers


def _check_positive_int(name: str, value: object) -> int:
    # bool is an int subclass: reject it explicitly so that ``True`` is not read as 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _pair(image_size: ImageSize) -> tuple[int, int]:
    """Return ``(H, W)`` from an int (square image) or a pair of ints."""
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        _check_positive_int("image_size", image_size)
        return image_size, image_size
    if isinstance(image_size, tuple | list) and len(image_size) == 2:
        h, w = image_size
        _check_positive_int("image_size[0]", h)
        _check_positive_int("image_size[1]", w)
        return int(h), int(w)
    raise ValueError(f"image_size must be an int or a pair (H, W) of ints, got {image_size!r}")


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
    return 2 if min(_pair(image_size)) < 16 else 4


def _patch_grid(image_size: ImageSize, patch_size: int | None) -> tuple[int, tuple[int, int]]:
    """Resolve the patch size and return it with the token grid ``(h, w)``."""
    h, w = _pair(image_size)
    patch = default_patch_size((h, w)) if patch_size is None else patch_size
    _check_positive_int("patch_size", patch)
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


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------------------------
# ResNet-style CNN


class _BasicBlock(nn.Module):
    """ResNet BasicBlock: two 3x3 conv-BN layers with an identity (or 1x1 conv-BN) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        # Not in-place: an in-place ReLU would overwrite tensors that a FeatureTap holds.
        self.relu = nn.ReLU()
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNetCNN(nn.Module):
    """Small ResNet-style CNN ("cnn" in the zoo).

    A 3x3 convolution stem followed by three stages of BasicBlocks (widths ``width``,
    ``2 * width``, ``4 * width``; stride 2 at the first block of stages 2 and 3), global average
    pooling and a linear head. BatchNorm after every convolution.

    Parameters
    ----------
    in_channels : int
        Image channels C.
    n_classes : int
        Number of classes.
    image_size : int or tuple of int
        Image side (or ``(H, W)``). Only validated: the network is fully convolutional and its
        parameter count does not depend on it.
    width : int, default=16
        Channels of the first stage.
    blocks_per_stage : int, default=1
        BasicBlocks per stage (1 gives a ResNet-8, 3 the classic CIFAR ResNet-20).

    Attributes
    ----------
    stem, layer1, layer2, layer3, pool, head : torch.nn.Module
        The tap-able stages. For an ``H x W`` input the outputs are ``stem`` and ``layer1``:
        ``(B, width, H, W)``; ``layer2``: ``(B, 2 * width, ceil(H/2), ceil(W/2))``; ``layer3``:
        ``(B, 4 * width, ceil(H/4), ceil(W/4))`` (7x7 for 28x28 inputs, 8x8 for 32x32, 2x2 for
        8x8); ``pool``: ``(B, 4 * width, 1, 1)``. ``layer3`` is the automatic tap.

    Notes
    -----
    Parameter counts with the defaults: 77,754 for ``(in_channels, image_size, n_classes) =
    (1, 28, 10)`` (and ``(1, 8, 10)``) and 78,042 for ``(3, 32, 10)``.

    Examples
    --------
    >>> import torch
    >>> model = ResNetCNN(1, 10, 28)
    >>> model(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        image_size: ImageSize,
        *,
        width: int = 16,
        blocks_per_stage: int = 1,
    ):
        super().__init__()
        self.in_channels = _check_positive_int("in_channels", in_channels)
        self.n_classes = _check_positive_int("n_classes", n_classes)
        self.image_size = _pair(image_size)
        _check_positive_int("width", width)
        _check_positive_int("blocks_per_stage", blocks_per_stage)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
        )
        self.layer1 = self._stage(width, width, 1, blocks_per_stage)
        self.layer2 = self._stage(width, 2 * width, 2, blocks_per_stage)
        self.layer3 = self._stage(2 * width, 4 * width, 2, blocks_per_stage)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(4 * width, n_classes)

    @staticmethod
    def _stage(in_channels: int, out_channels: int, stride: int, n_blocks: int) -> nn.Sequential:
        blocks = [_BasicBlock(in_channels, out_channels, stride)]
        blocks += [_BasicBlock(out_channels, out_channels) for _ in range(n_blocks - 1)]
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(self, x, None)
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.head(torch.flatten(self.pool(x), 1))


# --------------------------------------------------------------------------------------------
# shared transformer / mixer parts


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


# --------------------------------------------------------------------------------------------
# ViT


class VisionTransformer(nn.Module):
    """Small Vision Transformer ("vit" in the zoo).

    Non-overlapping patches are embedded by a strided convolution, a learnable class token is
    prepended and a learned position embedding added; ``depth`` pre-norm transformer blocks and a
    final LayerNorm follow, and the linear head reads the class token.

    Parameters
    ----------
    in_channels : int
        Image channels C.
    n_classes : int
        Number of classes.
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
        super().__init__()
        self.in_channels = _check_positive_int("in_channels", in_channels)
        self.n_classes = _check_positive_int("n_classes", n_classes)
        self.image_size = _pair(image_size)
        self.patch_size, self.grid_size = _patch_grid(image_size, patch_size)
        for name, value in (("dim", dim), ("depth", depth), ("heads", heads)):
            _check_positive_int(name, value)
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


# --------------------------------------------------------------------------------------------
# MLP-Mixer


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


class MLPMixer(nn.Module):
    """Small MLP-Mixer ("mixer" in the zoo).

    Non-overlapping patches are embedded by a strided convolution into ``h * w`` tokens (no
    class token); ``depth`` Mixer blocks alternate a token-mixing MLP (across patches) and a
    channel-mixing MLP (across features), each pre-norm with a residual; a final LayerNorm,
    mean pooling over tokens and a linear head follow.

    Parameters
    ----------
    in_channels : int
        Image channels C.
    n_classes : int
        Number of classes.
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
        super().__init__()
        self.in_channels = _check_positive_int("in_channels", in_channels)
        self.n_classes = _check_positive_int("n_classes", n_classes)
        self.image_size = _pair(image_size)
        self.patch_size, self.grid_size = _patch_grid(image_size, patch_size)
        _check_positive_int("dim", dim)
        _check_positive_int("depth", depth)
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


# --------------------------------------------------------------------------------------------
# MLP


class MLPNet(nn.Module):
    """Plain MLP on the flattened image ("mlp" in the zoo).

    ``flatten -> fc1 -> ReLU -> fc2 -> ReLU -> ... -> head``. Its features are vectors, which
    the SFKD taps treat as 1-D signals ``(B, 1, D)`` (or lift to a map with a ``VectorLift``).

    Parameters
    ----------
    in_channels : int
        Image channels C.
    n_classes : int
        Number of classes.
    image_size : int or tuple of int
        Image side (or ``(H, W)``); fixes the input width ``C * H * W``.
    hidden_sizes : tuple of int, default=(256, 128)
        Widths of the hidden layers ``fc1``, ``fc2``, ...

    Attributes
    ----------
    fc1, fc2, ..., head : torch.nn.Linear
        The tap-able layers, with outputs ``(B, hidden_sizes[i])`` (before the ReLU modules
        ``act1``, ``act2``, ...). The last hidden layer (``fc2`` by default) is the automatic tap.

    Notes
    -----
    Parameter counts with the defaults: 235,146 for ``(in_channels, image_size, n_classes) =
    (1, 28, 10)``, 820,874 for ``(3, 32, 10)`` and 50,826 for ``(1, 8, 10)``.

    Examples
    --------
    >>> import torch
    >>> model = MLPNet(1, 10, 8)
    >>> model(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        image_size: ImageSize,
        *,
        hidden_sizes: tuple[int, ...] = (256, 128),
    ):
        super().__init__()
        self.in_channels = _check_positive_int("in_channels", in_channels)
        self.n_classes = _check_positive_int("n_classes", n_classes)
        self.image_size = _pair(image_size)
        hidden_sizes = tuple(hidden_sizes)
        if not hidden_sizes:
            raise ValueError("hidden_sizes must contain at least one layer width")
        for i, size in enumerate(hidden_sizes):
            _check_positive_int(f"hidden_sizes[{i}]", size)
        self.hidden_sizes = hidden_sizes
        self.flatten = nn.Flatten()
        width = in_channels * self.image_size[0] * self.image_size[1]
        for i, size in enumerate(hidden_sizes, start=1):
            self.add_module(f"fc{i}", nn.Linear(width, size))
            self.add_module(f"act{i}", nn.ReLU())
            width = size
        self.head = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(self, x, self.image_size)
        x = self.flatten(x)
        for i in range(1, len(self.hidden_sizes) + 1):
            x = getattr(self, f"act{i}")(getattr(self, f"fc{i}")(x))
        return self.head(x)


# --------------------------------------------------------------------------------------------
# factory

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
