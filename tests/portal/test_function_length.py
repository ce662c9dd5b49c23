"""Files by concern: no function of the apps runs past 80 lines unless a comment inside it says why
(`# Long on purpose: ...`), so a long function is a decision someone wrote down, not an accident."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("access", "files", "jobs", "approvals", "registry", "programs", "payments", "uploads", "grievances")
APPS += ("reports", "portal", "fixtures")
LIMIT = 80
MARK = "# Long on purpose:"


def long_functions(source: str) -> list[tuple[str, int, int]]:
    """(name, first line, length) of each function longer than LIMIT lines without the comment."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            body = "\n".join(lines[node.lineno - 1 : node.end_lineno])
            if length > LIMIT and MARK not in body:
                found.append((node.name, node.lineno, length))
    return found


def test_no_long_function_without_a_reason() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} {name}() is {length} lines"
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        for name, line, length in long_functions(path.read_text())
    ]
    assert not found, "split these, or say why inside them with '# Long on purpose: ...':\n" + "\n".join(
        found
    )


def test_the_check_finds_a_long_function_and_accepts_a_reason() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(LIMIT))
    long = f"def f():\n{body}"
    assert long_functions(long) == [("f", 1, LIMIT + 1)]
    assert long_functions(f"def f():\n    {MARK} a reason.\n{body}") == []
    assert long_functions("def g():\n    return 1\n") == []
