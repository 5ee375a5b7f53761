"""sktime forecasters: the DMLP student alone, TimeDistill, and the teachers."""

from skdistill.forecasting._base import BaseDeepForecaster
from skdistill.forecasting._distilled import DistilledMLPForecaster
from skdistill.forecasting._itransformer import ITransformerForecaster
from skdistill.forecasting._mlp import MLPForecaster
from skdistill.forecasting._teachers import (
    ModernTCNForecaster,
    PatchTSTForecaster,
    TimeMixerForecaster,
)

__all__ = [
    "BaseDeepForecaster",
    "DistilledMLPForecaster",
    "ITransformerForecaster",
    "MLPForecaster",
    "ModernTCNForecaster",
    "PatchTSTForecaster",
    "TimeMixerForecaster",
]
