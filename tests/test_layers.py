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


def test_every_subpackage_module_is_placed_in_its_own_contract():
    """Inside each subpackage with a layers contract, every module is one of its layers."""
    import tomllib

    config = tomllib.loads((project_root() / "pyproject.toml").read_text())
    for contract in config["tool"]["importlinter"]["contracts"]:
        for container in contract.get("containers", []):
            folder = project_root().joinpath(*container.split("."))
            modules = {p.stem for p in folder.glob("*.py") if p.name != "__init__.py"} | {
                p.name for p in folder.iterdir() if (p / "__init__.py").is_file()}
            placed = {n.strip() for layer in contract["layers"] for n in layer.split("|")}
            assert modules - placed == set(), (container, modules - placed)


def test_the_longest_chain_of_imports_between_top_level_parts_is_short(capsys):
    """The layout keeps the package shallow: counted between its top-level parts (the
    subpackages and the modules beside them), the longest chain of imports is 9 parts,
    ``__main__ -> cli -> library -> predict -> evaluation -> training -> models -> data ->
    runtime`` (it was 15 modules when every module sat side by side in ``filmgenre/``)."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("filmgenre", include_external_packages=False, cache_dir=None)

    def part(module: str) -> str:
        return ".".join(module.split(".")[:2])

    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if part(module) != part(imported) and part(imported) != "filmgenre":
                edges.setdefault(part(module), set()).add(part(imported))
    depth: dict[str, int] = {}

    def longest(name: str, stack: tuple[str, ...] = ()) -> int:
        assert name not in stack, f"a cycle between parts: {stack + (name,)}"
        if name not in depth:
            depth[name] = 1 + max((longest(n, stack + (name,)) for n in edges.get(name, ())),
                                  default=0)  # fmt: skip
        return depth[name]

    deepest = max(longest(part(m)) for m in graph.modules)
    with capsys.disabled():
        print(f"\nlongest import chain between top-level parts: {deepest}")
    assert deepest <= 9
