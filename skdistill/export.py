"""ONNX export of fitted students, so that they can be deployed without Python.

The exported graph holds exactly what ``predict`` runs, with the estimator's preprocessing
folded in, so that a deployment feeds the same arrays a user gives ``predict``:

* forecasters: input ``"window"`` of shape ``(batch, window_length, n_channels)`` in the units
  of ``y`` (the last ``window_length`` rows, oldest first); output ``"forecast"`` of shape
  ``(batch, len(fh), n_channels)`` in the units of ``y``, for the fitted ``fh`` steps in order.
  The per-channel standardisation fitted on ``y`` is inside the graph.
* classifiers: input ``"images"`` shaped like the ``X`` given to ``fit`` (``(batch, C, H, W)``,
  or ``(batch, n_features)`` for 2-D ``X``), float32; output ``"logits"`` of shape
  ``(batch, n_classes)``. ``classes_[argmax(logits)]`` is ``predict``; a softmax of the logits
  is ``predict_proba``.

The batch axis is dynamic. Needs the optional ``onnx`` and ``onnxscript`` packages (``pip install
"skdistill[onnx]"``; ``onnxruntime`` to run the result).
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["export_module_onnx"]


class ScaledForecast(nn.Module):
    """Raw windows -> raw forecasts: standardise, run the student, keep ``steps``, unscale;
    channels flagged ``constant`` repeat the window's last value (as ``predict`` does)."""

    def __init__(self, module: nn.Module, mean, scale, steps, constant=None) -> None:
        super().__init__()
        self.module = module
        as_t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
        self.register_buffer("mean", as_t(mean))
        self.register_buffer("scale", as_t(scale))
        self.register_buffer("steps", torch.as_tensor(np.asarray(steps, dtype=np.int64)))
        flags = np.zeros(self.mean.shape, bool) if constant is None else np.asarray(constant, bool)
        self.has_constant = bool(flags.any())
        self.register_buffer("constant", torch.as_tensor(flags))

    def forward(self, window: torch.Tensor, series: torch.Tensor | None = None) -> torch.Tensor:
        mean, scale, constant = self.mean, self.scale, self.constant
        if series is not None:  # a panel: one scaler row per series, picked per window
            mean, scale = mean[series].unsqueeze(1), scale[series].unsqueeze(1)
            constant = constant[series].unsqueeze(1)
        z = (window - mean) / scale
        pred = self.module(z).index_select(1, self.steps) * scale + mean
        if self.has_constant:
            pred = torch.where(constant, window[:, -1:, :], pred)
        return pred


class FlatImages(nn.Module):
    """Flat rows -> the ``(C, H, W)`` layout the student was trained on, then logits."""

    def __init__(self, module: nn.Module, image_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.module = module
        self.image_shape = tuple(int(d) for d in image_shape)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.module(images.reshape(images.shape[0], *self.image_shape))


def export_module_onnx(
    module: nn.Module,
    example: torch.Tensor | tuple[torch.Tensor, ...],
    path: str | os.PathLike,
    *,
    input_name: str | list[str],
    output_name: str,
    opset: int = 18,
) -> Path:
    """Export ``module`` (on the CPU, in eval mode) to ``path`` with a dynamic batch axis.

    Parameters
    ----------
    module : torch.nn.Module
        Maps a float32 batch shaped like ``example`` to one tensor.
    example : torch.Tensor or tuple of them
        An example input (or one per input of ``module``); the first axis of each is exported
        as dynamic (the batch).
    path : path-like
        Where to write the ``.onnx`` file (parent folders are created).
    input_name : str or list of str
        Name of the graph's input (one per example tensor).
    output_name : str
        Name of the graph's output.
    opset : int, default=18
        ONNX opset version.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ImportError
        If ``onnx`` or ``onnxscript`` is not installed (the message names the extra).
    """
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"ONNX export needs the optional packages onnx and onnxscript ({exc.name} is "
            'missing): pip install "skdistill[onnx]"'
        ) from exc
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = module.cpu().eval()
    examples = example if isinstance(example, tuple) else (example,)
    names = [input_name] if isinstance(input_name, str) else list(input_name)
    # Float inputs in float32; index inputs (a panel's series) keep their integer type. A
    # batch of at least 2 keeps the exporter from specialising the batch axis to 1.
    examples = tuple(
        (e.detach().cpu().float() if e.is_floating_point() else e.detach().cpu()).repeat(
            2 if e.shape[0] < 2 else 1, *([1] * (e.ndim - 1))
        )
        for e in examples
    )
    batch = torch.export.Dim("batch", min=1)
    # The exporter logs a warning per torchvision operator it cannot register when torchvision
    # is absent (it is not a dependency); those say nothing about this model.
    onnx_log = logging.getLogger("torch.onnx")
    level = onnx_log.level
    onnx_log.setLevel(logging.ERROR)
    try:
        program = _export(module, examples, batch, names, output_name, opset)
    finally:
        onnx_log.setLevel(level)
    program.save(str(path))
    return path


def _export(module, examples, batch, input_names, output_name, opset):
    with torch.no_grad(), warnings.catch_warnings():
        # The forecasters' MeanNorm / RevIN keep the statistics of the current window on the
        # module between normalize() and denormalize() of one forward pass; the exporter
        # traces that correctly (they are intermediate values of the graph) but warns
        # ("was assigned" for one attribute, "were assigned" for several).
        warnings.filterwarnings(
            "ignore", category=UserWarning, message=r".*(was|were) assigned during export"
        )
        # torch's own deep copy of the exported program's tree specs goes through the
        # deprecated LeafSpec constructor (seen with torch 2.13): torch-internal, nothing a
        # user can act on.
        warnings.filterwarnings(
            "ignore",
            category=FutureWarning,
            message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        )
        program = torch.onnx.export(
            module,
            examples,
            dynamo=True,
            input_names=input_names,
            output_names=[output_name],
            dynamic_shapes=tuple({0: batch} for _ in examples),
            opset_version=opset,
            verbose=False,
        )
    return program
