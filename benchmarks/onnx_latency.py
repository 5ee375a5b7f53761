"""onnxruntime vs torch latency of exported students (batch 1 and 32).

Fits a DMLP forecaster (ETTh1, look-back 720, horizon 96; one epoch: latency does not depend
on the weights) and a ViT classifier (Fashion-MNIST shape, 28x28; one epoch on 512 images),
exports both with ``export_onnx`` and times, alternately, the torch student (eval, no_grad, the
scaling done in numpy as ``predict_windows`` does) and the onnxruntime session (scaling inside
the graph), each on the same inputs. Prints medians and writes a JSON record.

Run from the repository root::

    python benchmarks/onnx_latency.py --threads 1 --output benchmarks/results/onnx_latency.json
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch and onnxruntime threads")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--output", default="benchmarks_output/onnx_latency.json")
    args = parser.parse_args(argv)
    import onnxruntime as ort

    from skdistill.benchmarks._common import median_ms, write_record
    from skdistill.classification import KDClassifier
    from skdistill.datasets import load_ltsf
    from skdistill.forecasting import MLPForecaster

    torch.set_num_threads(args.threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    rng = np.random.default_rng(0)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        y = load_ltsf("ETTh1").iloc[:8640]
        forecaster = MLPForecaster(window_length=720, max_epochs=1, random_state=0)
        forecaster.fit(y, fh=range(1, 97))
        values = y.to_numpy().astype(np.float32)
        session = ort.InferenceSession(
            str(forecaster.export_onnx(Path(tmp) / "dmlp.onnx")), options
        )
        for batch in (1, 32):
            starts = rng.integers(0, len(values) - 720, size=batch)
            windows = np.stack([values[s : s + 720] for s in starts])
            torch_ms = median_ms(
                lambda w=windows: forecaster.predict_windows(w), args.repeats, warmup=3
            )
            ort_ms = median_ms(
                lambda w=windows: session.run(None, {"window": w}), args.repeats, warmup=3
            )
            results.append(
                {
                    "model": "DMLP (L=720, H=96, C=7)",
                    "batch": batch,
                    "torch_ms": torch_ms,
                    "onnxruntime_ms": ort_ms,
                }
            )

        images = rng.random((512, 1, 28, 28), dtype=np.float32)
        labels = np.arange(512) % 10
        clf = KDClassifier(student="vit", max_epochs=1, random_state=0).fit(images, labels)
        session = ort.InferenceSession(str(clf.export_onnx(Path(tmp) / "vit.onnx")), options)
        for batch in (1, 32):
            x = images[:batch]
            torch_ms = median_ms(lambda x=x: clf.predict_proba(x), args.repeats, warmup=3)
            ort_ms = median_ms(lambda x=x: session.run(None, {"images": x}), args.repeats, warmup=3)
            results.append(
                {
                    "model": "ViT student (1x28x28, 10 classes)",
                    "batch": batch,
                    "torch_ms": torch_ms,
                    "onnxruntime_ms": ort_ms,
                }
            )

    for r in results:
        print(
            f"{r['model']:<36} batch {r['batch']:>2}: torch {r['torch_ms']:7.2f} ms, "
            f"onnxruntime {r['onnxruntime_ms']:7.2f} ms "
            f"({r['torch_ms'] / r['onnxruntime_ms']:.1f}x)"
        )
    return write_record(
        args.output, "onnx_latency", threads=args.threads, repeats=args.repeats, results=results
    )


if __name__ == "__main__":
    main()
