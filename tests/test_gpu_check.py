"""benchmarks/gpu_check.py: the CPU dry run everywhere, the real check where CUDA is."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def _script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_record(path: Path, device: str) -> dict:
    record = json.loads(path.read_text())
    assert record["benchmark"] == "gpu_check" and record["device"] == device
    for key in ("settings", "fits", "cpu_reference", "checks", "passed", "wall_s", "machine"):
        assert key in record, key
    for name in ("teacher 32", "student 32", "teacher bf16", "student bf16"):
        fit = record["fits"][name]
        for key in (
            "epoch_s",
            "first_epoch_s",
            "median_epoch_s",
            "infer_s_device",
            "infer_s_cpu",
            "cpu_max_abs_diff",
            "test_mse",
        ):
            assert key in fit, (name, key)
        assert fit["cpu_device"] == "cpu"
    assert record["passed"] and all(record["checks"].values()), record["checks"]
    return record


@pytest.mark.slow
def test_dry_run_on_cpu(tmp_path):
    out = tmp_path / "gpu_check.json"
    assert _script().main(["--device", "cpu", "--output", str(out)]) == 0
    record = _check_record(out, "cpu")
    assert record["dry_run"] and record["settings"]["window_length"] == 96
    assert record["checks"]["16-mixed refused on the CPU"]
    assert len(record["fits"]["student bf16"]["epoch_s"]) == 1


def test_missing_device_is_exit_code_2(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA is here")
    assert _script().main(["--device", "cuda", "--output", str(tmp_path / "x.json")]) == 2
    assert not (tmp_path / "x.json").exists()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_real_check_on_cuda(tmp_path):
    out = tmp_path / "gpu_check.json"
    assert _script().main(["--device", "cuda", "--output", str(out)]) == 0
    record = _check_record(out, "cuda")
    assert not record["dry_run"]
    assert {"student 16-mixed", "student compile"} <= set(record["fits"])
    assert set(record["cpu_reference"]) == {"teacher 32", "student 32"}
