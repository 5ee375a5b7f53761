"""TorchForecaster: any PyTorch forecaster as a fitted sktime forecaster and a teacher at both
levels (a user's module in both layouts, and Hugging Face's PatchTST, which this package did
not write)."""

import copy
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.model_selection import ForecastingGridSearchCV
from sktime.split import ExpandingWindowSplitter, SingleWindowSplitter
from sktime.utils.estimator_checks import check_estimator
from torch import nn

from skdistill.datasets import load_ltsf
from skdistill.forecasting import DistilledMLPForecaster, TorchForecaster
from skdistill.nn.forecasting.external import ExternalForecaster, channel_tokens

L, H, C = 48, 12, 7


@pytest.fixture(scope="module")
def y():
    return load_ltsf("ETTh1").iloc[:600]


class Net(nn.Module):
    """A user's forecaster, channel-independent: (B, L, C) -> (B, H, C), or with
    ``channels_first`` (B, C, L) -> (B, C, H)."""

    def __init__(self, channels_first=False, d=16):
        super().__init__()
        self.channels_first = channels_first
        self.encoder = nn.Sequential(nn.Linear(L, d), nn.ReLU())
        self.head = nn.Linear(d, H)

    def forward(self, x):
        if self.channels_first:
            return self.head(self.encoder(x))
        return self.head(self.encoder(x.transpose(1, 2))).transpose(1, 2)


class NoCopyNet(Net):
    """Fails the test if anything deep-copies it (clone must share the module)."""

    def __deepcopy__(self, memo):
        raise AssertionError("the wrapped module was deep-copied")


class Naive(nn.Module):
    """Repeats the last value of the window: scale-free, so every scaling gives y's last row."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(L, 4)

    def forward(self, x):
        hidden = self.encoder(x.transpose(1, 2))  # (B, C, 4): the feature
        return x[:, -1:, :].repeat(1, H, 1) + 0.0 * hidden.sum(-1).unsqueeze(1)


def patchtst(n_channels=C):
    transformers = pytest.importorskip("transformers")
    config = transformers.PatchTSTConfig(
        num_input_channels=n_channels,
        context_length=L,
        prediction_length=H,
        patch_length=8,
        patch_stride=8,
        d_model=16,
        num_attention_heads=2,
        num_hidden_layers=1,
        ffn_dim=16,
    )
    torch.manual_seed(0)
    return transformers.PatchTSTForPrediction(config)


def hf_teacher(module, **kw):
    params = dict(window_length=L, input_name="past_values", output="prediction_outputs")
    params.update(kw)
    return TorchForecaster(module, **params)


def student(teacher, **kw):
    params = dict(
        window_length=L,
        hidden_size=32,
        moving_avg=5,
        alpha=2.0,
        beta=2.0,
        n_scales=2,
        max_epochs=1,
        validation_size=None,
        random_state=0,
    )
    params.update(kw)
    return DistilledMLPForecaster(teacher, **params)


def snapshot(module):
    """Everything about the module the wrapper must leave alone."""
    return (
        copy.deepcopy(module.state_dict()),
        [m.training for m in module.modules()],
        [p.requires_grad for p in module.parameters()],
    )


def assert_unchanged(module, before):
    state, modes, grads = before
    now = module.state_dict()
    assert now.keys() == state.keys()
    assert all(torch.equal(now[k], state[k]) for k in state)
    assert [m.training for m in module.modules()] == modes
    assert [p.requires_grad for p in module.parameters()] == grads


def module_forecast(module, window, channels_first=False):
    x = torch.as_tensor(window[None], dtype=torch.float32)
    with torch.no_grad():
        out = module.eval()(x.transpose(1, 2) if channels_first else x)
    out = out.transpose(1, 2) if channels_first else out
    return out[0].numpy()


# --- sktime conformance ------------------------------------------------------------------


def test_sktime_check_estimator_fails_only_the_hash_check_torch_cannot_pass():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(TorchForecaster, raise_exceptions=False, verbose=False)
    failures = {k for k, v in results.items() if v != "PASSED"}
    assert len(results) > 100
    # This check compares joblib.hash of a deep copy of each parameter with the parameter
    # after fit; joblib.hash of a torch tensor is not content-based (a tensor and its clone
    # hash differently), so a module parameter fails it even when fit leaves it untouched
    # (which test_fit_leaves_the_module_untouched checks directly).
    assert all(k.startswith("test_fit_does_not_overwrite_hyper_params[") for k in failures)
    t = torch.zeros(3)
    assert joblib.hash(t) != joblib.hash(t.clone())


def test_fit_leaves_the_module_untouched_and_trains_nothing(y):
    module = Net()  # in training mode, requires_grad True: both must stay so
    before = snapshot(module)
    f = TorchForecaster(module, window_length=L).fit(y)
    f.predict(fh=range(1, H + 1))
    f.predict_windows(y.to_numpy()[None, -L:])
    assert_unchanged(module, before)
    assert f.module is module and f.n_parameters() == sum(p.numel() for p in module.parameters())


def test_not_fitted_before_fit_and_clone_shares_the_module(y):
    module = NoCopyNet()
    f = TorchForecaster(module, window_length=L)
    assert not f.is_fitted
    assert f.clone().module is module
    distiller = student(f)
    assert distiller.clone().teacher.module is module
    assert distiller.get_params(deep=True)["teacher__module"] is module


# --- forecasting ---------------------------------------------------------------------------


def test_blc_module_forecasts_and_update_moves_the_look_back(y):
    module = Net()
    f = TorchForecaster(module, window_length=L, columns=list(y.columns)).fit(y.iloc[:500])
    pred = f.predict(fh=range(1, H + 1))
    expected = module_forecast(module, y.to_numpy()[500 - L : 500])
    np.testing.assert_allclose(pred.to_numpy(), expected, rtol=1e-5, atol=1e-5)
    assert list(pred.columns) == list(y.columns) and pred.index[0] == y.index[500]
    assert (f.horizon_, f.teacher_layer_, f.feature_dim_) == (H, "encoder", 16)
    f.update(y.iloc[500:520], update_params=False)
    after = f.predict(fh=[1, 3])
    expected = module_forecast(module, y.to_numpy()[520 - L : 520])[[0, 2]]
    np.testing.assert_allclose(after.to_numpy(), expected, rtol=1e-5, atol=1e-5)
    assert after.index[0] == y.index[520]


def test_bcl_module_equals_the_same_weights_in_blc(y):
    blc, bcl = Net(), Net(channels_first=True)
    bcl.load_state_dict(blc.state_dict())
    a = TorchForecaster(blc, window_length=L).fit(y).predict(fh=range(1, H + 1))
    b = TorchForecaster(bcl, window_length=L, input_layout="BCL", output_layout="BCH")
    b = b.fit(y)
    np.testing.assert_allclose(b.predict(fh=range(1, H + 1)), a, rtol=1e-6)
    assert (b.teacher_layer_, b.feature_dim_) == ("encoder", 16)


@pytest.mark.parametrize("scaling", ["none", "standard", "fixed"])
def test_the_module_gets_the_values_it_expects(y, scaling):
    if scaling == "fixed":
        scaling = (y.mean().to_numpy() + 1.0, y.std().to_numpy() * 2.0)
    f = TorchForecaster(Naive(), window_length=L, scaling=scaling).fit(y)
    # Naive repeats its input's last row: back in y's units it is y's last row, whatever
    # the module's units, if the wrapper maps in and out consistently.
    np.testing.assert_allclose(f.predict(fh=[1, H]).to_numpy(), y.to_numpy()[[-1, -1]], rtol=1e-5)
    if scaling == "none":
        assert (f.scaler_mean_ == 0).all() and (f.scaler_scale_ == 1).all()


def test_hugging_face_patchtst_by_keyword(y):
    module = patchtst()
    f = hf_teacher(module).fit(y)
    assert (f.horizon_, f.teacher_layer_) == (H, "model")
    assert f.feature_dim_ == (L // 8) * 16  # n_patches * d_model, flattened
    with torch.no_grad():
        expected = module.eval()(
            past_values=torch.as_tensor(y.to_numpy()[None, -L:], dtype=torch.float32)
        ).prediction_outputs[0]
    np.testing.assert_allclose(f.predict(fh=range(1, H + 1)), expected.numpy(), rtol=1e-5)
    mean = hf_teacher(module, feature_pooling="mean", teacher_layer="model.encoder").fit(y)
    assert mean.feature_dim_ == 16


def test_pickle_round_trip_predicts_identically(y):
    for f in [TorchForecaster(Net(), window_length=L), hf_teacher(patchtst())]:
        f.fit(y)
        again = pickle.loads(pickle.dumps(f))
        assert again.predict(fh=range(1, H + 1)).equals(f.predict(fh=range(1, H + 1)))


# --- as a teacher at both levels -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["blc", "bcl", "patchtst"])
def test_distils_at_both_levels_and_the_module_stays_as_it_was(y, kind):
    if kind == "patchtst":
        module = patchtst()
        teacher = hf_teacher(module)
    else:
        module = Net(channels_first=kind == "bcl")
        layouts = {"input_layout": "BCL", "output_layout": "BCH"} if kind == "bcl" else {}
        teacher = TorchForecaster(module, window_length=L, scaling="standard", **layouts)
    before = snapshot(module)
    f = student(teacher).fit(y, fh=range(1, H + 1))
    last = f.history_[-1]
    assert last["train_feat_scale"] > 0 and last["train_feat_period"] >= 0
    assert f.beta_ == 2.0 and f.teacher_.module is module
    assert f.predict().shape == (H, C)
    assert_unchanged(module, before)
    # Nothing the optimiser trains is a parameter of the module.
    teacher_params = {id(p) for p in module.parameters()}
    trained = list(f.net_.module_.parameters()) + list(f.net_.criterion_.parameters())
    assert teacher_params.isdisjoint(id(p) for p in trained)


def test_a_fitted_wrapper_is_used_as_is(y):
    teacher = TorchForecaster(Net(), window_length=L).fit(y)
    f = student(teacher).fit(y, fh=range(1, H + 1))
    assert f.teacher_ is teacher


def test_evaluate_with_an_expanding_window(y):
    module = patchtst()
    before = snapshot(module)
    cv = ExpandingWindowSplitter(initial_window=500, step_length=60, fh=range(1, H + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        results = evaluate(student(hf_teacher(module)), cv, y, return_data=False)
    assert len(results) == 2 and np.isfinite(results.iloc[:, 0]).all()
    assert_unchanged(module, before)


def test_grid_search_over_alpha_never_copies_the_module(y):
    module = NoCopyNet()
    before = snapshot(module)
    cv = SingleWindowSplitter(fh=range(1, H + 1), window_length=450)
    f = student(TorchForecaster(module, window_length=L, scaling="standard"))
    gscv = ForecastingGridSearchCV(f, cv=cv, param_grid={"alpha": [0.5, 2.0]}, backend=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        gscv.fit(y, fh=range(1, H + 1))
    assert gscv.best_params_["alpha"] in (0.5, 2.0)
    assert gscv.best_forecaster_.teacher_.module is module
    assert gscv.predict().shape == (H, C)
    assert_unchanged(module, before)


# --- declarations that are wrong say which parameter to fix -----------------------------------


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: TorchForecaster(Net(), window_length=L, input_layout="BCL"), "input_layout"),
        (
            lambda: TorchForecaster(Net(), window_length=L, output_layout="BCH"),
            "output_layout='BHC'",
        ),
        (lambda: TorchForecaster(Net(), window_length=L, output=0), r"output=0 .*output=None"),
        (lambda: TorchForecaster(Net(), window_length=L, columns=["OT"]), r"columns=\['OT'\]"),
        (
            lambda: TorchForecaster(Net(), window_length=L, teacher_layer="encodr"),
            r"teacher_layer='encodr'.*Did you mean",
        ),
        (lambda: TorchForecaster(Net(), window_length=L, horizon=24), "set horizon=12"),
        (lambda: TorchForecaster(Net(), window_length=24), "window_length"),
        (lambda: TorchForecaster(Net()), "window_length is required"),
        (lambda: TorchForecaster(Net(), window_length=L, scaling=(0.0, -1.0)), "scaling"),
        (lambda: hf_teacher(patchtst(), output=None), "prediction_outputs"),
        (lambda: hf_teacher(patchtst(), output="forecast"), r"output='forecast' is not in"),
        (lambda: hf_teacher(patchtst(n_channels=3)), "columns"),
    ],
)
def test_bad_declarations_name_the_parameter(y, make, match):
    with pytest.raises(ValueError, match=match):
        make().fit(y)


def test_wrong_parameter_types(y):
    with pytest.raises(TypeError, match="module must be"):
        TorchForecaster(window_length=L).fit(y)
    with pytest.raises(TypeError, match="input_name"):
        TorchForecaster(Net(), window_length=L, input_name="not a name").fit(y)


def test_a_forecast_that_is_not_bhc(y):
    class Flat(Net):
        def forward(self, x):
            return super().forward(x).reshape(x.shape[0], -1)  # (B, H * C)

    with pytest.raises(ValueError, match=r"output_layout='BHC' it must be \(2, 'H', 7\)"):
        TorchForecaster(Flat(), window_length=L).fit(y)


def test_distiller_checks_the_wrapped_teacher(y):
    fitted = TorchForecaster(Net(), window_length=L).fit(y[list(y.columns[:3])])
    with pytest.raises(ValueError, match="columns"):
        student(fitted).fit(y, fh=range(1, H + 1))
    with pytest.raises(ValueError, match="window_length"):
        student(TorchForecaster(Net(), window_length=L), window_length=24).fit(y, fh=[1])
    with pytest.raises(ValueError, match="the module forecasts 12"):
        student(TorchForecaster(Net(), window_length=L)).fit(y, fh=range(1, 25))


# --- the pieces: reading features, the auto rule --------------------------------------------


def test_channel_tokens_readings():
    B = 2
    t = torch.randn(B, C, 6, 16)
    assert channel_tokens(t, B, C).shape == (B, C, 96)
    assert torch.allclose(channel_tokens(t, B, C, "mean"), t.mean(2))
    folded = t.reshape(B * C, 6, 16)  # channel-independent, batch-major
    assert torch.equal(channel_tokens(folded, B, C), channel_tokens(t, B, C))
    last = torch.randn(B, L, C)
    assert torch.equal(channel_tokens(last, B, C), last.transpose(1, 2))
    assert channel_tokens(torch.randn(B, 5, 3), B, C) is None  # mixes channels: not per channel


def test_auto_layer_skips_the_head_and_after_it():
    class WithDenorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = Net()
            self.out = nn.Identity()  # a trailing (B, H, C) module

        def forward(self, x):
            return self.out(self.net(x) + 1.0)

    wrapped = ExternalForecaster(WithDenorm(), L, C).probe(torch.randn(2, L, C))
    assert wrapped.layer == "net.encoder"

    class HeadOnly(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(L, H)

        def forward(self, x):
            return self.head(x.transpose(1, 2)).transpose(1, 2)

    with pytest.raises(ValueError, match="teacher_layer='<module path>'"):
        ExternalForecaster(HeadOnly(), L, C).probe(torch.randn(2, L, C))


def test_export_onnx_of_a_wrapped_module(y, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    f = TorchForecaster(Net(), window_length=L, scaling="standard").fit(y, fh=range(1, H + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = f.export_onnx(tmp_path / "teacher.onnx")
    windows = y.to_numpy()[None, -L:].astype(np.float32)
    got = ort.InferenceSession(str(path)).run(None, {"window": windows})[0]
    np.testing.assert_allclose(got, f.predict_windows(windows), rtol=1e-4, atol=1e-4)
