"""Feature taps by module path and the common feature layout.

SFKD (``sfkd.md`` sections 2.1 and 2.2) distils one intermediate feature of the teacher into the
student. The features of heterogeneous models disagree in layout, so this module

- taps any module's output with a forward hook (:class:`FeatureTap`), chosen by dotted path or
  automatically (:func:`auto_layer`);
- brings every feature to the canonical layout (:func:`to_canonical`): maps ``(B, C, H, W)``,
  or 1-D signals ``(B, 1, D)`` for vector features.

The student-side alignment to the teacher (target grid, projector, vector lift, the teacher's
per-position LayerNorm) is in :mod:`skdistill.nn.vision.projectors`; its names are re-exported
here.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

import torch
from torch import nn

from .layers import _pair
from .projectors import StudentProjector, VectorLift, aligned_grid, channel_layernorm

__all__ = [
    "FeatureTap",
    "StudentProjector",
    "VectorLift",
    "aligned_grid",
    "auto_layer",
    "channel_layernorm",
    "describe_layout",
    "discover_shapes",
    "to_canonical",
]

_MAX_LISTED = 40


# --------------------------------------------------------------------------------------------
# helpers


def _first_tensor(output: Any) -> torch.Tensor | None:
    """The output itself if it is a tensor, else the first tensor of a tuple/list output or
    the first tensor value of a mapping (Hugging Face's ``ModelOutput`` is an ordered dict
    whose first field is the main result, e.g. ``last_hidden_state``)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, Mapping):
        output = list(output.values())
    if isinstance(output, tuple | list):
        return next((o for o in output if isinstance(o, torch.Tensor)), None)
    return None


def _module_names(model: nn.Module) -> list[str]:
    return [name for name, _ in model.named_modules() if name]


def _unknown_path_error(model: nn.Module, path: str) -> ValueError:
    names = _module_names(model)
    close = difflib.get_close_matches(path, names, n=3)
    hint = f" Did you mean {close}?" if close else ""
    shown = ", ".join(names[:_MAX_LISTED])
    more = f", ... and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else ""
    return ValueError(
        f"{type(model).__name__} has no submodule {path!r}.{hint} "
        f"Valid module paths ({len(names)}): {shown}{more}"
    )


def _get_submodule(model: nn.Module, path: str) -> nn.Module:
    if not isinstance(path, str):
        raise TypeError(f"a layer path must be a str, got {type(path).__name__}")
    try:
        return model.get_submodule(path)
    except AttributeError:
        raise _unknown_path_error(model, path) from None


@contextmanager
def _dry_run(model: nn.Module) -> Iterator[None]:
    """Eval mode and no_grad for one forward; restores each submodule's own training flag."""
    # model.train(flag) would reset submodules that the caller deliberately keeps in eval mode.
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for module, flag in flags:
            module.training = flag


def _on_model_device(x: torch.Tensor, model: nn.Module) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"example_input must be a torch.Tensor, got {type(x).__name__}")
    ref = next(model.parameters(), None)
    if ref is None:
        ref = next(model.buffers(), None)
    return x if ref is None else x.to(ref.device)


def _is_parameter_free_leaf(module: nn.Module) -> bool:
    return next(module.children(), None) is None and next(module.parameters(), None) is None


def _n_positions(t: torch.Tensor) -> int:
    # The smaller of the channel-first (dims 2..) and channel-last (dims 1..-1) readings, so
    # that a pooled (B, C, 1, 1) map or a single token (B, 1, D) counts as one position.
    return min(math.prod(t.shape[2:]), math.prod(t.shape[1:-1]))


# --------------------------------------------------------------------------------------------
# taps


class FeatureTap:
    """Capture the output of one submodule, found by its dotted path, with a forward hook.

    Parameters
    ----------
    model : torch.nn.Module
        The model to tap.
    path : str
        Dotted module path as in ``model.named_modules()`` (``"layer3"``, ``"blocks.3"``;
        ``""`` is the model itself).
    detach : bool, default=False
        Store ``output.detach()`` (for a frozen teacher) instead of the output with its graph.

    Attributes
    ----------
    output : torch.Tensor or None
        The latest output of the module; the first tensor when the module returns a tuple or a
        list. None before the first forward pass and after :meth:`clear`.
    module : torch.nn.Module
        The tapped submodule.

    Raises
    ------
    ValueError
        If ``path`` names no submodule; the message lists the valid paths (the first 40, then
        a count) and close matches.

    Notes
    -----
    The hook stays registered until :meth:`remove` is called or the ``with`` block ends. The
    stored output holds on to its autograd graph unless ``detach=True``.

    Examples
    --------
    >>> import torch
    >>> from skdistill.nn.vision import build_model
    >>> model = build_model("cnn", 1, 10, 28)
    >>> with FeatureTap(model, "layer2") as tap:
    ...     logits = model(torch.zeros(2, 1, 28, 28))
    >>> tuple(tap.output.shape)
    (2, 32, 14, 14)
    """

    def __init__(self, model: nn.Module, path: str, *, detach: bool = False):
        self.path = path
        self.module = _get_submodule(model, path)
        self.detach = detach
        self.output: torch.Tensor | None = None
        self._handle: Any = self.module.register_forward_hook(self._hook)

    def _hook(self, module: nn.Module, inputs: Any, output: Any) -> None:
        tensor = _first_tensor(output)
        if tensor is None:
            raise TypeError(
                f"module {self.path!r} ({type(module).__name__}) returned no tensor to tap"
            )
        self.output = tensor.detach() if self.detach else tensor

    @property
    def active(self) -> bool:
        """Whether the hook is still registered."""
        return self._handle is not None

    def clear(self) -> None:
        """Forget the stored output (releases its memory and graph)."""
        self.output = None

    def remove(self) -> None:
        """Unregister the hook; calling it again does nothing."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def __enter__(self) -> FeatureTap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        state = "active" if self.active else "removed"
        return f"FeatureTap(path={self.path!r}, module={type(self.module).__name__}, {state})"


def _record_outputs(
    model: nn.Module, example_input: torch.Tensor
) -> tuple[list[tuple[str, nn.Module, torch.Tensor]], torch.Tensor | None]:
    """Every submodule's output in completion order during one dry pass, and the logits."""
    events: list[tuple[str, nn.Module, torch.Tensor]] = []

    def make_hook(name: str) -> Any:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            tensor = _first_tensor(output)
            if tensor is not None:
                events.append((name, module, tensor))

        return hook

    handles = [
        module.register_forward_hook(make_hook(name))
        for name, module in model.named_modules()
        if name
    ]
    try:
        with _dry_run(model):
            logits = _first_tensor(model(_on_model_device(example_input, model)))
    finally:
        for handle in handles:
            handle.remove()
    return events, logits


def auto_layer(model: nn.Module, example_input: torch.Tensor) -> str:
    """Choose the layer to distil: the last spatial map or token sequence before the head.

    One dry forward pass (eval mode, no_grad, each submodule's training flag restored after)
    records the output of every submodule in completion order. The choice is the last of them
    that

    1. completes before the head, i.e. before the first module whose output *is* the returned
       logits tensor (all modules when none is);
    2. is not a parameter-free leaf (activation, dropout, pooling, flatten, identity): such a
       module only gates or reshapes its input, so the module that produced it is named instead;
    3. is a map or token sequence (rank >= 3) with more than one spatial position (so a pooled
       ``(B, C, 1, 1)`` map does not count);

    and if no output has rank >= 3 (MLPs), the last rank-2 output satisfying 1 and 2.

    A container completes after its children, so a stage (``layer3``) wins over its last block
    or activation when they return the same tensor.

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    example_input : torch.Tensor
        A small batch of valid input (moved to the model's device).

    Returns
    -------
    str
        The dotted module path. For the zoo: ``"layer3"`` (cnn), ``"norm"`` (vit and mixer),
        the last hidden Linear ``"fc2"`` (mlp, before its ReLU).

    Raises
    ------
    ValueError
        If no submodule qualifies (pass the layer path explicitly).

    Examples
    --------
    >>> import torch
    >>> from skdistill.nn.vision import build_model
    >>> auto_layer(build_model("vit", 3, 10, 32), torch.zeros(2, 3, 32, 32))
    'norm'
    """
    events, logits = _record_outputs(model, example_input)
    cut = next((i for i, (_, _, t) in enumerate(events) if t is logits), len(events))
    candidates = [(n, t) for n, m, t in events[:cut] if not _is_parameter_free_leaf(m)]
    for name, t in reversed(candidates):
        if t.ndim >= 3 and _n_positions(t) > 1:
            return name
    for name, t in reversed(candidates):
        if t.ndim == 2:
            return name
    raise ValueError(
        f"could not choose a feature layer of {type(model).__name__} automatically: no submodule "
        "outputs a map, a token sequence or a hidden vector before the head; pass the layer "
        f"path explicitly (valid paths: {_module_names(model)[:_MAX_LISTED]})"
    )


# --------------------------------------------------------------------------------------------
# canonical layout


def _resolve_tokens(
    n_total: int, num_prefix_tokens: int | Literal["auto"], grid_size: Any
) -> tuple[int, tuple[int, int]]:
    """Prefix-token count and patch grid of a ``(B, n_total, D)`` token sequence."""
    if num_prefix_tokens != "auto" and (
        isinstance(num_prefix_tokens, bool)
        or not isinstance(num_prefix_tokens, int)
        or num_prefix_tokens < 0
    ):
        raise ValueError(
            f"num_prefix_tokens must be 'auto' or a non-negative int, got {num_prefix_tokens!r}"
        )
    if grid_size is not None:
        h, w = _pair(grid_size, "grid_size")
        prefix = n_total - h * w if num_prefix_tokens == "auto" else num_prefix_tokens
        if prefix < 0 or prefix + h * w != n_total:
            raise ValueError(
                f"{n_total} tokens do not match grid_size={(h, w)} with "
                f"num_prefix_tokens={num_prefix_tokens!r}"
            )
        return prefix, (h, w)
    if num_prefix_tokens == "auto":
        side = math.isqrt(n_total)
        prefix = n_total - side * side
        # Prefix tokens (class, distillation, register tokens) are few: more than one grid row
        # of leftovers means the grid is not square rather than a long prefix.
        if side == 0 or prefix >= side:
            raise ValueError(
                f"{n_total} tokens are not a square grid plus a few prefix tokens; "
                "pass grid_size=(h, w) (and num_prefix_tokens if there are prefix tokens); for a "
                "distiller's teacher or student, set the model's grid_size attribute"
            )
        return prefix, (side, side)
    n = n_total - num_prefix_tokens
    side = math.isqrt(max(n, 0))
    if n < 1 or side * side != n:
        raise ValueError(
            f"{n_total} tokens minus num_prefix_tokens={num_prefix_tokens} = {n} is not a "
            "square grid; pass grid_size=(h, w)"
        )
    return num_prefix_tokens, (side, side)


def to_canonical(
    feat: torch.Tensor,
    *,
    num_prefix_tokens: int | Literal["auto"] = "auto",
    grid_size: int | tuple[int, int] | None = None,
    channels_last: bool | None = None,
) -> torch.Tensor:
    """Bring a tapped feature to the canonical layout of ``sfkd.md`` section 2.1.

    - 4-D maps ``(B, C, H, W)`` are returned as they are; ``(B, H, W, C)`` maps are permuted
      when ``channels_last=True`` (never guessed: a 4-D map is read as channel-first unless
      told otherwise).
    - 3-D token sequences ``(B, P + N, D)`` lose their ``P`` prefix tokens (class, distillation,
      register tokens, at the front) and the ``N = h * w`` patch tokens, in row-major order, are
      reshaped to ``(B, D, h, w)``.
    - 2-D vectors ``(B, D)`` become 1-D signals ``(B, 1, D)``.

    Parameters
    ----------
    feat : torch.Tensor
        The tapped feature, batch first.
    num_prefix_tokens : int or "auto", default="auto"
        ``P`` for token sequences. "auto": ``N_total - h * w`` with the given ``grid_size``, or
        else with the largest square ``h * w <= N_total``, accepted only when fewer than ``h``
        tokens are left over (a non-square grid would otherwise be misread).
    grid_size : int or tuple of int, optional
        Patch grid ``(h, w)`` of token sequences; needed for non-square grids.
    channels_last : bool, optional
        Whether a 4-D map is ``(B, H, W, C)``. None or False: channel-first.

    Returns
    -------
    torch.Tensor
        ``(B, C, H, W)``, or ``(B, 1, D)`` for vectors.

    Raises
    ------
    ValueError
        For a non-square token count without ``grid_size``, token counts that do not match
        the given grid, or features of rank other than 2, 3 or 4.

    Examples
    --------
    >>> import torch
    >>> tokens = torch.zeros(2, 1 + 7 * 7, 64)  # class token + 7x7 patches
    >>> tuple(to_canonical(tokens).shape)
    (2, 64, 7, 7)
    >>> tuple(to_canonical(torch.zeros(2, 128)).shape)
    (2, 1, 128)
    """
    if not isinstance(feat, torch.Tensor):
        raise TypeError(f"feat must be a torch.Tensor, got {type(feat).__name__}")
    if feat.ndim == 4:
        return feat.permute(0, 3, 1, 2) if channels_last else feat
    if feat.ndim == 3:
        b, n_total, d = feat.shape
        prefix, (h, w) = _resolve_tokens(n_total, num_prefix_tokens, grid_size)
        return feat[:, prefix:].transpose(1, 2).reshape(b, d, h, w)
    if feat.ndim == 2:
        return feat.unsqueeze(1)
    raise ValueError(
        f"cannot canonicalise a feature of shape {tuple(feat.shape)}: expected (B, D) vectors, "
        "(B, tokens, D) sequences or (B, C, H, W) maps"
    )


def describe_layout(shape: tuple[int, ...] | torch.Size) -> str:
    """Describe a canonical feature shape (without the batch axis) in words.

    Parameters
    ----------
    shape : tuple of int
        ``(C, H, W)`` or ``(1, D)``, as returned in ``discover_shapes(...)["canonical_shape"]``.

    Returns
    -------
    str

    Examples
    --------
    >>> describe_layout((64, 7, 7))
    '2-D map: 64 channels, 7x7 grid'
    >>> describe_layout((1, 128))
    '1-D signal: 1 channel of length 128'
    """
    shape = tuple(shape)
    if len(shape) == 3:
        return f"2-D map: {shape[0]} channels, {shape[1]}x{shape[2]} grid"
    if len(shape) == 2:
        plural = "" if shape[0] == 1 else "s"
        return f"1-D signal: {shape[0]} channel{plural} of length {shape[1]}"
    raise ValueError(f"not a canonical feature shape: {shape!r}")


def _layout_kwargs(model: nn.Module, raw: torch.Tensor) -> dict[str, Any]:
    """``to_canonical`` keywords from what the model declares, where they fit the tap."""
    if raw.ndim == 4:
        # timm's convention for channel-last models (e.g. Swin): ``output_fmt = "NHWC"``.
        return {"channels_last": getattr(model, "output_fmt", None) == "NHWC"}
    if raw.ndim == 3:
        grid = getattr(model, "grid_size", None)
        prefix = getattr(model, "num_prefix_tokens", "auto")
        if grid is not None:
            try:
                h, w = _pair(grid, "grid_size")
            except ValueError:
                return {"num_prefix_tokens": "auto", "grid_size": None}
            n_prefix = raw.shape[1] - h * w
            # The declared grid describes the model's main token sequence; a tap elsewhere
            # (e.g. a hierarchical stage) may not match it, and then "auto" decides.
            if n_prefix >= 0 and prefix in ("auto", n_prefix):
                return {"num_prefix_tokens": n_prefix, "grid_size": (h, w)}
        return {"num_prefix_tokens": "auto", "grid_size": None}
    return {}


def discover_shapes(model: nn.Module, layer: str, example_input: torch.Tensor) -> dict[str, Any]:
    """Tap a layer during one dry forward pass and report its raw and canonical shapes.

    Parameters
    ----------
    model : torch.nn.Module
        The model (left unchanged; eval mode and no_grad during the pass).
    layer : str
        Dotted module path, or "auto" for :func:`auto_layer`.
    example_input : torch.Tensor
        A small batch of valid input.

    Returns
    -------
    dict
        ``layer`` (the resolved path), ``raw_shape`` (the tapped output's shape without the
        batch axis), ``canonical_shape`` (``(C, H, W)`` or ``(1, D)``), ``layout`` (a
        description, see :func:`describe_layout`) and ``canonical_kwargs``: the
        :func:`to_canonical` keywords to apply to this tap's outputs in training. They use the
        model's ``grid_size`` / ``num_prefix_tokens`` attributes for token sequences when
        they fit the token count, and its ``output_fmt == "NHWC"`` for channel-last maps.

    Examples
    --------
    >>> import torch
    >>> from skdistill.nn.vision import build_model
    >>> info = discover_shapes(build_model("vit", 1, 10, 28), "auto", torch.zeros(2, 1, 28, 28))
    >>> info["layer"], info["raw_shape"], info["canonical_shape"]
    ('norm', (50, 64), (64, 7, 7))
    """
    path = auto_layer(model, example_input) if layer == "auto" else layer
    with FeatureTap(model, path, detach=True) as tap, _dry_run(model):
        model(_on_model_device(example_input, model))
    raw = tap.output
    if raw is None:
        raise ValueError(f"layer {path!r} was not called during the forward pass")
    kwargs = _layout_kwargs(model, raw)
    canonical = tuple(to_canonical(raw, **kwargs).shape[1:])
    return {
        "layer": path,
        "raw_shape": tuple(raw.shape[1:]),
        "canonical_shape": canonical,
        "layout": describe_layout(canonical),
        "canonical_kwargs": kwargs,
    }
