"""Shared base of the distilling classifiers: inputs, teachers, fitted attributes.

A subclass only builds its objective (``_make_objective``) from the tapped shapes. ``fit``
checks X, resolves the teacher with scikit-learn semantics (an unfitted one is cloned and
fitted) and calls :func:`~skdistill.training.classification.fit_distilled_classifier`, which
taps, caches the teacher's outputs and trains; identical for SFKD and the baselines.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skdistill._validation import check_float, check_int, cuda_devices, resolve_device, seed_from
from skdistill.losses.base import DistillationObjective
from skdistill.nn.vision import ZOO_NAMES, build_model
from skdistill.training.classification import (
    ImageTeacher,
    ObjectiveContext,
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

    # --- hooks ------------------------------------------------------------------------------
    def _make_objective(self, ctx: ObjectiveContext) -> DistillationObjective:
        raise NotImplementedError

    def _uses_features(self) -> bool:
        """Whether this method's objective needs feature maps (with its current weights)."""
        return False

    def _uses_student_feature(self) -> bool:
        """Whether the objective taps the student (a teacher map implies it)."""
        return False

    def _check_params(self) -> None:
        check_int(self.max_epochs, "max_epochs")
        check_int(self.batch_size, "batch_size")
        check_float(self.lr, "lr", strict=True)
        check_int(self.verbose, "verbose", minimum=0)
        for name in self._nonnegative_params:
            check_float(getattr(self, name), name)
        for name in self._positive_params:
            check_float(getattr(self, name), name, strict=True)
        if hasattr(self, "warmup_epochs"):
            check_int(self.warmup_epochs, "warmup_epochs", minimum=0)
        if self.input_shape is not None:
            shape = tuple(self.input_shape)
            if len(shape) != 3 or any(not isinstance(d, int | np.integer) or d < 1 for d in shape):
                raise ValueError(
                    f"input_shape must be (C, H, W) with positive ints; got {self.input_shape!r}."
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
        else:
            X = validate_data(self, X, **common)
        if X.ndim == 4:
            images = X
        elif X.ndim == 2 and self.input_shape is not None:
            shape = tuple(int(d) for d in self.input_shape)
            if int(np.prod(shape)) != X.shape[1]:
                raise ValueError(
                    f"X has {X.shape[1]} features but input_shape={shape} needs "
                    f"{int(np.prod(shape))} (C*H*W)."
                )
            images = X.reshape(len(X), *shape)
        elif X.ndim == 2:
            # A vector problem: each sample is a (1, 1, D) "image" for the MLP student.
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

    def _build_student(self, image_shape: tuple, n_classes: int) -> torch.nn.Module:
        c, h, w = image_shape
        if isinstance(self.student, torch.nn.Module):
            return copy.deepcopy(self.student)  # the user's module is never trained in place
        name = self.student.lower()
        if self.vector_input_:
            name = "mlp"  # vectors have no grid: the zoo's MLP is the only fitting student
        return build_model(name, c, n_classes, (h, w))

    # --- teachers -----------------------------------------------------------------------------
    def _resolve_teacher(self, X_raw, y, images: np.ndarray):
        """Return ``(kind, obj)``: ("torch", module) or ("proba", fitted sklearn classifier)."""
        teacher = _unwrap(self.teacher)
        if isinstance(teacher, torch.nn.Module):
            return "torch", teacher
        if not (hasattr(teacher, "fit") and hasattr(teacher, "predict_proba")):
            raise TypeError(
                "teacher must be a torch.nn.Module, a fitted skorch net, a fitted skdistill or "
                "scikit-learn classifier with predict_proba, or an unfitted one; got "
                f"{type(teacher).__name__}."
            )
        if not _is_fitted(teacher):
            teacher = clone(teacher)
            teacher.fit(X_raw, y)
        self.teacher_ = teacher
        if isinstance(teacher, BaseDistillClassifier):
            return "torch", teacher.net_.module_.student
        if hasattr(teacher, "module_") and isinstance(teacher.module_, torch.nn.Module):
            return "torch", teacher.module_
        return "proba", teacher

    def _proba_logits(self, teacher, X_raw) -> np.ndarray:
        """Log-probabilities of a fitted classifier without a torch module, as its logits."""
        classes = getattr(teacher, "classes_", None)
        if classes is None or not np.array_equal(np.asarray(classes), self.classes_):
            raise ValueError(
                f"the teacher's classes {None if classes is None else list(classes)} differ "
                f"from y's {list(self.classes_)}; fit the teacher on the same labels."
            )
        proba = np.asarray(teacher.predict_proba(X_raw), dtype=np.float64)
        return np.log(np.clip(proba, 1e-12, None)).astype(np.float32)

    def _image_teacher(self, X_raw, y, images: np.ndarray) -> ImageTeacher:
        """The resolved teacher; feature terms off (with a warning) when it has no maps."""
        kind, teacher = self._resolve_teacher(X_raw, y, images)
        use_features = self._uses_features()
        if kind == "torch":
            if self.teacher_ is None:
                self.teacher_ = teacher
            return ImageTeacher(
                module=teacher,
                layer=getattr(self, "teacher_layer", "auto"),
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
        return ImageTeacher(logits=lambda: self._proba_logits(teacher, X_raw))

    def _teacher_grid(self, teacher_canonical: tuple) -> tuple | None:
        """Grid the teacher map is resized to (subclasses align it to the wavelet levels)."""
        return None

    # --- fit / predict ---------------------------------------------------------------------------
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
        X_raw = X
        images, y = self._images(X, y, reset=True)
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        self.image_shape_ = tuple(images.shape[1:])
        self.feature_shapes_ = {}
        self.teacher_ = None
        settings = TrainSettings(
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            device=device,
            verbose=self.verbose,
            warmup_epochs=getattr(self, "warmup_epochs", 0),
        )
        with torch.random.fork_rng(devices=cuda_devices()):
            torch.manual_seed(seed_from(self.random_state))
            student = self._build_student(self.image_shape_, len(self.classes_))
            teacher = None
            if self.teacher is not None:
                teacher = self._image_teacher(X_raw, y, images)
            net, self.feature_shapes_ = fit_distilled_classifier(
                student,
                images,
                y_enc,
                self._make_objective,
                classes=self.classes_,
                settings=settings,
                teacher=teacher,
                student_layer=getattr(self, "student_layer", "auto"),
                tap_student=self._uses_student_feature(),
            )
        self.net_ = net
        self.history_ = net.history
        self.n_iter_ = len(net.history)
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
            out.append(torch.softmax(student(xb).double(), dim=1).cpu().numpy())
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
        if self.vector_input_ or self.input_shape is not None:
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
