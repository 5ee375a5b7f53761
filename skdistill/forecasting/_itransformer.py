"""iTransformer as an sktime forecaster (a TimeDistill teacher)."""

from __future__ import annotations

from skdistill._validation import check_float
from skdistill.forecasting._base import _ArchForecaster, check_parameter_sets
from skdistill.nn.forecasting import ITransformer


class ITransformerForecaster(_ArchForecaster):
    """iTransformer (Liu et al., ICLR 2024): channels as tokens, attention across variates.

    Each channel's whole look-back is embedded as one token; a Transformer encoder mixes the
    channel tokens and a linear head maps each to the horizon. Its distillable feature is the
    final encoder output per variate, ``(B, C, d_model)``. Defaults follow the reference ETT
    settings (d_model = d_ff = 256, 2 layers, 8 heads: about 1.0 M parameters at L=720, H=96,
    C=7), trained with Adam at lr 1e-4 for at most 10 epochs, patience 3.

    Parameters
    ----------
    window_length : int, default=720
    d_model : int, default=256
    n_heads : int, default=8
    e_layers : int, default=2
    d_ff : int, default=256
    dropout : float, default=0.1
    max_epochs, batch_size, lr, patience, validation_size, device, random_state, verbose, global_model
        As for :class:`~skdistill.forecasting.MLPForecaster` (defaults 10, 32, 1e-4, 3, 0.2).
    precision, compile
        As for :class:`~skdistill.forecasting.MLPForecaster`.

    Examples
    --------
    >>> from skdistill.forecasting import ITransformerForecaster
    >>> from skdistill.datasets import load_ltsf
    >>> y = load_ltsf("ETTh1").iloc[:600]
    >>> f = ITransformerForecaster(window_length=96, d_model=16, d_ff=16, n_heads=2,
    ...                            max_epochs=1, random_state=0)
    >>> f.fit(y, fh=[1, 2, 3]).predict().shape
    (3, 7)
    """

    _arch = ("d_model", "n_heads", "e_layers", "d_ff", "dropout")
    _module_cls = ITransformer

    def __init__(
        self,
        window_length: int = 720,
        d_model: int = 256,
        n_heads: int = 8,
        e_layers: int = 2,
        d_ff: int = 256,
        dropout: float = 0.1,
        max_epochs: int = 10,
        batch_size: int = 32,
        lr: float = 1e-4,
        patience: int | None = 3,
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
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}.")
        check_float(self.dropout, "dropout", below=1.0)

    @classmethod
    def get_test_params(cls, parameter_set: str = "default"):
        """Cheap parameter sets for sktime's estimator checks."""
        return check_parameter_sets(
            {"d_ff": 8, "d_model": 8, "e_layers": 1, "n_heads": 2, "window_length": 6},
            {
                "d_ff": 4,
                "d_model": 4,
                "dropout": 0.0,
                "e_layers": 1,
                "n_heads": 1,
                "window_length": 6,
            },
            first_epochs=2,
        )
