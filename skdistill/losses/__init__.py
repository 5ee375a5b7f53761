"""Distillation losses (pure torch, differentiable)."""

from skdistill.losses.kd import dkd_loss, fitnet_loss, kd_loss, ofa_loss
from skdistill.losses.sfkd import (
    DS2S,
    SFKDLoss,
    gffl,
    inverse_wavelet_subbands,
    wavelet_loss,
    wavelet_subbands,
)
from skdistill.losses.timedistill import TimeDistillLoss, multiperiod_kl, multiscale_mse

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
