"""The LTSF suite's report: accuracy, paper, goals, ablation and efficiency tables, and plots.

:func:`render_ltsf_report` reads the cell records :func:`~skdistill.benchmarks.run_ltsf` wrote;
the goals it checks are a :class:`~skdistill.benchmarks.goals.LTSFGoals`.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import numpy as np

from skdistill.benchmarks._report import bullets, log_axis, pyplot, render, save, section, table
from skdistill.benchmarks.goals import LTSF_GOALS, LTSFGoals
from skdistill.benchmarks.ltsf import LTSF_METHODS, load_ltsf_records

__all__ = ["render_ltsf_report"]

# Column label -> method of the accuracy tables and plots ("teacher" and TimeDistill are per
# teacher, the MLP alone has none).
_MAIN = {"teacher": "teacher", "MLP": "mlp", "TimeDistill": "timedistill"}
_EFFICIENCY_HEADER = [
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


def _grid(records: list[dict]) -> tuple[list, list, list]:
    """Datasets and teachers in the order first seen, horizons ascending."""
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    horizons = sorted({r["horizon"] for r in records})
    teachers = list(dict.fromkeys(r["teacher"] for r in records if r["teacher"]))
    return datasets, horizons, teachers


# --- tables ------------------------------------------------------------------------------
def _accuracy_rows(stats: dict, dataset: str, horizons: list, teacher: str) -> list[list[str]]:
    """One dataset's rows of a teacher's table: a row per horizon it ran, then the mean."""
    mse, mae = stats["MSE"], stats["MAE"]
    cols = [(label, None if method == "mlp" else teacher) for label, method in _MAIN.items()]
    # Only the horizons this teacher ran on (a teacher may cover part of the grid).
    mine = [h for h in horizons if (dataset, h, teacher, "teacher") in mse]
    sums: dict[str, list[float]] = {}
    rows = []
    for h in mine:
        row = [dataset, str(h)]
        for label, t in cols:
            key = (dataset, h, t, _MAIN[label])
            for m, values in (("MSE", mse), ("MAE", mae)):
                row.append(_fmt(values.get(key)))
                if key in values:
                    sums.setdefault(f"{label} {m}", []).append(values[key][0])
        rows.append(row)
    if len(mine) < 2 or len(mine) < len(horizons):
        return rows  # a mean over part of the horizons would not compare with the paper's
    row = [dataset, "mean"]
    for label, _ in cols:
        for m in ("MSE", "MAE"):
            v = sums.get(f"{label} {m}", [])
            row.append(f"**{np.mean(v):.3f}**" if len(v) == len(mine) else "-")
    return [*rows, row]


def _weights_used(records: list[dict], teacher: str) -> str:
    """The (alpha, beta) the teacher's TimeDistill rows used, per dataset (from the cells)."""
    used: dict[str, set] = {}
    for r in records:
        if r.get("teacher") == teacher and r.get("method") == "timedistill" and "alpha" in r:
            if r["alpha"] is not None:
                used.setdefault(r["dataset"], set()).add((r["alpha"], r["beta"]))
    if not used:
        return ""
    parts = [
        f"{d} " + " / ".join(f"({a:g}, {b:g})" for a, b in sorted(pairs))
        for d, pairs in sorted(used.items())
    ]
    return "Loss weights (alpha, beta) of the TimeDistill rows: " + "; ".join(parts) + ".\n\n"


def _accuracy_tables(records: list[dict], fmt: str) -> list[str]:
    stats = {m: _mean_over_seeds(records, m.lower()) for m in ("MSE", "MAE")}
    datasets, horizons, teachers = _grid(records)
    header = ["dataset", "H"] + [f"{c} {m}" for c in _MAIN for m in ("MSE", "MAE")]
    out = []
    for teacher in teachers:
        rows = [row for d in datasets for row in _accuracy_rows(stats, d, horizons, teacher)]
        weights = _weights_used(records, teacher)
        out.append(f"Teacher: {teacher}\n\n{weights}" + table(header, rows, fmt))
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


def _timing_cells(timing: dict | None) -> list[str]:
    """The efficiency table's timing columns from an ``epoch_timing`` record."""
    if not timing:
        return ["-"] * 8
    lat_t, lat_s = timing["latency_ms_teacher"], timing["latency_ms_student"]
    mlp = timing["epoch_s_mlp"]
    return [
        f"{lat_t:.2f}",
        f"{lat_s:.2f}",
        f"{lat_t / lat_s:.1f}x",
        f"{mlp:.2f}",
        f"{timing['epoch_s_cached']:.2f}",
        f"{timing['epoch_s_online']:.2f}",
        f"{timing['epoch_s_cached'] / mlp:.2f}x",
        f"{timing['epoch_s_online'] / mlp:.2f}x",
    ]


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
        row = [d, str(h), t, f"{teacher['params']:,}" if teacher else "-", f"{r['params']:,}"]
        row += _timing_cells(by.get((d, h, t, "epoch_timing")))
        row += [str(r["epochs"]), f"{r['fit_s']:.0f}", f"{r['peak_rss_mb']:.0f}"]
        rows.append(row)
    return table(_EFFICIENCY_HEADER, rows, fmt)


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


def _paper_table(means: dict, paper: dict, fmt: str) -> str | None:
    rows = [
        [
            d,
            t,
            f"{paper[d]:.3f}",
            f"{v['timedistill']:.3f}",
            f"{100 * (v['timedistill'] / paper[d] - 1):+.1f} %",
            f"{v['mlp']:.3f}",
            f"{v['teacher']:.3f}",
        ]
        for (d, t), v in means.items()
        if d in paper
    ]
    if not rows:
        return None
    header = ["dataset", "our teacher", "paper TimeDistill", "ours TimeDistill", "ours vs paper"]
    return (
        "Mean MSE over the horizons beside the paper's TimeDistill (its ModernTCN "
        "teacher, look-back 720):\n\n" + table([*header, "ours MLP", "ours teacher"], rows, fmt)
    )


# --- goals -------------------------------------------------------------------------------
def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def _accuracy_goals(means: dict, goals: LTSFGoals) -> list[str]:
    """TimeDistill against the MLP alone, its teacher and the paper (complete datasets)."""
    if not means:
        return []
    beat_mlp = [k for k, v in means.items() if v["timedistill"] < v["mlp"]]
    beat_teacher = [k for k, v in means.items() if v["timedistill"] < v["teacher"]]
    detail = ", ".join(
        f"{d}/{t} {v['timedistill']:.3f} vs MLP {v['mlp']:.3f} vs teacher {v['teacher']:.3f}"
        for (d, t), v in means.items()
    )
    lines = [
        f"- TimeDistill beats the MLP alone on every dataset's mean over horizons: "
        f"{_met(len(beat_mlp) == len(means))} ({len(beat_mlp)} of {len(means)}; {detail}).",
        f"- TimeDistill beats its teacher on most: {_met(2 * len(beat_teacher) > len(means))} "
        f"({len(beat_teacher)} of {len(means)}).",
    ]
    dataset = goals.paper_dataset
    ours = [v["timedistill"] for (d, _), v in means.items() if d == dataset]
    if ours and dataset in goals.paper_mse:
        best, paper = min(ours), goals.paper_mse[dataset]
        lines.append(
            f"- {dataset} mean MSE at or below the paper's {paper}: {_met(best <= paper)} "
            f"({best:.3f})."
        )
    return lines


def _speedups(records: list[dict]) -> list[tuple]:
    """``(teacher / student latency, teacher, dataset, horizon[, "fit cells"])`` per cell."""
    timing = [r for r in records if r["method"] == "epoch_timing"]
    timed = {(r["dataset"], r["horizon"], r["teacher"]) for r in timing}
    speedups = [
        (
            r["latency_ms_teacher"] / r["latency_ms_student"],
            r["teacher"],
            r["dataset"],
            r["horizon"],
        )
        for r in timing
    ]
    # A teacher without a timing cell: its fit cells' latencies (measured minutes apart, so
    # less exact), labelled as such.
    by = {(r["dataset"], r["horizon"], r["teacher"], r["method"], r["seed"]): r for r in records}
    for (d, h, t, m, s), r in by.items():
        teacher = by.get((d, h, t, "teacher", s))
        if m == "timedistill" and (d, h, t) not in timed and teacher and "latency_ms" in r:
            speedups.append((teacher["latency_ms"] / r["latency_ms"], t, d, h, "fit cells"))
    return speedups


def _speed_goals(records: list[dict], goals: LTSFGoals) -> list[str]:
    """Inference speed-up over the heaviest teacher and the cost of a distillation epoch."""
    lines = []
    speedups = _speedups(records)
    if speedups:
        best = max(speedups)
        source = "; latencies from the fit cells" if len(best) > 4 else ""
        lines.append(
            f"- Student inference >= {goals.min_speedup:g}x faster than the heaviest teacher: "
            f"{_met(best[0] >= goals.min_speedup)} ({best[0]:.1f}x against {best[1]} on "
            f"{best[2]} H={best[3]}, batch of 32 windows{source})."
        )
    ratios = [
        r["epoch_s_cached"] / r["epoch_s_mlp"] for r in records if r["method"] == "epoch_timing"
    ]
    if ratios:
        med = statistics.median(ratios)
        lines.append(
            f"- A distillation epoch <= {goals.max_epoch_ratio:g}x a plain MLP epoch: "
            f"{_met(med <= goals.max_epoch_ratio)} (median {med:.2f}x, range "
            f"{min(ratios):.2f}-{max(ratios):.2f}x over {len(ratios)} cells)."
        )
    return lines


# --- plots -------------------------------------------------------------------------------
def _mse_plots(records: list[dict], out: Path, names: list[str]) -> None:
    """Per teacher: test MSE by horizon of the teacher, the MLP and TimeDistill, per dataset."""
    plt = pyplot()
    mse = _mean_over_seeds(records, "mse")
    datasets, horizons, teachers = _grid(records)
    for teacher in teachers:
        fig, axes = plt.subplots(1, len(datasets), figsize=(4 * len(datasets), 3.2), squeeze=False)
        for ax, dataset in zip(axes[0], datasets, strict=True):
            x = np.arange(len(horizons))
            for i, (label, m) in enumerate(_MAIN.items()):
                t = None if m == "mlp" else teacher
                vals = [mse.get((dataset, h, t, m), (np.nan,))[0] for h in horizons]
                ax.bar(x + (i - 1) * 0.27, vals, width=0.27, label=label)
            ax.set_xticks(x, [str(h) for h in horizons])
            ax.set_title(dataset)
            ax.set_xlabel("horizon")
        axes[0][0].set_ylabel("test MSE")
        axes[0][0].legend(fontsize=8)
        save(fig, out, f"ltsf_mse_{teacher}.png", names)


def _latency_points(records: list[dict]) -> dict[str, list]:
    """Method -> (latency, MSE) points; latencies from the back-to-back timing cells where they
    exist (the MLP and the distilled student share one architecture), else from the fit cells."""
    mse = _mean_over_seeds(records, "mse")
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
    return points


def _latency_plot(records: list[dict], out: Path, names: list[str]) -> None:
    fig, ax = pyplot().subplots(figsize=(5.5, 4))
    points = _latency_points(records)
    for method, marker in (("teacher", "s"), ("mlp", "o"), ("timedistill", "*")):
        pts = points[method]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=marker, s=50, label=method)
    log_axis(ax, "x")
    ax.set_xlabel("inference ms per 32 windows (log)")
    ax.set_ylabel("test MSE")
    ax.legend(fontsize=8)
    ax.set_title("accuracy vs latency, every dataset and horizon")
    save(fig, out, "ltsf_accuracy_latency.png", names)


def _example_plot(records: list[dict], out: Path, names: list[str]) -> None:
    """The first test window of the first dataset and horizon: truth and predictions."""
    datasets, horizons, _ = _grid(records)
    ex = [
        r
        for r in records
        if "example" in r
        and r["horizon"] == horizons[0]
        and r["dataset"] == datasets[0]
        and r["method"] in _MAIN.values()
    ]
    if not ex:
        return
    fig, ax = pyplot().subplots(figsize=(6, 3.2))
    ax.plot(ex[0]["example"]["truth"], color="black", label="truth")
    for r in ex:
        label = r["method"] if r["method"] == "mlp" else f"{r['method']} ({r['teacher']})"
        ax.plot(r["example"]["prediction"], label=label, alpha=0.8)
    ax.set_title(f"{datasets[0]}, first test window, channel {ex[0]['example']['channel']}")
    ax.set_xlabel("step ahead")
    ax.legend(fontsize=7)
    save(fig, out, "ltsf_example.png", names)


def _plots(records: list[dict], out: Path) -> list[str]:
    names: list[str] = []
    _mse_plots(records, out, names)
    _latency_plot(records, out, names)
    _example_plot(records, out, names)
    return names


# --- the report --------------------------------------------------------------------------
def _body(records: list[dict], goals: LTSFGoals, fmt: str) -> list[str]:
    parts = [section("Accuracy (test MSE / MAE, standardised)", fmt)]
    parts += _accuracy_tables(records, fmt)
    means = _dataset_means(records)
    paper = _paper_table(means, goals.paper_mse, fmt)
    if paper:
        parts.append(paper)
    met = _accuracy_goals(means, goals) + _speed_goals(records, goals)
    if met:
        parts += [section("Goals", fmt), bullets(met)]
    ablation = _ablation_table(records, fmt)
    if ablation:
        parts += [section("Ablations (test MSE)", fmt), ablation]
    return [*parts, section("Efficiency", fmt), _efficiency_table(records, fmt)]


def render_ltsf_report(
    output_dir: str | os.PathLike,
    report_dir: str | os.PathLike | None = None,
    rst_image_prefix: str = "",
    goals: LTSFGoals | None = None,
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
    goals : LTSFGoals, optional
        What the "Goals" section checks and the paper figures it compares with (default
        :data:`skdistill.benchmarks.goals.LTSF_GOALS`).

    Returns
    -------
    dict
        ``{"md": path, "rst": path, "plots": [paths]}``.
    """
    records = load_ltsf_records(output_dir)
    goals = LTSF_GOALS if goals is None else goals
    return render(
        output_dir,
        report_dir,
        rst_image_prefix,
        records,
        "run_ltsf",
        lambda folder: _plots(records, folder),
        lambda fmt: _body(records, goals, fmt),
    )
