"""
Distilling a PatchTST teacher into an MLP
=========================================

The published setting on the bundled ETTh1: look-back 720, horizon 96, the standard splits
(train rows ``[0, 8640)``, validation targets ``[8640, 11520)``, the test rows of
:func:`~skdistill.datasets.ltsf_split`). The PatchTST teacher is not trained here: the package
ships its trained weights (the teacher of ``skdistill demo``), loaded with
:meth:`~skdistill.forecasting.PatchTSTForecaster.from_weights`. The same MLP is then trained
alone and distilled from the teacher with
:class:`~skdistill.forecasting.DistilledMLPForecaster`, for the same few epochs.

Errors are on standardised data over every stride-1 test window (the standard protocol). In
the run below the teacher scores a test MSE of 0.383, the MLP alone 0.403 and the distilled
MLP 0.382: distillation closes the whole gap to the teacher, with a model that forecasts
about 20 times faster (the teacher has fewer parameters, but runs attention over dozens of
patches per channel; the MLP is a few matrix products).

Run time: about 2 min 40 s with one torch thread (``torch.set_num_threads(1)`` below),
measured on a 2-core Intel Xeon Linux machine with another single-threaded job on the other
core. About a minute of it is the distiller's one pass of the teacher over the 7,825 training
windows; each distillation epoch then costs about 9 s, against 3.5 s for the MLP alone. One
thread is the safe choice where other programs keep the cores busy: torch's threads wait for
each other at every operation, and on a loaded 2-core machine its default of two threads was
measured more than ten times slower than one.
"""

import time
from importlib.resources import files

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import NullFormatter, ScalarFormatter

from skdistill.datasets import load_ltsf, ltsf_split
from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster, PatchTSTForecaster
from skdistill.metrics import evaluate_windows

torch.set_num_threads(1)  # see the run-time note above

L, H = 720, 96
df = load_ltsf("ETTh1")
train, val, test = ltsf_split("ETTh1", len(df), L)
y = df.iloc[: val.stop]  # training and validation rows: [0, 11520)
common = dict(window_length=L, validation_size=val.stop - train.stop, random_state=0)

# %%
# The teacher
# -----------
# The bundled weights (156k parameters, trained by this package on the training rows). The
# scaler, look-back and cutoff come from ``y``, as in a fit; no epoch is run.
path = files("skdistill.datasets").joinpath("weights", "ETTh1_PatchTST_L720_H96.pt")
teacher = PatchTSTForecaster.from_weights(path, y, **common)

# %%
# The students
# ------------
# The same MLP (the TimeDistill student: a moving-average split into trend and seasonal
# parts, each mapped from the look-back to the horizon by a two-layer MLP), alone and
# distilled, for at most six epochs each. The distiller runs the teacher once over the
# training windows and caches its forecasts and features (about a minute here); its epochs
# then never run the teacher. ``alpha`` weighs the prediction-level terms, ``beta`` the
# feature-level ones (1 and 1 for this teacher, as in ``skdistill demo``).
fh = range(1, H + 1)
t0 = time.perf_counter()
alone = MLPForecaster(max_epochs=6, **common).fit(y, fh=fh)
t_alone = time.perf_counter() - t0
t0 = time.perf_counter()
student = DistilledMLPForecaster(teacher, alpha=1.0, beta=1.0, max_epochs=6, **common).fit(y, fh=fh)
t_student = time.perf_counter() - t0
print(f"fit: MLP alone {t_alone:.0f} s, distilled MLP {t_student:.0f} s (teacher cached)")

# %%
# Test errors, sizes and speed
# ----------------------------
# :func:`~skdistill.metrics.evaluate_windows` scores every stride-1 window of the test rows
# (2,785 windows), on data standardised with the scaler fitted on the training rows. The
# latency is the median of a few forward passes over the first 32 test windows.
values = df.to_numpy()
contexts = np.stack([values[test.start + i : test.start + i + L] for i in range(32)])


def latency_ms(model, repeats=15):
    model.predict_windows(contexts)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.predict_windows(contexts)
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


models = {"PatchTST teacher": teacher, "MLP alone": alone, "distilled MLP": student}
rows = {}
for name, model in models.items():
    m = evaluate_windows(model, values, test, alone.scaler_mean_, alone.scaler_scale_, H)
    rows[name] = dict(m, params=model.n_parameters(), ms=latency_ms(model))
teacher_ms = rows["PatchTST teacher"]["ms"]
for name, r in rows.items():
    print(
        f"{name:<17} MSE {r['mse']:.4f}  MAE {r['mae']:.4f}  params {r['params']:>9,}  "
        f"{r['ms']:6.1f} ms / 32 windows ({teacher_ms / r['ms']:.1f}x the teacher's speed)"
    )

# %%
# Accuracy against inference cost, and the training curves: the distillation terms fall
# while the student trains; ``valid_loss`` is the plain MSE on the validation windows.
fig, (ax_cost, ax_hist) = plt.subplots(1, 2, figsize=(11, 3.6))
for name, r in rows.items():
    ax_cost.scatter(r["ms"], r["mse"], s=40)
    left = r["ms"] > teacher_ms / 2  # the teacher's label goes to the left of its point
    ax_cost.annotate(
        name,
        (r["ms"], r["mse"]),
        textcoords="offset points",
        xytext=(-6 if left else 6, 5),
        ha="right" if left else "left",
    )
ax_cost.set_xscale("log")
# Plain numbers on the log axis, major ticks only (minor labels would run into each other).
ax_cost.xaxis.set_major_formatter(ScalarFormatter())
ax_cost.xaxis.set_minor_formatter(NullFormatter())
ax_cost.set_xlabel("latency, ms per 32 windows (log scale)")
ax_cost.set_ylabel("test MSE (standardised)")
ax_cost.margins(x=0.3, y=0.2)
ax_cost.grid(alpha=0.3)

for key in ("train_sup", "train_pred_scale", "train_feat_scale", "valid_loss"):
    ax_hist.plot(student.history_[:, "epoch"], student.history_[:, key], marker="o", label=key)
ax_hist.set_xlabel("epoch")
ax_hist.set_title("distilled MLP: loss terms")
ax_hist.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
fig.tight_layout()
plt.show()
