"""SFKD as a scikit-learn classifier."""

from __future__ import annotations

from skdistill._validation import check_choice, check_int
from skdistill.classification._base import BaseDistillClassifier
from skdistill.losses.sfkd import SFKDObjective
from skdistill.nn.vision import aligned_grid
from skdistill.training.classification import ObjectiveContext, sfkd_objective


class SFKDClassifier(BaseDistillClassifier):
    """SFKD: spatial-frequency heterogeneous distillation through wavelet sub-bands.

    A frozen teacher of one architecture family (CNN, ViT, MLP-Mixer, MLP) is distilled into a
    student of another. One intermediate map of each is tapped by a forward hook and brought
    to a common (B, C, H, W) layout; the student map is aligned to the teacher's (resize,
    1x1 conv, BatchNorm), decomposed by a multi-level 2-D DWT, refined by the dual-stream
    dual-stage module DS2S and recombined; the loss is

    ``CE + alpha * KD + beta * L_wave + gamma * GFFL``

    (wavelet sub-band MSE, and a Gaussian low-pass weighted frequency loss against the
    channel-normalised teacher map). Only the student runs at prediction time. See the user
    guide for which choices are the paper's and which are ours.

    Parameters
    ----------
    teacher : torch.nn.Module, skorch net, classifier or None, default=None
        The frozen teacher. A torch module is used as is (never trained; clones of this
        estimator share it). A fitted skorch net or fitted skdistill classifier contributes
        its network. A fitted scikit-learn classifier with ``predict_proba`` gives logits only
        (feature terms off, with a warning). An unfitted estimator is cloned into ``teacher_``
        and fitted on ``(X, y)`` inside ``fit``. Wrap a fitted scikit-learn teacher in
        ``sklearn.frozen.FrozenEstimator`` to keep it fitted under ``clone``. None trains the
        student alone.
    student : {"cnn", "vit", "mixer", "mlp"} or torch.nn.Module, default="cnn"
        Student architecture (:mod:`skdistill.nn.vision`); a module is deep-copied at each
        fit. For 2-D X without ``input_shape`` (vectors) the zoo's "mlp" is used.
    input_shape : tuple (C, H, W), optional
        Shape of each sample when X is 2-D (flattened images).
    alpha : float, default=1.0
        Weight of logit KD.
    beta : float, default=0.1
        Weight of the wavelet sub-band loss.
    gamma : float, default=0.1
        Weight of the frequency loss (``feature_loss``).
    temperature : float, default=4.0
        KD temperature.
    wavelet : str, default="haar"
        Any discrete PyWavelets wavelet ("haar", "db2", ...).
    levels : int, default=2
        DWT levels; the teacher grid is rounded up to a multiple of ``2**levels``.
    ds2s : {"full", "light", "none"}, default="full"
        DS2S refinement variant.
    gffl_sigma : float, default=0.25
        Width of the Gaussian frequency weight (cycles/pixel).
    feature_loss : {"gffl", "mse", "infonce"}, default="gffl"
        The gamma term (the paper's ablation).
    teacher_layer, student_layer : str, default="auto"
        Module paths of the taps ("auto": the last spatial map or token sequence before the
        head; ``feature_shapes_`` records the choice).
    gffl_mode : {"amplitude", "complex"}, default="amplitude"
    gffl_highpass : bool, default=False
        Weight the spectrum by ``1 - G`` (high-pass, detail) instead of the low-pass ``G``.
    warmup_epochs : int, default=0
        Linear warm-up of beta and gamma over the first epochs.
    max_epochs : int, default=10
    batch_size : int, default=128
    lr : float, default=1e-3
        Adam learning rate.
    device : {"cpu", "cuda", "auto"}, default="cpu"
    random_state : int or None, default=None
    verbose : int, default=0
        1 prints a progress table per epoch with every loss term.

    Attributes
    ----------
    classes_ : ndarray
    n_features_in_ : int
    net_ : skdistill.training.net.DistillNet
        ``net_.module_.student`` is the fitted student; ``net_.criterion_`` the objective with
        the train-only parts (projector, DS2S).
    history_ : skorch.History
        Per epoch ``train_loss`` and each term (``train_ce``, ``train_kd``, ``train_wave``,
        ``train_freq``).
    feature_shapes_ : dict
        Tapped layers and their raw, canonical and aligned shapes.
    teacher_ : object
        The teacher used (fitted).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skdistill.classification import SFKDClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = (X / 16.0).astype(np.float32)
    >>> teacher = SFKDClassifier(student="cnn", input_shape=(1, 8, 8), max_epochs=2,
    ...                          random_state=0).fit(X[:300], y[:300])
    >>> clf = SFKDClassifier(teacher=teacher, student="vit", input_shape=(1, 8, 8),
    ...                      teacher_layer="layer2", max_epochs=2,
    ...                      random_state=0).fit(X[:300], y[:300])
    >>> clf.predict(X[:3]).shape
    (3,)
    >>> {"train_ce", "train_kd", "train_wave", "train_freq"} <= set(clf.history_[-1])
    True
    >>> clf.feature_shapes_["teacher"]["aligned"], clf.feature_shapes_["student"]["layer"]
    ((32, 4, 4), 'norm')
    """

    _nonnegative_params = ("alpha", "beta", "gamma")
    _positive_params = ("temperature", "gffl_sigma")

    def __init__(
        self,
        teacher=None,
        student="cnn",
        input_shape=None,
        alpha: float = 1.0,
        beta: float = 0.1,
        gamma: float = 0.1,
        temperature: float = 4.0,
        wavelet: str = "haar",
        levels: int = 2,
        ds2s: str = "full",
        gffl_sigma: float = 0.25,
        feature_loss: str = "gffl",
        teacher_layer: str = "auto",
        student_layer: str = "auto",
        gffl_mode: str = "amplitude",
        gffl_highpass: bool = False,
        warmup_epochs: int = 0,
        max_epochs: int = 10,
        batch_size: int = 128,
        lr: float = 1e-3,
        device: str = "cpu",
        random_state=None,
        verbose: int = 0,
    ) -> None:
        self._set_shared_params(
            teacher, student, input_shape, max_epochs, batch_size, lr, device, random_state, verbose
        )
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.temperature = temperature
        self.wavelet = wavelet
        self.levels = levels
        self.ds2s = ds2s
        self.gffl_sigma = gffl_sigma
        self.feature_loss = feature_loss
        self.teacher_layer = teacher_layer
        self.student_layer = student_layer
        self.gffl_mode = gffl_mode
        self.gffl_highpass = gffl_highpass
        self.warmup_epochs = warmup_epochs

    def _check_params(self) -> None:
        super()._check_params()
        check_int(self.levels, "levels")
        check_choice(self.ds2s, "ds2s", ("full", "light", "none"))
        check_choice(self.feature_loss, "feature_loss", ("gffl", "mse", "infonce"))
        check_choice(self.gffl_mode, "gffl_mode", ("amplitude", "complex"))

    def _uses_features(self) -> bool:
        return self.beta > 0 or self.gamma > 0

    def _teacher_grid(self, teacher_canonical: tuple):
        if len(teacher_canonical) != 3:
            length = teacher_canonical[-1]
            if length % 2**self.levels:
                raise ValueError(
                    f"the teacher feature is a vector of length {length}, not divisible by "
                    f"2**levels={2**self.levels}; lower levels or tap another teacher_layer."
                )
            return None
        h, w = teacher_canonical[1:]
        if min(h, w) < 2**self.levels:
            raise ValueError(
                f"the teacher map's grid {h}x{w} is too small for levels={self.levels} (needs "
                f">= {2**self.levels} per side); lower levels or tap an earlier teacher_layer."
            )
        return aligned_grid((h, w), self.levels)

    def _make_objective(self, ctx: ObjectiveContext) -> SFKDObjective:
        alpha = float(self.alpha)
        beta, gamma = (float(self.beta), float(self.gamma)) if ctx.use_features else (0.0, 0.0)
        self.alpha_, self.beta_, self.gamma_ = alpha, beta, gamma
        return sfkd_objective(
            ctx,
            levels=int(self.levels),
            ds2s=self.ds2s,
            alpha=alpha,
            beta=beta,
            gamma=gamma,
            temperature=float(self.temperature),
            wavelet=self.wavelet,
            gffl_sigma=float(self.gffl_sigma),
            gffl_mode=self.gffl_mode,
            gffl_highpass=bool(self.gffl_highpass),
            feature_loss=self.feature_loss,
        )
