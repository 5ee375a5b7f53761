"""Shared base of the deep window forecasters: data checks, scaling, windows, training, predict.

A subclass only says which torch module to build (``_build_module``) and, for
distillation, what to add to the training data and loss (``_distillation``).
"""

from __future__ import annotations

import warnings
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from skbase.base._clone_plugins import BaseCloner
from sktime.forecasting.base import BaseForecaster, ForecastingHorizon

from skdistill._fitting import all_or_nothing
from skdistill._validation import (
    check_bool,
    check_float,
    check_int,
    check_precision_device,
    check_training_params,
    resolve_device,
    seed_from,
    store_params,
)
from skdistill.forecasting._panel import Series, join_series, split_series
from skdistill.training.net import TrainSettings
from skdistill.training.teacher import TeacherAdapter
from skdistill.training.timedistill import (
    Teachers,
    fit_timedistill,
    kept_valid_loss,
    predict_student,
    pretrained_net,
)
from skdistill.training.windows import SlidingWindowDataset, constant_channels, standard_scaler


def check_parameter_sets(first: dict, second: dict, *, first_epochs: int = 1) -> list[dict]:
    """sktime's two cheap parameter sets: each forecaster's small sizes on one shared short,
    validation-free schedule (seeds 0 and 1; the second at batch size 8)."""
    common = {"validation_size": None}
    return [
        {**first, **common, "max_epochs": first_epochs, "random_state": 0},
        {**second, **common, "max_epochs": 1, "batch_size": 8, "random_state": 1},
    ]


def _index_step(index: pd.Index, what: str):
    """The one step between consecutive rows of ``index``; ValueError unless it is regular.

    Windows are cut by position, so a duplicated, unsorted or gappy index would splice
    unrelated rows into one look-back, and sktime could not place the forecasts after it.
    """
    if isinstance(index, pd.MultiIndex):
        raise ValueError(f"{what} must be a single series; got a MultiIndex.")
    fix = (
        "Forecasters need one row per time step: sort, de-duplicate and resample it "
        "(e.g. y.asfreq('h') and impute), or reset it to a RangeIndex."
    )
    if not isinstance(index, pd.PeriodIndex | pd.DatetimeIndex) and not (
        pd.api.types.is_integer_dtype(index.dtype)
    ):
        raise ValueError(
            f"{what}'s index must be a DatetimeIndex, PeriodIndex or integer index; "
            f"got {type(index).__name__} of {index.dtype}. Parse the dates (pd.to_datetime) "
            "or reset it to a RangeIndex."
        )
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        raise ValueError(f"{what}'s index has duplicated time points (first: {dup}). {fix}")
    if not index.is_monotonic_increasing:
        raise ValueError(f"{what}'s index is not sorted in increasing time order. {fix}")
    if len(index) < 2:
        return getattr(index, "freq", None)
    if isinstance(index, pd.PeriodIndex):
        step = index.freq
    elif isinstance(index, pd.DatetimeIndex):
        step = index.freq or (pd.infer_freq(index) if len(index) >= 3 else index[1] - index[0])
    else:
        step = int(index[1] - index[0])
    if step is None or not index.equals(_following(index[0], len(index) - 1, step, index, True)):
        raise ValueError(f"{what}'s index is irregular (its steps differ, e.g. a gap). {fix}")
    return step


def _check_pandas_index(y, what: str) -> None:
    """The index of a pandas series, or of each series of a panel, checked before sktime
    converts it (whose own refusals of the same faults are long format listings, not the fix)."""
    if not isinstance(y, pd.DataFrame | pd.Series):
        return
    if isinstance(y.index, pd.MultiIndex):
        series = split_series(y)
        for i, frame in enumerate(series.frames):
            if not isinstance(frame.index, pd.RangeIndex):
                _index_step(frame.index, series.label(i, what))
    elif not isinstance(y.index, pd.RangeIndex):
        _index_step(y.index, what)


def _following(start, n: int, step, like: pd.Index, include_start: bool = False) -> pd.Index:
    """The ``n`` time points after ``start`` (``start`` first too with ``include_start``)."""
    if isinstance(like, pd.PeriodIndex):
        idx = pd.period_range(start=start, periods=n + 1, freq=step)
    elif isinstance(like, pd.DatetimeIndex):
        idx = pd.date_range(start=start, periods=n + 1, freq=step)
    else:
        idx = pd.Index(start + step * np.arange(n + 1))
    return idx if include_start else idx[1:]


class _ShareTorchModules(BaseCloner):
    """Clone plugin: a ``torch.nn.Module`` given as a parameter is shared, never deep-copied.

    scikit-base's ``clone`` deep-copies every parameter that is not an estimator, so each
    fold and grid candidate of ``evaluate`` / ``ForecastingGridSearchCV`` would hold its own
    copy of a wrapped (possibly large, pretrained) module. The modules that reach a clone as
    parameters are frozen teachers (:class:`~skdistill.forecasting.TorchForecaster`) that no
    estimator trains or changes, so sharing is safe. Applies to the ``clone`` of this
    package's forecasters and of everything they contain.
    """

    def _check(self, obj) -> bool:
        return isinstance(obj, torch.nn.Module)

    def _clone(self, obj):
        return obj


class BaseDeepForecaster(BaseForecaster):
    """Direct multi-step deep forecaster trained on stride-1 windows of ``y``.

    Subclasses implement ``_build_module(window_length, horizon, n_channels)``.
    Every subclass can act as a TimeDistill teacher (predictions and features).
    """

    _tags = {
        "authors": ["skdistill developers"],
        "maintainers": ["skdistill developers"],
        "python_dependencies": ["torch", "skorch"],
        # Panels and hierarchies reach _fit whole: one global model over every series
        # (global_model=False narrows this to one series, so that sktime fits one per series).
        "y_inner_mtype": ["pd.DataFrame", "pd-multiindex", "pd_multiindex_hier"],
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": True,
        "capability:exogenous": False,
        "capability:missing_values": False,
        "capability:insample": False,
        "capability:pred_int": False,
        "capability:update": True,
        "requires-fh-in-fit": True,
        "fit_is_empty": False,
        "capability:random_state": True,
    }
    # Deep forecasters keep their own look-back window; sktime need not store y.
    _config = {"remember_data": False}

    @classmethod
    def _get_clone_plugins(cls) -> list:
        # scikit-base's extension point for clone: torch modules in parameters are shared.
        return [_ShareTorchModules]

    def __setstate__(self, state: dict) -> None:
        # A forecaster fitted on CUDA and unpickled where CUDA is absent predicts on the CPU
        # (skorch maps its net's tensors and device the same way).
        device = state.get("device_")
        if isinstance(device, str) and device.startswith("cuda") and not torch.cuda.is_available():
            state = {**state, "device_": "cpu"}
        self.__dict__.update(state)

    def __init__(
        self,
        window_length: int = 720,
        max_epochs: int = 100,
        batch_size: int = 32,
        lr: float = 0.01,
        patience: int | None = 5,
        validation_size: float | int | None = 0.2,
        device: str = "cpu",
        random_state: int | None = None,
        verbose: int = 1,
        global_model: bool = True,
        precision: str = "32",
        compile: bool = False,
    ) -> None:
        self._init_params(locals())

    def _init_params(self, params: dict) -> None:
        """``__init__``'s body for every subclass: store the parameters, then sktime's init."""
        store_params(self, params)
        BaseForecaster.__init__(self)
        self._y = None
        self._X = None
        if params.get("global_model", True) is False:
            # sktime then vectorises panels: one clone of this forecaster fitted per series.
            self.set_tags(**{"y_inner_mtype": "pd.DataFrame"})

    # --- public methods that change state: all or nothing -------------------------------------
    @all_or_nothing
    def fit(self, y, X=None, fh=None):
        """Fit to ``y`` (sktime's ``fit``); on any error, Ctrl-C included, nothing changes."""
        _check_pandas_index(y, "y")
        return super().fit(y, X=X, fh=fh)

    @all_or_nothing
    def update(self, y, X=None, update_params: bool = True):
        """Move the cutoff and the look-back to the end of ``y`` (sktime's ``update``).

        Rows up to the current cutoff may be included (they are skipped); the new rows must
        follow the cutoff without a gap. On any error nothing changes.
        """
        _check_pandas_index(y, "y in update")
        return super().update(y, X=X, update_params=update_params)

    # --- hooks for subclasses --------------------------------------------------------------
    def _build_module(self, window_length: int, horizon: int, n_channels: int) -> torch.nn.Module:
        raise NotImplementedError

    def _check_params(self) -> None:
        """Validate the common parameters; subclasses extend (and call super)."""
        check_int(self.window_length, "window_length", minimum=1)
        check_training_params(self, validation_unit="rows")
        if hasattr(self, "global_model"):
            check_bool(self.global_model, "global_model")

    def _distillation(
        self, y: pd.DataFrame, series: Series, train_starts: list[np.ndarray], n_valid: int
    ) -> tuple[Teachers | None, dict]:
        """``(teachers' side, TimeDistill loss parameters)``: trained alone, no teacher.

        ``y`` is what ``_fit`` got (a panel stays one frame), ``series`` its series one by
        one, ``train_starts`` the training windows' start rows within each series and
        ``n_valid`` the number of validation windows.
        """
        return None, {"alpha": 0.0, "beta": 0.0}

    # --- data checks -------------------------------------------------------------------------
    def _check_y(self, y: pd.DataFrame, what: str = "y") -> np.ndarray:
        try:
            values = y.to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{what} must be numeric; convert or drop non-numeric columns ({exc})."
            ) from exc
        if not np.isfinite(values).all():
            bad = int((~np.isfinite(values)).sum())
            raise ValueError(
                f"{what} contains {bad} NaN or infinite value(s); impute or drop them before fitting "
                "(e.g. y.interpolate() or sktime's Imputer in a TransformedTargetForecaster)."
            )
        return values

    def _horizon_steps(self, fh: ForecastingHorizon, cutoff=None) -> np.ndarray:
        cutoff = self.cutoff if cutoff is None else cutoff
        steps = np.asarray(fh.to_relative(cutoff).to_numpy(), dtype=np.int64).ravel()
        if steps.size == 0 or steps.min() < 1:
            raise ValueError(
                f"fh must contain only future steps (>= 1 after the cutoff); got {steps.tolist()}. "
                "In-sample forecasts are not supported by this forecaster."
            )
        return steps

    def _n_valid_rows(self, n_rows: int, horizon: int) -> int:
        vs = self.validation_size
        if vs is None:
            return 0
        n_val = int(vs * n_rows) if isinstance(vs, float | np.floating) else int(vs)
        if n_val < horizon:
            raise ValueError(
                f"validation_size={vs} gives {n_val} validation rows, fewer than the horizon "
                f"{horizon}: no validation window fits. Increase validation_size or set it to None."
            )
        return n_val

    # --- sktime interface --------------------------------------------------------------------
    def _fit(self, y: pd.DataFrame, X=None, fh=None):
        self._check_params()
        device = resolve_device(self.device)
        precision = check_precision_device(self.precision, device)
        steps = self._horizon_steps(fh)
        L = int(self.window_length)
        H = int(steps.max())
        series = split_series(y)
        values = [self._check_y(f, series.label(i)) for i, f in enumerate(series.frames)]
        step = self._common_step(series)
        n_vals, n_trains = self._row_split(series, values, L, H)

        # Standardise each series with statistics of its training rows only (population std,
        # as the protocol), then lay the series end to end: windows are cut within one series.
        scalers = [standard_scaler(v[:n]) for v, n in zip(values, n_trains, strict=True)]
        z = [((v - m) / s).astype(np.float32) for v, (m, s) in zip(values, scalers, strict=True)]
        if not all(np.isfinite(a).all() for pair in scalers for a in pair) or not all(
            np.isfinite(a).all() for a in z
        ):
            big = max(float(np.abs(v).max()) for v in values)
            raise ValueError(
                "y is too large to standardise in float64 (its mean or standard deviation "
                f"overflows, max |y| = {big:.3g}); rescale y, e.g. divide it by a power of 10."
            )
        offsets = np.concatenate([[0], np.cumsum([len(v) for v in values])[:-1]])
        train_local = [np.arange(0, max(n - L - H + 1, 0)) for n in n_trains]
        valid_local = [
            np.arange(n - L, len(v) - L - H + 1) if nv else np.arange(0)
            for v, n, nv in zip(values, n_trains, n_vals, strict=True)
        ]
        # Training windows of every series first, then the validation windows (TailSplit).
        starts = np.concatenate(
            [o + t for o, t in zip(offsets, train_local, strict=True)]
            + [o + v for o, v in zip(offsets, valid_local, strict=True)]
        )
        which = np.concatenate(
            [np.full(len(t), i) for i, t in enumerate(train_local)]
            + [np.full(len(v), i) for i, v in enumerate(valid_local)]
        )
        n_valid = int(sum(len(v) for v in valid_local))
        n_channels = values[0].shape[1]
        # One float32 array of every series; the per-series copies go at once.
        laid = np.concatenate(z) if len(z) > 1 else z[0]
        del z

        self.columns_ = list(series.frames[0].columns)
        self.n_channels_ = n_channels
        self.horizon_ = H
        self.fh_steps_ = steps
        self._set_series_state(series, values, scalers, n_trains, step)
        self.device_ = device

        seed = seed_from(self.random_state)
        # Set by from_weights only: the network is loaded, not trained (nor distilled).
        pending = _PENDING_WEIGHTS.get()
        weights = pending[1] if pending is not None and pending[0] is self else None
        teachers, loss = (
            (None, {})
            if weights is not None
            else self._distillation(y, series, train_local, n_valid)
        )
        data = SlidingWindowDataset(
            laid,
            L,
            H,
            starts=starts,
            series_ids=which if series.is_panel else None,
        )
        settings = TrainSettings(
            lr=float(self.lr),
            max_epochs=int(self.max_epochs),
            batch_size=int(self.batch_size),
            patience=self.patience,
            device=device,
            seed=seed,
            verbose=int(self.verbose),
            precision=precision,
            compile=bool(self.compile),
        )
        if weights is not None:
            self.net_ = pretrained_net(
                lambda: self._build_module(L, H, n_channels), weights, settings
            )
        else:
            self.net_, cache_place = fit_timedistill(
                lambda: self._build_module(L, H, n_channels),
                data,
                n_valid,
                loss,
                settings,
                teachers,
                name=type(self).__name__,
            )
        self.history_ = self.net_.history
        self.valid_loss_ = kept_valid_loss(self.net_)
        if teachers is not None:
            self.teacher_cached_ = cache_place in ("memory", "disk")
            self.teacher_cache_ = cache_place
            # Per teacher module: variance kept by its feature's projection (None: as it is).
            self.teacher_feature_variance_ = list(teachers.kept_variance)
            self._record_fit(
                self.net_,
                (loss["alpha"], loss["beta"]),
                getattr(self.net_, "teacher_valid_loss_", None),
            )
        return self

    # --- the series seen so far: scalers and look-backs --------------------------------------
    def _row_split(self, series: Series, values: list, L: int, H: int) -> tuple[list, list]:
        """Validation and training rows of each series.

        A series too short for one training window (fewer than window_length + horizon +
        validation rows) is still forecast, by the model the other series of its panel train,
        if it holds a look-back; it then gives no window, and its scaler is fitted on all its
        rows. A single series, or a panel in which no series gives a window, is refused.
        """
        n_vals, short = [], []
        for i, v in enumerate(values):
            if len(v) < L + H and not series.is_panel:
                # Said before any validation split: a series too short for one window is about
                # the look-back and the horizon, whatever validation_size asks for.
                raise ValueError(
                    f"{series.label(i)} has {len(v)} rows; with window_length={L} and horizon "
                    f"{H} one window needs at least {L + H} rows (window_length + horizon), "
                    "before any validation rows. Use a longer series or a shorter window_length."
                )
            try:
                n_val = self._n_valid_rows(len(v), H)
            except ValueError:
                if not series.is_panel:
                    raise
                n_val = None  # too short to validate on: a short series of the panel
            if n_val is not None and len(v) - n_val >= L + H:
                n_vals.append(n_val)
                continue
            if not series.is_panel or len(short) == len(values) - 1:
                n_val = n_val or 0
                raise ValueError(
                    f"{series.label(i)} has {len(v)} rows; with window_length={L}, horizon {H} "
                    f"and {n_val} validation rows it needs at least {L + H + n_val} rows "
                    "(window_length + horizon + validation). Use a longer series, a shorter "
                    "window_length, or a smaller validation_size."
                )
            short.append(i)
            n_vals.append(0)  # no windows: its scaler is fitted on all its rows
        n_trains = [len(v) - n for v, n in zip(values, n_vals, strict=True)]
        too_short = [i for i in short if len(values[i]) < L]
        if too_short:
            i = too_short[0]
            raise ValueError(
                f"{series.label(i)} has {len(values[i])} rows, fewer than window_length={L}: it "
                "cannot be forecast. Drop it from the panel, or use a shorter window_length."
            )
        if short:
            names = ", ".join(repr(series.keys[i]) for i in short[:5])
            warnings.warn(
                f"{len(short)} series of y ({names}{' ...' if len(short) > 5 else ''}) are too "
                f"short for a training window (window_length + horizon + validation rows); they "
                "are forecast by the model trained on the other series.",
                UserWarning,
                stacklevel=4,
            )
        return n_vals, n_trains

    def _common_step(self, series: Series):
        """The one time step of every series (a panel's series must share it)."""
        steps = [_index_step(f.index, series.label(i)) for i, f in enumerate(series.frames)]
        if any(s != steps[0] for s in steps[1:]):
            bad = next(i for i, s in enumerate(steps) if s != steps[0])
            raise ValueError(
                f"the series of y must share one time step: {series.label(0)} steps by "
                f"{steps[0]}, {series.label(bad)} by {steps[bad]}. Resample them to one frequency."
            )
        return steps[0]

    def _set_series_state(self, series: Series, values, scalers, n_trains, step) -> None:
        """Fitted state of the series: scalers, constant channels, look-backs and their ends.

        A single series keeps 1-D ``(C,)`` scalers and an ``(L, C)`` look-back; a panel of S
        series has ``(S, C)`` scalers (one row per series, in ``series_keys_`` order) and
        ``(S, L, C)`` look-backs.
        """
        L = int(self.window_length)
        means, scales = (np.stack(a) for a in zip(*scalers, strict=True))
        flat = np.stack([constant_channels(v[:n]) for v, n in zip(values, n_trains, strict=True)])
        contexts = np.stack([v[-L:] for v in values])
        self.series_keys_ = list(series.keys) if series.is_panel else None
        self.n_series_ = len(values)
        self._level_names = series.level_names
        if not series.is_panel:
            means, scales, flat, contexts = means[0], scales[0], flat[0], contexts[0]
        self.scaler_mean_, self.scaler_scale_ = means, scales
        self.constant_channels_ = flat
        self._context = contexts.copy()
        ends = [f.index[-1] for f in series.frames]
        # A panel's series may end at different time points: each is forecast from its own.
        self._context_end = ends if series.is_panel else ends[0]
        self._index_step = step

    def _is_panel(self) -> bool:
        return getattr(self, "series_keys_", None) is not None

    def _predict(self, fh, X=None):
        if not self._is_panel():
            steps = self._checked_steps(fh, self.cutoff)
            index = fh.to_absolute_index(self.cutoff)
            pred = self._predict_full(self._context[None])[0]
            return pd.DataFrame(pred[steps - 1], index=index, columns=self.columns_)
        # Every series in one batch: one pass of the network for the whole panel. Each series
        # is forecast from its own end (as sktime's per-series forecasters would be), on time
        # points built from the panel's step (sktime's fh has no frequency for a panel).
        pred = self._predict_full(self._context, np.arange(self.n_series_))
        frames = []
        for p, end in zip(pred, self._context_end, strict=True):
            steps = self._checked_steps(fh, self.cutoff if fh.is_relative else end)
            index = _following(end, int(steps.max()), self._index_step, pd.Index([end]))
            frames.append(pd.DataFrame(p[steps - 1], index=index[steps - 1], columns=self.columns_))
        return join_series(frames, self.series_keys_, self._level_names)

    def _checked_steps(self, fh, cutoff) -> np.ndarray:
        """``fh``'s steps after ``cutoff``, within the fitted horizon."""
        steps = self._horizon_steps(fh, cutoff)
        if steps.max() > self.horizon_:
            raise ValueError(
                f"fh reaches {int(steps.max())} steps ahead but the forecaster was fitted for "
                f"{self.horizon_}; refit with the longer fh."
            )
        return steps

    def _update(self, y: pd.DataFrame, X=None, update_params: bool = True):
        # Deep forecasters are not retrained by update: the cutoff and the look-back move.
        L = int(self.window_length)
        if not self._is_panel():
            y = self._new_rows(self._fitted_columns(y))
            new = self._check_y(y, "y in update")
            self._context = np.concatenate([self._context, new])[-L:]
            if len(y):
                self._context_end = y.index[-1]
            return self
        series = split_series(y)
        where = {k: i for i, k in enumerate(self.series_keys_)}
        unknown = [k for k in series.keys if k not in where] if series.is_panel else [None]
        if unknown:
            got = "a single series" if not series.is_panel else f"series {unknown[0]!r}"
            raise ValueError(
                f"update got {got}; the forecaster was fitted on the panel's series "
                f"{self.series_keys_[:10]!r}. Pass new rows of fitted series (a panel), or "
                "refit to add series."
            )
        # Series absent from the update keep their look-back; checked in full before any moves.
        contexts, ends = self._context.copy(), list(self._context_end)
        for i, (key, frame) in enumerate(zip(series.keys, series.frames, strict=True)):
            j, what = where[key], series.label(i, "y in update")
            rows = self._new_rows(self._fitted_columns(frame), ends[j], what)
            contexts[j] = np.concatenate([contexts[j], self._check_y(rows, what)])[-L:]
            if len(rows):
                ends[j] = rows.index[-1]
        self._context, self._context_end = contexts, ends
        return self

    def _new_rows(self, y: pd.DataFrame, end=None, what: str = "y in update") -> pd.DataFrame:
        """The rows of ``y`` after the look-back's end; they must continue it without a gap."""
        end = getattr(self, "_context_end", None) if end is None else end
        step = getattr(self, "_index_step", None)
        if end is None or step is None:  # fitted before these were recorded
            return y
        _index_step(y.index, what)
        if len(y) and y.index[-1] < end:
            raise ValueError(
                f"{what} got rows ending at {y.index[-1]}, before the data seen so far (up to "
                f"{end}): the cutoff cannot move back. Pass rows after {end}."
            )
        y = y[y.index > end]
        expected = _following(end, len(y), step, y.index)
        if len(y) and not y.index.equals(expected):
            raise ValueError(
                f"{what} got rows from {y.index[0]}, but the data seen so far ends at {end}: "
                f"the next row must be {expected[0]}, and rows must follow one step apart. "
                "Rows are missing (a gap): pass them too (imputed if unknown), or refit."
            )
        return y

    def _fitted_columns(self, y: pd.DataFrame) -> pd.DataFrame:
        """``y`` with the fitted columns, matched by name (order may differ).

        A univariate series may carry another name: a Series' name is often incidental.
        """
        columns = list(y.columns)
        if columns == self.columns_ or (len(columns) == 1 == len(self.columns_)):
            return y
        if set(columns) != set(self.columns_) or len(columns) != len(self.columns_):
            raise ValueError(
                f"update got columns {columns}; the forecaster was fitted on {self.columns_}. "
                "Columns are matched by name: pass exactly the fitted columns (any order)."
            )
        return y[self.columns_]

    # --- batched prediction --------------------------------------------------------------
    def _student_module(self) -> torch.nn.Module:
        return self.net_.module_.student

    def _scaling(self, series: np.ndarray | None = None):
        """``(mean, scale, constant)`` for windows of the given series positions: the fitted
        ``(C,)`` arrays of a single series, or one row per window ``(n, C)`` of a panel."""
        mean, scale = self.scaler_mean_, self.scaler_scale_
        constant = getattr(self, "constant_channels_", None)
        if np.ndim(mean) == 1:
            return mean, scale, constant
        if series is None:
            raise ValueError("a forecaster fitted on a panel needs the series of each window.")
        return mean[series], scale[series], None if constant is None else constant[series]

    def _predict_full(self, windows: np.ndarray, series: np.ndarray | None = None) -> np.ndarray:
        """Forecast all ``horizon_`` steps for windows ``(n, L, C)`` in y units (``series``:
        the position in ``series_keys_`` of each window's series, for panels)."""
        mean, scale, constant = self._scaling(series)
        return predict_student(self.net_, windows, mean, scale, constant=constant)

    def predict_windows(self, windows, series=None) -> np.ndarray:
        """Forecast many contexts at once.

        Parameters
        ----------
        windows : array-like of shape (n, window_length, n_channels)
            Contexts in the units of ``y`` (a 2-D array is one window).
        series : scalar, tuple or sequence of them, optional
            For a forecaster fitted on a panel: the series (instance key, as in
            ``series_keys_``) of each window, or one key for all; each window is scaled as its
            series was in ``fit``. Not used for a single series.

        Returns
        -------
        numpy.ndarray of shape (n, len(fh), n_channels)
            Forecasts for the fitted ``fh`` steps, in order, in the units of ``y``.
        """
        self.check_is_fitted()
        windows = self._check_windows(windows)
        return self._predict_full(windows, self._series_positions(series, len(windows)))[
            :, self.fh_steps_ - 1
        ]

    def _series_positions(self, series, n: int) -> np.ndarray | None:
        """Positions in ``series_keys_`` of ``series`` (one key, or one per window)."""
        if not self._is_panel():
            if series is not None:
                raise ValueError(
                    "series is only used by forecasters fitted on a panel; this one was fitted "
                    "on a single series: call predict_windows(windows)."
                )
            return None
        keys = self.series_keys_
        if series is None:
            raise ValueError(
                f"this forecaster was fitted on a panel of {len(keys)} series: pass series= the "
                f"series of each window (one of series_keys_, e.g. {keys[0]!r}), or one for all."
            )
        where = {k: i for i, k in enumerate(keys)}
        one = isinstance(series, tuple) or np.ndim(series) == 0
        wanted = [series] * n if one else list(series)
        if len(wanted) != n:
            raise ValueError(f"series has {len(wanted)} keys for {n} windows; pass one per window.")
        unknown = [k for k in wanted if k not in where]
        if unknown:
            raise ValueError(
                f"series {unknown[0]!r} was not in the panel this forecaster was fitted on; "
                f"known series: {keys[:10]!r}{' ...' if len(keys) > 10 else ''}."
            )
        return np.asarray([where[k] for k in wanted], dtype=np.int64)

    def _check_windows(self, windows) -> np.ndarray:
        try:
            arr = np.asarray(windows, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"windows must be a numeric array; {exc}") from exc
        if arr.ndim == 2:
            arr = arr[None]
        L, C = int(self.window_length), self.n_channels_
        if arr.ndim != 3 or arr.shape[1:] != (L, C):
            raise ValueError(
                f"windows must have shape (n, {L}, {C}) = (n, window_length, n_channels); "
                f"got {np.shape(windows)}."
            )
        if not np.isfinite(arr).all():
            raise ValueError("windows contain NaN or infinite values.")
        return arr

    # --- as a teacher --------------------------------------------------------------------
    def _as_teacher(self, student_mean, student_scale, horizon: int) -> TeacherAdapter:
        """This fitted forecaster's module, seen from a student with its own scaler."""
        return TeacherAdapter(
            self._student_module(),
            student_mean,
            student_scale,
            self.scaler_mean_,
            self.scaler_scale_,
            int(self.window_length),
            horizon,
        )

    def n_parameters(self) -> int:
        """Number of parameters of the fitted network that predicts."""
        self.check_is_fitted()
        return sum(p.numel() for p in self._student_module().parameters())

    def export_onnx(self, path, *, opset: int = 18):
        """Write the fitted network, scaling included, as an ONNX model.

        Input ``"window"``: float32 ``(batch, window_length, n_channels)`` in the units of
        ``y``, oldest row first. Output ``"forecast"``: ``(batch, len(fh), n_channels)`` in
        the units of ``y`` for the fitted ``fh`` steps: what :meth:`predict_windows` returns.
        A forecaster fitted on a panel has a second input, ``"series"``: int64 ``(batch,)``,
        each window's position in ``series_keys_`` (it picks the window's scaler).
        Needs the ``onnx`` extra (``pip install "skdistill[onnx]"``).

        Parameters
        ----------
        path : str or path-like
            Destination ``.onnx`` file.
        opset : int, default=18
            ONNX opset version.

        Returns
        -------
        pathlib.Path
            The written file.
        """
        import copy

        from skdistill.export import ScaledForecast, export_module_onnx

        self.check_is_fitted()
        module = ScaledForecast(
            copy.deepcopy(self._student_module()).cpu(),
            self.scaler_mean_,
            self.scaler_scale_,
            self.fh_steps_ - 1,
            getattr(self, "constant_channels_", None),
        )
        contexts = self._context if self._is_panel() else self._context[None]
        example = torch.as_tensor(np.repeat(contexts[:1], 2, axis=0), dtype=torch.float32)
        if self._is_panel():
            # Per window, as for one series; the window's series picks its scaler row.
            example = (example, torch.zeros(2, dtype=torch.int64))
        return export_module_onnx(
            module,
            example,
            path,
            input_name=["window", "series"] if self._is_panel() else "window",
            output_name="forecast",
            opset=opset,
        )

    # --- weights files ----------------------------------------------------------------------
    def save_weights(self, path) -> Path:
        """Write the fitted network's weights and what rebuilds it, for :meth:`from_weights`.

        The file holds tensors, numbers and strings only (``torch.save`` of a dict), so that
        loading it runs no code (``torch.load(..., weights_only=True)``): the class name, the
        constructor parameters that are plain values, the fitted ``fh`` steps, the columns
        and the network's ``state_dict``. Scalers and look-backs are not in it; they come
        from the data given to :meth:`from_weights`.

        Parameters
        ----------
        path : str or path-like
            Destination file (``.pt`` by convention).

        Returns
        -------
        pathlib.Path
            The written file.
        """
        self.check_is_fitted()
        params = {
            k: v
            for k, v in self.get_params(deep=False).items()
            if v is None or isinstance(v, bool | int | float | str)
        }
        record = {
            "format": _WEIGHTS_FORMAT,
            "estimator": type(self).__name__,
            "params": params,
            "fh_steps": [int(h) for h in self.fh_steps_],
            "columns": [str(c) for c in self.columns_],
            "state_dict": {
                k: v.detach().cpu().clone() for k, v in self._student_module().state_dict().items()
            },
        }
        path = Path(path)
        torch.save(record, path)
        return path

    @classmethod
    def from_weights(cls, path, y, **params):
        """A forecaster with the network of a :meth:`save_weights` file, fitted to ``y``
        without training.

        Everything a fit derives from data (scalers from the training rows, the look-back,
        the cutoff, the validation rows as ``validation_size`` sets them) comes from ``y``;
        the network's weights come from the file, loaded without unpickling code
        (``weights_only=True``). ``fh`` is the one saved. Columns are matched by name.

        Parameters
        ----------
        path : str or path-like
            A file written by :meth:`save_weights` of this class.
        y : pd.DataFrame
            The series (or panel) to forecast, with the saved columns.
        **params
            Constructor parameters that override the saved ones (e.g. ``device``); those
            that shape the network must stay as saved.

        Returns
        -------
        forecaster
            Fitted: ``predict``, ``predict_windows``, ``update`` and use as a teacher work.
        """
        record = _read_weights(path, cls.__name__)
        missing = [c for c in record["columns"] if c not in getattr(y, "columns", [])]
        if missing:
            raise ValueError(
                f"y lacks the column(s) {missing} of the saved forecaster; it was fitted on "
                f"{record['columns']}. Columns are matched by name."
            )
        known = set(cls.get_param_names())
        unknown = sorted(set(params) - known)
        if unknown:
            raise TypeError(f"from_weights got unknown parameter(s) {unknown} for {cls.__name__}.")
        saved = {k: v for k, v in record["params"].items() if k in known}
        forecaster = cls(**{**saved, **params})
        if (
            isinstance(y.index, pd.MultiIndex)
            and forecaster.get_params().get("global_model") is False
        ):
            raise ValueError(
                "from_weights loads one network: with global_model=False a panel would need "
                "one per series. Load with global_model=True, or one series at a time."
            )
        # sktime's fit resets every attribute that is not a parameter: the weights reach
        # _fit through a context variable that names the forecaster they are for.
        token = _PENDING_WEIGHTS.set((forecaster, record["state_dict"]))
        try:
            return forecaster.fit(y[record["columns"]], fh=record["fh_steps"])
        finally:
            _PENDING_WEIGHTS.reset(token)


_WEIGHTS_FORMAT = "skdistill.forecaster-weights/1"
#: ``(forecaster, state_dict)`` while from_weights fits that forecaster.
_PENDING_WEIGHTS: ContextVar[tuple | None] = ContextVar("skdistill_pending_weights", default=None)


def _read_weights(path, expected: str) -> dict:
    """The record of a :meth:`~BaseDeepForecaster.save_weights` file, checked."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}.")
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several kinds for a file that is not its own
        raise ValueError(
            f"{path} is not a weights file written by save_weights (or it needs code to "
            f"load, which is refused): {exc}"
        ) from None
    if not isinstance(record, dict) or record.get("format") != _WEIGHTS_FORMAT:
        raise ValueError(f"{path} is not a weights file written by save_weights.")
    if record["estimator"] != expected:
        raise ValueError(
            f"{path} holds the weights of a {record['estimator']}, not a {expected}: load it "
            f"with {record['estimator']}.from_weights."
        )
    return record


class _ArchForecaster(BaseDeepForecaster):
    """Stores architecture parameters listed in ``_arch`` and builds ``_module_cls`` from them."""

    _arch: tuple[str, ...] = ()
    _module_cls = None

    def _check_params(self) -> None:
        super()._check_params()
        for name in self._arch:
            value = getattr(self, name)
            if isinstance(value, float):
                check_float(value, name)
            else:
                check_int(value, name, minimum=0 if name.endswith("dropout") else 1)

    def _build_module(self, window_length, horizon, n_channels):
        kwargs = {name: getattr(self, name) for name in self._arch}
        return type(self)._module_cls(window_length, horizon, n_channels, **kwargs)
