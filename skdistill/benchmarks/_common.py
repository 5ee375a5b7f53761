"""What the benchmark suites and scripts share: machine and version records, peak memory,
configuration checks, test windows and timing."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    # ru_maxrss is KiB on Linux, bytes on macOS; it is the process-wide peak so far.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


class AnonymousPeak:
    """Peak of the process's anonymous resident memory (``RssAnon``), sampled every 20 ms.

    ``ru_maxrss`` also counts the pages of memory-mapped files the process touched (which the
    kernel reclaims under pressure); the anonymous part is what the process itself holds. A context manager; ``.mb`` is the peak in MiB (None off Linux).
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval, self.mb = interval, None
        self._stop = None

    @staticmethod
    def current_mb() -> float | None:
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            now = self.current_mb()
            if now is not None:
                self.mb = max(self.mb or 0.0, now)

    def __enter__(self) -> AnonymousPeak:
        import threading

        self.mb = self.current_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


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


def with_overrides(config, **changes):
    """A copy of a frozen config dataclass with fields replaced (lists become tuples)."""
    return replace(
        config, **{k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()}
    )


@contextmanager
def exclusive(lock_path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on the file ``lock_path`` (waiting for any other holder, in this
    process or another), and remove the file on the way out, so that none is left behind.

    Removing it keeps the lock's guarantee: a process that opened the file before it was
    removed finds, once it holds its lock, that the path no longer names that file, and
    starts again on the current one. Without ``fcntl`` (Windows) nothing is locked.
    """
    lock_path = Path(lock_path)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no flock on this platform
        fcntl = None
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is None:  # pragma: no cover
            break
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.path.samestat(os.fstat(fd), os.stat(lock_path))
            except FileNotFoundError:  # removed by the holder this one waited for
                current = False
        except BaseException:
            os.close(fd)
            raise
        if current:
            break
        os.close(fd)
    try:
        yield
    finally:
        if fcntl is None:  # pragma: no cover - an open file cannot be removed there
            os.close(fd)
            with suppress(OSError):
                lock_path.unlink()
        else:
            # Removed while still locked, then released: see the docstring.
            with suppress(FileNotFoundError):
                lock_path.unlink()
            os.close(fd)


def append_run(output_dir: Path, config) -> None:
    """Add this invocation's configuration, versions and machine to ``output_dir/run.json``
    (several invocations may fill one folder; each is kept)."""
    run_path = Path(output_dir) / "run.json"
    entry = {"config": asdict(config), "versions": versions(), "machine": machine()}
    # Several processes may fill one folder (disjoint cells): lock the read-modify-write.
    with exclusive(Path(output_dir) / ".run.lock"):
        runs = json.loads(run_path.read_text())["runs"] if run_path.exists() else []
        runs.append(entry)
        run_path.write_text(json.dumps({"runs": runs}, indent=2, default=str))


def load_records(output_dir) -> list[dict]:
    """Every cell record under ``output_dir/cells``."""
    return [json.loads(p.read_text()) for p in sorted(Path(output_dir, "cells").glob("*.json"))]


# --- configuration checks ----------------------------------------------------------------
def check_known(what: str, values: Iterable, choices: Iterable) -> None:
    """Raise a ValueError naming the ``values`` that are not among ``choices``."""
    unknown = set(values) - set(choices)
    if unknown:
        raise ValueError(f"{what}: unknown {sorted(unknown)}; choose from {list(choices)}")


def check_positive_int(config, names: Iterable[str], optional: bool = False) -> None:
    """Raise a ValueError unless each field of ``config`` in ``names`` is an int >= 1 (or None
    where ``optional``)."""
    for name in names:
        value = getattr(config, name)
        if optional and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            allowed = "a positive int or None" if optional else "a positive int"
            raise ValueError(f"{name} must be {allowed}; got {value!r}")


def check_nonempty(config, names: Iterable[str]) -> None:
    """Raise a ValueError if any of the sequences ``names`` of ``config`` is empty."""
    names = list(names)
    if not all(getattr(config, name) for name in names):
        listed = ", ".join(names[:-1]) + " and " + names[-1]
        raise ValueError(f"{listed} must each name at least one")


# --- measurement -------------------------------------------------------------------------
def first_windows(values: np.ndarray, start: int, window_length: int, n: int = 32) -> np.ndarray:
    """The ``n`` stride-1 look-back windows of ``values`` starting at row ``start``."""
    return np.stack([values[start + i : start + i + window_length] for i in range(n)])


def median_ms(
    fn: Callable[[], object],
    repeats: int,
    warmup: int = 2,
    sync: Callable[[], object] | None = None,
) -> float:
    """Median milliseconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones;
    ``sync`` (e.g. ``torch.cuda.synchronize``) runs before and after each call."""
    times = []
    for i in range(warmup + repeats):
        if sync is not None:
            sync()
        t0 = time.perf_counter()
        fn()
        if sync is not None:
            sync()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def write_record(path: str | os.PathLike, benchmark: str, **fields) -> dict:
    """Write a script's JSON record (its fields, then the machine and versions) to ``path``;
    return it."""
    record = {"benchmark": benchmark, **fields, "machine": machine(), "versions": versions()}
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, default=float))
    print(f"record: {out}")
    return record
