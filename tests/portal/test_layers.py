"""The apps' dependencies point one way: import-linter's contracts (.importlinter) hold."""

from __future__ import annotations

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
    config = config.replace("    registry\n    approvals\n", "    approvals\n    registry\n", 1)
    broken = tmp_path / "importlinter.ini"
    broken.write_text(config)  # approvals above registry: approvals' imports of nothing break nothing,
    # but registry importing approvals (it does, for maker-checker) now points up
    result = _lint_imports(broken)
    assert result.returncode != 0
    assert "registry" in result.stdout and "approvals" in result.stdout
