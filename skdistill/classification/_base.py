"""Shared machinery of the distilling classifiers: inputs, teachers, taps, cache, training.

A subclass only builds its objective (``_make_objective``) from the tapped shapes. Everything
else — checking X, resolving the teacher, discovering feature shapes with one dry forward,
caching the teacher's outputs, the skorch net — is here, identical for SFKD and the baselines.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.helper import SliceDict

from skdistill._validation import check_float, check_int, cuda_devices, resolve_device, seed_from
from skdistill.nn.vision.taps import channel_layernorm, discover_shapes
from skdistill.nn.vision.zoo import ZOO_NAMES, build_model
from skdistill.training.accelerate import compute_on_main, finish_net, make_net
from skdistill.training.classification import (
    ClassificationDistillNet,
    FeatureWarmup,
    Objective,
    StudentWithObjective,
    term_scoring,
)

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

    # --- hooks ------------------------------------------------------------------------------
    def _make_objective(self, ctx: dict) -> Objective:
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

    def _teacher_outputs(self, kind, teacher, X_raw, images, ctx) -> dict:
        """Teacher logits (n, K) and, when features are used, its normalised map; cached once."""
        n_classes = len(self.classes_)
        if kind == "proba":
            classes = getattr(teacher, "classes_", None)
            if classes is None or not np.array_equal(np.asarray(classes), self.classes_):
                raise ValueError(
                    f"the teacher's classes {None if classes is None else list(classes)} differ "
                    f"from y's {list(self.classes_)}; fit the teacher on the same labels."
                )
            proba = np.asarray(teacher.predict_proba(X_raw), dtype=np.float64)
            return {"teacher_logits": np.log(np.clip(proba, 1e-12, None)).astype(np.float32)}
        device = ctx["device"]
        was_training = teacher.training
        home = next(teacher.parameters(), torch.empty(0)).device
        teacher.eval()
        teacher.to(device)
        try:
            want_map = ctx["use_features"]
            info = ctx.get("teacher_info") if want_map else None
            logits = np.empty((len(images), n_classes), dtype=np.float32)
            maps = None
            from skdistill.nn.vision.taps import FeatureTap, to_canonical

            tap = FeatureTap(teacher, info["layer"], detach=True) if want_map else None
            try:
                with torch.no_grad():
                    for lo in range(0, len(images), _BATCH):
                        xb = torch.as_tensor(images[lo : lo + _BATCH]).to(device)
                        logits[lo : lo + len(xb)] = teacher(xb).float().cpu().numpy()
                        if tap is not None:
                            m = self._normalise_teacher_map(
                                to_canonical(tap.output, **info["canonical_kwargs"]), ctx
                            )
                            if maps is None:
                                maps = np.empty((len(images), *m.shape[1:]), dtype=np.float32)
                            maps[lo : lo + len(xb)] = m.cpu().numpy()
            finally:
                if tap is not None:
                    tap.remove()
        finally:
            teacher.train(was_training)
            teacher.to(home)  # the user's module goes back where it was
        if not np.isfinite(logits).all():
            raise FloatingPointError("the teacher produced non-finite logits.")
        if (logits >= 0).all() and np.allclose(logits.sum(axis=1), 1.0, atol=1e-4):
            # A module ending in softmax (skorch's NLLLoss-style classifiers): its outputs are
            # probabilities; their log is a valid logit vector (softmax is shift-invariant).
            logits = np.log(np.clip(logits, 1e-12, None)).astype(np.float32)
        out = {"teacher_logits": logits}
        if maps is not None:
            out["teacher_map"] = maps
            self.feature_shapes_["teacher"] = {
                "layer": info["layer"],
                "raw": info["raw_shape"],
                "canonical": info["canonical_shape"],
                "aligned": tuple(maps.shape[1:]),
            }
        return out

    def _check_teacher_logits(self, teacher, images: np.ndarray, device: str) -> None:
        """One dry forward: the teacher must give one logit per class of y."""
        was_training = teacher.training
        home = next(teacher.parameters(), torch.empty(0)).device
        try:
            with torch.no_grad():
                out = teacher.to(device).eval()(torch.as_tensor(images[:2]).to(device))
        finally:
            teacher.train(was_training)
            teacher.to(home)
        n_classes = len(self.classes_)
        if out.ndim != 2 or out.shape[1] != n_classes:
            raise ValueError(
                f"the teacher outputs shape {tuple(out.shape)} for 2 samples; it must give "
                f"(n, {n_classes}) logits, one per class of y ({list(self.classes_)})."
            )

    def _normalise_teacher_map(self, m: torch.Tensor, ctx: dict) -> torch.Tensor:
        """Resize to the aligned grid and apply the parameter-free channel LayerNorm."""
        if m.ndim == 4:
            grid = ctx.get("teacher_grid") or tuple(m.shape[-2:])
            if tuple(m.shape[-2:]) != tuple(grid):
                m = F.interpolate(m, size=grid, mode="bilinear", align_corners=False)
            return channel_layernorm(m) if m.shape[1] > 1 else F.layer_norm(m, m.shape[-2:])
        return F.layer_norm(m, m.shape[-1:])  # (B, 1, D): normalise the vector

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
        n_classes = len(self.classes_)

        seed = seed_from(self.random_state)
        with torch.random.fork_rng(devices=cuda_devices()):
            torch.manual_seed(seed)
            student = self._build_student(self.image_shape_, n_classes)
            ctx = {"device": device, "n_classes": n_classes, "use_features": False}
            cache: dict = {}
            if self.teacher is not None:
                kind, teacher = self._resolve_teacher(X_raw, y, images)
                if kind == "torch":
                    self._check_teacher_logits(teacher, images, device)
                    if self.teacher_ is None:
                        self.teacher_ = teacher
                use_features = self._uses_features()
                if use_features and kind == "proba":
                    warnings.warn(
                        f"{type(teacher).__name__} exposes no feature maps: the feature terms "
                        "are off (logit distillation only). Pass a torch teacher for them.",
                        UserWarning,
                        stacklevel=2,
                    )
                    use_features = False
                ctx["use_features"] = use_features
                if use_features:
                    t_info = discover_shapes(
                        teacher, self.teacher_layer, torch.as_tensor(images[:2]).to(device)
                    )
                    ctx["teacher_info"] = t_info
                    ctx["teacher_canonical"] = t_info["canonical_shape"]
                    ctx["teacher_grid"] = self._teacher_grid(t_info["canonical_shape"])

                # Under Accelerate the main process computes the cache (and records the
                # teacher's tapped shapes) and shares both.
                def teacher_side():
                    out = self._teacher_outputs(kind, teacher, X_raw, images, ctx)
                    return out, self.feature_shapes_.get("teacher")

                cache, shapes = compute_on_main(teacher_side)
                if shapes is not None:
                    self.feature_shapes_["teacher"] = shapes
                ctx["teacher_kind"] = kind
            tap_student = self.teacher is not None and (
                ctx["use_features"] or self._uses_student_feature()
            )
            if tap_student:
                s_info = discover_shapes(student, self.student_layer, torch.as_tensor(images[:2]))
                ctx["student_canonical"] = ctx["student_shape"] = s_info["canonical_shape"]
                if ctx["use_features"]:
                    ctx["teacher_aligned"] = self.feature_shapes_["teacher"]["aligned"]
                self.feature_shapes_["student"] = {
                    "layer": s_info["layer"],
                    "raw": s_info["raw_shape"],
                    "canonical": s_info["canonical_shape"],
                }
                layer, kwargs = s_info["layer"], s_info["canonical_kwargs"]
            else:
                layer, kwargs = None, {}
            objective = self._make_objective(ctx) if self.teacher is not None else Objective()
            module = StudentWithObjective(student, objective, layer, kwargs)
            data = SliceDict(x=images, **cache) if cache else images
            net = make_net(
                ClassificationDistillNet,
                device,
                module=module,
                criterion=torch.nn.CrossEntropyLoss,
                optimizer=torch.optim.Adam,
                optimizer__fused=device.startswith(("cpu", "cuda")),
                lr=float(self.lr),
                max_epochs=int(self.max_epochs),
                batch_size=int(self.batch_size),
                iterator_train__shuffle=True,
                train_split=None,
                callbacks=[
                    *term_scoring(objective.active_terms()),
                    ("feature_warmup", FeatureWarmup(getattr(self, "warmup_epochs", 0))),
                ],
                predict_nonlinearity=None,
                verbose=int(self.verbose),
            )
            net.fit(data, y_enc.astype(np.int64))
            net = finish_net(net)
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
        import copy

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
