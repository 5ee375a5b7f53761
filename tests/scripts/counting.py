"""Real teachers that append one line to ``log`` per fit, in whatever process fits them (the
cache tests count teacher fits across loky workers and subprocesses with them)."""

from skdistill.forecasting import MLPForecaster


class FitCountingMLP(MLPForecaster):
    """A small ``MLPForecaster`` teacher that logs each fit to the file ``log``."""

    def __init__(self, log=None, window_length=24, hidden_size=8, max_epochs=1, random_state=0):
        self.log = log
        super().__init__(
            window_length=window_length,
            hidden_size=hidden_size,
            moving_avg=5,
            max_epochs=max_epochs,
            validation_size=None,
            random_state=random_state,
            verbose=0,
        )

    def _fit(self, y, X=None, fh=None):
        with open(self.log, "a") as f:
            f.write("fit\n")
        return super()._fit(y, X=X, fh=fh)


def n_fits(log) -> int:
    try:
        with open(log) as f:
            return len(f.readlines())
    except FileNotFoundError:
        return 0


from sklearn.linear_model import LogisticRegression  # noqa: E402


class FitCountingLogistic(LogisticRegression):
    """``LogisticRegression`` that logs each fit to the file ``log``."""

    def __init__(self, log=None, C=1.0, max_iter=200):
        self.log = log
        super().__init__(C=C, max_iter=max_iter)

    def fit(self, X, y, sample_weight=None):
        with open(self.log, "a") as f:
            f.write("fit\n")
        return super().fit(X, y, sample_weight=sample_weight)
