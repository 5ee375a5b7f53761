"""Test configuration: point the loaders at the project's shared benchmark data.

``SKDISTILL_DATA`` is set here (test configuration), never in library code: the
library itself must work with the bundled copies and user-supplied folders only.
"""

import os
from pathlib import Path

import pytest
import torch

# Tests use tiny models: one intra-op thread is faster than two for them and keeps the
# suite's time stable when other processes share the cores (test configuration only).
torch.set_num_threads(1)

SHARED_DATA = Path(__file__).resolve().parent.parent / "shared" / "data"

if "SKDISTILL_DATA" not in os.environ and SHARED_DATA.is_dir():
    os.environ["SKDISTILL_DATA"] = str(SHARED_DATA)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder. Absent: a skip on a user's machine, a failure in CI."""
    if not SHARED_DATA.is_dir():
        message = f"shared benchmark data not found at {SHARED_DATA}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # Again before each test: a benchmark runner under test sets its own thread count, and a
    # busy 2-core machine with spinning OpenMP workers made tiny-net epochs 100x slower.
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # No test may write to (or read a stale file from) the user's real cache.
    monkeypatch.setenv("SKDISTILL_CACHE", str(tmp_path_factory.getbasetemp() / "skdistill-cache"))
