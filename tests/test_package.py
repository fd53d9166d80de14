"""The package's own shape: modules split by job, and one owner for each resource."""

from __future__ import annotations

import ast
import re

from filmgenre.config import project_root

PACKAGE = project_root() / "filmgenre"
#: the keyword that opens an SQL statement (upper case, as the package writes SQL), then more
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA|BEGIN)\s")
#: the one module that talks to the index's database
SQL_OWNER = "library/store.py"


def test_every_module_is_under_500_lines():
    """Modules split by job: none reaches 500 lines (the synthetic generator, one job of many
    small motifs, aside)."""
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) >= 500}  # fmt: skip
    assert set(long) <= {"data/synth.py"}, long


def sql_in(source: str) -> list[str]:
    """SQL a module writes: calls of execute/executemany/executescript, and strings that
    read as a statement (an f-string's literal parts included)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("execute", "executemany", "executescript")):
            found.append(f"line {node.lineno}: .{node.func.attr}(...)")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and SQL.match(node.value)):
            found.append(f"line {node.lineno}: {node.value[:50]!r}")
    return found


def test_the_scanner_finds_sql_where_it_is_written():
    # the check below passes only because nothing is found: show that it finds what it seeks
    assert sql_in('con.execute("SELECT id FROM tracks")')
    assert sql_in('rows = f"DELETE FROM blobs WHERE name = {x}"')
    assert sql_in('c.executemany(q, rows)')
    assert not sql_in('print("select a model, then update the index")')
    assert not sql_in('papermill.execute_notebook(path)')


def test_all_sql_lives_in_the_store():
    """One owner of the database: every statement is in library/store.py."""
    elsewhere = {}
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE).as_posix()
        if name != SQL_OWNER and (found := sql_in(path.read_text())):
            elsewhere[name] = found
    assert not elsewhere, f"SQL outside {SQL_OWNER}: {elsewhere}"
    assert sql_in((PACKAGE / SQL_OWNER).read_text())  # and the owner is where it is


def reexported(source: str) -> list[str]:
    """Names a package's ``__init__`` hands on without using them itself (imported to be
    exposed), and ``__all__`` or a module ``__getattr__`` (lazy re-exports)."""
    tree = ast.parse(source)
    imported = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                imported[alias.asname or alias.name] = node.lineno
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    found = [f"{name} (line {line})" for name, line in imported.items() if name not in used]
    found += [f"{n.name}" for n in tree.body if isinstance(n, ast.FunctionDef)
              and n.name == "__getattr__"]  # fmt: skip
    found += ["__all__" for n in tree.body if isinstance(n, ast.Assign)
              and any(getattr(t, "id", "") == "__all__" for t in n.targets)]  # fmt: skip
    return found


def test_the_scanner_finds_a_reexport():
    assert reexported("from .loop import train_model\n") == ["train_model (line 1)"]
    assert reexported("def __getattr__(name):\n    pass\n") == ["__getattr__"]
    assert not reexported("from . import store\n\ndef f():\n    return store.connect\n")


def test_no_package_reexports_its_modules_names():
    """One way to reach a public name: import the module that defines it (a package's
    ``__init__`` says what its modules are and hands nothing on)."""
    found = {str(p.relative_to(PACKAGE)): names for p in PACKAGE.rglob("__init__.py")
             if (names := reexported(p.read_text()))}  # fmt: skip
    assert not found, found
