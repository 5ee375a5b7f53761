"""What the suites' reports share: tables in markdown and reST, plots, and writing the files."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

FORMATS = ("md", "rst")


def machine_line(meta: dict) -> str:
    """One sentence naming the machine a run's ``meta["machine"]`` describes."""
    m = meta.get("machine", {})
    gpu = f", GPU {m['gpu']}" if "gpu" in m else ""
    return (
        f"Machine: {m.get('platform', '?')}, {m.get('cpu_count', '?')} CPUs, torch "
        f"{m.get('torch', '?')} with {m.get('threads', '?')} threads{gpu}.\n"
    )


def table(header: Sequence[str], rows: Sequence[Sequence[str]], fmt: str) -> str:
    """A markdown (``fmt="md"``) or reST list-table (``fmt="rst"``)."""
    if fmt == "md":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines) + "\n"
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for r in [header, *rows]:
        lines.append("   * - " + (r[0] or " "))
        lines += [f"     - {c or ' '}" for c in r[1:]]
    return "\n".join(lines) + "\n"


def section(title: str, fmt: str) -> str:
    """A second-level heading in either format."""
    if fmt == "md":
        return f"## {title}\n"
    return f"{title}\n{'~' * len(title)}\n"


def bullets(lines: Iterable[str]) -> str:
    """Lines (already "- " items) as one block."""
    return "\n".join(lines) + "\n"


def mean_std(values: Sequence[float], digits: int = 3, scale: float = 1.0) -> str:
    """``mean ± std`` over seeds (just the mean for one value, "-" for none)."""
    if not values:
        return "-"
    vals = [v * scale for v in values]
    mean = sum(vals) / len(vals)
    if len(vals) == 1:
        return f"{mean:.{digits}f}"
    std = (sum((v - mean) ** 2 for v in vals) / len(vals)) ** 0.5
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def order(values: Iterable[str], reference: Iterable[str]) -> list[str]:
    """The distinct ``values``, in ``reference``'s order, then the others alphabetically."""
    ref = list(reference)
    seen = list(dict.fromkeys(values))
    return sorted(seen, key=lambda v: (ref.index(v) if v in ref else len(ref), v))


# --- plots -------------------------------------------------------------------------------
def pyplot():
    """matplotlib's pyplot on the file-only Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def log_axis(ax, which: str = "x") -> None:
    """Put ``ax``'s ``which`` axis on a log scale with readable, non-overlapping labels.

    Call it once the data are drawn. matplotlib's default labels minor ticks when the data
    span little more than a decade ("3x10^-1", "4x10^-1", ... side by side, overlapping);
    here the labels are plain numbers on 1-2-5 ticks (1-9 over less than a factor of 5, every
    few decades over many) and minor ticks carry none.
    """
    import math

    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    getattr(ax, f"set_{which}scale")("log")
    lo, hi = sorted(getattr(ax, f"get_{which}lim")())
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))

    def ticks(mantissas, stride=1):
        return [
            m * 10.0**e
            for e in range(first, last + 1, stride)
            for m in mantissas
            if lo <= m * 10.0**e <= hi
        ]

    span = math.log10(hi / lo)
    if span > 6:
        locs = ticks((1,), stride=math.ceil(span / 6))
    elif span > 2.5:
        locs = ticks((1,))
    else:
        locs = ticks((1, 2, 5))
        if len(locs) < 3:
            locs = ticks(range(1, 10))
    axis = getattr(ax, f"{which}axis")
    axis.set_major_locator(FixedLocator(locs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def save(fig, folder: Path, name: str, names: list[str]) -> None:
    """Write ``fig`` to ``folder/name``, close it and add ``name`` to ``names``."""
    fig.tight_layout()
    fig.savefig(folder / name, dpi=110)
    pyplot().close(fig)
    names.append(name)


# --- the files ---------------------------------------------------------------------------
def render(
    output_dir: str | os.PathLike,
    report_dir: str | os.PathLike | None,
    rst_image_prefix: str,
    records: list[dict],
    run_function: str,
    plots: Callable[[Path], list[str]],
    body: Callable[[str], list[str]],
) -> dict[str, Path]:
    """Write ``report.md``, ``report.rst`` and the plots of a suite's records.

    ``plots(folder)`` draws into ``folder`` and returns the file names; ``body(fmt)`` returns
    the parts between the machine line and the images. Raises a ValueError when there are no
    records (naming ``run_function``, the call that makes them).
    """
    if not records:
        raise ValueError(
            f"no cell records under {Path(output_dir) / 'cells'}: run {run_function} first"
        )
    report = Path(report_dir or output_dir)
    report.mkdir(parents=True, exist_ok=True)
    run = Path(output_dir, "run.json")
    meta = json.loads(run.read_text())["runs"][-1] if run.exists() else {}
    names = plots(report)
    paths: dict = {"plots": [report / p for p in names]}
    for fmt in FORMATS:
        parts = [machine_line(meta), *body(fmt)]
        for p in names:
            parts.append(f"![{p}]({p})\n" if fmt == "md" else f".. image:: {rst_image_prefix}{p}\n")
        path = report / f"report.{fmt}"
        path.write_text("\n".join(parts))
        paths[fmt] = path
    return paths
