r"""DS2S: the dual-stream, dual-stage refinement of wavelet sub-bands (SFKD, student side).

Step 2 of SFKD (``specs/sfkd.md`` section 2.4) [paper: a dual-stream, dual-stage module refines the
wavelet sub-bands; ours: all of the design below]. Trainable, and used for training only: the
training layer builds it from the estimators' ``ds2s`` option and hands it to
:class:`~skdistill.losses.sfkd.SFKDLoss`; a fitted estimator predicts without it.

Streams: the low stream ``u = LL_L`` (C channels) and, per level, the high stream
``v_l = cat(H_l, V_l, D_l)`` along channels (3C channels; ``cD_l`` alone on the 1-D path), from
:func:`~skdistill.losses.wavelets.wavelet_subbands`. Student branch only: teacher sub-bands never
enter it (else the loss could vanish without the student learning anything).

* Stage 1, per stream (one module for ``u``, one per level for ``v_l``)::

      x <- x + GELU(BN(Conv1x1(DepthwiseConv3x3(x))))

  [ours] the depthwise convolution pads circularly (the sub-bands of a periodized DWT are
  periodic); the BatchNorm scale is initialised to 0, so stage 1 starts as the identity and
  learns a residual correction (zero-gamma residual init).
* Stage 2a, per stream, a GFNet-style global filter with a learnable complex ``W`` per channel and
  rFFT bin::

      x <- x + irfft2(W * rfft2(x, norm="ortho"), s=x.shape[-2:], norm="ortho")

  [ours] ``W`` is stored as a real tensor ``(..., 2)`` and initialised to 0: identity at start.
* Stage 2b, the two directions, both gates computed from the stage-2a outputs (so their order
  does not matter)::

      g       = sigmoid(Linear(concat_l GAP(|v_l|)))   in (0, 1)^C          high -> low, channels
      gamma_l = sigmoid(Conv1x1_{C -> 1}(up_l(u)))      in (0, 1)^(h_l x w_l)  low -> high, space
      u   <- u   * (1 + g)
      v_l <- v_l * (1 + gamma_l)

  [ours] ``up_l`` is nearest-neighbour upsampling by ``2^(L - l)`` (dyadic: each coarse
  coefficient covers exactly its block); ``gamma_l`` has one channel (a purely spatial gate,
  broadcast over the 3C channels, complementary to the channel gate ``g``). The gate projections
  are initialised to 0, so at initialisation ``g = gamma_l = 1/2`` exactly and DS2S("full") is
  exactly ``1.5 x`` the identity on every band (hence ``F_s = 1.5 S``); the learnable student
  projector absorbs the constant.
* ``mode``: ``"full"`` (both stages), ``"light"`` (stage 1 only: identity at init), ``"none"``
  (identity, no parameters).
* Output: the refined sub-bands; their inverse DWT ``F_s`` is the recombined feature [paper].

Both the circular depthwise convolution and the global filter are per-channel circular
convolutions; on the small grids of the bands (at most 64 points) they are computed as one
batched matmul with their circulant matrices, the same operators without the FFT's and the
circular padding's per-call overhead.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skdistill._validation import check_choice, check_int
from skdistill.losses.wavelets import check_grid, check_grid_size, high_band

__all__ = ["DS2S", "DS2S_MODES"]

#: ``"full"`` (both stages), ``"light"`` (stage 1 only), ``"none"`` (identity, no parameters).
DS2S_MODES = ("full", "light", "none")


# Grids of at most this many points apply their per-channel circular convolutions as dense
# circulant matrices (one batched matmul). DS2S works on the small grids of the wavelet bands,
# where the FFT's per-transform overhead and the circular padding of a depthwise conv dominate
# (at 8 x 8: 2.4x and 1.4x faster, forward plus backward); larger grids keep the FFT / conv.
_DENSE_MAX = 64


def _flat_lags(lags: Tensor, grid: tuple[int, ...]) -> Tensor:
    """Flat grid index of the offsets ``lags`` (..., ndim), each taken mod the grid."""
    strides = torch.tensor([math.prod(grid[i + 1 :]) for i in range(len(grid))])
    return (torch.remainder(lags, torch.tensor(grid)) * strides).sum(-1)


@functools.lru_cache(maxsize=32)
def _lag_index(grid: tuple[int, ...]) -> Tensor:
    """``(n, n)`` flat index of the circular lag ``(p - q) mod grid`` between grid points."""
    coords = torch.cartesian_prod(*(torch.arange(g) for g in grid)).reshape(-1, len(grid))
    return _flat_lags(coords[:, None, :] - coords[None, :, :], grid)


@functools.lru_cache(maxsize=32)
def _tap_lags(grid: tuple[int, ...]) -> Tensor:
    """Flat lag of each tap of a 3-wide circular cross-correlation, in the weight's order.

    Tap ``a`` (offset ``a - 1``) reads ``x[p + a - 1]``, so the convolution kernel holds it at
    lag ``1 - a``; taps that wrap onto the same lag on a grid side < 3 add up, as circular
    padding makes them.
    """
    taps = torch.cartesian_prod(*(torch.arange(3) for _ in grid)).reshape(-1, len(grid))
    return _flat_lags(1 - taps, grid)


def _circular_convolve(x: Tensor, kernel: Tensor) -> Tensor:
    """Per-channel circular convolution ``y[c] = k[c] (*) x[c]`` over the grid, as a matmul.

    ``x`` is (B, C, *grid) and ``kernel`` (C, *grid): ``y[b, c, p] = sum_q k[c, p - q] x[b, c, q]``
    (indices mod the grid), computed with the circulant matrix ``M[c, p, q] = k[c, p - q]``.
    """
    batch, channels, grid = x.shape[0], x.shape[1], tuple(x.shape[2:])
    n = math.prod(grid)
    index = _lag_index(grid).to(x.device)
    # index_select, not [:, index]: its backward is an index_add, not a slower index_put.
    circulant = kernel.reshape(channels, n).index_select(1, index.reshape(-1)).reshape(-1, n, n)
    flat = x.reshape(batch, channels, n).transpose(0, 1)  # (C, B, n)
    return torch.bmm(flat, circulant.transpose(1, 2)).transpose(0, 1).reshape(x.shape)


class _LocalRefine(nn.Module):
    """Stage 1: ``x + GELU(BN(Conv1x1(DepthwiseConv3x3(x))))``, identity at initialisation."""

    def __init__(self, channels: int, ndim: int) -> None:
        super().__init__()
        conv = nn.Conv2d if ndim == 2 else nn.Conv1d
        norm = nn.BatchNorm2d if ndim == 2 else nn.BatchNorm1d
        # Circular padding: the sub-bands of a periodized DWT are periodic signals.
        self.depthwise = conv(
            channels, channels, 3, padding=1, groups=channels, padding_mode="circular"
        )
        self.pointwise = conv(channels, channels, 1)
        self.norm = norm(channels)
        nn.init.zeros_(self.norm.weight)  # zero-gamma: the residual branch starts at GELU(0) = 0

    def _depthwise(self, x: Tensor) -> Tensor:
        grid = tuple(x.shape[2:])
        if math.prod(grid) > _DENSE_MAX:
            return self.depthwise(x)
        channels = x.shape[1]
        # The same circular cross-correlation, as a full-grid convolution kernel.
        kernel = self.depthwise.weight.new_zeros(channels, math.prod(grid)).index_add(
            1, _tap_lags(grid).to(x.device), self.depthwise.weight.reshape(channels, -1)
        )
        bias = self.depthwise.bias.reshape(channels, *([1] * len(grid)))
        return _circular_convolve(x, kernel.reshape(channels, *grid)) + bias

    def forward(self, x: Tensor) -> Tensor:
        return x + F.gelu(self.norm(self.pointwise(self._depthwise(x))))


class _GlobalFilter(nn.Module):
    """Stage 2a: ``x + irfftn(W * rfftn(x))`` with a learnable complex ``W`` (GFNet style)."""

    def __init__(self, channels: int, grid: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = tuple(range(-len(grid), 0))
        # Real storage of a complex tensor; 0 makes the residual stage start as the identity.
        self.weight = nn.Parameter(torch.zeros(channels, *grid[:-1], grid[-1] // 2 + 1, 2))

    def forward(self, x: Tensor) -> Tensor:
        filt = torch.view_as_complex(self.weight)
        grid = x.shape[-len(self.dims) :]
        if math.prod(grid) <= _DENSE_MAX:
            # The filter is a circular convolution; its kernel is the filter applied to a unit
            # impulse (rfftn of the impulse is 1/sqrt(n), so irfftn's default norm gives it).
            kernel = torch.fft.irfftn(filt, s=grid, dim=self.dims)
            return x + _circular_convolve(x, kernel)
        spec = torch.fft.rfftn(x, dim=self.dims, norm="ortho")
        out = torch.fft.irfftn(filt * spec, s=grid, dim=self.dims, norm="ortho")
        return x + out


class DS2S(nn.Module):
    """Dual-stream, dual-stage refinement of wavelet sub-bands (student branch of SFKD).

    The low stream is ``LL_L`` (``channels`` channels), the high stream of level ``l`` is
    ``cat(H_l, V_l, D_l)`` (3 x ``channels``; ``cD_l`` alone on the 1-D path). Stage 1 is a
    residual depthwise-pointwise block per stream, stage 2 a residual global spectral filter per
    stream followed by the high->low channel gate and the low->high spatial gates (see the module
    docstring for the formulas and the [ours] choices).

    Parameters
    ----------
    channels : int
        Channels ``C`` of the decomposed map.
    levels : int
        Number of wavelet levels ``L`` (>= 1).
    grid_size : tuple of int or int
        ``(h, w)`` of the map *before* the DWT (2-D path), or its length (1-D path); every side
        divisible by ``2**levels``.
    mode : {"full", "light", "none"}, default="full"
        Both stages, stage 1 only, or the identity (no parameters).

    Attributes
    ----------
    ndim : int
        1 or 2, the transform dimensionality implied by ``grid_size``.

    Notes
    -----
    At initialisation ``"light"`` is exactly the identity and ``"full"`` is exactly 1.5 times the
    identity (both gates start at ``sigmoid(0) = 1/2`` and multiply by ``1 + 1/2``).

    Examples
    --------
    >>> import torch
    >>> from skdistill.losses.wavelets import wavelet_subbands
    >>> ds2s = DS2S(4, 2, (8, 8))
    >>> bands = wavelet_subbands(torch.randn(2, 4, 8, 8), levels=2)
    >>> out = ds2s(bands)
    >>> [tuple(out[0].shape), tuple(out[1][0].shape), tuple(out[2][2].shape)]
    [(2, 4, 2, 2), (2, 4, 2, 2), (2, 4, 4, 4)]
    """

    def __init__(
        self,
        channels: int,
        levels: int,
        grid_size: tuple[int, int] | int,
        mode: str = "full",
    ) -> None:
        super().__init__()
        self.channels = check_int(channels, "channels")
        self.levels = check_int(levels, "levels")
        self.grid_size = check_grid_size(grid_size)
        check_grid(self.grid_size, self.levels)
        self.mode = check_choice(mode, "mode", DS2S_MODES)
        self.ndim = len(self.grid_size)
        # Band-list order: entry i (i = 1..L) is level L - i + 1; index 0 of the lists = level L.
        self._grids = [
            tuple(n // 2 ** (self.levels - i) for n in self.grid_size) for i in range(self.levels)
        ]
        high = (3 if self.ndim == 2 else 1) * self.channels
        if self.mode == "none":
            return
        self.low_local = _LocalRefine(self.channels, self.ndim)
        self.high_local = nn.ModuleList(_LocalRefine(high, self.ndim) for _ in self._grids)
        if self.mode == "light":
            return
        self.low_global = _GlobalFilter(self.channels, self._grids[0])
        self.high_global = nn.ModuleList(_GlobalFilter(high, g) for g in self._grids)
        self.channel_gate = nn.Linear(self.levels * high, self.channels)
        conv = nn.Conv2d if self.ndim == 2 else nn.Conv1d
        self.spatial_gates = nn.ModuleList(conv(self.channels, 1, 1) for _ in self._grids)
        # Zero projections: both gates start at exactly 1/2 (see Notes), and still learn.
        for layer in (self.channel_gate, *self.spatial_gates):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def _check_bands(self, bands: Sequence) -> None:
        if not isinstance(bands, Sequence) or len(bands) != self.levels + 1:
            raise ValueError(
                f"bands must be a list of {self.levels + 1} entries (LL and {self.levels} "
                "levels) as returned by wavelet_subbands"
            )
        low = bands[0]
        if not isinstance(low, Tensor) or low.ndim != self.ndim + 2:
            raise ValueError(f"bands[0] must be a {self.ndim + 2}-D tensor")
        batch = low.shape[0]
        for i, grid in enumerate(self._grids):
            want = (batch, self.channels, *grid)
            entry = bands[i + 1]
            parts = tuple(entry) if self.ndim == 2 and isinstance(entry, tuple | list) else (entry,)
            if i == 0 and tuple(low.shape) != want:
                raise ValueError(f"bands[0] must have shape {want}, got {tuple(low.shape)}")
            if len(parts) != (3 if self.ndim == 2 else 1) or any(
                not isinstance(p, Tensor) or tuple(p.shape) != want for p in parts
            ):
                kind = "an (H, V, D) tuple of tensors" if self.ndim == 2 else "a tensor"
                raise ValueError(f"bands[{i + 1}] must be {kind} of shape {want}")

    def forward(self, bands: Sequence) -> list:
        """Refine the sub-bands.

        Parameters
        ----------
        bands : list
            Student sub-bands as returned by :func:`wavelet_subbands` for a map of
            (B, ``channels``, ``*grid_size``).

        Returns
        -------
        list
            Refined sub-bands with the same structure and shapes.
        """
        self._check_bands(bands)
        if self.mode == "none":
            return list(bands)
        low = self.low_local(bands[0])
        highs = [m(high_band(b, "band")) for m, b in zip(self.high_local, bands[1:], strict=True)]
        if self.mode == "full":
            low = self.low_global(low)
            highs = [m(h) for m, h in zip(self.high_global, highs, strict=True)]
            space = tuple(range(2, 2 + self.ndim))
            pooled = torch.cat([h.abs().mean(dim=space) for h in highs], dim=1)
            g = torch.sigmoid(self.channel_gate(pooled))  # high -> low, per channel
            gated = []
            for gate, h in zip(self.spatial_gates, highs, strict=True):
                up = low if h.shape[2:] == low.shape[2:] else F.interpolate(low, size=h.shape[2:])
                gated.append(h * (1.0 + torch.sigmoid(gate(up))))  # low -> high, per position
            low = low * (1.0 + g.reshape(*g.shape, *([1] * self.ndim)))
            highs = gated
        if self.ndim == 2:
            return [low, *(tuple(h.chunk(3, dim=1)) for h in highs)]
        return [low, *highs]
