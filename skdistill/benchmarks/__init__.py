"""Benchmark suites that reproduce the papers' tables with this package's estimators.

:func:`run_ltsf` / :func:`render_ltsf_report` (TimeDistill, long-term forecasting) are also
``skdistill benchmark ltsf`` on the command line.
"""

from skdistill.benchmarks.ltsf import (
    LTSF_METHODS,
    LTSF_PROFILES,
    LTSFConfig,
    load_ltsf_records,
    render_ltsf_report,
    run_ltsf,
)

__all__ = [
    "LTSF_METHODS",
    "LTSF_PROFILES",
    "LTSFConfig",
    "load_ltsf_records",
    "render_ltsf_report",
    "run_ltsf",
]
