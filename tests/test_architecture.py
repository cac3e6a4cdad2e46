"""The house by concern: rooms layered as pyproject's import-linter contracts say, no import cycle, no module
over 500 lines, no private name imported from another module; a deliberate violation fails the check."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "xlsx_tool"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
ROOMS = ("analysis", "bridge", "catalog", "cli", "collect", "money", "read", "report", "scoring", "util", "workbook")
MAX_LINES = 500


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    """lint-imports with the project's contracts, on the package found first on the path in `cwd`."""
    if not LINT_IMPORTS.exists():
        pytest.fail(f"lint-imports is not installed beside {sys.executable}: pip install '.[test]'")
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(cwd / "pyproject.toml")], cwd=cwd,
                          env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=300)


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "xlsx_tool", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line, expected", [
    # the catalog (a lower room) reaching up into the command line
    ("catalog/rules.py", "from xlsx_tool.cli.common import fail", "xlsx_tool.catalog is not allowed to import xlsx_tool.cli"),
    # two rooms of one floor that must stay independent
    ("report/html.py", "from xlsx_tool.collect import roster", "xlsx_tool.report is not allowed to import xlsx_tool.collect"),
    # a cycle inside a room
    ("catalog/model.py", "from xlsx_tool.catalog import checks", "No cycles are allowed in xlsx_tool.catalog"),
])
def test_a_deliberate_violation_fails(tmp_path, module, line, expected):
    copy = _copy(tmp_path)
    target = copy / "xlsx_tool" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # deliberate violation\n", encoding="utf-8")
    result = _lint(copy)
    assert result.returncode != 0
    assert expected in " ".join(result.stdout.split()), result.stdout


def test_the_unchanged_copy_passes(tmp_path):
    """The violation tests fail because of the violation, not because the copy cannot be analysed."""
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_room_says_what_it_owns_and_may_import():
    for room in ROOMS:
        doc = ast.get_docstring(ast.parse((PACKAGE / room / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "import" in doc, f"xlsx_tool/{room}/__init__.py: docstring must say what the room may import"
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert flat == ["__init__.py", "__main__.py"], f"modules outside the rooms: {flat}"


def test_no_module_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_private_name_is_imported_across_modules():
    found = []
    for path in _modules() + sorted(ROOT.joinpath("tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("xlsx_tool")):
                found += [f"{path.relative_to(ROOT)}:{node.lineno} {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert not found, found
