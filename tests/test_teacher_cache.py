"""The teacher-output cache: RAM or memory-mapped files, reduced precision, per batch on request.

Every fit is real (tiny ETTh1 slices, a tiny iTransformer teacher); the student used to look
inside a training run is a DMLP subclass, not a stand-in for the package's code.
"""

import copy
import gc
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from skdistill import _timedistill
from skdistill.datasets import load_ltsf
from skdistill.forecasting import DistilledMLPForecaster, ITransformerForecaster
from skdistill.nn.forecasting import DMLP
from skdistill.regression import DistilledMLPRegressor
from skdistill.training import teacher_cache
from skdistill.training.net import TrainSettings
from skdistill.training.teacher import _store, compute_teacher_outputs
from skdistill.training.teacher_cache import CacheStore, MappedOutputs, cache_place
from skdistill.training.timedistill import Teachers, fit_timedistill
from skdistill.training.windows import SlidingWindowDataset, standard_scaler

L, H, C, D_TEACHER = 48, 12, 7, 16
FH = range(1, H + 1)


@pytest.fixture(scope="module")
def y():
    return load_ltsf("ETTh1").iloc[:600]


@pytest.fixture(scope="module")
def teacher(y):
    params = dict(d_model=D_TEACHER, d_ff=16, n_heads=2, max_epochs=1, random_state=0)
    return ITransformerForecaster(window_length=L, **params).fit(y, fh=FH)


def distilled(teacher, **kw):
    params = dict(
        window_length=L,
        hidden_size=32,
        moving_avg=5,
        alpha=2.0,
        beta=2.0,
        n_scales=2,
        max_epochs=2,
        random_state=0,
    )
    return DistilledMLPForecaster(teacher, **{**params, **kw})


def leftovers(folder) -> list[str]:
    return sorted(os.listdir(folder))


# --- the estimators ------------------------------------------------------------------------


def test_disk_cache_trains_the_same_student_as_the_ram_cache(y, teacher, tmp_path):
    ram = distilled(teacher, teacher_cache="memory").fit(y, fh=FH)
    disk = distilled(teacher, teacher_cache="disk", teacher_cache_dir=str(tmp_path)).fit(y, fh=FH)
    assert (ram.teacher_cache_, disk.teacher_cache_) == ("memory", "disk")
    assert ram.teacher_cached_ and disk.teacher_cached_
    np.testing.assert_array_equal(disk.predict().to_numpy(), ram.predict().to_numpy())
    for key in ("train_loss", "train_feat_period", "valid_loss"):
        np.testing.assert_array_equal(disk.history_[:, key], ram.history_[:, key])
    assert leftovers(tmp_path) == []  # the temporary folder is gone after fit


def test_auto_keeps_the_cache_in_ram_within_the_budget_and_spills_above(y, teacher, tmp_path):
    small = distilled(teacher, max_epochs=1).fit(y, fh=FH)
    spilled = distilled(teacher, max_epochs=1, teacher_cache_mb=0.01, teacher_cache_dir=tmp_path)
    spilled.fit(y, fh=FH)
    assert small.teacher_cache == "auto" and small.teacher_cache_ == "memory"
    assert spilled.teacher_cache_ == "disk" and spilled.teacher_cached_
    np.testing.assert_array_equal(small.predict().to_numpy(), spilled.predict().to_numpy())
    assert leftovers(tmp_path) == []


def test_cache_folder_is_created_where_asked_and_removed(y, teacher, tmp_path, capsys):
    distilled(
        teacher, max_epochs=1, teacher_cache="disk", teacher_cache_dir=tmp_path, verbose=2
    ).fit(y, fh=FH)
    said = [line for line in capsys.readouterr().out.splitlines() if "teacher cache" in line]
    assert len(said) == 1 and "in disk" in said[0], said
    folder = said[0].split("(")[1].split(")")[0]
    assert os.path.dirname(folder) == str(tmp_path)
    assert os.path.basename(folder).startswith("skdistill-teacher-cache-")
    assert not os.path.exists(folder) and leftovers(tmp_path) == []


def test_failing_fit_removes_the_cache_folder(y, teacher, tmp_path):
    broken = copy.deepcopy(teacher)
    with torch.no_grad():
        next(broken._student_module().parameters()).fill_(float("nan"))
    f = distilled(broken, teacher_cache="disk", teacher_cache_dir=tmp_path)
    with pytest.raises(FloatingPointError, match="non-finite values"):
        f.fit(y, fh=FH)
    assert leftovers(tmp_path) == []


def test_diverging_fit_removes_the_cache_folder(y, teacher, tmp_path):
    f = distilled(teacher, lr=1e12, teacher_cache="disk", teacher_cache_dir=tmp_path)
    with pytest.raises(FloatingPointError, match="diverged"):
        f.fit(y, fh=FH)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_caches_run_and_stay_close(y, teacher, dtype, tmp_path):
    # Without validation (no early-stopping epoch choice), the students must be close.
    kw = dict(validation_size=None)
    full = distilled(teacher, **kw).fit(y, fh=FH)
    half = distilled(teacher, teacher_cache_dtype=dtype, **kw).fit(y, fh=FH)
    half_disk = distilled(
        teacher, teacher_cache="disk", teacher_cache_dtype=dtype, teacher_cache_dir=tmp_path, **kw
    ).fit(y, fh=FH)
    assert half.teacher_cache_ == "memory" and half_disk.teacher_cache_ == "disk"
    np.testing.assert_array_equal(half.predict().to_numpy(), half_disk.predict().to_numpy())
    np.testing.assert_allclose(
        half.history_[:, "train_loss"], full.history_[:, "train_loss"], rtol=2e-3
    )
    scale = y.to_numpy().std(axis=0)
    gap = np.abs(half.predict().to_numpy() - full.predict().to_numpy()) / scale
    assert gap.max() < 0.05, gap.max()
    assert leftovers(tmp_path) == []


def test_off_runs_the_teacher_per_batch_with_the_same_loss(y, teacher):
    cached = distilled(teacher).fit(y, fh=FH)
    online = distilled(teacher, teacher_cache="off", teacher_cache_mb=1e6).fit(y, fh=FH)
    assert online.teacher_cache_ == "off" and not online.teacher_cached_
    for key in ("train_loss", "train_pred_period", "train_feat_scale", "valid_loss"):
        np.testing.assert_allclose(online.history_[:, key], cached.history_[:, key], rtol=1e-5)
    np.testing.assert_allclose(online.predict().to_numpy(), cached.predict().to_numpy(), rtol=1e-4)


@pytest.mark.parametrize(
    "param, value, error, match",
    [
        ("teacher_cache", "ram", ValueError, r"teacher_cache must be one of \['auto'"),
        ("teacher_cache", None, TypeError, "teacher_cache must be one of"),
        ("teacher_cache_dtype", "float64", ValueError, "teacher_cache_dtype must be one of"),
        ("teacher_cache_dir", "/no/such/dir", ValueError, "teacher_cache_dir=.* not an existing"),
        ("teacher_cache_dir", 3, TypeError, "teacher_cache_dir must be the path"),
        ("teacher_cache_mb", -1.0, ValueError, "teacher_cache_mb must be a finite number"),
    ],
)
def test_bad_cache_parameters_are_named(y, teacher, param, value, error, match):
    with pytest.raises(error, match=match):
        distilled(teacher, **{param: value}).fit(y, fh=FH)
    with pytest.raises(error, match=match):
        DistilledMLPRegressor(**{param: value}).fit(np.zeros((20, 8, 1)), np.zeros((20, 2, 1)))
    assert isinstance(DistilledMLPForecaster(teacher, **{param: value}), DistilledMLPForecaster)


def test_fitted_estimator_pickles_without_the_cache(y, teacher, tmp_path):
    ram = distilled(teacher, teacher_cache="memory").fit(y, fh=FH)
    disk = distilled(teacher, teacher_cache="disk", teacher_cache_dir=tmp_path).fit(y, fh=FH)
    n_train = len(y) - int(0.2 * len(y)) - L - H + 1
    cache_bytes = 4 * n_train * (H * C + C * D_TEACHER)
    blob = pickle.dumps(disk)
    assert len(blob) < cache_bytes / 2 and abs(len(blob) - len(pickle.dumps(ram))) < 2048
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.predict().to_numpy(), disk.predict().to_numpy())
    assert disk.net_.teacher is None


def test_regressor_disk_copy_equals_ram_copy(teacher, y, tmp_path):
    values = y.to_numpy()
    X = np.stack([values[s : s + L] for s in range(300)])
    Y = np.stack([values[s + L : s + L + H] for s in range(300)])
    Yt = teacher.predict_windows(X)
    kw = dict(hidden_size=16, moving_avg=5, beta=0.0, n_scales=2, max_epochs=2, random_state=0)
    ram = DistilledMLPRegressor(**kw).fit(X, Y, teacher_predictions=Yt)
    disk = DistilledMLPRegressor(teacher_cache="disk", teacher_cache_dir=tmp_path, **kw)
    disk.fit(X, Y, teacher_predictions=Yt)
    off = DistilledMLPRegressor(teacher_cache="off", **kw).fit(X, Y, teacher_predictions=Yt)
    assert (ram.teacher_cache_, disk.teacher_cache_, off.teacher_cache_) == (
        "memory",
        "disk",
        "memory",
    )
    np.testing.assert_array_equal(disk.predict(X), ram.predict(X))
    np.testing.assert_array_equal(off.predict(X), ram.predict(X))
    assert leftovers(tmp_path) == []


def test_the_two_layers_offer_the_same_choices():
    assert _timedistill.TEACHER_CACHES == teacher_cache.CACHE_MODES
    assert _timedistill.TEACHER_CACHE_DTYPES == tuple(teacher_cache.CACHE_DTYPES)
    with pytest.raises(ValueError, match="teacher_cache_dtype"):
        Teachers(cache_dtype="int8")


# --- the training layer: inside a training run ----------------------------------------------


class ProbedDMLP(DMLP):
    """A DMLP calling ``probe()`` before each training forward (the probe may raise)."""

    def __init__(self, *args, probe, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.probe = probe

    def forward_features(self, x):
        if self.training:
            self.probe()
        return super().forward_features(x)


@pytest.fixture(scope="module")
def windows(y, teacher):
    values = y.to_numpy()
    mean, scale = standard_scaler(values[:480])
    series = ((values - mean) / scale).astype(np.float32)
    data = SlidingWindowDataset(series, L, H)
    return data, teacher._as_teacher(mean, scale, H)


def fit_probed(data, adapter, probe, n_valid=60, **cache):
    return fit_timedistill(
        lambda: ProbedDMLP(L, H, C, hidden_size=32, moving_avg=5, probe=probe),
        data,
        n_valid,
        {"alpha": 2.0, "beta": 2.0, "n_scales": 2},
        TrainSettings(lr=0.01, max_epochs=2, batch_size=32, device="cpu", seed=0),
        Teachers(modules=[adapter], weights=[1.0], **cache),
    )


def test_batches_read_their_rows_from_the_cache_files(windows, tmp_path):
    data, adapter = windows
    seen = []

    def probe():
        if not seen:
            # What the dataset holds while training: rows in files, never a RAM copy.
            teacher = data.teacher
            arrays = (teacher.pred, *teacher.features)
            item = data[0][0]
            seen.append(
                (
                    [type(a) for a in arrays],
                    [a.path for a in arrays],
                    item["teacher_pred"].dtype,
                    item["teacher_feat"][0].dtype,
                )
            )

    net, place = fit_probed(data, adapter, probe, cache="disk", cache_dir=str(tmp_path))
    ((types, files, pred_dtype, feat_dtype),) = seen
    assert place == "disk" and types == [teacher_cache.FileRows] * 2
    assert all(f.startswith(str(tmp_path)) for f in files)
    assert pred_dtype == feat_dtype == torch.float32
    # After fit nothing holds the cache: not the dataset, not the net, no array anywhere.
    assert data.teacher is None and net.teacher is None and leftovers(tmp_path) == []
    gc.collect()
    n_train = len(data) - 60
    live = [
        o
        for o in gc.get_objects()
        if type(o) is teacher_cache.FileRows
        or (issubclass(type(o), torch.Tensor) and o.shape[:1] == (n_train,))
    ]
    assert live == []


def test_file_rows_read_and_write_what_a_tensor_would(tmp_path):
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        full = torch.randn(10, 3, 4).to(dtype)
        rows = teacher_cache.FileRows(str(tmp_path / "a.bin"), full.shape, dtype, create=True)
        rows[0:6] = full[0:6]
        rows[6:10] = full[6:10]
        assert len(rows) == 10 and rows.numel() == 120 and rows.dtype == dtype
        torch.testing.assert_close(rows[3], full[3], rtol=0, atol=0)
        torch.testing.assert_close(rows[2:7], full[2:7], rtol=0, atol=0)
        torch.testing.assert_close(rows[-1], full[-1], rtol=0, atol=0)
        assert rows[4:4].shape == (0, 3, 4)
        again = pickle.loads(pickle.dumps(rows))  # by path: opened again
        torch.testing.assert_close(again[9], full[9], rtol=0, atol=0)
        with pytest.raises(IndexError):
            rows[10]
        with pytest.raises(ValueError, match="expected rows of shape"):
            rows[0:2] = full[0:3]
        rows.close()
        again.close()


def test_ctrl_c_during_training_removes_the_cache_folder(windows, tmp_path):
    data, adapter = windows
    listings = []

    def probe():
        listings.append(leftovers(tmp_path))
        if len(listings) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit_probed(data, adapter, probe, cache="disk", cache_dir=str(tmp_path))
    assert len(listings[0]) == 1 and listings[0][0].startswith("skdistill-teacher-cache-")
    assert leftovers(tmp_path) == [] and data.teacher is None


def test_half_precision_files_take_half_the_bytes(windows, tmp_path):
    data, adapter = windows
    full = compute_teacher_outputs(adapter, data, with_features=True)
    for dtype, tol in (("float16", 2e-3), ("bfloat16", 2e-2)):
        with CacheStore("disk", dtype, str(tmp_path)) as store:
            out = compute_teacher_outputs(
                adapter, data, with_features=True, allocate=store.allocate
            )
            assert out.pred.dtype == teacher_cache.CACHE_DTYPES[dtype]
            sizes = [
                os.path.getsize(os.path.join(store.folder, f)) for f in leftovers(store.folder)
            ]
            assert sorted(sizes) == sorted([2 * full.pred.numel(), 2 * full.features[0].numel()])
            shared = store.shareable(out)
            assert isinstance(shared, MappedOutputs) and len(pickle.dumps(shared)) < 1024
            reopened = shared.open()
            torch.testing.assert_close(reopened.pred[:].float(), full.pred, atol=tol * 4, rtol=tol)
            torch.testing.assert_close(
                reopened.features[0][:].float(), full.features[0], atol=tol * 4, rtol=tol
            )
            del out, reopened
        assert leftovers(tmp_path) == []


def test_float16_overflow_is_refused_with_the_fix(tmp_path):
    with CacheStore("memory", "float16") as store:
        out = store.allocate((2, 3))
        with pytest.raises(FloatingPointError, match="bfloat16 or float32"):
            _store(out, slice(0, 2), torch.full((2, 3), 1e6), "predictions")


def test_cache_place_and_store_cleanup_without_close(tmp_path):
    assert cache_place("auto", 2**20, 1.0) == "memory"
    assert cache_place("auto", 2**20 + 1, 1.0) == "disk"
    assert cache_place("off", 0, 1.0) == "off"
    store = CacheStore("disk", directory=str(tmp_path))
    tensor = store.allocate((4, 5))
    tensor[0:4] = torch.ones(4, 5)
    assert len(leftovers(tmp_path)) == 1
    del tensor, store  # dropped without close(): the finalizer removes the folder
    gc.collect()
    assert leftovers(tmp_path) == []


# --- Accelerate: the main process writes the file, every process maps it --------------------


def test_two_processes_share_one_disk_cache(tmp_path):
    pytest.importorskip("accelerate")
    script = Path(__file__).parent / "scripts" / "accelerate_disk_cache.py"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    proc = subprocess.run(
        [*cmd, str(script), str(tmp_path)], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = {r["rank"]: r for r in (json.loads(p.read_text()) for p in tmp_path.glob("rank*.json"))}
    assert sorted(ranks) == [0, 1]
    for rank in ranks.values():
        assert (rank["memory"]["place"], rank["disk"]["place"]) == ("memory", "disk")
        disk, memory = rank["disk"]["history"], rank["memory"]["history"]
        assert {k: v for k, v in disk.items() if k != "dur"} == {
            k: v for k, v in memory.items() if k != "dur"
        }
        assert rank["leftovers"] == []
    # Only the main process made a folder (named in its message); the other mapped its files.
    (main_line,), (other_line,) = ranks[0]["disk"]["said"], ranks[1]["disk"]["said"]
    assert f"({tmp_path / 'cache'}{os.sep}skdistill-teacher-cache-" in main_line
    assert "in disk;" in other_line
