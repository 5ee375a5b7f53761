"""The gallery examples are what users copy: they import skdistill's public API only."""

import ast
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))


def _private_imports(source: str) -> list[str]:
    """skdistill modules or names with a component starting with "_" imported by ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
            names = []
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [node.module]
            names = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] != "skdistill":
                continue
            if any(p.startswith("_") for p in parts[1:]):
                found.append(module)
            found += [f"{module}.{n}" for n in names if n.startswith("_")]
    return found


def test_the_check_sees_private_imports():
    source = (
        "from skdistill._evaluation import evaluate_windows\n"
        "import skdistill._fitting\n"
        "from skdistill.classification._base import BaseDistillClassifier\n"
        "from skdistill.metrics import _x\n"
        "from skdistill.metrics import evaluate_windows\n"
        "import numpy._core\n"
    )
    assert _private_imports(source) == [
        "skdistill._evaluation",
        "skdistill._fitting",
        "skdistill.classification._base",
        "skdistill.metrics._x",
    ]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_imports_public_api_only(path):
    assert _private_imports(path.read_text()) == []


def test_the_examples_are_found():
    assert len(EXAMPLES) >= 3
