"""The vision suite's report: accuracy tables in OFA's layout, claims, cost, and plots.

:func:`render_vision_report` reads the cell records :func:`~skdistill.benchmarks.run_vision`
wrote; what SFKD is set against is a :class:`~skdistill.benchmarks.goals.VisionGoals`.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import numpy as np

from skdistill.benchmarks._report import (
    bullets,
    mean_std,
    order,
    pyplot,
    render,
    save,
    section,
    table,
)
from skdistill.benchmarks.goals import VISION_GOALS, VisionGoals
from skdistill.benchmarks.vision import (
    _ABLATIONS,
    _DATASETS,
    _MAIN_METHODS,
    _PAIRS,
    VISION_ARCHS,
    VISION_METHODS,
    _parse_pair,
    load_vision_records,
)

__all__ = ["render_vision_report"]

_COST_HEADER = [
    "method",
    "s/epoch vs KD (median)",
    "extra training params (median)",
    "student ms / 128 images (median)",
    "cells",
]


def _group(records: list[dict], key: str) -> dict[tuple, list[float]]:
    out: dict[tuple, list[float]] = {}
    for r in records:
        out.setdefault((r["dataset"], r["pair"], r["method"]), []).append(r[key])
    return out


def _by_cell(records: list[dict]) -> dict[tuple, dict]:
    return {(r["dataset"], r["pair"], r["method"], r["seed"]): r for r in records}


def _students(records: list[dict]) -> list[str]:
    """The methods with a record, teachers left out, in ``VISION_METHODS``' order."""
    return order((r["method"] for r in records if r["method"] != "teacher"), VISION_METHODS)


# --- tables ------------------------------------------------------------------------------
def _accuracy_table(records, dataset, methods, fmt, key="accuracy", rows_of=None) -> str | None:
    """Pairs as rows (those with a record of a method in ``rows_of``), methods as columns."""
    acc = _group(records, key)
    rows_of = methods if rows_of is None else rows_of
    pairs = order((k[1] for k in acc if k[0] == dataset and k[2] in rows_of), _PAIRS)
    if not pairs:
        return None
    rows = []
    for pair in pairs:
        t = _parse_pair(pair)[0]
        row = [pair, mean_std(acc.get((dataset, f"{t}->{t}", "teacher"), []), 2, 100)]
        row += [mean_std(acc.get((dataset, pair, m), []), 2, 100) for m in methods]
        rows.append(row)
    return table(["pair", "teacher", *methods], rows, fmt)


def _seed_counts(records: list[dict]) -> str:
    """Seeds per method, e.g. "alone 3, kd 1" (the most any pair has); teachers left out."""
    seeds: dict[str, dict[str, set]] = {}
    for r in records:
        if r["method"] != "teacher":
            seeds.setdefault(r["method"], {}).setdefault(r["pair"], set()).add(r["seed"])
    methods = order(seeds, VISION_METHODS)
    return ", ".join(f"{m} {max(len(v) for v in seeds[m].values())}" for m in methods)


def _cost_table(records, fmt) -> str:
    """Per method: epoch time relative to KD on the same cell, extra training parameters."""
    by = _by_cell(records)
    rows = []
    for m in _students(records):
        ratios, extra, lat = [], [], []
        for (d, p, meth, s), r in by.items():
            if meth != m:
                continue
            kd = by.get((d, p, "kd", s))
            if kd:
                ratios.append(r["epoch_s"] / kd["epoch_s"])
            extra.append(r["train_only_params"])
            lat.append(r["latency_ms"])
        rows.append(
            [
                m,
                f"{statistics.median(ratios):.2f}x" if ratios else "-",
                f"{int(statistics.median(extra)):,}" if extra else "-",
                f"{statistics.median(lat):.2f}" if lat else "-",
                str(len(extra)),
            ]
        )
    return table(_COST_HEADER, rows, fmt)


def _claims(records: list[dict], goals: VisionGoals) -> list[str]:
    """Plain sentences: where the goals' method stands against each rival."""
    acc = {k: float(np.mean(v)) for k, v in _group(records, "accuracy").items()}
    me, name = goals.method, goals.method.upper()
    lines = []
    for dataset in order((r["dataset"] for r in records), _DATASETS):
        pairs = [
            p
            for p in order((k[1] for k in acc if k[0] == dataset), _PAIRS)
            if (dataset, p, me) in acc
        ]
        hetero = [
            p
            for p in pairs
            if VISION_ARCHS[_parse_pair(p)[0]][0] != VISION_ARCHS[_parse_pair(p)[1]][0]
        ]
        for rival in goals.rivals:
            done = [p for p in hetero if (dataset, p, rival) in acc]
            if not done:
                continue
            gaps = {p: acc[(dataset, p, me)] - acc[(dataset, p, rival)] for p in done}
            wins = [p for p in done if acc[(dataset, p, me)] > acc[(dataset, p, rival)]]
            losses = ", ".join(f"{p} ({100 * gaps[p]:+.2f})" for p in done if p not in wins)
            lines.append(
                f"- {dataset}: {name} beats {rival} on {len(wins)} of {len(done)} heterogeneous "
                f"pairs (mean difference {100 * np.mean(list(gaps.values())):+.2f} points)"
                + (f"; not on {losses}." if losses else ".")
            )
    return lines


# --- plots -------------------------------------------------------------------------------
def _accuracy_plots(records: list[dict], out: Path, names: list[str]) -> None:
    """Per dataset: test accuracy of the main methods, pairs side by side."""
    acc = _group(records, "accuracy")
    for dataset in order((r["dataset"] for r in records), _DATASETS):
        pairs = order((k[1] for k in acc if k[0] == dataset and k[2] in _MAIN_METHODS), _PAIRS)
        methods = [m for m in _MAIN_METHODS if any((dataset, p, m) in acc for p in pairs)]
        if not pairs or not methods:
            continue
        fig, ax = pyplot().subplots(figsize=(1.6 * len(pairs) + 2, 3.4))
        width = 0.8 / len(methods)
        x = np.arange(len(pairs))
        for i, m in enumerate(methods):
            vals = [100 * np.mean(acc.get((dataset, p, m), [np.nan])) for p in pairs]
            ax.bar(x + (i - (len(methods) - 1) / 2) * width, vals, width=width, label=m)
        ax.set_xticks(x, pairs, fontsize=8)
        finite = [100 * np.mean(v) for k, v in acc.items() if k[0] == dataset]
        ax.set_ylim(max(0, min(finite) - 5), min(100, max(finite) + 3))
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(dataset)
        ax.legend(fontsize=7, ncol=len(methods))
        save(fig, out, f"vision_accuracy_{dataset}.png", names)


def _cost_plot(records: list[dict], out: Path, names: list[str]) -> None:
    """Accuracy gain over the student alone against epoch time relative to KD, every cell."""
    by = _by_cell(records)
    fig, ax = pyplot().subplots(figsize=(5.5, 4))
    for m in _students(records):
        pts = []
        for (d, p, meth, s), r in by.items():
            kd = by.get((d, p, "kd", s))
            alone = by.get((d, p, "alone", s))
            if meth == m and kd and alone:
                pts.append(
                    (r["epoch_s"] / kd["epoch_s"], 100 * (r["accuracy"] - alone["accuracy"]))
                )
        if pts:
            ax.scatter([q[0] for q in pts], [q[1] for q in pts], s=25, label=m)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("seconds per epoch relative to KD")
    ax.set_ylabel("accuracy gain over the student alone (points)")
    ax.set_title("accuracy vs training cost, every pair")
    ax.legend(fontsize=7)
    save(fig, out, "vision_accuracy_cost.png", names)


def _plots(records: list[dict], out: Path) -> list[str]:
    names: list[str] = []
    _accuracy_plots(records, out, names)
    _cost_plot(records, out, names)
    return names


# --- the report --------------------------------------------------------------------------
def _dataset_parts(records: list[dict], dataset: str, fmt: str) -> list[str]:
    """A dataset's heading, test and validation tables, seed counts and ablation table."""
    mine = [r for r in records if r["dataset"] == dataset]
    sizes = next((r for r in mine if r["method"] != "teacher"), mine[0])
    teacher_n = sorted({r["n_train"] for r in mine if r["method"] == "teacher"})
    seen = (
        f" (teachers: {', '.join(f'{n:,}' for n in teacher_n)})"
        if teacher_n and teacher_n != [sizes["n_train"]]
        else ""
    )
    title = (
        f"{dataset}: accuracy (%), {sizes['n_train']:,} training images{seen} / "
        f"{sizes['n_test']:,} test images"
    )
    parts = [section(title, fmt)]
    main = [m for m in _MAIN_METHODS if any(r["method"] == m for r in records)]
    for key, what in (("accuracy", "Test"), ("valid_accuracy", "Validation")):
        t = _accuracy_table(records, dataset, main, fmt, key)
        if t:
            parts.append(f"{what} accuracy:\n\n{t}")
    seeds = _seed_counts(mine)
    if seeds:
        parts.append(f"Seeds per cell (mean ± std where more than one): {seeds}.\n")
    ablations = ["sfkd"] + [m for m in _ABLATIONS if any(r["method"] == m for r in mine)]
    if len(ablations) > 1:
        t = _accuracy_table(
            records, dataset, ablations, fmt, "valid_accuracy", rows_of=ablations[1:]
        )
        if t:
            parts.append(f"SFKD ablations, validation accuracy:\n\n{t}")
    return parts


def _body(records: list[dict], failed: list[dict], goals: VisionGoals, fmt: str) -> list[str]:
    parts = []
    for dataset in order((r["dataset"] for r in records), _DATASETS):
        parts += _dataset_parts(records, dataset, fmt)
    claims = _claims(records, goals)
    if claims:
        parts += [section(f"Where {goals.method.upper()} stands", fmt), bullets(claims)]
    if failed:
        lines = [
            f"- {r['dataset']} {r['pair']} {r['method']} seed {r['seed']}: {r['error']}"
            for r in failed
        ]
        parts += [section("Cells that did not run", fmt), bullets(lines)]
    parts += [section("Cost", fmt), _cost_table(records, fmt)]
    paper = [[k, *(f"{v:.2f}" for v in vals)] for k, vals in goals.paper_cifar100.items()]
    return [
        *parts,
        section("Published CIFAR-100 top-1 (for context)", fmt),
        "224x224 inputs, ImageNet-pretrained teachers, 300 epochs; ResNet18 from scratch "
        "74.01.\n\n" + table(["pair", "KD", "FitNet", "OFA"], paper, fmt),
    ]


def render_vision_report(
    output_dir: str | os.PathLike,
    report_dir: str | os.PathLike | None = None,
    rst_image_prefix: str = "",
    goals: VisionGoals | None = None,
) -> dict[str, Path]:
    """Write ``report.md``, ``report.rst`` and PNG plots from the records in ``output_dir``.

    Parameters
    ----------
    output_dir : path
        Where :func:`run_vision` wrote its cells.
    report_dir : path, optional
        Where to write the report (default ``output_dir``).
    rst_image_prefix : str, default=""
        Prepended to the image paths of ``report.rst``.
    goals : VisionGoals, optional
        The method the report's claims are about, its rivals and the published figures shown
        for context (default :data:`skdistill.benchmarks.goals.VISION_GOALS`).

    Returns
    -------
    dict
        ``{"md": path, "rst": path, "plots": [paths]}``.
    """
    everything = load_vision_records(output_dir)
    records = [r for r in everything if "error" not in r]
    failed = [r for r in everything if "error" in r]
    goals = VISION_GOALS if goals is None else goals
    return render(
        output_dir,
        report_dir,
        rst_image_prefix,
        everything,
        "run_vision",
        lambda folder: _plots(records, folder),
        lambda fmt: _body(records, failed, goals, fmt),
    )
