"""Distil with the teacher cache in RAM and on disk, data-parallel; run with torchrun.

``torchrun --nproc_per_node 2 accelerate_disk_cache.py OUT_DIR``: every process writes
``rankN.json`` with, per cache place, the last history line, the place reported and the cache
line of the verbose output, and what is left in the cache's parent folder after both fits.
"""

import contextlib
import io
import json
import os
import sys
from pathlib import Path

import torch
from accelerate import Accelerator

from skdistill.datasets import load_ltsf
from skdistill.forecasting import DistilledMLPForecaster, ITransformerForecaster
from skdistill.training.accelerate import use_accelerator


def main(out: Path) -> None:
    torch.set_num_threads(1)
    accelerator = Accelerator(cpu=True)
    y = load_ltsf("ETTh1").iloc[:800]
    teacher = ITransformerForecaster(
        window_length=48, d_model=16, d_ff=16, n_heads=2, e_layers=1, max_epochs=1, random_state=0
    ).fit(y, fh=range(1, 9))
    cache_dir = out / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    record = {"rank": accelerator.process_index}
    for place in ("memory", "disk"):
        student = DistilledMLPForecaster(
            teacher,
            window_length=48,
            hidden_size=32,
            moving_avg=5,
            max_epochs=2,
            patience=None,
            random_state=0,
            teacher_cache=place,
            teacher_cache_dir=str(cache_dir),
            verbose=2,  # the notes on the teacher cache (stdout)
        )
        said = io.StringIO()
        with use_accelerator(accelerator), contextlib.redirect_stdout(said):
            student.fit(y, fh=range(1, 9))
        record[place] = {
            "history": {k: v for k, v in student.history_[-1].items() if k != "batches"},
            "place": student.teacher_cache_,
            "said": [line for line in said.getvalue().splitlines() if "teacher cache" in line],
        }
    accelerator.wait_for_everyone()
    record["leftovers"] = os.listdir(cache_dir)
    (out / f"rank{accelerator.process_index}.json").write_text(json.dumps(record))
    accelerator.end_training()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
