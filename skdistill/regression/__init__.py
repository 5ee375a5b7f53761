"""scikit-learn estimators on windows: TimeDistill as a window-level regressor."""

from skdistill.regression._distilled import DistilledMLPRegressor

__all__ = ["DistilledMLPRegressor"]
