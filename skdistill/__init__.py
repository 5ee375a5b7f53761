"""skdistill: cross-architecture knowledge distillation as scikit-learn and sktime estimators.

Estimators are imported lazily so that ``import skdistill`` and the command
line stay fast (torch, skorch and sktime load on first use).
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("skdistill")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

# public name -> module that defines it
_LAZY = {
    "DistilledMLPForecaster": "skdistill.forecasting",
    "MLPForecaster": "skdistill.forecasting",
    "ITransformerForecaster": "skdistill.forecasting",
    "PatchTSTForecaster": "skdistill.forecasting",
    "ModernTCNForecaster": "skdistill.forecasting",
    "TimeMixerForecaster": "skdistill.forecasting",
    "DistilledMLPRegressor": "skdistill.regression",
    "SFKDClassifier": "skdistill.classification",
    "KDClassifier": "skdistill.classification",
    "FitNetClassifier": "skdistill.classification",
    "OFAClassifier": "skdistill.classification",
    "DKDClassifier": "skdistill.classification",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'skdistill' has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise AttributeError(f"skdistill.{name} is not available in this version: {exc}") from exc
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
