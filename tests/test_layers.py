"""The package's layers only point down: import-linter's contract in pyproject.toml holds."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from filmgenre.config import project_root


def _lint_imports() -> str:
    found = Path(sys.executable).with_name("lint-imports")
    if found.exists():
        return str(found)
    on_path = shutil.which("lint-imports")
    if on_path is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]' brings it)")
    return on_path


def test_import_contract_holds():
    """A new import cycle, or any import from a lower layer into a higher one, fails here."""
    result = subprocess.run([_lint_imports(), "--no-cache"], cwd=project_root(),
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_contract_lists_every_module_of_the_package():
    """A module left out of the layers would escape the contract: every one is placed."""
    import tomllib

    config = tomllib.loads((project_root() / "pyproject.toml").read_text())
    layers = config["tool"]["importlinter"]["contracts"][0]["layers"]
    placed = {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}
    package = project_root() / "filmgenre"
    modules = {
        "filmgenre." + (p.parent.name if p.name == "__init__.py" else p.stem)
        for p in package.glob("*.py") if p.name != "__init__.py"
    } | {"filmgenre." + p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    assert modules - placed == set(), f"modules outside the layers contract: {modules - placed}"
