"""The apps' dependencies point one way: import-linter's contracts (.importlinter) hold."""

from __future__ import annotations

import ast
import configparser
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lint_imports(config: Path) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(executable), "--config", str(config), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_layer_and_fixture_contracts_are_kept():
    result = _lint_imports(ROOT / ".importlinter")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_layer_contract(tmp_path):
    """The contract really fails on a wrong arrow: the registry importing the programmes app."""
    config = (ROOT / ".importlinter").read_text()
    config = config.replace(
        "    registry\n    approvals | notifications\n", "    approvals | notifications\n    registry\n", 1
    )
    broken = tmp_path / "importlinter.ini"
    broken.write_text(config)  # approvals above registry: approvals' imports of nothing break nothing,
    # but registry importing approvals (it does, for maker-checker) now points up
    result = _lint_imports(broken)
    assert result.returncode != 0
    assert "registry" in result.stdout and "approvals" in result.stdout


def _layers(config: configparser.ConfigParser) -> list[list[str]]:
    """The layers contract, top first; each layer's apps (independent siblings are split by "|")."""
    lines = config["importlinter:contract:layers"]["layers"].split("\n")
    return [[app.strip() for app in line.replace(":", "|").split("|")] for line in lines if line.strip()]


def _may_import_by_contract() -> dict[str, set[str]]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    roots = set(config["importlinter"]["root_packages"].split())
    layers = _layers(config)
    allowed = {}
    for index, layer in enumerate(layers):
        below = {app for lower in layers[index + 1 :] for app in lower}
        for app in layer:
            allowed[app] = below
    for app in roots - set(allowed):  # outside the layers (the demo fixtures): anything, none imports it
        allowed[app] = roots - {app}
    assert set(allowed) == roots
    return allowed


def _may_import_by_docstring(app: str) -> set[str]:
    docstring = ast.get_docstring(ast.parse((ROOT / app / "__init__.py").read_text())) or ""
    match = re.search(r"^May import: (.+?)\.?$(?:\n\n|\Z)", docstring, flags=re.MULTILINE | re.DOTALL)
    assert match, f"{app}/__init__.py: its docstring says what the app owns and ends 'May import: ...'"
    names = {name.strip() for name in " ".join(match.group(1).split()).split(",")}
    return set() if names == {"none"} else names


def test_each_app_docstring_says_whom_it_may_import_as_the_contract_does():
    """The documentation and the contract cannot drift: `May import:` of each app's __init__.py is exactly
    the apps below it in `.importlinter`'s layers."""
    drift = {}
    for app, allowed in _may_import_by_contract().items():
        documented = _may_import_by_docstring(app)
        if documented != allowed:
            drift[app] = {"documented": sorted(documented), "contract": sorted(allowed)}
    assert not drift, drift


def test_the_readme_table_says_whom_each_app_may_import_as_the_contract_does():
    section = (ROOT / "README.md").read_text().split("## Where things live", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)/` \|.*\| ([^|]*) \|$", section, flags=re.MULTILINE))
    documented = {app: set() if text == "nothing" else set(text.split(", ")) for app, text in rows.items()}
    contract = _may_import_by_contract()
    assert {app: documented.get(app) for app in contract} == contract
