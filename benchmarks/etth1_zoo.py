"""TimeDistill's teacher and student zoo on ETTh1 (look-back 720, horizon 96), plus the
efficiency comparison at Electricity's shape.

Steps (each writes ``<output-dir>/<step>.json`` and is skipped when that file exists, so an
interrupted run resumes; fitted teachers are kept next to them as weights, rebuilt from this
package's code and reused, never unpickled):

``teachers``
    For every teacher: fit it, fit the DMLP distilled from it (alpha = beta = 2, the spec's
    ETTh1 weights for ModernTCN and iTransformer, used for all four), and report test MSE / MAE,
    parameters and the latency of one batch of 32 windows. The plain MLP is the baseline.
``students``
    TSMixer and LightTS students, each trained alone (alpha = beta = 0) and distilled from the
    iTransformer teacher.
``ensemble``
    One DMLP distilled from two teachers at once (``--ensemble``, equal weights).
``latency``
    Batch-32 latency of every fitted teacher and of the DMLP, interleaved in one pass (the
    ratios that count: ``teachers`` times each model on its own).
``efficiency``
    Untrained networks at Electricity's shape (321 channels, L=720, H=96) in the reference
    scripts' Electricity configurations: parameters and batch-32 latency of every teacher
    against the DMLP student. Parameter counts and forward cost do not depend on the weights,
    and this is the setting of the paper's efficiency figure (ModernTCN: 132.1 M parameters).

The teachers' reference schedules (up to 100 epochs) take hours on a 2-core CPU; by default
the script trains them under the CPU budget in ``_CPU_BUDGET`` (fewer epochs, a larger learning
rate where the reference one is too slow to move in that many steps). ``--reference-schedule``
uses the estimators' own defaults instead.

    python benchmarks/etth1_zoo.py --output-dir benchmarks_output/zoo
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from skdistill._evaluation import evaluate_windows, latency_ms
from skdistill.benchmarks._artifacts import artifact_paths, load_or_fit_forecaster
from skdistill.benchmarks._common import first_windows, machine, median_ms, versions
from skdistill.benchmarks._engine import run_cells
from skdistill.benchmarks._registry import TEACHERS, teacher_class
from skdistill.datasets import load_ltsf, ltsf_split
from skdistill.forecasting import DistilledMLPForecaster, MLPForecaster
from skdistill.nn.forecasting import DMLP, ITransformer, ModernTCN, PatchTST, TimeMixer

_STEPS = ("teachers", "students", "ensemble", "latency", "efficiency")
# Per-teacher overrides for a 2-core CPU (see the module docstring). Estimated epoch cost at
# L=720 on 2 cores: PatchTST ~100 s, ModernTCN ~480 s, TimeMixer ~150 s, iTransformer ~4 s.
_CPU_BUDGET = {
    "itransformer": {},
    "patchtst": {"max_epochs": 6, "lr": 1e-3},
    "moderntcn": {"max_epochs": 2, "batch_size": 128, "lr": 5e-4},
    "timemixer": {"max_epochs": 3},
}
# The reference scripts' Electricity configurations (321 channels).
_ELECTRICITY = {
    "iTransformer": (ITransformer, {"d_model": 512, "n_heads": 8, "e_layers": 3, "d_ff": 512}),
    "PatchTST": (PatchTST, {"d_model": 128, "n_heads": 16, "e_layers": 3, "d_ff": 256}),
    "TimeMixer": (TimeMixer, {"d_model": 16, "d_ff": 32, "e_layers": 3, "down_sampling_layers": 3}),
    "ModernTCN": (
        ModernTCN,
        {"dims": 64, "large_size": 51, "small_size": 5, "ffn_ratio": 8, "n_blocks": 1},
    ),
}


class _Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = Path(args.output_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        L, H = args.window_length, args.horizon
        df = load_ltsf("ETTh1")
        self.values = df.to_numpy()
        train, val, self.test = ltsf_split("ETTh1", len(df), L)
        self.y = df.iloc[: val.stop]
        self.fh = range(1, H + 1)
        self.common = dict(
            window_length=L,
            validation_size=val.stop - train.stop,
            random_state=args.seed,
            verbose=1,
        )
        self.mean = self.values[train].mean(axis=0)
        self.scale = self.values[train].std(axis=0)
        self.contexts = first_windows(self.values, self.test.start, L)

    def row(self, name: str, model, fit_s: float, **extra) -> dict:
        metrics = evaluate_windows(
            model,
            self.values,
            self.test,
            model.scaler_mean_,
            model.scaler_scale_,
            self.args.horizon,
        )
        lat = latency_ms(model, self.contexts, repeats=self.args.repeats, warmup=2)
        r = {
            "model": name,
            "params": model.n_parameters(),
            "mse": metrics["mse"],
            "mae": metrics["mae"],
            "n_windows": metrics["n_windows"],
            "latency_ms": lat["ms"],
            "epochs": len(model.history_),
            "fit_s": fit_s,
            **extra,
        }
        print(
            f"{name:<34}{r['params']:>12,}{r['mse']:>9.4f}{r['mae']:>9.4f}"
            f"{r['latency_ms']:>10.2f} ms{r['epochs']:>5} ep{fit_s:>8.0f} s",
            flush=True,
        )
        return r

    def teacher(self, key: str):
        """``(fitted teacher, fit seconds)``, fitted once and kept as weights next to the records."""
        kw = {} if self.args.reference_schedule else _CPU_BUDGET[key]
        params = {**self.common, **kw}
        return load_or_fit_forecaster(
            self.out / f"teacher_{key}", teacher_class(key), params, self.y, self.fh, print
        )

    def distil(self, teacher, **kw):
        t0 = time.perf_counter()
        model = DistilledMLPForecaster(
            teacher, teacher_cache_mb=self.args.teacher_cache_mb, **self.common, **kw
        ).fit(self.y, fh=self.fh)
        return model, time.perf_counter() - t0

    # --- steps ---------------------------------------------------------------------------
    def step_teachers(self) -> dict:
        t0 = time.perf_counter()
        mlp = MLPForecaster(**self.common).fit(self.y, fh=self.fh)
        rows = [self.row("MLP alone", mlp, time.perf_counter() - t0, teacher=None)]
        for key in self.args.teachers:
            teacher, fit_s = self.teacher(key)
            t = self.row(
                f"{key} (teacher)",
                teacher,
                fit_s,
                teacher=key,
                role="teacher",
                settings={k: teacher.get_params()[k] for k in ("max_epochs", "batch_size", "lr")},
            )
            student, fit_s = self.distil(teacher, alpha=self.args.alpha, beta=self.args.beta)
            s = self.row(
                f"DMLP distilled from {key}",
                student,
                fit_s,
                teacher=key,
                role="student",
                teacher_cached=bool(student.teacher_cached_),
            )
            s["speedup"] = t["latency_ms"] / s["latency_ms"]
            s["param_ratio"] = t["params"] / s["params"]
            print(
                f"  -> speed-up {s['speedup']:.1f}x, parameter ratio {s['param_ratio']:.1f}x",
                flush=True,
            )
            rows += [t, s]
        return {"rows": rows}

    def step_students(self) -> dict:
        teacher, _ = self.teacher(self.args.student_teacher)
        rows = []
        for student in ("tsmixer", "lightts"):
            for label, a, b in (
                ("alone", 0.0, 0.0),
                ("distilled", self.args.alpha, self.args.beta),
            ):
                model, fit_s = self.distil(teacher, alpha=a, beta=b, student=student)
                rows.append(
                    self.row(
                        f"{student} {label}",
                        model,
                        fit_s,
                        student=student,
                        alpha=a,
                        beta=b,
                        teacher=self.args.student_teacher,
                    )
                )
        return {"rows": rows}

    def step_ensemble(self) -> dict:
        teachers = [self.teacher(k)[0] for k in self.args.ensemble]
        model, fit_s = self.distil(teachers, alpha=self.args.alpha, beta=self.args.beta)
        name = "DMLP distilled from " + " + ".join(self.args.ensemble)
        return {"rows": [self.row(name, model, fit_s, teachers=self.args.ensemble)]}

    def step_latency(self) -> dict:
        """Batch-32 latency of every fitted teacher against the DMLP, interleaved in one pass.

        The student's inference module is a DMLP whatever it was distilled from, and its cost
        does not depend on the weights, so one DMLP stands for all of them. Alternating the two
        keeps a background load from favouring either side.
        """
        L, H = self.args.window_length, self.args.horizon
        mean, scale = self.mean, self.scale
        x = torch.as_tensor((self.contexts - mean) / scale, dtype=torch.float32)
        torch.manual_seed(0)
        student = DMLP(L, H, x.shape[-1]).eval()
        rows = []
        for key in self.args.teachers:
            if not artifact_paths(self.out / f"teacher_{key}")[0].exists():
                continue
            teacher = self.teacher(key)[0]._student_module().eval()
            times: dict[str, list[float]] = {"teacher": [], "student": []}
            with torch.no_grad():
                for i in range(2 + self.args.repeats):
                    for name, module in (("teacher", teacher), ("student", student)):
                        t0 = time.perf_counter()
                        module(x)
                        if i >= 2:
                            times[name].append((time.perf_counter() - t0) * 1e3)
            t_ms, s_ms = (statistics.median(times[k]) for k in ("teacher", "student"))
            t_params = sum(p.numel() for p in teacher.parameters())
            s_params = sum(p.numel() for p in student.parameters())
            rows.append(
                {
                    "teacher": key,
                    "teacher_ms": t_ms,
                    "student_ms": s_ms,
                    "speedup": t_ms / s_ms,
                    "teacher_params": t_params,
                    "student_params": s_params,
                    "param_ratio": t_params / s_params,
                }
            )
            print(
                f"{key:<14}{t_params:>12,}{t_ms:>10.2f} ms  DMLP {s_ms:6.2f} ms  "
                f"speed-up {t_ms / s_ms:5.1f}x  parameter ratio {t_params / s_params:5.1f}x",
                flush=True,
            )
        return {"rows": rows, "batch": 32}

    def step_efficiency(self) -> dict:
        L, H, C = self.args.window_length, self.args.horizon, 321
        x = torch.randn(32, L, C)

        def measure(module: torch.nn.Module) -> tuple[int, float]:
            module.eval()
            with torch.no_grad():
                ms = median_ms(lambda: module(x), self.args.repeats_heavy, warmup=1)
            return sum(p.numel() for p in module.parameters()), ms

        torch.manual_seed(0)
        s_params, s_ms = measure(DMLP(L, H, C))
        print(f"{'DMLP student':<14}{s_params:>14,}{s_ms:>12.1f} ms", flush=True)
        rows = [{"model": "DMLP", "params": s_params, "latency_ms": s_ms}]
        for name, (cls, kw) in _ELECTRICITY.items():
            params, ms = measure(cls(L, H, C, **kw))
            rows.append(
                {
                    "model": name,
                    "config": kw,
                    "params": params,
                    "latency_ms": ms,
                    "speedup": ms / s_ms,
                    "param_ratio": params / s_params,
                }
            )
            print(
                f"{name:<14}{params:>14,}{ms:>12.1f} ms  speed-up {ms / s_ms:5.1f}x  "
                f"parameter ratio {params / s_params:6.1f}x",
                flush=True,
            )
        return {"rows": rows, "shape": {"batch": 32, "L": L, "H": H, "C": C}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", nargs="+", default=list(_STEPS), choices=_STEPS)
    parser.add_argument("--teachers", nargs="+", default=list(TEACHERS), choices=TEACHERS)
    parser.add_argument("--student-teacher", default="itransformer", choices=TEACHERS)
    parser.add_argument(
        "--ensemble", nargs=2, default=["itransformer", "patchtst"], choices=TEACHERS
    )
    parser.add_argument("--window-length", type=int, default=720)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--alpha", type=float, default=2.0)
    parser.add_argument("--beta", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=30, help="latency repeats (ETTh1)")
    parser.add_argument(
        "--repeats-heavy", type=int, default=3, help="latency repeats at Electricity's shape"
    )
    parser.add_argument("--teacher-cache-mb", type=float, default=4096)
    parser.add_argument("--reference-schedule", action="store_true")
    parser.add_argument("--force", action="store_true", help="rerun steps that have a record")
    parser.add_argument("--output-dir", default="benchmarks_output/zoo")
    args = parser.parse_args()

    bench = _Bench(args)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    if args.force:
        for step in args.steps:
            (bench.out / f"{step}.json").unlink(missing_ok=True)

    def compute(step: str) -> dict:
        print(f"\n[{step}]", flush=True)
        record = getattr(bench, f"step_{step}")()
        record.update(settings=vars(args), versions=versions(), machine=machine())
        return record

    # One resumable record per step, <output-dir>/<step>.json, as the benchmark suites keep
    # one per cell.
    run_cells(
        args.steps,
        bench.out,
        str,
        str,
        compute,
        lambda rec: f"done in {rec['wall_s']:.0f} s",
        print,
    )


if __name__ == "__main__":
    main()
