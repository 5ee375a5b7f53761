"""The command line a user types: help, version, and the data listing."""

import subprocess
import sys

import skdistill
from skdistill.cli import main


def test_version_comes_from_package_metadata():
    from importlib.metadata import version

    assert skdistill.__version__ == version("skdistill")


def test_help_lists_subcommands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: skdistill" in out and "data" in out


def test_data_lists_bundled_and_shared_datasets(capsys, shared_data, monkeypatch):
    monkeypatch.setenv("SKDISTILL_DATA", str(shared_data))
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "SKDISTILL_DATA" in lines["ETTh1"]
    assert "SKDISTILL_DATA" in lines["Weather"]
    assert "missing" in lines["Traffic"]


def test_data_with_data_home_reports_it(capsys, shared_data):
    assert main(["data", "--data-home", str(shared_data / "ltsf")]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("ETTm1"))
    assert "data_home" in line


def test_python_dash_m_and_version_flag():
    proc = subprocess.run(
        [sys.executable, "-m", "skdistill", "--version"], capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == f"skdistill {skdistill.__version__}"
    proc = subprocess.run(
        [sys.executable, "-m", "skdistill", "--help"], capture_output=True, text=True, check=True
    )
    assert "data" in proc.stdout


def test_unknown_subcommand_exits_with_usage_error():
    proc = subprocess.run(
        [sys.executable, "-m", "skdistill", "nope"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_top_level_lazy_imports():
    from skdistill import DistilledMLPForecaster, SFKDClassifier

    assert DistilledMLPForecaster.__module__.startswith("skdistill.forecasting")
    assert SFKDClassifier.__module__.startswith("skdistill.classification")
    assert set(skdistill.__all__) <= set(dir(skdistill))
    for name in skdistill.__all__:
        assert getattr(skdistill, name) is not None
