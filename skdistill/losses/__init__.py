"""Distillation losses (pure torch, differentiable)."""

from skdistill.losses.timedistill import TimeDistillLoss, multiperiod_kl, multiscale_mse

__all__ = [
    "TimeDistillLoss",
    "multiperiod_kl",
    "multiscale_mse",
]
