"""Data-parallel training through Hugging Face Accelerate (skorch's ``AccelerateMixin``).

An estimator's ``fit`` inside ``with use_accelerator(Accelerator()):`` trains with the
accelerated variant of its skorch net: the module is wrapped for data parallelism, each
process sees its shard of every epoch, gradients are averaged. What skdistill adds on top of
skorch's mixin:

* the loss terms in ``history`` (``train_loss``, ``valid_loss`` and every distillation term)
  are averaged over the processes before they are recorded, so every process holds the same
  history and early stopping stops them at the same epoch;
* the teacher-output cache is computed once, by the main process, and broadcast;
* after training the net is turned back into the plain net (no accelerator, no wrappers), so
  the fitted estimator predicts, pickles and clones like one fitted in a single process.

Launch one process per device (``torchrun --nproc_per_node 2 script.py`` on CPUs,
``accelerate launch --multi_gpu --num_processes 2 script.py`` on GPUs); only the main process
should write files (``accelerator.is_main_process``). Accelerate is an optional extra.

Precision: the estimators' ``precision="bf16"`` autocasts the student's forward passes on the
accelerator's device whatever the accelerator's own ``mixed_precision`` (bfloat16 needs no
gradient scaling); ``precision="16-mixed"`` needs ``Accelerator(mixed_precision="fp16")``,
whose gradient scaling it uses (any other accelerator is a ValueError at ``fit``);
``precision="32"`` leaves the accelerator's ``mixed_precision`` in charge, as before.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

from torch import nn

_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("skdistill_accelerator", default=None)


@contextlib.contextmanager
def use_accelerator(accelerator) -> Iterator[Any]:
    """Train every skdistill estimator fitted inside the block with ``accelerator``.

    Parameters
    ----------
    accelerator : accelerate.Accelerator
        The process's accelerator (one per process, created before the block). Its device
        replaces the estimators' ``device`` parameter while training.

    Yields
    ------
    accelerate.Accelerator
        The same accelerator.

    Examples
    --------
    >>> from accelerate import Accelerator  # doctest: +SKIP
    >>> from skdistill.training.accelerate import use_accelerator  # doctest: +SKIP
    >>> with use_accelerator(Accelerator()):  # doctest: +SKIP
    ...     forecaster.fit(y, fh=range(1, 97))
    """
    if not (hasattr(accelerator, "prepare") and hasattr(accelerator, "num_processes")):
        raise TypeError(
            "accelerator must be an accelerate.Accelerator; got "
            f'{type(accelerator).__name__}. Install the extra: pip install "skdistill[accelerate]"'
        )
    token = _ACTIVE.set(accelerator)
    try:
        yield accelerator
    finally:
        _ACTIVE.reset(token)


def active_accelerator():
    """The accelerator of the enclosing :func:`use_accelerator` block, or None."""
    return _ACTIVE.get()


def compute_on_main(fn: Callable[[], Any]) -> Any:
    """``fn()`` computed by the main process only and broadcast to the others.

    Without an active multi-process accelerator this is just ``fn()``.
    """
    accelerator = active_accelerator()
    if accelerator is None or accelerator.num_processes == 1:
        return fn()
    from accelerate.utils import broadcast_object_list

    box = [fn() if accelerator.is_main_process else None]
    broadcast_object_list(box, from_process=0)
    return box[0]


def accelerated_net_class(net_cls: type) -> type:
    """The accelerated variant registered for ``net_cls``."""
    try:
        return _REGISTRY[net_cls]
    except KeyError:
        raise TypeError(f"{net_cls.__name__} has no accelerated variant") from None


_REGISTRY: dict[type, type] = {}


def register(plain: type) -> Callable[[type], type]:
    """Class decorator: mark the decorated class as the accelerated variant of ``plain``."""

    def wrap(cls: type) -> type:
        cls._plain_class = plain
        _REGISTRY[plain] = cls
        return cls

    return wrap


class DistributedNetMixin:
    """What skdistill's nets need across processes, on top of skorch's ``AccelerateMixin``.

    Put it before ``AccelerateMixin`` in the bases.
    """

    def _initialize_accelerator(self):
        # Parameter-free criteria need no data-parallel wrapper (and DDP refuses them).
        criteria = self._criteria
        self._criteria = [
            name
            for name in criteria
            if any(p.requires_grad for p in getattr(self, name + "_").parameters())
        ]
        try:
            return super()._initialize_accelerator()
        finally:
            self._criteria = criteria

    def reduce_value(self, value):
        """Mean over the processes of a scalar tensor (detached): what ``history`` records."""
        return self.accelerator.reduce(value.detach(), reduction="mean")

    def core_module(self) -> nn.Module:
        """``module_`` without the data-parallel wrapper (for its submodules)."""
        return self.accelerator.unwrap_model(self.module_, keep_fp32_wrapper=False)

    def core_criterion(self) -> nn.Module:
        """``criterion_`` without the data-parallel wrapper (for its attributes)."""
        return self.accelerator.unwrap_model(self.criterion_, keep_fp32_wrapper=False)

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        step["loss"] = self.reduce_value(step["loss"])
        return step

    def validation_step(self, batch, **fit_params):
        step = super().validation_step(batch, **fit_params)
        step["loss"] = self.reduce_value(step["loss"])
        return step

    def to_plain(self):
        """This fitted net as an instance of the plain class: no accelerator, no wrappers."""
        self._unwrap_accelerator()
        for name in self._optimizers:
            optimizer = getattr(self, name + "_")
            plain = getattr(optimizer, "optimizer", optimizer)
            # Accelerate and the LR scheduler patch ``step`` on the instance; the class's
            # method is the plain one (and the only one that pickles).
            plain.__dict__.pop("step", None)
            setattr(self, name + "_", plain)
        device = self.accelerator.device
        # Multi-CPU runs report "cpu:<rank>"; the fitted net lives on the plain CPU device.
        self.device = "cpu" if device.type == "cpu" else str(device)
        for name in self._modules + self._criteria:
            getattr(self, name + "_").to(self.device)
        for attr in ("accelerator", "unwrap_after_train", "_wrapped_with_accelerator"):
            self.__dict__.pop(attr, None)
        self.__class__ = self._plain_class
        return self


def _accelerated_classes() -> None:
    # Defined on first use: skorch.hf is only imported when someone trains with Accelerate.
    if _REGISTRY:
        return
    from skorch.hf import AccelerateMixin

    from skdistill.training.net import DistillNet

    @register(DistillNet)
    class AcceleratedDistillNet(DistributedNetMixin, AccelerateMixin, DistillNet):
        """:class:`DistillNet` trained data-parallel through Accelerate."""


def make_net(net_cls: type, device: str, **kwargs):
    """``net_cls(**kwargs, device=device)``, or its accelerated variant inside
    :func:`use_accelerator` (the accelerator then places the data and the module)."""
    accelerator = active_accelerator()
    if accelerator is None:
        return net_cls(**kwargs, device=device)
    mixed = str(getattr(accelerator, "mixed_precision", "no"))
    if kwargs.get("precision") == "16-mixed" and mixed != "fp16":
        raise ValueError(
            "precision='16-mixed' inside use_accelerator needs the accelerator's float16 "
            f"gradient scaling: create Accelerator(mixed_precision='fp16') (it has {mixed!r}), "
            "or use precision='bf16', which needs no scaling."
        )
    _accelerated_classes()
    return accelerated_net_class(net_cls)(**kwargs, accelerator=accelerator, device=None)


def finish_net(net):
    """After ``fit``: an accelerated net back to its plain class, and training-only state gone.

    The optimiser's moments and the LR scheduler object only serve further training, and they
    would make up two thirds of a fitted estimator's pickle (what a cluster ships to every
    task that uses a fitted teacher); the parameters, history and callbacks stay.
    """
    for name in getattr(net, "_optimizers", []):
        getattr(net, name + "_").state.clear()
    # The float16 gradient scaler only serves training.
    net.__dict__.pop("grad_scaler_", None)
    for _, callback in getattr(net, "callbacks_", []):
        if hasattr(callback, "lr_scheduler_"):
            callback.lr_scheduler_ = None
    if isinstance(net, DistributedNetMixin):
        accelerator = net.accelerator
        for _, callback in getattr(net, "callbacks_", []):
            # skorch's mixin prints through the accelerator (main process only); a fitted
            # net must not carry the accelerator into a pickle.
            if getattr(callback, "sink", None) == accelerator.print:
                callback.sink = print
        net.callbacks__print_log__sink = print
        net.to_plain()
    # A compiled student (compile=True) is put back as the plain module: the fitted net
    # pickles and predicts on any machine, without a compiler.
    for name in [*getattr(net, "_modules", []), *getattr(net, "_criteria", [])]:
        module = getattr(net, name + "_", None)
        if isinstance(module, nn.Module) and "_orig_mod" in module._modules:
            setattr(net, name + "_", module._orig_mod)
    return net
