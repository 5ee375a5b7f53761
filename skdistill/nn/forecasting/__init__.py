"""Pure-torch forecasting modules: the students, the teachers, a wrapper for modules written
elsewhere (:class:`ExternalForecaster`) and shared layers.

Every forecaster takes ``(window_length, horizon, n_channels, ...)``, maps a standardised window
``x`` of shape ``(B, L, C)`` to predictions ``(B, H, C)`` in ``forward``, returns
``(pred, feature)`` with a per-channel feature ``(B, C, feature_dim)`` from the same pass in
``forward_features``, and exposes the int attribute ``feature_dim``. That shared skeleton
(arguments, input check, normalise -> encode -> denormalise) is in
:mod:`~skdistill.nn.forecasting.base`; each architecture module keeps only its own layers.
"""

from .dmlp import DMLP, FeatureRegressor
from .external import ExternalForecaster
from .itransformer import ITransformer
from .layers import MeanNorm, MovingAverage, RevIN
from .light_students import LightTS, TSMixer
from .moderntcn import ModernTCN
from .patchtst import PatchTST
from .timemixer import TimeMixer

__all__ = [
    "DMLP",
    "ExternalForecaster",
    "FeatureRegressor",
    "ITransformer",
    "LightTS",
    "MeanNorm",
    "ModernTCN",
    "MovingAverage",
    "PatchTST",
    "RevIN",
    "TSMixer",
    "TimeMixer",
]
