"""Benchmark data loaders and the standard LTSF split protocol.

Every loader searches ``data_home``, then ``$SKDISTILL_DATA``, then the copies
bundled with the package (ETTh1, ETTh2), then the user cache (filled by a
checksum-verified download where a canonical URL is known).
"""

from ._base import DatasetChecksumError, DatasetNotFoundError, cache_dir
from ._ltsf import LTSF_NAMES, load_ltsf, ltsf_split
from ._vision import load_cifar10_subset, load_fashion_mnist, read_idx

__all__ = [
    "LTSF_NAMES",
    "DatasetChecksumError",
    "DatasetNotFoundError",
    "cache_dir",
    "load_cifar10_subset",
    "load_fashion_mnist",
    "load_ltsf",
    "ltsf_split",
    "read_idx",
]
