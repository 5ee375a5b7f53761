"""The cell engine the benchmark suites share: profile -> cells -> one cached JSON record each.

A suite subclasses :class:`CellRunner` with its grid (:meth:`CellRunner.cells`), how one cell
is named, computed and summarised, and how a dataset is loaded. :meth:`CellRunner.run` then
appends the invocation to ``run.json`` (locked, so several processes may fill one folder) and
walks the cells: a cell whose record exists is read back, any other is computed and written
at once, so an interrupted run resumes where it stopped. :func:`run_cells` is the loop alone,
for scripts with a grid of their own.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from skdistill.benchmarks._common import append_run


def resolve_config(config, profiles: Mapping, config_class: type, check: Callable) -> object:
    """The configuration ``config`` names (a key of ``profiles``) or is, validated by ``check``."""
    kind = config_class.__name__
    if isinstance(config, str):
        if config not in profiles:
            raise ValueError(
                f"config: unknown profile {config!r}; use one of {list(profiles)} or a {kind}"
            )
        config = profiles[config]
    if not isinstance(config, config_class):
        raise TypeError(f"config must be a {kind} or a profile name; got {type(config)}")
    check(config)
    return config


def run_cells(
    cells: Sequence,
    folder: Path,
    name: Callable[[object], str],
    label: Callable[[object], str],
    compute: Callable[[object], dict],
    summary: Callable[[dict], str],
    log: Callable[[str], None],
) -> list[dict]:
    """Read or compute the record of every cell, each in ``folder/<name(cell)>.json``.

    A computed record gets its ``wall_s`` and is written before the next cell starts; one
    progress line per cell goes to ``log`` ("recorded" for a record read back).
    """
    records = []
    for i, cell in enumerate(cells, 1):
        path = Path(folder) / f"{name(cell)}.json"
        prefix = f"[{i}/{len(cells)}] {label(cell)}"
        if path.exists():
            records.append(json.loads(path.read_text()))
            log(f"{prefix}: recorded")
            continue
        t0 = time.perf_counter()
        rec = compute(cell)
        rec["wall_s"] = time.perf_counter() - t0
        path.write_text(json.dumps(rec, indent=2))
        records.append(rec)
        log(f"{prefix}: {summary(rec)}")
    return records


class CellRunner:
    """Fits and records the cells of one configuration under ``output_dir``.

    Subclasses define :meth:`cells`, :meth:`cell_name`, :meth:`cell_label`, :meth:`compute`,
    :meth:`summary` and :meth:`load`; the configuration needs a ``threads`` field.
    """

    def __init__(
        self, config, output_dir: str | os.PathLike, data_home, log: Callable[[str], None]
    ) -> None:
        self.config, self.out, self.data_home, self.log = config, Path(output_dir), data_home, log
        self._data: dict = {}

    # --- what a suite defines ----------------------------------------------------------
    def cells(self) -> Iterable[tuple]:
        raise NotImplementedError

    def cell_name(self, cell: tuple) -> str:
        raise NotImplementedError

    def cell_label(self, cell: tuple) -> str:
        raise NotImplementedError

    def compute(self, cell: tuple) -> dict:
        raise NotImplementedError

    def summary(self, rec: dict) -> str:
        raise NotImplementedError

    def load(self, dataset: str):
        raise NotImplementedError

    # --- shared ------------------------------------------------------------------------
    def data(self, dataset: str):
        """``load(dataset)``, loaded once per runner."""
        if dataset not in self._data:
            self._data[dataset] = self.load(dataset)
        return self._data[dataset]

    def teacher_path(self, stem: str) -> Path:
        """Where the teacher ``stem`` is kept, without suffix: ``<path>.pt`` (weights only) and
        ``<path>.json`` (see :mod:`skdistill.benchmarks._artifacts`)."""
        return self.out / "teachers" / stem

    def run(self) -> list[dict]:
        """Set the threads, record the invocation and read or compute every cell."""
        if self.config.threads is not None:
            import torch

            torch.set_num_threads(self.config.threads)
        (self.out / "cells").mkdir(parents=True, exist_ok=True)
        (self.out / "teachers").mkdir(parents=True, exist_ok=True)
        old = sorted(p.name for p in (self.out / "teachers").glob("*.pkl"))
        if old:
            # Teachers were pickled before; a pickle can run code, so these are never read.
            self.log(
                f"{self.out / 'teachers'}: ignoring {len(old)} old pickled teacher file(s) "
                f"({', '.join(old)}); they are never loaded (teachers are refitted and kept "
                "as weights). Delete them."
            )
        append_run(self.out, self.config)
        return run_cells(
            list(dict.fromkeys(self.cells())),
            self.out / "cells",
            self.cell_name,
            self.cell_label,
            self.compute,
            self.summary,
            self.log,
        )
