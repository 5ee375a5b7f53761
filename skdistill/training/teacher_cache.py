"""Where the teacher-output cache lives during one fit: in RAM, or in memory-mapped files.

The cache holds one row per training window (predictions ``n x H x C`` and features
``n x C x d``). Within the RAM budget it is an ordinary tensor; above it (or on request) it
is spilled to files in a private temporary folder and *mapped*: the windows' rows are written
chunk by chunk while the teacher runs and each training batch reads only its own rows, so the
process's own (anonymous) memory stays bounded by the budget whatever the cache's size. The
pages of the files that the process touches are the operating system's page cache: counted in
the resident size while they are used, but reclaimed (written back and dropped) under memory
pressure instead of exhausting RAM.

Why ``torch.from_file(..., shared=True)`` rather than ``numpy.memmap``: it maps every torch
dtype, bfloat16 included (numpy has none, and a uint16 view would have to be reinterpreted on
every read), indexing a row gives a tensor view that the DataLoader collates without a
numpy round trip, and the mapping lives exactly as long as the tensors that use it (it is
unmapped when the last one is dropped), so removing the folder after fit needs no bookkeeping
of open handles. ``shared=True`` is a ``MAP_SHARED`` mapping: the writes go to the file (not
to private copy-on-write pages), and other processes can map the same file.

The stored dtype may be reduced (float16, bfloat16: half the bytes); rows are cast back to
float32 when a batch reads them (see :class:`~skdistill.training.windows.SlidingWindowDataset`).
On ETTh1 (look-back and horizon 96, an iTransformer teacher, 3 seeds; ``benchmarks/
teacher_cache.py``) the stored values were off by a relative RMS error of 2e-4 (float16) and
1.7e-3 (bfloat16), and the students' validation MSE moved by at most 0.003 (0.4 %), no more than
float rounding alone moves it (the per-batch teacher): no measurable accuracy effect.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass

import torch

from skdistill.losses.base import TeacherOutputs

#: ``teacher_cache`` choices: RAM within the budget else disk, always RAM, always disk, or no
#: cache (the teacher runs on every training batch).
CACHE_MODES = ("auto", "memory", "disk", "off")
#: ``teacher_cache_dtype`` choices: the dtype the cached rows are stored in.
CACHE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

_MB = 2**20


def cache_place(mode: str, n_bytes: int, budget_mb: float) -> str:
    """Where a cache of ``n_bytes`` lives: ``"memory"``, ``"disk"`` or ``"off"`` (per batch).

    ``mode="auto"`` keeps it in RAM when it fits ``budget_mb`` and spills it to disk otherwise;
    the other modes are taken as they are.
    """
    if mode == "auto":
        return "memory" if n_bytes <= budget_mb * _MB else "disk"
    return mode


@dataclass(frozen=True)
class MappedOutputs:
    """Teacher outputs stored in files: each tensor's file and shape, and their dtype.

    Tiny and picklable: under Accelerate the main process broadcasts this instead of the
    tensors, and every process maps the same files (which must then be on a file system all
    processes see: the default temporary folder on one machine, a shared ``directory`` across
    machines).
    """

    pred: tuple[str, tuple[int, ...]] | None
    features: tuple[tuple[str, tuple[int, ...]], ...]
    dtype: str

    def open(self) -> TeacherOutputs:
        """The outputs as tensors mapped on their files (nothing is read until indexed)."""
        dtype = CACHE_DTYPES[self.dtype]

        def load(entry: tuple[str, tuple[int, ...]]) -> torch.Tensor:
            path, shape = entry
            numel = math.prod(shape)
            if numel == 0:
                return torch.empty(shape, dtype=dtype)
            return torch.from_file(path, shared=True, size=numel, dtype=dtype).view(shape)

        pred = None if self.pred is None else load(self.pred)
        return TeacherOutputs(pred, tuple(load(f) for f in self.features))


class CacheStore:
    """Allocates the cache's tensors in RAM or in files of one private temporary folder.

    A context manager: leaving it (normally, on an error or on Ctrl-C) removes the folder and
    everything in it. A ``weakref.finalize`` does the same if the store is garbage-collected or
    the interpreter exits without leaving the block. Drop every tensor taken from the store
    before leaving it: on POSIX a mapped file may be removed while mapped (the mapping stays
    valid until unmapped), on Windows it may not (the folder is then left behind).

    Parameters
    ----------
    place : {"memory", "disk"}
        Where :meth:`allocate` puts the tensors (may be changed until the first allocation).
    dtype : {"float32", "float16", "bfloat16"}
        Stored dtype of the cache.
    directory : str, optional
        Parent of the temporary folder; default the system's temporary directory
        (``tempfile.gettempdir()``, i.e. ``$TMPDIR``).
    """

    def __init__(
        self, place: str = "memory", dtype: str = "float32", directory: str | None = None
    ) -> None:
        self.place = place
        self.dtype = dtype
        self.directory = directory
        self.folder: str | None = None
        self._files: dict[int, tuple[str, tuple[int, ...]]] = {}
        self._finalizer = None

    @property
    def torch_dtype(self) -> torch.dtype:
        return CACHE_DTYPES[self.dtype]

    def allocate(self, shape: tuple[int, ...]) -> torch.Tensor:
        """An uninitialised tensor of ``shape`` in the stored dtype, in RAM or file-backed."""
        shape = tuple(int(s) for s in shape)
        numel = math.prod(shape)
        if self.place != "disk" or numel == 0:
            return torch.empty(shape, dtype=self.torch_dtype)
        folder = self._folder()
        path = os.path.join(folder, f"part{len(self._files)}.bin")
        # from_file creates the file and sizes it (sparse: no disk blocks until written).
        tensor = torch.from_file(path, shared=True, size=numel, dtype=self.torch_dtype)
        tensor = tensor.view(shape)
        self._files[tensor.data_ptr()] = (path, shape)
        return tensor

    def copy(self, tensor: torch.Tensor, chunk_rows: int = 4096) -> torch.Tensor:
        """``tensor`` stored in this store, copied a chunk of rows at a time.

        A float32 tensor kept in memory is returned as it is (no copy).
        """
        if self.place != "disk" and tensor.dtype == self.torch_dtype:
            return tensor
        out = self.allocate(tuple(tensor.shape))
        for lo in range(0, len(tensor), chunk_rows):
            out[lo : lo + chunk_rows] = tensor[lo : lo + chunk_rows]
        return out

    def shareable(self, outputs: TeacherOutputs) -> TeacherOutputs | MappedOutputs:
        """What to hand to other processes: RAM outputs as they are, file-backed ones as their
        files (:class:`MappedOutputs`, a few bytes whatever the cache's size)."""
        tensors = ([outputs.pred] if outputs.pred is not None else []) + list(outputs.features)
        if not tensors or not all(t.data_ptr() in self._files for t in tensors):
            return outputs
        entry = self._files.__getitem__
        return MappedOutputs(
            pred=None if outputs.pred is None else entry(outputs.pred.data_ptr()),
            features=tuple(entry(f.data_ptr()) for f in outputs.features),
            dtype=self.dtype,
        )

    def _folder(self) -> str:
        if self.folder is None:
            self.folder = tempfile.mkdtemp(prefix="skdistill-teacher-cache-", dir=self.directory)
            # Also removed if the store is dropped or the interpreter exits without close().
            self._finalizer = weakref.finalize(self, shutil.rmtree, self.folder, True)
        return self.folder

    def close(self) -> None:
        """Remove the temporary folder (if any) and its files; idempotent."""
        if self._finalizer is not None:
            self._finalizer()
        self._files.clear()

    def __enter__(self) -> CacheStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_outputs(outputs: TeacherOutputs | MappedOutputs | None) -> TeacherOutputs | None:
    """Tensors from what :meth:`CacheStore.shareable` gave (file-backed outputs are mapped)."""
    return outputs.open() if isinstance(outputs, MappedOutputs) else outputs


def outputs_nbytes(outputs: TeacherOutputs | None, itemsize: int = 4) -> int:
    """Bytes ``outputs`` take when stored with ``itemsize`` bytes per value."""
    if outputs is None:
        return 0
    tensors = ([outputs.pred] if outputs.pred is not None else []) + list(outputs.features)
    return itemsize * sum(t.numel() for t in tensors)
