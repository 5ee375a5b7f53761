"""sktime forecasters: the DMLP student alone, TimeDistill, the teachers, and any PyTorch
forecaster as a teacher (:class:`TorchForecaster`)."""

from skdistill.forecasting._base import BaseDeepForecaster
from skdistill.forecasting._distilled import DistilledMLPForecaster
from skdistill.forecasting._itransformer import ITransformerForecaster
from skdistill.forecasting._mlp import MLPForecaster
from skdistill.forecasting._teachers import (
    ModernTCNForecaster,
    PatchTSTForecaster,
    TimeMixerForecaster,
)
from skdistill.forecasting._torch_teacher import TorchForecaster

__all__ = [
    "BaseDeepForecaster",
    "DistilledMLPForecaster",
    "ITransformerForecaster",
    "MLPForecaster",
    "ModernTCNForecaster",
    "PatchTSTForecaster",
    "TimeMixerForecaster",
    "TorchForecaster",
]
