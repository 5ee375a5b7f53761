"""Heterogeneous image distillation benchmark: datasets x teacher/student pairs x methods.

Every cell (one dataset, pair, method and seed) trains a student with the same epoch budget and
is written to its own JSON file, so an interrupted run resumes where it stopped. Each teacher
architecture is trained once per dataset (alone, on the same training images), pickled, and
shared by every pair and seed that distils it. Accuracy is measured on a held-out validation
split of the training images (the one to look at when choosing anything) and on the test
split (reported, never used to choose). :func:`render_vision_report` turns the records into
tables in OFA's layout (pairs as rows, methods as columns) and plots.
"""

from __future__ import annotations

import json
import os
import pickle
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skdistill.benchmarks._common import (
    append_run,
    load_records,
    machine_line,
    mean_std,
    peak_rss_mb,
    section,
    table,
)

__all__ = [
    "VISION_ARCHS",
    "VISION_METHODS",
    "VISION_PROFILES",
    "VisionConfig",
    "load_vision_records",
    "load_vision_split",
    "render_vision_report",
    "run_vision",
]

# Architecture name -> (zoo name, size overrides). "cnn_small" is the homogeneous pair's student.
VISION_ARCHS: dict[str, tuple[str, dict]] = {
    "cnn": ("cnn", {}),
    "cnn_small": ("cnn", {"width": 8}),
    "vit": ("vit", {}),
    "mixer": ("mixer", {}),
    "mlp": ("mlp", {}),
}
# Method -> (classifier class, overrides). "alone" is the student without a teacher; the
# "sfkd_*" entries are SFKD's ablations (one choice changed from the defaults each).
VISION_METHODS: dict[str, tuple[str, dict]] = {
    "alone": ("SFKDClassifier", {}),
    "kd": ("KDClassifier", {}),
    "fitnet": ("FitNetClassifier", {}),
    "dkd": ("DKDClassifier", {}),
    "ofa": ("OFAClassifier", {}),
    "sfkd": ("SFKDClassifier", {}),
    "sfkd_mse": ("SFKDClassifier", {"feature_loss": "mse"}),
    "sfkd_infonce": ("SFKDClassifier", {"feature_loss": "infonce"}),
    "sfkd_ds2s_light": ("SFKDClassifier", {"ds2s": "light"}),
    "sfkd_ds2s_none": ("SFKDClassifier", {"ds2s": "none"}),
    "sfkd_levels1": ("SFKDClassifier", {"levels": 1}),
    "sfkd_levels3": ("SFKDClassifier", {"levels": 3}),
    "sfkd_db2": ("SFKDClassifier", {"wavelet": "db2"}),
    "sfkd_sigma0.1": ("SFKDClassifier", {"gffl_sigma": 0.1}),
    "sfkd_sigma0.5": ("SFKDClassifier", {"gffl_sigma": 0.5}),
    # The feature terms alone (no logit KD): what SFKD adds beyond KD, and what is left when
    # the teacher's predictions are worse than the student's.
    "sfkd_alpha0": ("SFKDClassifier", {"alpha": 0.0}),
}
_MAIN_METHODS = ("alone", "kd", "fitnet", "dkd", "ofa", "sfkd")
_ABLATIONS = tuple(m for m in VISION_METHODS if m.startswith("sfkd_"))
_DATASETS = ("fashion_mnist", "cifar10", "digits")
# The pairs of the issue: five heterogeneous ones and one homogeneous (CNN -> smaller CNN).
_PAIRS = ("cnn->vit", "vit->cnn", "cnn->mixer", "mixer->cnn", "cnn->mlp", "cnn->cnn_small")
# Teacher taps that differ from "auto", by (dataset, teacher, method or None for any): on the
# 8x8 digits the CNN's last stage is 2x2, too small for a 2-level DWT, so its 4x4 second stage
# is tapped (as in SFKDClassifier's example); a 3-level DWT needs >= 8 pixels a side, so on
# Fashion-MNIST (7x7 last stage) that ablation taps the 14x14 second stage.
_TEACHER_LAYERS = {
    ("digits", "cnn", None): "layer2",
    ("fashion_mnist", "cnn", "sfkd_levels3"): "layer2",
}
# Per-dataset batch size: the 1,078 training digits give 9 steps an epoch at 128.
_BATCH_SIZES = {"digits": 32}
# Published CIFAR-100 top-1 (224x224, ImageNet-pretrained teachers, 300 epochs): KD, FitNet, OFA.
PAPER_CIFAR100 = {
    "Swin-T -> ResNet18": (78.74, 78.87, 80.54),
    "ViT-S -> ResNet18": (77.26, 77.71, 80.15),
    "ConvNeXt-T -> DeiT-T": (72.99, 60.78, 75.76),
    "ConvNeXt-T -> ResMLP-S12": (72.25, 45.47, 75.21),
}


@dataclass(frozen=True)
class VisionConfig:
    """What one vision benchmark run covers (the presets are in ``VISION_PROFILES``).

    Parameters
    ----------
    datasets : tuple of str
        "fashion_mnist", "cifar10" (the 4000-image subset, split stratified 3000 train /
        1000 test with seed 0) and "digits" (scikit-learn's 8x8 digits, stratified 2/3 train,
        1/3 test with seed 0).
    pairs : tuple of str
        "teacher->student" with architectures from ``VISION_ARCHS``.
    methods : tuple of str
        Keys of ``VISION_METHODS``.
    seeds : tuple of int
        Student seeds (tables show mean and std); teachers are trained once with seed 0.
    epochs : int
        Epochs of every student, whatever the method.
    teacher_epochs : int
        Epochs of every teacher.
    teacher_data : {"student", "all"}
        Images the teachers train on: "student" is the students' training split; "all" is
        every training image outside the validation split (a teacher pretrained on more data
        than the student's budget allows, as distilled teachers usually are).
    teacher_flip : bool
        Add left-right mirrored copies of the teachers' training images (CIFAR-10's usual
        augmentation); students never get them.
    teacher_shift : int
        If > 0, add copies of the teachers' training images (mirrored ones included) shifted
        by this many pixels up, down, left and right, zero-filled: a fixed stand-in for
        random-crop augmentation, which small ViTs need on small data. Students never get
        them.
    n_train : int, optional
        Stratified subset of the training images (seed 0) for large datasets; None keeps all.
    n_test : int, optional
        First test images kept; None keeps all.
    valid_fraction : float
        Stratified share of the training images held out for validation (seed 0).
    batch_size : int
        Mini-batch size of the students.
    teacher_batch_size : int, optional
        Mini-batch size of the teachers; None uses ``batch_size``.
    ablation_pairs : tuple of str
        Pairs on which the ``sfkd_*`` ablation methods run (the other methods run on every
        pair).
    device : str
        "cpu", "cuda" or "cuda:N".
    threads : int, optional
        Torch intra-op threads for the whole run.

    Examples
    --------
    >>> from skdistill.benchmarks import VisionConfig
    >>> VisionConfig(datasets=("digits",), pairs=("cnn->vit",)).methods
    ('alone', 'kd', 'fitnet', 'dkd', 'ofa', 'sfkd')
    """

    datasets: tuple[str, ...] = _DATASETS
    pairs: tuple[str, ...] = _PAIRS
    methods: tuple[str, ...] = _MAIN_METHODS
    seeds: tuple[int, ...] = (0,)
    epochs: int = 8
    teacher_epochs: int = 8
    teacher_data: str = "student"
    teacher_flip: bool = False
    teacher_shift: int = 0
    n_train: int | None = 10000
    n_test: int | None = None
    valid_fraction: float = 0.1
    batch_size: int = 128
    teacher_batch_size: int | None = None
    ablation_pairs: tuple[str, ...] = ("cnn->vit",)
    device: str = "cpu"
    threads: int | None = None


VISION_PROFILES: dict[str, VisionConfig] = {
    # A few minutes on 2 CPU cores: the whole pipeline on the digits, not meaningful numbers.
    "quick": VisionConfig(
        datasets=("digits",),
        pairs=("cnn->vit", "vit->cnn"),
        methods=("alone", "kd", "sfkd"),
        epochs=2,
        teacher_epochs=2,
    ),
    "full": VisionConfig(methods=_MAIN_METHODS + _ABLATIONS),
}


def _cell_name(dataset: str, pair: str, method: str, seed: int) -> str:
    return f"{dataset}_{pair.replace('->', '-to-')}_{method}_s{seed}"


def _parse_pair(pair: str) -> tuple[str, str]:
    parts = pair.split("->")
    if len(parts) != 2 or any(p not in VISION_ARCHS for p in parts):
        raise ValueError(
            f"pairs: {pair!r} is not 'teacher->student' with architectures from "
            f"{list(VISION_ARCHS)}"
        )
    return parts[0], parts[1]


def _check_config(config: VisionConfig) -> None:
    unknown = set(config.methods) - set(VISION_METHODS)
    if unknown:
        raise ValueError(f"methods: unknown {sorted(unknown)}; choose from {list(VISION_METHODS)}")
    unknown = set(config.datasets) - set(_DATASETS)
    if unknown:
        raise ValueError(f"datasets: unknown {sorted(unknown)}; choose from {list(_DATASETS)}")
    for pair in (*config.pairs, *config.ablation_pairs):
        _parse_pair(pair)
    for name in ("epochs", "teacher_epochs", "batch_size"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    for name in ("n_train", "n_test", "threads", "teacher_batch_size"):
        value = getattr(config, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"{name} must be a positive int or None; got {value!r}")
    if config.teacher_data not in ("student", "all"):
        raise ValueError(f"teacher_data must be 'student' or 'all'; got {config.teacher_data!r}")
    if not isinstance(config.teacher_flip, bool):
        raise TypeError(f"teacher_flip must be a bool; got {config.teacher_flip!r}")
    shift = config.teacher_shift
    if isinstance(shift, bool) or not isinstance(shift, int) or shift < 0:
        raise ValueError(f"teacher_shift must be an int >= 0; got {shift!r}")
    if not 0 < config.valid_fraction < 0.5:
        raise ValueError(f"valid_fraction must be in (0, 0.5); got {config.valid_fraction!r}")
    if not config.datasets or not config.pairs or not config.seeds or not config.methods:
        raise ValueError("datasets, pairs, seeds and methods must each name at least one")


def _stratified(y: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(chosen, rest)`` with ``n`` chosen in proportion to the classes."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    chosen, rest = train_test_split(idx, train_size=n, stratify=y, random_state=seed)
    return np.sort(chosen), np.sort(rest)


def load_vision_split(
    dataset: str, config: VisionConfig, data_home=None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train", "valid", "test", "teacher_train"}`` -> ``(X, y)`` of ``dataset`` under ``config``.

    Images are ``(n, C, H, W)`` float32 in [0, 1]. Every split is deterministic (seed 0). The
    validation images are drawn from the students' subset and are in no training split;
    "teacher_train" is the students' "train" unless ``config.teacher_data == "all"``.
    """
    if dataset == "fashion_mnist":
        from skdistill.datasets import load_fashion_mnist

        X, y = load_fashion_mnist(data_home, split="train", download=False)
        X_test, y_test = load_fashion_mnist(data_home, split="test", download=False)
    elif dataset == "cifar10":
        from skdistill.datasets import load_cifar10_subset

        X_all, y_all = load_cifar10_subset(data_home)
        train, test = _stratified(y_all, 3000, 0)
        X, y, X_test, y_test = X_all[train], y_all[train], X_all[test], y_all[test]
    elif dataset == "digits":
        from sklearn.datasets import load_digits

        X_all, y_all = load_digits(return_X_y=True)
        X_all = (X_all / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
        train, test = _stratified(y_all, 1198, 0)
        X, y, X_test, y_test = X_all[train], y_all[train], X_all[test], y_all[test]
    else:
        raise ValueError(f"datasets: unknown {dataset!r}; choose from {list(_DATASETS)}")
    keep = np.arange(len(y))
    if config.n_train is not None and config.n_train < len(y):
        keep, _ = _stratified(y, config.n_train, 0)
    if config.n_test is not None:
        X_test, y_test = X_test[: config.n_test], y_test[: config.n_test]
    n_valid = max(len(np.unique(y)), int(round(config.valid_fraction * len(keep))))
    valid, train = _stratified(y[keep], n_valid, 0)
    valid, train = keep[valid], keep[train]
    y = y.astype(np.int64)
    splits = {
        "train": (X[train], y[train]),
        "valid": (X[valid], y[valid]),
        "test": (X_test, np.asarray(y_test, dtype=np.int64)),
    }
    if config.teacher_data == "all" and len(keep) < len(y):
        # Everything but the validation images, so validation stays unseen by every model.
        rest = np.setdiff1d(np.arange(len(y)), valid)
        splits["teacher_train"] = (X[rest], y[rest])
    else:
        splits["teacher_train"] = splits["train"]
    return splits


def _augmented(X: np.ndarray, y: np.ndarray, flip: bool, shift: int):
    """``(X, y)`` with mirrored copies (if ``flip``) and four ``shift``-pixel shifts of each."""
    if flip:
        X, y = np.concatenate([X, X[..., ::-1]]), np.concatenate([y, y])
    if shift:
        h, w = X.shape[-2:]
        padded = np.pad(X, ((0, 0), (0, 0), (shift, shift), (shift, shift)))
        moved = [
            padded[..., shift + dy : shift + dy + h, shift + dx : shift + dx + w]
            for dy, dx in ((shift, 0), (-shift, 0), (0, shift), (0, -shift))
        ]
        X, y = np.concatenate([X, *moved]), np.tile(y, 5)
    return np.ascontiguousarray(X, dtype=np.float32), y


def _student_module(arch: str, image_shape: tuple, n_classes: int):
    from skdistill.nn.vision import build_model

    name, overrides = VISION_ARCHS[arch]
    c, h, w = image_shape
    return build_model(name, c, n_classes, (h, w), **overrides)


def _latency_ms(module, images: np.ndarray, repeats: int = 20) -> float:
    """Median seconds x 1000 of one forward pass of the student over ``images``."""
    import torch

    device = next(module.parameters()).device
    x = torch.as_tensor(images).to(device)
    module.eval()
    times = []
    with torch.no_grad():
        for i in range(repeats + 2):
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            module(x)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= 2:
                times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


class _Runner:
    """Fits and records the cells of one configuration under ``output_dir``."""

    def __init__(self, config: VisionConfig, output_dir: Path, data_home, log: Callable) -> None:
        self.config, self.out, self.data_home, self.log = config, output_dir, data_home, log
        (self.out / "cells").mkdir(parents=True, exist_ok=True)
        (self.out / "teachers").mkdir(parents=True, exist_ok=True)
        self._data: dict[str, dict] = {}

    def data(self, dataset: str) -> dict:
        if dataset not in self._data:
            self._data[dataset] = load_vision_split(dataset, self.config, self.data_home)
        return self._data[dataset]

    def _fit_arch(self, dataset, arch, method, teacher, teacher_arch, seed, epochs, split="train"):
        import torch

        import skdistill.classification as classification

        cls_name, overrides = VISION_METHODS[method]
        X, y = self.data(dataset)[split]
        if split == "teacher_train":
            X, y = _augmented(X, y, self.config.teacher_flip, self.config.teacher_shift)
        # The module's initial weights come from torch's global generator: seed it here, or
        # a cell's result would depend on what the process ran before it.
        torch.manual_seed(seed)
        student = _student_module(arch, X.shape[1:], len(np.unique(y)))
        cls = getattr(classification, cls_name)
        if teacher is not None and "teacher_layer" in cls().get_params():
            layer = _TEACHER_LAYERS.get(
                (dataset, teacher_arch, method), _TEACHER_LAYERS.get((dataset, teacher_arch, None))
            )
            if layer:
                overrides = {"teacher_layer": layer, **overrides}
        batch_size = self.config.batch_size
        if split == "teacher_train" and self.config.teacher_batch_size is not None:
            batch_size = self.config.teacher_batch_size
        model = cls(
            teacher=teacher,
            student=student,
            max_epochs=epochs,
            batch_size=_BATCH_SIZES.get(dataset, batch_size),
            device=self.config.device,
            random_state=seed,
            **overrides,
        )
        t0 = time.perf_counter()
        model.fit(X, y)
        return model, time.perf_counter() - t0

    def teacher(self, dataset: str, arch: str):
        """The teacher of ``arch`` on ``dataset`` (trained alone once, seed 0) and its record."""
        path = self.out / "teachers" / f"{dataset}_{arch}.pkl"
        if path.exists():
            with path.open("rb") as f:
                return pickle.load(f)
        model, fit_s = self._fit_arch(
            dataset, arch, "alone", None, None, 0, self.config.teacher_epochs, "teacher_train"
        )
        rec = self.record(dataset, f"{arch}->{arch}", "teacher", 0, model, fit_s)
        # Images the teacher saw per epoch (augmented copies included).
        rec["n_train"] = len(self.data(dataset)["teacher_train"][1]) * (
            (2 if self.config.teacher_flip else 1) * (5 if self.config.teacher_shift else 1)
        )
        with path.open("wb") as f:
            pickle.dump((model, rec), f)
        return model, rec

    def fit_cell(self, dataset: str, pair: str, method: str, seed: int):
        t_arch, s_arch = _parse_pair(pair)
        teacher = None if method == "alone" else self.teacher(dataset, t_arch)[0]
        return self._fit_arch(dataset, s_arch, method, teacher, t_arch, seed, self.config.epochs)

    def record(self, dataset: str, pair: str, method: str, seed: int, model, fit_s: float) -> dict:
        data = self.data(dataset)
        accuracy = {
            split: float(np.mean(model.predict(data[split][0]) == data[split][1]))
            for split in ("valid", "test")
        }
        student = model.net_.module_.student
        objective = getattr(model.net_.module_, "objective", None)
        extra = sum(p.numel() for p in objective.parameters()) if objective is not None else 0
        durations = [float(d) for d in model.history_[:, "dur"]]
        t_arch, s_arch = _parse_pair(pair)
        return {
            "dataset": dataset,
            "pair": pair,
            "teacher": t_arch,
            "student": s_arch,
            "method": method,
            "seed": seed,
            "accuracy": accuracy["test"],
            "valid_accuracy": accuracy["valid"],
            "n_train": len(data["train"][1]),
            "n_test": len(data["test"][1]),
            "params": int(model.n_parameters()),
            "train_only_params": int(extra),
            "epochs": len(durations),
            "batch_size": int(model.batch_size),
            "epoch_s": statistics.median(durations),
            "fit_s": fit_s,
            "latency_ms": _latency_ms(student, data["test"][0][:128]),
            "peak_rss_mb": peak_rss_mb(),
            "final_train_loss": float(model.history_[-1, "train_loss"]),
            # Each loss term's last-epoch value (unweighted), to compare their scales.
            "final_terms": {
                k[len("train_") :]: float(v)
                for k, v in model.history_[-1].items()
                if k.startswith("train_")
                and k not in ("train_loss", "train_batch_count")
                and not k.endswith("_best")
                and isinstance(v, int | float)
            },
        }


def _cells(config: VisionConfig) -> Iterable[tuple]:
    for dataset in config.datasets:
        for pair in config.pairs:
            teacher = _parse_pair(pair)[0]
            yield dataset, f"{teacher}->{teacher}", "teacher", 0
            for seed in config.seeds:
                for method in config.methods:
                    if method in _ABLATIONS and pair not in config.ablation_pairs:
                        continue
                    yield dataset, pair, method, seed


def run_vision(
    config: VisionConfig | str = "quick",
    output_dir: str | os.PathLike = "skdistill_output/vision",
    data_home: str | os.PathLike | None = None,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Run (or resume) the vision benchmark and return every cell's record.

    Parameters
    ----------
    config : VisionConfig or {"quick", "full"}, default="quick"
        What to run; a profile name picks from :data:`VISION_PROFILES`.
    output_dir : path, default="skdistill_output/vision"
        Cells go to ``output_dir/cells/*.json`` (a cell with a record is not recomputed;
        delete its file to redo it), fitted teachers to ``output_dir/teachers/``, and each
        invocation's configuration, versions and machine to ``output_dir/run.json``. Cells
        and teachers are keyed by dataset, pair, method and seed only: give a run with other
        epochs or subsets its own folder.
    data_home : path, optional
        Searched first for the image files (see :func:`skdistill.datasets.load_fashion_mnist`).
        Nothing is downloaded.
    log : callable, default=print
        Receives one progress line per cell.

    Returns
    -------
    list of dict
        One record per cell: dataset, pair, teacher, student, method, seed, accuracy (test),
        valid_accuracy, params (the student), train_only_params (projectors and refiners
        dropped after training), epoch_s (median seconds per epoch), fit_s, latency_ms (the
        student over 128 test images, median), peak_rss_mb. Teachers have method "teacher".

    Examples
    --------
    >>> from skdistill.benchmarks import run_vision
    >>> records = run_vision("quick", "/tmp/vision_quick")  # doctest: +SKIP
    """
    if isinstance(config, str):
        if config not in VISION_PROFILES:
            raise ValueError(
                f"config: unknown profile {config!r}; use one of {list(VISION_PROFILES)} or a "
                "VisionConfig"
            )
        config = VISION_PROFILES[config]
    if not isinstance(config, VisionConfig):
        raise TypeError(f"config must be a VisionConfig or a profile name; got {type(config)}")
    _check_config(config)
    if config.threads is not None:
        import torch

        torch.set_num_threads(config.threads)
    out = Path(output_dir)
    runner = _Runner(config, out, data_home, log)
    append_run(out, config)
    cells = list(dict.fromkeys(_cells(config)))
    records = []
    for i, (dataset, pair, method, seed) in enumerate(cells, 1):
        path = out / "cells" / f"{_cell_name(dataset, pair, method, seed)}.json"
        label = f"[{i}/{len(cells)}] {dataset} {pair} {method} seed={seed}"
        if path.exists():
            records.append(json.loads(path.read_text()))
            log(f"{label}: recorded")
            continue
        t0 = time.perf_counter()
        try:
            if method == "teacher":
                rec = runner.teacher(dataset, _parse_pair(pair)[0])[1]
            else:
                model, fit_s = runner.fit_cell(dataset, pair, method, seed)
                rec = runner.record(dataset, pair, method, seed, model, fit_s)
        except ValueError as exc:
            if method == "teacher":
                raise
            # A method that cannot run on a pair (e.g. a tap too small for its DWT levels) is
            # recorded and listed in the report instead of ending a long run; delete the file
            # to retry it.
            rec = {
                "dataset": dataset,
                "pair": pair,
                "method": method,
                "seed": seed,
                "error": str(exc),
            }
        rec["wall_s"] = time.perf_counter() - t0
        path.write_text(json.dumps(rec, indent=2))
        records.append(rec)
        if "error" in rec:
            log(f"{label}: FAILED: {rec['error']}")
            continue
        log(
            f"{label}: accuracy {rec['accuracy']:.4f} (valid {rec['valid_accuracy']:.4f}), "
            f"{rec['epoch_s']:.2f} s/epoch ({rec['wall_s']:.0f} s)"
        )
    return records


def load_vision_records(output_dir: str | os.PathLike) -> list[dict]:
    """Every cell record under ``output_dir/cells``."""
    return load_records(output_dir)


# --- report ------------------------------------------------------------------------------
def _group(records: list[dict], key: str) -> dict[tuple, list[float]]:
    out: dict[tuple, list[float]] = {}
    for r in records:
        out.setdefault((r["dataset"], r["pair"], r["method"]), []).append(r[key])
    return out


def _order(values: Iterable[str], reference: Iterable[str]) -> list[str]:
    ref = list(reference)
    seen = list(dict.fromkeys(values))
    return sorted(seen, key=lambda v: (ref.index(v) if v in ref else len(ref), v))


def _accuracy_table(records, dataset, methods, fmt, key="accuracy", rows_of=None) -> str | None:
    """Pairs as rows (those with a record of a method in ``rows_of``), methods as columns."""
    acc = _group(records, key)
    rows_of = methods if rows_of is None else rows_of
    pairs = _order((k[1] for k in acc if k[0] == dataset and k[2] in rows_of), _PAIRS)
    if not pairs:
        return None
    rows = []
    for pair in pairs:
        t = _parse_pair(pair)[0]
        row = [pair, mean_std(acc.get((dataset, f"{t}->{t}", "teacher"), []), 2, 100)]
        row += [mean_std(acc.get((dataset, pair, m), []), 2, 100) for m in methods]
        rows.append(row)
    return table(["pair", "teacher", *methods], rows, fmt)


def _seed_counts(records: list[dict]) -> str:
    """Seeds per method, e.g. "alone 3, kd 1" (the most any pair has); teachers left out."""
    seeds: dict[str, dict[str, set]] = {}
    for r in records:
        if r["method"] != "teacher":
            seeds.setdefault(r["method"], {}).setdefault(r["pair"], set()).add(r["seed"])
    methods = _order(seeds, VISION_METHODS)
    return ", ".join(f"{m} {max(len(v) for v in seeds[m].values())}" for m in methods)


def _cost_table(records, fmt) -> str:
    """Per method: epoch time relative to KD on the same cell, extra training parameters."""
    by = {(r["dataset"], r["pair"], r["method"], r["seed"]): r for r in records}
    methods = _order((r["method"] for r in records if r["method"] != "teacher"), VISION_METHODS)
    rows = []
    for m in methods:
        ratios, extra, lat = [], [], []
        for (d, p, meth, s), r in by.items():
            if meth != m:
                continue
            kd = by.get((d, p, "kd", s))
            if kd:
                ratios.append(r["epoch_s"] / kd["epoch_s"])
            extra.append(r["train_only_params"])
            lat.append(r["latency_ms"])
        rows.append(
            [
                m,
                f"{statistics.median(ratios):.2f}x" if ratios else "-",
                f"{int(statistics.median(extra)):,}" if extra else "-",
                f"{statistics.median(lat):.2f}" if lat else "-",
                str(len(extra)),
            ]
        )
    header = [
        "method",
        "s/epoch vs KD (median)",
        "extra training params (median)",
        "student ms / 128 images (median)",
        "cells",
    ]
    return table(header, rows, fmt)


def _claims(records: list[dict]) -> list[str]:
    """Plain sentences: where SFKD stands against the student alone, KD and OFA."""
    acc = {k: float(np.mean(v)) for k, v in _group(records, "accuracy").items()}
    lines = []
    for dataset in _order((r["dataset"] for r in records), _DATASETS):
        pairs = [
            p
            for p in _order((k[1] for k in acc if k[0] == dataset), _PAIRS)
            if (dataset, p, "sfkd") in acc
        ]
        hetero = [
            p
            for p in pairs
            if VISION_ARCHS[_parse_pair(p)[0]][0] != VISION_ARCHS[_parse_pair(p)[1]][0]
        ]
        for rival in ("alone", "kd", "ofa"):
            done = [p for p in hetero if (dataset, p, rival) in acc]
            if not done:
                continue
            wins = [p for p in done if acc[(dataset, p, "sfkd")] > acc[(dataset, p, rival)]]
            gap = np.mean([acc[(dataset, p, "sfkd")] - acc[(dataset, p, rival)] for p in done])
            losses = ", ".join(
                f"{p} ({100 * (acc[(dataset, p, 'sfkd')] - acc[(dataset, p, rival)]):+.2f})"
                for p in done
                if p not in wins
            )
            lines.append(
                f"- {dataset}: SFKD beats {rival} on {len(wins)} of {len(done)} heterogeneous "
                f"pairs (mean difference {100 * gap:+.2f} points)"
                + (f"; not on {losses}." if losses else ".")
            )
    return lines


def _plots(records: list[dict], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    acc = _group(records, "accuracy")
    datasets = _order((r["dataset"] for r in records), _DATASETS)
    for dataset in datasets:
        pairs = _order((k[1] for k in acc if k[0] == dataset and k[2] in _MAIN_METHODS), _PAIRS)
        methods = [m for m in _MAIN_METHODS if any((dataset, p, m) in acc for p in pairs)]
        if not pairs or not methods:
            continue
        fig, ax = plt.subplots(figsize=(1.6 * len(pairs) + 2, 3.4))
        width = 0.8 / len(methods)
        x = np.arange(len(pairs))
        for i, m in enumerate(methods):
            vals = [100 * np.mean(acc.get((dataset, p, m), [np.nan])) for p in pairs]
            ax.bar(x + (i - (len(methods) - 1) / 2) * width, vals, width=width, label=m)
        ax.set_xticks(x, pairs, fontsize=8)
        finite = [100 * np.mean(v) for k, v in acc.items() if k[0] == dataset]
        ax.set_ylim(max(0, min(finite) - 5), min(100, max(finite) + 3))
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(dataset)
        ax.legend(fontsize=7, ncol=len(methods))
        fig.tight_layout()
        name = f"vision_accuracy_{dataset}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        names.append(name)

    by = {(r["dataset"], r["pair"], r["method"], r["seed"]): r for r in records}
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for m in _order((r["method"] for r in records if r["method"] != "teacher"), VISION_METHODS):
        pts = []
        for (d, p, meth, s), r in by.items():
            kd = by.get((d, p, "kd", s))
            alone = by.get((d, p, "alone", s))
            if meth == m and kd and alone:
                pts.append(
                    (r["epoch_s"] / kd["epoch_s"], 100 * (r["accuracy"] - alone["accuracy"]))
                )
        if pts:
            ax.scatter([q[0] for q in pts], [q[1] for q in pts], s=25, label=m)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("seconds per epoch relative to KD")
    ax.set_ylabel("accuracy gain over the student alone (points)")
    ax.set_title("accuracy vs training cost, every pair")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "vision_accuracy_cost.png", dpi=110)
    plt.close(fig)
    names.append("vision_accuracy_cost.png")
    return names


def render_vision_report(
    output_dir: str | os.PathLike,
    report_dir: str | os.PathLike | None = None,
    rst_image_prefix: str = "",
) -> dict[str, Path]:
    """Write ``report.md``, ``report.rst`` and PNG plots from the records in ``output_dir``.

    Parameters
    ----------
    output_dir : path
        Where :func:`run_vision` wrote its cells.
    report_dir : path, optional
        Where to write the report (default ``output_dir``).
    rst_image_prefix : str, default=""
        Prepended to the image paths of ``report.rst``.

    Returns
    -------
    dict
        ``{"md": path, "rst": path, "plots": [paths]}``.
    """
    everything = load_vision_records(output_dir)
    if not everything:
        raise ValueError(
            f"no cell records under {Path(output_dir) / 'cells'}: run run_vision first"
        )
    records = [r for r in everything if "error" not in r]
    failed = [r for r in everything if "error" in r]
    report = Path(report_dir or output_dir)
    report.mkdir(parents=True, exist_ok=True)
    run = Path(output_dir, "run.json")
    meta = json.loads(run.read_text())["runs"][-1] if run.exists() else {}
    plots = _plots(records, report)
    paths: dict = {"plots": [report / p for p in plots]}
    datasets = _order((r["dataset"] for r in records), _DATASETS)
    for fmt in ("md", "rst"):
        parts = [machine_line(meta)]
        for dataset in datasets:
            mine = [r for r in records if r["dataset"] == dataset]
            sizes = next((r for r in mine if r["method"] != "teacher"), mine[0])
            teacher_n = sorted({r["n_train"] for r in mine if r["method"] == "teacher"})
            seen = (
                f" (teachers: {', '.join(f'{n:,}' for n in teacher_n)})"
                if teacher_n and teacher_n != [sizes["n_train"]]
                else ""
            )
            parts.append(
                section(
                    f"{dataset}: accuracy (%), {sizes['n_train']:,} training images{seen} / "
                    f"{sizes['n_test']:,} test images",
                    fmt,
                )
            )
            main = [m for m in _MAIN_METHODS if any(r["method"] == m for r in records)]
            for key, what in (("accuracy", "Test"), ("valid_accuracy", "Validation")):
                t = _accuracy_table(records, dataset, main, fmt, key)
                if t:
                    parts.append(f"{what} accuracy:\n\n{t}")
            seeds = _seed_counts(mine)
            if seeds:
                parts.append(f"Seeds per cell (mean ± std where more than one): {seeds}.\n")
            ablations = ["sfkd"] + [
                m
                for m in _ABLATIONS
                if any(r["method"] == m and r["dataset"] == dataset for r in records)
            ]
            if len(ablations) > 1:
                t = _accuracy_table(
                    records, dataset, ablations, fmt, "valid_accuracy", rows_of=ablations[1:]
                )
                if t:
                    parts.append(f"SFKD ablations, validation accuracy:\n\n{t}")
        claims = _claims(records)
        if claims:
            parts.append(section("Where SFKD stands", fmt))
            parts.append("\n".join(claims) + "\n")
        if failed:
            parts.append(section("Cells that did not run", fmt))
            parts.append(
                "\n".join(
                    f"- {r['dataset']} {r['pair']} {r['method']} seed {r['seed']}: {r['error']}"
                    for r in failed
                )
                + "\n"
            )
        parts.append(section("Cost", fmt))
        parts.append(_cost_table(records, fmt))
        paper = [[k, *(f"{v:.2f}" for v in vals)] for k, vals in PAPER_CIFAR100.items()]
        parts.append(section("Published CIFAR-100 top-1 (for context)", fmt))
        parts.append(
            "224x224 inputs, ImageNet-pretrained teachers, 300 epochs; ResNet18 from scratch "
            "74.01.\n\n" + table(["pair", "KD", "FitNet", "OFA"], paper, fmt)
        )
        for p in plots:
            parts.append(f"![{p}]({p})\n" if fmt == "md" else f".. image:: {rst_image_prefix}{p}\n")
        path = report / f"report.{fmt}"
        path.write_text("\n".join(parts))
        paths[fmt] = path
    return paths
