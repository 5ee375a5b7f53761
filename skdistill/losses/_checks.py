"""Argument checks shared by the losses and the pure-torch modules beside them."""

from __future__ import annotations

import math
import numbers


def check_int(value: int, name: str, minimum: int) -> int:
    """``value`` as an int, or ValueError unless it is an int (not a bool) >= ``minimum``."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_number(value: float, name: str, *, positive: bool) -> float:
    """``value`` as a float, or ValueError unless it is finite and > 0 (``positive``) or >= 0."""
    bad = (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or (value <= 0 if positive else value < 0)
    )
    if bad:
        raise ValueError(
            f"{name} must be a finite number {'>' if positive else '>='} 0, got {value!r}"
        )
    return float(value)


def check_choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    """``value``, or ValueError unless it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value
