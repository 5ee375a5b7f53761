"""Windows read a batch at a time: the same batches, in the same order, as item by item."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skorch import NeuralNet
from torch import nn
from torch.utils.data import DataLoader, default_collate

from skdistill.losses.base import TeacherOutputs
from skdistill.training import teacher_cache
from skdistill.training.net import DistillNet, reads_batches
from skdistill.training.windows import ArrayWindowDataset, SlidingWindowDataset, TailSplit

L, H, C = 12, 4, 3


def assert_same(a, b):
    """Nested dicts, lists and tensors equal in structure, dtype and value."""
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def sliding(tmp_path, rows_in_files: bool, series_ids: bool):
    rng = np.random.default_rng(0)
    series = rng.normal(size=(60, C))
    data = SlidingWindowDataset(
        series,
        L,
        H,
        series_ids=np.repeat([0, 1], 45 // 2 + 1)[:45] if series_ids else None,
    )
    n_cached = 30  # the training windows come first; the last 15 carry no teacher entries
    pred = torch.randn(n_cached, H, C).to(torch.float16)
    feats = [torch.randn(n_cached, C, 5), torch.randn(n_cached, C, 2)]
    if rows_in_files:
        stored = []
        for i, t in enumerate([pred, *feats]):
            rows = teacher_cache.FileRows(str(tmp_path / f"{i}.bin"), t.shape, t.dtype, True)
            rows[0 : len(t)] = t
            stored.append(rows)
        pred, *feats = stored
    return data.with_teacher(TeacherOutputs(pred, tuple(feats)))


@pytest.mark.parametrize("rows_in_files", [False, True])
@pytest.mark.parametrize("series_ids", [False, True])
def test_a_list_of_indices_cuts_the_collated_batch(tmp_path, rows_in_files, series_ids):
    data = sliding(tmp_path, rows_in_files, series_ids)
    assert reads_batches(data)
    for idx in ([3, 0, 29, 7], [44, 30, 31], [5]):
        assert_same(data[idx], default_collate([data[i] for i in idx]))
    with pytest.raises(RuntimeError, match="mixes windows"):
        data[[29, 30]]
    # Through the tail split's Subsets, as the nets read them.
    train, valid = TailSplit(15)(data)
    assert reads_batches(train) and reads_batches(valid)
    assert_same(train[[2, 9]], default_collate([data[2], data[9]]))
    assert_same(valid[[0, 14]], default_collate([data[30], data[44]]))


def test_array_windows_cut_the_collated_batch():
    rng = np.random.default_rng(1)
    data = ArrayWindowDataset(rng.normal(size=(20, L, C)), rng.normal(size=(20, H, C)))
    data.with_teacher(TeacherOutputs(torch.randn(20, H, C), (torch.randn(20, C, 6),)))
    idx = [19, 4, 4, 0]
    assert_same(data[idx], default_collate([data[i] for i in idx]))


@pytest.mark.parametrize("training", [True, False])
def test_the_nets_read_the_same_batches_in_the_same_order(tmp_path, training):
    data = sliding(tmp_path, rows_in_files=False, series_ids=False)
    train, _ = TailSplit(15)(data)
    params = dict(module=nn.Linear(1, 1), criterion=nn.MSELoss, batch_size=7)
    net = DistillNet(**params, iterator_train__shuffle=True)
    plain = NeuralNet(**params, iterator_train__shuffle=True)
    torch.manual_seed(3)
    ours = list(net.get_iterator(train, training=training))
    torch.manual_seed(3)
    theirs = list(plain.get_iterator(train, training=training))
    assert len(ours) == len(theirs) == len(net.get_iterator(train, training=training)) == 5
    for a, b in zip(ours, theirs, strict=True):
        assert_same(a, b)
    # A dataset that does not cut batches is left to skorch's loader as it is.
    other = torch.utils.data.TensorDataset(torch.randn(10, 2))
    assert type(net.get_iterator(other, training=training)) is DataLoader
    assert net.get_iterator(other, training=training).batch_size == 7
