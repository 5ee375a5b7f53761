"""Benchmark suites that reproduce the papers' tables with this package's estimators.

:func:`run_ltsf` / :func:`render_ltsf_report` (TimeDistill, long-term forecasting) and
:func:`run_vision` / :func:`render_vision_report` (SFKD and the heterogeneous baselines, image
classification) are also ``skdistill benchmark ltsf`` and ``skdistill benchmark vision`` on the
command line. Each suite is a configuration and a grid of cells run by one shared engine
(``_engine``: a cached JSON record per cell, resumable), and a report module apart
(``ltsf_report``, ``vision_report``) that reads the records and judges them against the goals
in :mod:`skdistill.benchmarks.goals`.
"""

from skdistill.benchmarks.ltsf import (
    LTSF_METHODS,
    LTSF_PROFILES,
    LTSFConfig,
    load_ltsf_records,
    run_ltsf,
)
from skdistill.benchmarks.ltsf_report import render_ltsf_report
from skdistill.benchmarks.vision import (
    VISION_ARCHS,
    VISION_METHODS,
    VISION_PROFILES,
    VisionConfig,
    load_vision_records,
    load_vision_split,
    run_vision,
)
from skdistill.benchmarks.vision_report import render_vision_report

__all__ = [
    "LTSF_METHODS",
    "LTSF_PROFILES",
    "LTSFConfig",
    "VISION_ARCHS",
    "VISION_METHODS",
    "VISION_PROFILES",
    "VisionConfig",
    "load_ltsf_records",
    "load_vision_records",
    "load_vision_split",
    "render_ltsf_report",
    "render_vision_report",
    "run_ltsf",
    "run_vision",
]
