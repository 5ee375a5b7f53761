"""scikit-learn classifiers that distil across architecture families: SFKD and baselines."""

from skdistill.classification._base import BaseDistillClassifier
from skdistill.classification._baselines import (
    DKDClassifier,
    FitNetClassifier,
    KDClassifier,
    OFAClassifier,
)
from skdistill.classification._sfkd import SFKDClassifier

__all__ = [
    "BaseDistillClassifier",
    "DKDClassifier",
    "FitNetClassifier",
    "KDClassifier",
    "OFAClassifier",
    "SFKDClassifier",
]
