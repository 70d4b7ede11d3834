"""The layout keeps its promises: `lint-imports` (pyproject.toml) holds the arrows between
modules; this file checks what it cannot — that no module reaches for another's private names.

A `_name` is private to its module. If a second module needs it, it becomes public there; so
`from annotations.x import _y`, or `x._y` on an imported first-party module, is a finding.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("annotations", "reader", "tests")


def _python_files(*folders: str) -> list[Path]:
    return sorted(
        path
        for folder in folders
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts
    )


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_reaches(path: Path) -> list[str]:
    """Each place in `path` that imports or uses a first-party module's private name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    found = []
    modules = set()  # local names bound to first-party modules
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(FIRST_PARTY):
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{where}:{node.lineno} imports {alias.name}")
                elif (ROOT / node.module.replace(".", "/") / f"{alias.name}.py").exists():
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(FIRST_PARTY):
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            found.append(f"{where}:{node.lineno} uses {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize(
    "path", _python_files("annotations", "reader"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_app_code_uses_no_other_modules_private_names(path):
    assert private_reaches(path) == []


def test_tests_import_no_private_names():
    """Tests may poke at a module's internals through the module (monkeypatch), but a private
    name imported by name is a promise the module never made."""
    imports = [
        reach
        for path in _python_files("tests")
        for reach in private_reaches(path)
        if " imports " in reach
    ]
    assert imports == []


def test_the_check_finds_what_it_looks_for(tmp_path):
    """A check that cannot fail proves nothing: it must see both kinds of reach."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from annotations.notes.services import _hidden\n"
        "from annotations import policy\n"
        "policy._authenticated(None)\n"
    )
    found = private_reaches(sample)
    assert len(found) == 2
    assert "imports _hidden" in found[0]
    assert "uses policy._authenticated" in found[1]
