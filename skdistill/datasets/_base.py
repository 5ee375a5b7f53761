"""Locating, verifying and downloading data files.

Search order for every loader: ``data_home`` argument, the ``SKDISTILL_DATA``
environment variable, the copies bundled in this package, then the user cache
(filled by a checksum-verified download where a canonical URL is known).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ENV_DATA = "SKDISTILL_DATA"
ENV_CACHE = "SKDISTILL_CACHE"
BUNDLED_DIR = Path(__file__).resolve().parent / "data"

#: Largest decompressed size accepted for a ``.gz`` data file (512 MiB). The largest
#: benchmark file (Traffic, about 130 MB as csv) fits with room to spare; a file that
#: inflates past it is refused as soon as the limit is passed, so a small archive that
#: expands to gigabytes (a "gzip bomb") never reaches that size in memory.
MAX_DECOMPRESSED_BYTES = 512 * 2**20
# Decompression step: refusing an oversized file holds one chunk at a time.
_CHUNK_BYTES = 2**20


class DatasetNotFoundError(FileNotFoundError):
    """No copy of a dataset file was found and none could be downloaded."""


class DatasetChecksumError(ValueError):
    """A dataset file exists but its content does not match the published checksum."""


@dataclass(frozen=True)
class FileSpec:
    """One data file: the names it may have on disk and how to verify and fetch it.

    ``sha256`` is the digest of the *uncompressed* content, so a ``.csv`` and
    its ``.csv.gz`` verify against the same value. ``None`` means that no
    checksum is pinned (the file is used unverified and never downloaded).
    """

    stem: str
    suffixes: tuple[str, ...]
    subdirs: tuple[str, ...]
    sha256: str | None = None
    url: str | None = None
    url_is_gzip: bool = False

    def candidate_names(self) -> list[str]:
        return [self.stem + s for s in self.suffixes]


def cache_dir() -> Path:
    """The user cache folder for downloads (``SKDISTILL_CACHE`` or ``~/.cache/skdistill``)."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "skdistill"


def check_data_home(data_home: str | os.PathLike) -> Path:
    """``data_home`` as a path to an existing folder; a clear ValueError otherwise.

    A misspelt ``data_home`` used to be skipped silently, so the bundled or cached copy
    was loaded instead of the user's file (or the error listed folders that do not exist).

    Parameters
    ----------
    data_home : str or path-like
        The folder the caller asked to search first.

    Returns
    -------
    pathlib.Path
        The folder, with ``~`` expanded.

    Raises
    ------
    ValueError
        If ``data_home`` does not exist or is not a folder.
    """
    path = Path(data_home).expanduser()
    if not path.is_dir():
        problem = "is a file, not a folder" if path.exists() else "does not exist"
        raise ValueError(
            f"data_home={str(data_home)!r} {problem} (resolved to {path.absolute()}). "
            "Pass the folder that holds the data files (create it first if needed), or "
            f"leave data_home=None to search ${ENV_DATA}, the bundled copies and the cache."
        )
    return path


def search_roots(data_home: str | os.PathLike | None) -> list[tuple[str, Path]]:
    """The folders searched, in order, each with a label saying where it comes from."""
    roots: list[tuple[str, Path]] = []
    if data_home is not None:
        roots.append(("data_home", check_data_home(data_home)))
    env = os.environ.get(ENV_DATA)
    if env:
        roots.append((ENV_DATA, Path(env).expanduser()))
    roots.append(("bundled", BUNDLED_DIR))
    roots.append(("cache", cache_dir()))
    return roots


def find_file(spec: FileSpec, data_home: str | os.PathLike | None) -> tuple[Path, str] | None:
    """Return the first existing copy of ``spec`` and the label of its root, or None."""
    for label, root in search_roots(data_home):
        for sub in ("",) + spec.subdirs:
            folder = root / sub if sub else root
            for name in spec.candidate_names():
                path = folder / name
                if path.is_file():
                    return path, label
    return None


def _inflate(path: Path, limit: int) -> bytes:
    """The decompressed content of the gzip file ``path``, read one chunk at a time.

    A first pass only counts the decompressed bytes (one chunk in memory), so a file that
    inflates beyond ``limit`` is refused (ValueError) before anything is kept; the second pass
    keeps the content, under the same limit in case the file changed in between.
    """
    for keep in (False, True):
        chunks: list[bytes] = []
        size = 0
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK_BYTES):
                size += len(chunk)
                if size > limit:
                    raise ValueError(
                        f"Data file {path} decompresses to more than {limit} bytes, the limit "
                        "(skdistill.datasets._base.MAX_DECOMPRESSED_BYTES); it was refused "
                        "unread beyond that, as a possible decompression bomb. Replace it with "
                        "the canonical file (every benchmark file is far smaller), or raise the "
                        "limit if this file is genuine."
                    )
                if keep:
                    chunks.append(chunk)
    return b"".join(chunks)


def read_bytes(path: Path) -> bytes:
    """Read a file, transparently decompressing ``.gz``; corrupt gzip raises a clear error.

    A ``.gz`` file is inflated in chunks and refused (ValueError naming the file and the
    limit) once it passes :data:`MAX_DECOMPRESSED_BYTES`.
    """
    try:
        if path.suffix == ".gz":
            # Read at call time, so that the limit can be changed on the module.
            return _inflate(path, MAX_DECOMPRESSED_BYTES)
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetChecksumError(
            f"Data file {path} could not be read ({exc}); it is truncated or corrupt. "
            "Delete it and put a fresh copy in its place."
        ) from exc


def verify(content: bytes, spec: FileSpec, path: Path) -> None:
    """Raise :class:`DatasetChecksumError` if ``content`` does not match the pinned sha256."""
    if spec.sha256 is None:
        return
    digest = hashlib.sha256(content).hexdigest()
    if digest != spec.sha256:
        raise DatasetChecksumError(
            f"Checksum mismatch for {path}: sha256 of its (uncompressed) content is "
            f"{digest[:12]}..., expected {spec.sha256[:12]}... . The file is corrupt or not the "
            "canonical one: replace it with an unmodified copy, or pass verify_checksum=False to use it anyway."
        )


def download(spec: FileSpec, timeout: float = 60.0) -> Path:
    """Download ``spec`` into the cache, verify it, and return its path.

    The file is written under a temporary name and moved into place only after
    its checksum matched, so an interrupted or altered download never leaves a
    file that a later call would trust.
    """
    if spec.url is None or spec.sha256 is None:
        raise DatasetNotFoundError(f"{spec.stem} has no verified download source.")
    target_dir = cache_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    suffix = ".csv.gz" if spec.url_is_gzip and ".csv" in spec.suffixes[0] else spec.suffixes[0]
    if spec.url_is_gzip and not suffix.endswith(".gz"):
        suffix += ".gz"
    target = target_dir / (spec.stem + suffix)
    fd, tmp_name = tempfile.mkstemp(dir=target_dir, prefix=".part-", suffix=suffix)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(spec.url, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out)
        verify(read_bytes(tmp), spec, Path(spec.url))
        tmp.replace(target)
        return target
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DatasetNotFoundError(f"download of {spec.url} failed: {exc}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def not_found_message(
    what: str, spec: FileSpec, data_home: str | os.PathLike | None, extra: str = ""
) -> str:
    roots = [f"{label}: {root}" for label, root in search_roots(data_home)]
    names = " or ".join(spec.candidate_names())
    where = "\n  ".join(roots)
    sub = ""
    if spec.subdirs:
        sub = " (directly or in a sub-folder " + ", ".join(f"'{s}'" for s in spec.subdirs) + ")"
    msg = (
        f"{what}: no file {names} found. Searched{sub}:\n  {where}\n"
        f"Put the file in one of these folders, or set data_home=... or the {ENV_DATA} "
        "environment variable to the folder that holds it."
    )
    if extra:
        msg += " " + extra
    return msg


def resolve(
    what: str,
    spec: FileSpec,
    data_home: str | os.PathLike | None,
    *,
    download_if_missing: bool,
) -> Path:
    """Find ``spec`` on disk or download it; raise a message that says where to put it."""
    found = find_file(spec, data_home)
    if found is not None:
        return found[0]
    if download_if_missing and spec.url is not None and spec.sha256 is not None:
        try:
            return download(spec)
        except DatasetNotFoundError as exc:
            raise DatasetNotFoundError(
                not_found_message(what, spec, data_home, extra=f"(Download attempt: {exc})")
            ) from exc
    extra = ""
    if spec.url is not None:
        extra = f"Its canonical source is {spec.url}."
    raise DatasetNotFoundError(not_found_message(what, spec, data_home, extra=extra))


def describe(specs: Iterable[tuple[str, FileSpec]], data_home=None) -> list[dict]:
    """Rows for ``skdistill data``: name, where found (or whether it can be downloaded)."""
    rows = []
    for name, spec in specs:
        found = find_file(spec, data_home)
        if found is not None:
            rows.append({"name": name, "status": found[1], "path": str(found[0].resolve())})
        elif spec.url is not None and spec.sha256 is not None:
            rows.append({"name": name, "status": "downloadable", "path": spec.url})
        else:
            rows.append(
                {"name": name, "status": "missing", "path": ", ".join(spec.candidate_names())}
            )
    return rows
