"""Issue 17, loading: saved teachers are data (weights), never code; data files fail clearly.

Teachers of the benchmark suites are rebuilt from this package's code and their weights (a
pickle in the output folder is never run); a gzip that inflates past the stated limit is
refused while it inflates; a ``data_home`` that does not exist and a date that does not parse
are named with the fix.
"""

import gzip
import json
import os
import pickle
import shlex
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from skdistill.datasets import load_cifar10_subset, load_fashion_mnist, load_ltsf

TEACHER_NAMES = [
    "ITransformerForecaster",
    "PatchTSTForecaster",
    "ModernTCNForecaster",
    "TimeMixerForecaster",
    "MLPForecaster",
]
FH = range(1, 4)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture
def series() -> pd.DataFrame:
    """A short regular hourly series of three channels."""
    rng = np.random.default_rng(0)
    index = pd.date_range("2020-01-01", periods=120, freq="h")
    return pd.DataFrame(rng.normal(size=(120, 3)).cumsum(0), index=index, columns=list("abc"))


class _Payload:
    """Unpickling this runs ``touch marker`` (what a hostile file in the folder would do)."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


@pytest.fixture
def payload(tmp_path):
    """``(pickle bytes that create marker when unpickled, marker path)``, checked live."""
    marker = tmp_path / "payload_ran"
    data = pickle.dumps(_Payload(marker))
    pickle.loads(data)  # the payload really runs when unpickled ...
    assert marker.exists()
    marker.unlink()  # ... so its absence below means nothing unpickled it
    return data, marker


def _teacher(name: str) -> tuple[type, dict]:
    import skdistill.forecasting as forecasting

    cls = getattr(forecasting, name)
    # Validation rows too, so the saved history has validation columns.
    return cls, {**cls.get_test_params()[0], "validation_size": 10}


def _windows(model, n: int = 4) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.normal(size=(n, int(model.window_length), model.n_channels_))


# --------------------------------------------------------------------------- teachers as weights
@pytest.mark.parametrize("name", TEACHER_NAMES)
def test_reloaded_teacher_predicts_exactly_like_the_original(name, series, tmp_path):
    from skdistill.benchmarks._artifacts import artifact_paths, load_or_fit_forecaster

    cls, params = _teacher(name)
    lines = []
    original, fit_s = load_or_fit_forecaster(tmp_path / "t", cls, params, series, FH, lines.append)
    weights, meta = artifact_paths(tmp_path / "t")
    assert weights.name == "t.pt" and meta.name == "t.json"
    assert not list(tmp_path.glob("*.pkl"))
    stamp = weights.stat().st_mtime_ns

    reloaded, fit_s_again = load_or_fit_forecaster(
        tmp_path / "t", cls, params, series, FH, lines.append
    )
    assert lines == [] and weights.stat().st_mtime_ns == stamp  # rebuilt, not refitted
    assert type(reloaded) is cls and reloaded is not original
    assert fit_s_again == fit_s
    assert reloaded.get_params() == original.get_params()
    pd.testing.assert_frame_equal(reloaded.predict(), original.predict())
    np.testing.assert_array_equal(
        reloaded.predict_windows(_windows(original)), original.predict_windows(_windows(original))
    )
    np.testing.assert_array_equal(reloaded.scaler_mean_, original.scaler_mean_)
    np.testing.assert_array_equal(reloaded.scaler_scale_, original.scaler_scale_)
    assert reloaded.cutoff.equals(original.cutoff) and reloaded.cutoff.freq == original.cutoff.freq
    assert [row["train_loss"] for row in reloaded.history_] == [
        row["train_loss"] for row in original.history_
    ]
    assert reloaded.n_parameters() == original.n_parameters()


def test_distilling_a_reloaded_teacher_equals_distilling_the_original(series, tmp_path):
    from skdistill.benchmarks._artifacts import load_or_fit_forecaster
    from skdistill.forecasting import DistilledMLPForecaster

    cls, params = _teacher("ITransformerForecaster")
    original, _ = load_or_fit_forecaster(tmp_path / "t", cls, params, series, FH, print)
    reloaded, _ = load_or_fit_forecaster(tmp_path / "t", cls, params, series, FH, print)
    student = {"window_length": params["window_length"], "hidden_size": 8, "moving_avg": 3}
    student |= {"n_scales": 1, "max_epochs": 2, "validation_size": None, "random_state": 0}
    a = DistilledMLPForecaster(original, **student).fit(series, fh=FH)
    b = DistilledMLPForecaster(reloaded, **student).fit(series, fh=FH)
    np.testing.assert_array_equal(a.predict_windows(_windows(a)), b.predict_windows(_windows(a)))


# torch notes that a protocol-4 pickle is not its own format, on its way to refusing it.
@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
@pytest.mark.parametrize("form", ["raw pickle", "torch archive"])
def test_pickle_payload_in_the_weights_file_never_runs(form, series, tmp_path, payload):
    from skdistill.benchmarks._artifacts import artifact_paths, load_or_fit_forecaster

    data, marker = payload
    cls, params = _teacher("ITransformerForecaster")
    original, _ = load_or_fit_forecaster(tmp_path / "t", cls, params, series, FH, print)
    weights, _ = artifact_paths(tmp_path / "t")
    # The genuine description stays, so the loader goes as far as reading the weights.
    if form == "raw pickle":
        weights.write_bytes(data)
    else:
        torch.save({"module.x": _Payload(marker)}, weights)
    lines = []
    model, _ = load_or_fit_forecaster(tmp_path / "t", cls, params, series, FH, lines.append)
    assert not marker.exists()
    # Refused, said, fitted again (same seed: the same teacher) and replaced by weights.
    assert len(lines) == 1 and str(weights) in lines[0]
    assert "not a weights-only file" in lines[0] and "fitting it again" in lines[0]
    np.testing.assert_array_equal(
        model.predict_windows(_windows(model)), original.predict_windows(_windows(model))
    )
    assert set(torch.load(weights, weights_only=True)) >= {"array.scaler_mean_"}


def test_teacher_saved_for_other_settings_is_fitted_again(series, tmp_path):
    from skdistill.benchmarks._artifacts import load_or_fit_forecaster

    cls, params = _teacher("ITransformerForecaster")
    load_or_fit_forecaster(tmp_path / "t", cls, params, series, FH, print)
    lines = []
    other = {**params, "d_model": 16}
    model, _ = load_or_fit_forecaster(tmp_path / "t", cls, other, series, FH, lines.append)
    assert model.d_model == 16 and len(lines) == 1
    assert "saved for other settings" in lines[0] and "fitting it again" in lines[0]


def test_ltsf_runner_never_loads_pickles_and_rebuilds_its_teacher(tmp_path, shared_data, payload):
    from skdistill.benchmarks import LTSFConfig
    from skdistill.benchmarks.ltsf import _Runner

    data, marker = payload
    config = LTSFConfig(
        datasets=("ETTh1",),
        horizons=(4,),
        teachers=("itransformer",),
        methods=("teacher",),
        window_length=8,
        teacher_params={
            "itransformer": {"d_model": 8, "d_ff": 8, "n_heads": 2, "e_layers": 1, "max_epochs": 1}
        },
    )
    lines = []
    runner = _Runner(config, tmp_path, shared_data / "ltsf", lines.append)
    stem = tmp_path / "teachers" / "ETTh1_H4_itransformer_teacher_s0"
    stem.parent.mkdir(parents=True)
    # Where the old runner pickled the teacher, and where the new one keeps its weights.
    stem.with_name(stem.name + ".pkl").write_bytes(data)
    stem.with_name(stem.name + ".pt").write_bytes(data)
    first, fit_s = runner.teacher("ETTh1", 4, "itransformer", 0)
    assert not marker.exists()
    again, fit_s_again = runner.teacher("ETTh1", 4, "itransformer", 0)
    assert again is not first and fit_s_again == fit_s
    contexts = runner.contexts("ETTh1")[1]
    np.testing.assert_array_equal(again.predict_windows(contexts), first.predict_windows(contexts))
    assert not marker.exists()


def test_vision_teacher_is_rebuilt_from_weights_and_old_pickles_are_ignored(tmp_path, payload):
    from skdistill.benchmarks import VisionConfig, run_vision
    from skdistill.benchmarks.vision import _Runner

    data, marker = payload
    config = VisionConfig(
        datasets=("digits",),
        pairs=("cnn->vit",),
        methods=("alone",),
        epochs=1,
        teacher_epochs=1,
        n_train=300,
    )
    (tmp_path / "teachers").mkdir()
    (tmp_path / "teachers" / "digits_cnn.pkl").write_bytes(data)
    lines = []
    records = run_vision(config, tmp_path, log=lines.append)
    assert not marker.exists()
    assert any("ignoring 1 old pickled teacher file(s) (digits_cnn.pkl)" in x for x in lines)
    assert set(torch.load(tmp_path / "teachers" / "digits_cnn.pt", weights_only=True))

    # Rebuilt from the weights: the record back, and the network that earned it (its
    # accuracies, measured by the original classifier, come out the same to the last image).
    runner = _Runner(config, tmp_path, None, lines.append)
    module, record = runner.teacher("digits", "cnn")
    assert record == {k: v for k, v in records[0].items() if k != "wall_s"}
    assert records[0]["method"] == "teacher" and not module.training
    data = runner.data("digits")
    with torch.no_grad():
        for split, key in (("test", "accuracy"), ("valid", "valid_accuracy")):
            X, y = data[split]
            predicted = module(torch.as_tensor(X)).argmax(1).numpy()
            assert float(np.mean(predicted == y)) == record[key]
    assert not marker.exists()


# --------------------------------------------------------------------------- gzip bombs
def _gzip_of_zeros(path, n_mib: int) -> None:
    # Written a MiB at a time: the test itself never holds the inflated size.
    chunk = bytes(2**20)
    with gzip.open(path, "wb", compresslevel=9) as fh:
        for _ in range(n_mib):
            fh.write(chunk)


@pytest.mark.parametrize(
    ("loader", "file_name"),
    [
        (lambda home: load_ltsf("ETTh1", data_home=home), "ETTh1.csv.gz"),
        (
            lambda home: load_fashion_mnist(home, split="test", download=False),
            "t10k-images-idx3-ubyte.gz",
        ),
    ],
    ids=["ltsf", "fashion_mnist"],
)
def test_gzip_bomb_is_refused_while_inflating(loader, file_name, tmp_path, monkeypatch):
    from skdistill.datasets import _base

    bomb = tmp_path / file_name
    _gzip_of_zeros(bomb, 64)  # about 64 KiB on disk, 64 MiB inflated
    assert bomb.stat().st_size < 2**20
    # raising=False: before the limit existed, the test fails on the outcome, not here.
    monkeypatch.setattr(_base, "MAX_DECOMPRESSED_BYTES", 2**20, raising=False)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as excinfo:
            loader(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert excinfo.type is ValueError
    message = str(excinfo.value)
    assert str(bomb) in message and "1048576 bytes" in message
    assert "MAX_DECOMPRESSED_BYTES" in message and "canonical file" in message
    # Memory stayed near the limit, far below the 64 MiB the file inflates to.
    assert peak < 8 * 2**20


def test_a_refused_file_never_holds_the_limit_in_memory(tmp_path, monkeypatch):
    # With the limit far above one chunk, refusing still keeps one chunk at a time: a bomb
    # just under a 512 MiB default would otherwise cost 512 MiB before it is refused.
    from skdistill.datasets import _base

    bomb = tmp_path / "ETTh1.csv.gz"
    _gzip_of_zeros(bomb, 64)
    monkeypatch.setattr(_base, "MAX_DECOMPRESSED_BYTES", 48 * 2**20)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="decompression bomb"):
            load_ltsf("ETTh1", data_home=tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


@pytest.mark.parametrize(("slack", "refused"), [(0, False), (-1, True)], ids=["at", "over"])
def test_decompressed_size_limit_is_exact(slack, refused, tmp_path, monkeypatch):
    from skdistill.datasets import _base

    text = "date,a,OT\n" + "".join(f"2020-01-01 {h:02d}:00:00,{h},1.5\n" for h in range(24))
    with gzip.open(tmp_path / "exchange_rate.csv.gz", "wt") as fh:
        fh.write(text)
    monkeypatch.setattr(_base, "MAX_DECOMPRESSED_BYTES", len(text) + slack, raising=False)
    if refused:
        with pytest.raises(ValueError, match=f"more than {len(text) - 1} bytes"):
            load_ltsf("Exchange", data_home=tmp_path)
    else:
        frame = load_ltsf("Exchange", data_home=tmp_path)
        assert frame.shape == (24, 2) and frame["a"].iloc[-1] == 23.0


# --------------------------------------------------------------------------- data_home
@pytest.mark.parametrize(
    "loader",
    [
        lambda home: load_ltsf("ETTh1", data_home=home),
        lambda home: load_fashion_mnist(home, split="test", download=False),
        lambda home: load_cifar10_subset(home),
    ],
    ids=["load_ltsf", "load_fashion_mnist", "load_cifar10_subset"],
)
def test_missing_data_home_is_named_with_the_fix(loader, tmp_path):
    # Before, the folder was skipped and the bundled or shared copy loaded instead.
    missing = tmp_path / "no_such_folder"
    with pytest.raises(ValueError) as excinfo:
        loader(missing)
    assert excinfo.type is ValueError
    message = str(excinfo.value)
    assert f"data_home={str(missing)!r} does not exist" in message
    assert "Pass the folder that holds the data files" in message
    assert "data_home=None" in message


def test_data_home_that_is_a_file_is_named(tmp_path):
    a_file = tmp_path / "ETTh1.csv"
    a_file.write_text("date,OT\n")
    with pytest.raises(ValueError) as excinfo:
        load_ltsf("ETTh1", data_home=a_file)
    assert excinfo.type is ValueError
    assert f"data_home={str(a_file)!r} is a file, not a folder" in str(excinfo.value)
    assert "Pass the folder that holds the data files" in str(excinfo.value)


def test_cli_data_with_missing_data_home_fails_clearly(tmp_path, capsys):
    from skdistill.cli import main

    missing = tmp_path / "nope"
    assert main(["data", "--data-home", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"data_home={str(missing)!r} does not exist" in err


# --------------------------------------------------------------------------- dates
@pytest.mark.parametrize(
    ("bad", "row"),
    [("not a date", 0), ("2016-13-45 00:00:00", 2), ("yesterday", 3)],
    ids=["first-row", "bad-month", "last-row"],
)
def test_unparsable_date_names_file_column_value_and_line(bad, row, tmp_path):
    dates = [f"2016-07-01 {h:02d}:00:00" for h in range(4)]
    dates[row] = bad
    path = tmp_path / "exchange_rate.csv"
    path.write_text("date,a,OT\n" + "".join(f"{d},1,2\n" for d in dates))
    with pytest.raises(ValueError) as excinfo, warnings.catch_warnings():
        # pandas warns that it cannot infer the format when the first date is the bad one.
        warnings.simplefilter("ignore", UserWarning)
        load_ltsf("Exchange", data_home=tmp_path)
    assert excinfo.type is ValueError  # not pandas' DateParseError from deep inside
    message = str(excinfo.value)
    assert message.startswith(f"{path}: column 'date'")
    assert f"not a date: {bad!r}" in message
    assert f"line {row + 2} of the file" in message and "Correct or remove that row" in message


def test_parsed_dates_still_index_the_frame(tmp_path):
    path = tmp_path / "exchange_rate.csv"
    path.write_text("date,a,OT\n" + "".join(f"2016-07-01 {h:02d}:00:00,{h},2\n" for h in range(4)))
    frame = load_ltsf("Exchange", data_home=tmp_path)
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "date"
    assert frame.index[-1] == pd.Timestamp("2016-07-01 03:00:00")
    assert json.dumps(list(frame.columns)) == '["a", "OT"]'
