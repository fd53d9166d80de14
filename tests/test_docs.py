"""The README stays short and its links, and those of docs/, lead somewhere; docs/cli.md is
the parser's own help; every command the README shows is one the project has."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from filmgenre.config import project_root

ROOT = project_root()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings."""
    out = set()
    for line in page.read_text().splitlines():
        if line.startswith("#"):
            text = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return out


def test_the_readme_is_short_and_points_to_every_page_of_docs():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    for name in ("method", "results", "library", "data", "cli", "benchmarks"):
        assert (ROOT / "docs" / f"{name}.md").is_file(), name
        assert f"(docs/{name}.md)" in readme, name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not ours to check offline
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: {target} does not exist"
        if anchor and file.suffix == ".md":
            assert anchor in _anchors(file), f"{page.name}: no heading #{anchor} in {file.name}"


def test_the_cli_page_is_the_parsers_own_help():
    from filmgenre.cli.reference import markdown

    assert (ROOT / "docs" / "cli.md").read_text() == markdown(), (
        "docs/cli.md is out of date: python -m filmgenre.cli.reference > docs/cli.md")


def _commands(text: str) -> list[str]:
    """The commands of a page's bash blocks (continuation lines joined, comments dropped)."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def test_every_readme_command_is_a_command_of_the_project():
    """`make X` is a Makefile target; `filmgenre ...` parses with the real parser (the
    commands' runs are in the tests: the pipeline profiles, tag, index, search, serve)."""
    from filmgenre.cli import build_parser

    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.M))
    commands = _commands((ROOT / "README.md").read_text())
    assert commands
    for command in commands:
        words = shlex.split(command)
        if words[0] == "make":
            assert words[1] in targets, command
        else:
            assert words[0].endswith("filmgenre"), command
            build_parser().parse_args(words[1:])  # exits (fails the test) on a wrong option
