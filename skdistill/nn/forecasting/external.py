"""Any forecasting ``torch.nn.Module`` seen as one of the package's forecasting modules.

:class:`ExternalForecaster` wraps a module that this package did not write (a user's own
forecaster, a Hugging Face model, ...) behind the interface every forecasting module here
has: ``forward(x)`` maps a window ``(B, L, C)`` to ``(B, H, C)``, ``forward_features(x)``
returns ``(prediction, feature (B, C, feature_dim))`` from the same pass. The training layer
then distils it like the package's own teachers, at both levels.

What the wrapper has to be told, because a foreign module's conventions cannot be guessed:

- how the window is passed: positionally in ``(B, L, C)`` ("BLC") or ``(B, C, L)`` ("BCL")
  layout, or as a keyword argument (``input_name``, e.g. ``past_values`` for Hugging Face);
- where the forecast is in the output: the output itself, an item of a tuple (an int) or a
  field of a mapping / attribute of an output object (a str, e.g. ``prediction_outputs``),
  in ``(B, H, C)`` ("BHC") or ``(B, C, H)`` ("BCH") layout;
- which submodule's output is the hidden feature (``teacher_layer``: a module path, or
  "auto", see :func:`auto_channel_layer`), captured by a forward hook, and how it becomes one
  token per channel (:func:`channel_tokens`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from skdistill._validation import check_choice, check_int
from skdistill.nn.vision.taps import (
    FeatureTap,
    _dry_run,
    _first_tensor,
    _get_submodule,
    _is_parameter_free_leaf,
)

from .layers import _check_forecast_input

__all__ = ["ExternalForecaster", "auto_channel_layer", "channel_tokens"]

INPUT_LAYOUTS = ("BLC", "BCL")
OUTPUT_LAYOUTS = ("BHC", "BCH")
FEATURE_POOLINGS = ("flatten", "mean")
_MAX_LISTED = 40


def probe_batch_size(n_channels: int) -> int:
    """A batch size for a probing pass that differs from the channel count, so that the batch
    axis, a folded batch x channel axis and the channel axis cannot be confused."""
    return 3 if n_channels == 2 else 2


def channel_tokens(
    t: torch.Tensor, batch: int, n_channels: int, pooling: str = "flatten"
) -> torch.Tensor | None:
    """Read a hidden tensor as one token per channel ``(B, C, d)``; None if it is not per channel.

    Readings, in this order (B batch, C channels):

    1. ``(B, C, ...)``: channel-first tokens (iTransformer's variate tokens ``(B, C, d)``,
       Hugging Face PatchTST's encoder output ``(B, C, n_patches, d_model)``);
    2. ``(B * C, ...)``: a channel-independent model that folded the channels into the batch,
       batch-major (the common ``x.permute(0, 2, 1).reshape(B * C, L)``);
    3. ``(B, ..., C)``: channel-last (a ``(B, L, C)``-like tensor).

    ``pooling="flatten"`` joins every axis after the channel's into one token (PatchTST:
    ``n_patches * d_model``, the TimeDistill paper's reading); ``"mean"`` first averages the
    axes between the channel's and the last (patches, positions), keeping ``d_model``: a much
    smaller feature for long look-backs or wide foundation models.
    """
    B, C = int(batch), int(n_channels)
    if t.ndim >= 3 and t.shape[0] == B and t.shape[1] == C:
        tokens = t
    elif t.ndim >= 2 and t.shape[0] == B * C:
        tokens = t.reshape(B, C, *t.shape[1:])
    elif t.ndim >= 3 and t.shape[0] == B and t.shape[-1] == C:
        tokens = t.movedim(-1, 1)
    else:
        return None
    if tokens.ndim == 2:
        tokens = tokens.unsqueeze(-1)
    if pooling == "mean" and tokens.ndim > 3:
        tokens = tokens.mean(dim=tuple(range(2, tokens.ndim - 1)))
    return tokens.reshape(B, C, -1)


def _record_passes(wrapper: ExternalForecaster, example: torch.Tensor) -> tuple[list, torch.Tensor]:
    """Each submodule's output in completion order, with the pass's clock at its start and end,
    and the prediction: ``[(name, module, tensor, start, end)], pred``."""
    clock = itertools.count()
    starts: dict[str, int] = {}
    events: list[tuple[str, nn.Module, torch.Tensor, int, int]] = []

    def before(name: str):
        def hook(module: nn.Module, args: Any) -> None:
            starts[name] = next(clock)

        return hook

    def after(name: str):
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            tensor = _first_tensor(output)
            if tensor is not None:
                events.append((name, module, tensor, starts[name], next(clock)))

        return hook

    handles = []
    for name, module in wrapper.module.named_modules():
        if name:
            handles.append(module.register_forward_pre_hook(before(name)))
            handles.append(module.register_forward_hook(after(name)))
    try:
        pred = wrapper(example)
    finally:
        for handle in handles:
            handle.remove()
    return events, pred


def auto_channel_layer(wrapper: ExternalForecaster, example: torch.Tensor) -> str:
    """Choose the hidden layer to distil: the last per-channel representation before the head.

    One pass (eval mode, no_grad, each submodule's training flag restored after) records when
    every submodule starts and completes and what it returns (the first tensor of a tuple or
    of a mapping such as Hugging Face's ``ModelOutput``). The *head* is the submodule whose
    output is the last forecast-shaped tensor (``(B, H, C)``, ``(B, C, H)`` or
    ``(B * C, H)``). The choice is the last submodule that

    1. completes before the head starts;
    2. is not a parameter-free leaf (activation, dropout, flatten, identity): such a module
       only gates or reshapes, so the module that produced its input is named instead;
    3. returns a tensor that :func:`channel_tokens` reads as one token per channel with at
       least 2 values, and that is not itself forecast-shaped.

    A container completes after its children, so a whole encoder (or backbone) wins over its
    last layer when both qualify: Hugging Face's ``PatchTSTForPrediction`` gives ``"model"``
    (the backbone, whose first output is the encoder's ``(B, C, n_patches, d_model)``);
    a module ``encoder -> head`` gives ``"encoder"``.

    Parameters
    ----------
    wrapper : ExternalForecaster
        The wrapped module, its input and output declarations set.
    example : torch.Tensor of shape (B, L, C)
        A probing batch, B as :func:`probe_batch_size` chooses.

    Returns
    -------
    str
        The module path.

    Raises
    ------
    ValueError
        If no submodule qualifies; the message lists the submodules' output shapes.
    """
    events, pred = _record_passes(wrapper, example)
    B, H, C = pred.shape[0], pred.shape[1], wrapper.n_channels
    forecast_like = {(B, H, C), (B, C, H), (B * C, H)}
    heads = [start for _, _, t, start, _ in events if tuple(t.shape) in forecast_like]
    cut = heads[-1] if heads else math.inf
    for name, module, t, _, end in reversed(events):
        if end > cut or _is_parameter_free_leaf(module) or tuple(t.shape) in forecast_like:
            continue
        tokens = channel_tokens(t, B, C)
        if tokens is not None and tokens.shape[-1] >= 2:
            return name
    seen = [f"{n}: {tuple(t.shape)}" for n, _, t, _, _ in events[:_MAX_LISTED]]
    raise ValueError(
        f"teacher_layer='auto' found no per-channel hidden layer before the head of "
        f"{type(wrapper.module).__name__} (batch {B}, {C} channels; a feature must be "
        f"(B, C, ...), (B*C, ...) or (B, ..., C)). Pass teacher_layer='<module path>' "
        f"explicitly. Submodule outputs in the probing pass: {seen}"
    )


class ExternalForecaster(nn.Module):
    """A forecasting module written elsewhere, with the interface of the package's modules.

    Parameters
    ----------
    module : torch.nn.Module
        The forecaster. Never trained, and never changed by this wrapper: each pass runs it in
        eval mode under ``no_grad`` and restores every submodule's training flag after. The
        only change made to it is a move to the device of the input it is given.
    window_length : int
        Look-back L it takes.
    n_channels : int
        Channels C it forecasts.
    input_layout : {"BLC", "BCL"}, default="BLC"
        Axis order of the window it takes.
    input_name : str or None, default=None
        None: the window is the first positional argument; a str: the keyword it is passed as
        (e.g. ``"past_values"`` for Hugging Face time-series models).
    output : None, int or str, default=None
        Where the forecast is in the module's output: None, the output is the tensor; an int,
        an index into a tuple or list; a str, a key of a mapping or an attribute of an output
        object (e.g. ``"prediction_outputs"``).
    output_layout : {"BHC", "BCH"}, default="BHC"
        Axis order of the forecast.
    teacher_layer : str, default="auto"
        Module path (as in ``module.named_modules()``) whose output is the distilled feature,
        or "auto" (:func:`auto_channel_layer`). Resolved by :meth:`probe`.
    feature_pooling : {"flatten", "mean"}, default="flatten"
        How the hooked tensor becomes one token per channel (:func:`channel_tokens`).

    Attributes
    ----------
    horizon, layer, feature_dim : int, str, int
        Set by :meth:`probe`: the module's horizon H, the resolved feature path and the
        token width d.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skdistill.nn.forecasting import ExternalForecaster
    >>> class Net(nn.Module):  # (B, C, L) -> (B, C, H), channel-independent
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.body = nn.Sequential(nn.Linear(48, 16), nn.ReLU())
    ...         self.head = nn.Linear(16, 12)
    ...     def forward(self, x):
    ...         return self.head(self.body(x))
    >>> wrapped = ExternalForecaster(Net(), 48, 7, input_layout="BCL", output_layout="BCH")
    >>> wrapped = wrapped.probe(torch.randn(2, 48, 7))
    >>> wrapped.horizon, wrapped.layer, wrapped.feature_dim
    (12, 'body', 16)
    >>> pred, feat = wrapped.forward_features(torch.randn(5, 48, 7))
    >>> tuple(pred.shape), tuple(feat.shape)
    ((5, 12, 7), (5, 7, 16))
    """

    def __init__(
        self,
        module: nn.Module,
        window_length: int,
        n_channels: int,
        *,
        input_layout: str = "BLC",
        input_name: str | None = None,
        output: int | str | None = None,
        output_layout: str = "BHC",
        teacher_layer: str = "auto",
        feature_pooling: str = "flatten",
    ) -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module; got {type(module).__name__}.")
        # Held outside nn.Module's registry on purpose: whatever holds this wrapper (the
        # training layer moves, freezes and switches the mode of its teachers) never reaches
        # the user's module through .to(), .eval(), requires_grad_() or parameters().
        self.__dict__["module"] = module
        self.window_length = check_int(window_length, "window_length")
        self.n_channels = check_int(n_channels, "n_channels")
        self.input_layout = check_choice(input_layout, "input_layout", INPUT_LAYOUTS)
        self.output_layout = check_choice(output_layout, "output_layout", OUTPUT_LAYOUTS)
        self.feature_pooling = check_choice(feature_pooling, "feature_pooling", FEATURE_POOLINGS)
        self.input_name = input_name
        self.output = output
        self.teacher_layer = teacher_layer
        self.horizon: int | None = None
        self.layer: str | None = None
        self.feature_dim: int | None = None

    # --- one pass ----------------------------------------------------------------------------
    def _run(self, x: torch.Tensor) -> Any:
        """The module's raw output for windows ``x`` (B, L, C), passed as declared."""
        module = self.module
        ref = next(itertools.chain(module.parameters(), module.buffers()), None)
        if ref is not None:
            if ref.device != x.device:
                module.to(x.device)
            if ref.is_floating_point():
                x = x.to(ref.dtype)
        if self.input_layout == "BCL":
            x = x.transpose(1, 2).contiguous()
        with _dry_run(module):
            return module(**{self.input_name: x}) if self.input_name else module(x)

    def _prediction(self, out: Any, batch: int) -> torch.Tensor:
        """The forecast ``(B, H, C)`` found in ``out`` as declared; ValueError naming the fix."""
        value = _select(out, self.output)
        if not isinstance(value, torch.Tensor):
            raise ValueError(_not_a_tensor(out, value, self.output))
        pred = value.transpose(1, 2) if self.output_layout == "BCH" and value.ndim == 3 else value
        H = self.horizon
        if (
            pred.ndim != 3
            or pred.shape[0] != batch
            or pred.shape[2] != self.n_channels
            or (H is not None and pred.shape[1] != H)
        ):
            raise ValueError(self._bad_shape(tuple(value.shape), batch))
        return pred.float()

    def _bad_shape(self, shape: tuple, batch: int) -> str:
        C, H = self.n_channels, self.horizon or "H"
        names = {"BHC": "(batch, horizon, channels)", "BCH": "(batch, channels, horizon)"}
        expected = (batch, H, C) if self.output_layout == "BHC" else (batch, C, H)
        text = (
            f"the module's forecast (output={self.output!r}) has shape {shape}; with "
            f"output_layout={self.output_layout!r} it must be {expected} = "
            f"{names[self.output_layout]}."
        )
        other = "BCH" if self.output_layout == "BHC" else "BHC"
        channel_axis = 1 if other == "BCH" else 2
        if len(shape) == 3 and shape[0] == batch and shape[channel_axis] == C:
            return f"{text} It reads as {names[other]}: set output_layout={other!r}."
        return (
            f"{text} Check output (where the forecast is), output_layout, and that the module "
            f"forecasts the {C} columns given (columns, n_channels)."
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Forecast ``(B, H, C)`` from windows ``x`` (B, L, C) in the module's units."""
        _check_forecast_input(x, self.window_length, self.n_channels)
        return self._prediction(self._run(x), x.shape[0])

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(forecast (B, H, C), feature (B, C, feature_dim))`` from one pass over ``x``."""
        if self.layer is None:
            raise RuntimeError("call probe(example) first: the feature layer is not resolved.")
        with FeatureTap(self.module, self.layer, detach=True) as tap:
            pred = self.forward(x)
        if tap.output is None:
            raise ValueError(
                f"teacher_layer={self.layer!r} did not run in the module's forward pass; "
                "choose a submodule that the forward pass calls (or teacher_layer='auto')."
            )
        feat = channel_tokens(tap.output, x.shape[0], self.n_channels, self.feature_pooling)
        if feat is None:
            raise ValueError(
                f"teacher_layer={self.layer!r} returns a tensor of shape "
                f"{tuple(tap.output.shape)}, which is not one token per channel for batch "
                f"{x.shape[0]} and {self.n_channels} channels: expected (B, C, ...), (B*C, ...) "
                "or (B, ..., C). Choose another module path, or teacher_layer='auto'."
            )
        return pred, feat.float()

    # --- checking the declarations -----------------------------------------------------------
    @torch.no_grad()
    def probe(self, example: torch.Tensor) -> ExternalForecaster:
        """Run one batch ``(B, L, C)`` through the module, check every declaration, and set
        ``horizon``, ``layer`` and ``feature_dim``. Returns self.

        Raises
        ------
        ValueError
            Naming the declaration to fix: the module fails on the input (``input_layout``,
            ``input_name``, ``window_length``, the channels), the forecast is not found or
            not ``(B, H, C)`` (``output``, ``output_layout``), the prediction is not finite,
            or ``teacher_layer`` names no suitable submodule.
        """
        _check_forecast_input(example, self.window_length, self.n_channels)
        try:
            out = self._run(example)
        except Exception as exc:  # the module's own error, whatever its type: say what to check
            how = f"as {self.input_name}=" if self.input_name else "positionally"
            raise ValueError(
                f"{type(self.module).__name__} failed on a window passed {how} in "
                f"{self.input_layout} layout, shape {_passed_shape(example, self.input_layout)}: "
                f"{type(exc).__name__}: {str(exc).rstrip('.')}. Check input_layout ('BLC' or 'BCL'), input_name "
                f"(None or the keyword it takes), window_length ({self.window_length}) and that "
                f"it forecasts the {self.n_channels} columns given."
            ) from exc
        pred = self._prediction(out, example.shape[0])
        if not torch.isfinite(pred).all():
            raise ValueError(
                f"{type(self.module).__name__} forecast NaN or infinite values on the last "
                "window of y; check the module, its weights and scaling."
            )
        self.horizon = int(pred.shape[1])
        if self.teacher_layer == "auto":
            self.layer = auto_channel_layer(self, example)
        else:
            if not isinstance(self.teacher_layer, str):
                raise TypeError(
                    f"teacher_layer must be 'auto' or a module path (str); got "
                    f"{self.teacher_layer!r}."
                )
            try:
                _get_submodule(self.module, self.teacher_layer)
            except ValueError as exc:
                raise ValueError(f"teacher_layer={self.teacher_layer!r}: {exc}") from None
            self.layer = self.teacher_layer
        try:
            feature = self.forward_features(example)[1]
        except TypeError as exc:  # the tapped module returned no tensor
            raise ValueError(
                f"teacher_layer={self.layer!r}: {exc}; choose a submodule that returns a tensor."
            ) from exc
        self.feature_dim = int(feature.shape[-1])
        return self


def _passed_shape(x: torch.Tensor, layout: str) -> tuple:
    B, L, C = x.shape
    return (B, L, C) if layout == "BLC" else (B, C, L)


def _select(out: Any, where: int | str | None) -> Any:
    """``out`` itself (None), ``out[where]`` (int, or str of a mapping) or ``getattr``; a
    ValueError naming ``output`` when it is not there."""
    if where is None:
        return out
    if isinstance(out, torch.Tensor):
        # Indexing would silently take a batch row: a tensor output is the forecast itself.
        raise ValueError(
            f"output={where!r} but the module returns {_describe(out)}: set output=None."
        )
    try:
        if isinstance(where, int) and not isinstance(where, bool):
            return out[where]
        if isinstance(where, str):
            return out[where] if isinstance(out, Mapping) else getattr(out, where)
    except (IndexError, KeyError, TypeError, AttributeError):
        raise ValueError(
            f"output={where!r} is not in the module's output ({_describe(out)}). "
            f"{_output_hint(out)}"
        ) from None
    raise TypeError(f"output must be None, an int or a str; got {where!r}.")


def _describe(out: Any) -> str:
    if isinstance(out, torch.Tensor):
        return f"a tensor of shape {tuple(out.shape)}"
    if isinstance(out, Mapping):
        return f"a {type(out).__name__} with fields {list(out.keys())}"
    if isinstance(out, tuple | list):
        return f"a {type(out).__name__} of {len(out)} items"
    return f"a {type(out).__name__}"


def _output_hint(out: Any) -> str:
    if isinstance(out, torch.Tensor):
        return "It is a tensor: set output=None."
    if isinstance(out, Mapping):
        return "Set output to the field that holds the forecast (a str)."
    if isinstance(out, tuple | list):
        return f"Set output to the index of the forecast (0 to {len(out) - 1})."
    return "Set output to the attribute that holds the forecast (a str)."


def _not_a_tensor(out: Any, value: Any, where: int | str | None) -> str:
    if where is None:
        return (
            f"the module returned {_describe(out)}, not a forecast tensor: set output to say "
            f"where the forecast is. {_output_hint(out)}"
        )
    return f"output={where!r} gives {_describe(value)}, not a forecast tensor. {_output_hint(out)}"
