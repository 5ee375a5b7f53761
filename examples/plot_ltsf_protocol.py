"""
Loading a forecasting benchmark and its standard split
======================================================

``load_ltsf`` reads ETTh1 from the copy bundled with skdistill (no network), and
``ltsf_split`` gives the train / validation / test rows of the standard protocol
for a look-back window of 720 hours.
"""

import matplotlib.pyplot as plt

from skdistill.datasets import load_ltsf, ltsf_split

df = load_ltsf("ETTh1")
train, val, test = ltsf_split("ETTh1", len(df), window_length=720)
print(df.shape, "train", train, "validation", val, "test", test)

# %%
# The target channel ``OT`` (oil temperature) with the three ranges. Validation
# and test start 720 rows early: their first window needs a full look-back.
fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(df.index, df["OT"], lw=0.5, color="0.3")
for rows, colour, label in (
    (train, "C0", "train"),
    (val, "C1", "validation"),
    (test, "C2", "test"),
):
    ax.axvspan(df.index[rows.start], df.index[rows.stop - 1], color=colour, alpha=0.2, label=label)
ax.set_ylabel("OT")
ax.legend(loc="upper right")
fig.tight_layout()
plt.show()
