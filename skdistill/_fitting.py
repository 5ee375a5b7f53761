"""All-or-nothing fitting: a public method that fails leaves its estimator exactly as it was.

One mechanism for every estimator (sktime's ``fit``/``update``, scikit-learn's ``fit``):
the instance's attributes are snapshotted before the call and put back on any exception,
``KeyboardInterrupt`` included. A shallow snapshot suffices because fitting *replaces*
fitted attributes (a new net, new arrays); only dict/list/set attributes are copied, as
sktime updates its tag and config dicts in place.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

F = TypeVar("F", bound=Callable)


@contextmanager
def unchanged_on_error(estimator: object) -> Iterator[None]:
    """Restore ``estimator``'s attributes if the body raises (then re-raise)."""
    state = vars(estimator)
    saved = {k: copy.copy(v) if isinstance(v, dict | list | set) else v for k, v in state.items()}
    try:
        yield
    except BaseException:
        state.clear()
        state.update(saved)
        raise


def all_or_nothing(method: F) -> F:
    """Decorate a public method so that it either completes or changes nothing."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with unchanged_on_error(self):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
