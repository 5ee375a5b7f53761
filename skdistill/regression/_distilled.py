"""TimeDistill as a scikit-learn regressor on pre-cut windows.

The sktime forecasters cut windows from one series themselves; this estimator takes the
windows ``X`` (n, L, C), the targets ``Y`` (n, H, C) and, optionally, per-sample teacher
outputs as fit arguments. Teacher outputs are plain arrays with the sample axis first, so
scikit-learn's model selection (``GridSearchCV``, ``cross_validate``) slices them per fold
like ``X`` and ``Y``: a grid search over ``alpha`` and ``beta`` never sees a teacher output of
a validation window. Training goes through the same entry point as the forecasters
(:func:`skdistill.training.timedistill.fit_timedistill`).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils import check_array
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from skdistill._fitting import all_or_nothing
from skdistill._timedistill import TimeDistillParamsMixin
from skdistill._validation import (
    check_bool,
    check_precision_device,
    check_training_params,
    resolve_device,
    seed_from,
    store_params,
)
from skdistill.losses.base import TeacherOutputs
from skdistill.nn.forecasting import DMLP
from skdistill.training.net import TrainSettings
from skdistill.training.timedistill import (
    Teachers,
    fit_timedistill,
    predict_student,
)
from skdistill.training.windows import ArrayWindowDataset, constant_channels, standard_scaler

__all__ = ["DistilledMLPRegressor"]


class DistilledMLPRegressor(TimeDistillParamsMixin, RegressorMixin, BaseEstimator):
    """TimeDistill (Ni et al., 2025) on windows: a DMLP student trained with a teacher's outputs.

    The student maps a look-back window ``X[i]`` (L, C) to the next ``H`` steps ``Y[i]``
    (H, C). It is trained with

    ``MSE(Ys, Y) + alpha * (period + scale)(Ys, Yt) + beta * (period + scale)(Hs, R(Ht))``

    where ``Yt = teacher_predictions`` and ``Ht = teacher_features`` are the outputs of a
    frozen teacher for the same windows, computed beforehand (e.g. with
    :meth:`skdistill.forecasting.ITransformerForecaster.predict_windows`), *scale* matches
    two signals after repeated 2x average pooling, *period* their softmaxed amplitude spectra
    (KL), and ``R`` is a small regressor trained with the student and discarded afterwards.
    Without teacher outputs it trains the student alone (the "MLP" baseline).

    Parameters
    ----------
    hidden_size : int, default=512
        Hidden width D of the two DMLP branches (also the feature size).
    moving_avg : int, default=25
        Kernel of the trend moving average. If it exceeds the window length L, the largest
        odd kernel <= L is used instead (stored in ``moving_avg_``), so that short windows,
        such as the few columns of scikit-learn's estimator checks, still fit.
    norm : {"mean", "revin", "none"}, default="mean"
        Per-window normalisation of the student.
    alpha : float or "auto", default="auto"
        Weight of prediction-level distillation (needs ``teacher_predictions``). "auto":
        chosen on the validation windows among 0, 0.1, 0.5, 1 and 2, as in
        :class:`~skdistill.forecasting.DistilledMLPForecaster` (the winner of a short search
        goes on as the fit; needs ``validation_size``; 1, with a warning, on data too short
        for a validation window). A number fixes the weight (the paper's default: 1).
    beta : float or "auto", default="auto"
        Weight of feature-level distillation (needs ``teacher_features``); "auto" as for
        ``alpha``.
    temperature : float, default=0.5
        Softmax temperature of the multi-period term.
    n_scales : int, default=3
        Pooling steps of the multi-scale term. When a level is active, its signal must be at
        least ``2**n_scales`` long: the horizon H for ``alpha``, ``hidden_size`` for ``beta``
        (a ValueError says so otherwise).
    use_scale, use_period, use_supervised : bool, default=True
        Switch the multi-scale part, the multi-period part and the supervised term.
    kl_reduction : {"mean", "batchmean"}, default="mean"
        Reduction of the multi-period KL ("mean": the reference code's).
    standardize : bool, default=True
        Standardise ``X``, ``Y`` and ``teacher_predictions`` per channel with the mean and
        standard deviation of the training windows of ``X`` (as the forecasters do with their
        training rows); predictions are mapped back to the units of ``Y``. Set False when the
        windows are standardised already. ``Y`` must be in the units of ``X`` (the student
        adds the window mean back with ``norm="mean"``).
    teacher_cache_mb : float, default=512
        RAM budget (MB) of the training copy of the teacher outputs (at
        ``teacher_cache_dtype``); with ``teacher_cache="auto"`` a larger copy goes to disk.
    teacher_cache : {"auto", "memory", "disk", "off"}, default="auto"
        Where the training copy of the teacher outputs lives: "auto" in RAM within
        ``teacher_cache_mb`` else in a file that each batch reads its rows
        from, "memory" in RAM, "disk" in the file (in a temporary folder removed after
        ``fit``, also after an error or Ctrl-C); "off" uses the arrays as passed (there is no
        teacher to run per batch; ``teacher_cache_dtype`` is then ignored). The arrays passed
        to ``fit`` stay in the caller's memory whatever the choice.
    teacher_cache_dir : str or None, default=None
        Existing directory for the disk copy's temporary folder; None: the system's
        temporary directory (``$TMPDIR``).
    teacher_cache_dtype : {"float32", "float16", "bfloat16"}, default="float32"
        Stored precision of the training copy; rows are cast back to float32 when a batch
        reads them.
    max_epochs : int, default=100
    batch_size : int, default=32
    lr : float, default=0.01
        Adam learning rate of epochs 1-2; halved every epoch after (reference schedule).
    patience : int or None, default=5
        Early-stopping patience on the validation MSE (best weights restored); None: off.
    validation_size : float, int or None, default=0.2
        Validation windows: a fraction of the n windows (rounded down) or a number of
        windows, taken from the *tail*: windows are assumed to be in time order. A fraction
        that rounds to 0 windows (tiny data) trains without validation; None: no validation.
    device : {"cpu", "cuda", "auto"}, default="cpu"
    random_state : int, numpy.random.RandomState or None, default=None
        Seed of weights and shuffling; fits are deterministic for a fixed int. None draws a
        seed from numpy's global random state.
    verbose : int, default=1
        0: silent (nothing on stdout or stderr). 1: a progress bar over the training epochs
        on stderr (with the last losses). 2: also skorch's table of every epoch's losses and
        the notes on the teacher cache (stdout).
    precision : {"32", "bf16", "16-mixed"}, default="32"
        Floating-point precision of the network's forward passes (Lightning's names) in
        training, validation and prediction. "32": float32; "bf16" (alias "bf16-mixed"):
        bfloat16 autocast, on CPU and GPU; "16-mixed": float16 autocast with gradient
        scaling, CUDA only (a ValueError at ``fit`` on another device). Weights, losses and
        the returned forecasts stay float32 or float64. The user guide's page on scaling out
        gives measured speed and accuracy.
    compile : bool, default=False
        Compile the network with ``torch.compile`` for training (on CPU it needs a C
        compiler; the first epoch pays the compilation, tens of seconds). The fitted
        estimator keeps the plain network: it pickles and predicts without a compiler.

    Attributes
    ----------
    net_ : skdistill.training.net.DistillNet
        The trained skorch net; ``net_.module_.student`` is the DMLP.
    history_ : skorch.History
        Per epoch: ``train_loss`` (the objective), ``valid_loss`` (plain MSE), and each active
        term (``train_sup``, ``train_pred_scale``, ``train_pred_period``, ...).
    alpha_, beta_ : float
        The weights used: 0 for a level whose teacher array was not passed to ``fit``; the
        chosen ones under "auto".
    weight_search_ : list of dict or None
        Under "auto" (with a teacher array): per candidate, ``alpha``, ``beta``, the
        ``epochs`` it trained and its best ``valid_loss``; None with fixed weights.
    valid_loss_ : float or None
        The student's validation MSE (standardised units) at the epoch it kept; None without
        validation windows.
    teacher_valid_loss_ : float or None
        The MSE of ``teacher_predictions`` on the same validation windows and scale; None
        without them or without validation windows. A teacher over 1.25x the student's
        ``valid_loss_`` under fixed weights, or a search that chose 0 (under "auto" a
        teacher over 1.25x the student alone's is dropped), gives a
        :class:`~skdistill.exceptions.WeakTeacherWarning`.
    moving_avg_ : int
        The moving-average kernel used.
    n_features_in_ : int
        ``X.shape[1]``, scikit-learn's convention also for 3-D input: the window length L.
    feature_names_in_ : numpy.ndarray
        Column names, when ``X`` was a DataFrame.
    window_length_, horizon_, n_channels_ : int
        L, H and C of the fitted windows.
    scaler_mean_, scaler_scale_ : numpy.ndarray of shape ``(n_channels_,)``
        The per-channel standardisation (zeros and ones when ``standardize=False``).
    constant_channels_ : numpy.ndarray of bool, shape ``(n_channels_,)``
        Channels holding one value in every training window and target; they carry nothing
        to learn and are forecast as each window's last value (never with ``standardize=False``).
    device_ : str
        The torch device used.
    teacher_cache_ : {"memory", "disk"} or None
        Where the teacher outputs lived during ``fit`` (None: none was used).

    Notes
    -----
    **Layouts.** ``X`` is (n, L, C), or (n, L) for univariate windows (C = 1). ``Y`` is
    (n, H, C); with C = 1 it may also be (n, H), or (n,) for a one-step target (H = 1).
    ``predict`` returns the layout ``Y`` had in ``fit``: (n, H, C), (n, H) or (n,). After a fit
    on (n, L, 1) windows ``predict`` also accepts (n, L).

    **Teacher outputs.** ``teacher_predictions`` has the shape of ``Y`` (or (n, H, C)), in the
    units of ``Y``; ``teacher_features`` is (n, C, d_t) (or (n, d_t) when C = 1), in the
    teacher's own feature space. Row i belongs to window ``X[i]``.

    * Neither passed (what scikit-learn's estimator checks do): plain supervised training of
      the student, silently (``alpha_ = beta_ = 0``).
    * Only one passed while the other level's weight is > 0: that other level is off, with a
      ``UserWarning`` (and its weight recorded as 0 in ``alpha_`` / ``beta_``).
    * ``alpha = beta = 0``: exactly the student alone, whatever is passed.

    ``score`` is the R^2 of the predictions over the flattened (n, H * C) targets (uniform
    average over steps and channels), so it works for 3-D ``Y`` in ``GridSearchCV``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdistill.regression import DistilledMLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.normal(size=(40, 16, 2)), rng.normal(size=(40, 8, 2))
    >>> Yt, Ht = Y + 0.1 * rng.normal(size=Y.shape), rng.normal(size=(40, 2, 4))
    >>> reg = DistilledMLPRegressor(hidden_size=8, moving_avg=5, n_scales=2, max_epochs=2,
    ...                             alpha=1.0, beta=1.0, random_state=0)
    >>> reg.fit(X, Y, teacher_predictions=Yt, teacher_features=Ht).predict(X).shape
    (40, 8, 2)
    >>> reg.alpha_, reg.beta_
    (1.0, 1.0)
    """

    def __init__(
        self,
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
        standardize: bool = True,
        teacher_cache_mb: float = 512,
        teacher_cache: str = "auto",
        teacher_cache_dir: str | None = None,
        teacher_cache_dtype: str = "float32",
        max_epochs: int = 100,
        batch_size: int = 32,
        lr: float = 0.01,
        patience: int | None = 5,
        validation_size: float | int | None = 0.2,
        device: str = "cpu",
        random_state: int | None = None,
        verbose: int = 1,
        precision: str = "32",
        compile: bool = False,
    ) -> None:
        store_params(self, locals())

    # --- checks ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        self._check_student_params()
        self._check_timedistill_params()
        check_bool(self.standardize, "standardize")
        self._check_cache_params()
        check_training_params(self, validation_unit="windows")

    def _validate_fit_data(self, X, Y) -> tuple[np.ndarray, np.ndarray, tuple]:
        """Check X and Y (sets ``n_features_in_``); return (n, L, C), (n, H, C), Y's shape."""
        X, Y = validate_data(
            self,
            X,
            Y,
            reset=True,
            validate_separately=(
                {"allow_nd": True, "dtype": np.float64},
                {"allow_nd": True, "ensure_2d": False, "dtype": np.float64},
            ),
        )
        check_consistent_length(X, Y)
        if X.ndim not in (2, 3) or 0 in X.shape[1:]:
            raise ValueError(
                f"X must have shape (n, L, C) (windows) or (n, L) (univariate windows); got "
                f"{X.shape}."
            )
        X3 = X if X.ndim == 3 else X[:, :, None]
        C = X3.shape[2]
        if Y.ndim == 3 or (Y.ndim in (1, 2) and C == 1):
            Y3 = Y.reshape(len(Y), -1, 1) if Y.ndim < 3 else Y
        else:
            raise ValueError(
                f"Y must have shape (n, H, C) = (n, H, {C}) for X of shape {X.shape}"
                + (
                    "; (n, H) and (n,) are only for univariate windows (C = 1)"
                    if Y.ndim < 3
                    else ""
                )
                + f"; got {Y.shape}."
            )
        if Y3.shape[1] == 0 or Y3.shape[2] != C:
            raise ValueError(
                f"Y must have shape (n, H, C) with the C = {C} channels of X (shape {X.shape}); "
                f"got {Y.shape}."
            )
        return X3, Y3, Y.shape

    def _check_teacher(self, arr, name: str, shapes: list[tuple], canonical: tuple, hint: str):
        """Validate a per-sample teacher array; return it reshaped to ``canonical``."""
        arr = check_array(
            arr, allow_nd=True, ensure_2d=False, dtype=np.float64, input_name=name, estimator=self
        )
        n = canonical[0]
        if arr.shape[0] != n:
            raise ValueError(
                f"{name} has {arr.shape[0]} samples but X has {n}: teacher outputs are per "
                "sample (row i belongs to window X[i]); pass them for exactly the windows in X."
            )
        if arr.shape not in shapes:
            raise ValueError(f"{name} must have shape {hint}; got {arr.shape}.")
        return arr.reshape(canonical)

    def _n_valid(self, n: int) -> int:
        vs = self.validation_size
        if vs is None:
            return 0
        n_val = int(vs * n) if isinstance(vs, float | np.floating) else int(vs)
        if n_val >= n:
            raise ValueError(
                f"validation_size={vs} takes {n_val} of the {n} windows: none is left to train. "
                "Lower validation_size or set it to None."
            )
        return n_val

    # --- fit / predict -----------------------------------------------------------------------
    @all_or_nothing
    def fit(self, X, Y, teacher_predictions=None, teacher_features=None):
        """Train the student on windows, distilling the given teacher outputs.

        Parameters
        ----------
        X : array-like of shape (n, L, C) or (n, L)
            Look-back windows, in time order (the tail validates).
        Y : array-like of shape (n, H, C), (n, H) or (n,)
            Targets: the H steps after each window (the 2-D and 1-D forms need C = 1).
        teacher_predictions : array-like of shape like Y or (n, H, C), optional
            The teacher's forecasts for the windows, in the units of ``Y``.
        teacher_features : array-like of shape (n, C, d_t), optional
            The teacher's per-channel hidden features for the windows ((n, d_t) when C = 1).

        Returns
        -------
        self
        """
        self._check_params()
        device = resolve_device(self.device)
        precision = check_precision_device(self.precision, device)
        X3, Y3, y_shape = self._validate_fit_data(X, Y)
        n, L, C = X3.shape
        H = Y3.shape[1]
        tp, tf = self._teacher_arrays(teacher_predictions, teacher_features, n, H, C, y_shape)
        alpha_, beta_ = self._weights(tp is not None, tf is not None)
        n_val = self._n_valid(n)
        if self.standardize:
            mean, scale = standard_scaler(X3[: n - n_val])
            # One value in every training window and target: forecast as the last value.
            self.constant_channels_ = constant_channels(X3[: n - n_val], Y3[: n - n_val])
        else:
            mean, scale = np.zeros(C), np.ones(C)
            self.constant_channels_ = np.zeros(C, bool)

        def z(a: np.ndarray) -> np.ndarray:
            return ((a - mean) / scale).astype(np.float32)

        self.window_length_, self.horizon_, self.n_channels_ = L, H, C
        self.moving_avg_ = self._effective_moving_avg(L)
        self.scaler_mean_, self.scaler_scale_ = mean, scale
        self.device_ = device
        self._y_ndim = len(y_shape)

        # Teacher outputs enter only for the levels that use them ("auto" may).
        given = TeacherOutputs(
            pred=torch.as_tensor(z(tp)) if alpha_ == "auto" or alpha_ > 0 else None,
            features=(
                (torch.as_tensor(tf, dtype=torch.float32),) if beta_ == "auto" or beta_ > 0 else ()
            ),
        )
        teachers = None
        if given.pred is not None or given.features:
            teachers = Teachers(
                given=given,
                cache_mb=float(self.teacher_cache_mb),
                cache=self.teacher_cache,
                cache_dir=self.teacher_cache_dir,
                cache_dtype=self.teacher_cache_dtype,
            )
        settings = TrainSettings(
            lr=float(self.lr),
            max_epochs=int(self.max_epochs),
            batch_size=int(self.batch_size),
            patience=self.patience,
            device=device,
            seed=seed_from(self.random_state),
            verbose=int(self.verbose),
            precision=precision,
            compile=bool(self.compile),
        )
        hidden, kernel = int(self.hidden_size), self.moving_avg_
        loss = self._loss_params(alpha_, beta_, H, n_val)
        teacher_valid = None
        if given.pred is not None and n_val:
            # The teacher's forecasts of the validation windows, on the student's valid_loss scale.
            tail = slice(n - n_val, n)
            teacher_valid = float(np.mean((z(tp[tail]) - z(Y3[tail])) ** 2))
        self.net_, self.teacher_cache_ = fit_timedistill(
            lambda: DMLP(L, H, C, hidden_size=hidden, moving_avg=kernel, norm=self.norm),
            ArrayWindowDataset(z(X3), z(Y3)),
            n_val,
            loss,
            settings,
            teachers,
            name=type(self).__name__,
            teacher_valid_loss=teacher_valid,
        )
        self.history_ = self.net_.history
        self._record_fit(self.net_, (loss["alpha"], loss["beta"]), teacher_valid)
        return self

    def _teacher_arrays(self, teacher_predictions, teacher_features, n, H, C, y_shape):
        """The teacher arrays checked and reshaped to (n, H, C) and (n, C, d_t), or None."""
        tp = tf = None
        if teacher_predictions is not None:
            hint = f"{tuple(y_shape)} like Y, or (n, H, C) = {(n, H, C)}"
            shapes = [tuple(y_shape), (n, H, C)]
            tp = self._check_teacher(
                teacher_predictions, "teacher_predictions", shapes, (n, H, C), hint
            )
        if teacher_features is not None:
            arr_shape = np.shape(teacher_features)
            d_t = arr_shape[-1] if len(arr_shape) >= 2 else 0
            shapes = [(n, C, d_t)] + ([(n, d_t)] if C == 1 else [])
            hint = f"(n, C, d_t) = ({n}, {C}, d_t)" + (" or (n, d_t)" if C == 1 else "")
            tf = self._check_teacher(
                teacher_features, "teacher_features", shapes, (n, C, d_t), hint
            )
            if d_t < 1:
                raise ValueError(f"teacher_features must have shape {hint} with d_t >= 1.")
        return tp, tf

    def _weights(self, has_pred: bool, has_feat: bool) -> tuple[float | str, float | str]:
        """The weights as used ("auto" stays): a level whose teacher array is missing is off
        (with a warning if its weight was a number > 0)."""
        alpha, beta = (w if w == "auto" else float(w) for w in (self.alpha, self.beta))
        for weight, name, level, has, missing in (
            (beta, "beta", "feature", has_feat and not has_pred, "teacher_features"),
            (alpha, "alpha", "prediction", has_pred and not has_feat, "teacher_predictions"),
        ):
            if weight != "auto" and weight > 0 and not has and (has_pred or has_feat):
                warnings.warn(
                    f"{name}={weight} but no {missing} were passed to fit: {level}-level "
                    f"distillation is off ({name}_ = 0). Pass {missing}, or set {name}=0.",
                    UserWarning,
                    stacklevel=3,
                )
        return (alpha if has_pred else 0.0), (beta if has_feat else 0.0)

    def _effective_moving_avg(self, L: int) -> int:
        k = int(self.moving_avg)
        if k <= L:
            return k
        return L if L % 2 else max(L - 1, 1)

    def predict(self, X) -> np.ndarray:
        """Forecast the H steps after each window.

        Parameters
        ----------
        X : array-like of shape (n, L, C), or (n, L) when C = 1
            Windows with the fitted L and C.

        Returns
        -------
        numpy.ndarray of float64
            (n, H, C), (n, H) or (n,): the layout ``Y`` had in ``fit``.
        """
        check_is_fitted(self)
        if len(getattr(X, "shape", ())) >= 2:
            # Before validate_data, so that a wrong 3-D window shape gets the clearer message.
            self._check_predict_shape(tuple(X.shape))
        X = validate_data(self, X, reset=False, allow_nd=True, dtype=np.float64)
        self._check_predict_shape(X.shape)
        L, C = self.window_length_, self.n_channels_
        X3 = X.reshape(len(X), L, C)
        pred = predict_student(
            self.net_,
            X3,
            self.scaler_mean_,
            self.scaler_scale_,
            constant=getattr(self, "constant_channels_", None),
        )
        if self._y_ndim == 1:
            return pred[:, 0, 0]
        if self._y_ndim == 2:
            return pred[:, :, 0]
        return pred

    def _check_predict_shape(self, shape: tuple) -> None:
        L, C = self.window_length_, self.n_channels_
        expected = f"(n, {L}, {C})" + (f" or (n, {L})" if C == 1 else "")
        name = type(self).__name__
        if len(shape) == 3 and shape[1:] != (L, C):
            raise ValueError(
                f"X has windows of shape {shape[1:]}, but {name} was fitted on windows of shape "
                f"({L}, {C}) = (window_length, n_channels): X must have shape {expected}."
            )
        if len(shape) == 2 and shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {shape[1]} features, but {name} is expecting {self.n_features_in_} "
                f"features as input: X must have shape {expected}."
            )
        if len(shape) == 2 and C != 1:
            raise ValueError(
                f"a 2-D X holds univariate windows, but {name} was fitted on {C} channels: X "
                f"must have shape {expected}."
            )
        if len(shape) not in (2, 3):
            raise ValueError(f"X must have shape {expected}; got {shape}.")

    def score(self, X, y, sample_weight=None) -> float:
        """R^2 of ``predict(X)`` against ``y`` over the flattened (n, H * C) targets.

        Parameters
        ----------
        X : array-like of shape (n, L, C) or (n, L)
        y : array-like in the layout ``Y`` had in ``fit``
        sample_weight : array-like of shape (n,), optional

        Returns
        -------
        float
            ``r2_score(y.reshape(n, -1), pred.reshape(n, -1))`` (uniform average over the
            H * C outputs).
        """
        pred = self.predict(X)
        y = check_array(
            y, allow_nd=True, ensure_2d=False, dtype=np.float64, input_name="y", estimator=self
        )
        n = len(pred)
        if len(y) != n or y.size != pred.size:
            raise ValueError(
                f"y must have the shape of the predictions {pred.shape}; got {y.shape}."
            )
        return float(r2_score(y.reshape(n, -1), pred.reshape(n, -1), sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        if hasattr(tags.input_tags, "three_d_array"):
            tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        return tags
