"""Long-term forecasting benchmark of TimeDistill: datasets x horizons x teachers x methods.

Every cell (one dataset, horizon, teacher, method and seed) is fitted under the standard
protocol (:func:`skdistill.datasets.ltsf_split`, scaler on the training rows, stride-1 windows,
metrics on standardised data over every test window) and written to its own JSON file, so an
interrupted run resumes where it stopped. Fitted teachers are pickled and shared by the cells
that distil them. :func:`render_ltsf_report` turns the records into markdown and reST tables
and plots.
"""

from __future__ import annotations

import json
import os
import pickle
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skdistill.benchmarks._common import (
    append_run,
    load_records,
    machine_line,
    peak_rss_mb,
    section,
    table,
    with_overrides,
)

__all__ = [
    "LTSF_METHODS",
    "LTSF_PROFILES",
    "PAPER_TIMEDISTILL_MSE",
    "LTSFConfig",
    "render_ltsf_report",
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
}
_TEACHER_CLASSES = {
    "itransformer": "ITransformerForecaster",
    "patchtst": "PatchTSTForecaster",
    "moderntcn": "ModernTCNForecaster",
    "timemixer": "TimeMixerForecaster",
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
# TimeDistill with the ModernTCN teacher, mean MSE over the four horizons (the paper's table).
PAPER_TIMEDISTILL_MSE = {
    "ETTh1": 0.429,
    "ETTh2": 0.345,
    "ETTm1": 0.348,
    "ETTm2": 0.250,
    "weather": 0.221,
    "Electricity": 0.157,
    "Traffic": 0.387,
    "Solar": 0.184,
}


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
        Any of "itransformer", "patchtst", "moderntcn", "timemixer".
    methods : tuple of str
        Keys of ``LTSF_METHODS``: "teacher", "mlp", "timedistill" and the ablations
        "no_supervised", "no_scale", "no_period", "prediction_only", "feature_only".
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


LTSF_PROFILES: dict[str, LTSFConfig] = {
    # A few minutes on 2 CPU cores: checks the whole pipeline, not the paper's numbers.
    "quick": LTSFConfig(
        datasets=("ETTh1",),
        horizons=(96,),
        teachers=("itransformer",),
        methods=("teacher", "mlp", "timedistill", "prediction_only"),
        window_length=96,
        teacher_params={"itransformer": {"d_model": 64, "d_ff": 64, "max_epochs": 2}},
        student_params={"max_epochs": 2},
        latency_repeats=10,
        online_epochs=1,
    ),
    "full": LTSFConfig(),
}


def _cell_name(dataset: str, horizon: int, teacher: str | None, method: str, seed: int) -> str:
    return f"{dataset}_H{horizon}_{teacher or 'none'}_{method}_s{seed}"


class _Runner:
    """Fits and records the cells of one configuration under ``output_dir``."""

    def __init__(self, config: LTSFConfig, output_dir: Path, data_home, log: Callable) -> None:
        self.config, self.out, self.data_home, self.log = config, output_dir, data_home, log
        (self.out / "cells").mkdir(parents=True, exist_ok=True)
        (self.out / "teachers").mkdir(parents=True, exist_ok=True)
        self._data: dict[str, tuple] = {}

    def data(self, dataset: str) -> tuple:
        if dataset not in self._data:
            from skdistill.datasets import load_ltsf, ltsf_split

            frame = load_ltsf(dataset, data_home=self.data_home)
            train, val, test = ltsf_split(dataset, len(frame), self.config.window_length)
            self._data[dataset] = (frame, train, val, test)
        return self._data[dataset]

    def common(self, dataset: str, seed: int) -> dict:
        _, train, val, _ = self.data(dataset)
        return {
            "window_length": self.config.window_length,
            "validation_size": val.stop - train.stop,
            "random_state": seed,
            "device": self.config.device,
        }

    def teacher(self, dataset: str, horizon: int, name: str, seed: int):
        import skdistill.forecasting as forecasting

        path = self.out / "teachers" / f"{_cell_name(dataset, horizon, name, 'teacher', seed)}.pkl"
        if path.exists():
            with path.open("rb") as f:
                return pickle.load(f)
        frame, _, val, _ = self.data(dataset)
        cls = getattr(forecasting, _TEACHER_CLASSES[name])
        params = {**self.common(dataset, seed), **self.config.teacher_params.get(name, {})}
        t0 = time.perf_counter()
        model = cls(**params).fit(frame.iloc[: val.stop], fh=range(1, horizon + 1))
        fitted = (model, time.perf_counter() - t0)
        with path.open("wb") as f:
            pickle.dump(fitted, f)
        return fitted

    def weights(self, dataset: str, teacher: str) -> tuple[float, float]:
        return _WEIGHTS.get(teacher, {}).get(dataset.lower(), (1.0, 1.0))

    def fit_cell(self, dataset: str, horizon: int, teacher: str | None, method: str, seed: int):
        from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster

        frame, _, val, _ = self.data(dataset)
        y, fh = frame.iloc[: val.stop], range(1, horizon + 1)
        common = self.common(dataset, seed)
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

    def record(self, dataset, horizon, teacher, method, seed, model, fit_s) -> dict:
        from skdistill._evaluation import evaluate_windows, latency_ms

        frame, _, _, test = self.data(dataset)
        values = frame.to_numpy()
        L = self.config.window_length
        metrics = evaluate_windows(
            model, values, test, model.scaler_mean_, model.scaler_scale_, horizon
        )
        contexts = np.stack([values[test.start + i : test.start + i + L] for i in range(32)])
        latency = latency_ms(model, contexts, repeats=self.config.latency_repeats, warmup=2)
        # One test window for the prediction plot: the first one, every channel, original units.
        first = model.predict_windows(contexts[:1])[0]
        durations = [row["dur"] for row in model.history_]
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
            "epochs": len(model.history_),
            "epoch_s": statistics.median(durations),
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
        from skdistill._evaluation import latency_ms
        from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster

        frame, _, val, test = self.data(dataset)
        y, fh = frame.iloc[: val.stop], range(1, horizon + 1)
        fitted_teacher, _ = self.teacher(dataset, horizon, teacher, seed)
        alpha, beta = self.weights(dataset, teacher)
        params = {
            **self.common(dataset, seed),
            **self.config.student_params,
            "max_epochs": self.config.online_epochs,
            "patience": None,
        }
        models = {
            "mlp": MLPForecaster(**params),
            "cached": DistilledMLPForecaster(fitted_teacher, alpha=alpha, beta=beta, **params),
            "online": DistilledMLPForecaster(
                fitted_teacher, alpha=alpha, beta=beta, teacher_cache_mb=0, **params
            ),
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
        L = self.config.window_length
        values = frame.to_numpy()
        contexts = np.stack([values[test.start + i : test.start + i + L] for i in range(32)])
        for name, model in (("teacher", fitted_teacher), ("student", models["cached"])):
            lat = latency_ms(model, contexts, repeats=self.config.latency_repeats, warmup=2)
            rec[f"latency_ms_{name}"] = lat["ms"]
        rec["epoch_s"] = rec["epoch_s_cached"]
        rec["peak_rss_mb"] = peak_rss_mb()
        return rec


def _cells(config: LTSFConfig) -> Iterable[tuple]:
    for dataset in config.datasets:
        for horizon in config.horizons:
            for seed in config.seeds:
                if "mlp" in config.methods:
                    yield dataset, horizon, None, "mlp", seed
                for teacher in config.teachers:
                    for method in config.methods:
                        if method != "mlp":
                            yield dataset, horizon, teacher, method, seed
                    if "timedistill" in config.methods and config.online_epochs:
                        yield dataset, horizon, teacher, "epoch_timing", seed


def _check_config(config: LTSFConfig) -> None:
    unknown = set(config.methods) - set(LTSF_METHODS)
    if unknown:
        raise ValueError(f"methods: unknown {sorted(unknown)}; choose from {list(LTSF_METHODS)}")
    unknown = set(config.teachers) - set(_TEACHER_CLASSES)
    if unknown:
        raise ValueError(
            f"teachers: unknown {sorted(unknown)}; choose from {list(_TEACHER_CLASSES)}"
        )
    for h in config.horizons:
        if isinstance(h, bool) or not isinstance(h, int) or h < 1:
            raise ValueError(f"horizons must be positive ints; got {h!r}")
    if config.threads is not None and (
        isinstance(config.threads, bool)
        or not isinstance(config.threads, int)
        or config.threads < 1
    ):
        raise ValueError(f"threads must be a positive int or None; got {config.threads!r}")
    if not config.datasets or not config.horizons or not config.seeds or not config.methods:
        raise ValueError("datasets, horizons, seeds and methods must each name at least one")


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
    if isinstance(config, str):
        if config not in LTSF_PROFILES:
            raise ValueError(
                f"config: unknown profile {config!r}; use one of "
                f"{list(LTSF_PROFILES)} or an LTSFConfig"
            )
        config = LTSF_PROFILES[config]
    if not isinstance(config, LTSFConfig):
        raise TypeError(f"config must be an LTSFConfig or a profile name; got {type(config)}")
    _check_config(config)
    if config.threads is not None:
        import torch

        torch.set_num_threads(config.threads)
    out = Path(output_dir)
    runner = _Runner(config, out, data_home, log)
    append_run(out, config)
    cells = list(_cells(config))
    records = []
    for i, (dataset, horizon, teacher, method, seed) in enumerate(cells, 1):
        path = out / "cells" / f"{_cell_name(dataset, horizon, teacher, method, seed)}.json"
        label = f"[{i}/{len(cells)}] {dataset} H={horizon} {teacher or '-'} {method} seed={seed}"
        if path.exists():
            records.append(json.loads(path.read_text()))
            log(f"{label}: recorded")
            continue
        t0 = time.perf_counter()
        if method == "epoch_timing":
            rec = runner.epoch_timing(dataset, horizon, teacher, seed)
        else:
            model, fit_s = runner.fit_cell(dataset, horizon, teacher, method, seed)
            rec = runner.record(dataset, horizon, teacher, method, seed, model, fit_s)
        rec["wall_s"] = time.perf_counter() - t0
        path.write_text(json.dumps(rec, indent=2))
        records.append(rec)
        summary = (
            f"epoch {rec['epoch_s']:.2f} s"
            if "mse" not in rec
            else f"MSE {rec['mse']:.4f} MAE {rec['mae']:.4f}"
        )
        log(f"{label}: {summary} ({rec['wall_s']:.0f} s)")
    return records


def load_ltsf_records(output_dir: str | os.PathLike) -> list[dict]:
    """Every cell record under ``output_dir/cells``."""
    return load_records(output_dir)


# --- report ------------------------------------------------------------------------------
def _mean_over_seeds(records: list[dict], key: str) -> dict[tuple, tuple[float, float, int]]:
    groups: dict[tuple, list[float]] = {}
    for r in records:
        if key in r:
            groups.setdefault((r["dataset"], r["horizon"], r["teacher"], r["method"]), []).append(
                r[key]
            )
    return {k: (float(np.mean(v)), float(np.std(v)), len(v)) for k, v in groups.items()}


def _cell_order(key: tuple) -> tuple:
    # (dataset, horizon, teacher, ...): numeric horizons, so 96 comes before 192.
    return (str(key[0]), int(key[1]), *(str(k) for k in key[2:]))


def _fmt(stat: tuple | None) -> str:
    if stat is None:
        return "-"
    mean, std, n = stat
    return f"{mean:.3f} ± {std:.3f}" if n > 1 else f"{mean:.3f}"


def _accuracy_tables(records: list[dict], fmt: str) -> list[str]:
    mse, mae = _mean_over_seeds(records, "mse"), _mean_over_seeds(records, "mae")
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    horizons = sorted({r["horizon"] for r in records})
    teachers = list(dict.fromkeys(r["teacher"] for r in records if r["teacher"]))
    out = []
    for teacher in teachers:
        cols = [("teacher", teacher), ("MLP", None), ("TimeDistill", teacher)]
        method_of = {"teacher": "teacher", "MLP": "mlp", "TimeDistill": "timedistill"}
        header = ["dataset", "H"] + [f"{c} {m}" for c, _ in cols for m in ("MSE", "MAE")]
        rows = []
        for dataset in datasets:
            # Only the horizons this teacher ran on (a teacher may cover part of the grid).
            mine = [h for h in horizons if (dataset, h, teacher, "teacher") in mse]
            if not mine:
                continue
            sums: dict[str, list[float]] = {}
            for h in mine:
                row = [dataset, str(h)]
                for label, t in cols:
                    key = (dataset, h, t, method_of[label])
                    for stats, m in ((mse, "MSE"), (mae, "MAE")):
                        row.append(_fmt(stats.get(key)))
                        if key in stats:
                            sums.setdefault(f"{label} {m}", []).append(stats[key][0])
                rows.append(row)
            if len(mine) < 2 or len(mine) < len(horizons):
                continue  # a mean over part of the horizons would not compare with the paper's
            row = [dataset, "mean"]
            for label, _ in cols:
                for m in ("MSE", "MAE"):
                    v = sums.get(f"{label} {m}", [])
                    row.append(f"**{np.mean(v):.3f}**" if len(v) == len(mine) else "-")
            rows.append(row)
        out.append(f"Teacher: {teacher}\n\n" + table(header, rows, fmt))
    return out


def _ablation_table(records: list[dict], fmt: str) -> str | None:
    mse = _mean_over_seeds(records, "mse")
    methods = [
        m for m in LTSF_METHODS if m not in ("teacher", "mlp") and any(k[3] == m for k in mse)
    ]
    if len(methods) < 2:
        return None
    keys = sorted({(k[0], k[1], k[2]) for k in mse if k[2]}, key=_cell_order)
    rows = [[d, str(h), t] + [_fmt(mse.get((d, h, t, m))) for m in methods] for d, h, t in keys]
    return table(["dataset", "H", "teacher", *methods], rows, fmt)


def _efficiency_table(records: list[dict], fmt: str) -> str:
    seed = min(x["seed"] for x in records)
    by = {
        (r["dataset"], r["horizon"], r["teacher"], r["method"]): r
        for r in records
        if r["seed"] == seed
    }
    rows = []
    for (d, h, t, m), r in sorted(by.items(), key=lambda kv: _cell_order(kv[0])):
        if m != "timedistill":
            continue
        teacher = by.get((d, h, t, "teacher"))
        timing = by.get((d, h, t, "epoch_timing"))
        row = [d, str(h), t, f"{teacher['params']:,}" if teacher else "-", f"{r['params']:,}"]
        if timing:
            lat_t, lat_s = timing["latency_ms_teacher"], timing["latency_ms_student"]
            mlp = timing["epoch_s_mlp"]
            row += [
                f"{lat_t:.2f}",
                f"{lat_s:.2f}",
                f"{lat_t / lat_s:.1f}x",
                f"{mlp:.2f}",
                f"{timing['epoch_s_cached']:.2f}",
                f"{timing['epoch_s_online']:.2f}",
                f"{timing['epoch_s_cached'] / mlp:.2f}x",
                f"{timing['epoch_s_online'] / mlp:.2f}x",
            ]
        else:
            row += ["-"] * 8
        row += [str(r["epochs"]), f"{r['fit_s']:.0f}", f"{r['peak_rss_mb']:.0f}"]
        rows.append(row)
    header = [
        "dataset",
        "H",
        "teacher",
        "teacher params",
        "student params",
        "teacher ms/32",
        "student ms/32",
        "speed-up",
        "MLP s/epoch",
        "distill s/epoch (cached)",
        "distill s/epoch (online)",
        "cached / MLP",
        "online / MLP",
        "distill epochs",
        "distill fit s",
        "peak RSS MB",
    ]
    return table(header, rows, fmt)


def _plots(records: list[dict], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    mse = _mean_over_seeds(records, "mse")
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    horizons = sorted({r["horizon"] for r in records})
    teachers = list(dict.fromkeys(r["teacher"] for r in records if r["teacher"]))
    for teacher in teachers:
        fig, axes = plt.subplots(1, len(datasets), figsize=(4 * len(datasets), 3.2), squeeze=False)
        for ax, dataset in zip(axes[0], datasets, strict=True):
            x = np.arange(len(horizons))
            for i, (label, t, m) in enumerate(
                (
                    ("teacher", teacher, "teacher"),
                    ("MLP", None, "mlp"),
                    ("TimeDistill", teacher, "timedistill"),
                )
            ):
                vals = [mse.get((dataset, h, t, m), (np.nan,))[0] for h in horizons]
                ax.bar(x + (i - 1) * 0.27, vals, width=0.27, label=label)
            ax.set_xticks(x, [str(h) for h in horizons])
            ax.set_title(dataset)
            ax.set_xlabel("horizon")
        axes[0][0].set_ylabel("test MSE")
        axes[0][0].legend(fontsize=8)
        fig.tight_layout()
        name = f"ltsf_mse_{teacher}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        names.append(name)

    fig, ax = plt.subplots(figsize=(5.5, 4))
    # Latencies from the back-to-back timing cells where they exist (the MLP and the distilled
    # student share one architecture), else from the fit cells.
    timing = {
        (r["dataset"], r["horizon"], r["teacher"]): r
        for r in records
        if r["method"] == "epoch_timing"
    }
    points: dict[str, list] = {"teacher": [], "mlp": [], "timedistill": []}
    for (d, h, t, m), (value, _, _) in mse.items():
        if m not in points:
            continue
        if m == "mlp":
            lat = [
                tm["latency_ms_student"] for (dd, hh, _), tm in timing.items() if (dd, hh) == (d, h)
            ]
        else:
            tm = timing.get((d, h, t))
            lat = [tm[f"latency_ms_{'teacher' if m == 'teacher' else 'student'}"]] if tm else []
        if not lat and not timing:
            lat = [
                r["latency_ms"]
                for r in records
                if (r["dataset"], r["horizon"], r["teacher"], r["method"]) == (d, h, t, m)
            ]
        if lat:
            points[m].append((lat[0], value))
    for method, marker in (("teacher", "s"), ("mlp", "o"), ("timedistill", "*")):
        pts = points[method]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=marker, s=50, label=method)
    ax.set_xscale("log")
    ax.set_xlabel("inference ms per 32 windows (log)")
    ax.set_ylabel("test MSE")
    ax.legend(fontsize=8)
    ax.set_title("accuracy vs latency, every dataset and horizon")
    fig.tight_layout()
    fig.savefig(out / "ltsf_accuracy_latency.png", dpi=110)
    plt.close(fig)
    names.append("ltsf_accuracy_latency.png")

    ex = [
        r
        for r in records
        if "example" in r
        and r["horizon"] == horizons[0]
        and r["dataset"] == datasets[0]
        and r["method"] in ("teacher", "mlp", "timedistill")
    ]
    if ex:
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.plot(ex[0]["example"]["truth"], color="black", label="truth")
        for r in ex:
            label = r["method"] if r["method"] == "mlp" else f"{r['method']} ({r['teacher']})"
            ax.plot(r["example"]["prediction"], label=label, alpha=0.8)
        ax.set_title(f"{datasets[0]}, first test window, channel {ex[0]['example']['channel']}")
        ax.set_xlabel("step ahead")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "ltsf_example.png", dpi=110)
        plt.close(fig)
        names.append("ltsf_example.png")
    return names


def _dataset_means(records: list[dict]) -> dict[tuple, dict[str, float]]:
    """``(dataset, teacher) -> {"teacher", "mlp", "timedistill": mean MSE over horizons}``, for
    the pairs that ran every horizon of the run with all three methods."""
    mse = {k: v[0] for k, v in _mean_over_seeds(records, "mse").items()}
    horizons = sorted({r["horizon"] for r in records})
    means: dict[tuple, dict[str, float]] = {}
    for d, _, t, m in mse:
        if m != "timedistill" or t is None or (d, t) in means:
            continue
        vals = {}
        for label, tt in (("timedistill", t), ("teacher", t), ("mlp", None)):
            per_h = [mse.get((d, h, tt, label)) for h in horizons]
            if all(v is not None for v in per_h):
                vals[label] = float(np.mean(per_h))
        if len(vals) == 3:
            means[(d, t)] = vals
    return means


def _goals(records: list[dict]) -> list[str]:
    """The suite's goals, each as met / not met with its figure (complete datasets only)."""
    lines = []
    means = _dataset_means(records)
    if means:
        beat_mlp = [k for k, v in means.items() if v["timedistill"] < v["mlp"]]
        beat_teacher = [k for k, v in means.items() if v["timedistill"] < v["teacher"]]
        detail = ", ".join(
            f"{d}/{t} {v['timedistill']:.3f} vs MLP {v['mlp']:.3f} vs teacher {v['teacher']:.3f}"
            for (d, t), v in means.items()
        )
        ok = "met" if len(beat_mlp) == len(means) else "not met"
        lines.append(
            f"- TimeDistill beats the MLP alone on every dataset's mean over horizons: {ok} "
            f"({len(beat_mlp)} of {len(means)}; {detail})."
        )
        ok = "met" if 2 * len(beat_teacher) > len(means) else "not met"
        lines.append(
            f"- TimeDistill beats its teacher on most: {ok} ({len(beat_teacher)} of {len(means)})."
        )
        etth1 = [v["timedistill"] for (d, _), v in means.items() if d == "ETTh1"]
        if etth1:
            best = min(etth1)
            ok = "met" if best <= PAPER_TIMEDISTILL_MSE["ETTh1"] else "not met"
            lines.append(
                f"- ETTh1 mean MSE at or below the paper's {PAPER_TIMEDISTILL_MSE['ETTh1']}: {ok} "
                f"({best:.3f})."
            )
    speedups, epoch_ratios = [], []
    for r in records:
        if r["method"] == "epoch_timing":
            speedups.append(
                (
                    r["latency_ms_teacher"] / r["latency_ms_student"],
                    r["teacher"],
                    r["dataset"],
                    r["horizon"],
                )
            )
            epoch_ratios.append(r["epoch_s_cached"] / r["epoch_s_mlp"])
    # A teacher without a timing cell: its fit cells' latencies (measured minutes apart, so
    # less exact), labelled as such.
    timed = {
        (r["dataset"], r["horizon"], r["teacher"]) for r in records if r["method"] == "epoch_timing"
    }
    by = {(r["dataset"], r["horizon"], r["teacher"], r["method"], r["seed"]): r for r in records}
    for (d, h, t, m, s), r in by.items():
        teacher = by.get((d, h, t, "teacher", s))
        if m == "timedistill" and (d, h, t) not in timed and teacher and "latency_ms" in r:
            speedups.append((teacher["latency_ms"] / r["latency_ms"], t, d, h, "fit cells"))
    if speedups:
        best = max(speedups)
        ok = "met" if best[0] >= 7 else "not met"
        source = "; latencies from the fit cells" if len(best) > 4 else ""
        lines.append(
            f"- Student inference >= 7x faster than the heaviest teacher: {ok} ({best[0]:.1f}x "
            f"against {best[1]} on {best[2]} H={best[3]}, batch of 32 windows{source})."
        )
    if epoch_ratios:
        med = statistics.median(epoch_ratios)
        ok = "met" if med <= 1.3 else "not met"
        lines.append(
            f"- A distillation epoch <= 1.3x a plain MLP epoch: {ok} (median {med:.2f}x, range "
            f"{min(epoch_ratios):.2f}-{max(epoch_ratios):.2f}x over {len(epoch_ratios)} cells)."
        )
    return lines


def render_ltsf_report(
    output_dir: str | os.PathLike,
    report_dir: str | os.PathLike | None = None,
    rst_image_prefix: str = "",
) -> dict[str, Path]:
    """Write ``report.md``, ``report.rst`` and PNG plots from the records in ``output_dir``.

    Parameters
    ----------
    output_dir : path
        Where :func:`run_ltsf` wrote its cells.
    report_dir : path, optional
        Where to write the report (default ``output_dir``).
    rst_image_prefix : str, default=""
        Prepended to the image paths of ``report.rst`` (Sphinx resolves them against the
        document that includes the report, e.g. ``"ltsf/"``).

    Returns
    -------
    dict
        ``{"md": path, "rst": path, "plots": [paths]}``.
    """
    records = load_ltsf_records(output_dir)
    if not records:
        raise ValueError(f"no cell records under {Path(output_dir) / 'cells'}: run run_ltsf first")
    report = Path(report_dir or output_dir)
    report.mkdir(parents=True, exist_ok=True)
    run = Path(output_dir, "run.json")
    meta = json.loads(run.read_text())["runs"][-1] if run.exists() else {}
    plots = _plots(records, report)
    paths: dict = {"plots": [report / p for p in plots]}
    for fmt in ("md", "rst"):
        parts = [machine_line(meta)]
        parts.append(section("Accuracy (test MSE / MAE, standardised)", fmt))
        parts += _accuracy_tables(records, fmt)
        means = _dataset_means(records)
        paper = [
            [
                d,
                t,
                f"{PAPER_TIMEDISTILL_MSE[d]:.3f}",
                f"{v['timedistill']:.3f}",
                f"{100 * (v['timedistill'] / PAPER_TIMEDISTILL_MSE[d] - 1):+.1f} %",
                f"{v['mlp']:.3f}",
                f"{v['teacher']:.3f}",
            ]
            for (d, t), v in means.items()
            if d in PAPER_TIMEDISTILL_MSE
        ]
        if paper:
            header = [
                "dataset",
                "our teacher",
                "paper TimeDistill",
                "ours TimeDistill",
                "ours vs paper",
                "ours MLP",
                "ours teacher",
            ]
            parts.append(
                "Mean MSE over the horizons beside the paper's TimeDistill (its ModernTCN "
                "teacher, look-back 720):\n\n" + table(header, paper, fmt)
            )
        goals = _goals(records)
        if goals:
            parts.append(section("Goals", fmt))
            parts.append("\n".join(goals) + "\n")
        ablation = _ablation_table(records, fmt)
        if ablation:
            parts.append(section("Ablations (test MSE)", fmt))
            parts.append(ablation)
        parts.append(section("Efficiency", fmt))
        parts.append(_efficiency_table(records, fmt))
        for p in plots:
            parts.append(f"![{p}]({p})\n" if fmt == "md" else f".. image:: {rst_image_prefix}{p}\n")
        text = "\n".join(parts)
        path = report / f"report.{fmt}"
        path.write_text(text)
        paths[fmt] = path
    return paths
