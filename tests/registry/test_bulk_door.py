"""One door: no code outside `registry/` and `programs/` writes registry or programme tables with raw SQL
(INSERT INTO, UPDATE, DELETE FROM, COPY). Bulk writes go through `registry.bulk` and `programs.bulk`.

The tables are every model's `_meta.db_table` in the two apps (their history tables included). A statement's
target is read as written: a table name, `{Model._meta.db_table}`, `{NAME}` where NAME is assigned in the
file or imported (from the registry or the programmes, or followed into the module it comes from), or a
function's `model._meta.db_table` (and `"COPY {}".format`) through the model classes the file calls that
function (or class) with.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
OWNERS = ("registry", "programs")
SKIPPED = {"tests", "migrations", "bench", ".venv", "node_modules", *OWNERS}
WRITE = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY)\s+(\"?)(\{[^}]*\}|[A-Za-z_][\w.]*)")
MODEL_TABLE = re.compile(r"\b(\w+)\._meta\.db_table")
IMPORT = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+([^()\n]+|\([^)]*\))", re.MULTILINE)


def owned_tables() -> tuple[set[str], set[str]]:
    """The registry's and the programmes' table names, and their models' class names."""
    models = [model for label in OWNERS for model in apps.get_app_config(label).get_models()]
    return {model._meta.db_table for model in models}, {model.__name__ for model in models}


def _imports(text: str) -> dict[str, tuple[str, str]]:
    """Each name a file imports from a module: (module, the name in that module)."""
    names: dict[str, tuple[str, str]] = {}
    for match in IMPORT.finditer(text):
        for part in match.group(2).strip("()").split(","):
            original, _as, alias = part.strip().partition(" as ")
            if original:
                names[(alias or original).strip()] = (match.group(1), original.strip())
    return names


def _module_text(module: str) -> str | None:
    path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
    return path.read_text(encoding="utf-8") if path.exists() else None


def _models_owned(names: list[str], text: str, at: int, model_names: set[str]) -> bool | None:
    """Whether the models named in `X._meta.db_table` are the owners': a class name directly, or a parameter
    (`model._meta.db_table`) through the classes the enclosing function is called with in the file."""
    verdicts = []
    for name in names:
        if name[0].isupper():
            verdicts.append(_imports(text).get(name, ("", name))[1] in model_names)
            continue
        functions = re.findall(r"^\s*def (\w+)\(", text[:at], re.MULTILINE)
        function = functions[-1] if functions else ""
        if function == "__init__":
            classes = re.findall(r"^class (\w+)", text[:at], re.MULTILINE)
            function = classes[-1] if classes else ""
        passed = re.findall(rf"\b{re.escape(function)}\(\s*([A-Z]\w*)", text) if function else []
        verdicts.append(any(model in model_names for model in passed) if passed else None)
    if any(verdicts):
        return True
    return None if None in verdicts else False


def _target_is_owned(
    target: str, text: str, tables: set[str], model_names: set[str], at: int = 0, depth: int = 0
) -> bool | None:
    """True: the target is a registry or programme table; False: another; None: the file cannot tell."""
    target = target.strip('"')
    if not target.startswith("{"):
        return target in tables
    expression = target[1:-1].strip()
    if not expression:  # "COPY {} ...".format(...): the table is the format's first argument
        expression = text[at : at + 300]
    models = MODEL_TABLE.findall(expression)
    if models:
        return _models_owned(models, text, at, model_names)
    if re.fullmatch(r"\w+", expression) and depth < 3:
        module, original = _imports(text).get(expression, ("", ""))
        if module.split(".")[0] in OWNERS:
            return True
        imported_text = _module_text(module) if module else None
        if imported_text is not None:
            return _target_is_owned(
                "{" + original + "}", imported_text, tables, model_names, len(imported_text), depth + 1
            )
        assignments = list(
            re.finditer(rf"^\s*{re.escape(expression)}\s*(?::[^=]*)?=\s*(.+)$", text, re.MULTILINE)
        )
        before = [match for match in assignments if match.start() < at] or assignments
        if before:
            assigned = before[-1]
            value = assigned.group(1).strip()
            found = MODEL_TABLE.findall(value)
            if found:
                return _models_owned(found, text, assigned.start(), model_names)
            literal = re.fullmatch(r"[\"']([\w.]+)[\"']", value)
            if literal:
                return literal.group(1) in tables
            if re.fullmatch(r"\w+", value):
                return _target_is_owned(
                    "{" + value + "}", text, tables, model_names, assigned.start(), depth + 1
                )
    return None


def raw_writes_outside() -> list[str]:
    tables, model_names = owned_tables()
    hits = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in SKIPPED or "migrations" in relative.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for match in WRITE.finditer(text):
            owned = _target_is_owned(match.group(3), text, tables, model_names, match.start())
            if owned:
                line = text.count("\n", 0, match.start()) + 1
                hits.append(f"{relative}:{line}: {match.group(0)}")
    return hits


def test_no_raw_sql_writes_registry_or_programme_tables_outside_their_apps() -> None:
    hits = raw_writes_outside()
    assert not hits, "Raw SQL writing registry or programme tables outside their apps:\n" + "\n".join(hits)


def test_the_grep_sees_the_kinds_of_writes_it_guards_against(tmp_path) -> None:
    """The check itself finds a literal table, a model's table, a named constant and an imported one."""
    tables, model_names = owned_tables()
    text = (
        "from registry.bulk import HOUSEHOLD\n"
        "from uploads.models import StagedRow\n"
        "PEOPLE = Individual._meta.db_table\n"
        "OWN = StagedRow._meta.db_table\n"
    )
    assert _target_is_owned("registry_individual", text, tables, model_names) is True
    assert _target_is_owned("{Beneficiary._meta.db_table}", text, tables, model_names) is True
    assert _target_is_owned("{PEOPLE}", text, tables, model_names) is True
    assert _target_is_owned("{HOUSEHOLD}", text, tables, model_names) is True
    assert _target_is_owned("{OWN}", text, tables, model_names) is False
    assert _target_is_owned("{table}", text, tables, model_names) is None
    assert WRITE.search('f"UPDATE {S} SET x = 1"') and not WRITE.search("rows.update(status=1)")
