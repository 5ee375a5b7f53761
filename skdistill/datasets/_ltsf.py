"""Long-term time-series forecasting (LTSF) benchmark data and the standard split protocol."""

from __future__ import annotations

import io
import os
import re
import warnings

import numpy as np
import pandas as pd

from skdistill._validation import check_choice

from ._base import FileSpec, describe, read_bytes, resolve, verify

_ETT_URL = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/{}.csv"
_SUBDIRS = ("ltsf",)


def _ett(stem: str, sha256: str | None) -> FileSpec:
    # No download without a pinned checksum: an unverifiable file is never trusted silently.
    return FileSpec(stem, (".csv", ".csv.gz"), _SUBDIRS, sha256, _ETT_URL.format(stem))


# sha256 of the uncompressed canonical csv files.
LTSF_FILES: dict[str, FileSpec] = {
    "ETTh1": _ett("ETTh1", "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066"),
    "ETTh2": _ett("ETTh2", "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b"),
    "ETTm1": _ett("ETTm1", "6ce1759b1a18e3328421d5d75fadcb316c449fcd7cec32820c8dafda71986c9e"),
    "ETTm2": FileSpec("ETTm2", (".csv", ".csv.gz"), _SUBDIRS, None, _ETT_URL.format("ETTm2")),
    "Weather": FileSpec(
        "weather",
        (".csv", ".csv.gz"),
        _SUBDIRS,
        "34ee981d07313e51da2a50bb600072c8ae4a69cb4b0651f4cb93a069d7a2ba63",
    ),
    "Exchange": FileSpec("exchange_rate", (".csv", ".csv.gz"), _SUBDIRS),
    "ILI": FileSpec("national_illness", (".csv", ".csv.gz"), _SUBDIRS),
    "Electricity": FileSpec("electricity", (".csv", ".csv.gz"), _SUBDIRS),
    "Traffic": FileSpec("traffic", (".csv", ".csv.gz"), _SUBDIRS),
}
LTSF_NAMES: tuple[str, ...] = tuple(LTSF_FILES)

# Row boundaries (train end, validation end, test end) of the fixed ETT protocol.
_ETT_BORDERS = {"h": (8640, 11520, 14400), "m": (34560, 46080, 57600)}


def load_ltsf(
    name: str,
    data_home: str | os.PathLike | None = None,
    *,
    verify_checksum: bool = True,
    download: bool = True,
) -> pd.DataFrame:
    """Load a long-term forecasting benchmark series.

    Parameters
    ----------
    name : str
        One of "ETTh1", "ETTh2", "ETTm1", "ETTm2", "Weather", "Exchange", "ILI",
        "Electricity", "Traffic" (case-insensitive).
    data_home : str or path-like, optional
        Folder searched first for ``<file>.csv`` or ``<file>.csv.gz`` (directly or in
        ``ltsf/``). Then ``$SKDISTILL_DATA``, the copies bundled with the package
        (ETTh1, ETTh2), and the user cache. If given, it must be an existing folder
        (ValueError otherwise, instead of silently searching elsewhere).
    verify_checksum : bool, default=True
        Compare the file's content with the canonical sha256 where one is pinned
        (ETTh1, ETTh2, ETTm1, Weather); a mismatch raises ``DatasetChecksumError``.
    download : bool, default=True
        When no copy is found, download it into the user cache from the canonical
        URL (only for files with a pinned checksum, verified before use).

    Returns
    -------
    pandas.DataFrame
        One float64 column per channel in file order (the target ``OT`` last),
        indexed by a ``DatetimeIndex`` named ``date`` where the file has dates.

    Examples
    --------
    >>> from skdistill.datasets import load_ltsf
    >>> df = load_ltsf("ETTh1")
    >>> df.shape
    (17420, 7)
    >>> list(df.columns)[-1]
    'OT'
    """
    key = check_choice(name, "name", LTSF_NAMES, ignore_case=True)
    spec = LTSF_FILES[key]
    path = resolve(f"LTSF dataset {key!r}", spec, data_home, download_if_missing=download)
    content = read_bytes(path)
    if verify_checksum:
        verify(content, spec, path)
    try:
        frame = pd.read_csv(io.BytesIO(content), encoding="utf-8")
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"Could not parse {path} as a csv file: {exc}") from exc
    if "date" in frame.columns:
        frame.index = _parse_dates(frame.pop("date"), path)
    try:
        frame = frame.astype("float64")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path} has non-numeric channel values: {exc}") from exc
    return frame


def _parse_dates(column: pd.Series, path) -> pd.DatetimeIndex:
    """The ``date`` column as the index; a value that is not a date is named with its line.

    pandas alone raises deep inside its parser with neither the file nor the row.

    Parameters
    ----------
    column : pandas.Series
        The raw ``date`` column as read from the file.
    path : path-like
        The file, for the error message.

    Returns
    -------
    pandas.DatetimeIndex
        Named ``date``.

    Raises
    ------
    ValueError
        Naming the file, the column and the first value that is not a date.
    """
    try:
        return pd.DatetimeIndex(pd.to_datetime(column), name="date")
    except (ValueError, TypeError, OverflowError) as exc:
        # The same parse, now marking each unparsable cell: the first one is the culprit.
        # Its format warning repeats the first attempt's, if any: not shown twice.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            coerced = pd.to_datetime(column, errors="coerce")
        bad = np.flatnonzero(coerced.isna().to_numpy() & column.notna().to_numpy())
        fix = "every date must be in the file's one format, e.g. '2016-07-01 00:00:00'."
        if not bad.size:  # each value parses alone, not together (e.g. mixed time zones)
            raise ValueError(f"{path}: column 'date' cannot be parsed ({exc}); {fix}") from exc
        row = int(bad[0])
        raise ValueError(
            f"{path}: column 'date' holds a value that is not a date: {column.iloc[row]!r} "
            f"(data row {row}, line {row + 2} of the file). Correct or remove that row; {fix}"
        ) from exc


def ltsf_split(name: str, n_rows: int, window_length: int) -> tuple[slice, slice, slice]:
    """Row ranges of the standard LTSF protocol (Informer / Autoformer / TSLib).

    ETTh*: train ``[0, 8640)``, validation ``[8640 - L, 11520)``, test
    ``[11520 - L, 14400)``; ETTm*: the same borders times 4. Any other dataset:
    ``n_train = int(0.7 n)``, ``n_test = int(0.2 n)``, ``n_val = n - n_train - n_test``;
    train ``[0, n_train)``, validation ``[n_train - L, n_train + n_val)``, test
    ``[n - n_test - L, n)``. Validation and test start ``L`` rows early so that
    their first window has a full context.

    Parameters
    ----------
    name : str
        Dataset name (as for :func:`load_ltsf`); an unknown name uses the 0.7/0.1/0.2 rule.
    n_rows : int
        Number of rows of the series.
    window_length : int
        Look-back length ``L``.

    Returns
    -------
    (slice, slice, slice)
        Train, validation and test row ranges.

    Examples
    --------
    >>> from skdistill.datasets import ltsf_split
    >>> ltsf_split("ETTh1", 17420, 720)
    (slice(0, 8640, None), slice(7920, 11520, None), slice(10800, 14400, None))
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string; got {type(name).__name__}.")
    for value, param in ((n_rows, "n_rows"), (window_length, "window_length")):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"{param} must be an integer; got {value!r}.")
        if value <= 0:
            raise ValueError(f"{param} must be positive; got {value}.")
    n_rows, window_length = int(n_rows), int(window_length)
    match = re.fullmatch(r"ett([hm])[12]", name.lower())
    if match:
        train_end, val_end, test_end = _ETT_BORDERS[match.group(1)]
        if n_rows < test_end:
            raise ValueError(
                f"{name} protocol needs at least {test_end} rows (test ends at row {test_end}); "
                f"n_rows={n_rows}."
            )
    else:
        n_train = int(0.7 * n_rows)
        n_test = int(0.2 * n_rows)
        n_val = n_rows - n_train - n_test
        train_end, val_end, test_end = n_train, n_train + n_val, n_rows
    if window_length >= train_end:
        raise ValueError(
            f"window_length={window_length} must be smaller than the {train_end} training rows of "
            f"{name} with n_rows={n_rows}."
        )
    return (
        slice(0, train_end),
        slice(train_end - window_length, val_end),
        slice(val_end - window_length, test_end),
    )


def ltsf_status(data_home=None) -> list[dict]:
    """Where each LTSF dataset is found (used by ``skdistill data``)."""
    return describe(LTSF_FILES.items(), data_home)
