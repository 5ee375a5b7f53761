"""Plain MLP of the vision zoo: the flattened image through fully connected layers."""

from __future__ import annotations

import torch
from torch import nn

from skdistill._validation import check_int

from .layers import ImageSize, _check_images, _ImageClassifier

__all__ = ["MLPNet"]


class MLPNet(_ImageClassifier):
    """Plain MLP on the flattened image ("mlp" in the zoo).

    ``flatten -> fc1 -> ReLU -> fc2 -> ReLU -> ... -> head``. Its features are vectors, which
    the SFKD taps treat as 1-D signals ``(B, 1, D)`` (or lift to a map with a ``VectorLift``).

    Parameters
    ----------
    in_channels, n_classes : int
        Image channels C and number of classes.
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
        super().__init__(in_channels, n_classes, image_size)
        hidden_sizes = tuple(hidden_sizes)
        if not hidden_sizes:
            raise ValueError("hidden_sizes must contain at least one layer width")
        for i, size in enumerate(hidden_sizes):
            check_int(size, f"hidden_sizes[{i}]")
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
