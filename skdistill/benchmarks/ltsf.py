"""Long-term forecasting benchmark of TimeDistill: datasets x horizons x teachers x methods.

Every cell (one dataset, horizon, teacher, method and seed) is fitted under the standard
protocol (:func:`skdistill.datasets.ltsf_split`, scaler on the training rows, stride-1 windows,
metrics on standardised data over every test window) and written to its own JSON file, so an
interrupted run resumes where it stopped. Fitted teachers are kept as weights (rebuilt from this
package's code, never unpickled) and shared by the cells that distil them.
:func:`render_ltsf_report` (in :mod:`skdistill.benchmarks.ltsf_report`) turns the records into
markdown and reST tables and plots.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from skdistill.benchmarks._artifacts import load_or_fit_forecaster
from skdistill.benchmarks._common import (
    check_known,
    check_nonempty,
    check_positive_int,
    first_windows,
    load_records,
    median_ms,
    peak_rss_mb,
    with_overrides,
)
from skdistill.benchmarks._engine import CellRunner, resolve_config
from skdistill.benchmarks._outside import (
    BUILDERS,
    OUTSIDE_TEACHERS,
    OUTSIDE_WEIGHTS,
    PREDICTION_ONLY,
)
from skdistill.benchmarks._registry import (
    BUNDLED_TEACHERS,
    TEACHERS,
    bundled_teacher,
    teacher_class,
)
from skdistill.benchmarks.goals import PAPER_TIMEDISTILL_MSE

__all__ = [
    "BUNDLED_TEACHERS",
    "LTSF_METHODS",
    "LTSF_PROFILES",
    "PAPER_TIMEDISTILL_MSE",
    "LTSFConfig",
    "load_ltsf_records",
    "render_ltsf_report",  # noqa: F822 (served by __getattr__ below)
    "run_ltsf",
    "with_overrides",
]

# Method -> DistilledMLPForecaster overrides ("teacher" and "mlp" are the two baselines).
LTSF_METHODS: dict[str, dict | None] = {
    "teacher": None,
    "mlp": None,
    "timedistill": {},
    "no_supervised": {"use_supervised": False},
    "no_scale": {"use_scale": False},
    "no_period": {"use_period": False},
    "prediction_only": {"beta": 0.0},
    "feature_only": {"alpha": 0.0},
    # The paper's regressor on the teacher's feature as it is (no principal projection).
    "no_projection": {"teacher_feature_dim": None},
    # The estimator's default weights: chosen on the validation windows.
    "auto_weights": {"alpha": "auto", "beta": "auto"},
}
# The spec's per-dataset (alpha, beta) for the ModernTCN and iTransformer teachers (L = 720).
_WEIGHTS = {
    "moderntcn": {
        "etth1": (2, 2),
        "etth2": (2, 0.5),
        "ettm1": (2, 0.1),
        "ettm2": (2, 0.5),
        "weather": (0.5, 2),
        "electricity": (0.1, 0.5),
        "solar": (0.1, 2),
        "traffic": (0.1, 0.1),
    },
    "itransformer": {
        "etth1": (2, 2),
        "etth2": (1, 0.5),
        "ettm1": (1, 1),
        "ettm2": (1, 0.1),
        "weather": (0.1, 0.1),
        "electricity": (0.1, 0.5),
        "solar": (0.1, 1),
        "traffic": (0.5, 0.5),
    },
}
# Forward passes over this many test windows make one latency.
_LATENCY_WINDOWS = 32


@dataclass(frozen=True)
class LTSFConfig:
    """What one LTSF benchmark run covers (the two presets are in ``LTSF_PROFILES``).

    Parameters
    ----------
    datasets : tuple of str
        Names for :func:`skdistill.datasets.load_ltsf`.
    horizons : tuple of int
        Forecast horizons.
    teachers : tuple of str
        Any of "itransformer", "patchtst", "moderntcn", "timemixer" (this package's), or a
        teacher from outside it: "seasonal_naive" (sktime's NaiveForecaster, sp=24) or
        "hf_patchtst" (Hugging Face's PatchTSTForPrediction in a TorchForecaster; needs the
        ``hf`` extra), see :mod:`skdistill.benchmarks._outside`.
    methods : tuple of str
        Keys of ``LTSF_METHODS``: "teacher", "mlp", "timedistill" and the ablations
        "no_supervised", "no_scale", "no_period", "prediction_only", "feature_only",
        "no_projection" (``teacher_feature_dim=None``), and "auto_weights" (the estimator's
        default weights, chosen on the validation windows, instead of the spec's table).
    seeds : tuple of int
        One run per seed (tables show mean and std).
    window_length : int
        Look-back L of every model.
    teacher_params : dict
        Teacher name -> constructor overrides (e.g. a shorter schedule on a CPU).
    student_params : dict
        Overrides for the MLP and every distilled student.
    latency_repeats : int
        Timed forward passes per latency (the median is kept).
    online_epochs : int
        Epochs of each fit in the timing cell ("epoch_timing", one per dataset, horizon and
        teacher), which times the plain MLP, distillation with the cached teacher and with the
        teacher run on every batch, and the teacher's and student's latency, back to back (0
        skips it).
    device : str
        "cpu", "cuda" or "cuda:N".
    threads : int, optional
        Torch intra-op threads for the whole run (default: torch's own choice). One thread per
        process lets two runs share a 2-core machine without disturbing each other much.
    bundled_teachers : bool
        Load a teacher from the trained weights the package ships instead of training it,
        in the cells those weights fit (``BUNDLED_TEACHERS``: PatchTST on ETTh1 at look-back
        720, horizon 96). Its ``teacher_params`` are then not used, every seed shares the one
        teacher, and its fit seconds are those of loading it.

    Examples
    --------
    >>> from skdistill.benchmarks import LTSFConfig
    >>> LTSFConfig(datasets=("ETTh2",), horizons=(96,), teachers=("itransformer",)).methods[:3]
    ('teacher', 'mlp', 'timedistill')
    """

    datasets: tuple[str, ...] = ("ETTh1", "ETTh2", "ETTm1", "weather")
    horizons: tuple[int, ...] = (96, 192, 336, 720)
    teachers: tuple[str, ...] = ("itransformer", "moderntcn")
    methods: tuple[str, ...] = tuple(LTSF_METHODS)
    seeds: tuple[int, ...] = (0,)
    window_length: int = 720
    teacher_params: dict = field(default_factory=dict)
    student_params: dict = field(default_factory=dict)
    latency_repeats: int = 30
    online_epochs: int = 2
    device: str = "cpu"
    threads: int | None = None
    bundled_teachers: bool = False


LTSF_PROFILES: dict[str, LTSFConfig] = {
    # Checks the whole pipeline at the published setting (L = 720, H = 96): about six minutes
    # on one CPU thread. The teacher is the trained PatchTST the package ships (test MSE 0.383
    # against 0.403 for the MLP alone; a teacher trained here on a short schedule was weaker
    # than the MLP, and distilling it made the student worse). With other look-backs or horizons (``--window-length``,
    # ``--horizons``) PatchTST is trained here for one epoch, as ``skdistill demo
    # --train-teacher`` does.
    "quick": LTSFConfig(
        datasets=("ETTh1",),
        horizons=(96,),
        teachers=("patchtst",),
        methods=("teacher", "mlp", "timedistill", "prediction_only"),
        window_length=720,
        teacher_params={"patchtst": {"lr": 1e-3, "batch_size": 128, "max_epochs": 1}},
        student_params={"max_epochs": 6},
        latency_repeats=10,
        online_epochs=1,
        bundled_teachers=True,
    ),
    "full": LTSFConfig(),
}


def _check_config(config: LTSFConfig) -> None:
    check_known("methods", config.methods, LTSF_METHODS)
    check_known("teachers", config.teachers, {**TEACHERS, **OUTSIDE_TEACHERS})
    for h in config.horizons:
        if isinstance(h, bool) or not isinstance(h, int) or h < 1:
            raise ValueError(f"horizons must be positive ints; got {h!r}")
    check_positive_int(config, ("threads",), optional=True)
    check_nonempty(config, ("datasets", "horizons", "seeds", "methods"))


def _cell_name(dataset: str, horizon: int, teacher: str | None, method: str, seed: int) -> str:
    return f"{dataset}_H{horizon}_{teacher or 'none'}_{method}_s{seed}"


class _Runner(CellRunner):
    """Fits and records the cells of one :class:`LTSFConfig` under ``output_dir``."""

    config: LTSFConfig

    def cells(self) -> Iterable[tuple]:
        """``(dataset, horizon, teacher or None, method, seed)``: the MLP once per dataset,
        horizon and seed, every other method per teacher, then that teacher's timing cell."""
        config = self.config
        for dataset in config.datasets:
            for horizon in config.horizons:
                for seed in config.seeds:
                    if "mlp" in config.methods:
                        yield dataset, horizon, None, "mlp", seed
                    for teacher in config.teachers:
                        for method in config.methods:
                            if method != "mlp":
                                yield dataset, horizon, teacher, method, seed
                        timed = teacher not in PREDICTION_ONLY  # no module to run per batch
                        if "timedistill" in config.methods and config.online_epochs and timed:
                            yield dataset, horizon, teacher, "epoch_timing", seed

    def cell_name(self, cell: tuple) -> str:
        return _cell_name(*cell)

    def cell_label(self, cell: tuple) -> str:
        dataset, horizon, teacher, method, seed = cell
        return f"{dataset} H={horizon} {teacher or '-'} {method} seed={seed}"

    def summary(self, rec: dict) -> str:
        if "mse" not in rec:
            return f"epoch {rec['epoch_s']:.2f} s ({rec['wall_s']:.0f} s)"
        return f"MSE {rec['mse']:.4f} MAE {rec['mae']:.4f} ({rec['wall_s']:.0f} s)"

    def compute(self, cell: tuple) -> dict:
        if cell[3] == "epoch_timing":
            return self.epoch_timing(*cell[:3], cell[4])
        model, fit_s = self.fit_cell(*cell)
        return self.record(*cell, model, fit_s)

    def load(self, dataset: str) -> tuple:
        from skdistill.datasets import load_ltsf, ltsf_split

        frame = load_ltsf(dataset, data_home=self.data_home)
        steps = np.diff(frame.index.asi8) if isinstance(frame.index, pd.DatetimeIndex) else [1]
        if len(set(steps)) > 1:
            # The protocol is positional (Weather has one repeated time stamp and one 100-minute
            # gap); the forecasters refuse an irregular time index, so rows are numbered.
            frame = frame.reset_index(drop=True)
        train, val, test = ltsf_split(dataset, len(frame), self.config.window_length)
        return frame, train, val, test

    # --- fitting -----------------------------------------------------------------------
    def common(self, dataset: str, seed: int) -> dict:
        _, train, val, _ = self.data(dataset)
        return {
            "window_length": self.config.window_length,
            "validation_size": val.stop - train.stop,
            "random_state": seed,
            "device": self.config.device,
        }

    def fit_data(self, dataset: str, horizon: int) -> tuple:
        """The rows every model fits on (train and validation) and the horizon."""
        frame, _, val, _ = self.data(dataset)
        return frame.iloc[: val.stop], range(1, horizon + 1)

    def teacher(self, dataset: str, horizon: int, name: str, seed: int) -> tuple:
        """``(teacher, fit seconds)``: fitted once, kept as weights, rebuilt after (a teacher
        from outside the package as the distiller gets it: see ``_outside``)."""
        if name in BUILDERS:
            teacher, _, fit_s = BUILDERS[name](self, dataset, horizon, seed)
            return teacher, fit_s
        y, fh = self.fit_data(dataset, horizon)
        path = bundled_teacher(dataset, name, self.config.window_length, horizon)
        if self.config.bundled_teachers and path is not None:
            t0 = time.perf_counter()
            teacher = teacher_class(name).from_weights(path, y, **self.common(dataset, seed))
            return teacher, time.perf_counter() - t0
        params = {**self.common(dataset, seed), **self.config.teacher_params.get(name, {})}
        stem = self.teacher_path(_cell_name(dataset, horizon, name, "teacher", seed))
        return load_or_fit_forecaster(stem, teacher_class(name), params, y, fh, self.log)

    def weights(self, dataset: str, teacher: str) -> tuple[float, float]:
        if teacher in OUTSIDE_WEIGHTS:
            return OUTSIDE_WEIGHTS[teacher]
        return _WEIGHTS.get(teacher, {}).get(dataset.lower(), (1.0, 1.0))

    def fit_cell(self, dataset: str, horizon: int, teacher: str | None, method: str, seed: int):
        from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster

        y, fh = self.fit_data(dataset, horizon)
        common = self.common(dataset, seed)
        if method == "teacher" and teacher in BUILDERS:
            _, measured, fit_s = BUILDERS[teacher](self, dataset, horizon, seed)
            return measured, fit_s
        if method == "teacher":
            return self.teacher(dataset, horizon, teacher, seed)
        t0 = time.perf_counter()
        if method == "mlp":
            model = MLPForecaster(**common, **self.config.student_params).fit(y, fh=fh)
            return model, time.perf_counter() - t0
        fitted_teacher, _ = self.teacher(dataset, horizon, teacher, seed)
        alpha, beta = self.weights(dataset, teacher)
        params = {
            "alpha": alpha,
            "beta": beta,
            **common,
            **self.config.student_params,
            **LTSF_METHODS[method],
        }
        model = DistilledMLPForecaster(fitted_teacher, **params).fit(y, fh=fh)
        return model, time.perf_counter() - t0

    # --- measuring ---------------------------------------------------------------------
    def contexts(self, dataset: str):
        """The first test windows, ``(values, contexts)``: what every latency is timed on."""
        frame, _, _, test = self.data(dataset)
        values = frame.to_numpy()
        return values, first_windows(
            values, test.start, self.config.window_length, _LATENCY_WINDOWS
        )

    def latency(self, model, contexts) -> dict:
        from skdistill._evaluation import latency_ms

        if not hasattr(model, "net_"):
            # A teacher from outside the package: its whole forecast of the windows
            # (for the seasonal naive a numpy gather; for a TorchForecaster its module's pass).
            fn = lambda: model.predict_windows(contexts)  # noqa: E731
            ms = median_ms(fn, self.config.latency_repeats)
            return {"ms": ms, "device": "cpu"}
        return latency_ms(model, contexts, repeats=self.config.latency_repeats, warmup=2)

    def record(self, dataset, horizon, teacher, method, seed, model, fit_s) -> dict:
        from skdistill._evaluation import evaluate_windows
        from skdistill.training.windows import standard_scaler

        frame, train, _, test = self.data(dataset)
        L = self.config.window_length
        values, contexts = self.contexts(dataset)
        # The protocol's scaler (training rows); the students' and this package's teachers'
        # own, and the only one a teacher from outside the package has.
        mean, scale = standard_scaler(values[: train.stop])
        metrics = evaluate_windows(model, values, test, mean, scale, horizon)
        history = getattr(model, "history_", None)
        latency = self.latency(model, contexts)
        # One test window for the prediction plot: the first one, every channel, original units.
        first = model.predict_windows(contexts[:1])[0]
        return {
            "dataset": dataset,
            "horizon": horizon,
            "teacher": teacher,
            "method": method,
            "seed": seed,
            "mse": metrics["mse"],
            "mae": metrics["mae"],
            "n_windows": metrics["n_windows"],
            "params": int(model.n_parameters()),
            "latency_ms": latency["ms"],
            "latency_device": latency["device"],
            "epochs": len(history) if history is not None else None,
            "epoch_s": statistics.median(row["dur"] for row in history) if history else None,
            "fit_s": fit_s,
            "peak_rss_mb": peak_rss_mb(),
            "alpha": getattr(model, "alpha_", None),
            "beta": getattr(model, "beta_", None),
            "teacher_cached": getattr(model, "teacher_cached_", None),
            "example": {
                "truth": values[test.start + L : test.start + L + horizon, -1].tolist(),
                "prediction": first[:, -1].tolist(),
                "channel": str(frame.columns[-1]),
            },
        }

    def epoch_timing(self, dataset: str, horizon: int, teacher: str, seed: int) -> dict:
        """Epoch times and latencies measured back to back, so that their ratios are fair.

        The fit cells run minutes apart, possibly beside other work; here the plain MLP,
        distillation with the cached teacher, distillation with the teacher run on every batch
        (the reference's way) and the teacher's and student's forward passes are timed one
        right after the other, ``online_epochs`` epochs each, without early stopping.
        """
        from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster

        y, fh = self.fit_data(dataset, horizon)
        fitted_teacher, _ = self.teacher(dataset, horizon, teacher, seed)
        alpha, beta = self.weights(dataset, teacher)
        params = {
            **self.common(dataset, seed),
            **self.config.student_params,
            "max_epochs": self.config.online_epochs,
            "patience": None,
        }
        distilled = {"teacher": fitted_teacher, "alpha": alpha, "beta": beta, **params}
        models = {
            "mlp": MLPForecaster(**params),
            "cached": DistilledMLPForecaster(**distilled),
            "online": DistilledMLPForecaster(teacher_cache="off", **distilled),
        }
        rec = {
            "dataset": dataset,
            "horizon": horizon,
            "teacher": teacher,
            "method": "epoch_timing",
            "seed": seed,
            "epochs": self.config.online_epochs,
        }
        for name, model in models.items():
            model.fit(y, fh=fh)
            rec[f"epoch_s_{name}"] = statistics.median(row["dur"] for row in model.history_)
        _, contexts = self.contexts(dataset)
        for name, model in (("teacher", fitted_teacher), ("student", models["cached"])):
            rec[f"latency_ms_{name}"] = self.latency(model, contexts)["ms"]
        rec["epoch_s"] = rec["epoch_s_cached"]
        rec["peak_rss_mb"] = peak_rss_mb()
        return rec


def run_ltsf(
    config: LTSFConfig | str = "quick",
    output_dir: str | os.PathLike = "skdistill_output/ltsf",
    data_home: str | os.PathLike | None = None,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Run (or resume) the LTSF benchmark and return every cell's record.

    Parameters
    ----------
    config : LTSFConfig or {"quick", "full"}, default="quick"
        What to run; a profile name picks from :data:`LTSF_PROFILES`.
    output_dir : path, default="skdistill_output/ltsf"
        Cells go to ``output_dir/cells/*.json`` (a cell with a record is not recomputed;
        delete its file to redo it), fitted teachers to ``output_dir/teachers/``, and the run's
        configuration, versions and machine to ``output_dir/run.json`` (appended to the list
        of earlier invocations on the same folder).
    data_home : path, optional
        Searched first for the datasets (see :func:`skdistill.datasets.load_ltsf`).
    log : callable, default=print
        Receives one progress line per cell.

    Returns
    -------
    list of dict
        One record per cell: dataset, horizon, teacher, method, seed, mse, mae, params,
        latency_ms (median forward pass over 32 test windows), epoch_s (median seconds per
        epoch), fit_s, peak_rss_mb (process peak so far), the weights used and one test window's
        prediction. ``epoch_timing`` records hold ``epoch_s_mlp``, ``epoch_s_cached``,
        ``epoch_s_online``, ``latency_ms_teacher`` and ``latency_ms_student`` measured back to
        back (the ratios the report uses).
    """
    config = resolve_config(config, LTSF_PROFILES, LTSFConfig, _check_config)
    return _Runner(config, output_dir, data_home, log).run()


def load_ltsf_records(output_dir: str | os.PathLike) -> list[dict]:
    """Every cell record under ``output_dir/cells``."""
    return load_records(output_dir)


def __getattr__(name: str):
    # The report lives in its own module (which imports this one); still reachable from here.
    if name == "render_ltsf_report":
        from skdistill.benchmarks.ltsf_report import render_ltsf_report

        return render_ltsf_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
