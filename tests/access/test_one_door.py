"""One door for access, one direction for dependencies, read off the source.

Outside `access/`, no module writes its own role or scope check (a superuser test, a read of the user's
groups, an object permission, the profile's locations, a hand-made subtree filter, a function named like
an access function); no module re-exports access names; no module looks a model up by name
(`apps.get_model`) to dodge the layers. Modules that other branches are rewriting are listed in PENDING
with the access function to use; an entry that no longer finds anything fails, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("access", "files", "jobs", "approvals", "registry", "programs", "payments", "uploads", "intake",
        "grievances",
        "reports", "portal", "fixtures")  # fmt: skip

# path prefix -> what it still does by hand and what replaces it (files outside the access change).
PENDING: dict[str, str] = {}
# The registry hands `access` the profile's locations (`access.hooks`): the one place that reads them.
PROVIDERS = {"registry/selectors.py": "location_paths_of"}


def source_files(*, with_tests: bool = False) -> Iterator[tuple[str, ast.Module]]:
    folders = [*APPS, "tests"] if with_tests else APPS
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative:
                yield relative, ast.parse(path.read_text(), filename=relative)


def access_function_names() -> set[str]:
    names = set()
    for path in (ROOT / "access").glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                names.add(node.name)
    return names


def _is_groups_read(node: ast.AST) -> bool:
    """`<user>.groups.<method>` (a read of the user's roles), e.g. `user.groups.filter(name=...)`."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "groups"
        and node.attr in {"filter", "values", "values_list", "exists", "all"}
    )


def _enclosing_functions(tree: ast.Module) -> dict[ast.AST, str]:
    owner: dict[ast.AST, str] = {}
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                owner.setdefault(node, function.name)
    return owner


def access_checks_by_hand(relative: str, tree: ast.Module, names: set[str]) -> list[str]:
    found = []
    owner = _enclosing_functions(tree)
    for node in ast.walk(tree):
        where = f"{relative}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.FunctionDef) and node.name in names:
            found.append(f"{where} defines {node.name}(), an access function")
        elif (
            isinstance(node, ast.Attribute) and node.attr == "is_superuser" and isinstance(node.ctx, ast.Load)
        ):
            found.append(f"{where} tests is_superuser")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "has_perm" and len(node.args) >= 2:
                found.append(f"{where} checks an object permission")
            elif name == "get_objects_for_user":
                found.append(f"{where} reads object permissions")
            elif _is_groups_read(func) and func.attr != "all":
                found.append(f"{where} reads the user's groups")
            for keyword in node.keywords:
                if (
                    keyword.arg
                    and keyword.arg.endswith("__in")
                    and _is_groups_read(getattr(keyword.value, "func", None))
                ):
                    found.append(f"{where} filters on the user's groups")
                if keyword.arg and keyword.arg.startswith("user_profiles__"):
                    if PROVIDERS.get(relative) != owner.get(node):
                        found.append(f"{where} reads the profile's locations")
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.BitOr):
            value = node.value
            if isinstance(value, ast.Call) and any(
                (k.arg or "").endswith("path__startswith") for k in value.keywords
            ):
                found.append(f"{where} builds a subtree filter by hand")
    return found


def test_no_module_outside_access_checks_roles_or_scope_by_hand() -> None:
    names = access_function_names()
    assert {"user_in_roles", "user_location_paths", "location_scope_q", "plan_list"} <= names
    found = [
        line
        for relative, tree in source_files()
        if not relative.startswith("access/")
        for line in access_checks_by_hand(relative, tree, names)
    ]
    new = [line for line in found if not line.startswith(tuple(PENDING))]
    assert not new, "ask access/ instead:\n" + "\n".join(new)
    stale = [prefix for prefix in PENDING if not any(line.startswith(prefix) for line in found)]
    assert not stale, f"nothing pending any more in {stale}: remove them from PENDING"


def test_the_check_finds_each_kind_of_hand_made_check() -> None:
    source = """
def plan_list(user): ...
def may(user, plan):
    if user.is_superuser or user.groups.filter(name="Administrator").exists():
        return user.has_perm("programs.manage_beneficiaries", plan)
    tasks = Task.objects.filter(current_role__in=user.groups.all())
    mine = Location.objects.filter(user_profiles__user=user)
    inside = Q(pk__in=[])
    for path in paths:
        inside |= Q(location__path__startswith=path)
    return get_objects_for_user(user, "x")
"""
    found = access_checks_by_hand("x.py", ast.parse(source), access_function_names())
    kinds = {line.split(" ", 1)[1] for line in found}
    assert kinds == {
        "defines plan_list(), an access function",
        "tests is_superuser",
        "reads the user's groups",
        "checks an object permission",
        "filters on the user's groups",
        "reads the profile's locations",
        "builds a subtree filter by hand",
        "reads object permissions",
    }


def _access_imports(tree: ast.Module) -> dict[str, int]:
    return {
        alias.asname or alias.name: node.lineno
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "access"
        for alias in node.names
    }


def _used_names(tree: ast.Module) -> set[str]:
    used = {
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    return used | {node.value.id for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                   and isinstance(node.value, ast.Name)}  # fmt: skip


def _transitional(tree: ast.Module) -> set[str]:
    """The names a module lists in `TRANSITIONAL = (...)`: old homes kept for callers outside this change."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "TRANSITIONAL" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def test_no_module_re_exports_access_names() -> None:
    """A name imported from access is used where it is imported; the few old homes kept for modules
    outside this change list theirs in TRANSITIONAL, and each must still have such a caller."""
    re_exported, callers_needed = [], {}
    for relative, tree in source_files():
        if relative.startswith("access/"):
            continue
        unused = {name for name in _access_imports(tree) if name not in _used_names(tree)}
        transitional = _transitional(tree)
        re_exported += [f"{relative}: {name}" for name in sorted(unused - transitional)]
        if transitional:
            callers_needed[relative.removesuffix(".py").replace("/", ".")] = transitional
    assert not re_exported, "import these from access, not through another module:\n" + "\n".join(re_exported)
    still_called: dict[str, set[str]] = {module: set() for module in callers_needed}
    for _relative, tree in source_files(with_tests=True):
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in callers_needed:
                still_called[node.module] |= {alias.name for alias in node.names} & callers_needed[
                    node.module
                ]
    unneeded = {module: sorted(callers_needed[module] - names) for module, names in still_called.items()}
    assert not any(unneeded.values()), f"no caller left: delete these re-exports {unneeded}"


def test_no_model_is_looked_up_by_name_outside_migrations() -> None:
    """`apps.get_model("other", "Model")` dodges the layers: a lower app offers a hook instead."""
    found = [
        f"{relative}:{node.lineno}"
        for relative, tree in source_files(with_tests=True)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get_model"
    ]
    assert not found, found
