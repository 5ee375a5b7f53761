"""Panels: one global distilled student for many series, against one student per series.

Two panels of univariate series, each fitted as a panel (a DataFrame with a (series, time)
MultiIndex):

* Weather: the 21 channels of ``load_ltsf("Weather")`` as 21 series, the last ``--rows`` rows
  (default 8000) of each. Its time stamps are irregular (one repeated stamp, one 100-minute
  gap) and the protocol is positional, so the rows are numbered (a RangeIndex) first.
* ETT: the 7 channels of ETTh1 and of ETTh2 as 14 series ("ETTh1/OT", ...), all 17,420 rows.

Split of every series by the LTSF protocol (``skdistill.datasets.ltsf_split``): 70/10/20 % of
the rows for Weather, 12/4/4 months (rows 8640 / 2880 / 2880) for ETT. Every model is fitted on
the training and validation rows and takes the validation rows as its own early-stopping tail
(``validation_size`` = their count, an int; the validation windows' contexts reach back into
the training rows, as the protocol's do). It is scored on every stride-1 test window (context
L = 96 rows starting L rows before the test part, horizon H = 96) through ``predict_windows``:
MSE and MAE of the values standardised with the mean and population std of the series' own
training rows, per series, then averaged over the series (every series has as many test
windows, so this is also the mean over all windows).

Models (all seeded with ``random_state=0``):

* ``teacher``: a global PatchTST (package defaults: d_model 16, 3 layers, patch 16, stride 8)
  at lr 1e-3, batch 128, fitted on the whole panel.
* ``mlp``: the global DMLP student trained alone (hidden 512, lr 0.01, batch 32).
* ``global distilled``: ``DistilledMLPForecaster`` (the same student, alpha = beta = 1) given
  the unfitted teacher above: it fits the teacher on the panel, then distils it; its fit time
  includes the teacher's fit.
* ``per-series distilled``: the same estimator with ``global_model=False``: sktime fits one
  clone per series, each fitting its own teacher on its own series; its fit time includes all
  of them. The per-series teachers it fitted are scored too (``per-series teachers``: their fit
  time is part of that row's).

Budgets. One epoch of a global model passes over the windows of every series (21x the windows
of one Weather series, 14x for ETT), so a global model needs far fewer epochs than a model that
sees one series: global teacher and global students at most 3 epochs, per-series teachers and
students at most 10; early-stopping patience 3 for all. The same lr and batch size for a model
kind whether global or per series. The speed-up is therefore the speed-up at these budgets (a
per-series model makes about 10/3 times the passes over its series' windows), not one at
equal epochs. With ``--quick``: 4 series, few rows (Weather), 1 epoch, patience 1; the records
go to a temporary folder, not to the repository.

Timing: wall time (``time.perf_counter``) of ``fit`` and of predicting every test window of
every series, the models one after the other in one process, ``torch.set_num_threads(1)``; the
numbers in the docs are from a machine with 2 shared CPU cores.

Run from the repository root (Weather about 20 minutes, ETT about 20 minutes on 2 cores)::

    python benchmarks/panels.py --panel weather
    python benchmarks/panels.py --panel ett
    python benchmarks/panels.py --quick           # smoke run, about a minute

Writes ``benchmarks/results/panels.json`` (one entry per panel, merged into the file) and, with
the Weather panel, ``docs/benchmarks/panels.png``. Data: ``--data-home``, else
``$SKDISTILL_DATA``, else ``../shared/data/ltsf`` beside the repository (ETTh1/ETTh2 are also
bundled with the package).

This is a script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from skdistill.datasets import load_ltsf, ltsf_split
from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster, PatchTSTForecaster

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "benchmarks" / "results" / "panels.json"
FIGURE = REPO / "docs" / "benchmarks" / "panels.png"
SHARED_DATA = REPO.parent / "shared" / "data" / "ltsf"

L = 96
H = 96
SEED = 0
THREADS = 1
# Test windows per predict_windows call: at most ~ 2048 x 96 x 8 B = 1.6 MB of float64 input.
CHUNK = 2048
# Weather series drawn in the figure (also the series of the --quick Weather panel).
FIGURE_SERIES = ("p (mbar)", "T (degC)", "rh (%)", "OT")

# Same lr and batch size for a model kind, global or per series; only the epochs differ.
TEACHER = {"lr": 1e-3, "batch_size": 128}
STUDENT = {"hidden_size": 512, "lr": 0.01, "batch_size": 32}
DISTILL = {"alpha": 1.0, "beta": 1.0}
# (max_epochs, patience): a global epoch already holds every series' windows.
BUDGETS = {
    "full": {"global_teacher": (3, 3), "global_student": (3, 3), "per_series": (10, 3)},
    "quick": {"global_teacher": (1, 1), "global_student": (1, 1), "per_series": (1, 1)},
}


# --- data --------------------------------------------------------------------------------
class Panel:
    """A panel split by the protocol: what the models fit on, and the test windows.

    ``frames`` holds each series as a one-column frame ("value") on a RangeIndex; every series
    of a panel has the same length, so one ``ltsf_split`` gives every series' rows.
    """

    def __init__(self, name: str, dataset: str, frames: dict[str, pd.DataFrame]) -> None:
        self.name = name
        self.keys = list(frames)
        n_rows = {len(f) for f in frames.values()}
        if len(n_rows) != 1:
            raise ValueError(f"series of {name} differ in length: {sorted(n_rows)}")
        self.n_rows = n_rows.pop()
        self.train, self.val, self.test = ltsf_split(dataset, self.n_rows, L)
        self.values = {k: f["value"].to_numpy(dtype=np.float64) for k, f in frames.items()}
        # The estimators take the validation rows as their own tail: fit on train + validation.
        self.n_val = self.val.stop - self.train.stop
        self.y_fit = pd.concat(
            {k: f.iloc[: self.val.stop] for k, f in frames.items()}, names=["series", "time"]
        )
        # Protocol scaler for the metrics: training rows only, population std (ddof 0).
        self.mean = {k: v[: self.train.stop].mean() for k, v in self.values.items()}
        self.std = {k: v[: self.train.stop].std() for k, v in self.values.items()}
        test = self.test.stop - self.test.start
        self.n_windows = test - L - H + 1

    def windows(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Every stride-1 test window of a series: contexts (n, L, 1) and truths (n, H).

        Views into the series (no copy): ``predict_windows`` copies one chunk at a time.
        """
        part = self.values[key][self.test]
        all_windows = np.lib.stride_tricks.sliding_window_view(part, L + H)
        return all_windows[:, :L, None], all_windows[:, L:]


def weather_panel(rows: int, data_home: str | None, series: tuple[str, ...] | None) -> Panel:
    frame = load_ltsf("Weather", data_home=data_home)
    # Irregular stamps (a repeat, a gap): the protocol is positional, so rows are numbered.
    frame = frame.iloc[-rows:].reset_index(drop=True)
    columns = list(series) if series else list(frame.columns)
    # One column name ("value") for every series: a panel's series share their columns.
    frames = {c: frame[[c]].set_axis(["value"], axis=1) for c in columns}
    return Panel("weather", "Weather", frames)


def ett_panel(data_home: str | None, channels: tuple[str, ...] | None) -> Panel:
    frames = {}
    for dataset in ("ETTh1", "ETTh2"):
        frame = load_ltsf(dataset, data_home=data_home).reset_index(drop=True)
        for c in channels or frame.columns:
            frames[f"{dataset}/{c}"] = frame[[c]].set_axis(["value"], axis=1)
    # ETTh1 and ETTh2 share the protocol's borders (both "ETTh"), so either name splits both.
    return Panel("ett", "ETTh1", frames)


# --- models ------------------------------------------------------------------------------
def teacher(panel: Panel, epochs: tuple[int, int], global_model: bool = True) -> PatchTSTForecaster:
    max_epochs, patience = epochs
    return PatchTSTForecaster(
        window_length=L,
        max_epochs=max_epochs,
        patience=patience,
        validation_size=panel.n_val,
        random_state=SEED,
        global_model=global_model,
        **TEACHER,
    )


def student_params(panel: Panel, epochs: tuple[int, int], global_model: bool) -> dict[str, Any]:
    max_epochs, patience = epochs
    return {
        "window_length": L,
        "max_epochs": max_epochs,
        "patience": patience,
        "validation_size": panel.n_val,
        "random_state": SEED,
        "global_model": global_model,
        **STUDENT,
    }


# --- scoring -----------------------------------------------------------------------------
Predictor = Callable[[str, np.ndarray], np.ndarray]


def global_predictor(model) -> Predictor:
    """Forecasts of a panel-fitted model for one series' contexts: (n, H)."""
    return lambda key, contexts: model.predict_windows(contexts, series=key)[:, :, 0]


def per_series_predictor(models: dict[str, Any]) -> Predictor:
    """Forecasts of the model fitted on that series alone."""
    return lambda key, contexts: models[key].predict_windows(contexts)[:, :, 0]


def score(panel: Panel, predict: Predictor) -> dict[str, Any]:
    """Predict every test window (timed) and score it on the standardised scale.

    Returns per-series MSE / MAE, their means over the series, the wall time of all the
    predictions, and each series' last test window forecast (for the figure).
    """
    mse, mae, last = {}, {}, {}
    seconds = 0.0
    for key in panel.keys:
        contexts, truth = panel.windows(key)
        preds = []
        for lo in range(0, len(contexts), CHUNK):
            t0 = time.perf_counter()
            preds.append(predict(key, contexts[lo : lo + CHUNK]))
            seconds += time.perf_counter() - t0
        pred = np.concatenate(preds)
        # The metric's scaler is the protocol's (the series' training rows), not the model's.
        err = (pred - truth) / panel.std[key]
        mse[key], mae[key] = float(np.mean(err**2)), float(np.mean(np.abs(err)))
        last[key] = pred[-1].tolist()
    return {
        "mse": float(np.mean(list(mse.values()))),
        "mae": float(np.mean(list(mae.values()))),
        "predict_s": seconds,
        "per_series_mse": mse,
        "per_series_mae": mae,
        "last_window_forecast": last,
    }


def timed_fit(model, y: pd.DataFrame) -> tuple[Any, float]:
    t0 = time.perf_counter()
    model.fit(y, fh=range(1, H + 1))
    return model, time.perf_counter() - t0


def epochs_run(model) -> int:
    return len(model.history_)


# --- one panel ---------------------------------------------------------------------------
def run_panel(panel: Panel, budget: dict[str, tuple[int, int]], log: Callable[[str], None]):
    log(
        f"\n== {panel.name}: {len(panel.keys)} series x {panel.n_rows} rows; train "
        f"{panel.train.stop}, validation {panel.n_val}, test {panel.test.stop - panel.val.stop} "
        f"rows ({panel.n_windows} windows per series); fit on {len(panel.y_fit)} rows in all"
    )
    rows: dict[str, dict[str, Any]] = {}
    y = panel.y_fit

    log("fitting the global teacher ...")
    t, fit_s = timed_fit(teacher(panel, budget["global_teacher"]), y)
    rows["teacher"] = {"fit_s": fit_s, "epochs": epochs_run(t), **score(panel, global_predictor(t))}
    log(f"  {fit_s:.1f} s, {rows['teacher']['epochs']} epochs")

    log("fitting the global MLP alone ...")
    mlp = MLPForecaster(**student_params(panel, budget["global_student"], True))
    mlp, fit_s = timed_fit(mlp, y)
    rows["mlp"] = {"fit_s": fit_s, "epochs": epochs_run(mlp), **score(panel, global_predictor(mlp))}
    log(f"  {fit_s:.1f} s, {rows['mlp']['epochs']} epochs")

    log("fitting the global distilled student (teacher fitted inside) ...")
    dist = DistilledMLPForecaster(
        teacher=teacher(panel, budget["global_teacher"]),
        **DISTILL,
        **student_params(panel, budget["global_student"], True),
    )
    dist, fit_s = timed_fit(dist, y)
    rows["global distilled"] = {
        "fit_s": fit_s,
        "epochs": epochs_run(dist),
        **score(panel, global_predictor(dist)),
    }
    log(f"  {fit_s:.1f} s, {rows['global distilled']['epochs']} student epochs")
    # Same seed, same data: the teacher fitted inside must be the one fitted alone above.
    contexts, _ = panel.windows(panel.keys[0])
    same = np.allclose(
        dist.teacher_.predict_windows(contexts[:64], series=panel.keys[0]),
        t.predict_windows(contexts[:64], series=panel.keys[0]),
    )
    log(f"  teacher inside the global distiller == the teacher fitted alone: {same}")

    log(f"fitting the per-series distilled students ({len(panel.keys)} teachers + students) ...")
    per = DistilledMLPForecaster(
        teacher=teacher(panel, budget["per_series"], global_model=False),
        **DISTILL,
        **student_params(panel, budget["per_series"], False),
    )
    per, fit_s = timed_fit(per, y)
    # sktime vectorised the fit: one fitted forecaster per series key.
    fitted = {key: per.forecasters_.loc[key, "forecasters"] for key in panel.keys}
    rows["per-series distilled"] = {
        "fit_s": fit_s,
        "epochs": [epochs_run(f) for f in fitted.values()],
        **score(panel, per_series_predictor(fitted)),
    }
    log(f"  {fit_s:.1f} s")
    teachers = {key: f.teacher_ for key, f in fitted.items()}
    rows["per-series teachers"] = {
        "fit_s": None,  # inside the per-series distilled fit
        "epochs": [epochs_run(f) for f in teachers.values()],
        **score(panel, per_series_predictor(teachers)),
    }

    g, p = rows["global distilled"], rows["per-series distilled"]
    wins = sum(g["per_series_mse"][k] <= p["per_series_mse"][k] for k in panel.keys)
    summary = {
        "speedup_fit_distilled": p["fit_s"] / g["fit_s"],
        "global_distilled_as_accurate_as_per_series_mse": g["mse"] <= p["mse"],
        "global_distilled_as_accurate_as_per_series_mae": g["mae"] <= p["mae"],
        "global_distilled_better_than_mlp_mse": g["mse"] < rows["mlp"]["mse"],
        "global_distilled_better_than_mlp_mae": g["mae"] < rows["mlp"]["mae"],
        "series_where_global_distilled_mse_le_per_series": wins,
        "teacher_inside_distiller_matches_alone": bool(same),
    }
    record = {
        "panel": panel.name,
        "series": panel.keys,
        "n_rows": panel.n_rows,
        "split_rows": {
            "train": [panel.train.start, panel.train.stop],
            "validation": [panel.val.start, panel.val.stop],
            "test": [panel.test.start, panel.test.stop],
        },
        "test_windows_per_series": panel.n_windows,
        "window_length": L,
        "horizon": H,
        "budgets": {k: {"max_epochs": v[0], "patience": v[1]} for k, v in budget.items()},
        "teacher_params": {"model": "PatchTSTForecaster", **TEACHER},
        "student_params": {**STUDENT, **DISTILL},
        "results": rows,
        "summary": summary,
    }
    return record


def print_table(record: dict[str, Any], log: Callable[[str], None]) -> None:
    log(f"\n{record['panel']}: standardised MSE / MAE averaged over {len(record['series'])} series")
    log(f"{'model':<22} {'fit s':>8} {'predict s':>10} {'MSE':>7} {'MAE':>7}  epochs")
    for name, row in record["results"].items():
        fit = "(incl.)" if row["fit_s"] is None else f"{row['fit_s']:.1f}"
        ep = row["epochs"]
        if not isinstance(ep, int):
            span = f"{min(ep)}" if min(ep) == max(ep) else f"{min(ep)}-{max(ep)}"
            ep = f"{span} per series"
        log(
            f"{name:<22} {fit:>8} {row['predict_s']:>10.3f} {row['mse']:>7.4f} "
            f"{row['mae']:>7.4f}  {ep}"
        )
    s = record["summary"]
    n = len(record["series"])
    log(
        f"speed-up of fit (per-series distilled / global distilled): {s['speedup_fit_distilled']:.2f}x"
    )
    log(
        "global distilled at least as accurate as per-series distilled: "
        f"MSE {s['global_distilled_as_accurate_as_per_series_mse']}, "
        f"MAE {s['global_distilled_as_accurate_as_per_series_mae']} "
        f"(MSE <= on {s['series_where_global_distilled_mse_le_per_series']} of {n} series)"
    )
    log(
        "global distilled better than the global MLP alone: "
        f"MSE {s['global_distilled_better_than_mlp_mse']}, "
        f"MAE {s['global_distilled_better_than_mlp_mae']}"
    )


# --- figure ------------------------------------------------------------------------------
def figure(panel: Panel, record: dict[str, Any], path: Path) -> None:
    """The last test window of a few Weather series: context, truth and three forecasts."""
    import matplotlib

    matplotlib.use("Agg")  # no display: write the file only
    import matplotlib.pyplot as plt

    keys = [k for k in FIGURE_SERIES if k in panel.keys] or panel.keys[:4]
    fig, axes = plt.subplots(len(keys), 1, figsize=(9, 2.3 * len(keys)), sharex=True)
    axes = np.atleast_1d(axes)
    context_x, future_x = np.arange(-L, 0), np.arange(H)
    res = record["results"]
    for ax, key in zip(axes, keys, strict=True):
        contexts, truth = panel.windows(key)
        ax.plot(context_x, contexts[-1, :, 0], color="0.5", lw=1, label="context")
        ax.plot(future_x, truth[-1], color="black", lw=1.2, label="truth")
        for name, colour in (
            ("global distilled", "tab:blue"),
            ("per-series distilled", "tab:orange"),
            ("teacher", "tab:green"),
        ):
            label = "global teacher" if name == "teacher" else name
            forecast = res[name]["last_window_forecast"][key]
            ax.plot(future_x, forecast, color=colour, lw=1.2, label=label)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.set_title(key, fontsize=9, loc="left")
    axes[-1].set_xlabel("steps from the forecast origin (10-minute rows)")
    fig.suptitle(f"Weather, last test window (L = {L}, H = {H})", fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=5, fontsize=8, bbox_to_anchor=(0.5, 0.97))
    # Room at the top for the title and the shared legend.
    fig.tight_layout(rect=(0, 0, 1, 0.955))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- main --------------------------------------------------------------------------------
def merge_json(path: Path, record: dict[str, Any]) -> None:
    """Write this panel's record into the file, keeping the other panel's."""
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault("benchmark", "panels")
    data.setdefault("panels", {})[record["panel"]] = record
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def default_data_home() -> str | None:
    if os.environ.get("SKDISTILL_DATA"):
        return None  # load_ltsf reads it itself
    return str(SHARED_DATA) if SHARED_DATA.is_dir() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panel", choices=("weather", "ett", "both"), default="both")
    parser.add_argument("--rows", type=int, default=8000, help="last rows of Weather kept")
    parser.add_argument("--quick", action="store_true", help="smoke run: 4 series, 1 epoch")
    parser.add_argument("--data-home", default=None, help="folder with weather.csv.gz")
    parser.add_argument("--output", type=Path, default=None, help="JSON record")
    parser.add_argument("--figure", type=Path, default=None, help="PNG figure (Weather)")
    args = parser.parse_args()

    torch.set_num_threads(THREADS)
    data_home = args.data_home or default_data_home()
    if args.quick:
        # A smoke run never overwrites the documented records.
        scratch = Path(tempfile.gettempdir()) / "skdistill_panels_quick"
        output, fig_path = scratch / "panels.json", scratch / "panels.png"
        rows = min(args.rows, 1200)
    else:
        output, fig_path, rows = OUTPUT, FIGURE, args.rows
    output = args.output or output
    fig_path = args.figure or fig_path
    budget = BUDGETS["quick" if args.quick else "full"]

    def log(s: str) -> None:
        print(s, flush=True)

    log(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"{os.cpu_count()} CPU(s) visible, {platform.processor() or platform.machine()}; "
        f"budgets {budget}"
    )
    # The teacher's nested-tensor notice and similar are not results.
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    panels = ("weather", "ett") if args.panel == "both" else (args.panel,)
    for name in panels:
        if name == "weather":
            panel = weather_panel(rows, data_home, FIGURE_SERIES if args.quick else None)
        else:
            channels = ("HUFL", "OT") if args.quick else None
            panel = ett_panel(data_home, channels)
        t0 = time.perf_counter()
        record = run_panel(panel, budget, log)
        record["total_s"] = time.perf_counter() - t0
        record["quick"] = bool(args.quick)
        record["torch_threads"] = THREADS
        print_table(record, log)
        log(f"panel total {record['total_s']:.0f} s")
        merge_json(output, record)
        log(f"wrote {output}")
        if name == "weather":
            figure(panel, record, fig_path)
            log(f"wrote {fig_path}")


if __name__ == "__main__":
    main()
