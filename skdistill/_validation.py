"""Parameter checks shared by the estimators: clear errors that name the parameter and the fix."""

from __future__ import annotations

import numbers

import numpy as np
import torch


def check_int(value, name: str, *, minimum: int = 1, allow_none: bool = False) -> int | None:
    """Return ``value`` as int if it is an integer >= ``minimum``; raise otherwise."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}.")
    return int(value)


def check_float(
    value, name: str, *, minimum: float = 0.0, strict: bool = False, allow_none: bool = False
) -> float | None:
    """Return ``value`` as a finite float >= ``minimum`` (> if ``strict``); raise otherwise."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}.")
    value = float(value)
    bad = not np.isfinite(value) or (value <= minimum if strict else value < minimum)
    if bad:
        relation = ">" if strict else ">="
        raise ValueError(f"{name} must be a finite number {relation} {minimum}; got {value}.")
    return value


def check_choice(value, name: str, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}; got {value!r}.")
    return value


def resolve_device(device) -> str:
    """Map ``"cpu" | "cuda" | "cuda:N" | "auto"`` to a torch device string, checking CUDA early."""
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(device, str | torch.device):
        raise TypeError(f"device must be 'cpu', 'cuda' or 'auto'; got {device!r}.")
    device = str(device)
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} but CUDA is not available (torch {torch.__version__}); use "
                "device='cpu' or device='auto', or install a CUDA build of torch."
            )
        return device
    if device == "cpu":
        return device
    if device == "mps" and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return device
    raise ValueError(f"device must be 'cpu', 'cuda' or 'auto'; got {device!r}.")


def seed_from(random_state) -> int:
    """An int seed for torch from ``random_state`` (None draws one from numpy's global state)."""
    if random_state is None:
        return int(np.random.randint(0, 2**31 - 1))  # noqa: NPY002 (honours np.random.seed)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    return check_int(random_state, "random_state", minimum=0)


def cuda_devices() -> list[int]:
    """Devices whose RNG state ``fork_rng`` must save: ``manual_seed`` reseeds all of them."""
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
