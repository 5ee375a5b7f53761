"""Parameter checks shared by the estimators: clear errors that name the parameter and the fix."""

from __future__ import annotations

import numbers
import os

import numpy as np
import torch


class ParameterTypeError(TypeError, ValueError):
    """A parameter of the wrong type.

    A ``TypeError``; also a ``ValueError`` (as scikit-learn's ``NotFittedError`` is both a
    ``ValueError`` and an ``AttributeError``) so that code written when the pure-torch layers
    raised ``ValueError`` for every bad argument keeps catching it.
    """


def check_int(value, name: str, *, minimum: int = 1, allow_none: bool = False) -> int | None:
    """Return ``value`` as int if it is an integer >= ``minimum``; raise otherwise."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterTypeError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}.")
    return int(value)


def check_float(
    value,
    name: str,
    *,
    minimum: float = 0.0,
    strict: bool = False,
    below: float | None = None,
    allow_none: bool = False,
) -> float | None:
    """Return ``value`` as a finite float >= ``minimum`` (> if ``strict``) and < ``below``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterTypeError(f"{name} must be a real number; got {value!r}.")
    value = float(value)
    bad = not np.isfinite(value) or (value <= minimum if strict else value < minimum)
    if bad or (below is not None and value >= below):
        relation = ">" if strict else ">="
        bound = f" and < {below}" if below is not None else ""
        raise ValueError(
            f"{name} must be a finite number {relation} {minimum}{bound}; got {value}."
        )
    return value


def check_loss_weight(value, name: str) -> None:
    """A loss weight: a finite number >= 0, or "auto" (chosen on held-out data)."""
    if not isinstance(value, str):
        check_float(value, name)
    elif value != "auto":
        raise ValueError(f'{name} must be a number >= 0 or "auto"; got {value!r}')


def check_bool(value, name: str) -> bool:
    """Return ``value`` as bool if it is True or False; raise a TypeError otherwise."""
    if not isinstance(value, bool | np.bool_):
        raise ParameterTypeError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def check_choice(value, name: str, choices, *, ignore_case: bool = False) -> str:
    """Return ``value`` if it is one of the string ``choices``.

    A non-string is a TypeError, an unknown string a ValueError; both name the parameter and
    list the choices. With ``ignore_case`` the matching choice is returned in its own spelling.
    """
    choices = tuple(choices)
    if not isinstance(value, str):
        raise ParameterTypeError(f"{name} must be one of {list(choices)}; got {value!r}.")
    if ignore_case:
        lowered = {c.lower(): c for c in choices}
        if value.lower() in lowered:
            return lowered[value.lower()]
    elif value in choices:
        return value
    raise ValueError(f"Unknown {name} {value!r}: {name} must be one of {list(choices)}.")


def check_directory(value, name: str, *, allow_none: bool = True) -> str | None:
    """Return ``value`` as a path string if it names an existing directory (or is None)."""
    if value is None and allow_none:
        return None
    alternative = " (or None)" if allow_none else ""
    if not isinstance(value, str | os.PathLike):
        raise ParameterTypeError(
            f"{name} must be the path of an existing directory{alternative}; got {value!r}."
        )
    path = os.fspath(value)
    if not os.path.isdir(path):
        raise ValueError(
            f"{name}={path!r} is not an existing directory: create it first, or pass another "
            f"directory{alternative}."
        )
    return path


def check_validation_size(value, unit: str = "rows") -> None:
    """None, a fraction in (0, 1) or a positive count of ``unit``."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ParameterTypeError(f"validation_size must be None, an int or a float; got {value!r}.")
    if isinstance(value, float | np.floating) and not 0.0 < value < 1.0:
        raise ValueError(f"validation_size as a fraction must be in (0, 1); got {value}.")
    if isinstance(value, int | np.integer) and value < 1:
        raise ValueError(f"validation_size as a number of {unit} must be >= 1; got {value}.")


def check_random_state(value) -> None:
    """None, a numpy RandomState or an int >= 0."""
    if value is not None and not isinstance(value, np.random.RandomState):
        check_int(value, "random_state", minimum=0)


#: The values of ``precision`` (Lightning's names); ``"bf16-mixed"`` is an alias of ``"bf16"``.
PRECISIONS = ("32", "bf16", "16-mixed")
_PRECISION_ALIASES = {"bf16-mixed": "bf16"}


def check_precision(value) -> str:
    """``precision`` in its canonical form: "32", "bf16" (alias "bf16-mixed") or "16-mixed".

    The int 32 is accepted for "32"; anything else is a ValueError naming the parameter and
    the allowed values.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value == 32:
        return "32"
    allowed = [*PRECISIONS, *_PRECISION_ALIASES]
    if not isinstance(value, str) or _PRECISION_ALIASES.get(value, value) not in PRECISIONS:
        raise ValueError(f"Unknown precision {value!r}: precision must be one of {allowed}.")
    return _PRECISION_ALIASES.get(value, value)


def check_precision_device(precision, device: str) -> str:
    """``precision`` checked for the resolved ``device``: float16 autocast with gradient
    scaling ("16-mixed") is a CUDA feature; on any other device it is a ValueError."""
    precision = check_precision(precision)
    if precision == "16-mixed" and not str(device).startswith("cuda"):
        raise ValueError(
            f"precision='16-mixed' (float16 autocast with gradient scaling) needs a CUDA "
            f"device; device is {device!r}. Use precision='bf16' (bfloat16 autocast, also on "
            "CPU) or precision='32'."
        )
    return precision


def check_training_params(est, *, validation_unit: str | None = None) -> None:
    """The training parameters every estimator of the package shares.

    ``max_epochs``, ``batch_size``, ``lr``, ``verbose``, ``random_state``, ``precision`` and
    ``compile`` always; ``patience`` and ``validation_size`` (counted in ``validation_unit``)
    where the estimator validates.
    """
    check_int(est.max_epochs, "max_epochs", minimum=1)
    check_int(est.batch_size, "batch_size", minimum=1)
    check_float(est.lr, "lr", strict=True)
    check_int(est.verbose, "verbose", minimum=0)
    check_random_state(est.random_state)
    check_precision(getattr(est, "precision", "32"))
    check_bool(getattr(est, "compile", False), "compile")
    if validation_unit is not None:
        check_int(est.patience, "patience", minimum=1, allow_none=True)
        check_validation_size(est.validation_size, validation_unit)


def store_params(est, params: dict) -> None:
    """Store each constructor argument under its own name (scikit-learn's ``__init__`` rule).

    Called as ``store_params(self, locals())`` first thing in ``__init__``.
    """
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


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
    if (
        device == "mps"
        and getattr(torch.backends, "mps", None)
        and torch.backends.mps.is_available()
    ):
        return device
    raise ValueError(f"device must be 'cpu', 'cuda' or 'auto'; got {device!r}.")


def seed_from(random_state) -> int:
    """An int seed for torch from ``random_state`` (None draws one from numpy's global state)."""
    if random_state is None:
        return int(np.random.randint(0, 2**31 - 1))  # noqa: NPY002 (honours np.random.seed)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    return check_int(random_state, "random_state", minimum=0)


def teacher_seed(random_state, index: int) -> int | None:
    """The seed of the ``index``-th teacher cloned inside a distiller with ``random_state``.

    None when the distiller is unseeded (the teacher then stays unseeded too). An int seed
    gives a stream of its own per teacher, independent of the student's; a RandomState is
    drawn from, as scikit-learn does.
    """
    if random_state is None:
        return None
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    rng = np.random.default_rng([check_int(random_state, "random_state", minimum=0), index])
    return int(rng.integers(0, 2**31 - 1))


def cuda_devices() -> list[int]:
    """Devices whose RNG state ``fork_rng`` must save: ``manual_seed`` reseeds all of them."""
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
