"""Teachers from outside skdistill for the LTSF suite: a plain sktime forecaster and a PyTorch
module of another library, distilled the way users would pass them.

* ``"seasonal_naive"``: sktime's ``NaiveForecaster(strategy="last", sp=24)`` (the last day
  repeated), passed unfitted; the distiller fits it and computes its forecast for every
  training window (prediction level only: it has no hidden features).
* ``"hf_patchtst"``: Hugging Face transformers' ``PatchTSTForPrediction`` built from a config
  (no download), trained here by a plain PyTorch loop on the training windows, then wrapped in
  :class:`~skdistill.forecasting.TorchForecaster` (both levels; the feature is the encoder's
  output, ``teacher_layer="auto"``). Its weights are kept as a state dict loaded with
  ``weights_only=True`` and rebuilt from the config, like the package's own teachers.

Each builder returns ``(teacher for the distiller, teacher for the "teacher" record, fit
seconds)``; the record's teacher has ``predict_windows``, ``window_length`` and
``n_parameters``.
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch

from skdistill.benchmarks._registry import TeacherName

OUTSIDE_TEACHERS: dict[str, TeacherName] = {
    "seasonal_naive": TeacherName("seasonal naive (sktime)", "NaiveForecaster"),
    "hf_patchtst": TeacherName("HF PatchTST (TorchForecaster)", "PatchTSTForPrediction"),
}
# The suite's (alpha, beta) for them: prediction level only for the naive forecast (small:
# it is far weaker than the MLP alone); the package's default for PatchTST.
OUTSIDE_WEIGHTS = {"seasonal_naive": (0.5, 0.0), "hf_patchtst": (1.0, 1.0)}
# Teachers without a module: no per-batch path, hence no epoch-timing cell.
PREDICTION_ONLY = frozenset({"seasonal_naive"})
# Schedule of the Hugging Face PatchTST (the reference's ETTh1 size, the suite's PatchTST
# budget: one epoch at lr 1e-3, batch 128).
HF_PATCHTST = {
    "patch_length": 16,
    "patch_stride": 8,
    "d_model": 16,
    "num_attention_heads": 4,
    "num_hidden_layers": 3,
    "ffn_dim": 128,
    "dropout": 0.3,
}
_HF_TRAINING = {"epochs": 1, "lr": 1e-3, "batch_size": 128}


class NaiveWindows:
    """A seasonal naive sktime forecaster's forecasts of context windows (closed form)."""

    def __init__(self, forecaster, window_length: int, horizon: int) -> None:
        self.forecaster, self.window_length, self.horizon = forecaster, window_length, horizon

    def predict_windows(self, windows: np.ndarray) -> np.ndarray:
        from skdistill.forecasting._generic_teacher import closed_form

        windows = np.asarray(windows, dtype=np.float64)
        n, L, C = windows.shape
        starts = np.arange(n) * L
        return closed_form(self.forecaster, windows.reshape(n * L, C), starts, L, self.horizon)

    def n_parameters(self) -> int:
        return 0


def seasonal_naive(runner, dataset: str, horizon: int, seed: int) -> tuple:
    from sktime.forecasting.naive import NaiveForecaster

    # remember_data set explicitly: sktime 1.3 changes its default (its FutureWarning).
    teacher = NaiveForecaster(strategy="last", sp=24).set_config(remember_data=True)
    return teacher, NaiveWindows(teacher, runner.config.window_length, horizon), 0.0


def hf_patchtst(runner, dataset: str, horizon: int, seed: int) -> tuple:
    import transformers

    from skdistill.forecasting import TorchForecaster
    from skdistill.training.windows import SlidingWindowDataset, standard_scaler

    frame, train, val, _ = runner.data(dataset)
    L = runner.config.window_length
    values = frame.to_numpy(dtype=np.float64)
    mean, scale = standard_scaler(values[: train.stop])
    config = transformers.PatchTSTConfig(
        num_input_channels=values.shape[1],
        context_length=L,
        prediction_length=horizon,
        **HF_PATCHTST,
    )
    torch.manual_seed(seed)
    module = transformers.PatchTSTForPrediction(config)
    stem = runner.teacher_path(f"{dataset}_H{horizon}_hf_patchtst_teacher_s{seed}")
    key = {"config": config.to_dict(), "training": _HF_TRAINING, "seed": seed}
    weights, meta = stem.with_suffix(".pt"), stem.with_suffix(".json")
    fit_s = None
    if weights.exists() and meta.exists():
        saved = json.loads(meta.read_text())
        if saved.get("key") == json.loads(json.dumps(key)):
            module.load_state_dict(torch.load(weights, weights_only=True))
            fit_s = float(saved["fit_s"])
    if fit_s is None:
        t0 = time.perf_counter()
        z = (values[: train.stop] - mean) / scale
        _train_hf(module, SlidingWindowDataset(z, L, horizon), seed)
        fit_s = time.perf_counter() - t0
        stem.parent.mkdir(parents=True, exist_ok=True)
        torch.save(module.state_dict(), weights)
        meta.write_text(json.dumps({"key": key, "fit_s": fit_s}))
    teacher = TorchForecaster(
        module,
        window_length=L,
        input_name="past_values",
        output="prediction_outputs",
        scaling=(mean, scale),
    ).fit(frame.iloc[: val.stop])
    return teacher, teacher, fit_s


def _train_hf(module: torch.nn.Module, windows, seed: int) -> None:
    """What a user would write: Adam on the MSE of the forecast, shuffled batches."""
    loader = torch.utils.data.DataLoader(
        windows,
        batch_size=_HF_TRAINING["batch_size"],
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    opt = torch.optim.Adam(module.parameters(), lr=_HF_TRAINING["lr"])
    module.train()
    for _ in range(_HF_TRAINING["epochs"]):
        for x, y in loader:
            pred = module(past_values=x["x"]).prediction_outputs
            loss = torch.nn.functional.mse_loss(pred, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    module.eval()


BUILDERS = {"seasonal_naive": seasonal_naive, "hf_patchtst": hf_patchtst}
