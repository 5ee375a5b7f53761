"""What the benchmark suites share: machine and version records, peak memory, table output."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    # ru_maxrss is KiB on Linux, bytes on macOS; it is the process-wide peak so far.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def machine() -> dict:
    """Platform, CPU count, torch build and threads, and the GPU's name when there is one."""
    import torch

    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def versions() -> dict:
    """Versions of skdistill and the libraries its numbers depend on."""
    import numpy as np
    import sklearn
    import skorch
    import sktime
    import torch

    from skdistill import __version__

    return {
        "skdistill": __version__,
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "sktime": sktime.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }


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


def with_overrides(config, **changes):
    """A copy of a frozen config dataclass with fields replaced (lists become tuples)."""
    return replace(
        config, **{k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()}
    )


def append_run(output_dir: Path, config) -> None:
    """Add this invocation's configuration, versions and machine to ``output_dir/run.json``
    (several invocations may fill one folder; each is kept)."""
    run_path = Path(output_dir) / "run.json"
    entry = {"config": asdict(config), "versions": versions(), "machine": machine()}
    # Several processes may fill one folder (disjoint cells): lock the read-modify-write.
    with open(Path(output_dir) / ".run.lock", "w") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - no flock on this platform
            pass
        runs = json.loads(run_path.read_text())["runs"] if run_path.exists() else []
        runs.append(entry)
        run_path.write_text(json.dumps({"runs": runs}, indent=2, default=str))


def load_records(output_dir) -> list[dict]:
    """Every cell record under ``output_dir/cells``."""
    return [json.loads(p.read_text()) for p in sorted(Path(output_dir, "cells").glob("*.json"))]
