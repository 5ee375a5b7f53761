"""The teacher fitted once per training set: ``memory`` of every distilling estimator.

A distiller given an unfitted teacher fits a clone of it inside ``fit``. Under a grid search
over the loss weights every candidate and fold does that again, although only the folds'
training sets (and the final refit's) differ: the teacher, the expensive part, is refitted
candidates x folds times. ``memory`` follows ``Pipeline(memory=...)``: the fitted clone is
cached by joblib, keyed by everything the fit depends on, so that the same teacher on the same
data is fitted once, in any process that shares the folder.

The key (what joblib hashes): the teacher's clone with its parameters (the distiller's seed
already set where the teacher had ``random_state=None``), the training data (for pandas
objects: their values, labels, names and frequency), the fit's
keyword arguments (the horizon), and the versions of skdistill, torch, scikit-learn and
sktime. The distiller's ``verbose`` is not part of it. Any change to one of them is a miss; the
folder's contents are otherwise kept until the user clears them (``memory.clear()`` or
deleting the folder), as with scikit-learn's pipelines.

The forecasters hand the same ``Memory`` to the training layer, which remembers the fitted
teacher's pass over the training windows and its validation loss, keyed by their content
(see :mod:`skdistill.training.teacher_memory`).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_memory

from skdistill.training.progress import quiet_clone, role

__all__ = ["check_teacher_memory", "fit_teacher"]


def check_teacher_memory(memory: Any):
    """``memory`` as a joblib ``Memory`` (None: one that caches nothing), or a ValueError
    that names the parameter."""
    try:
        return check_memory(memory)
    except ValueError as exc:
        raise ValueError(
            "memory must be None, a folder path (str or os.PathLike) or a joblib.Memory; got "
            f"{type(memory).__name__}: {memory!r}"
        ) from exc


def _versions() -> tuple:
    out = []
    for name in ("skdistill", "torch", "scikit-learn", "sktime"):
        try:
            out.append((name, version(name)))
        except PackageNotFoundError:
            out.append((name, None))
    return tuple(out)


def _index_key(index: pd.Index) -> tuple:
    return (type(index).__name__, np.asarray(index), index.names, getattr(index, "freqstr", None))


def _data_key(obj: Any) -> Any:
    """What of ``obj`` the key hashes: for pandas objects their values, labels, names and
    frequency. Their pickles, which joblib would hash, also carry internal state that sktime's
    own processing of the same frame changes (seen: a search over a frame changed the hash
    of its DatetimeIndex, equal by value), and a cache missed on equal data is no cache."""
    if isinstance(obj, pd.DataFrame):
        return ("frame", obj.to_numpy(), _index_key(obj.index), _index_key(obj.columns))
    if isinstance(obj, pd.Series):
        return ("series", obj.to_numpy(), _index_key(obj.index), obj.name)
    if isinstance(obj, pd.Index):
        return _index_key(obj)
    return obj


def _fit_clone(teacher, data: tuple, fit_kwargs: dict, versions: tuple, verbose: int, data_key):
    """Fit ``teacher`` (already a clone) on ``data``; the function joblib caches (keyed by
    ``data_key`` in place of ``data``)."""
    teacher = quiet_clone(teacher, verbose)
    with role("teacher"):  # its progress bars read "teacher ..."
        teacher.fit(*data, **fit_kwargs)
    return teacher


def fit_teacher(teacher, *data, memory=None, verbose: int = 0, **fit_kwargs):
    """``teacher`` (an unfitted clone) fitted on ``data``, through ``memory``.

    Parameters
    ----------
    teacher : estimator
        A clone the caller owns; it is fitted in place on a miss.
    *data
        Positional arguments of ``teacher.fit``.
    memory : None, str, os.PathLike or joblib.Memory
        The distiller's ``memory``; None fits without caching.
    verbose : int
        The distiller's verbosity (0 silences a teacher with a ``verbose`` parameter); not
        part of the cache key.
    **fit_kwargs
        Keyword arguments of ``teacher.fit`` (part of the key).

    Returns
    -------
    estimator
        The fitted teacher: ``teacher`` itself on a miss, or the copy joblib loaded on a hit.
    """
    cached = check_teacher_memory(memory).cache(_fit_clone, ignore=["verbose", "data"])
    key = tuple(_data_key(d) for d in data)
    return cached(teacher, data, fit_kwargs, _versions(), verbose, key)
