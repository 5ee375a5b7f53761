"""Peak memory of a global fit on a panel against one series of the same total length.

Run from the repository root::

    python benchmarks/panel_memory.py           # ETTh1 + ETTh2: 14 series, 243,880 rows in all
    python benchmarks/panel_memory.py --quick   # smoke run: 2,000 rows per series

Both cases distil a small iTransformer teacher (fitted inside ``fit``, one epoch) into the
DMLP student (hidden 512, one epoch) at L = 336, H = 96, both distillation levels, with the
default teacher cache (RAM within 512 MB, else a file read by rows):

* ``panel``: the 14 channels of ETTh1 and ETTh2 as 14 univariate series (a ``pd-multiindex``
  panel): one global teacher and one global student.
* ``single``: the same 14 series laid end to end as one univariate series (a RangeIndex).

A global fit keeps the series once, laid end to end, and cuts its windows lazily within each
series, so its memory should be the single series' (a few windows fewer: none crosses two
series). Each case runs in a child process of its own; reported are the child's peak resident
memory (``ru_maxrss``) and its peak anonymous memory (sampled ``RssAnon``), and their ratio.

This is a script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd

L, H = 336, 96


def _data(case: str, rows: int | None) -> pd.DataFrame:
    from skdistill.datasets import load_ltsf

    parts = {}
    for name in ("ETTh1", "ETTh2"):
        frame = load_ltsf(name).iloc[:rows].reset_index(drop=True)
        for column in frame.columns:
            parts[f"{name}/{column}"] = frame[[column]].set_axis(["value"], axis=1)
    if case == "panel":
        return pd.concat(parts, names=["series", "time"])
    return pd.concat(parts.values(), ignore_index=True)


def child(case: str, rows: int | None) -> None:
    """Fit one case and print its record as JSON (the last line of stdout)."""
    import torch

    from skdistill.benchmarks._common import AnonymousPeak, peak_rss_mb
    from skdistill.forecasting import DistilledMLPForecaster, ITransformerForecaster

    torch.set_num_threads(1)
    y = _data(case, rows)
    teacher = ITransformerForecaster(
        window_length=L, d_model=64, d_ff=64, max_epochs=1, batch_size=256, random_state=0
    )
    student = DistilledMLPForecaster(
        teacher,
        window_length=L,
        alpha=1.0,
        beta=1.0,
        max_epochs=1,
        batch_size=256,
        random_state=0,
    )
    start = time.perf_counter()
    with AnonymousPeak() as anon:
        student.fit(y, fh=np.arange(1, H + 1))
    record = {
        "case": case,
        "rows": int(len(y)),
        "series": 1 if student.series_keys_ is None else len(student.series_keys_),
        "fit_s": round(time.perf_counter() - start, 1),
        "cache": student.teacher_cache_,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_anon_mb": None if anon.mb is None else round(anon.mb, 1),
    }
    print(json.dumps(record))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 rows per series")
    parser.add_argument("--child", choices=("panel", "single"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rows = 2000 if args.quick else None
    if args.child:
        child(args.child, rows)
        return 0
    records = {}
    for case in ("single", "panel"):
        command = [sys.executable, __file__, "--child", case] + (["--quick"] if args.quick else [])
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        records[case] = json.loads(out.strip().splitlines()[-1])
        print(records[case], flush=True)
    for key in ("peak_rss_mb", "peak_anon_mb"):
        single, panel = records["single"][key], records["panel"][key]
        if single and panel:
            print(f"{key}: panel / single = {panel / single:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
