"""
SFKD on the digits: a ViT teacher distilled into a small CNN
=============================================================

A heterogeneous pair on the 8x8 scikit-learn digits, small enough to run on a CPU in
seconds: a Vision Transformer teacher (token sequences) is distilled into a small ResNet-style
CNN student (spatial maps) with :class:`~skdistill.classification.SFKDClassifier`, and
compared with the same CNN trained alone and with plain logit distillation
(:class:`~skdistill.classification.KDClassifier`).

The dataset is tiny (1,797 images, 540 of them held out): differences of a point or two
between the students are within the spread across seeds. The point here is the API and the
loss terms, not a ranking; see ``skdistill benchmark vision`` for a larger
comparison.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skdistill.classification import KDClassifier, SFKDClassifier
from skdistill.nn.vision import build_model

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)  # (n, C, H, W) images in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)

# %%
# The teacher
# -----------
# A distiller with ``teacher=None`` trains its student alone, so ``KDClassifier`` with the
# zoo's ViT as student is simply a ViT classifier. On 8x8 images it uses 2x2 patches: a 4x4
# token grid plus a class token.
teacher = KDClassifier(student="vit", max_epochs=20, random_state=0).fit(X_train, y_train)
print(
    f"ViT teacher: {teacher.score(X_test, y_test):.3f} test accuracy, "
    f"{teacher.n_parameters():,} parameters"
)

# %%
# The students
# ------------
# The zoo's CNN with ``width=4`` (about 5k parameters; any ``torch.nn.Module`` can be a
# student, and it is copied at each fit). The same architecture, seed and epochs for the
# three runs. SFKD taps the teacher's final ``norm`` (the 4x4 token grid, 64 channels: a
# grid divisible by ``2**levels`` with the default ``levels=2``) and, automatically, the
# student's last stage ``layer3`` (a 2x2 map, resized to 4x4 by the projector).
torch.manual_seed(0)  # the module's initial weights; each fit starts from a copy of them
student = build_model("cnn", 1, 10, 8, width=4)
common = dict(student=student, max_epochs=10, random_state=0)
models = {
    "CNN alone": KDClassifier(teacher=None, **common),
    "KD": KDClassifier(teacher=teacher, **common),
    "SFKD": SFKDClassifier(teacher=teacher, teacher_layer="norm", **common),
}
for name, model in models.items():
    model.fit(X_train, y_train)
    print(
        f"{name:<10} {model.score(X_test, y_test):.3f} test accuracy, "
        f"{model.n_parameters():,} parameters"
    )

# %%
# What was tapped: the raw outputs, their canonical (C, H, W) layout and the aligned grid.
sfkd = models["SFKD"]
for side, shapes in sfkd.feature_shapes_.items():
    print(side, shapes)

# %%
# The loss terms
# --------------
# ``history_`` records, per epoch, the total (``train_loss``) and every term, unweighted:
# cross-entropy, logit KD, the wavelet sub-band loss and the Gaussian-filtered frequency loss
# (GFFL). The total is
# ``ce + alpha * kd + beta * wave + gamma * freq`` with ``alpha = 1`` and
# ``beta = gamma = 0.1``.
terms = ["train_loss", "train_ce", "train_kd", "train_wave", "train_freq"]
epochs = sfkd.history_[:, "epoch"]
fig, ax = plt.subplots(figsize=(7, 3.5))
for key in terms:
    ax.plot(epochs, sfkd.history_[:, key], marker="o", label=key)
ax.set_xlabel("epoch")
ax.set_ylabel("loss")
ax.set_yscale("log")
ax.set_title("SFKD: ViT teacher -> CNN student on the digits")
ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
fig.tight_layout()
plt.show()
