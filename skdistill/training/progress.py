"""Progress bars of the long steps of a fit, on stderr: what ``verbose`` shows.

Every estimator's ``verbose``:

* ``0``: silent (nothing on stdout or stderr);
* ``1`` (the default): one progress bar per long step, on stderr (tqdm) and left on screen when
  the step ends: the training epochs (:class:`EpochProgress`, its postfix the current batch
  and the last epoch's losses), the teacher's outputs cached for the training windows, the
  forecasts of a teacher from outside skdistill window by window, and the fit of a teacher
  cloned inside a distiller (its bars named ``"teacher ..."``, see :func:`role`);
* ``2`` and more: also skorch's table of every epoch's losses, early stopping's message and
  where the teacher cache lives (stdout).

Bars are tqdm's (``tqdm.auto``: widgets in a notebook with ipywidgets, text elsewhere). A
bar exists only while its step runs: a fitted estimator pickles and clones without one.
Under Accelerate only the main process draws.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import time
from collections.abc import Iterator

from skorch.callbacks import Callback

from skdistill.training.accelerate import active_accelerator

#: Prefix of every bar's description while a teacher is fitted inside a distiller.
_ROLE: contextvars.ContextVar[str] = contextvars.ContextVar("skdistill_progress_role", default="")

#: Seconds between two redraws of a bar's postfix within an epoch.
_REFRESH_S = 0.5


@contextlib.contextmanager
def role(name: str) -> Iterator[None]:
    """Name the bars drawn inside the block ``"<name> ..."`` (e.g. ``"teacher"``)."""
    token = _ROLE.set(f"{name} ")
    try:
        yield
    finally:
        _ROLE.reset(token)


def progress_bar(total: int | None, desc: str, verbose: int, *, unit: str = "it"):
    """A tqdm bar on stderr, or a disabled one (draws nothing) when ``verbose`` is 0 or this
    is not the main process of an Accelerate run."""
    from tqdm.auto import tqdm

    accelerator = active_accelerator()
    if accelerator is not None and not getattr(accelerator, "is_main_process", True):
        verbose = 0
    return tqdm(
        total=total,
        desc=f"{_ROLE.get()}{desc}",
        unit=unit,
        disable=not verbose,
        leave=True,
        dynamic_ncols=True,
    )


def quiet_clone(estimator, verbose: int):
    """``estimator`` (a teacher's clone) made silent when the distiller's ``verbose`` is 0.

    Only a ``verbose`` parameter is touched, and only to 0; otherwise the teacher keeps its own.
    """
    if not verbose and "verbose" in estimator.get_params(deep=False):
        estimator.set_params(verbose=0)
    return estimator


class EpochProgress(Callback):
    """One bar over a skorch fit's epochs (``net.max_epochs``), on stderr.

    The postfix shows the batch being trained and the last epoch's ``train_loss`` and
    ``valid_loss``; an early stop leaves the bar where it stopped, marked ``stopped early``.
    When skorch prints its epoch table too (``net.verbose``), the bar steps aside for each
    row. The tqdm object lives from ``on_train_begin`` to ``on_train_end`` only (and is never
    pickled), so a fitted net pickles and clones.

    Parameters
    ----------
    desc : str, default="epochs"
        The bar's description.
    verbose : int, default=1
        0: no bar.
    """

    def __init__(self, desc: str = "epochs", verbose: int = 1) -> None:
        self.desc = desc
        self.verbose = verbose

    def initialize(self):
        self.bar_ = None
        self._batches = 0
        self._per_epoch = None
        self._drawn = 0.0
        return self

    def on_train_begin(self, net, **kwargs) -> None:
        self.close()
        self.bar_ = progress_bar(int(net.max_epochs), self.desc, int(self.verbose), unit="epoch")
        self._drawn = time.monotonic()

    def on_epoch_begin(self, net, dataset_train=None, **kwargs) -> None:
        self._batches = 0
        self._per_epoch = None
        try:
            self._per_epoch = math.ceil(len(dataset_train) / int(net.batch_size))
        except (TypeError, ValueError, ZeroDivisionError):
            pass

    def on_batch_end(self, net, training=False, **kwargs) -> None:
        if self.bar_ is None or self.bar_.disable or not training:
            return
        self._batches += 1
        now = time.monotonic()
        if now - self._drawn >= _REFRESH_S:
            self._drawn = now
            self.bar_.set_postfix_str(self._postfix(net, batch=True), refresh=True)

    def on_epoch_end(self, net, **kwargs) -> None:
        if self.bar_ is None or self.bar_.disable:
            return
        self.bar_.set_postfix_str(self._postfix(net, batch=False), refresh=False)
        self.bar_.update(1)
        if net.verbose:
            self.bar_.clear()  # skorch's table row comes next, on its own line

    def on_train_end(self, net, **kwargs) -> None:
        if self.bar_ is not None and not self.bar_.disable:
            stopped = getattr(net, "stopped_early", None)
            if callable(stopped) and stopped():
                self.bar_.set_postfix_str(
                    f"{self._postfix(net, batch=False)}, stopped early", refresh=False
                )
        self.close()

    def close(self) -> None:
        """Close the bar (also after an error, when skorch calls no ``on_train_end``)."""
        bar = getattr(self, "bar_", None)
        self.bar_ = None
        if bar is not None:
            bar.close()

    def _postfix(self, net, *, batch: bool) -> str:
        parts = []
        if batch:
            total = f"/{self._per_epoch}" if self._per_epoch else ""
            parts.append(f"batch {self._batches}{total}")
        done = [row for row in net.history if "train_loss" in row]
        if done:
            last = done[-1]
            parts += [f"{k}={last[k]:.4g}" for k in ("train_loss", "valid_loss") if k in last]
        return ", ".join(parts)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["bar_"] = None
        return state


def close_bars(net) -> None:
    """Close the bars of ``net``'s :class:`EpochProgress` callbacks (call in a ``finally``)."""
    for _, callback in getattr(net, "callbacks_", None) or []:
        if isinstance(callback, EpochProgress):
            callback.close()
