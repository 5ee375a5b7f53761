"""The one skorch net of every distiller: the student is the module, the objective the criterion.

skorch's hooks, each a few lines:

- ``infer`` strips the per-sample teacher entries from the batch dict and runs the student,
  which returns ``(prediction, feature)`` while training (``feature`` None when unused);
- ``get_loss`` gives the objective the batch's :class:`~skdistill.losses.base.TeacherOutputs`
  (cached in the batch, or computed by a frozen teacher held by the net) while training, and the
  objective's plain validation loss otherwise (early stopping watches the student's own error);
- every active term is recorded per batch and averaged per epoch in ``history`` (``train_sup``,
  ``train_kd``, ...), by :func:`term_scoring`;
- faults are never silent: a NaN or infinite loss raises ``FloatingPointError`` saying in which
  epoch and which epoch was best; a training that ends 10x worse than it started warns
  (:class:`~skdistill.exceptions.DivergenceWarning`, callback :class:`DivergenceCheck`); and
  Ctrl-C, which skorch's ``partial_fit`` swallows, is raised again once skorch has cleaned up,
  so that no caller mistakes an interrupted training for a finished one;
- ``precision`` ("32", "bf16", "16-mixed") runs every forward pass of the student under
  ``torch.autocast`` (:func:`autocast`) and hands float32 outputs on, so the objective is
  always computed in float32; "16-mixed" (CUDA only) scales the gradients with a
  ``torch.amp.GradScaler``; ``compile`` compiles the student (skorch's ``compile``, never
  the objective), and :func:`~skdistill.training.accelerate.finish_net` keeps the plain
  module in the fitted net.

Why the criterion: it is skorch's place for the loss, skorch optimises a criterion's parameters
with the module's, moves it to the device and prepares it under Accelerate; so the parts that
exist only for training (regressors, projectors, DS2S, OFA branches) live in the objective and
the fitted ``module_`` is the student alone. Knows nothing of sktime or scikit-learn estimators.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, PassthroughScoring
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from torch import nn
from torch.utils.data import DataLoader, Subset, default_collate

from skdistill._validation import check_precision
from skdistill.exceptions import DivergenceWarning
from skdistill.losses.base import DistillationObjective, TeacherOutputs
from skdistill.training.accelerate import make_net

#: Batch keys of cached teacher outputs (stripped before the student runs).
TEACHER_PRED, TEACHER_FEAT = "teacher_pred", "teacher_feat"
#: Batch key of each window's series in a panel (for a teacher scaled per series).
SERIES = "series"

#: The autocast dtype of each reduced ``precision`` ("32" runs as it is).
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "16-mixed": torch.float16}


def autocast(precision: str, device) -> contextlib.AbstractContextManager:
    """The ``torch.autocast`` context of ``precision`` on ``device``; a no-op for "32".

    "bf16" autocasts to bfloat16 on any device; "16-mixed" to float16 on CUDA only (on
    another device, e.g. a CUDA-fitted model unpickled on a CPU-only machine, it runs in
    float32: float16 autocast is a CUDA feature).
    """
    dtype = AUTOCAST_DTYPES.get(check_precision(precision))
    device_type = torch.device(device if device is not None else "cpu").type
    if dtype is None or (dtype is torch.float16 and device_type != "cuda"):
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=dtype)


def as_float32(out):
    """A module's output (a tensor, or a tuple or list of tensors and None) as float32."""
    if isinstance(out, torch.Tensor):
        return out.float() if out.is_floating_point() else out
    if isinstance(out, list | tuple):
        return type(out)(as_float32(o) for o in out)
    return out


class DistillNet(NeuralNet):
    """skorch net that trains a student with a :class:`DistillationObjective` as criterion.

    Parameters
    ----------
    module : nn.Module
        The student wrapper: ``.student`` is the network that predicts; in training mode its
        ``forward`` returns ``(prediction, feature)``.
    teacher : callable, optional
        A frozen teacher mapping a batch of inputs to ``(prediction, features)``, used when the
        batch carries no cached teacher outputs (the cache did not fit its memory budget).
    precision : {"32", "bf16", "16-mixed"}, default="32"
        Autocast dtype of the student's forward passes (training, validation, prediction);
        the outputs are cast to float32. "16-mixed" also scales the gradients (CUDA only).
    **kwargs
        Passed to :class:`skorch.NeuralNet`; ``criterion`` is the objective (an instance).
        ``compile=True`` compiles the student (``module``) only.
    """

    def __init__(self, module, *args, teacher=None, precision="32", **kwargs):
        kwargs.setdefault("predict_nonlinearity", None)
        super().__init__(module, *args, **kwargs)
        self.teacher = teacher
        self.precision = precision

    # --- what differs when distributed (see training.accelerate) ---------------------------
    def reduce_value(self, value: torch.Tensor) -> torch.Tensor:
        """A loss value as ``history`` records it (averaged over processes when distributed)."""
        return value

    def core_module(self) -> nn.Module:
        """``module_`` itself (without a data-parallel wrapper when distributed)."""
        return self.module_

    def core_criterion(self) -> DistillationObjective:
        """``criterion_`` itself (without a data-parallel wrapper when distributed)."""
        return self.criterion_

    # --- precision ---------------------------------------------------------------------------
    def autocast(self) -> contextlib.AbstractContextManager:
        """The autocast context of this net's ``precision`` on its device."""
        device = self.device
        accelerator = getattr(self, "accelerator", None)
        if device is None and accelerator is not None:  # under Accelerate
            device = accelerator.device
        return autocast(getattr(self, "precision", "32"), device)

    def grad_scaler(self):
        """The ``torch.amp.GradScaler`` of "16-mixed" on CUDA (made on first use), else None."""
        if getattr(self, "precision", "32") != "16-mixed" or not str(self.device).startswith(
            "cuda"
        ):
            return None
        scaler = getattr(self, "grad_scaler_", None)
        if scaler is None:
            scaler = self.grad_scaler_ = torch.amp.GradScaler("cuda")
        return scaler

    # --- skorch hooks ---------------------------------------------------------------------
    def infer(self, x, **fit_params):
        if isinstance(x, Mapping):
            x = x["x"]
        x = to_tensor(x, device=self.device)
        with self.autocast():
            out = self.module_(x, **fit_params)
        # The objective (spectra, KL, feature regressors) always runs in float32.
        return as_float32(out)

    def get_iterator(self, dataset, training=False):
        loader = super().get_iterator(dataset, training)
        if (
            type(loader) is not DataLoader
            or loader.collate_fn is not default_collate
            or not reads_batches(dataset)
            or getattr(self, "accelerator", None) is not None
        ):
            return loader
        # The same batches in the same order (the batch sampler, hence the random draws, is
        # skorch's), each cut by the dataset at once instead of item by item and collated.
        return DataLoader(
            dataset,
            batch_size=None,
            sampler=loader.batch_sampler,
            num_workers=loader.num_workers,
            pin_memory=loader.pin_memory,
            timeout=loader.timeout,
            worker_init_fn=loader.worker_init_fn,
            multiprocessing_context=loader.multiprocessing_context,
            generator=loader.generator,
            prefetch_factor=loader.prefetch_factor,
            persistent_workers=loader.persistent_workers,
        )

    def torch_compile(self, module, name):
        # Only the student: the objective checks its terms for finiteness in Python, and
        # the parts that exist for training only are small.
        return super().torch_compile(module, name) if name == "module" else module

    def train_step_single(self, batch, **fit_params):
        scaler = self.grad_scaler()
        if scaler is None:
            return super().train_step_single(batch, **fit_params)
        # skorch's step with the loss scaled before backward (float16 gradients underflow).
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        scaler.scale(loss).backward()
        return {"loss": loss, "y_pred": y_pred}

    def _step_optimizer(self, step_fn):
        scaler = self.grad_scaler()
        if scaler is None:
            return super()._step_optimizer(step_fn)
        # The scaler unscales the gradients, skips the step when they overflowed, and
        # adapts the scale.
        step_fn()
        for name in self._optimizers:
            scaler.step(getattr(self, name + "_"))
        scaler.update()

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            # skorch's partial_fit swallows it; note it to raise it again there. skorch's
            # EarlyStopping raises it too, to stop: that is a finished fit, not Ctrl-C.
            self.interrupted_ = not self.stopped_early()
            raise

    def stopped_early(self) -> bool:
        """Whether an :class:`~skorch.callbacks.EarlyStopping` callback has just stopped."""
        return any(
            isinstance(cb, EarlyStopping) and getattr(cb, "misses_", 0) >= cb.patience
            for _, cb in getattr(self, "callbacks_", [])
        )

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        self.interrupted_ = False
        super().partial_fit(X, y, classes, **fit_params)
        if self.interrupted_:
            raise KeyboardInterrupt(
                f"training interrupted (Ctrl-C) in epoch {len(self.history)}; nothing was fitted."
            )
        return self

    def get_loss(self, y_pred, y_true, X=None, training=False):
        pred, feat = y_pred if isinstance(y_pred, tuple) else (y_pred, None)
        y_true = to_tensor(y_true, device=self.device)
        objective = self.core_criterion()
        if not training:
            loss = objective.validation_loss(pred, y_true)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the validation loss became {loss.item()} {self.progress()}"
                )
            return loss
        try:
            terms = self.criterion_(pred, y_true, feat, self.teacher_outputs(X))
        except FloatingPointError as exc:  # a loss module's own finiteness check
            raise FloatingPointError(f"{exc}; {self.progress()}") from exc
        total = terms["loss"]
        if not torch.isfinite(total):
            bad = [k for k, v in terms.items() if not torch.isfinite(v)]
            raise FloatingPointError(
                f"the training loss became {total.item()} (terms {bad}) {self.progress()}"
            )
        for name in objective.active_terms():
            self.history.record_batch(f"train_{name}", self.reduce_value(terms[name]).item())
        return total

    def progress(self) -> str:
        """Where training stands, for an error: the epoch, the best one so far, the fix."""
        epoch = len(self.history)
        done = [row for row in self.history[:-1]]
        key = "valid_loss" if done and "valid_loss" in done[0] else "train_loss"
        best = ""
        if done:
            k = min(range(len(done)), key=lambda i: done[i][key])
            best = (
                f"; the best epoch so far was {k + 1} ({key} {done[k][key]:.4g}): "
                f"max_epochs={k + 1} would stop there"
            )
        return (
            f"in epoch {epoch}: training diverged{best}. Lower lr (now {self.lr:g}) or "
            "check the data's scale. No model is kept from a diverged fit."
        )

    def teacher_outputs(self, X) -> TeacherOutputs:
        """The teacher's outputs for the batch ``X``: cached in it, or computed now."""
        objective = self.core_criterion()
        if not (objective.needs_teacher_pred or objective.needs_features):
            return TeacherOutputs()
        if isinstance(X, Mapping) and (TEACHER_PRED in X or TEACHER_FEAT in X):
            pred = X.get(TEACHER_PRED) if objective.needs_teacher_pred else None
            feats = X.get(TEACHER_FEAT) if objective.needs_features else None
        elif self.teacher is None:
            raise RuntimeError("no cached teacher outputs in the batch and no teacher set.")
        else:
            x = X["x"] if isinstance(X, Mapping) else X
            series = X.get(SERIES) if isinstance(X, Mapping) else None
            if series is not None:
                series = to_tensor(series, device=self.device)
            with self.autocast():  # at the fit's precision, as a cache would be computed
                pred, feats = as_float32(self.teacher(to_tensor(x, device=self.device), series))
        if feats is None:
            feats = ()
        elif not isinstance(feats, list | tuple):
            feats = (feats,)
        return TeacherOutputs(
            None if pred is None else to_tensor(pred, device=self.device),
            tuple(to_tensor(f, device=self.device) for f in feats),
        )

    def initialize_module(self):
        super().initialize_module()
        if self.teacher is not None:
            # Under Accelerate ``device`` is None and the accelerator places the student.
            accelerator = getattr(self, "accelerator", None)
            self.teacher.to(accelerator.device if accelerator is not None else self.device)
        return self


def reads_batches(dataset) -> bool:
    """Whether ``dataset``, or the dataset a ``Subset`` of it selects from, cuts a whole batch
    when indexed with a list of indices (its ``reads_batches`` attribute)."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return bool(getattr(dataset, "reads_batches", False))


class DivergenceCheck(Callback):
    """Warn (:class:`~skdistill.exceptions.DivergenceWarning`) when training ends far worse
    than it started: the last epoch's mean training loss above ``factor`` times the first
    batch's, which the untrained network produced. Finite but exploding losses (a learning
    rate orders of magnitude too high) otherwise return a model that looks fitted."""

    def __init__(self, factor: float = 10.0) -> None:
        self.factor = factor

    def on_train_end(self, net, **kwargs):
        history = net.history
        if not history or not history[0]["batches"] or "train_loss" not in history[-1]:
            return
        first = history[0]["batches"][0].get("train_loss")
        last = history[-1]["train_loss"]
        if first is not None and first > 0 and last > self.factor * first:
            warnings.warn(
                f"training diverged: the last epoch's training loss {last:.4g} is "
                f"{last / first:.3g}x the untrained network's {first:.4g}. The model is kept "
                f"but not worth using: lower lr (now {net.lr:g}).",
                DivergenceWarning,
                stacklevel=2,
            )


#: Names kept for code written against the two nets this one replaces.
DistillationNet = DistillNet
ClassificationDistillNet = DistillNet


def term_scoring(names) -> list:
    """PassthroughScoring callbacks: each recorded term's batch values averaged per epoch."""
    return [(f"train_{n}", PassthroughScoring(name=f"train_{n}", on_train=True)) for n in names]


def silent(*args, **kwargs) -> None:
    """A picklable sink that drops skorch's messages when verbose=0."""


@dataclass
class TrainSettings:
    """How a student is trained: the estimators' common parameters, validated."""

    lr: float
    max_epochs: int
    batch_size: int
    device: str
    verbose: int = 0
    seed: int | None = None
    patience: int | None = None
    warmup_epochs: int = 0
    precision: str = "32"
    compile: bool = False

    def __post_init__(self) -> None:
        self.precision = check_precision(self.precision)


def build_net(
    module: nn.Module,
    objective: DistillationObjective,
    settings: TrainSettings,
    *,
    train_split,
    callbacks: list,
    teacher=None,
) -> DistillNet:
    """The :class:`DistillNet` of every entry point: Adam on the student and the objective's
    trainable parts, shuffled batches (or its accelerated variant under ``use_accelerator``)."""
    device = settings.device
    return make_net(
        DistillNet,
        device,
        module=module,
        criterion=objective,
        teacher=teacher,
        optimizer=torch.optim.Adam,
        # One fused kernel instead of a Python loop over parameter tensors.
        optimizer__fused=device.startswith(("cpu", "cuda")),
        lr=float(settings.lr),
        max_epochs=int(settings.max_epochs),
        batch_size=int(settings.batch_size),
        iterator_train__shuffle=True,
        train_split=train_split,
        callbacks=[*callbacks, ("divergence_check", DivergenceCheck())],
        verbose=int(settings.verbose >= 2),  # skorch's epoch table; 1 draws bars only
        precision=settings.precision,
        compile=bool(settings.compile),
    )
