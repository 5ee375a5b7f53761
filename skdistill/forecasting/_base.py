"""Shared base of the deep window forecasters: data checks, scaling, windows, training, predict.

A subclass only says which torch module to build (``_build_module``) and, for
distillation, what to add to the training data and loss (``_distillation``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from skbase.base._clone_plugins import BaseCloner
from sktime.forecasting.base import BaseForecaster, ForecastingHorizon

from skdistill._fitting import all_or_nothing
from skdistill._validation import (
    check_float,
    check_int,
    check_training_params,
    resolve_device,
    seed_from,
    store_params,
)
from skdistill.training.net import TrainSettings
from skdistill.training.teacher import TeacherAdapter
from skdistill.training.timedistill import (
    Teachers,
    fit_timedistill,
    predict_student,
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
    """A single pandas series' index, checked before sktime converts it (whose own refusals
    of the same faults are long format listings, not the fix)."""
    if isinstance(y, pd.DataFrame | pd.Series) and not isinstance(y.index, pd.MultiIndex):
        if not isinstance(y.index, pd.RangeIndex):
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
        "y_inner_mtype": "pd.DataFrame",
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
        verbose: int = 0,
    ) -> None:
        self._init_params(locals())

    def _init_params(self, params: dict) -> None:
        """``__init__``'s body for every subclass: store the parameters, then sktime's init."""
        store_params(self, params)
        BaseForecaster.__init__(self)
        self._y = None
        self._X = None

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

    def _distillation(
        self, y: pd.DataFrame, train_starts: np.ndarray
    ) -> tuple[Teachers | None, dict]:
        """``(teachers' side, TimeDistill loss parameters)``: trained alone, no teacher."""
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

    def _horizon_steps(self, fh: ForecastingHorizon) -> np.ndarray:
        steps = np.asarray(fh.to_relative(self.cutoff).to_numpy(), dtype=np.int64).ravel()
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
        values = self._check_y(y)
        step = _index_step(y.index, "y")
        steps = self._horizon_steps(fh)
        L = int(self.window_length)
        H = int(steps.max())
        n_rows, n_channels = values.shape
        n_val = self._n_valid_rows(n_rows, H)
        n_train_rows = n_rows - n_val
        if n_train_rows < L + H:
            raise ValueError(
                f"y has {n_rows} rows; with window_length={L}, horizon {H} and {n_val} validation rows "
                f"it needs at least {L + H + n_val} rows (window_length + horizon + validation). "
                "Use a longer series, a shorter window_length, or a smaller validation_size."
            )

        # Standardise with statistics of the training rows only (population std, as the protocol).
        mean, scale = standard_scaler(values[:n_train_rows])
        series = ((values - mean) / scale).astype(np.float32)
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and np.isfinite(series).all()):
            raise ValueError(
                "y is too large to standardise in float64 (its mean or standard deviation "
                f"overflows, max |y| = {float(np.abs(values).max()):.3g}); rescale y, e.g. divide it by a power of 10."
            )

        train_starts = np.arange(0, n_train_rows - L - H + 1)
        valid_starts = np.arange(n_train_rows - L, n_rows - L - H + 1) if n_val else np.arange(0)

        self.columns_ = list(y.columns)
        self.n_channels_ = n_channels
        self.horizon_ = H
        self.fh_steps_ = steps
        self.scaler_mean_ = mean
        self.scaler_scale_ = scale
        self.constant_channels_ = constant_channels(values[:n_train_rows])
        self.device_ = device
        self._context = values[-L:].copy()
        self._context_end, self._index_step = y.index[-1], step

        seed = seed_from(self.random_state)
        teachers, loss = self._distillation(y, train_starts)
        data = SlidingWindowDataset(
            series, L, H, starts=np.concatenate([train_starts, valid_starts])
        )
        settings = TrainSettings(
            lr=float(self.lr),
            max_epochs=int(self.max_epochs),
            batch_size=int(self.batch_size),
            patience=self.patience,
            device=device,
            seed=seed,
            verbose=int(self.verbose),
        )
        self.net_, cache_place = fit_timedistill(
            lambda: self._build_module(L, H, n_channels),
            data,
            len(valid_starts),
            loss,
            settings,
            teachers,
        )
        self.history_ = self.net_.history
        if teachers is not None:
            self.alpha_, self.beta_ = loss["alpha"], loss["beta"]
            self.teacher_cached_ = cache_place in ("memory", "disk")
            self.teacher_cache_ = cache_place
            # Per teacher module: variance kept by its feature's projection (None: as it is).
            self.teacher_feature_variance_ = list(teachers.kept_variance)
        return self

    def _predict(self, fh, X=None):
        steps = self._horizon_steps(fh)
        if steps.max() > self.horizon_:
            raise ValueError(
                f"fh reaches {int(steps.max())} steps ahead but the forecaster was fitted for "
                f"{self.horizon_}; refit with the longer fh."
            )
        pred = self._predict_full(self._context[None])[0]
        index = fh.to_absolute_index(self.cutoff)
        return pd.DataFrame(pred[steps - 1], index=index, columns=self.columns_)

    def _update(self, y: pd.DataFrame, X=None, update_params: bool = True):
        # Deep forecasters are not retrained by update: the cutoff and the look-back move.
        y = self._new_rows(self._fitted_columns(y))
        new = self._check_y(y, "y in update")
        L = int(self.window_length)
        self._context = np.concatenate([self._context, new])[-L:]
        if len(y):
            self._context_end = y.index[-1]
        return self

    def _new_rows(self, y: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``y`` after the look-back's end; they must continue it without a gap."""
        end, step = getattr(self, "_context_end", None), getattr(self, "_index_step", None)
        if end is None or step is None:  # fitted before these were recorded
            return y
        _index_step(y.index, "y in update")
        if len(y) and y.index[-1] < end:
            raise ValueError(
                f"update got rows ending at {y.index[-1]}, before the data seen so far (up to "
                f"{end}): the cutoff cannot move back. Pass rows after {end}."
            )
        y = y[y.index > end]
        expected = _following(end, len(y), step, y.index)
        if len(y) and not y.index.equals(expected):
            raise ValueError(
                f"update got rows from {y.index[0]}, but the data seen so far ends at {end}: "
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

    def _predict_full(self, windows: np.ndarray) -> np.ndarray:
        """Forecast all ``horizon_`` steps for windows ``(n, L, C)`` in y units."""
        return predict_student(
            self.net_,
            windows,
            self.scaler_mean_,
            self.scaler_scale_,
            constant=getattr(self, "constant_channels_", None),
        )

    def predict_windows(self, windows) -> np.ndarray:
        """Forecast many contexts at once.

        Parameters
        ----------
        windows : array-like of shape (n, window_length, n_channels)
            Contexts in the units of ``y`` (a 2-D array is one window).

        Returns
        -------
        numpy.ndarray of shape (n, len(fh), n_channels)
            Forecasts for the fitted ``fh`` steps, in order, in the units of ``y``.
        """
        self.check_is_fitted()
        windows = self._check_windows(windows)
        return self._predict_full(windows)[:, self.fh_steps_ - 1]

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
        example = torch.as_tensor(np.repeat(self._context[None], 2, axis=0), dtype=torch.float32)
        return export_module_onnx(
            module, example, path, input_name="window", output_name="forecast", opset=opset
        )


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
