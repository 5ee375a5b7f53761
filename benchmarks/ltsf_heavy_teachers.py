"""LTSF cells with the paper's heavy teachers (PatchTST, ModernTCN) under stated CPU budgets.

Run from the repository root (each part appends cells to ``benchmarks/results/ltsf``, resumable;
the two parts may run side by side, one torch thread each)::

    python benchmarks/ltsf_heavy_teachers.py patchtst
    python benchmarks/ltsf_heavy_teachers.py moderntcn
    python benchmarks/ltsf_heavy_teachers.py outside     # needs the hf extra (transformers)
    python benchmarks/ltsf_heavy_teachers.py projection  # after moderntcn: its teacher

then render the report (``skdistill benchmark ltsf --report-only ...``, see docs/benchmarks/ltsf.rst).

The schedules below are what two shared CPU cores afford in about an hour per part; they are
the numbers the docs state, not the papers' schedules:

* PatchTST (the forecaster's defaults: d_model 16, 3 layers, patch 16 / stride 8): one epoch,
  lr 1e-3, batch 128, H = 96 on ETTh1, ETTh2, ETTm1 and Weather. On Weather (21 channels,
  36,800 windows) the patch stride is 16 (45 patches instead of 89), which halves the
  teacher's tokens; one epoch at stride 8 alone takes about an hour on one core.
* ModernTCN at a CPU size (dims 32 and ffn_ratio 4 instead of 64 and 8: 0.64 M parameters
  instead of 1.65 M, about 7x less compute per window; kernels, patching and block count as
  the reference): two epochs, lr 5e-4, batch 128, ETTh1 and ETTh2 at all four horizons.

* Teachers from outside the package (:mod:`skdistill.benchmarks._outside`) on ETTh1: sktime's
  seasonal naive forecaster (``NaiveForecaster(strategy="last", sp=24)``, passed unfitted,
  prediction level only, alpha 0.5) at all four horizons, and Hugging Face's
  ``PatchTSTForPrediction`` (the PatchTST budget above, trained by a plain PyTorch loop) in a
  ``TorchForecaster``, both levels, at H = 96.

* ``projection``: the ModernTCN cell of ETTh1 at H = 96 again with ``teacher_feature_dim=None``
  (the paper's regressor on the 32 x 180 = 5,760-wide feature, instead of its projection onto
  512 principal directions): what the default projection costs in accuracy.

Students (MLP alone and distilled) use the same budgets as the iTransformer rows, so the MLP
cells are shared: at most 10 epochs with early stopping on ETTh1 / ETTh2, 5 on ETTm1, 3 on
Weather. Distillation weights: the spec's ModernTCN table; (1, 1) for PatchTST (the spec has no
PatchTST table).

This is a script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from skdistill.benchmarks import LTSFConfig, run_ltsf

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "benchmarks" / "results" / "ltsf"
DATA_HOME = REPO.parent / "shared" / "data" / "ltsf"

_STUDENT_EPOCHS = {"ETTh1": 10, "ETTh2": 10, "ETTm1": 5, "weather": 3}
_PATCHTST = {"max_epochs": 1, "lr": 1e-3, "batch_size": 128}
_MODERNTCN = {"dims": 32, "ffn_ratio": 4, "max_epochs": 2, "lr": 5e-4, "batch_size": 128}


def configs(part: str, include_weather: bool = True) -> list[LTSFConfig]:
    """The LTSF configurations of one part (their budgets differ by dataset)."""
    out = []
    if part == "patchtst":
        for dataset in ("ETTh1", "ETTh2", "ETTm1", "weather"):
            if dataset == "weather" and not include_weather:
                continue
            teacher = dict(_PATCHTST, **({"stride": 16} if dataset == "weather" else {}))
            out.append(
                LTSFConfig(
                    datasets=(dataset,),
                    horizons=(96,),
                    teachers=("patchtst",),
                    methods=("teacher", "mlp", "timedistill"),
                    teacher_params={"patchtst": teacher},
                    student_params={"max_epochs": _STUDENT_EPOCHS[dataset]},
                    # The per-batch teacher's epoch on ETTm1 / Weather alone exceeds the budget.
                    online_epochs=1 if dataset.startswith("ETTh") else 0,
                    threads=1,
                )
            )
    elif part == "moderntcn":
        # Timing cells on ETTh1 at every horizon, on ETTh2 at H = 96 only (the budget).
        for dataset, horizons, online in (
            ("ETTh1", (96, 192, 336, 720), 1),
            ("ETTh2", (96,), 1),
            ("ETTh2", (192, 336, 720), 0),
        ):
            out.append(
                LTSFConfig(
                    datasets=(dataset,),
                    horizons=horizons,
                    teachers=("moderntcn",),
                    methods=("teacher", "mlp", "timedistill"),
                    teacher_params={"moderntcn": dict(_MODERNTCN)},
                    student_params={"max_epochs": _STUDENT_EPOCHS[dataset]},
                    online_epochs=online,
                    threads=1,
                )
            )
    elif part == "outside":
        for teacher, horizons in (("seasonal_naive", (96, 192, 336, 720)), ("hf_patchtst", (96,))):
            out.append(
                LTSFConfig(
                    datasets=("ETTh1",),
                    horizons=horizons,
                    teachers=(teacher,),
                    methods=("teacher", "mlp", "timedistill"),
                    student_params={"max_epochs": _STUDENT_EPOCHS["ETTh1"]},
                    online_epochs=1,
                    threads=1,
                )
            )
    elif part == "projection":
        out.append(
            LTSFConfig(
                datasets=("ETTh1",),
                horizons=(96,),
                teachers=("moderntcn",),
                methods=("no_projection",),
                teacher_params={"moderntcn": dict(_MODERNTCN)},
                student_params={"max_epochs": _STUDENT_EPOCHS["ETTh1"]},
                online_epochs=0,
                threads=1,
            )
        )
    else:
        raise ValueError(f"unknown part {part!r}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("patchtst", "moderntcn", "outside", "projection"))
    parser.add_argument(
        "--no-weather", action="store_true", help="PatchTST without its Weather cell (an hour)"
    )
    args = parser.parse_args()
    for config in configs(args.part, include_weather=not args.no_weather):
        run_ltsf(config, output_dir=OUTPUT, data_home=DATA_HOME, log=lambda s: print(s, flush=True))


if __name__ == "__main__":
    main()
