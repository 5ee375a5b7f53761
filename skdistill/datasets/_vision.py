"""Image classification data: Fashion-MNIST (idx format) and the CIFAR-10 subset."""

from __future__ import annotations

import io
import os

import numpy as np

from skdistill._validation import check_choice

from ._base import FileSpec, describe, read_bytes, resolve, verify

_FMNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/{}.gz"
_FMNIST_SUBDIRS = ("fashion_mnist", "vision/fashion_mnist")


def _fmnist(stem: str, sha256: str) -> FileSpec:
    return FileSpec(stem, ("", ".gz"), _FMNIST_SUBDIRS, sha256, _FMNIST_URL.format(stem), True)


# sha256 of the uncompressed idx files (the official md5s are published for the .gz).
FASHION_MNIST_FILES: dict[str, FileSpec] = {
    "train-images": _fmnist(
        "train-images-idx3-ubyte",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    "train-labels": _fmnist(
        "train-labels-idx1-ubyte",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    "t10k-images": _fmnist(
        "t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
    ),
    "t10k-labels": _fmnist(
        "t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
    ),
}

CIFAR10_SUBSET = FileSpec(
    "cifar10_train_first4000",
    (".npz",),
    ("cifar10", "vision/cifar10"),
    "f21ba659b327871ec330654ccdc95e0da52b1b39c04c467a581440516466148c",
)

_IDX_DTYPE = {0x08: np.uint8}


def read_idx(content: bytes, source: str = "idx data") -> np.ndarray:
    """Parse the MNIST-style idx format (big-endian header, then the array).

    Parameters
    ----------
    content : bytes
        The uncompressed file content.
    source : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray
        The array with the shape given by the header.
    """
    if len(content) < 4 or content[0] != 0 or content[1] != 0:
        raise ValueError(f"{source} is not an idx file (bad magic number).")
    type_code, ndim = content[2], content[3]
    if type_code not in _IDX_DTYPE:
        raise ValueError(f"{source}: unsupported idx element type 0x{type_code:02x}.")
    header_end = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(content[4:header_end], dtype=">u4"))
    expected = int(np.prod(shape)) if shape else 0
    data = np.frombuffer(content, dtype=_IDX_DTYPE[type_code], offset=header_end)
    if data.size != expected:
        raise ValueError(
            f"{source} is truncated or corrupt: header says {shape} ({expected} values), "
            f"file holds {data.size}."
        )
    return data.reshape(shape)


def load_fashion_mnist(
    data_home: str | os.PathLike | None = None,
    split: str = "train",
    *,
    verify_checksum: bool = True,
    download: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST from the official idx files.

    Parameters
    ----------
    data_home : str or path-like, optional
        Folder searched first (directly, in ``fashion_mnist/`` or in
        ``vision/fashion_mnist/``), then ``$SKDISTILL_DATA`` and the user cache. If given,
        it must be an existing folder (ValueError otherwise).
    split : {"train", "test"}, default="train"
        60000 training or 10000 test images.
    verify_checksum : bool, default=True
        Compare each file with its published checksum.
    download : bool, default=True
        Download missing files into the user cache (checksum-verified).

    Returns
    -------
    X : numpy.ndarray of float32, shape (n, 1, 28, 28)
        Pixel intensities scaled to [0, 1].
    y : numpy.ndarray of int64, shape (n,)
        Class labels 0-9.

    Examples
    --------
    >>> from skdistill.datasets import load_fashion_mnist
    >>> X, y = load_fashion_mnist(split="test")  # doctest: +SKIP
    >>> X.shape, y.shape  # doctest: +SKIP
    ((10000, 1, 28, 28), (10000,))
    """
    split = check_choice(split, "split", ("train", "test"), ignore_case=True)
    prefix = "train" if split == "train" else "t10k"
    arrays = []
    for kind in ("images", "labels"):
        spec = FASHION_MNIST_FILES[f"{prefix}-{kind}"]
        path = resolve(
            f"Fashion-MNIST {split} {kind}", spec, data_home, download_if_missing=download
        )
        content = read_bytes(path)
        if verify_checksum:
            verify(content, spec, path)
        arrays.append(read_idx(content, str(path)))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"Fashion-MNIST {split}: images {images.shape} and labels {labels.shape} do not match."
        )
    X = (images.astype(np.float32) / 255.0)[:, None, :, :]
    return X, labels.astype(np.int64)


def load_cifar10_subset(
    data_home: str | os.PathLike | None = None, *, verify_checksum: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Load the first 4000 CIFAR-10 training images (``cifar10_train_first4000.npz``).

    The subset is part of the project's shared benchmark data, not a public
    download: put the file in ``data_home`` (directly, in ``cifar10/`` or in
    ``vision/cifar10/``) or point ``$SKDISTILL_DATA`` at its folder. Split it
    yourself (for example stratified 3000 / 1000) and say so in any table.

    Parameters
    ----------
    data_home : str or path-like, optional
        Folder searched first, then ``$SKDISTILL_DATA`` and the user cache. If given, it
        must be an existing folder (ValueError otherwise).
    verify_checksum : bool, default=True
        Compare the file with its pinned sha256.

    Returns
    -------
    X : numpy.ndarray of float32, shape (4000, 3, 32, 32)
        Pixel intensities scaled to [0, 1], channels first.
    y : numpy.ndarray of int64, shape (4000,)
        Class labels 0-9.

    Examples
    --------
    >>> from skdistill.datasets import load_cifar10_subset
    >>> X, y = load_cifar10_subset()  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (4000, 3, 32, 32)
    """
    path = resolve("CIFAR-10 subset", CIFAR10_SUBSET, data_home, download_if_missing=False)
    content = read_bytes(path)
    if verify_checksum:
        verify(content, CIFAR10_SUBSET, path)
    try:
        with np.load(io.BytesIO(content)) as npz:
            images, labels = npz["images"], npz["labels"]
    except (KeyError, ValueError, OSError) as exc:
        raise ValueError(
            f"{path} is not the expected npz with 'images' and 'labels': {exc}"
        ) from exc
    if images.ndim != 4 or images.shape[1:] != (32, 32, 3) or len(images) != len(labels):
        raise ValueError(f"{path}: unexpected arrays images {images.shape}, labels {labels.shape}.")
    X = images.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    return np.ascontiguousarray(X), labels.astype(np.int64)


def vision_status(data_home=None) -> list[dict]:
    """Where each image file is found (used by ``skdistill data``)."""
    rows = describe([(f"FashionMNIST/{k}", s) for k, s in FASHION_MNIST_FILES.items()], data_home)
    rows += describe([("CIFAR10-subset", CIFAR10_SUBSET)], data_home)
    return rows
