"""Distillation losses and objectives (pure torch, differentiable).

``DS2S`` (SFKD's trainable refiner) lives in :mod:`skdistill.nn.vision.ds2s`; the name is kept
here as an alias, imported on first access (this layer imports no network code).
"""

from skdistill.losses.kd import dkd_loss, fitnet_loss, kd_loss, ofa_loss
from skdistill.losses.sfkd import SFKDLoss, gffl, wavelet_loss
from skdistill.losses.timedistill import TimeDistillLoss, multiperiod_kl, multiscale_mse
from skdistill.losses.wavelets import inverse_wavelet_subbands, wavelet_subbands

__all__ = [
    "DS2S",
    "SFKDLoss",
    "TimeDistillLoss",
    "dkd_loss",
    "fitnet_loss",
    "gffl",
    "inverse_wavelet_subbands",
    "kd_loss",
    "multiperiod_kl",
    "multiscale_mse",
    "ofa_loss",
    "wavelet_loss",
    "wavelet_subbands",
]


def __getattr__(name: str):
    if name == "DS2S":
        from skdistill.nn.vision.ds2s import DS2S

        return DS2S
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
