"""The shape of the code (docs/architecture.md): small modules and functions, the layers contract, no cycles.

Each check names what broke it, so the fix is obvious: split the module, split the function, or move the
import to where the layers allow it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "zhengwu"
REPO = SRC.parents[1]
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 120


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "bundled" not in p.parts)


def test_no_module_is_longer_than_500_lines():
    long = {str(p.relative_to(SRC)): n for p in _modules() if (n := p.read_text(encoding="utf-8").count("\n")) > MAX_MODULE_LINES}
    assert not long, f"split these modules: {long}"


def test_no_function_is_longer_than_120_lines():
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(SRC)}:{node.lineno} {node.name}"] = length
    assert not long, f"split these functions: {long}"


def test_the_data_path_reads_as_the_folder_order():
    """Document → Chunk → Index → Retriever → Answer → Channel, one package per stage."""
    for package in ("documents", "index", "retrieval", "answering", "channels", "web", "cli"):
        assert (SRC / package / "__init__.py").is_file(), package
    assert (SRC / "index" / "chunking.py").is_file() and (SRC / "bootstrap.py").is_file()


def test_import_contracts_are_kept(monkeypatch):
    """Layers, protected packages and the absence of cycles, as ``lint-imports`` checks them (pyproject.toml)."""
    cli = pytest.importorskip("importlinter.cli")
    monkeypatch.chdir(REPO)
    assert cli.lint_imports(no_cache=True) == 0, "run `lint-imports` for the broken contract"
