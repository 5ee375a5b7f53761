"""The DMLP student trained alone: the "MLP" baseline of TimeDistill."""

from __future__ import annotations

from skdistill._timedistill import TimeDistillParamsMixin
from skdistill.forecasting._base import BaseDeepForecaster, check_parameter_sets
from skdistill.nn.forecasting import DMLP


class MLPForecaster(TimeDistillParamsMixin, BaseDeepForecaster):
    """Decomposition-MLP forecaster (the TimeDistill student) trained on the data alone.

    Channel-independent: the series is mean-normalised per window, split into trend and
    seasonal parts by a moving average, and each part is mapped from the look-back to the
    horizon by a two-layer MLP. Trained with Adam, the reference halving schedule and early
    stopping on a tail validation split.

    Parameters
    ----------
    window_length : int, default=720
        Look-back L.
    hidden_size : int, default=512
        Hidden width D of both branches.
    moving_avg : int, default=25
        Moving-average kernel of the trend/seasonal decomposition (<= window_length).
    norm : {"mean", "revin", "none"}, default="mean"
        Per-window normalisation ("revin": learnable affine RevIN).
    max_epochs : int, default=100
    batch_size : int, default=32
    lr : float, default=0.01
        Adam learning rate of epochs 1-2; halved every epoch after.
    patience : int or None, default=5
        Early-stopping patience on the validation MSE (best weights restored); None: off.
    validation_size : float, int or None, default=0.2
        Tail of ``y`` used for validation windows (fraction or rows); their contexts may reach
        into the training rows. The scaler is fitted on the rows before it. None: no validation.
    device : {"cpu", "cuda", "auto"}, default="cpu"
    random_state : int or None, default=None
        Seed for weights and shuffling; fits are deterministic for a fixed seed.
    verbose : int, default=1
        0: silent (nothing on stdout or stderr). 1: progress bars on stderr, one per long step
        (the training epochs with the last losses; in a distiller also the teacher's fit and
        its outputs or window forecasts). 2: also skorch's table of every epoch's losses and
        the notes on the teacher cache (stdout). A distiller with ``verbose=0`` fits the
        teacher it clones silently too.
    global_model : bool, default=True
        For a panel or hierarchy ``y`` (sktime's ``pd-multiindex`` / ``pd_multiindex_hier``):
        True fits one model on the windows of every series (each series standardised by its
        own training rows and validated on its own tail); False lets sktime fit one clone per
        series. See the user guide's section on panels for when to pick which.
    precision : {"32", "bf16", "16-mixed"}, default="32"
        Floating-point precision of the forward passes (Lightning's names): the network's in
        training, validation and prediction, and in a distiller also the teacher's when its
        outputs are computed for the fit. "32": float32; "bf16" (alias "bf16-mixed"):
        bfloat16 autocast, on CPU and GPU; "16-mixed": float16 autocast with gradient
        scaling, CUDA only (a ValueError at ``fit`` on another device). Weights, losses and
        the returned forecasts stay float32 or float64. An unfitted teacher is fitted at its
        own ``precision``. The user guide's page on scaling out gives measured speed and
        accuracy.
    compile : bool, default=False
        Compile the network with ``torch.compile`` for training (on CPU it needs a C
        compiler; the first epoch pays the compilation, tens of seconds). The fitted
        estimator keeps the plain network: it pickles and predicts without a compiler.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_.student`` is the DMLP.
    history_ : skorch.History
        Per-epoch ``train_loss``, ``valid_loss`` (plain MSE), ``train_sup``, ``dur``, ...
    valid_loss_ : float or None
        Validation MSE (standardised scale) at the kept epoch (the best one under early
        stopping); None without validation windows.
    scaler_mean_, scaler_scale_ : numpy.ndarray of shape (n_columns,) or (n_series, n_columns)
        Standardisation of each column (training rows only); for a panel one row per series.
    constant_channels_ : numpy.ndarray of bool
        Columns constant over the training rows: nothing to learn, so they are forecast as
        their last observed value (a network would add its bias, noise in y's units). For a
        panel one row per series.
    series_keys_ : list or None
        For a panel: each series' key (a tuple for a hierarchy), in the order of the scalers'
        rows; None for a single series.
    n_series_ : int
        Number of series fitted (1 for a single series).

    Examples
    --------
    >>> from skdistill.forecasting import MLPForecaster
    >>> from skdistill.datasets import load_ltsf
    >>> y = load_ltsf("ETTh1").iloc[:600]
    >>> f = MLPForecaster(window_length=96, hidden_size=32, max_epochs=2, random_state=0)
    >>> f = f.fit(y, fh=range(1, 25))
    >>> f.predict().shape
    (24, 7)
    """

    def __init__(
        self,
        window_length: int = 720,
        hidden_size: int = 512,
        moving_avg: int = 25,
        norm: str = "mean",
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

    def _check_params(self) -> None:
        super()._check_params()
        self._check_student_params()
        if self.moving_avg > self.window_length:
            raise ValueError(
                f"moving_avg={self.moving_avg} must be <= window_length={self.window_length}."
            )

    def _build_module(self, window_length, horizon, n_channels):
        return DMLP(
            window_length,
            horizon,
            n_channels,
            hidden_size=self.hidden_size,
            moving_avg=self.moving_avg,
            norm=self.norm,
        )

    @classmethod
    def get_test_params(cls, parameter_set: str = "default"):
        """Cheap parameter sets for sktime's estimator checks."""
        return check_parameter_sets(
            {"hidden_size": 8, "moving_avg": 3, "window_length": 6},
            {"hidden_size": 4, "moving_avg": 5, "norm": "revin", "window_length": 6},
            first_epochs=2,
        )
