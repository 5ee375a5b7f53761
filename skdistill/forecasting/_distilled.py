"""TimeDistill as an sktime forecaster: a heavy teacher distilled into the DMLP student."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch
from sktime.forecasting.base import BaseForecaster, ForecastingHorizon

from skdistill._fitting import all_or_nothing
from skdistill._memory import check_teacher_memory, fit_teacher
from skdistill._validation import check_choice, check_int, teacher_seed
from skdistill.forecasting._base import BaseDeepForecaster
from skdistill.forecasting._generic_teacher import window_forecasts
from skdistill.forecasting._mlp import MLPForecaster
from skdistill.losses.base import TeacherOutputs
from skdistill.nn.forecasting import LightTS, TSMixer
from skdistill.training.timedistill import Teachers


def _gives_features(teacher) -> bool:
    """Whether a fitted teacher exposes its module and hidden features to the student.

    Duck-typed: a forecaster with ``_as_teacher(student_mean, student_scale, horizon)``
    returning a module with ``forward_features`` and ``feature_dim`` (the package's own
    forecasters, :class:`~skdistill.forecasting.TorchForecaster`) has both levels distilled;
    it also needs ``columns_``, ``horizon_`` and ``window_length`` (``_check_deep_teacher``).
    """
    return callable(getattr(teacher, "_as_teacher", None))


def _series_teachers(teacher, series, i: int, columns: list) -> list[tuple[list, object]]:
    """``(columns, forecaster)`` pairs that forecast series ``i`` of ``y`` window by window.

    A single series, or a teacher that handles panels itself: the teacher. A teacher that
    sktime vectorised over the panel's series (its ``forecasters_`` has one row per series)
    gives the forecaster it fitted on series ``i``, one per column where sktime vectorised
    over columns too; "reuse" then distils exactly what was fitted on that series.
    """
    fitted = getattr(teacher, "forecasters_", None)
    if not series.is_panel or not isinstance(fitted, pd.DataFrame):
        return [(columns, teacher)]
    row = fitted.loc[series.keys[i]]
    if list(row.index) == ["forecasters"]:
        return [(columns, row.iloc[0])]
    return [([c], row[c]) for c in columns]


class DistilledMLPForecaster(MLPForecaster):
    """TimeDistill (Ni et al., 2025): distil a heavy forecaster into a small MLP.

    The teacher is fitted first (or used as is when already fitted) and frozen. The DMLP
    student is trained on the same windows with

    ``MSE(Ys, Y) + alpha * (period + scale)(Ys, Yt) + beta * (period + scale)(Hs, R(Ht))``

    where *scale* matches the two signals after repeated 2x average pooling, *period* matches
    their amplitude spectra as sharp softmax distributions (KL), ``Yt`` and ``Ht`` are the
    teacher's predictions and hidden features and ``R`` is a small regressor trained with the
    student and discarded after training. The teacher's outputs for the fixed training windows
    are computed once and cached (in RAM within ``teacher_cache_mb``, above it in a
    file read by rows; see ``teacher_cache``). Only the student runs at prediction time.

    Parameters
    ----------
    teacher : sktime forecaster, list of them, or None
        The heavy forecaster (a list: an ensemble, see ``teacher_weights``). Unfitted: cloned
        into ``teacher_`` and fitted on the same ``y`` inside ``fit`` (leak-free under
        ``evaluate``; for a panel, one global teacher of this package, or sktime's one
        forecaster per series for others). Fitted: used as is. Forecasters of this package
        give predictions and features; any other sktime forecaster gives predictions only
        (``beta`` is then forced to 0 with a warning). Required at fit time.
    window_length, hidden_size, moving_avg, norm
        The student, as in :class:`MLPForecaster`.
    alpha : float or "auto", default="auto"
        Weight of prediction-level distillation. "auto": chosen on the validation windows
        among 0, 0.1, 0.5, 1 and 2 (the paper's grid and 0: no teacher). Each candidate
        trains 1 epoch from the initial weights a fit with it fixed would draw; then the
        student alone (0) trains on to the end, the three best other candidates to 3 epochs,
        on together while within 2 % of the leader, and the leader to the end (successive
        halving), each as a fit would (early stopping; the search's epochs count in
        ``max_epochs``; each candidate on its own random stream, so the winner is exactly
        the fit with its weights fixed), and the leader wins if its kept validation MSE is
        more than 2 % below the student alone's, else 0. A teacher whose validation MSE is
        over 1.25x the student alone's is dropped once the student alone has trained (its
        apparent help on validation did not carry over to new data in our runs). The
        teacher's outputs are computed once for all candidates. With both "auto" the
        candidates are ``alpha = beta = w``; with one, the other stays as given. Needs
        ``validation_size``; on data too short for a validation window, "auto" is 1 (with a
        warning). A number fixes the weight (the paper's default: 1).
    beta : float or "auto", default="auto"
        Weight of feature-level distillation; "auto" as for ``alpha``.
    temperature : float, default=0.5
        Softmax temperature of the multi-period term.
    n_scales : int, default=3
        Pooling steps of the multi-scale term (scales 1, 1/2, 1/4, 1/8).
    use_scale, use_period, use_supervised : bool, default=True
        Switch the multi-scale part, the multi-period part and the supervised term (the
        published ablations).
    kl_reduction : {"mean", "batchmean"}, default="mean"
        "mean" divides the KL by every element (the reference code); "batchmean" is the
        per-distribution KL, H/2 times larger.
    teacher_cache_mb : float, default=512
        RAM budget (MB) of the cached teacher outputs (predictions ``n x H x C`` plus
        features ``n x C x d``, one row per training window, at ``teacher_cache_dtype``);
        with ``teacher_cache="auto"`` a larger cache goes to disk.
    teacher_cache : {"auto", "memory", "disk", "off"}, default="auto"
        Where the teacher's outputs are cached: "auto" in RAM within ``teacher_cache_mb``,
        else in a file that each batch reads its own rows from (the process's memory stays
        bounded whatever the cache's size: nothing is mapped); "memory" always in RAM;
        "disk" always in the file; "off"
        no cache: the teacher runs on every training batch (the same loss, slower; the
        forecasts of teachers from outside skdistill are cached all the same). The file lives
        in a temporary folder removed after ``fit``, also after an error or Ctrl-C.
    teacher_cache_dir : str or None, default=None
        Existing directory in which the disk cache's temporary folder is created; None: the
        system's temporary directory (``$TMPDIR``).
    teacher_cache_dtype : {"float32", "float16", "bfloat16"}, default="float32"
        Stored precision of the cache: half precision halves its size. Rows are cast back to
        float32 when a batch reads them. Measured on ETTh1 (look-back and horizon 96, 3 seeds):
        no effect on the validation MSE beyond training noise (at most 0.003, 0.4 %; see the
        user guide).
    teacher_feature_dim : int, "auto" or None, default="auto"
        Width of the teacher features the regressor ``R`` sees. An int ``k``: a feature wider
        than ``k`` (per channel token) is projected onto its ``k`` leading principal
        directions, fitted once on the feature tokens of up to 4096 / C training windows spread
        over the series, before it is cached (and the same way when the teacher runs per
        batch). ``R``'s first layer is linear, so this only restricts it to the span of largest
        variance; it divides ``R``'s cost and the cache's size by ``d_t / k``. "auto": ``k =
        hidden_size``, so that ``R`` is never wider than the student (at L=720 and the
        default 512: ModernTCN's 64 x 180 = 11,520 and PatchTST's 89 x 16 = 1,424 are
        projected, iTransformer's 512 is kept as it is). On the demo's PatchTST this made a
        distillation epoch 12 % shorter, at a test MSE of 0.3752 against 0.3783 as it is.
        None: the paper's ``R = Linear(d_t, D) -> ...`` on every feature as it is. The variance
        kept is ``teacher_feature_variance_``.
    teacher_weights : list of float, optional
        With a list of teachers: weights of their predictions (normalised to sum 1; default
        equal). Each teacher of this package gets its own feature regressor; the feature terms
        are averaged over them.
    generic_teacher : {"reuse", "refit"}, default="reuse"
        How a teacher that is not a forecaster of this package (any sktime forecaster) forecasts
        each training window. "reuse": its fitted parameters are kept and only its data is
        replaced by the window's context (a copy that forgets what it remembered, updated with
        ``update_params=False``): a fitted teacher's own forecasts are distilled, never a refit
        of it. "refit": a clone is fitted on each window's context, for local statistical
        models (one fit per window). Windows go through the teacher's sktime parallel backend
        (``teacher.set_config(**{"backend:parallel": "loky"})``); NaiveForecaster is computed
        for all windows at once.
    memory : None, str, os.PathLike or joblib.Memory, default=None
        Cache of the fitted teacher, as in ``Pipeline(memory=...)``: an unfitted teacher is
        fitted once per training set and reused by every later fit with the same teacher
        parameters and data (grid search candidates, ``evaluate``'s folds, repeated fits), in
        any process that shares the folder. The key holds the teacher's clone (with the seed
        the distiller gave it), ``y``, the horizon and the package versions; ``verbose`` is
        not part of it. A teacher whose ``random_state`` stays None (the distiller's is None
        too) is cached like any other: the first fit is reused, as a pipeline would; fix a
        seed to make that reuse exact. Entries are never invalidated otherwise: clear the
        folder (``memory.clear()``) after changing code outside the package. Already fitted
        teachers are used as they are. The teacher's outputs over the training windows (when
        cached in RAM) and its validation loss are remembered too, keyed by the fitted
        teacher's weights and the windows' values, so the candidates of one fold run the
        teacher over their windows once. See the user guide, "Choosing the loss weights".
    student : {"dmlp", "tsmixer", "lightts"}, default="dmlp"
        The light architecture distilled into: the DMLP (uses ``moving_avg`` and ``norm``),
        TSMixer (``hidden_size`` is its channel-mixing width; RevIN unless ``norm="none"``) or
        LightTS (``hidden_size``; ``window_length`` divisible by its chunk size 24). Each is
        distilled through its own feature (see :mod:`skdistill.nn.forecasting`).
    max_epochs, batch_size, lr, patience, validation_size, device, random_state, verbose, global_model
        As for :class:`MLPForecaster`.
    precision, compile
        As for :class:`~skdistill.forecasting.MLPForecaster`.

    Attributes
    ----------
    teacher_ : sktime forecaster
        The fitted teacher.
    history_ : skorch.History
        Per epoch: ``train_loss`` (the objective), ``valid_loss`` (plain MSE), and each active
        term: ``train_sup``, ``train_pred_scale``, ``train_pred_period``, ``train_feat_scale``,
        ``train_feat_period``.
    alpha_, beta_ : float
        The weights used (``beta_`` is 0 for prediction-only teachers): the chosen ones
        under "auto".
    weight_search_ : list of dict or None
        Under "auto": per candidate, ``alpha``, ``beta``, the ``epochs`` it trained and its
        best ``valid_loss``; None with fixed weights.
    teacher_cached_ : bool
        Whether teacher outputs were cached (else computed per batch).
    teacher_feature_variance_ : list of (float or None)
        Per teacher giving features: the fraction of its feature's variance kept by the
        projection (see ``teacher_feature_dim``), None where the feature is used as it is.
    teacher_cache_ : {"memory", "disk", "off"} or None
        Where the teacher's outputs lived during ``fit`` ("off": computed per batch; None:
        none was used, ``alpha = beta = 0``).
    valid_loss_ : float or None
        The student's validation MSE (standardised scale) at the kept epoch (the best one
        under early stopping); None without validation windows.
    teacher_valid_loss_ : float or None
        The teacher's (weighted teachers') MSE on the same validation windows and scale; None
        without validation windows, without distillation (``alpha = beta = 0``) or with
        sktime teachers. Above 1.25 x ``valid_loss_`` under fixed weights, the fit issues a
        :class:`~skdistill.exceptions.WeakTeacherWarning`; under "auto" such a teacher is
        dropped, with the same warning.

    Examples
    --------
    >>> from skdistill.forecasting import DistilledMLPForecaster, ITransformerForecaster
    >>> from skdistill.datasets import load_ltsf
    >>> y = load_ltsf("ETTh1").iloc[:600]
    >>> teacher = ITransformerForecaster(window_length=96, d_model=16, d_ff=16, n_heads=2,
    ...                                  max_epochs=1, random_state=0)
    >>> student = DistilledMLPForecaster(teacher, window_length=96, hidden_size=32,
    ...                                  alpha=2.0, beta=2.0, max_epochs=2, random_state=0)
    >>> student.fit(y, fh=range(1, 25)).predict().shape
    (24, 7)
    >>> "train_feat_period" in student.history_[-1]
    True
    """

    def __init__(
        self,
        teacher=None,
        window_length: int = 720,
        hidden_size: int = 512,
        moving_avg: int = 25,
        norm: str = "mean",
        alpha: float | str = "auto",
        beta: float | str = "auto",
        temperature: float = 0.5,
        n_scales: int = 3,
        use_scale: bool = True,
        use_period: bool = True,
        use_supervised: bool = True,
        kl_reduction: str = "mean",
        teacher_cache_mb: float = 512,
        teacher_cache: str = "auto",
        teacher_cache_dir: str | None = None,
        teacher_cache_dtype: str = "float32",
        teacher_feature_dim: int | str | None = "auto",
        student: str = "dmlp",
        teacher_weights=None,
        generic_teacher: str = "reuse",
        memory=None,
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

    @all_or_nothing
    def fit(self, y, X=None, fh=None, teacher=None):
        """Fit the teacher (if unfitted) and distil it into the student.

        ``fit(y, fh=..., teacher=t)`` equals ``set_params(teacher=t)`` then ``fit(y, fh=...)``;
        on any error (Ctrl-C included) the estimator, ``teacher`` too, is left as it was.
        """
        if teacher is not None:
            # sktime's fit resets private state: the teacher must live in the parameter.
            self.set_params(teacher=teacher)
        return super().fit(y, X=X, fh=fh)

    def _check_params(self) -> None:
        super()._check_params()
        self._check_timedistill_params()
        self._check_cache_params()
        check_choice(self.student, "student", ("dmlp", "tsmixer", "lightts"))
        check_choice(self.generic_teacher, "generic_teacher", ("reuse", "refit"))
        check_teacher_memory(self.memory)
        k = self.teacher_feature_dim
        if isinstance(k, str) and k != "auto":
            raise ValueError(f'teacher_feature_dim must be "auto", None or an int >= 1; got {k!r}.')
        if not (k is None or isinstance(k, str)):
            check_int(k, "teacher_feature_dim")
        if self.teacher is None:
            raise ValueError(
                "DistilledMLPForecaster needs a teacher: pass teacher=<an sktime forecaster> "
                "(e.g. ITransformerForecaster()). To train the student alone use MLPForecaster."
            )
        teachers = self._teacher_list()
        if not teachers:
            raise ValueError("teacher is an empty list; pass at least one sktime forecaster.")
        for t in teachers:
            if not isinstance(t, BaseForecaster):
                raise TypeError(
                    "teacher must be an sktime forecaster (e.g. ITransformerForecaster() or any "
                    f"sktime BaseForecaster), or a list of them; got {type(t).__name__}."
                )
        if self.teacher_weights is not None:
            try:
                w = np.asarray(self.teacher_weights, dtype=np.float64)
            except (TypeError, ValueError):
                w = np.array([np.nan])  # not numbers: the message below says what is needed
            if (
                isinstance(self.teacher_weights, str)
                or w.shape != (len(teachers),)
                or not np.isfinite(w).all()
                or (w < 0).any()
                or not w.sum()
            ):
                raise ValueError(
                    f"teacher_weights must be {len(teachers)} non-negative numbers (one per "
                    f"teacher) with a positive sum; got {self.teacher_weights!r}."
                )

    def _teacher_list(self) -> list:
        return list(self.teacher) if isinstance(self.teacher, list | tuple) else [self.teacher]

    def _build_module(self, window_length, horizon, n_channels):
        # The loss only needs forward_features and feature_dim: any light student fits.
        if self.student == "tsmixer":
            norm = "none" if self.norm == "none" else "revin"
            return TSMixer(
                window_length, horizon, n_channels, hidden_size=self.hidden_size, norm=norm
            )
        if self.student == "lightts":
            return LightTS(window_length, horizon, n_channels, hidden_size=self.hidden_size)
        return super()._build_module(window_length, horizon, n_channels)

    # --- the teacher's side --------------------------------------------------------------
    def _fit_teacher(self, teacher, y, horizon: int, index: int = 0):
        if teacher.is_fitted:
            return teacher
        teacher = teacher.clone()
        if teacher.get_params(deep=False).get("random_state", 0) is None:
            # A teacher cloned inside the distiller follows the distiller's seed (one stream
            # per teacher), so that a seeded distiller is deterministic as a whole.
            seed = teacher_seed(self.random_state, index)
            if seed is not None:
                teacher.set_params(random_state=seed)
        # verbose=0 on the distiller silences its teacher's fit too; else the teacher's own.
        fh = ForecastingHorizon(np.arange(1, horizon + 1), is_relative=True)
        return fit_teacher(teacher, y, memory=self.memory, verbose=self.verbose, fh=fh)

    def _distillation(self, y, series, train_starts: list, n_valid: int) -> tuple[Teachers, dict]:
        """Fit the teachers into ``teacher_``; their side of the fit and the loss weights."""
        L, H = int(self.window_length), self.horizon_
        fitted = [self._fit_teacher(t, y, H, k) for k, t in enumerate(self._teacher_list())]
        self.teacher_ = fitted if isinstance(self.teacher, list | tuple) else fitted[0]
        weights = np.ones(len(fitted)) if self.teacher_weights is None else self.teacher_weights
        weights = np.asarray(weights, dtype=np.float64) / np.sum(weights)
        deep = [(t, w) for t, w in zip(fitted, weights, strict=True) if _gives_features(t)]
        generic = [(t, w) for t, w in zip(fitted, weights, strict=True) if not _gives_features(t)]
        beta = self.beta
        if not deep and (beta == "auto" or beta > 0):
            names = ", ".join(type(t).__name__ for t in fitted)
            warnings.warn(
                f"{names} exposes no hidden features: feature-level distillation is off (beta "
                "forced to 0). For both levels use a forecaster of skdistill, or wrap a PyTorch "
                "model in skdistill.forecasting.TorchForecaster.",
                UserWarning,
                stacklevel=4,
            )
            beta = 0.0
        for t, _ in deep:
            self._check_deep_teacher(t)
        given = None
        for t, _ in generic:
            self._check_generic_teacher(t)
        if generic:
            pred = sum(
                w * self._generic_teacher_predictions(t, series, train_starts, L, H)
                for t, w in generic
            )
            given = TeacherOutputs(pred=torch.as_tensor(pred, dtype=torch.float32))
        teachers = Teachers(
            modules=[t._as_teacher(self.scaler_mean_, self.scaler_scale_, H) for t, _ in deep],
            weights=[float(w) for _, w in deep],
            given=given,
            cache_mb=float(self.teacher_cache_mb),
            cache=self.teacher_cache,
            cache_dir=self.teacher_cache_dir,
            cache_dtype=self.teacher_cache_dtype,
            memory=check_teacher_memory(self.memory),
            **self._projection(),
        )
        return teachers, self._loss_params(self.alpha, beta, H, n_valid)

    def _projection(self) -> dict:
        """``Teachers`` fields of ``teacher_feature_dim``: the width and the threshold."""
        k = self.teacher_feature_dim
        if k is None:
            return {}
        if k == "auto":
            return {"feature_dim": int(self.hidden_size)}
        return {"feature_dim": int(k)}

    def _check_generic_teacher(self, t) -> None:
        """A fitted sktime teacher must know y's columns (matched by name, any order)."""
        names = (getattr(t, "_y_metadata", None) or {}).get("feature_names")
        if names is None or len(self.columns_) == 1 == len(names):
            return  # a univariate series' name is often incidental
        if sorted(map(str, names)) != sorted(map(str, self.columns_)):
            raise ValueError(
                f"the teacher {type(t).__name__} was fitted on columns {list(names)} but y has "
                f"{list(self.columns_)}; fit the teacher on y's columns (or pass it unfitted)."
            )

    def _check_deep_teacher(self, t: BaseDeepForecaster) -> None:
        if not hasattr(t, "columns_") and hasattr(t, "forecasters_"):
            raise ValueError(
                f"the teacher {type(t).__name__} was fitted one model per series "
                "(global_model=False), but the student is global: give the teacher "
                "global_model=True, or the student global_model=False (one teacher and one "
                "student per series)."
            )
        keys = getattr(t, "series_keys_", None)
        if keys is not None and keys != self.series_keys_:
            mine = "a single series" if self.series_keys_ is None else f"{self.series_keys_!r}"
            raise ValueError(
                f"the teacher was fitted on the panel's series {keys!r} but y holds {mine}; "
                "fit the teacher on the same series, in the same order (or pass it unfitted)."
            )
        if list(t.columns_) != list(self.columns_):
            raise ValueError(
                f"the teacher was fitted on columns {list(t.columns_)} but y has "
                f"{list(self.columns_)}; fit the teacher on the same columns (or pass it unfitted)."
            )
        if t.horizon_ < self.horizon_:
            raise ValueError(
                f"the teacher was fitted for {t.horizon_} steps ahead, the student needs "
                f"{self.horizon_}; refit the teacher with fh reaching {self.horizon_} (or pass "
                "it unfitted)."
            )
        if int(t.window_length) > int(self.window_length):
            raise ValueError(
                f"the teacher's window_length={t.window_length} is longer than the student's "
                f"{self.window_length}: the student's windows cannot feed it. Use a teacher with "
                "window_length <= the student's."
            )

    def _generic_teacher_predictions(
        self, teacher, series, starts: list, L: int, H: int
    ) -> np.ndarray:
        """Standardised forecasts of a non-skdistill teacher for every training window, series
        by series (see :mod:`skdistill.forecasting._generic_teacher` for the semantics)."""
        per_series = []
        for i, (frame, local) in enumerate(zip(series.frames, starts, strict=True)):
            by_column = {}
            for columns, fitted in _series_teachers(teacher, series, i, self.columns_):
                preds = window_forecasts(
                    fitted,
                    frame[columns],
                    local,
                    L,
                    H,
                    mode=self.generic_teacher,
                    check=lambda forecast, w, t=fitted, c=columns: self._teacher_forecast_values(
                        t, forecast, H, w, c
                    ),
                    verbose=int(self.verbose),
                )
                by_column.update(zip(columns, np.moveaxis(preds, -1, 0), strict=True))
            preds = np.stack([by_column[c] for c in self.columns_], axis=-1)
            mean, scale, _ = self._scaling(np.intp(i))
            per_series.append((preds - mean) / scale)
        return np.concatenate(per_series)

    def _teacher_forecast_values(
        self, teacher, forecast, H: int, window: int, expected: list | None = None
    ) -> np.ndarray:
        """A generic teacher's forecast as ``(H, C)`` in the ``expected`` columns' order (y's
        by default), or a ValueError.

        Rows must be the H steps (never broadcast), columns are matched by name (a
        univariate forecast may carry another name), values must be finite.
        """
        expected = self.columns_ if expected is None else list(expected)
        name = type(teacher).__name__
        if isinstance(forecast, pd.Series):
            forecast = forecast.to_frame()
        if not isinstance(forecast, pd.DataFrame) or forecast.shape[0] != H:
            shape = getattr(forecast, "shape", type(forecast).__name__)
            raise ValueError(
                f"teacher {name} returned a forecast of shape {shape} for an fh of {H} steps; a "
                "teacher must forecast every step of fh as a DataFrame with y's columns."
            )
        columns = list(forecast.columns)
        if columns != expected:
            if set(columns) == set(expected) and len(columns) == len(expected):
                forecast = forecast[expected]
            elif not (len(columns) == 1 == len(expected)):
                raise ValueError(
                    f"teacher {name} forecasts columns {columns}, but y has {expected}; "
                    "columns are matched by name: the teacher must forecast y's columns."
                )
        values = forecast.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError(
                f"teacher {name} forecast NaN or infinite values (training window {window}); "
                "check the teacher on this data, or use another teacher."
            )
        return values

    @classmethod
    def get_test_params(cls, parameter_set: str = "default"):
        """Cheap parameter sets for sktime's estimator checks (tiny package and generic teachers)."""
        from sktime.forecasting.naive import NaiveForecaster

        tiny_teacher = MLPForecaster(
            window_length=6,
            hidden_size=8,
            moving_avg=3,
            max_epochs=1,
            validation_size=None,
            random_state=0,
        )
        return [
            {
                "teacher": tiny_teacher,
                "window_length": 6,
                "hidden_size": 8,
                "moving_avg": 3,
                "alpha": 1.0,
                "beta": 1.0,
                "n_scales": 0,
                "max_epochs": 2,
                "validation_size": None,
                "random_state": 0,
            },
            {
                "teacher": NaiveForecaster(strategy="last"),
                "window_length": 6,
                "hidden_size": 4,
                "moving_avg": 3,
                "alpha": 1.0,
                "beta": 0.0,
                "n_scales": 0,
                "max_epochs": 1,
                "batch_size": 8,
                "validation_size": None,
                "random_state": 1,
            },
        ]
