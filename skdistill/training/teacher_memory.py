"""The teacher's outputs remembered across fits: the training layer's side of ``memory``.

Under a grid search over the loss weights, every candidate of a fold distils from the same
fitted teacher (``memory`` caches the fit itself, see :mod:`skdistill._memory`) over the same
training windows, so the teacher's pass over those windows, and over the validation windows
for its validation score, gives the same numbers every time. With a ``joblib.Memory`` that has
a folder, :func:`remembered_pass` computes them once and loads them afterwards, in any process that
shares the folder.

The key is content, never identity (pickles of torch modules differ between processes and
copies, so joblib's own hash of the module would always miss): the teacher module's class,
structure (its ``repr``), every parameter and buffer, and the plain settings of each
submodule (ints, floats, strings: horizon, look-back, feature path); the windows' arrays and
sizes; what else the pass depends on (how many windows, features or not, the stored dtype,
device type and precision); and the versions of skdistill and torch. A change to any of them
is a miss. Only caches kept in RAM are remembered (a cache above the RAM budget lives in
files of one fit and is recomputed: loading it whole would break the budget).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from skdistill.losses.base import TeacherOutputs

__all__ = [
    "dataset_key",
    "from_arrays",
    "is_remembering",
    "module_key",
    "remembered_pass",
    "tensor_key",
    "to_arrays",
]

_PLAIN = (bool, int, float, str, type(None))


def _array(t: torch.Tensor) -> np.ndarray:
    """The tensor's values as numpy (bfloat16, which numpy has not, by its raw bits)."""
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy()
    return t.numpy()


def tensor_key(t: torch.Tensor | None) -> tuple | None:
    """A tensor (or None) as hashable content."""
    return None if t is None else (str(t.dtype), _array(t))


def module_key(module: nn.Module) -> tuple:
    """What a module's outputs depend on, as hashable content (see the module docstring)."""
    settings = []
    for name, sub in module.named_modules():
        plain = sorted(
            (k, v)
            for k, v in vars(sub).items()
            # "training" is left out: the pass runs in eval mode whatever the flag was.
            if not k.startswith("_") and k != "training" and isinstance(v, _PLAIN)
        )
        settings.append((name, type(sub).__qualname__, plain))
    tensors = [(n, str(t.dtype), _array(t)) for n, t in module.named_parameters()]
    tensors += [(n, str(t.dtype), _array(t)) for n, t in module.named_buffers()]
    return (repr(module), settings, tensors)


def dataset_key(data) -> tuple:
    """The windows' content: every array and plain attribute of the dataset (its teacher
    outputs, which are what is being computed, left out)."""
    out = [type(data).__qualname__]
    for k, v in sorted(vars(data).items()):
        if k == "teacher" or k.startswith("_"):
            continue
        if isinstance(v, torch.Tensor):
            out.append((k, str(v.dtype), _array(v)))
        elif isinstance(v, (np.ndarray, *_PLAIN)):
            out.append((k, v))
    return tuple(out)


def _versions() -> tuple:
    from skdistill import __version__

    return (__version__, torch.__version__)


def _compute(key: tuple, compute: Callable[[], Any]) -> Any:
    """The function joblib caches: ``compute()``, keyed by ``key`` alone."""
    return compute()


def is_remembering(memory) -> bool:
    """Whether ``memory`` (a ``joblib.Memory`` or None) stores anything."""
    return memory is not None and getattr(memory, "location", None) is not None


def remembered_pass(
    memory,
    what: str,
    module: nn.Module,
    data,
    n_train: int,
    device: str,
    precision: str,
    compute: Callable[[], Any],
    extra: tuple = (),
) -> tuple[Any, bool]:
    """``(compute(), loaded)`` for a pass of ``module`` over ``data`` (``what`` names it):
    through ``memory`` when it has a folder, keyed by the module's and the windows' content,
    ``n_train``, the device type, ``precision``, ``extra`` and the versions, ``loaded``
    telling whether the value came from the folder; computed every time otherwise (no key is
    built). The value must pickle (numpy arrays, floats)."""
    if not is_remembering(memory):
        return compute(), False
    key = (
        what,
        module_key(module),
        dataset_key(data),
        int(n_train),
        torch.device(device).type,
        precision,
        extra,
        _versions(),
    )
    cached = memory.cache(_compute, ignore=["compute"])
    loaded = bool(cached.check_call_in_cache(key, compute))
    return cached(key, compute), loaded


def to_arrays(outputs: TeacherOutputs) -> dict:
    """``outputs`` as numpy arrays with their dtypes' names (what :func:`remembered_pass`
    stores)."""
    pack = [] if outputs.pred is None else [outputs.pred]
    pack += list(outputs.features)
    return {
        "has_pred": outputs.pred is not None,
        "arrays": [(str(t.dtype), _array(t)) for t in pack],
    }


def from_arrays(stored: dict) -> TeacherOutputs:
    """The tensors :func:`to_arrays` packed."""
    tensors = []
    for dtype, a in stored["arrays"]:
        t = torch.from_numpy(np.ascontiguousarray(a))
        tensors.append(t.view(torch.bfloat16) if dtype == "torch.bfloat16" else t)
    if stored["has_pred"]:
        return TeacherOutputs(tensors[0], tuple(tensors[1:]))
    return TeacherOutputs(None, tuple(tensors))
