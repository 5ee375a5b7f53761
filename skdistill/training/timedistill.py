"""Fit a TimeDistill student: the one training entry point of every forecasting estimator.

:func:`fit_timedistill` takes windows (lazy over a series, or pre-cut), the teachers' side
(frozen modules and/or outputs computed elsewhere) and the loss weights, and does the rest:
seeding, the student, the objective with its feature regressors, the teacher-output cache
(in RAM within its budget, else in files read by rows and removed after fit; the per-batch
teacher only when the cache is turned off), the skorch net and its callbacks, training, and
the slim fitted net. ``DistilledMLPForecaster``, the teachers of
:mod:`skdistill.forecasting` (trained alone: no teacher) and ``DistilledMLPRegressor`` all
call it once. Knows nothing of sktime or scikit-learn estimators.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from skorch.callbacks import EarlyStopping, LRScheduler
from torch import nn

from skdistill._validation import check_choice, cuda_devices
from skdistill.losses.base import TeacherOutputs
from skdistill.losses.timedistill import TimeDistillLoss, TimeDistillObjective
from skdistill.nn.forecasting import FeatureRegressor
from skdistill.training.accelerate import compute_on_main, finish_net
from skdistill.training.halving import clearly_better, halve
from skdistill.training.net import (
    DistillNet,
    TrainSettings,
    autocast,
    build_net,
    silent,
    term_scoring,
)
from skdistill.training.progress import EpochProgress, close_bars
from skdistill.training.teacher import (
    EnsembleAdapter,
    FrozenTeacher,
    cache_nbytes,
    compute_teacher_outputs,
    project_features,
    validation_mse,
)
from skdistill.training.teacher_cache import (
    CACHE_DTYPES,
    CACHE_MODES,
    CacheStore,
    MappedOutputs,
    cache_place,
    open_outputs,
    outputs_nbytes,
)
from skdistill.training.teacher_memory import (
    from_arrays,
    is_remembering,
    remembered_pass,
    tensor_key,
    to_arrays,
)
from skdistill.training.windows import TailSplit

_MB = 2**20


@dataclass
class Teachers:
    """The teachers' side of a fit, in the student's standardised space.

    Parameters
    ----------
    modules : list of nn.Module
        Frozen adapters mapping contexts ``(B, L, C)`` to ``(prediction (B, H, C), feature
        (B, C, d_k))`` (see :class:`~skdistill.training.teacher.TeacherAdapter`).
    weights : list of float
        Weight of each module's prediction in the ensemble prediction.
    given : TeacherOutputs, optional
        Outputs computed elsewhere, one row per training window: predictions (already
        weighted; added to the modules' weighted prediction) and/or features (one per
        teacher). Always stored (they cannot be recomputed per batch).
    cache_mb : float
        RAM budget of the cache (MB, at the stored dtype); ``cache="auto"`` spills a larger
        cache to disk.
    cache : {"auto", "memory", "disk", "off"}
        Where the cache lives: RAM within ``cache_mb`` else disk; always RAM; always disk
        (files read by rows); or no cache, the modules running on every training batch.
    cache_dir : str, optional
        Parent folder of the disk cache's temporary folder (default: the system's).
    cache_dtype : {"float32", "float16", "bfloat16"}
        Stored dtype of the cache; rows are cast back to float32 when a batch reads them.
    feature_dim : int, optional
        Project each module's feature wider than ``feature_dim`` onto its ``feature_dim``
        leading principal directions (:class:`~skdistill.training.teacher.ProjectedTeacher`),
        before caching and in the per-batch path alike; None keeps every feature as it is.
        Given features are never projected.
    kept_variance : list of (float or None)
        Filled by :func:`fit_timedistill` (which also swaps projected modules in): per module,
        the fraction of its feature's variance the projection kept, None where not projected.
    memory : joblib.Memory, optional
        Where the modules' outputs over the windows (a RAM cache) and their validation loss
        are remembered across fits, keyed by content
        (:mod:`~skdistill.training.teacher_memory`); None, or a Memory without a folder,
        computes them in every fit.
    """

    modules: list[nn.Module] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    given: TeacherOutputs | None = None
    cache_mb: float = math.inf
    cache: str = "auto"
    cache_dir: str | None = None
    cache_dtype: str = "float32"
    feature_dim: int | None = None
    kept_variance: list = field(default_factory=list)
    memory: Any = None

    def __post_init__(self) -> None:
        check_choice(self.cache, "teacher_cache", CACHE_MODES)
        check_choice(self.cache_dtype, "teacher_cache_dtype", tuple(CACHE_DTYPES))

    @property
    def feature_dims(self) -> list[int]:
        """Width d_k of each teacher feature, in order (given features after the modules')."""
        dims = [m.feature_dim for m in self.modules]
        if self.given is not None:
            dims += [f.shape[-1] for f in self.given.features]
        return dims


class ForecastStudent(nn.Module):
    """The trained module: ``.student`` is the forecaster; ``forward`` gives ``(pred, feat)``."""

    def __init__(self, student: nn.Module) -> None:
        super().__init__()
        self.student = student

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.student.forward_features(x)


class HalvingLR:
    """``lr_e = lr * 0.5 ** max(e - 2, 0)`` for 1-based epoch e: the reference schedule.

    Epochs 1 and 2 run at the base rate, then the rate halves every epoch. A class
    (not a lambda) so that fitted nets pickle.
    """

    def __call__(self, epochs_done: int) -> float:
        return 0.5 ** max(epochs_done - 1, 0)

    def __repr__(self) -> str:
        return "HalvingLR()"


class ResumedEarlyStopping(EarlyStopping):
    """skorch's EarlyStopping that can take over a net which has trained already.

    On a fresh fit it is EarlyStopping. When training goes on (``partial_fit``) on a net with
    a history, as the winner of a weight search does, it starts from the current weights and
    their validation loss (the last epoch's) instead of from scratch, so that the weights
    restored at the end are the best of that epoch and those after it.
    """

    def pause(self) -> None:
        """Make the coming ``partial_fit`` one stretch of a longer training: at its end the
        best weights are not restored and the state (best epoch, weights, misses) is kept for
        the next ``partial_fit``, unless this callback stopped the training."""
        self.pausing_ = True

    def on_train_begin(self, net, **kwargs) -> None:
        if getattr(self, "paused_", False):
            self.paused_ = False  # the same training goes on
            return
        super().on_train_begin(net, **kwargs)
        if len(net.history) and self.monitor in net.history[-1]:
            self.dynamic_threshold_ = self._calc_new_threshold(net.history[-1, self.monitor])
            self.best_epoch_ = net.history[-1, "epoch"]
            if self.load_best:
                self.best_model_weights_ = deepcopy(net.module_.state_dict())

    def on_train_end(self, net, **kwargs) -> None:
        pausing, self.pausing_ = getattr(self, "pausing_", False), False
        if pausing and self.misses_ < self.patience:
            self.paused_ = True
            return
        super().on_train_end(net, **kwargs)


def training_callbacks(
    terms, patience: int | None, has_valid: bool, verbose: int = 0, desc: str = "epochs"
) -> list:
    """The epochs' progress bar (``verbose >= 1``), term logging, the halving schedule, and
    (with validation) early stopping on valid_loss (its message at ``verbose >= 2``)."""
    callbacks = [("progress", EpochProgress(desc, verbose)), *term_scoring(terms)]
    schedule = LRScheduler(policy=torch.optim.lr_scheduler.LambdaLR, lr_lambda=HalvingLR())
    callbacks.append(("lr_schedule", schedule))
    if has_valid and patience:
        sink = print if verbose >= 2 else silent
        stopping = ResumedEarlyStopping(
            monitor="valid_loss", patience=patience, load_best=True, sink=sink
        )
        callbacks.append(("early_stopping", stopping))
    return callbacks


def check_levels(loss: TimeDistillLoss, horizon: int, feature_dim: int) -> None:
    """Every active distillation level must be long enough for its pooling and spectrum."""
    M = loss.n_scales
    if loss.pred_active and loss.use_scale and 2**M > horizon:
        raise ValueError(
            f"n_scales={M} pools the prediction {M} times: the horizon H={horizon} must be "
            f">= 2**n_scales = {2**M} for prediction-level distillation (alpha={loss.alpha}). "
            "Lower n_scales, or set alpha=0."
        )
    if loss.feat_active and loss.use_scale and 2**M > feature_dim:
        raise ValueError(
            f"n_scales={M} pools the student's feature {M} times: hidden_size={feature_dim} "
            f"must be >= 2**n_scales = {2**M} for feature-level distillation "
            f"(beta={loss.beta}). Lower n_scales, or set beta=0."
        )
    if loss.feat_active and loss.use_period and feature_dim < 2:
        raise ValueError(
            "feature-level distillation compares spectra over the hidden axis: hidden_size "
            "must be >= 2 (or set beta=0 or use_period=False)."
        )


def _project(teachers: Teachers, data, n_train: int, device: str) -> list[float | None]:
    """Replace, in place, each module whose feature is too wide by its projected form;
    return the variance fraction each projection keeps (None: not projected)."""
    k = teachers.feature_dim
    kept: list[float | None] = []
    for i, module in enumerate(teachers.modules):
        if k is None or module.feature_dim <= k:
            kept.append(None)
            continue
        teachers.modules[i] = project_features(module, data, n_train, k, device=device)
        kept.append(teachers.modules[i].kept)
    return kept


def _teacher_side(
    teachers: Teachers,
    data,
    n_train: int,
    with_features: bool,
    store: CacheStore,
    verbose: int,
    device: str,
    precision: str = "32",
) -> tuple[TeacherOutputs | None, FrozenTeacher | None, str]:
    """``(cached outputs for the training windows, None, place)``, the cache allocated in
    ``store`` (place ``"memory"`` or ``"disk"``), or ``(None, per-batch teacher, "off")``."""
    given = teachers.given
    itemsize = CACHE_DTYPES[teachers.cache_dtype].itemsize
    say = print if verbose >= 2 else silent
    if not teachers.modules:
        if teachers.cache == "off":  # arrays given by the caller: used as they are
            return given, None, "memory"
        store.place = cache_place(
            teachers.cache, outputs_nbytes(given, itemsize), teachers.cache_mb
        )
        say(f"teacher outputs stored in {store.place} as {teachers.cache_dtype}.")
        return _stored(given, store), None, store.place
    if len(teachers.modules) == 1 and given is None and teachers.weights == [1.0]:
        adapter = teachers.modules[0]
    else:
        adapter = EnsembleAdapter(teachers.modules, teachers.weights)
    dims = teachers.feature_dims[: len(teachers.modules)]
    horizon, n_channels = data[0][1].shape
    extra = TeacherOutputs(features=given.features) if given is not None and with_features else None
    n_bytes = outputs_nbytes(extra, itemsize) + sum(
        cache_nbytes(n_train, horizon, n_channels, d if with_features else None, itemsize)
        for d in dims
    )
    mode = teachers.cache
    if mode == "off" and given is not None:
        warnings.warn(
            "teacher_cache='off' runs the teachers per batch, but the forecasts of teachers "
            "from outside skdistill are computed once for all windows: the teachers' outputs "
            "are cached instead (as with teacher_cache='auto').",
            UserWarning,
            stacklevel=5,
        )
        mode = "auto"
    place = cache_place(mode, n_bytes, teachers.cache_mb)
    if place == "off":
        say("teacher_cache='off': running the teacher on every batch.")
        return None, FrozenTeacher(adapter), "off"
    store.place = place

    add_pred = None if given is None else given.pred

    def run() -> TeacherOutputs:
        return compute_teacher_outputs(
            adapter,
            data,
            with_features=with_features,
            n_windows=n_train,
            device=device,
            allocate=store.allocate,
            add_pred=add_pred,
            verbose=verbose,
        )

    def compute() -> TeacherOutputs | MappedOutputs:
        if place == "memory" and is_remembering(teachers.memory):
            # Every candidate of a grid search's fold runs the same teacher over the same
            # windows: the pass is made once and loaded afterwards (a RAM cache only).
            stored, loaded = remembered_pass(
                teachers.memory,
                "teacher outputs",
                adapter,
                data,
                n_train,
                device,
                precision,
                lambda: to_arrays(run()),
                extra=(with_features, tensor_key(add_pred), teachers.cache_dtype),
            )
            out = from_arrays(stored)
            if loaded:
                say("teacher outputs: loaded from memory (same teacher, same windows).")
        else:
            out = run()
        if extra is not None:
            out = TeacherOutputs(out.pred, out.features + _stored(extra, store).features)
        return store.shareable(out)

    # Under Accelerate the main process computes the cache and shares it: the tensors of a
    # RAM cache, only the file names of a disk cache (every process opens the same files).
    cache = open_outputs(compute_on_main(compute))
    folder = f" ({store.folder})" if store.folder else ""
    say(
        f"teacher cache: {n_bytes / _MB:.1f} MB as {teachers.cache_dtype} in {place}{folder}; "
        f"teacher_cache_mb={teachers.cache_mb}."
    )
    return cache, None, place


def _stored(outputs: TeacherOutputs, store: CacheStore) -> TeacherOutputs:
    """``outputs`` copied into ``store`` (as they are when kept in RAM as float32)."""
    pred = None if outputs.pred is None else store.copy(outputs.pred)
    return TeacherOutputs(pred, tuple(store.copy(f) for f in outputs.features))


def fit_timedistill(
    build_student: Callable[[], nn.Module],
    data,
    n_valid: int,
    loss: dict,
    settings: TrainSettings,
    teachers: Teachers | None = None,
    *,
    name: str = "student",
    teacher_valid_loss: float | None = None,
) -> tuple[DistillNet, str | None]:
    """Train a student on windows with the TimeDistill objective; return ``(net, place)``.

    Parameters
    ----------
    build_student : callable
        Builds the student (``forward_features(x) -> (pred, feature)``, ``feature_dim``);
        called under the seed, first, so that its initial weights depend on the seed only.
    data : SlidingWindowDataset or ArrayWindowDataset
        Training windows first, then the ``n_valid`` validation windows.
    n_valid : int
        Number of trailing validation windows (0: none; no early stopping).
    loss : dict
        :class:`~skdistill.losses.timedistill.TimeDistillLoss` parameters (the weights as
        used: 0 for a level without teacher outputs), and optionally ``"candidates"``: a
        list of ``(alpha, beta)`` pairs to choose the weights from on the validation windows
        (:func:`search_weights`; the weights in ``loss`` are then ignored). The search's
        record is left in ``net.weight_search_`` and the chosen pair in ``net.weights_``;
        with ``"teacher_margin"`` (a float) too, a teacher whose validation loss exceeds that
        many times the student-alone candidate's is dropped (see :func:`search_weights`),
        which ``net.teacher_dropped_`` tells.
    settings : TrainSettings
    teachers : Teachers, optional
        None, or no module and nothing given, trains the student alone.
    name : str, default="student"
        Who is trained, for the epochs' progress bar (``"<name> epochs"``).
    teacher_valid_loss : float, optional
        The teachers' validation loss when the caller knows it (teacher outputs given as
        arrays); by default computed from ``teachers.modules`` (None for given outputs).
        Left in ``net.teacher_valid_loss_`` when the fit distils.

    Returns
    -------
    net : DistillNet
        Fitted, slim (no optimiser state, no teacher); ``net.module_.student`` predicts.
    place : {"memory", "disk", "off"} or None
        Where the teacher's outputs lived during training: cached in RAM, cached in
        files read by rows (removed before this returns, also on an error or Ctrl-C), or
        not cached (the teacher ran on every batch); None when no teacher output was used.
    """
    loss = dict(loss)
    candidates = loss.pop("candidates", None)
    margin = loss.pop("teacher_margin", None)
    if candidates:
        if not n_valid:
            raise ValueError("choosing the loss weights needs validation windows (n_valid > 0)")
        # The cache holds what the most demanding candidate needs.
        loss["alpha"] = max(a for a, _ in candidates)
        loss["beta"] = max(b for _, b in candidates)
    distills = (loss["alpha"] > 0 or loss["beta"] > 0) and (
        loss.get("use_scale", True) or loss.get("use_period", True)
    )
    if not (loss.get("use_supervised", True) or distills):
        # Said here, in the estimators' words, before the loss itself would refuse.
        raise ValueError(
            "use_supervised=False leaves no training signal: pass teacher outputs with "
            "alpha > 0 or beta > 0 (and use_scale or use_period), or set use_supervised=True."
        )
    objective_loss = TimeDistillLoss(**loss)
    n_train = len(data) - n_valid
    home = CacheStore()
    if teachers is not None:
        home = CacheStore(dtype=teachers.cache_dtype, directory=teachers.cache_dir)
    place = None
    # The cache's home (RAM, or a temporary folder of files) lasts for this block only:
    # the folder is removed after training, after an error and after Ctrl-C alike.
    with home as store, torch.random.fork_rng(devices=cuda_devices()):
        try:
            torch.manual_seed(settings.seed)
            student = build_student()
            check_levels(objective_loss, data[0][1].shape[0], student.feature_dim)
            feat_on = objective_loss.feat_active
            if teachers is not None and feat_on and teachers.modules:
                teachers.kept_variance = _project(teachers, data, n_train, settings.device)
            dims = teachers.feature_dims if teachers is not None and feat_on else []
            # Built only when used, so alpha = beta = 0 draws exactly the student's weights.
            objective = TimeDistillObjective(
                objective_loss, [FeatureRegressor(d, student.feature_dim) for d in dims]
            )
            cache, per_batch = None, None
            if teachers is not None and (objective.needs_teacher_pred or feat_on):
                # The teachers' outputs for this fit run at the fit's precision.
                with autocast(settings.precision, settings.device):
                    cache, per_batch, place = _teacher_side(
                        teachers,
                        data,
                        n_train,
                        feat_on,
                        store,
                        settings.verbose,
                        settings.device,
                        settings.precision,
                    )
            if distills and teacher_valid_loss is None:
                # Before the search, which may drop a teacher far worse than the student.
                teacher_valid_loss = _teacher_valid_loss(teachers, data, n_train, settings)
            data.with_teacher(cache)
            del cache  # the dataset holds the only reference: dropped (files closed) below
            search = None
            if candidates:
                net, search = search_weights(
                    build_student,
                    loss,
                    candidates,
                    dims,
                    data,
                    n_valid,
                    settings,
                    per_batch,
                    name,
                    teacher_valid_loss=teacher_valid_loss,
                    margin=margin,
                )
            else:
                net = _train(student, objective, data, n_valid, settings, per_batch, name)
        finally:
            # The teacher and its cache are not needed to predict; do not pickle them with
            # the net, and unmap the cache's files before their folder goes.
            data.with_teacher(None)
    net.teacher = None
    net.module_.eval()
    if search is not None:
        net.weight_search_, net.weights_ = search["scores"], search["chosen"]
        net.teacher_dropped_ = search["dropped"]
    if distills:
        net.teacher_valid_loss_ = teacher_valid_loss
    return net, place


def search_weights(
    build_student,
    loss: dict,
    candidates,
    dims,
    data,
    n_valid: int,
    settings,
    teacher,
    name: str,
    *,
    teacher_valid_loss: float | None = None,
    margin: float | None = None,
) -> tuple[DistillNet, dict]:
    """Choose ``(alpha, beta)`` among ``candidates`` on the validation windows; return the
    chosen candidate's fitted net and the search's record.

    ``candidates[0]`` is the baseline, the searched weight at 0 (the student without that
    teacher signal). Every candidate trains one epoch from the initial weights a fit with its
    weights fixed would draw; then the baseline trains on to the end, and the others by
    successive halving (:func:`~skdistill.training.halving.halve`: the three best to three
    epochs, on together while within 2 % of the leader, the leader to the end), each as a
    fit would (``max_epochs`` counting
    every epoch, early stopping across the pause; each candidate's random stream saved
    between its epochs, so that it is exactly that fit). That one is the fit if its kept
    validation loss is more than 2 % below the baseline's, else the baseline (a smaller lead
    is a tie: :func:`~skdistill.training.halving.clearly_better`).
    So distillation is kept only where it beats the student without it on validation after
    full training, not after a few epochs, where a teacher's pull often helps early and hurts
    late. All candidates read the same teacher outputs (the cache, or the per-batch
    ``teacher``); a candidate that diverges loses.

    With ``margin`` and ``teacher_valid_loss`` given, the baseline trains on first, and a
    teacher whose validation loss exceeds ``margin`` times the baseline's kept one is
    dropped without training the distilled candidates on: such a teacher (stale,
    overfitted) can still lower the validation loss a little, by regularising, but in our
    runs that gain did not carry over to new data (ETTh1, a teacher 1.5x worse: -4 % on
    validation, +1.4 % on test), while the teachers that helped were within the margin.

    Returns
    -------
    net : DistillNet
        The chosen candidate's net, fitted and slim.
    record : dict
        ``{"chosen": (alpha, beta), "scores": [...], "dropped": bool}``, one score per
        candidate: the weights, the epochs it trained and its validation loss at the weights
        it kept (so far, for a candidate the halving left behind); ``dropped`` tells whether
        the teacher was dropped for exceeding ``margin``.
    """
    nets, diverged, rng = {}, set(), {}

    def run(i: int, step) -> None:
        # Each candidate draws its shuffles from its own stream, saved between its epochs,
        # so that a finalist's training is exactly a fit with its weights fixed.
        if i in rng:
            _set_rng_state(rng[i])
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*y.*None.*", category=UserWarning)
            try:
                step(data, None)
            except FloatingPointError:
                diverged.add(i)  # a candidate that diverges loses; the search goes on
            finally:
                close_bars(nets[i])
                rng[i] = _rng_state()

    for i, weights in enumerate(candidates):
        nets[i] = _candidate_net(build_student, loss, weights, dims, n_valid, settings, teacher)
        nets[i].max_epochs = 1
        run(i, nets[i].fit)
    others = sorted(
        range(1, len(candidates)), key=lambda i: (_kept_valid(nets[i], i in diverged), i)
    )

    continued = set()

    def train_on(i: int, until: int) -> None:
        # On to epoch `until` of the fit's max_epochs; short of the end, a pause that the
        # next call resumes exactly (early stopping's state kept, nothing restored).
        net = nets[i]
        if i in diverged or net.stopped_early() or len(net.history) >= until:
            return
        if i not in continued:
            _continue_settings(net, settings, name, candidates[i])
            continued.add(i)
        net.max_epochs = until - len(net.history)
        stopping = dict(net.callbacks_).get("early_stopping")
        if stopping is not None and until < settings.max_epochs:
            stopping.pause()
        run(i, net.partial_fit)

    train_on(0, settings.max_epochs)
    dropped = (
        margin is not None
        and teacher_valid_loss is not None
        and teacher_valid_loss > margin * _kept_valid(nets[0], 0 in diverged)
    )
    leader = None
    if not dropped:
        leader = halve(
            others, train_on, lambda i: _kept_valid(nets[i], i in diverged), settings.max_epochs
        )
    finalists = [0] if leader is None else [0, leader]
    kept = {i: _kept_valid(nets[i], i in diverged) for i in finalists}
    # The teacher is kept only where it clearly helps: a tie keeps the student alone.
    chosen = leader if leader is not None and clearly_better(kept[leader], kept[0]) else 0
    scores = []
    for i, net in nets.items():
        a, b = candidates[i]
        valid = _kept_valid(net, i in diverged)
        scores.append({"alpha": a, "beta": b, "epochs": len(net.history), "valid_loss": valid})
    if settings.verbose:
        lines = ", ".join(
            f"({r['alpha']:g}, {r['beta']:g}): {r['valid_loss']:.4g} after {r['epochs']}"
            for r in scores
        )
        print(f"weight search (alpha, beta): valid loss after epochs: {lines}", file=sys.stderr)
        if dropped:
            print(
                f"weight search: teacher dropped, its valid loss {teacher_valid_loss:.4g} is "
                f"over {margin:g}x the student alone's",
                file=sys.stderr,
            )
    if kept[chosen] == float("inf"):
        raise FloatingPointError(
            "every candidate of the weight search diverged: lower lr (now "
            f"{settings.lr:g}) or check the data's scale."
        )
    record = {"chosen": candidates[chosen], "scores": scores, "dropped": dropped}
    return finish_net(nets[chosen]), record


def _rng_state() -> tuple:
    """The global torch RNG states (CPU and every CUDA device) that training draws from."""
    return torch.get_rng_state(), [torch.cuda.get_rng_state(d) for d in cuda_devices()]


def _set_rng_state(state: tuple) -> None:
    cpu, devices = state
    torch.set_rng_state(cpu)
    for d, s in zip(cuda_devices(), devices, strict=True):
        torch.cuda.set_rng_state(s, d)


def _candidate_net(build_student, loss: dict, weights, dims, n_valid: int, settings, teacher):
    """A search candidate's net: the student and regressors drawn as a fit with these
    weights fixed would draw them, without early stopping."""
    a, b = weights
    objective_loss = TimeDistillLoss(**{**loss, "alpha": a, "beta": b})
    torch.manual_seed(settings.seed)
    student = build_student()
    used = dims if objective_loss.feat_active else []
    objective = TimeDistillObjective(
        objective_loss, [FeatureRegressor(d, student.feature_dim) for d in used]
    )
    return build_net(
        ForecastStudent(student),
        objective,
        settings,
        train_split=TailSplit(n_valid),
        callbacks=training_callbacks(
            objective.active_terms(),
            None,
            True,
            int(settings.verbose),
            f"weights alpha={a:g} beta={b:g}",
        ),
        teacher=teacher,
    )


def _continue_settings(net, settings, name: str, weights) -> None:
    """Make a candidate's net train on as a fit: early stopping from its current weights,
    the schedule where it is, the fit's progress bar."""
    objective = net.core_criterion()
    net.callbacks = training_callbacks(
        getattr(objective, "_orig_mod", objective).active_terms(),
        settings.patience,
        True,
        int(settings.verbose),
        f"{name} epochs alpha={weights[0]:g} beta={weights[1]:g}",
    )
    net.initialize_callbacks()


def _kept_valid(net, diverged: bool) -> float:
    """A finalist's validation loss at the weights it kept (inf once it diverged)."""
    if diverged:
        return float("inf")
    value = kept_valid_loss(net)
    return float("inf") if value is None or not math.isfinite(value) else value


def kept_valid_loss(net) -> float | None:
    """The validation loss of the weights a fitted net kept: the epoch its early stopping
    restored (a weight search's winner included), else the last epoch's; None without
    validation windows."""
    losses = {row["epoch"]: row["valid_loss"] for row in net.history if "valid_loss" in row}
    if not losses:
        return None
    stopping = dict(getattr(net, "callbacks_", [])).get("early_stopping")
    kept = getattr(stopping, "best_epoch_", None)
    return float(losses.get(kept, losses[max(losses)]))


def _teacher_valid_loss(teachers: Teachers | None, data, n_train: int, settings) -> float | None:
    """The teachers' validation loss (MSE of their weighted forecast on the validation
    windows, the student's ``valid_loss`` scale); None without validation windows or when a
    teacher's forecasts were given for the training windows only (sktime teachers)."""
    if teachers is None or not teachers.modules or teachers.given is not None:
        return None
    if len(data) <= n_train:
        return None  # no validation window
    modules = teachers.modules
    adapter = modules[0] if len(modules) == 1 else EnsembleAdapter(modules, teachers.weights)

    def compute() -> float | None:
        with autocast(settings.precision, settings.device):
            return validation_mse(adapter, data, n_train, settings.device)

    value, _ = remembered_pass(
        teachers.memory,
        "teacher validation loss",
        adapter,
        data,
        n_train,
        settings.device,
        settings.precision,
        compute,
    )
    return value


def pretrained_net(
    build_student: Callable[[], nn.Module], state_dict: dict, settings: TrainSettings
) -> DistillNet:
    """A fitted-looking net around a student whose weights are given, not trained.

    ``state_dict`` (the student's, as ``state_dict()`` returned it) must match the module
    ``build_student`` makes, key for key and shape for shape; otherwise a ValueError says
    which keys differ. The net has an empty history: it was never trained here.
    """
    with torch.random.fork_rng(devices=cuda_devices()):
        torch.manual_seed(settings.seed)
        student = build_student()
    try:
        student.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        raise ValueError(
            f"the weights do not fit this network: {exc}. They were saved by a forecaster "
            "with other architecture parameters, window_length or horizon."
        ) from None
    objective = TimeDistillObjective(TimeDistillLoss(alpha=0.0, beta=0.0), [])
    net = build_net(ForecastStudent(student), objective, settings, train_split=None, callbacks=[])
    net.initialize()
    net.module_.eval()
    return finish_net(net)


def _train(
    student, objective, data, n_valid: int, settings: TrainSettings, teacher, name: str
) -> DistillNet:
    """Build the net around ``student`` and ``objective``, fit it on ``data``, slim it."""
    net = build_net(
        ForecastStudent(student),
        objective,
        settings,
        train_split=TailSplit(n_valid),
        callbacks=training_callbacks(
            objective.active_terms(),
            settings.patience,
            bool(n_valid),
            int(settings.verbose),
            f"{name} epochs",
        ),
        teacher=teacher,
    )
    with warnings.catch_warnings():
        # skorch warns that y=None with a Dataset; that is how windows are passed.
        warnings.filterwarnings("ignore", message=".*y.*None.*", category=UserWarning)
        try:
            net.fit(data, None)
        finally:
            close_bars(net)  # skorch ends no callback after an error
    return finish_net(net)


@torch.no_grad()
def predict_student(
    net: DistillNet,
    windows: np.ndarray,
    mean: np.ndarray,
    scale: np.ndarray,
    batch: int = 1024,
    constant: np.ndarray | None = None,
) -> np.ndarray:
    """Forecast windows ``(n, L, C)`` given in data units with the fitted student.

    The windows are standardised with ``mean`` / ``scale`` (``(C,)`` for every window, or
    ``(n, C)``: one row per window, as for the series of a panel), run ``batch`` at a time
    (the input never exists standardised in full), and the forecasts mapped back to data
    units: ``(n, H, C)`` float64. Channels flagged in ``constant`` (``(C,)`` or ``(n, C)``;
    constant over the training data, see
    :func:`~skdistill.training.windows.constant_channels`) are forecast as their last value
    in each window.
    """
    module = net.module_.student.eval()
    per_window = np.ndim(mean) == 2
    out = []
    for lo in range(0, len(windows), batch):
        m, s = (
            (mean[lo : lo + batch, None], scale[lo : lo + batch, None])
            if per_window
            else (mean, scale)
        )
        z = (windows[lo : lo + batch] - m) / s
        with net.autocast():  # the fitted precision; float32 out
            pred = module(torch.as_tensor(z, dtype=torch.float32, device=net.device))
        pred = pred.float().cpu().numpy()
        out.append(pred.astype(np.float64) * s + m)
    if not out:
        return np.empty((0, module.horizon, np.shape(mean)[-1]))
    pred = np.concatenate(out)
    if constant is not None and constant.any():
        mask = constant[:, None, :] if np.ndim(constant) == 2 else constant
        pred = np.where(mask, windows[:, -1:, :], pred)
    return pred
