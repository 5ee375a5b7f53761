"""Benchmark suites that reproduce the papers' tables with this package's estimators.

:func:`run_ltsf` / :func:`render_ltsf_report` (TimeDistill, long-term forecasting) and
:func:`run_vision` / :func:`render_vision_report` (SFKD and the heterogeneous baselines, image
classification) are also ``skdistill benchmark ltsf`` and ``skdistill benchmark vision`` on the
command line.
"""

from skdistill.benchmarks.ltsf import (
    LTSF_METHODS,
    LTSF_PROFILES,
    LTSFConfig,
    load_ltsf_records,
    render_ltsf_report,
    run_ltsf,
)
from skdistill.benchmarks.vision import (
    VISION_ARCHS,
    VISION_METHODS,
    VISION_PROFILES,
    VisionConfig,
    load_vision_records,
    load_vision_split,
    render_vision_report,
    run_vision,
)

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
