"""Where the teacher-output cache lives during one fit: in RAM, or in files read by rows.

The cache holds one row per training window (predictions ``n x H x C`` and features
``n x C x d``). Within the RAM budget it is an ordinary tensor; above it (or on request) it
is spilled to files in a private temporary folder (:class:`FileRows`): the windows' rows are
written chunk by chunk while the teacher runs, and each training batch reads only its own
rows, with positioned reads. Nothing is mapped into the process, so its
resident memory holds the rows of one batch, whatever the cache's size: the file's pages are
the operating system's page cache (fast to read again, reclaimed under memory pressure),
never part of the process's resident size.

Why reads by rows rather than a memory mapping (``numpy.memmap``, ``torch.from_file``): the
pages of a mapping that a process touches count in its resident size until they are
unmapped, so an epoch that reads every row would bring the whole file into the process's
RSS, and the dirty pages of the writes too; a positioned read copies just the bytes asked
for. Any torch dtype is stored (bfloat16 included, which numpy has not), as its raw bytes.

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


class FileRows:
    """An array of shape ``shape`` stored row-major in a file, read and written by rows.

    Indexing with an int or a slice (step 1) of rows reads those rows with one positioned
    read into a new tensor; assigning a tensor to a slice writes it in place. Only the
    operations the cache needs: ``len``, ``shape``, ``dtype``, ``numel``, row reads and
    writes. Picklable (by path: the file is opened again where it is unpickled).

    Parameters
    ----------
    path : str
        The file; created (sparse, ``shape``'s size) when ``create``.
    shape : tuple of int
        Rows first.
    dtype : torch.dtype
    create : bool, default=False
    """

    def __init__(self, path: str, shape, dtype: torch.dtype, create: bool = False) -> None:
        self.path, self.shape, self.dtype = path, tuple(int(s) for s in shape), dtype
        self._row_numel = math.prod(self.shape[1:])
        self._row_bytes = self._row_numel * torch.empty((), dtype=dtype).element_size()
        if create:
            with open(path, "wb") as f:  # sparse: no disk blocks until written
                f.truncate(self._row_bytes * self.shape[0])
        self._file = open(path, "r+b", buffering=0)  # noqa: SIM115 (closed with the object)
        # Closed with the object (also when garbage-collected), so the folder can go.
        self._closer = weakref.finalize(self, self._file.close)

    def __len__(self) -> int:
        return self.shape[0]

    def numel(self) -> int:
        return math.prod(self.shape)

    def _rows(self, key) -> tuple[int, int, bool]:
        if isinstance(key, slice):
            start, stop, step = key.indices(self.shape[0])
            if step != 1:
                raise IndexError("FileRows reads contiguous rows only (slice step 1).")
            return start, max(start, stop), False
        i = int(key)
        if i < 0:
            i += self.shape[0]
        if not 0 <= i < self.shape[0]:
            raise IndexError(f"row {key} out of range for {self.shape[0]} rows")
        return i, i + 1, True

    def __getitem__(self, key) -> torch.Tensor:
        start, stop, single = self._rows(key)
        n_bytes = (stop - start) * self._row_bytes
        buf = bytearray(n_bytes)
        self._file.seek(start * self._row_bytes)
        view, done = memoryview(buf), 0
        while done < n_bytes:  # an unbuffered read may return less than asked
            got = self._file.readinto(view[done:])
            if not got:
                raise OSError(f"short read from the teacher cache file {self.path}")
            done += got
        if not n_bytes:
            return torch.empty((0, *self.shape[1:]), dtype=self.dtype)
        rows = torch.frombuffer(buf, dtype=self.dtype).view(stop - start, *self.shape[1:])
        return rows[0] if single else rows

    def __setitem__(self, key, value: torch.Tensor) -> None:
        start, stop, single = self._rows(key)
        value = torch.as_tensor(value).to(self.dtype).contiguous()
        expected = ((stop - start), *self.shape[1:])
        if tuple(value.shape) != (expected[1:] if single else expected):
            raise ValueError(f"expected rows of shape {expected}, got {tuple(value.shape)}")
        data = memoryview(value.view(torch.uint8).numpy()) if value.numel() else b""
        self._file.seek(start * self._row_bytes)
        done = 0
        while done < len(data):
            done += self._file.write(data[done:])

    def close(self) -> None:
        self._closer()

    def __reduce__(self):
        return (FileRows, (self.path, self.shape, self.dtype))

    def __repr__(self) -> str:
        return f"FileRows({self.path!r}, shape={self.shape}, dtype={self.dtype})"


@dataclass(frozen=True)
class MappedOutputs:
    """Teacher outputs stored in files: each tensor's file and shape, and their dtype.

    Tiny and picklable: under Accelerate the main process broadcasts this instead of the
    tensors, and every process opens the same files (which must then be on a file system all
    processes see: the default temporary folder on one machine, a shared ``directory`` across
    machines).
    """

    pred: tuple[str, tuple[int, ...]] | None
    features: tuple[tuple[str, tuple[int, ...]], ...]
    dtype: str

    def open(self) -> TeacherOutputs:
        """The outputs as :class:`FileRows` on their files (nothing is read until indexed)."""
        dtype = CACHE_DTYPES[self.dtype]

        def load(entry: tuple[str, tuple[int, ...]]) -> torch.Tensor | FileRows:
            path, shape = entry
            if math.prod(shape) == 0:
                return torch.empty(shape, dtype=dtype)
            return FileRows(path, shape, dtype)

        pred = None if self.pred is None else load(self.pred)
        return TeacherOutputs(pred, tuple(load(f) for f in self.features))


class CacheStore:
    """Allocates the cache's tensors in RAM or in files of one private temporary folder.

    A context manager: leaving it (normally, on an error or on Ctrl-C) removes the folder and
    everything in it. A ``weakref.finalize`` does the same if the store is garbage-collected or
    the interpreter exits without leaving the block. Drop every tensor taken from the store
    before leaving it: on POSIX an open file may be removed (it stays readable until closed),
    on Windows it may not (the folder is then left behind).

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
        self._n_files = 0
        self._finalizer = None

    @property
    def torch_dtype(self) -> torch.dtype:
        return CACHE_DTYPES[self.dtype]

    def allocate(self, shape: tuple[int, ...]) -> torch.Tensor | FileRows:
        """An uninitialised array of ``shape`` in the stored dtype: a tensor in RAM, or
        :class:`FileRows` on a new file of the store's folder."""
        shape = tuple(int(s) for s in shape)
        if self.place != "disk" or math.prod(shape) == 0:
            return torch.empty(shape, dtype=self.torch_dtype)
        path = os.path.join(self._folder(), f"part{self._n_files}.bin")
        self._n_files += 1
        return FileRows(path, shape, self.torch_dtype, create=True)

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
        if not tensors or not all(isinstance(t, FileRows) for t in tensors):
            return outputs
        entry = lambda rows: (rows.path, rows.shape)  # noqa: E731
        return MappedOutputs(
            pred=None if outputs.pred is None else entry(outputs.pred),
            features=tuple(entry(f) for f in outputs.features),
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

    def __enter__(self) -> CacheStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_outputs(outputs: TeacherOutputs | MappedOutputs | None) -> TeacherOutputs | None:
    """Outputs from what :meth:`CacheStore.shareable` gave (files are opened, not read)."""
    return outputs.open() if isinstance(outputs, MappedOutputs) else outputs


def outputs_nbytes(outputs: TeacherOutputs | None, itemsize: int = 4) -> int:
    """Bytes ``outputs`` take when stored with ``itemsize`` bytes per value."""
    if outputs is None:
        return 0
    tensors = ([outputs.pred] if outputs.pred is not None else []) + list(outputs.features)
    return itemsize * sum(t.numel() for t in tensors)
