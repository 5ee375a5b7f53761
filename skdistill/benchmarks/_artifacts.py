"""Fitted teachers kept as weights and rebuilt from this package's code, never unpickled.

A pickle runs whatever code its bytes name, so a teacher cache that is unpickled lets anyone who
can write to the output folder run code in the benchmark's process. A teacher is therefore
stored as two files side by side:

- ``<stem>.pt``: a flat ``{name: tensor}`` dict written by :func:`torch.save` and read back
  with ``torch.load(..., weights_only=True)``, whose restricted unpickler accepts tensors and
  containers of primitives only and refuses any other object before it is built;
- ``<stem>.json``: what the weights belong to (the *key*: class, parameters, data shape) and
  what the benchmark record needs (fit seconds, training history, the teacher's record).

Loading builds the object with our own constructors from what the caller asks for, then loads
the weights into it. A file that is missing, damaged, not a weights-only file (a pickle
payload, for instance) or saved for other settings is a stale cache: it is reported through
``log`` and fitted again (and overwritten), never executed. Old ``.pkl`` teachers are never
read: their names are not looked at.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

#: Version of the two-file layout; a file of another version is a stale cache.
FORMAT = 1
WEIGHTS_SUFFIX = ".pt"
META_SUFFIX = ".json"
# Fitted attributes saved in their own way (the network's weights, the training history).
_NET, _HISTORY = "net_", "history_"
# Parameters the rebuilding fit overrides: one epoch, no validation, quiet, and a fixed seed
# so that loading never draws from a global random generator.
_QUICK = {"max_epochs": 1, "validation_size": None, "verbose": 0, "random_state": 0}


def artifact_paths(stem: str | os.PathLike) -> tuple[Path, Path]:
    """The weights file and the JSON description of the teacher saved under ``stem``."""
    stem = Path(stem)
    return stem.with_name(stem.name + WEIGHTS_SUFFIX), stem.with_name(stem.name + META_SUFFIX)


def _json_default(value):
    # numpy scalars and arrays appear in training histories; anything else has no JSON form.
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} has no JSON form")


def _jsonable(value):
    """``value`` as it reads back from JSON (tuples become lists), to compare keys."""
    return json.loads(json.dumps(value, default=_json_default))


def _is_plain(value) -> bool:
    """Whether ``value`` survives a JSON round trip with its exact types."""
    if value is None or type(value) in (bool, int, float, str):
        return True
    if type(value) is list:
        return all(_is_plain(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _is_plain(v) for k, v in value.items())
    return False


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    # A temporary name, then one rename: an interrupted write never leaves a half file that
    # a later run would read.
    tmp = path.with_name(f".{path.name}.part-{os.getpid()}")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_weights(stem: str | os.PathLike, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """Write ``tensors`` (plain CPU tensors) and ``meta`` (JSON) under ``stem``.

    The JSON file is written last: it marks the pair as complete.

    Parameters
    ----------
    stem : path
        The files are ``<stem>.pt`` and ``<stem>.json``.
    tensors : dict of str to torch.Tensor
        Flat; no other object may appear (the reader refuses it).
    meta : dict
        JSON-serialisable description; ``"format"`` is added.
    """
    weights, meta_path = artifact_paths(stem)
    weights.parent.mkdir(parents=True, exist_ok=True)
    plain = {name: t.detach().cpu().contiguous().clone() for name, t in tensors.items()}
    text = json.dumps({"format": FORMAT, **meta}, default=_json_default)
    _write_atomic(weights, lambda p: torch.save(plain, p))
    _write_atomic(meta_path, lambda p: p.write_text(text, encoding="utf-8"))


def read_weights(
    stem: str | os.PathLike, key: dict, log: Callable[[str], None]
) -> tuple[dict[str, torch.Tensor], dict] | None:
    """``(tensors, meta)`` saved under ``stem`` for ``key``, or None for "fit it again".

    None, with a line to ``log`` saying why, when a file is missing, damaged, not a
    weights-only file, of another format or saved for another key; None silently when
    nothing was saved. No code from the files is run in any case.

    Parameters
    ----------
    stem : path
        As for :func:`save_weights`.
    key : dict
        What the weights must have been saved for (compared after a JSON round trip).
    log : callable
        Receives the reason a file is not used.

    Returns
    -------
    (dict, dict) or None
    """
    weights, meta_path = artifact_paths(stem)
    if not weights.exists() and not meta_path.exists():
        return None

    def stale(reason: str) -> None:
        log(f"{weights}: {reason}; not used (nothing in it was run), fitting it again")

    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return stale(f"its description {meta_path.name} is missing or unreadable ({exc})")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return stale(f"{meta_path.name} is not a format-{FORMAT} teacher description")
    if meta.get("key") != _jsonable(key):
        return stale("it was saved for other settings")
    if not weights.is_file():
        return stale("the weights file is missing")
    try:
        tensors = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:
        # Whatever the reason (the restricted unpickler refused an object, the file is
        # damaged or missing), the file cannot be used; the refusal happened before any
        # object was built, so a payload in it did not run.
        return stale(f"not a weights-only file ({type(exc).__name__}: {exc})")
    if not (
        isinstance(tensors, dict)
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in tensors.items())
    ):
        return stale("it does not hold a flat dict of tensors")
    return tensors, meta


def _module_state(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix("module."): v for k, v in tensors.items() if k.startswith("module.")}


# --------------------------------------------------------------------------- torch modules
def load_or_fit_module(
    stem: str | os.PathLike,
    key: dict,
    build: Callable[[], torch.nn.Module],
    fit: Callable[[], tuple[torch.nn.Module, dict]],
    log: Callable[[str], None],
) -> tuple[torch.nn.Module, dict]:
    """A trained torch module and its record: ``fit()`` once, then rebuilt from its weights.

    Parameters
    ----------
    stem : path
        Where the weights and the record are kept (``<stem>.pt``, ``<stem>.json``).
    key : dict
        Everything ``build`` depends on (a saved module with another key is fitted again).
    build : callable
        Returns the untrained module of the right architecture (our own constructor).
    fit : callable
        Returns ``(trained module, JSON-serialisable record)``.
    log : callable
        Receives a line when a saved file is not used.

    Returns
    -------
    (torch.nn.Module, dict)
        A rebuilt module is on the CPU, in eval mode.
    """
    found = read_weights(stem, key, log)
    if found is not None:
        tensors, meta = found
        # Building draws initial weights from torch's global generator; they are overwritten
        # at once, and the caller's random stream is left as it was.
        with torch.random.fork_rng(devices=[]):
            module = build()
        try:
            module.load_state_dict(_module_state(tensors))
        except RuntimeError as exc:  # other shapes or names: not this architecture
            log(f"{stem}: the saved weights do not fit the module ({exc}); fitting it again")
        else:
            if isinstance(meta.get("record"), dict):
                return module.eval(), meta["record"]
            log(f"{stem}: the saved record is missing; fitting it again")
    module, record = fit()
    state = {f"module.{k}": v for k, v in module.state_dict().items()}
    save_weights(stem, state, {"key": key, "record": record})
    return module, record


# --------------------------------------------------------------------------- deep forecasters
def forecaster_key(cls: type, params: dict, y, fh: Sequence[int]) -> dict:
    """What a saved forecaster must match: its class, parameters, columns, rows and steps."""
    return {
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "params": _jsonable({k: params[k] for k in sorted(params)}),
        "columns": [str(c) for c in y.columns],
        "rows": len(y),
        "fh": [int(s) for s in fh],
    }


def _fitted_names(model, reference) -> list[str]:
    """Attributes that fitting added: those of ``model`` that the unfitted ``reference`` lacks."""
    return sorted(set(vars(model)) - set(vars(reference)))


def save_forecaster(stem: str | os.PathLike, model, key: dict, fit_s: float) -> None:
    """Save a fitted deep forecaster of this package as weights and JSON.

    The network's ``state_dict``, every fitted numeric array or numpy scalar (as tensors), every
    fitted attribute with an exact JSON form, and the training history. The remaining fitted
    state (sktime's cutoff and metadata, the last index) depends only on the last rows, the
    columns and ``fh``, and is rebuilt by :func:`rebuild_forecaster`.

    Parameters
    ----------
    stem : path
        The files are ``<stem>.pt`` and ``<stem>.json``.
    model : BaseDeepForecaster
        Fitted.
    key : dict
        From :func:`forecaster_key`.
    fit_s : float
        Seconds the fit took (returned again on load).
    """
    reference = type(model)(**model.get_params(deep=False))
    fitted = _fitted_names(model, reference)
    tensors = {f"module.{k}": v for k, v in getattr(model, _NET).module_.state_dict().items()}
    plain, scalars = {}, []
    for name in fitted:
        if name in (_NET, _HISTORY):
            continue
        value = getattr(model, name)
        if isinstance(value, np.ndarray | np.generic) and value.dtype.kind in "biuf":
            try:
                tensors[f"array.{name}"] = torch.from_numpy(np.array(value, copy=True))
            except TypeError:  # a dtype torch lacks: left to the rebuilding fit
                continue
            if isinstance(value, np.generic):
                scalars.append(name)
        elif _is_plain(value):
            plain[name] = value
    history = [dict(row) for row in getattr(model, _HISTORY)]
    meta = {
        "key": key,
        "fit_s": float(fit_s),
        "fitted": fitted,
        "plain": plain,
        "scalars": scalars,
        "history": history,
    }
    save_weights(stem, tensors, meta)


def rebuild_forecaster(cls: type, params: dict, y, fh: Sequence[int], tensors: dict, meta: dict):
    """The forecaster :func:`save_forecaster` saved, rebuilt from our code and its weights.

    ``cls(**params)`` is fitted for one epoch on the last ``window_length + horizon + 1`` rows
    of ``y`` (two windows: cheap for any teacher), which sets sktime's fitted state (cutoff,
    horizon, column metadata) exactly as the full fit did, since those depend only on the last
    rows, the columns and ``fh``. The saved arrays, plain attributes, weights and history
    then replace what that short fit learnt, so predictions equal the original's exactly.

    Parameters
    ----------
    cls : type
        A :class:`~skdistill.forecasting._base.BaseDeepForecaster` subclass.
    params : dict
        Its constructor parameters, as for the original fit.
    y : pandas.DataFrame
        The series the original was fitted on.
    fh : sequence of int
        Its relative horizon steps.
    tensors, meta : dict
        From :func:`read_weights`.

    Returns
    -------
    BaseDeepForecaster or None
        None when the saved state does not match what this version of the class fits (a
        stale cache: fit it again).
    """
    from skorch.history import History

    reference = cls(**params)
    L, H = int(reference.window_length), int(max(fh))
    model = cls(**{**params, **_QUICK})
    model.fit(y.iloc[-(L + H + 1) :], fh=fh)
    # Back to the real parameters by attribute: set_params would reset the fitted state.
    for name in _QUICK:
        setattr(model, name, getattr(reference, name))
    fitted = _fitted_names(model, reference)
    arrays = {k.removeprefix("array."): v for k, v in tensors.items() if k.startswith("array.")}
    plain, scalars, history = meta.get("plain"), meta.get("scalars"), meta.get("history")
    if (
        meta.get("fitted") != fitted
        or not isinstance(plain, dict)
        or not isinstance(scalars, list)
        or not isinstance(history, list)
        or not all(isinstance(row, dict) for row in history)
        # Only attributes this class's fit sets may be written, and only with data.
        or not set(plain) | set(arrays) <= set(fitted) - {_NET, _HISTORY}
        or not set(scalars) <= set(arrays)
    ):
        return None
    for name, value in plain.items():
        setattr(model, name, value)
    for name, tensor in arrays.items():
        array = tensor.numpy().copy()
        setattr(model, name, array[()] if name in scalars else array)
    net = getattr(model, _NET)
    try:
        net.module_.load_state_dict(_module_state(tensors))
    except RuntimeError:  # other shapes or names: not this architecture
        return None
    net.module_.eval()
    net.history = History(history)
    setattr(model, _HISTORY, net.history)
    return model


def load_or_fit_forecaster(
    stem: str | os.PathLike,
    cls: type,
    params: dict,
    y,
    fh: Sequence[int],
    log: Callable[[str], None],
) -> tuple[object, float]:
    """``(cls(**params) fitted on y for fh, fit seconds)``: fitted once, then rebuilt.

    Parameters
    ----------
    stem : path
        Where the teacher is kept (``<stem>.pt``, ``<stem>.json``).
    cls : type
        A deep forecaster class of this package.
    params : dict
        Its constructor parameters.
    y : pandas.DataFrame
        The series to fit on (a single series).
    fh : sequence of int
        Relative horizon steps.
    log : callable
        Receives a line when a saved file is not used.

    Returns
    -------
    (BaseDeepForecaster, float)
        The fitted forecaster and the seconds its (original) fit took.
    """
    key = forecaster_key(cls, params, y, fh)
    found = read_weights(stem, key, log)
    if found is not None:
        tensors, meta = found
        model = rebuild_forecaster(cls, params, y, fh, tensors, meta)
        if model is not None and isinstance(meta.get("fit_s"), int | float):
            return model, float(meta["fit_s"])
        log(f"{stem}: the saved state does not match {cls.__name__}'s; fitting it again")
    t0 = time.perf_counter()
    model = cls(**params).fit(y, fh=fh)
    fit_s = time.perf_counter() - t0
    save_forecaster(stem, model, key, fit_s)
    return model, fit_s
