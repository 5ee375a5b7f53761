"""Shared base of the deep window forecasters: data checks, scaling, windows, training, predict.

A subclass only says which torch module to build (``_build_module``) and, for
distillation, what to add to the training data and loss (``_distillation``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch
from sktime.forecasting.base import BaseForecaster, ForecastingHorizon

from skdistill._validation import check_float, check_int, cuda_devices, resolve_device, seed_from
from skdistill.training.accelerate import finish_net, make_net
from skdistill.training.net import DistillationNet, StudentWithRegressor, training_callbacks
from skdistill.training.teacher import TeacherAdapter
from skdistill.training.windows import SlidingWindowDataset, TailSplit

_PREDICT_BATCH = 1024


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
        self.window_length = window_length
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.validation_size = validation_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        super().__init__()
        self._y = None
        self._X = None

    # --- hooks for subclasses --------------------------------------------------------------
    def _build_module(self, window_length: int, horizon: int, n_channels: int) -> torch.nn.Module:
        raise NotImplementedError

    def _check_params(self) -> None:
        """Validate the common parameters; subclasses extend (and call super)."""
        check_int(self.window_length, "window_length", minimum=1)
        check_int(self.max_epochs, "max_epochs", minimum=1)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_float(self.lr, "lr", strict=True)
        check_int(self.patience, "patience", minimum=1, allow_none=True)
        check_int(self.verbose, "verbose", minimum=0)
        vs = self.validation_size
        if vs is not None:
            if isinstance(vs, bool) or not isinstance(vs, int | float | np.integer | np.floating):
                raise TypeError(f"validation_size must be None, an int or a float; got {vs!r}.")
            if isinstance(vs, float | np.floating) and not 0.0 < vs < 1.0:
                raise ValueError(f"validation_size as a fraction must be in (0, 1); got {vs}.")
            if isinstance(vs, int | np.integer) and vs < 1:
                raise ValueError(f"validation_size as a number of rows must be >= 1; got {vs}.")
        if self.random_state is not None and not isinstance(
            self.random_state, np.random.RandomState
        ):
            check_int(self.random_state, "random_state", minimum=0)

    def _criterion_kwargs(self) -> dict:
        return {"alpha": 0.0, "beta": 0.0}

    def _distillation(self, ctx: dict) -> dict:
        """Teacher data for training: ``{"extras", "teacher", "regressor"}`` (all optional)."""
        return {}

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
        mean = values[:n_train_rows].mean(axis=0)
        scale = values[:n_train_rows].std(axis=0)
        scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(mean)), scale, 1.0)
        series = ((values - mean) / scale).astype(np.float32)

        train_starts = np.arange(0, n_train_rows - L - H + 1)
        valid_starts = np.arange(n_train_rows - L, n_rows - L - H + 1) if n_val else np.arange(0)

        self.columns_ = list(y.columns)
        self.n_channels_ = n_channels
        self.horizon_ = H
        self.fh_steps_ = steps
        self.scaler_mean_ = mean
        self.scaler_scale_ = scale
        self.device_ = device
        self._context = values[-L:].copy()

        seed = seed_from(self.random_state)
        with torch.random.fork_rng(devices=cuda_devices()):
            torch.manual_seed(seed)
            module = self._build_module(L, H, n_channels)
            ctx = {
                "y": y,
                "values": values,
                "series": series,
                "train_starts": train_starts,
                "module": module,
                "fh": fh,
                "device": device,
            }
            dist = self._distillation(ctx)
            extras = dist.get("extras") or {}
            extras_index = None
            if extras:
                extras_index = np.concatenate(
                    [np.arange(len(train_starts)), np.full(len(valid_starts), -1)]
                )
            dataset = SlidingWindowDataset(
                series,
                L,
                H,
                starts=np.concatenate([train_starts, valid_starts]),
                extras=extras,
                extras_index=extras_index,
            )
            criterion_kwargs = self._criterion_kwargs()
            net = make_net(
                DistillationNet,
                device,
                module=StudentWithRegressor(module, dist.get("regressor")),
                teacher=dist.get("teacher"),
                **{f"criterion__{k}": v for k, v in criterion_kwargs.items()},
                optimizer=torch.optim.Adam,
                # One fused kernel instead of a Python loop over parameter tensors.
                optimizer__fused=device.startswith(("cpu", "cuda")),
                lr=float(self.lr),
                max_epochs=int(self.max_epochs),
                batch_size=int(self.batch_size),
                iterator_train__shuffle=True,
                train_split=TailSplit(len(valid_starts)),
                callbacks=training_callbacks(
                    criterion_kwargs, self.patience, bool(len(valid_starts)), self.verbose
                ),
                verbose=int(self.verbose),
            )
            with warnings.catch_warnings():
                # skorch warns that y=None with a Dataset; that is how windows are passed.
                warnings.filterwarnings("ignore", message=".*y.*None.*", category=UserWarning)
                net.fit(dataset, None)
            net = finish_net(net)
        # The teacher is not needed to predict; do not pickle it with the net.
        net.teacher = None
        self.net_ = net
        self.history_ = net.history
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
        new = self._check_y(y, "y in update")
        if new.shape[1] != self.n_channels_:
            raise ValueError(
                f"update got {new.shape[1]} columns; the forecaster was fitted on {self.n_channels_}."
            )
        L = int(self.window_length)
        self._context = np.concatenate([self._context, new])[-L:]
        return self

    # --- batched prediction --------------------------------------------------------------
    def _student_module(self) -> torch.nn.Module:
        return self.net_.module_.student

    @torch.no_grad()
    def _predict_full(self, windows: np.ndarray) -> np.ndarray:
        """Forecast all ``horizon_`` steps for windows ``(n, L, C)`` in y units."""
        module = self._student_module().eval()
        device = self.net_.device
        z = (windows - self.scaler_mean_) / self.scaler_scale_
        out = []
        for lo in range(0, len(z), _PREDICT_BATCH):
            batch = torch.as_tensor(z[lo : lo + _PREDICT_BATCH], dtype=torch.float32, device=device)
            out.append(module(batch).cpu().numpy())
        pred = np.concatenate(out) if out else np.empty((0, self.horizon_, self.n_channels_))
        return pred.astype(np.float64) * self.scaler_scale_ + self.scaler_mean_

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
        )
        example = torch.as_tensor(np.repeat(self._context[None], 2, axis=0), dtype=torch.float32)
        return export_module_onnx(
            module, example, path, input_name="window", output_name="forecast", opset=opset
        )
