"""SFKD as a scikit-learn classifier."""

from __future__ import annotations

import warnings

from skdistill._validation import check_bool, check_choice, check_int
from skdistill.classification._base import BaseDistillClassifier
from skdistill.losses.sfkd import SFKDObjective
from skdistill.losses.wavelets import check_wavelet
from skdistill.nn.vision import aligned_grid
from skdistill.training.classification import ObjectiveContext, sfkd_objective

#: The default of ``levels``; clipping it to a small teacher map is silent (see the docstring).
_DEFAULT_LEVELS = 2


def _levels_allowed(side: int) -> int:
    """Most DWT levels a teacher grid side allows: ``2**levels <= side``, and at least 1.

    A 1-pixel side still gets one level: its grid is rounded up to 2 (a constant map, whose
    detail bands are zero), so that the feature terms keep working on the smallest maps.
    """
    return max(1, side.bit_length() - 1)


def _levels_dividing(length: int) -> int:
    """Most levels a vector of ``length`` allows (the 1-D path is not resized): ``2**l | length``."""
    return (length & -length).bit_length() - 1


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

        Every teacher is checked once at the start of ``fit``: a torch teacher (or the
        network of a skorch / skdistill teacher) runs on two training images and must
        return ``(2, n_classes)`` finite logits, otherwise a ValueError names ``teacher``,
        the image shape and the original error (chained). A scikit-learn teacher (anything
        but a skdistill classifier or a skorch net, which take the images themselves) is
        fitted on and predicts 2-D X as given, and 4-D X flattened to ``(n, C*H*W)``:
        scikit-learn classifiers take no 4-D arrays, and pixel rows are what one would fit
        them on. A teacher that fails on that X raises a ValueError naming ``teacher``.
    student : {"cnn", "vit", "mixer", "mlp"} or torch.nn.Module, default="cnn"
        Student architecture (:mod:`skdistill.nn.vision`); a module is deep-copied at each
        fit. For 2-D X without ``input_shape`` (vectors) the zoo's "mlp" is used.
    input_shape : tuple (C, H, W), optional
        Shape of each sample when X is 2-D (flattened images). With 4-D X it must be None or
        equal to ``X.shape[1:]`` (a different one is a ValueError, not ignored).
    alpha : float or "auto", default=1.0
        Weight of logit KD. "auto" (an option of every loss weight of every classifier):
        the weight's default times 0, 0.1, 0.5, 1 or 2, chosen on a stratified 20 % of the
        training images held out: every candidate trains 1 epoch on the rest, the one at 0
        (no teacher signal) trains to ``max_epochs``, the three best others to 3 epochs,
        on together while within 2 % of the leader, and the leader to ``max_epochs``; the
        leader wins if its held-out cross-entropy is more than 2 % below the baseline's,
        and the chosen weights are then trained on every image as a fit with them fixed
        (same draws). Several "auto" weights move together. It costs about 3 to 4 fits;
        ``weight_search_`` records every candidate.
    beta : float or "auto", default=0.1
        Weight of the wavelet sub-band loss.
    gamma : float or "auto", default=0.1
        Weight of the frequency loss (``feature_loss``).
    temperature : float, default=4.0
        KD temperature.
    wavelet : str, default="haar"
        Any discrete PyWavelets wavelet ("haar", "db2", ...).
    levels : int, default=2
        DWT levels (at most). They are clipped to what the tapped teacher map allows
        (``2**levels`` <= its smaller side, at least 1; for a vector tap, ``2**levels`` must
        divide its length), and the teacher grid is rounded up to a multiple of
        ``2**levels_``: the 2x2 last map of a CNN on 8x8 digits gets 1 level. The levels
        used are ``levels_``. Clipping the default (2) is silent, so that the defaults work
        on small images; clipping any other value warns (UserWarning), since it was asked
        for explicitly.
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
    verbose : int, default=1
        0: silent (nothing on stdout or stderr). 1: progress bars on stderr (the teacher's
        outputs on the training images, the training epochs with the last loss). 2: also
        skorch's table of every epoch with every loss term (stdout). With ``verbose=0`` an
        unfitted estimator teacher is fitted silently too (its ``verbose`` set to 0).
    precision : {"32", "bf16", "16-mixed"}, default="32"
        Floating-point precision of the forward passes (Lightning's names): the student's in
        training and prediction, and the teacher's when its outputs are cached for the fit.
        "32": float32; "bf16" (alias "bf16-mixed"): bfloat16 autocast, on CPU and GPU;
        "16-mixed": float16 autocast with gradient scaling, CUDA only (a ValueError at
        ``fit`` on another device). Weights, losses and the returned probabilities stay
        float32 or float64. The user guide's page on scaling out gives measured speed and
        accuracy.
    compile : bool, default=False
        Compile the network with ``torch.compile`` for training (on CPU it needs a C
        compiler; the first epoch pays the compilation, tens of seconds). The fitted
        estimator keeps the plain network: it pickles and predicts without a compiler.
    memory : None, str, os.PathLike or joblib.Memory, default=None
        Cache of the fitted teacher, as in ``Pipeline(memory=...)``: an unfitted
        scikit-learn teacher (a classifier of this package included) is fitted once per
        training set and reused by later fits on the same data with the same teacher
        parameters (``GridSearchCV`` candidates, repeated fits), in any process that shares
        the folder. The key holds the teacher's clone (with the seed the distiller gave it),
        the images and labels it is fitted on, and the package versions; ``verbose`` is not
        part of it. A teacher without a seed (``random_state`` None here and on the teacher)
        is cached like any other: the first fit is reused. Torch modules and fitted
        teachers are used as they are.

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
    levels_ : int
        The DWT levels used (``levels`` clipped to the teacher map; ``levels`` when no teacher
        map is used).
    alpha_, beta_, gamma_ : float
        The loss weights used: the chosen ones under "auto"; ``beta_`` and ``gamma_`` are 0
        without a teacher map, all are 0 without a teacher. (Every classifier has one such
        attribute per loss weight.)
    weight_search_ : list of dict or None
        Under "auto": per candidate, its weights, the ``epochs`` it trained and its held-out
        cross-entropy (``valid_loss``); None with fixed weights (as for every classifier).
    valid_loss_, teacher_valid_loss_ : float or None
        Under "auto": the held-out cross-entropy of the chosen candidate and of the teacher's
        logits; a search that chose 0 gives a
        :class:`~skdistill.exceptions.WeakTeacherWarning` with both. None with fixed weights
        (there is no held-out split then).

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
        verbose: int = 1,
        precision: str = "32",
        compile: bool = False,
        memory=None,
    ) -> None:
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
        # All checked whatever the teacher: the loss that would catch them is not built
        # without a teacher or with the feature terms off.
        check_int(self.levels, "levels")
        check_wavelet(self.wavelet)
        check_choice(self.ds2s, "ds2s", ("full", "light", "none"))
        check_choice(self.feature_loss, "feature_loss", ("gffl", "mse", "infonce"))
        check_choice(self.gffl_mode, "gffl_mode", ("amplitude", "complex"))
        check_bool(self.gffl_highpass, "gffl_highpass")

    def _uses_features(self) -> bool:
        return self._largest("beta") > 0 or self._largest("gamma") > 0

    def _weights_used(self, ctx: ObjectiveContext, weights: dict) -> dict:
        if ctx.use_features:
            return weights
        return {**weights, "beta": 0.0, "gamma": 0.0}  # no teacher map: logit terms only

    def _reset_fitted(self) -> None:
        # As asked, until _teacher_grid clips it to a teacher map (only when one is used).
        self.levels_ = int(self.levels)

    def _teacher_grid(self, teacher_canonical: tuple):
        """Clip the levels to the teacher map (sets ``levels_``); return the aligned grid."""
        levels = int(self.levels)
        if len(teacher_canonical) != 3:
            length = teacher_canonical[-1]
            allowed = _levels_dividing(length)
            if allowed < 1:
                raise ValueError(
                    f"the teacher feature is a vector of odd length {length}: no wavelet level "
                    "fits it; tap another teacher_layer (a map or an even-length vector)."
                )
            where, grid = f"vector of length {length}", None
        else:
            h, w = teacher_canonical[1:]
            allowed = _levels_allowed(min(h, w))
            where, grid = f"{h}x{w} map", (h, w)
        self.levels_ = min(levels, allowed)
        if self.levels_ < levels and levels != _DEFAULT_LEVELS:
            warnings.warn(
                f"levels={levels} is more than the teacher's {where} allows; using "
                f"levels_={self.levels_}. Tap an earlier (larger) teacher_layer for more levels.",
                UserWarning,
                stacklevel=2,
            )
        return None if grid is None else aligned_grid(grid, self.levels_)

    def _make_objective(self, ctx: ObjectiveContext, weights: dict) -> SFKDObjective:
        return sfkd_objective(
            ctx,
            levels=self.levels_,
            ds2s=self.ds2s,
            alpha=weights["alpha"],
            beta=weights["beta"],
            gamma=weights["gamma"],
            temperature=float(self.temperature),
            wavelet=self.wavelet,
            gffl_sigma=float(self.gffl_sigma),
            gffl_mode=self.gffl_mode,
            gffl_highpass=bool(self.gffl_highpass),
            feature_loss=self.feature_loss,
        )
