"""Loaders read the real benchmark files, verify them, and split them by the standard protocol."""

import gzip
import hashlib
import shutil

import numpy as np
import pandas as pd
import pytest

from skdistill.datasets import (
    LTSF_NAMES,
    DatasetChecksumError,
    DatasetNotFoundError,
    load_cifar10_subset,
    load_fashion_mnist,
    load_ltsf,
    ltsf_split,
    read_idx,
)
from skdistill.datasets._base import BUNDLED_DIR

ETT_COLUMNS = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]


def test_bundled_etth1_works_without_any_data_setting(monkeypatch):
    monkeypatch.delenv("SKDISTILL_DATA", raising=False)
    df = load_ltsf("ETTh1", download=False)
    assert df.shape == (17420, 7)
    assert list(df.columns) == ETT_COLUMNS
    assert isinstance(df.index, pd.DatetimeIndex) and df.index.name == "date"
    assert df.index[0] == pd.Timestamp("2016-07-01 00:00:00")
    assert df.index[-1] == pd.Timestamp("2018-06-26 19:00:00")
    assert (df.dtypes == np.float64).all()
    np.testing.assert_allclose(
        df.iloc[0, :3], [5.827000141143799, 2.009000062942505, 1.5989999771118164]
    )
    assert df.iloc[0]["OT"] == pytest.approx(30.5310001373291)


def test_bundled_copies_are_the_shared_files_byte_for_byte(shared_data):
    for name in ("ETTh1", "ETTh2"):
        bundled = gzip.open(BUNDLED_DIR / f"{name}.csv.gz").read()
        shared = gzip.open(shared_data / "ltsf" / f"{name}.csv.gz").read()
        assert bundled == shared
    assert (BUNDLED_DIR / "LICENSE-ETT").read_bytes() == (
        shared_data / "ltsf" / "LICENSE-ETT"
    ).read_bytes()


@pytest.mark.parametrize(
    "name, shape, first_ot",
    [
        ("ETTh2", (17420, 7), 38.6619987487793),
        ("ETTm1", (69680, 7), 30.5310001373291),
        ("Weather", (52696, 21), 428.1),
    ],
)
def test_shared_files_shapes_and_values(shared_data, name, shape, first_ot):
    df = load_ltsf(name, data_home=shared_data / "ltsf")
    assert df.shape == shape
    assert df.columns[-1] == "OT"
    assert df.iloc[0]["OT"] == pytest.approx(first_ot)
    assert np.isfinite(df.to_numpy()).all()


def test_weather_header_keeps_its_original_characters(shared_data):
    df = load_ltsf(
        "weather", data_home=shared_data
    )  # name is case-insensitive; ltsf/ sub-folder searched
    assert df.columns[0] == "p (mbar)"
    assert "SWDR (W/m\N{REPLACEMENT CHARACTER})" in df.columns


def test_data_home_takes_precedence(tmp_path, shared_data):
    # A plain (uncompressed) csv in data_home wins over SKDISTILL_DATA and the bundled copy.
    (tmp_path / "ETTh1.csv").write_bytes(gzip.open(shared_data / "ltsf" / "ETTh1.csv.gz").read())
    df = load_ltsf("ETTh1", data_home=tmp_path)
    assert df.shape == (17420, 7)


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="Unknown name 'ETTh3'.*ETTh1"):
        load_ltsf("ETTh3")


def test_missing_file_says_what_to_put_where(tmp_path, monkeypatch):
    monkeypatch.setenv("SKDISTILL_DATA", str(tmp_path))
    with pytest.raises(DatasetNotFoundError) as info:
        load_ltsf("Traffic", data_home=tmp_path)
    message = str(info.value)
    assert "traffic.csv" in message and str(tmp_path) in message and "SKDISTILL_DATA" in message


def test_no_download_when_asked_not_to(tmp_path, monkeypatch):
    monkeypatch.setenv("SKDISTILL_DATA", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="ETTm1.csv"):
        load_ltsf("ETTm1", download=False)


def test_corrupt_file_fails_the_checksum(tmp_path, shared_data):
    raw = bytearray(gzip.open(shared_data / "ltsf" / "ETTh1.csv.gz").read())
    raw[100] = ord("9") if raw[100] != ord("9") else ord("8")  # one changed digit
    (tmp_path / "ETTh1.csv").write_bytes(bytes(raw))
    with pytest.raises(DatasetChecksumError, match="Checksum mismatch.*verify_checksum=False"):
        load_ltsf("ETTh1", data_home=tmp_path)
    assert load_ltsf("ETTh1", data_home=tmp_path, verify_checksum=False).shape == (17420, 7)


def test_truncated_gzip_is_reported_as_corrupt(tmp_path, shared_data):
    blob = (shared_data / "ltsf" / "ETTh1.csv.gz").read_bytes()
    (tmp_path / "ETTh1.csv.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DatasetChecksumError, match="truncated or corrupt"):
        load_ltsf("ETTh1", data_home=tmp_path)


def test_shared_files_match_the_published_sha256(shared_data):
    published = {
        "ltsf/ETTh1.csv.gz": "6e5c7510ec29ece805c5d9279dc8c2315b94cf0f08b8fc1a0ee429ba1b322fea",
        "vision/cifar10/cifar10_train_first4000.npz": (
            "f21ba659b327871ec330654ccdc95e0da52b1b39c04c467a581440516466148c"
        ),
    }
    for rel, digest in published.items():
        assert hashlib.sha256((shared_data / rel).read_bytes()).hexdigest() == digest


# --- the standard protocol -------------------------------------------------------------------


def test_etth1_split_with_l720():
    train, val, test = ltsf_split("ETTh1", 17420, 720)
    assert (train.start, train.stop) == (0, 8640)
    assert (val.start, val.stop) == (7920, 11520)
    assert (test.start, test.stop) == (10800, 14400)


def test_ettm_borders_are_four_times_the_hourly_ones():
    train, val, test = ltsf_split("ETTm1", 69680, 96)
    assert (train.stop, val.start, val.stop, test.start, test.stop) == (
        34560,
        34560 - 96,
        46080,
        46080 - 96,
        57600,
    )


def test_weather_split_follows_the_07_01_02_rule():
    n, L = 52696, 720
    train, val, test = ltsf_split("Weather", n, L)
    n_train, n_test = int(0.7 * n), int(0.2 * n)
    n_val = n - n_train - n_test
    assert (n_train, n_val, n_test) == (36887, 5270, 10539)
    assert (train.start, train.stop) == (0, 36887)
    assert (val.start, val.stop) == (36887 - 720, 36887 + 5270)
    assert (test.start, test.stop) == (n - 10539 - 720, n)


def test_split_windows_cover_every_test_row_once():
    # With stride-1 windows the test targets are exactly rows [11520, 14400).
    L, H = 720, 96
    _, _, test = ltsf_split("ETTh1", 17420, L)
    n_windows = test.stop - test.start - L - H + 1
    first_target = test.start + L
    last_target = test.start + n_windows - 1 + L + H - 1
    assert (first_target, last_target + 1) == (11520, 14400)


@pytest.mark.parametrize(
    "args, error, match",
    [
        (("ETTh1", 10000, 720), ValueError, "at least 14400 rows"),
        (("ETTh1", 17420, 0), ValueError, "window_length must be positive"),
        (("ETTh1", 17420, 9000), ValueError, "window_length=9000"),
        (("Weather", 17420, 1.5), TypeError, "window_length must be an integer"),
        ((7, 17420, 96), TypeError, "name must be a string"),
    ],
)
def test_split_errors(args, error, match):
    with pytest.raises(error, match=match):
        ltsf_split(*args)


def test_every_registered_name_has_a_split():
    for name in LTSF_NAMES:
        n = 69680 if name.startswith("ETTm") else 17420
        train, val, test = ltsf_split(name, n, 96)
        assert train.stop > 96 and val.start < val.stop <= test.stop


# --- vision --------------------------------------------------------------------------------


def test_fashion_mnist_test_split(shared_data):
    X, y = load_fashion_mnist(split="test")
    assert X.shape == (10000, 1, 28, 28) and X.dtype == np.float32
    assert y.shape == (10000,) and y.dtype == np.int64
    assert 0.0 <= X.min() and X.max() == 1.0
    assert y[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert np.bincount(y).tolist() == [1000] * 10


def test_fashion_mnist_train_split(shared_data):
    X, y = load_fashion_mnist(data_home=shared_data / "vision", split="train")
    assert X.shape == (60000, 1, 28, 28)
    assert y[:5].tolist() == [9, 0, 0, 3, 0]
    assert np.bincount(y).tolist() == [6000] * 10


def test_fashion_mnist_bad_split():
    with pytest.raises(ValueError, match="Unknown split 'valid'"):
        load_fashion_mnist(split="valid")


def test_fashion_mnist_corrupt_copy(tmp_path, shared_data):
    src = shared_data / "vision" / "fashion_mnist"
    for f in src.glob("t10k-*.gz"):
        shutil.copy(f, tmp_path / f.name)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.open(labels).read())
    raw[-1] = (raw[-1] + 1) % 10
    labels.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DatasetChecksumError, match="t10k-labels"):
        load_fashion_mnist(data_home=tmp_path, split="test")


def test_read_idx_rejects_truncated_data():
    header = bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big")
    assert read_idx(header + bytes(range(5))).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="truncated"):
        read_idx(header + bytes(3))
    with pytest.raises(ValueError, match="magic"):
        read_idx(b"\x01\x02\x03\x04")


def test_cifar10_subset(shared_data):
    X, y = load_cifar10_subset()
    assert X.shape == (4000, 3, 32, 32) and X.dtype == np.float32
    assert y[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    np.testing.assert_allclose(X[0, :, 0, 0] * 255, [59, 62, 63])
    assert X.flags["C_CONTIGUOUS"]


def test_cifar10_subset_is_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("SKDISTILL_DATA", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="cifar10_train_first4000.npz"):
        load_cifar10_subset(data_home=tmp_path)
