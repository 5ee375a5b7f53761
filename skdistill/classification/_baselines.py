"""Baseline distillers on the same machinery as SFKD: KD, FitNet, OFA-KD, DKD.

Each takes the same teacher forms, students, inputs and training parameters as
:class:`~skdistill.classification.SFKDClassifier` (see there); only the objective differs.
"""

from __future__ import annotations

from skdistill.classification._base import BaseDistillClassifier
from skdistill.losses.kd import DKDObjective, FitNetObjective, KDObjective, OFAObjective
from skdistill.training.classification import make_projector, ofa_branch


class KDClassifier(BaseDistillClassifier):
    """Hinton knowledge distillation: ``CE + alpha * T^2 * KL(p_t || p_s)``.

    Parameters
    ----------
    teacher, student, input_shape, max_epochs, batch_size, lr, device, random_state, verbose
        As for :class:`SFKDClassifier`.
    precision, compile, memory
        As for :class:`SFKDClassifier`.
    alpha : float or "auto", default=1.0
        Weight of the KD term; "auto" as for :class:`SFKDClassifier`.
    temperature : float, default=4.0

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skdistill.classification import KDClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = (X / 16.0).astype(np.float32)
    >>> teacher = KDClassifier(input_shape=(1, 8, 8), max_epochs=2, random_state=0).fit(X, y)
    >>> student = KDClassifier(
    ...     teacher, student="mlp", input_shape=(1, 8, 8), max_epochs=2, random_state=0
    ... )
    >>> student.fit(X, y).score(X, y) > 0.5
    True
    """

    _nonnegative_params = ("alpha",)
    _positive_params = ("temperature",)

    def __init__(
        self,
        teacher=None,
        student="cnn",
        input_shape=None,
        alpha: float = 1.0,
        temperature: float = 4.0,
        max_epochs: int = 10,
        batch_size: int = 128,
        lr: float = 1e-3,
        device: str = "cpu",
        random_state=None,
        verbose: int = 1,
        precision: str = "32",
        compile: bool = False,
        memory=None,
    ):
        self._set_shared_params(
            teacher,
            student,
            input_shape,
            max_epochs,
            batch_size,
            lr,
            device,
            random_state,
            verbose,
            precision=precision,
            compile=compile,
            memory=memory,
        )
        self.alpha = alpha
        self.temperature = temperature

    def _make_objective(self, ctx, weights):
        return KDObjective(weights["alpha"], self.temperature)


class DKDClassifier(BaseDistillClassifier):
    """Decoupled KD (Zhao et al., 2022): target-class and non-target-class KL, weighted apart.

    Parameters
    ----------
    teacher, student, input_shape, max_epochs, batch_size, lr, device, random_state, verbose
        As for :class:`SFKDClassifier`.
    precision, compile, memory
        As for :class:`SFKDClassifier`.
    alpha : float or "auto", default=1.0
        Weight of the target-class term; "auto" as for :class:`SFKDClassifier`.
    beta : float or "auto", default=8.0
        Weight of the non-target-class term (with both "auto", ``beta = 8 alpha``).
    temperature : float, default=4.0

    Examples
    --------
    >>> from skdistill.classification import DKDClassifier
    >>> DKDClassifier(beta=8.0).get_params()["beta"]
    8.0
    """

    _nonnegative_params = ("alpha", "beta")
    _positive_params = ("temperature",)

    def __init__(
        self,
        teacher=None,
        student="cnn",
        input_shape=None,
        alpha: float = 1.0,
        beta: float = 8.0,
        temperature: float = 4.0,
        max_epochs: int = 10,
        batch_size: int = 128,
        lr: float = 1e-3,
        device: str = "cpu",
        random_state=None,
        verbose: int = 1,
        precision: str = "32",
        compile: bool = False,
        memory=None,
    ):
        self._set_shared_params(
            teacher,
            student,
            input_shape,
            max_epochs,
            batch_size,
            lr,
            device,
            random_state,
            verbose,
            precision=precision,
            compile=compile,
            memory=memory,
        )
        self.alpha = alpha
        self.beta = beta
        self.temperature = temperature

    def _make_objective(self, ctx, weights):
        return DKDObjective(weights["alpha"], weights["beta"], self.temperature)


class FitNetClassifier(BaseDistillClassifier):
    """FitNet hints: ``CE + beta * ||r(F_s) - F_t||^2`` with r = resize + 1x1 conv + BatchNorm.

    The teacher map is channel-normalised (as for SFKD). Known to struggle across
    architecture families, which is why it is a baseline.

    Parameters
    ----------
    teacher, student, input_shape, max_epochs, batch_size, lr, device, random_state, verbose
        As for :class:`SFKDClassifier`.
    precision, compile, memory
        As for :class:`SFKDClassifier`.
    beta : float or "auto", default=1.0
        Weight of the hint term; "auto" as for :class:`SFKDClassifier`.
    alpha : float or "auto", default=0.0
        Optional logit KD weight (its default is 0, so "auto" keeps it 0).
    temperature : float, default=4.0
    teacher_layer, student_layer : str, default="auto"
    warmup_epochs : int, default=0

    Examples
    --------
    >>> from skdistill.classification import FitNetClassifier
    >>> FitNetClassifier().get_params()["beta"]
    1.0
    """

    _nonnegative_params = ("alpha", "beta")
    _positive_params = ("temperature",)

    def __init__(
        self,
        teacher=None,
        student="cnn",
        input_shape=None,
        beta: float = 1.0,
        alpha: float = 0.0,
        temperature: float = 4.0,
        teacher_layer: str = "auto",
        student_layer: str = "auto",
        warmup_epochs: int = 0,
        max_epochs: int = 10,
        batch_size: int = 128,
        lr: float = 1e-3,
        device: str = "cpu",
        random_state=None,
        verbose: int = 1,
        precision: str = "32",
        compile: bool = False,
        memory=None,
    ):
        self._set_shared_params(
            teacher,
            student,
            input_shape,
            max_epochs,
            batch_size,
            lr,
            device,
            random_state,
            verbose,
            precision=precision,
            compile=compile,
            memory=memory,
        )
        self.beta = beta
        self.alpha = alpha
        self.temperature = temperature
        self.teacher_layer = teacher_layer
        self.student_layer = student_layer
        self.warmup_epochs = warmup_epochs

    def _uses_features(self) -> bool:
        return self._largest("beta") > 0

    def _make_objective(self, ctx, weights):
        if not ctx.use_features:
            return KDObjective(weights["alpha"], self.temperature)
        projector = make_projector(ctx.student_shape, ctx.teacher_shape)
        return FitNetObjective(projector, weights["beta"], weights["alpha"], self.temperature)


class OFAClassifier(BaseDistillClassifier):
    """OFA-KD (Hao et al., NeurIPS 2023): distil in logit space at the tapped student stage.

    A branch (pool, LayerNorm, Linear) maps the student's tapped feature to logits; the branch
    and the final head are both trained with the OFA loss
    ``-sum_c [(p_t,c + m_c)^eps - m_c] log p_s,c``. The branch is dropped at inference.

    Parameters
    ----------
    teacher, student, input_shape, max_epochs, batch_size, lr, device, random_state, verbose
        As for :class:`SFKDClassifier`.
    precision, compile, memory
        As for :class:`SFKDClassifier`.
    alpha : float or "auto", default=1.0
        Weight of the OFA terms; "auto" as for :class:`SFKDClassifier`.
    eps : float, default=1.0
        OFA's target-enhancement exponent.
    temperature : float, default=1.0
    student_layer : str, default="auto"

    Examples
    --------
    >>> from skdistill.classification import OFAClassifier
    >>> OFAClassifier().get_params()["eps"]
    1.0
    """

    teacher_layer = "auto"  # OFA needs no teacher feature map

    _nonnegative_params = ("alpha",)
    _positive_params = ("eps", "temperature")

    def __init__(
        self,
        teacher=None,
        student="cnn",
        input_shape=None,
        alpha: float = 1.0,
        eps: float = 1.0,
        temperature: float = 1.0,
        student_layer: str = "auto",
        max_epochs: int = 10,
        batch_size: int = 128,
        lr: float = 1e-3,
        device: str = "cpu",
        random_state=None,
        verbose: int = 1,
        precision: str = "32",
        compile: bool = False,
        memory=None,
    ):
        self._set_shared_params(
            teacher,
            student,
            input_shape,
            max_epochs,
            batch_size,
            lr,
            device,
            random_state,
            verbose,
            precision=precision,
            compile=compile,
            memory=memory,
        )
        self.alpha = alpha
        self.eps = eps
        self.temperature = temperature
        self.student_layer = student_layer

    def _uses_student_feature(self) -> bool:
        return True

    def _make_objective(self, ctx, weights):
        branch = ofa_branch(ctx.student_shape, ctx.n_classes)
        return OFAObjective(branch, weights["alpha"], self.eps, self.temperature)
