"""Set-up files agree: pyproject vs environment.yml, README's two commands, CI script."""

from __future__ import annotations

import re

import tomllib
import yaml

from filmgenre.config import project_root

ROOT = project_root()


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    pip_section = next(d["pip"] for d in env if isinstance(d, dict) and "pip" in d)
    assert sorted(pip_section) == sorted(project), (
        "environment.yml and pyproject.toml have drifted apart: "
        f"only in pyproject {sorted(set(project) - set(pip_section))}, "
        f"only in environment.yml {sorted(set(pip_section) - set(project))}"
    )
    python = next(d for d in env if isinstance(d, str) and d.startswith("python"))
    assert python.startswith("python=3.")


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, flags=re.S)
    first = [line.strip() for line in blocks[0].splitlines() if line.strip()]
    assert first == ["make pipeline", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
