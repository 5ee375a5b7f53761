"""The skorch layer of image distillation: teacher outputs, the tapped student, one fit.

:func:`fit_distilled_classifier` is what the classifiers call, once per ``fit``: with a teacher
(whose logits :func:`check_logits` has checked) it finds the tapped layers' shapes with one dry
forward, caches the teacher's outputs (logits, and the normalised map when a feature term is
used), taps the student, builds the method's objective from those shapes and trains a
:class:`~skdistill.training.net.DistillNet` (the student is the module, the objective the
criterion). The trainable parts that exist only for training (projector, DS2S, OFA branch) are
built here and handed to the objectives of :mod:`skdistill.losses`. Knows nothing of
scikit-learn estimators.
"""

from __future__ import annotations

import contextlib
import copy
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback
from skorch.helper import SliceDict
from torch import nn

from skdistill.losses.base import DistillationObjective
from skdistill.losses.kd import CrossEntropyObjective
from skdistill.losses.sfkd import SFKDLoss, SFKDObjective
from skdistill.nn.vision import (
    DS2S,
    FeatureTap,
    StudentProjector,
    VectorLift,
    channel_layernorm,
    discover_shapes,
    to_canonical,
)
from skdistill.training.accelerate import compute_on_main, finish_net
from skdistill.training.halving import clearly_better, halve
from skdistill.training.net import (
    TEACHER_FEAT,
    TEACHER_PRED,
    DistillNet,
    TrainSettings,
    autocast,
    build_net,
    term_scoring,
)
from skdistill.training.progress import EpochProgress, close_bars, progress_bar

_BATCH = 512


# --------------------------------------------------------------------------- what a fit is given
@dataclass(frozen=True)
class ImageTeacher:
    """The teacher's side of a fit.

    Parameters
    ----------
    module : nn.Module, optional
        A frozen torch teacher mapping images to logits (never trained; tapped by a hook),
        already checked by :func:`check_logits`.
    logits : callable, optional
        For a teacher without a torch module: returns its (n, K) logits for the training images
        (called once, by the main process under Accelerate).
    layer : str, default="auto"
        Module path of the teacher's tap.
    use_features : bool, default=False
        Whether a feature term is used (then ``module`` is tapped and its map cached).
    grid : callable, optional
        Maps the teacher map's canonical shape to the grid it is resized to (None: as it is).
    """

    module: nn.Module | None = None
    logits: Callable[[], np.ndarray] | None = None
    layer: str = "auto"
    use_features: bool = False
    grid: Callable[[tuple], tuple | None] | None = None


@dataclass(frozen=True)
class ObjectiveContext:
    """What a method's objective is built from.

    Attributes
    ----------
    n_classes : int
    use_features : bool
        Whether the teacher map is cached (feature terms possible).
    student_shape : tuple or None
        Canonical shape of the tapped student feature (None when the student is not tapped).
    teacher_shape : tuple or None
        Aligned shape of the normalised teacher map (None without features).
    """

    n_classes: int
    use_features: bool = False
    student_shape: tuple | None = None
    teacher_shape: tuple | None = None


# --------------------------------------------------------------------------- trainable parts
def make_projector(student_shape: tuple, teacher_shape: tuple) -> nn.Module:
    """Student-side alignment onto the teacher's canonical shape.

    Maps (C, H, W) -> resize + Conv1x1 + BatchNorm; a vector (1, D) onto a map -> Linear lift;
    vector onto vector -> Linear(D_s, D_t) (kept as (B, 1, D_t)).
    """
    if len(teacher_shape) == 3:
        c_t, h, w = teacher_shape
        if len(student_shape) == 3:
            return StudentProjector(student_shape[0], c_t, (h, w))
        return VectorLift(student_shape[-1], c_t, (h, w))
    if len(student_shape) == 3:
        # A map student against a vector teacher: pool the map, then a linear map.
        return nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(student_shape[0], teacher_shape[-1]),
            nn.Unflatten(1, (1, teacher_shape[-1])),
        )
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(student_shape[-1], teacher_shape[-1]),
        nn.Unflatten(1, (1, teacher_shape[-1])),
    )


def ofa_branch(student_shape: tuple, n_classes: int) -> nn.Module:
    """OFA's branch: the tapped student feature to logits (pool for maps, LayerNorm, Linear)."""
    width = student_shape[0] if len(student_shape) == 3 else student_shape[-1]
    pool = [nn.AdaptiveAvgPool2d(1)] if len(student_shape) == 3 else []
    return nn.Sequential(*pool, nn.Flatten(), nn.LayerNorm(width), nn.Linear(width, n_classes))


def sfkd_objective(
    ctx: ObjectiveContext, *, levels: int, ds2s: str, **loss_options
) -> SFKDObjective:
    """SFKD's objective for the tapped shapes: the projector, the DS2S refiner, the loss.

    Built in that order (the draws from torch's RNG follow it). Without features the loss is
    logit-only: no projector and a parameter-free DS2S on a placeholder grid.

    Parameters
    ----------
    ctx : ObjectiveContext
    levels : int
        Wavelet levels.
    ds2s : {"full", "light", "none"}
        The DS2S variant.
    **loss_options
        The other :class:`~skdistill.losses.sfkd.SFKDLoss` parameters.
    """
    if ctx.use_features:
        projector = make_projector(ctx.student_shape, ctx.teacher_shape)
        channels, grid = ctx.teacher_shape[0], tuple(ctx.teacher_shape[1:])
    else:
        projector, channels, grid, ds2s = None, 1, (2**levels,) * 2, "none"
    refiner = DS2S(channels, levels, grid, mode=ds2s)
    loss = SFKDLoss(channels, grid, levels=levels, ds2s=refiner, **loss_options)
    return SFKDObjective(projector, loss)


class TappedStudent(nn.Module):
    """The student, with its feature tapped while training (skorch's ``module``).

    In eval mode ``forward`` is the student alone (what ``predict_proba`` runs); in training
    mode it returns ``(logits, feature)``: the tapped output in canonical layout, or None when
    ``tap`` is off.

    Parameters
    ----------
    student : nn.Module
        The network that predicts (``net_.module_.student``).
    layer : str, optional
        Module path of the tap.
    canonical_kwargs : dict, optional
        :func:`~skdistill.nn.vision.to_canonical` keywords for the tapped output.
    tap : bool, default=False
        Whether the objective needs the feature.
    """

    def __init__(
        self,
        student: nn.Module,
        layer: str | None = None,
        canonical_kwargs: dict | None = None,
        tap: bool = False,
    ) -> None:
        super().__init__()
        self.student = student
        self.layer = layer
        self.canonical_kwargs = dict(canonical_kwargs or {})
        self.tap = bool(tap)

    def forward(self, x: torch.Tensor):
        if not self.training:
            return self.student(x)
        if not self.tap:
            return self.student(x), None
        # The hook lives for one forward only: nothing to unregister before pickling.
        with FeatureTap(self.student, self.layer) as tap:
            logits = self.student(x)
        return logits, to_canonical(tap.output, **self.canonical_kwargs)


class FeatureWarmup(Callback):
    """Linear warm-up of the feature-term weights over the first ``epochs`` epochs.

    Sets the objective's ``feature_weight_scale`` at the start of each epoch.
    """

    def __init__(self, epochs: int = 0) -> None:
        self.epochs = int(epochs)

    def on_epoch_begin(self, net, **kwargs) -> None:
        done = len(net.history) - 1  # the new epoch row is already there
        scale = 1.0 if self.epochs <= 0 else min(1.0, (done + 1) / self.epochs)
        net.core_criterion().feature_weight_scale = scale


# --------------------------------------------------------------------------- the teacher side
@contextlib.contextmanager
def _evaluated_on(teacher: nn.Module, device: str) -> Iterator[nn.Module]:
    """The teacher in eval mode on ``device``; its mode and device restored after."""
    was_training = teacher.training
    home = next(teacher.parameters(), torch.empty(0)).device
    teacher.eval()
    teacher.to(device)
    try:
        yield teacher
    finally:
        teacher.train(was_training)
        teacher.to(home)  # the user's module goes back where it was


def check_logits(
    module: nn.Module, images: np.ndarray, classes, device: str, *, name: str = "teacher"
) -> None:
    """One dry forward on two images: ``module`` must take them and give one logit per class.

    Run once per fit, before anything is cached or trained, so that a network that cannot
    take the images (or was built for other classes) fails with a message naming it instead
    of a shape error deep inside the training loop.

    Parameters
    ----------
    module : nn.Module
        The network (eval mode and ``no_grad`` during the pass; its mode and device restored).
    images : ndarray (n, C, H, W)
        The training images (the first two are used).
    classes : sequence
        The class labels of y (their number is the required output width).
    device : str
    name : str, default="teacher"
        The parameter the module came from, for the messages.

    Raises
    ------
    ValueError
        If the forward raises (chained to the original error), or the output is not a finite
        ``(2, len(classes))`` tensor.
    """
    batch = torch.as_tensor(images[:2])
    try:
        with _evaluated_on(module, device), torch.no_grad():
            out = module(batch.to(device))
    except Exception as exc:
        raise ValueError(
            f"{name} ({type(module).__name__}) cannot take the input images: on a batch of "
            f"shape {tuple(batch.shape)} (n, C, H, W) it raised {type(exc).__name__}: {exc}. "
            f"Pass a {name} built for {tuple(batch.shape[1:])} images, or give X (and "
            f"input_shape) the shape the {name} expects."
        ) from exc
    want = (len(batch), len(classes))
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"{name} ({type(module).__name__}) outputs {got} for {len(batch)} images; it must "
            f"give {want} logits, one per class of y ({np.asarray(classes).tolist()}): fit the "
            f"{name} on the same classes, or give its last layer {len(classes)} outputs."
        )
    if not torch.isfinite(out).all():
        raise ValueError(
            f"{name} ({type(module).__name__}) gives non-finite logits on the first images; "
            f"check the {name}'s weights and the scale of X."
        )


def normalise_teacher_map(m: torch.Tensor, grid: tuple | None = None) -> torch.Tensor:
    """Resize a canonical teacher map to ``grid``; the parameter-free channel LayerNorm."""
    if m.ndim == 4:
        grid = grid or tuple(m.shape[-2:])
        if tuple(m.shape[-2:]) != tuple(grid):
            m = F.interpolate(m, size=grid, mode="bilinear", align_corners=False)
        return channel_layernorm(m) if m.shape[1] > 1 else F.layer_norm(m, m.shape[-2:])
    return F.layer_norm(m, m.shape[-1:])  # (B, 1, D): normalise the vector


def _teacher_pass(teacher, images, n_classes, device, info, grid, verbose=0):
    """Logits (n, K) and, with a tap ``info``, the normalised maps, batch by batch (a
    progress bar over the images when ``verbose``)."""
    logits = np.empty((len(images), n_classes), dtype=np.float32)
    maps = None
    with contextlib.ExitStack() as stack:
        stack.enter_context(_evaluated_on(teacher, device))
        stack.enter_context(torch.no_grad())
        tap = None
        if info is not None:
            tap = stack.enter_context(FeatureTap(teacher, info["layer"], detach=True))
        bar = stack.enter_context(
            progress_bar(len(images), "teacher outputs", verbose, unit="image")
        )
        for lo in range(0, len(images), _BATCH):
            xb = torch.as_tensor(images[lo : lo + _BATCH]).to(device)
            logits[lo : lo + len(xb)] = teacher(xb).float().cpu().numpy()
            if tap is not None:
                m = to_canonical(tap.output, **info["canonical_kwargs"])
                m = normalise_teacher_map(m, grid)
                if maps is None:
                    maps = np.empty((len(images), *m.shape[1:]), dtype=np.float32)
                maps[lo : lo + len(xb)] = m.float().cpu().numpy()
            bar.update(len(xb))
    return logits, maps


def teacher_outputs(
    teacher: nn.Module,
    images: np.ndarray,
    n_classes: int,
    device: str,
    info: dict | None = None,
    grid: tuple | None = None,
    verbose: int = 0,
) -> tuple[dict, dict | None]:
    """The teacher's outputs on every image, for the batch cache.

    Parameters
    ----------
    teacher : nn.Module
        Frozen; run in eval mode under ``no_grad`` and put back as it was.
    images : ndarray (n, C, H, W)
    n_classes : int
    device : str
    info : dict, optional
        The teacher tap (:func:`~skdistill.nn.vision.discover_shapes`); None: logits only.
    grid : tuple, optional
        Grid the teacher map is resized to.
    verbose : int, default=0
        A progress bar over the images (``"teacher outputs"``, on stderr) when > 0.

    Returns
    -------
    cache : dict
        ``TEACHER_PRED``: logits (n, K) (the log of probabilities for a module ending in a
        softmax), and ``TEACHER_FEAT``: the normalised maps when tapped.
    shapes : dict or None
        The teacher tap's layer and raw, canonical and aligned shapes.
    """
    logits, maps = _teacher_pass(teacher, images, n_classes, device, info, grid, verbose)
    if not np.isfinite(logits).all():
        raise FloatingPointError("the teacher produced non-finite logits.")
    if (logits >= 0).all() and np.allclose(logits.sum(axis=1), 1.0, atol=1e-4):
        # A module ending in softmax (skorch's NLLLoss-style classifiers): its outputs are
        # probabilities; their log is a valid logit vector (softmax is shift-invariant).
        logits = np.log(np.clip(logits, 1e-12, None)).astype(np.float32)
    if maps is None:
        return {TEACHER_PRED: logits}, None
    shapes = {
        "layer": info["layer"],
        "raw": info["raw_shape"],
        "canonical": info["canonical_shape"],
        "aligned": tuple(maps.shape[1:]),
    }
    return {TEACHER_PRED: logits, TEACHER_FEAT: maps}, shapes


def _teacher_side(
    teacher: ImageTeacher, images, classes, device, verbose: int = 0
) -> tuple[dict, dict | None]:
    """Find the teacher's tap and cache its outputs (once, on the main process)."""
    if teacher.module is None:
        return compute_on_main(lambda: ({TEACHER_PRED: teacher.logits()}, None))
    module = teacher.module  # already checked by check_logits at the estimator's boundary
    info = grid = None
    if teacher.use_features:
        info = discover_shapes(module, teacher.layer, torch.as_tensor(images[:2]).to(device))
        if teacher.grid is not None:
            grid = teacher.grid(info["canonical_shape"])
    return compute_on_main(
        lambda: teacher_outputs(module, images, len(classes), device, info, grid, verbose)
    )


# --------------------------------------------------------------------------- the one entry point
def _classifier_net(
    module: TappedStudent, objective, settings: TrainSettings, name: str = "student"
) -> DistillNet:
    callbacks = [
        ("progress", EpochProgress(f"{name} epochs", int(settings.verbose))),
        *term_scoring(objective.active_terms()),
        ("feature_warmup", FeatureWarmup(settings.warmup_epochs)),
    ]
    return build_net(module, objective, settings, train_split=None, callbacks=callbacks)


def fit_distilled_classifier(
    student: nn.Module,
    images: np.ndarray,
    y: np.ndarray,
    make_objective: Callable[[ObjectiveContext, dict], DistillationObjective],
    *,
    classes,
    settings: TrainSettings,
    teacher: ImageTeacher | None = None,
    weights: dict | None = None,
    candidates: list[dict] | None = None,
    student_layer: str = "auto",
    tap_student: bool = False,
    name: str = "student",
) -> tuple[DistillNet, dict, dict | None]:
    """Train ``student`` on ``(images, y)``, distilled from ``teacher`` when given.

    Call it under the fit's seed, right after building the student (and resolving the
    teacher): the objective's trainable parts are drawn next, then the net trains.

    Parameters
    ----------
    student : nn.Module
        The network to train (trained in place).
    images : ndarray (n, C, H, W), float32
    y : ndarray (n,)
        Encoded labels in ``range(len(classes))``.
    make_objective : callable
        ``(ObjectiveContext, weights) -> DistillationObjective``, the method's objective for
        the tapped shapes and the loss weights (a dict by parameter name); not called without
        a teacher (the student then trains on cross-entropy).
    classes : sequence
        The class labels (for messages; their number is the logits' width).
    settings : TrainSettings
    teacher : ImageTeacher, optional
        None trains the student alone.
    weights : dict, optional
        The loss weights, passed to ``make_objective``.
    candidates : list of dict, optional
        Loss weights to choose among on held-out images (:func:`search_weights`; then
        ``weights`` is ignored); ``candidates[0]`` must be the baseline without the teacher's
        signal. The chosen weights are then trained on every image, as a fit with them fixed.
    student_layer : str, default="auto"
        Module path of the student's tap.
    tap_student : bool, default=False
        Tap the student even without a teacher map (OFA's branch).
    name : str, default="student"
        Who is trained, for the epochs' progress bar (``"<name> epochs"``).

    Returns
    -------
    net : DistillNet
        Fitted and slim; ``net.module_.student`` predicts, ``net.criterion_`` is the objective.
    feature_shapes : dict
        ``"teacher"`` and ``"student"`` taps (layer, raw, canonical and aligned shapes), when
        tapped.
    search : dict or None
        With ``candidates``: :func:`search_weights`'s record (``"chosen"``, ``"scores"``,
        ``"valid_loss"``, ``"teacher_valid_loss"``); else None.
    """
    shapes: dict = {}
    cache: dict = {}
    use_features = teacher is not None and teacher.use_features
    if teacher is not None:
        # The teacher's outputs for this fit run at the fit's precision (float32 out).
        with autocast(settings.precision, settings.device):
            cache, teacher_shapes = _teacher_side(
                teacher, images, classes, settings.device, int(settings.verbose)
            )
        if teacher_shapes is not None:
            shapes["teacher"] = teacher_shapes
    ctx = ObjectiveContext(len(classes), use_features)
    layer, kwargs = None, {}
    if teacher is not None and (use_features or tap_student):
        info = discover_shapes(student, student_layer, torch.as_tensor(images[:2]))
        shapes["student"] = {
            "layer": info["layer"],
            "raw": info["raw_shape"],
            "canonical": info["canonical_shape"],
        }
        layer, kwargs = info["layer"], info["canonical_kwargs"]
        teacher_shape = shapes["teacher"]["aligned"] if use_features else None
        ctx = ObjectiveContext(len(classes), use_features, info["canonical_shape"], teacher_shape)
    y = y.astype(np.int64)
    search = None
    if teacher is not None and candidates:
        # Every candidate, and the final fit, draws from this state: each starts as a fit
        # with its weights fixed would (the same student copy, the same objective draws).
        start = torch.random.get_rng_state()

        def train(w: dict, X, y_rows: np.ndarray, desc: str) -> DistillNet:
            torch.random.set_rng_state(start)
            objective = make_objective(ctx, w)
            module = TappedStudent(copy.deepcopy(student), layer, kwargs, objective.needs_features)
            net = _classifier_net(module, objective, replace(settings, max_epochs=1), desc)
            _fit_net(net, X, y_rows)
            return net

        search = search_weights(train, images, y, cache, candidates, settings, name)
        torch.random.set_rng_state(start)
        weights = search["chosen"]
    objective = make_objective(ctx, weights) if teacher is not None else CrossEntropyObjective()
    module = TappedStudent(student, layer, kwargs, tap=objective.needs_features)
    net = _classifier_net(module, objective, settings, name)
    _fit_net(net, _rows(images, cache, None), y)
    return finish_net(net), shapes, search


def _rows(images: np.ndarray, cache: dict, rows: np.ndarray | None):
    """The net's X for ``rows`` of the images (all with None): the images, with the teacher's
    cached outputs beside them when there are any."""
    if rows is None:
        return SliceDict(x=images, **cache) if cache else images
    if not cache:
        return images[rows]
    return SliceDict(x=images[rows], **{k: v[rows] for k, v in cache.items()})


def _fit_net(net: DistillNet, X, y: np.ndarray, more: bool = False) -> None:
    """``net.fit`` (or ``partial_fit`` with ``more``), its progress bars closed after an error."""
    try:
        (net.partial_fit if more else net.fit)(X, y)
    finally:
        close_bars(net)  # skorch ends no callback after an error


# --------------------------------------------------------------------------- "auto" loss weights
#: Share of the training images held out, per class, to choose the loss weights on.
HOLDOUT = 0.2


def holdout_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train rows, held-out rows)``: ``fraction`` of each class held out (at least one image
    of every class with two or more), drawn under ``seed``; both sorted."""
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        if len(rows) >= 2:
            k = min(max(int(round(fraction * len(rows))), 1), len(rows) - 1)
            held.append(rng.permutation(rows)[:k])
    valid = np.sort(np.concatenate(held)) if held else np.arange(0)
    return np.setdiff1d(np.arange(len(y)), valid), valid


@torch.no_grad()
def holdout_loss(net: DistillNet, images: np.ndarray, y: np.ndarray) -> float:
    """Cross-entropy of the trained student on held-out ``images`` (inf if not finite)."""
    student = net.module_.student
    was_training = student.training
    student.eval()
    total = 0.0
    try:
        for lo in range(0, len(images), _BATCH):
            xb = torch.as_tensor(images[lo : lo + _BATCH]).to(net.device)
            with net.autocast():
                logits = student(xb)
            yb = torch.as_tensor(y[lo : lo + _BATCH]).to(logits.device)
            total += float(F.cross_entropy(logits.float(), yb, reduction="sum"))
    finally:
        student.train(was_training)
    value = total / max(len(images), 1)
    return value if np.isfinite(value) else float("inf")


def logit_loss(logits: np.ndarray, y: np.ndarray) -> float:
    """Cross-entropy of given logits (the teacher's, cached) against the labels ``y``."""
    return float(F.cross_entropy(torch.as_tensor(logits).float(), torch.as_tensor(y)))


def search_weights(train, images, y, cache: dict, candidates, settings, name: str) -> dict:
    """Choose the loss weights among ``candidates`` on held-out images.

    :data:`HOLDOUT` of every class is held out (drawn under the fit's seed). Every candidate
    trains one epoch on the rest; the baseline (``candidates[0]``: no teacher signal) trains
    on to ``max_epochs``, and the others by successive halving
    (:func:`~skdistill.training.halving.halve`: the three best by held-out cross-entropy to
    three epochs, on together while within 2 % of the leader, the leader to
    ``max_epochs``); that one is chosen if its held-out cross-entropy is more than 2 %
    below the baseline's, else the baseline, so that the teacher is kept only where it
    clearly beats the student without it after full training. A
    candidate that diverges loses. ``train(weights, X, y, desc)`` returns a net trained one
    epoch on ``(X, y)``, starting as a fixed fit with ``weights`` would.

    Returns
    -------
    dict
        ``"chosen"`` (the weights), ``"scores"`` (per candidate: its weights, ``epochs`` and
        held-out ``valid_loss``), ``"valid_loss"`` (the chosen one's) and
        ``"teacher_valid_loss"`` (the teacher's logits' cross-entropy on the same images).
    """
    rows, held = holdout_split(y, HOLDOUT, settings.seed)
    if not len(held):
        raise ValueError(
            "choosing the loss weights needs held-out images: every class of y has one image; "
            "pass the weights as numbers."
        )
    # Sliced once: every candidate trains on the same rows and is scored on the same images.
    X_train, y_train = _rows(images, cache, rows), y[rows]
    X_held, y_held = images[held], y[held]
    nets, losses = {}, {}

    def score(i: int, step) -> None:
        try:
            step()
            losses[i] = holdout_loss(nets[i], X_held, y_held)
        except FloatingPointError:
            losses[i] = float("inf")  # a candidate that diverges loses; the search goes on

    def label(w: dict) -> str:
        return "weights " + " ".join(f"{k}={v:g}" for k, v in w.items())

    for i, w in enumerate(candidates):

        def first(i=i, w=w) -> None:
            nets[i] = train(w, X_train, y_train, label(w))

        score(i, first)

    def advance(i: int, until: int) -> None:
        done = len(nets[i].history)
        if np.isfinite(losses[i]) and done < until:
            nets[i].max_epochs = until - done
            score(i, lambda: _fit_net(nets[i], X_train, y_train, more=True))

    advance(0, settings.max_epochs)
    others = sorted(range(1, len(candidates)), key=lambda i: (losses[i], i))
    leader = halve(others, advance, losses.__getitem__, settings.max_epochs)
    # The teacher is kept only where it clearly helps: a tie keeps the student alone.
    chosen = leader if leader is not None and clearly_better(losses[leader], losses[0]) else 0
    if not np.isfinite(losses[chosen]):
        raise FloatingPointError(
            f"every candidate of the weight search diverged: lower lr (now {settings.lr:g})."
        )
    scores = [
        {**w, "epochs": len(nets[i].history) if i in nets else 0, "valid_loss": losses[i]}
        for i, w in enumerate(candidates)
    ]
    if settings.verbose:
        lines = ", ".join(
            f"({', '.join(f'{v:g}' for v in w.values())}): {losses[i]:.4g}"
            for i, w in enumerate(candidates)
        )
        print(
            f"weight search ({', '.join(candidates[0])}): held-out loss: {lines}", file=sys.stderr
        )
    teacher_loss = logit_loss(cache[TEACHER_PRED][held], y_held) if TEACHER_PRED in cache else None
    return {
        "chosen": candidates[chosen],
        "scores": scores,
        "valid_loss": losses[chosen],
        "teacher_valid_loss": teacher_loss,
    }
