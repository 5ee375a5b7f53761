r"""Multi-level periodized discrete wavelet transform (DWT) and its inverse, in torch.

Step 1 of SFKD (``specs/sfkd.md`` section 2.3): the aligned student and teacher maps are split into
wavelet sub-bands [paper: a multi-level DWT; ours: the details below]. Pure torch plus the filter
tables of PyWavelets; differentiable and device-agnostic.

Defaults [ours]: ``haar``, ``L = 2`` levels, periodization boundary. For a wavelet with analysis
filters ``h = dec_lo, g = dec_hi`` and synthesis filters ``h~ = rec_lo, g~ = rec_hi`` (even length
``F``, from ``pywt.Wavelet``) and a signal ``x`` of even length ``N``, one periodized analysis step
is::

    a[k] = sum_j h[j] x[(2k + F/2 - j) mod N],    d[k] = sum_j g[j] x[(2k + F/2 - j) mod N]

for ``k = 0 .. N/2 - 1``, and the synthesis step that inverts it is::

    x[m] = sum_k sum_j (a[k] h~[j] + d[k] g~[j]) * [m == (2k + 1 - F/2 + j) mod N]

(the index offsets are PyWavelets' ``mode="periodization"`` conventions, verified against
``pywt.dwt``/``pywt.idwt``). The 2-D step applies it along the rows (axis -2) and the columns
(axis -1); with "detail along axis -2" = ``d`` on rows::

    LL = a_rows a_cols,   H = d_rows a_cols,   V = a_rows d_cols,   D = d_rows d_cols

(PyWavelets' ``cH, cV, cD``). Level ``l`` transforms ``LL_{l-1}`` (``LL_0 = x``) and lives on the
grid ``(H / 2^l, W / 2^l)``. The output order is PyWavelets' ``wavedec2`` order
``[LL_L, (H_L, V_L, D_L), ..., (H_1, V_1, D_1)]``. ``ptwt`` 1.0.1 offers no ``"periodization"``
mode (its ``"periodic"`` is PyWavelets' redundant ``"periodic"`` mode with larger outputs), so the
transform is implemented here as sums of scaled strided views of the signal along any axis
(analysis, after a circular index gather unless the filter has two taps) and their inverse (a
circular ``index_add``; two taps only interleave).

1-D path [ours]: a (B, C, L) tensor is transformed along its last axis, in ``pywt.wavedec`` order
``[cA_L, cD_L, ..., cD_1]`` (vector features of MLP students, see :mod:`skdistill.losses.sfkd`).
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Sequence

import pywt
import torch
from torch import Tensor

from skdistill._validation import check_int

__all__ = ["inverse_wavelet_subbands", "wavelet_subbands"]

_EXAMPLE_WAVELETS = "'haar', 'db2', 'sym4', 'coif1', 'bior2.2'"
_DISCRETE_WAVELETS = frozenset(pywt.wavelist(kind="discrete"))


# --------------------------------------------------------------------------- checks (shared)
def check_wavelet(wavelet: str) -> str:
    """``wavelet``, or ValueError unless it names a discrete PyWavelets wavelet."""
    if not isinstance(wavelet, str) or wavelet not in _DISCRETE_WAVELETS:
        raise ValueError(
            f"wavelet must name a discrete PyWavelets wavelet, e.g. {_EXAMPLE_WAVELETS} "
            f"(all: pywt.wavelist(kind='discrete')), got {wavelet!r}"
        )
    return wavelet


def _max_levels(size: int) -> int:
    """Largest ``l`` with ``size`` divisible by ``2**l``."""
    return (size & -size).bit_length() - 1 if size > 0 else 0


def check_grid(grid: Sequence[int], levels: int) -> None:
    """ValueError unless every side of ``grid`` is divisible by ``2**levels``."""
    step = 2**levels
    if any(n % step or n == 0 for n in grid):
        ok = min(_max_levels(n) for n in grid)
        hint = (
            f"use levels <= {ok}"
            if ok >= 1
            else "resize the map to a grid divisible by 2 (or a power of 2)"
        )
        raise ValueError(
            f"levels={levels} needs every grid side divisible by 2**levels = {step}, got grid "
            f"{'x'.join(map(str, grid))}; {hint}"
        )


def check_grid_size(grid_size: int | Sequence[int]) -> tuple[int, ...]:
    """``(h, w)`` (2-D path) or ``(length,)`` (1-D path) from ``grid_size``, validated."""
    grid = (grid_size,) if isinstance(grid_size, numbers.Integral) else tuple(grid_size)
    if len(grid) not in (1, 2) or any(
        not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1 for n in grid
    ):
        raise ValueError(
            "grid_size must be (h, w) of the input map (2-D path) or one int / (length,) "
            f"(1-D path), with positive ints, got {grid_size!r}"
        )
    return tuple(int(n) for n in grid)


def check_map(x: Tensor, name: str) -> int:
    """Validate a (B, C, H, W) or (B, C, L) floating tensor; return the transform's ndim."""
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.ndim not in (3, 4):
        raise ValueError(
            f"{name} must be a floating tensor (B, C, H, W) (2-D transform) or (B, C, L) "
            f"(1-D transform), got {getattr(x, 'dtype', type(x).__name__)} "
            f"{tuple(getattr(x, 'shape', ()))}"
        )
    return x.ndim - 2


# --------------------------------------------------------------------------- periodized DWT core
@functools.lru_cache(maxsize=64)
def _filter_table(wavelet: str) -> tuple[tuple[float, ...], ...]:
    w = pywt.Wavelet(wavelet)
    return tuple(w.dec_lo), tuple(w.dec_hi), tuple(w.rec_lo), tuple(w.rec_hi)


# Why sums of scaled strided views, not an einsum or conv1d: the filters have 2 to ~20 taps, so
# any matmul form has an inner dimension of 2 (the einsum became batched 2 x 2 matmuls plus copies
# of moved axes, a third of an SFKD loss step) and conv1d over many short rows is slower still.
# Scaled views are elementwise and work along any axis, so the 2-D step moves no axes.
def _weighted_sum(coefs: Sequence[float], terms: Sequence[Tensor]) -> Tensor:
    out = coefs[0] * terms[0]
    for c, t in zip(coefs[1:], terms[1:], strict=True):
        out = out.add(t, alpha=c)
    return out


def _analysis(
    x: Tensor, lo: Sequence[float], hi: Sequence[float], dim: int
) -> tuple[Tensor, Tensor]:
    """One periodized analysis step along ``dim`` (negative): ``(a, d)``, each half as long."""
    n, f = x.shape[dim], len(lo)
    if f == 2 and n % 2 == 0:
        # Haar (the default): the circular index below is the identity, the windows the pairs.
        taps = x.unflatten(dim, (n // 2, 2)).unbind(dim)
    else:
        # xp[p] = x[(p + 1 - F/2) mod N]; its stride-2 windows give
        # a[k] = sum_j h[j] x[(2k + F/2 - j) mod N] (also when F > N: the index wraps again).
        idx = torch.remainder(torch.arange(n + f - 2, device=x.device) + 1 - f // 2, n)
        taps = x.index_select(dim, idx).unfold(dim, f, 2).unbind(-1)  # views, window axis last
    # Tap j of a window meets h[F - 1 - j]: the correlation flips the filter.
    return _weighted_sum(lo[::-1], taps), _weighted_sum(hi[::-1], taps)


def _synthesis(a: Tensor, d: Tensor, lo: Sequence[float], hi: Sequence[float], dim: int) -> Tensor:
    """One periodized synthesis step along ``dim`` (negative): the inverse of :func:`_analysis`."""
    m, f = a.shape[dim], len(lo)
    # up[2k + j] = a[k] h~[j] + d[k] g~[j], with (k, j) as two axes at dim - 1, dim.
    up = torch.stack([_weighted_sum((lo[j], hi[j]), (a, d)) for j in range(f)], dim=dim)
    if f == 2:
        # Haar: the circular fold below puts up[p] at p, once each; interleaving is the sum.
        return up.flatten(dim - 1, dim)
    # Folded circularly: x[(p + 1 - F/2) mod N] += up[p].
    pos = 2 * torch.arange(m, device=a.device)[:, None] + torch.arange(f, device=a.device)
    idx = torch.remainder(pos + 1 - f // 2, 2 * m).reshape(-1)
    shape = list(a.shape)
    shape[dim] = 2 * m
    return a.new_zeros(shape).index_add(dim, idx, up.flatten(dim - 1, dim))


def _dwt2_level(
    x: Tensor, lo: Sequence[float], hi: Sequence[float]
) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor]]:
    """One 2-D step on (..., H, W): LL and PyWavelets' (cH, cV, cD)."""
    col_a, col_d = _analysis(x, lo, hi, -1)
    ll, h = _analysis(col_a, lo, hi, -2)  # cH: detail along the rows (axis -2)
    v, d = _analysis(col_d, lo, hi, -2)  # cV: detail along the columns
    return ll, (h, v, d)


def _idwt2_level(
    ll: Tensor, h: Tensor, v: Tensor, d: Tensor, lo: Sequence[float], hi: Sequence[float]
) -> Tensor:
    """Inverse of :func:`_dwt2_level`."""
    return _synthesis(_synthesis(ll, h, lo, hi, -2), _synthesis(v, d, lo, hi, -2), lo, hi, -1)


def wavelet_subbands(x: Tensor, *, wavelet: str = "haar", levels: int = 2) -> list:
    """Multi-level periodized DWT of a feature map, in PyWavelets' ``wavedec2`` order.

    Parameters
    ----------
    x : Tensor
        Floating tensor (B, C, H, W): 2-D transform over the last two axes. A (B, C, L) tensor
        takes the 1-D path (transform over the last axis, ``pywt.wavedec`` order).
    wavelet : str, default="haar"
        Name of a discrete PyWavelets wavelet (``pywt.wavelist(kind="discrete")``).
    levels : int, default=2
        Number of levels, >= 1; every transformed side must be divisible by ``2**levels``.

    Returns
    -------
    list
        2-D: ``[LL_L, (H_L, V_L, D_L), ..., (H_1, V_1, D_1)]``, level ``l`` of shape
        (B, C, H / 2^l, W / 2^l); equal to ``pywt.wavedec2(x, wavelet, mode="periodization",
        level=levels, axes=(-2, -1))``. 1-D: ``[cA_L, cD_L, ..., cD_1]``, equal to
        ``pywt.wavedec(x, wavelet, mode="periodization", level=levels, axis=-1)``.

    Raises
    ------
    ValueError
        If ``x`` is not a 3-D/4-D floating tensor, ``levels`` is not an int >= 1, the grid is not
        divisible by ``2**levels`` or the wavelet is unknown.

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> bands = wavelet_subbands(x, levels=1)
    >>> bands[0]  # haar LL: 2 * (mean of each 2x2 block)
    tensor([[[[ 5.,  9.],
              [21., 25.]]]])
    >>> [tuple(b.shape) for b in bands[1]]
    [(1, 1, 2, 2), (1, 1, 2, 2), (1, 1, 2, 2)]
    """
    nd = check_map(x, "x")
    levels = check_int(levels, "levels")
    check_grid(x.shape[-nd:], levels)
    lo, hi = _filter_table(check_wavelet(wavelet))[:2]
    details: list = []
    approx = x
    for _ in range(levels):
        if nd == 2:
            approx, det = _dwt2_level(approx, lo, hi)
        else:
            approx, det = _analysis(approx, lo, hi, -1)
        details.append(det)
    return [approx, *details[::-1]]


def inverse_wavelet_subbands(coeffs: Sequence, *, wavelet: str = "haar") -> Tensor:
    """Inverse of :func:`wavelet_subbands` (periodized multi-level IDWT).

    Parameters
    ----------
    coeffs : list
        ``[LL_L, (H_L, V_L, D_L), ..., (H_1, V_1, D_1)]`` of (B, C, h, w) tensors (2-D) or
        ``[cA_L, cD_L, ..., cD_1]`` of (B, C, n) tensors (1-D); each level's details have the
        shape of the approximation they combine with.
    wavelet : str, default="haar"
        The wavelet used for the decomposition.

    Returns
    -------
    Tensor
        The reconstructed map, (B, C, H, W) or (B, C, L); equal to ``pywt.waverec2`` /
        ``pywt.waverec`` with ``mode="periodization"``.

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(2, 3, 8, 8)
    >>> y = inverse_wavelet_subbands(wavelet_subbands(x, wavelet="db2"), wavelet="db2")
    >>> bool(torch.allclose(x, y, atol=1e-5))
    True
    """
    if not isinstance(coeffs, Sequence) or isinstance(coeffs, Tensor) or len(coeffs) < 2:
        raise ValueError(
            "coeffs must be a list [approximation, details_L, ..., details_1] with at least one "
            "level, as returned by wavelet_subbands"
        )
    approx = coeffs[0]
    nd = check_map(approx, "coeffs[0]")
    lo, hi = _filter_table(check_wavelet(wavelet))[2:]
    for i, det in enumerate(coeffs[1:], start=1):
        parts = tuple(det) if nd == 2 and isinstance(det, tuple | list) else (det,)
        if len(parts) != (3 if nd == 2 else 1) or any(
            not isinstance(p, Tensor) or p.shape != approx.shape for p in parts
        ):
            want = "a (H, V, D) tuple of tensors" if nd == 2 else "one tensor"
            raise ValueError(
                f"coeffs[{i}] must be {want} of shape {tuple(approx.shape)} (the approximation "
                "it combines with)"
            )
        if nd == 2:
            approx = _idwt2_level(approx, *parts, lo, hi)
        else:
            approx = _synthesis(approx, parts[0], lo, hi, -1)
    return approx


def high_band(band: object, where: str) -> Tensor:
    """A level's detail entry as one tensor: ``cat(H, V, D)`` along channels, or the 1-D band."""
    if isinstance(band, Tensor):
        return band
    if (
        isinstance(band, tuple | list)
        and len(band) == 3
        and all(isinstance(b, Tensor) for b in band)
    ):
        return torch.cat(list(band), dim=1)
    raise ValueError(f"{where} must be an (H, V, D) tuple of tensors (2-D) or a tensor (1-D)")
