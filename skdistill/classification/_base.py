"""Shared base of the distilling classifiers: inputs, teachers, fitted attributes.

A subclass only builds its objective (``_make_objective``) from the tapped shapes. ``fit``
checks X, resolves the teacher with scikit-learn semantics (an unfitted one is cloned and
fitted) and calls :func:`~skdistill.training.classification.fit_distilled_classifier`, which
taps, caches the teacher's outputs and trains; identical for SFKD and the baselines.
"""

from __future__ import annotations

import copy
import inspect
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNet

from skdistill._audit import AUTO_WEIGHTS, warn_dropped_teacher
from skdistill._fitting import all_or_nothing
from skdistill._memory import check_teacher_memory, fit_teacher
from skdistill._validation import (
    ParameterTypeError,
    check_float,
    check_int,
    check_loss_weight,
    check_precision_device,
    check_training_params,
    cuda_devices,
    resolve_device,
    seed_from,
    teacher_seed,
)
from skdistill.losses.base import DistillationObjective
from skdistill.nn.vision import ZOO_NAMES, FeatureTap, build_model
from skdistill.training.classification import (
    ImageTeacher,
    ObjectiveContext,
    check_logits,
    fit_distilled_classifier,
)
from skdistill.training.net import TrainSettings

_BATCH = 512


def _unwrap(teacher):
    """FrozenEstimator (and similar wrappers with ``.estimator``) -> the wrapped estimator."""
    from sklearn.frozen import FrozenEstimator

    while isinstance(teacher, FrozenEstimator):
        teacher = teacher.estimator
    return teacher


def _check_input_shape(value) -> tuple[int, int, int] | None:
    """``input_shape`` as a tuple of 3 positive ints (None stays None); raise otherwise."""
    if value is None:
        return None
    fix = "input_shape must be None or (C, H, W), 3 positive ints such as (1, 8, 8)"
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise ParameterTypeError(f"{fix}; got {value!r}.")
    shape = tuple(value)
    if len(shape) != 3 or any(
        isinstance(d, bool | np.bool_) or not isinstance(d, numbers.Integral) or d < 1
        for d in shape
    ):
        raise ValueError(f"{fix}; got {value!r}.")
    return tuple(int(d) for d in shape)


def _check_layer(module: torch.nn.Module, layer: str, name: str) -> None:
    """ValueError naming ``name`` unless ``layer`` is "auto" or a submodule path of ``module``."""
    if layer == "auto":
        return
    try:
        FeatureTap(module, layer).remove()  # resolves the path; lists the valid ones if wrong
    except ValueError as exc:
        raise ValueError(f"{name}={layer!r} is not a layer of the {name[:-6]}: {exc}") from exc


def _takes_images(teacher) -> bool:
    """Whether an estimator teacher is fed the (n, C, H, W) images rather than flat rows."""
    return isinstance(teacher, BaseDistillClassifier | NeuralNet)


def _image_shape_of(model) -> tuple[int, ...] | None:
    """The ``(C, H, W)`` images a teacher or student takes, where it says so: a skdistill
    classifier fitted on images (``image_shape_``), a zoo model or a skorch net around one
    (``in_channels`` and ``image_size``). None when it does not say."""
    model = _unwrap(model)
    if isinstance(model, BaseDistillClassifier):
        shape = getattr(model, "image_shape_", None)  # (1, 1, D) if fitted on vectors
        return None if shape is None else tuple(shape)
    if isinstance(model, NeuralNet):
        model = getattr(model, "module_", None)
    channels, size = getattr(model, "in_channels", None), getattr(model, "image_size", None)
    if isinstance(model, torch.nn.Module) and isinstance(channels, int) and isinstance(size, tuple):
        return (channels, *size)
    return None


def _convolves_grids(model) -> bool:
    """Whether a torch teacher or student has 2-D convolutions taller than one row: a network
    for images, not for ``(1, 1, D)`` vectors."""
    model = _unwrap(model)
    if isinstance(model, NeuralNet):
        model = getattr(model, "module_", None)
    if not isinstance(model, torch.nn.Module):  # a fitted skdistill one says its shape
        return False
    return any(isinstance(m, torch.nn.Conv2d) and m.kernel_size[0] > 1 for m in model.modules())


def _square_images(n_features: int) -> list[tuple[int, int, int]]:
    """The square ``(C, H, W)`` layouts of ``n_features`` values for 1 or 3 channels."""
    shapes = []
    for channels in (1, 3):
        side = round((n_features / channels) ** 0.5)
        if channels * side * side == n_features and side > 1:
            shapes.append((channels, side, side))
    return shapes


def _is_fitted(est) -> bool:
    if hasattr(est, "initialized_") and hasattr(est, "module_"):  # skorch
        return bool(getattr(est, "initialized_", False))
    try:
        check_is_fitted(est)
        return True
    except NotFittedError:
        return False


class BaseDistillClassifier(ClassifierMixin, BaseEstimator):
    """Base of :class:`SFKDClassifier` and the baseline distillers (not for direct use)."""

    #: Parameters checked as finite floats >= 0 (loss weights) and > 0 (temperatures, widths).
    _nonnegative_params: tuple[str, ...] = ()
    _positive_params: tuple[str, ...] = ()

    def _set_shared_params(
        self,
        teacher,
        student,
        input_shape,
        max_epochs,
        batch_size,
        lr,
        device,
        random_state,
        verbose,
        precision="32",
        compile=False,
        memory=None,
    ) -> None:
        """Store the parameters every distiller has (called by each ``__init__``)."""
        self.teacher = teacher
        self.student = student
        self.input_shape = input_shape
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.precision = precision
        self.compile = compile
        self.memory = memory

    # --- hooks ------------------------------------------------------------------------------
    def _make_objective(self, ctx: ObjectiveContext, weights: dict) -> DistillationObjective:
        """The method's objective for the tapped shapes and the loss ``weights`` (by name)."""
        raise NotImplementedError

    def _uses_features(self) -> bool:
        """Whether this method's objective needs feature maps (with its largest weights)."""
        return False

    def _weights_used(self, ctx: ObjectiveContext, weights: dict) -> dict:
        """The loss weights as the objective uses them (SFKD: feature weights 0 without maps)."""
        return weights

    # --- loss weights, "auto" included -------------------------------------------------------
    def _weight_default(self, name: str) -> float:
        return float(inspect.signature(type(self).__init__).parameters[name].default)

    def _largest(self, name: str) -> float:
        """A loss weight's value, or under "auto" the largest candidate's."""
        value = getattr(self, name)
        return max(AUTO_WEIGHTS) * self._weight_default(name) if value == "auto" else float(value)

    def _weight_candidates(self) -> tuple[dict, list[dict] | None]:
        """``(fixed weights, None)``, or with an "auto" weight ``(None, candidates)``: the
        auto weights at their default times each of :data:`AUTO_WEIGHTS` (0 first: the
        baseline), the others as given."""
        names = self._nonnegative_params
        auto = [n for n in names if getattr(self, n) == "auto"]
        if not auto:
            return {n: float(getattr(self, n)) for n in names}, None
        return None, [
            {
                # Rounded: 0.1 x 0.1 is recorded as 0.01, not 0.010000000000000002.
                n: round(m * self._weight_default(n), 12) if n in auto else float(getattr(self, n))
                for n in names
            }
            for m in AUTO_WEIGHTS
        ]

    def _uses_student_feature(self) -> bool:
        """Whether the objective taps the student (a teacher map implies it)."""
        return False

    def _reset_fitted(self) -> None:
        """Set the fitted attributes a subclass has beyond the shared ones (start of a fit)."""

    def _check_params(self) -> None:
        """Check every parameter, first thing in ``fit``, whatever the teacher and the data.

        A parameter that matters only on some paths (no teacher, feature terms off) is checked
        all the same, so that a typo cannot pass in one configuration and fail in another.
        Subclasses add their own parameters after calling this.
        """
        check_training_params(self)
        check_teacher_memory(self.memory)
        for name in self._nonnegative_params:
            check_loss_weight(getattr(self, name), name)
        for name in self._positive_params:
            check_float(getattr(self, name), name, strict=True)
        if hasattr(self, "warmup_epochs"):
            check_int(self.warmup_epochs, "warmup_epochs", minimum=0)
        for name in ("teacher_layer", "student_layer"):
            layer = getattr(self, name, "auto")
            if not isinstance(layer, str):
                raise ParameterTypeError(
                    f"{name} must be 'auto' or a dotted module path (str); got {layer!r}."
                )
        _check_input_shape(self.input_shape)
        teacher = _unwrap(self.teacher)
        if not (
            teacher is None
            or isinstance(teacher, torch.nn.Module)
            or (hasattr(teacher, "fit") and hasattr(teacher, "predict_proba"))
        ):
            raise TypeError(
                "teacher must be a torch.nn.Module, a fitted skorch net, a fitted skdistill or "
                "scikit-learn classifier with predict_proba, or an unfitted one; got "
                f"{type(teacher).__name__}."
            )
        student = self.student
        if isinstance(student, str) and student.lower() not in ZOO_NAMES:
            raise ValueError(
                f"student must be one of {list(ZOO_NAMES)} or an nn.Module; got {student!r}."
            )
        if not isinstance(student, str | torch.nn.Module):
            raise TypeError(
                f"student must be a zoo name or a torch.nn.Module; got {type(student).__name__}."
            )

    # --- clone keeps a torch teacher's identity ------------------------------------------------
    def __sklearn_clone__(self):
        teacher = getattr(self, "teacher", None)
        if not isinstance(teacher, torch.nn.Module):
            return super().__sklearn_clone__()
        # A torch teacher is frozen and never trained: share it instead of deep-copying it
        # for every candidate and fold of a search.
        self.teacher = None
        try:
            new = super().__sklearn_clone__()
        finally:
            self.teacher = teacher
        new.teacher = teacher
        return new

    # --- inputs -------------------------------------------------------------------------------
    def _images(self, X, y=None, *, reset: bool):
        """Validate X (and y when fitting); return the (n, C, H, W) float32 images (and y)."""
        common = dict(reset=reset, allow_nd=True, dtype=np.float32, ensure_min_features=1)
        if reset:
            X, y = validate_data(self, X, y, **common)
            self.vector_input_ = X.ndim == 2 and self.input_shape is None
            self.flat_input_ = X.ndim == 2
        else:
            self._check_layout(X)
            X = validate_data(self, X, **common)
        shape = _check_input_shape(self.input_shape)
        if X.ndim == 4:
            if shape is not None and X.shape[1:] != shape:
                # 4-D X carries its own sample shape: a different input_shape is a mistake
                # about the data, not something to ignore.
                raise ValueError(
                    f"input_shape={shape} contradicts X of shape {X.shape}, whose samples are "
                    f"{X.shape[1:]} images; input_shape describes 2-D X (n, C*H*W) only: drop "
                    f"it (input_shape=None) for 4-D X, or set input_shape={X.shape[1:]}."
                )
            images = X
        elif X.ndim == 2 and shape is not None:
            if int(np.prod(shape)) != X.shape[1]:
                raise ValueError(
                    f"X has {X.shape[1]} features but input_shape={shape} needs "
                    f"{int(np.prod(shape))} (C*H*W); set input_shape to the (C, H, W) of the "
                    f"flattened images (C*H*W = {X.shape[1]}), or pass X as (n, C, H, W)."
                )
            images = X.reshape(len(X), *shape)
        elif X.ndim == 2:
            # A vector problem: each sample is a (1, 1, D) "image" for the MLP student.
            if reset:
                self._check_vectors(X.shape[1])
            images = X.reshape(len(X), 1, 1, X.shape[1])
        else:
            raise ValueError(
                f"X must be (n, C, H, W), or 2-D (n, C*H*W) with input_shape=(C, H, W), or 2-D "
                f"vectors; got shape {X.shape}."
            )
        if not reset and images.shape[1:] != self.image_shape_:
            raise ValueError(
                f"X has samples of shape {images.shape[1:]}, the classifier was fitted on "
                f"{self.image_shape_}."
            )
        images = np.ascontiguousarray(images)
        return (images, y) if reset else images

    def _check_vectors(self, n_features: int) -> None:
        """2-D X without ``input_shape`` is read as vectors, ``(1, 1, D)`` each: a teacher or
        student module built for images then means a missing ``input_shape``. Say so, with
        the shape to pass, instead of a shape error inside the network (or, for a CNN that
        takes any size, a model trained on rows of pixels laid end to end)."""
        for name in ("teacher", "student"):
            model = getattr(self, name)
            shape = _image_shape_of(model)
            if shape == (1, 1, n_features) or (shape is None and not _convolves_grids(model)):
                continue
            what = f"the {name} ({type(_unwrap(model)).__name__})"
            head = (
                f"X has {n_features} features per sample and input_shape=None, so each "
                f"sample is read as a vector (a (1, 1, {n_features}) image), but {what}"
            )
            if shape is None:
                guesses = _square_images(n_features)
                hint = (
                    " or ".join(f"input_shape={g}" for g in guesses)
                    if guesses
                    else f"input_shape=(C, H, W) with C*H*W = {n_features}"
                )
                raise ValueError(
                    f"{head} convolves 2-D images: pass the (C, H, W) of the flattened "
                    f"images, e.g. {hint}, or X of shape (n, C, H, W)."
                )
            if int(np.prod(shape)) != n_features:
                raise ValueError(
                    f"{head} takes {shape} images ({int(np.prod(shape))} values each): pass X "
                    f"of {shape} images, flattened with input_shape={shape} or as "
                    f"(n, {', '.join(map(str, shape))})."
                )
            raise ValueError(
                f"{head} takes {shape} images: pass input_shape={shape} (each row is "
                f"reshaped row-major to (C, H, W)), or X of shape "
                f"(n, {', '.join(map(str, shape))})."
            )

    def _check_layout(self, X) -> None:
        """Before predicting: X laid out as in ``fit`` (2-D rows or 4-D images), or a
        ValueError that says how to reshape it (scikit-learn's would count features)."""
        flat = getattr(self, "flat_input_", None)
        shape = getattr(X, "shape", None)
        if shape is None:
            try:
                shape = np.asarray(X).shape
            except (TypeError, ValueError):  # ragged or odd: validate_data says what is wrong
                return
        ndim = len(shape)
        if flat is None or ndim not in (2, 4) or (ndim == 2) == flat:
            return
        name, shape = type(self).__name__, tuple(self.image_shape_)
        if flat:
            raise ValueError(
                f"X is 4-D, but this {name} was fitted on 2-D X (rows of "
                f"{int(np.prod(shape))} features): pass X.reshape(len(X), -1)."
            )
        raise ValueError(
            f"X is 2-D, but this {name} was fitted on 4-D X of {shape} images: pass "
            f"X.reshape(-1, {', '.join(map(str, shape))}) (or fit on 2-D X with "
            f"input_shape={shape})."
        )

    def _build_student(self, image_shape: tuple, n_classes: int) -> torch.nn.Module:
        c, h, w = image_shape
        if isinstance(self.student, torch.nn.Module):
            return copy.deepcopy(self.student)  # the user's module is never trained in place
        name = self.student.lower()
        if self.vector_input_:
            name = "mlp"  # vectors have no grid: the zoo's MLP is the only fitting student
        return build_model(name, c, n_classes, (h, w))

    # --- teachers -----------------------------------------------------------------------------
    def _teacher_X(self, teacher, X_raw, images: np.ndarray):
        """The X an estimator teacher is fitted on and predicts.

        A skdistill classifier or a skorch net takes X as given (it handles images itself).
        Any other scikit-learn classifier takes 2-D X as given and 4-D X flattened to
        ``(n, C*H*W)``: scikit-learn's classifiers refuse 4-D arrays, and a row of pixels is
        what they would be fitted on by hand.
        """
        if _takes_images(teacher) or np.ndim(X_raw) == 2:
            return X_raw
        return images.reshape(len(images), -1)

    def _resolve_teacher(self, X_raw, y, images: np.ndarray):
        """Return ``(kind, obj)``: ("torch", module) or ("proba", fitted sklearn classifier)."""
        teacher = _unwrap(self.teacher)  # its type was checked by _check_params
        if isinstance(teacher, torch.nn.Module):
            return "torch", teacher
        if not _is_fitted(teacher):
            teacher = clone(teacher)
            if teacher.get_params(deep=False).get("random_state", 0) is None:
                # A teacher cloned inside the distiller follows the distiller's seed, so that
                # a seeded distiller is deterministic as a whole (and its cache key exact).
                seed = teacher_seed(self.random_state, 0)
                if seed is not None:
                    teacher.set_params(random_state=seed)
            X_fit = self._teacher_X(teacher, X_raw, images)
            try:
                # verbose=0 on the distiller silences its teacher's fit too.
                teacher = fit_teacher(teacher, X_fit, y, memory=self.memory, verbose=self.verbose)
            except Exception as exc:
                raise ValueError(
                    f"teacher ({type(teacher).__name__}) failed to fit on X of shape "
                    f"{np.shape(X_fit)}: {type(exc).__name__}: {exc}"
                ) from exc
        self.teacher_ = teacher
        # An estimator's columns follow its classes_: they must be y's, in y's order.
        self._check_teacher_classes(teacher, required=False)
        if isinstance(teacher, BaseDistillClassifier):
            return "torch", teacher.net_.module_.student
        if hasattr(teacher, "module_") and isinstance(teacher.module_, torch.nn.Module):
            return "torch", teacher.module_
        self._check_teacher_classes(teacher, required=True)
        return "proba", teacher

    def _check_teacher_classes(self, teacher, *, required: bool) -> None:
        """ValueError unless the teacher's ``classes_`` equal y's (if it has them, or must)."""
        classes = getattr(teacher, "classes_", None)
        if classes is None and not required:
            return
        if classes is None or not np.array_equal(np.asarray(classes), self.classes_):
            raise ValueError(
                f"the teacher's classes {None if classes is None else np.asarray(classes).tolist()}"
                f" differ from y's {self.classes_.tolist()}; fit the teacher on the same labels."
            )

    def _proba_logits(self, teacher, X_teacher) -> np.ndarray:
        """Log-probabilities of a fitted classifier without a torch module, as its logits."""
        try:
            proba = np.asarray(teacher.predict_proba(X_teacher), dtype=np.float64)
        except Exception as exc:
            raise ValueError(
                f"teacher ({type(teacher).__name__}).predict_proba failed on X of shape "
                f"{np.shape(X_teacher)}: {type(exc).__name__}: {exc}. A fitted scikit-learn "
                "teacher must take X as given, or flattened to (n, C*H*W) when X is 4-D."
            ) from exc
        return np.log(np.clip(proba, 1e-12, None)).astype(np.float32)

    def _image_teacher(self, X_raw, y, images: np.ndarray, device: str) -> ImageTeacher:
        """The resolved, checked teacher; feature terms off (with a warning) when it has no maps."""
        kind, teacher = self._resolve_teacher(X_raw, y, images)
        use_features = self._uses_features()
        if kind == "torch":
            if self.teacher_ is None:
                self.teacher_ = teacher
            # One dry forward here, at the boundary: a teacher that cannot take the images or
            # has the wrong number of outputs fails now, naming itself, not inside training.
            check_logits(teacher, images, self.classes_, device, name="teacher")
            layer = getattr(self, "teacher_layer", "auto")
            _check_layer(teacher, layer, "teacher_layer")
            return ImageTeacher(
                module=teacher,
                layer=layer,
                use_features=use_features,
                grid=self._teacher_grid,
            )
        if use_features:
            warnings.warn(
                f"{type(teacher).__name__} exposes no feature maps: the feature terms "
                "are off (logit distillation only). Pass a torch teacher for them.",
                UserWarning,
                stacklevel=3,
            )
        X_teacher = self._teacher_X(teacher, X_raw, images)
        return ImageTeacher(logits=lambda: self._proba_logits(teacher, X_teacher))

    def _check_student(self, student: torch.nn.Module, images: np.ndarray, device: str) -> None:
        """A user's student module must take the images; ``student_layer`` must exist in it."""
        if isinstance(self.student, torch.nn.Module):
            check_logits(student, images, self.classes_, device, name="student")
        _check_layer(student, getattr(self, "student_layer", "auto"), "student_layer")

    def _teacher_grid(self, teacher_canonical: tuple) -> tuple | None:
        """Grid the teacher map is resized to (subclasses align it to the wavelet levels)."""
        return None

    # --- fit / predict ---------------------------------------------------------------------------
    @all_or_nothing
    def fit(self, X, y):
        """Train the student (distilled from ``teacher`` when given).

        Parameters
        ----------
        X : array-like of shape (n, C, H, W), or (n, C*H*W) with ``input_shape``, or (n, D)
            Images (any scale; the networks see them as given) or vectors.
        y : array-like of shape (n,)
            Class labels.

        Returns
        -------
        self
        """
        self._check_params()
        device = resolve_device(self.device)
        precision = check_precision_device(self.precision, device)
        X_raw = X
        images, y = self._images(X, y, reset=True)
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            # Every objective here (CE, KD, DKD's target/non-target split) needs a choice
            # between classes; one class would train a constant (or fail deep in DKD).
            raise ValueError(
                f"y has only 1 class {self.classes_.tolist()}; a classifier needs at least 2 "
                "classes in y: add samples of another class."
            )
        self.image_shape_ = tuple(images.shape[1:])
        self.feature_shapes_ = {}
        self.teacher_ = None
        self._reset_fitted()
        seed = seed_from(self.random_state)
        settings = TrainSettings(
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            device=device,
            verbose=self.verbose,
            precision=precision,
            compile=bool(self.compile),
            warmup_epochs=getattr(self, "warmup_epochs", 0),
            seed=seed,  # also draws the held-out images of an "auto" weight search
        )
        with torch.random.fork_rng(devices=cuda_devices()):
            torch.manual_seed(seed)
            student = self._build_student(self.image_shape_, len(self.classes_))
            self._check_student(student, images, device)
            teacher = None
            if self.teacher is not None:
                teacher = self._image_teacher(X_raw, y, images, device)
            fixed, candidates = self._weight_candidates()
            used: dict = {}

            def make_objective(ctx: ObjectiveContext, weights: dict) -> DistillationObjective:
                used.clear()
                used.update(self._weights_used(ctx, weights))
                return self._make_objective(ctx, dict(used))

            net, self.feature_shapes_, search = fit_distilled_classifier(
                student,
                images,
                y_enc,
                make_objective,
                classes=self.classes_,
                settings=settings,
                teacher=teacher,
                weights=fixed,
                candidates=candidates,
                student_layer=getattr(self, "student_layer", "auto"),
                tap_student=self._uses_student_feature(),
                name=type(self).__name__,
            )
        self.net_ = net
        self.history_ = net.history
        self.n_iter_ = len(net.history)
        # The weights as used: 0 without a teacher (the student trained on labels alone).
        for name in self._nonnegative_params:
            setattr(self, name + "_", float(used.get(name, 0.0)))
        self.weight_search_ = None if search is None else search["scores"]
        self.valid_loss_ = None if search is None else search["valid_loss"]
        self.teacher_valid_loss_ = None if search is None else search["teacher_valid_loss"]
        if search is not None and not any(search["chosen"].values()):
            warn_dropped_teacher(search["chosen"], self.teacher_valid_loss_, self.valid_loss_)
        return self

    @torch.no_grad()
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities from the student alone, shape (n, n_classes)."""
        check_is_fitted(self, "net_")
        images = self._images(X, reset=False)
        student = self.net_.module_.student.eval()
        device = self.net_.device
        out = []
        for lo in range(0, len(images), _BATCH):
            xb = torch.as_tensor(images[lo : lo + _BATCH], device=device)
            with self.net_.autocast():  # the fitted precision
                logits = student(xb)
            out.append(torch.softmax(logits.double(), dim=1).cpu().numpy())
        return np.concatenate(out) if out else np.empty((0, len(self.classes_)))

    def predict(self, X) -> np.ndarray:
        """Class labels (``classes_[argmax(predict_proba)]``)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def n_parameters(self) -> int:
        """Parameters of the fitted student (what runs at inference)."""
        check_is_fitted(self, "net_")
        return sum(p.numel() for p in self.net_.module_.student.parameters())

    def export_onnx(self, path, *, opset: int = 18):
        """Write the fitted student as an ONNX model (no teacher, projector or refiner).

        Input ``"images"``: float32 shaped like the ``X`` given to ``fit`` (``(batch, C, H,
        W)``, or ``(batch, n_features)`` for 2-D ``X``). Output ``"logits"``: ``(batch,
        n_classes)``; ``classes_[argmax(logits)]`` is :meth:`predict` and their softmax is
        :meth:`predict_proba`. Needs the ``onnx`` extra (``pip install "skdistill[onnx]"``).

        Parameters
        ----------
        path : str or path-like
            Destination ``.onnx`` file.
        opset : int, default=18
            ONNX opset version.

        Returns
        -------
        pathlib.Path
            The written file.
        """
        from skdistill.export import FlatImages, export_module_onnx

        check_is_fitted(self, "net_")
        module = copy.deepcopy(self.net_.module_.student).cpu()
        # The graph takes what fit took: flat rows, or images (input_shape may match 4-D X).
        flat = getattr(self, "flat_input_", self.vector_input_ or self.input_shape is not None)
        if flat:
            module = FlatImages(module, self.image_shape_)
            example = torch.zeros(2, int(np.prod(self.image_shape_)))
        else:
            example = torch.zeros(2, *self.image_shape_)
        return export_module_onnx(
            module, example, path, input_name="images", output_name="logits", opset=opset
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
