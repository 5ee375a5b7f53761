"""Any PyTorch forecaster (a user's own module, a Hugging Face model) as a fitted sktime
forecaster, and so as a TimeDistill teacher at both levels."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import torch
from torch import nn

from skdistill._validation import (
    check_bool,
    check_choice,
    check_int,
    check_precision,
    check_precision_device,
    resolve_device,
)
from skdistill.forecasting._base import BaseDeepForecaster
from skdistill.forecasting._panel import split_series
from skdistill.nn.forecasting.external import (
    FEATURE_POOLINGS,
    INPUT_LAYOUTS,
    OUTPUT_LAYOUTS,
    ExternalForecaster,
    probe_batch_size,
)
from skdistill.training.net import autocast
from skdistill.training.windows import standard_scaler

#: Attributes holding torch modules: pickled through ``torch.save`` when they live on CUDA,
#: so that a forecaster fitted on a GPU unpickles on a CPU-only machine.
_MODULE_ATTRS = ("module", "wrapped_")


class TorchForecaster(BaseDeepForecaster):
    """A trained PyTorch forecasting module as an sktime forecaster and a teacher.

    Wraps a ``torch.nn.Module`` that maps look-back windows to forecasts (already trained or
    pretrained: it is never trained here) so that it forecasts like any sktime forecaster and
    serves as the ``teacher`` of :class:`DistilledMLPForecaster` at *both* levels: its
    predictions, and the hidden feature of one of its submodules, captured by a forward hook
    and read as one token per channel ``(B, C, d)``.

    ``fit(y)`` trains nothing: it checks the declarations below on y's last window and
    records the columns, the cutoff, the look-back and (``scaling="standard"``) y's
    statistics. ``predict`` runs the module on the last ``window_length`` rows; ``update``
    moves them.

    Parameters
    ----------
    module : torch.nn.Module
        The forecaster. This wrapper never changes it: every pass runs in eval mode under
        ``no_grad`` and restores each submodule's training flag; the only change is a move to
        the device it runs on. :meth:`clone` (and so ``evaluate`` and
        ``ForecastingGridSearchCV`` of a distiller holding this teacher) *shares* it instead
        of deep-copying it, and pickling stores it with the forecaster.
    window_length : int
        Look-back L the module takes (required).
    horizon : int or None, default=None
        Steps the module forecasts; None: read from its output in ``fit``. If given it must
        match (a check of the declaration).
    input_layout : {"BLC", "BCL"}, default="BLC"
        Axis order of the window passed to the module: ``(batch, L, channels)`` or
        ``(batch, channels, L)``.
    input_name : str or None, default=None
        None: the window is passed positionally, ``module(x)``; a str: as that keyword,
        ``module(**{input_name: x})`` (``"past_values"`` for Hugging Face time-series models).
    output : None, int or str, default=None
        Where the forecast is in the module's output. None: the output is the forecast
        tensor; an int: its index in a tuple or list; a str: its key in a mapping, or the
        attribute of an output object (``"prediction_outputs"`` for Hugging Face's
        ``PatchTSTForPrediction``).
    output_layout : {"BHC", "BCH"}, default="BHC"
        Axis order of the forecast: ``(batch, H, channels)`` or ``(batch, channels, H)``.
    teacher_layer : str, default="auto"
        Module path (as in ``module.named_modules()``) whose output is the distilled feature,
        or "auto": the last submodule before the forecasting head whose output holds one
        token per channel (:func:`~skdistill.nn.forecasting.external.auto_channel_layer`):
        ``"model"`` for ``PatchTSTForPrediction``, ``"encoder"`` for a module
        ``encoder -> head``. The resolved path is ``teacher_layer_``.
    feature_pooling : {"flatten", "mean"}, default="flatten"
        How the hooked tensor becomes one token per channel. A ``(B, C, n_patches, d_model)``
        output becomes ``(B, C, n_patches * d_model)`` ("flatten", the TimeDistill paper's
        reading of PatchTST) or ``(B, C, d_model)`` ("mean" over patches: a far smaller
        feature for long look-backs and wide foundation models). ``(B * C, ...)`` and
        ``(B, ..., C)`` outputs are read per channel too.
    scaling : {"none", "standard"} or (mean, scale), default="none"
        What values the module expects. "none": y's own units (models that normalise
        internally, like Hugging Face's and most foundation models). "standard": y
        standardised per column with the mean and population std of the ``y`` given to
        ``fit`` (the training rows, when the distiller fits a clone). ``(mean, scale)``:
        fixed per-column statistics (arrays of length C), e.g. those the module was trained
        with. The distiller maps its own standardised windows into this space and the
        teacher's forecasts back.
    columns : list of str or None, default=None
        The names of the channels the module forecasts, in its order; ``fit`` then requires
        exactly these columns of y, in this order. None: y's columns, whatever they are.
    batch_size : int, default=256
        Windows per module call in :meth:`predict_windows`.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where the module runs when this forecaster predicts (as a teacher it runs on the
        distiller's device).
    precision : {"32", "bf16", "16-mixed"}, default="32"
        Autocast precision of this forecaster's own predictions (Lightning's names; "bf16"
        also as "bf16-mixed"; "16-mixed" on CUDA only, a ValueError at ``fit`` on another
        device); forecasts are returned as float64 whatever it is. As a teacher the module
        runs at the distiller's ``precision``.
    compile : bool, default=False
        Run this forecaster's own predictions through ``torch.compile`` of the wrapped
        module (compiled at the first prediction; not pickled, compiled again after
        unpickling). As a teacher the plain module runs.

    Attributes
    ----------
    horizon_ : int
        Steps the module forecasts.
    teacher_layer_ : str
        The resolved feature path.
    feature_dim_ : int
        Width d of the per-channel feature.
    columns_ : list
        y's columns.
    scaler_mean_, scaler_scale_ : numpy.ndarray
        The module's side of the scaling (0 and 1 for ``scaling="none"``).
    wrapped_ : ExternalForecaster
        The module behind the package's forecasting-module interface.

    Notes
    -----
    A :class:`DistilledMLPForecaster` treats this forecaster as it treats its own teachers:
    fitted, it is used as is (after checks of columns, horizon and look-back); unfitted, it
    is cloned (sharing the module) and fitted on the distiller's training data, which costs
    one pass over the last window. Before ``fit`` it is not fitted, like every sktime
    forecaster: a forecaster needs data to know its columns and cutoff.

    Examples
    --------
    >>> from skdistill.forecasting import DistilledMLPForecaster, TorchForecaster
    >>> from skdistill.datasets import load_ltsf
    >>> from torch import nn
    >>> class Net(nn.Module):  # a user's forecaster: (B, L, C) -> (B, H, C)
    ...     def __init__(self, L=48, H=12, d=16):
    ...         super().__init__()
    ...         self.encoder = nn.Sequential(nn.Linear(L, d), nn.ReLU())
    ...         self.head = nn.Linear(d, H)
    ...     def forward(self, x):
    ...         return self.head(self.encoder(x.transpose(1, 2))).transpose(1, 2)
    >>> y = load_ltsf("ETTh1").iloc[:600]
    >>> teacher = TorchForecaster(Net(), window_length=48, scaling="standard")
    >>> teacher.fit(y).predict(fh=range(1, 13)).shape
    (12, 7)
    >>> teacher.teacher_layer_, teacher.feature_dim_
    ('encoder', 16)
    >>> student = DistilledMLPForecaster(teacher, window_length=48, hidden_size=32, alpha=1.0,
    ...                                  beta=1.0, n_scales=2, max_epochs=1, random_state=0)
    >>> student.fit(y, fh=range(1, 13)).predict().shape
    (12, 7)
    >>> "train_feat_scale" in student.history_[-1]
    True
    """

    _tags = {
        "python_dependencies": ["torch"],
        "requires-fh-in-fit": False,
        "capability:random_state": False,
    }

    def __init__(
        self,
        module: nn.Module | None = None,
        window_length: int | None = None,
        horizon: int | None = None,
        input_layout: str = "BLC",
        input_name: str | None = None,
        output: int | str | None = None,
        output_layout: str = "BHC",
        teacher_layer: str = "auto",
        feature_pooling: str = "flatten",
        scaling="none",
        columns: list | None = None,
        batch_size: int = 256,
        device: str = "cpu",
        precision: str = "32",
        compile: bool = False,
    ) -> None:
        self._init_params(locals())

    # --- checks ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if not isinstance(self.module, nn.Module):
            raise TypeError(
                "module must be the torch.nn.Module to wrap (a trained forecaster); got "
                f"{type(self.module).__name__}."
            )
        if self.window_length is None:
            raise ValueError(
                "window_length is required: pass the look-back the module takes "
                "(e.g. its config's context_length)."
            )
        check_int(self.window_length, "window_length", minimum=1)
        check_int(self.horizon, "horizon", minimum=1, allow_none=True)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_precision(self.precision)
        check_bool(self.compile, "compile")
        check_choice(self.input_layout, "input_layout", INPUT_LAYOUTS)
        check_choice(self.output_layout, "output_layout", OUTPUT_LAYOUTS)
        check_choice(self.feature_pooling, "feature_pooling", FEATURE_POOLINGS)
        if self.input_name is not None and not (
            isinstance(self.input_name, str) and self.input_name.isidentifier()
        ):
            raise TypeError(
                "input_name must be None (pass the window positionally) or the keyword the "
                f"module takes it as (e.g. 'past_values'); got {self.input_name!r}."
            )
        out = self.output
        if out is not None and (isinstance(out, bool) or not isinstance(out, int | str)):
            raise TypeError(
                "output must be None (the module returns the forecast), an int (its index in "
                f"a returned tuple) or a str (a key or attribute name); got {out!r}."
            )
        if not isinstance(self.teacher_layer, str):
            raise TypeError(
                f"teacher_layer must be 'auto' or a module path (str); got {self.teacher_layer!r}."
            )
        if self.columns is not None and (
            isinstance(self.columns, str)
            or not isinstance(self.columns, list | tuple | pd.Index)
            or len(set(self.columns)) != len(self.columns)
            or not len(self.columns)
        ):
            raise ValueError(
                "columns must be None or a list of the distinct names of the channels the "
                f"module forecasts, in its order; got {self.columns!r}."
            )

    def _checked_y(self, y: pd.DataFrame) -> pd.DataFrame:
        """``y`` itself if its columns are the declared ``columns`` (a univariate series may
        carry another name); a ValueError saying how to select them otherwise."""
        if self.columns is None:
            return y
        expected, got = list(self.columns), list(y.columns)
        if got == expected or (len(got) == 1 == len(expected)):
            return y
        hint = (
            f"select and order them: y[{expected!r}]"
            if set(expected) <= set(got)
            else "pass the columns the module forecasts (or columns=None to take y's)"
        )
        raise ValueError(
            f"columns={expected!r} (the channels the module forecasts, in its order) but y has "
            f"columns {got}; {hint}."
        )

    def _module_scaling(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-column ``(mean, scale)`` that map y's units to what the module expects."""
        C = values.shape[1]
        if isinstance(self.scaling, str):
            check_choice(self.scaling, "scaling", ("none", "standard"))
            if self.scaling == "standard":
                return standard_scaler(values)
            return np.zeros(C), np.ones(C)
        try:
            mean, scale = (
                np.broadcast_to(np.asarray(a, dtype=np.float64), (C,)) for a in self.scaling
            )
        except (TypeError, ValueError):
            mean = scale = None
        if (
            mean is None
            or not (np.isfinite(mean).all() and np.isfinite(scale).all())
            or (scale <= 0).any()
        ):
            raise ValueError(
                "scaling must be 'none', 'standard' or a pair (mean, scale) of finite per-column "
                f"statistics of length {C} (scale > 0) that the module was trained with; got "
                f"{self.scaling!r}."
            )
        return mean.copy(), scale.copy()

    # --- sktime interface --------------------------------------------------------------------
    def _fit(self, y: pd.DataFrame, X=None, fh=None):
        self._check_params()
        device = resolve_device(self.device)
        check_precision_device(self.precision, device)
        series = split_series(y)
        series.frames = [self._checked_y(f) for f in series.frames]
        values = [self._check_y(f, series.label(i)) for i, f in enumerate(series.frames)]
        step = self._common_step(series)
        L = int(self.window_length)
        for i, v in enumerate(values):
            if len(v) < L:
                raise ValueError(
                    f"{series.label(i)} has {len(v)} rows; the module's look-back "
                    f"window_length={L} needs at least {L}. Pass a longer series."
                )
        C = values[0].shape[1]
        # "standard" scales each series of a panel by its own statistics; fixed statistics
        # ("none", a pair) are the module's and the same for every series.
        scalers = [self._module_scaling(v) for v in values]
        mean, scale = scalers[-1]
        wrapped = ExternalForecaster(
            self.module,
            L,
            C,
            input_layout=self.input_layout,
            input_name=self.input_name,
            output=self.output,
            output_layout=self.output_layout,
            teacher_layer=self.teacher_layer,
            feature_pooling=self.feature_pooling,
        )
        # The probing batch is y's last window, repeated: real values in the module's units.
        last = ((values[-1][-L:] - mean) / scale)[None]
        example = torch.as_tensor(np.repeat(last, probe_batch_size(C), axis=0), device=device)
        wrapped.probe(example.float())
        H = wrapped.horizon
        if self.horizon is not None and int(self.horizon) != H:
            raise ValueError(
                f"horizon={self.horizon} but the module forecasts {H} steps; set horizon={H} "
                "(or None to read it from the module)."
            )
        steps = np.arange(1, H + 1) if fh is None else self._horizon_steps(fh)
        if steps.max() > H:
            raise ValueError(
                f"fh reaches {int(steps.max())} steps ahead but the module forecasts {H}; "
                f"pass an fh within 1..{H}."
            )
        self.wrapped_ = wrapped
        self.horizon_, self.fh_steps_ = H, steps
        self.teacher_layer_, self.feature_dim_ = wrapped.layer, wrapped.feature_dim
        self.columns_, self.n_channels_ = list(series.frames[0].columns), C
        self._set_series_state(series, values, scalers, [len(v) for v in values], step)
        self.constant_channels_ = None  # the module forecasts every channel itself
        self.device_ = device
        return self

    def _predict(self, fh, X=None):
        steps = self._horizon_steps(fh)
        if steps.max() > self.horizon_:
            raise ValueError(
                f"fh reaches {int(steps.max())} steps ahead but the module forecasts "
                f"{self.horizon_}; pass an fh within 1..{self.horizon_}."
            )
        return super()._predict(fh, X)

    # --- the module ----------------------------------------------------------------------------
    def _student_module(self) -> ExternalForecaster:
        # What the base class predicts with, exports and hands to a distiller as the teacher.
        return self.wrapped_

    @torch.no_grad()
    def _predict_full(self, windows: np.ndarray, series: np.ndarray | None = None) -> np.ndarray:
        """Forecast all ``horizon_`` steps for windows ``(n, L, C)`` in y units (``series``:
        each window's position in ``series_keys_``, for panels)."""
        mean, scale, _ = self._scaling(series)
        if np.ndim(mean) == 2:  # one row per window
            mean, scale = mean[:, None], scale[:, None]
        z = (windows - mean) / scale
        forward = self._forward()
        out = []
        for lo in range(0, len(z), int(self.batch_size)):
            x = torch.as_tensor(z[lo : lo + self.batch_size], device=self.device_).float()
            with autocast(getattr(self, "precision", "32"), self.device_):
                pred = forward(x)
            out.append(pred.float().cpu().numpy())
        if not out:
            return np.empty((0, self.horizon_, self.n_channels_))
        return np.concatenate(out).astype(np.float64) * scale + mean

    def _forward(self) -> nn.Module:
        """The wrapped module, compiled on first use when ``compile``."""
        if not getattr(self, "compile", False):
            return self.wrapped_
        compiled = getattr(self, "_compiled", None)
        if compiled is None or compiled._orig_mod is not self.wrapped_:
            compiled = self._compiled = torch.compile(self.wrapped_)
        return compiled

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_compiled", None)
        on_cuda = [
            k
            for k in _MODULE_ATTRS
            if isinstance(state.get(k), nn.Module)
            and any(t.is_cuda for t in [*state[k].parameters(), *state[k].buffers()])
        ]
        if on_cuda:
            # Plain pickling of CUDA tensors cannot be loaded without CUDA; torch.load can
            # map them to the CPU (see __setstate__). Saved together, shared modules stay
            # shared.
            buffer = io.BytesIO()
            torch.save({k: state.pop(k) for k in on_cuda}, buffer)
            state["_cuda_modules"] = buffer.getvalue()
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        blob = state.pop("_cuda_modules", None)
        if blob is not None:
            location = None if torch.cuda.is_available() else "cpu"
            modules = torch.load(io.BytesIO(blob), map_location=location, weights_only=False)
            state.update(modules)
        super().__setstate__(state)

    def n_parameters(self) -> int:
        """Number of parameters of the wrapped module."""
        return sum(p.numel() for p in self.module.parameters())

    @classmethod
    def get_test_params(cls, parameter_set: str = "default"):
        """Two tiny channel-independent modules (any number of columns) for sktime's checks."""
        return [
            {"module": _ChannelMLP(8, 10, 8), "window_length": 8},
            {
                "module": _ChannelMLP(6, 10, 4, channels_first=True),
                "window_length": 6,
                "input_layout": "BCL",
                "output_layout": "BCH",
                "scaling": "standard",
                "feature_pooling": "mean",
                "batch_size": 8,
            },
        ]


class _ChannelMLP(nn.Module):
    """A tiny channel-independent forecaster: ``encoder`` (Linear over time, ReLU), ``head``.

    Takes ``(B, L, C)`` and returns ``(B, H, C)``, or with ``channels_first`` takes
    ``(B, C, L)`` and returns ``(B, C, H)``. The test module of :class:`TorchForecaster`.
    """

    def __init__(
        self, window_length: int, horizon: int, hidden: int, channels_first: bool = False
    ) -> None:
        super().__init__()
        self.channels_first = channels_first
        self.encoder = nn.Sequential(nn.Linear(window_length, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_first:
            return self.head(self.encoder(x))
        return self.head(self.encoder(x.transpose(1, 2))).transpose(1, 2)
