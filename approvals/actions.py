"""The registry of approvable actions: what each one does (executor) and how a checker sees it (describer)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.models import QuerySet


@dataclass
class Description:
    """How a pending change looks to a checker: field changes, or a count and total for batches."""

    changes: list[tuple[str, object, object]] = field(default_factory=list)
    count: int | None = None
    total: Decimal | None = None
    sample: list[str] = field(default_factory=list)
    summary: str = ""


def _display(value: object) -> str | None:
    return None if value is None else str(value)


def description_as_json(description: Description) -> dict[str, Any]:
    """A description frozen for the record: every value as the text the checker read."""
    return {
        "summary": description.summary,
        "count": description.count,
        "total": _display(description.total),
        "sample": [str(line) for line in description.sample],
        "changes": [
            [str(label), _display(before), _display(after)] for label, before, after in description.changes
        ],
    }


Executor = Callable[..., "dict[str, Any] | None"]
Describer = Callable[..., Description]
CanView = Callable[[Any, Any], bool]
Visible = Callable[[Any], "QuerySet | Iterable[QuerySet]"]
Amount = Callable[..., "Decimal | None"]


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    executor: Executor
    describer: Describer | None = None
    can_view: CanView | None = None
    visible: Visible | None = None
    amount: Amount | None = None
    background: bool = False

    def user_can_view(self, user: Any, target: Any) -> bool:
        """The registering app decides; `visible` answers it when `can_view` is not given."""
        if target is None:
            return True
        if self.can_view is not None:
            return bool(self.can_view(user, target))
        for targets in self.visible_querysets(user):
            if isinstance(target, targets.model):
                return targets.filter(pk=target.pk).exists()
        return True

    def visible_querysets(self, user: Any) -> list[QuerySet]:
        """`visible(user)` as a list: one queryset per model the action's targets can be."""
        if self.visible is None:
            return []
        targets = self.visible(user)
        return [targets] if isinstance(targets, QuerySet) else list(targets)

    def describe(self, *, target: Any, payload: dict[str, Any]) -> Description:
        if self.describer is None:
            return Description(changes=[(key, None, value) for key, value in sorted(payload.items())])
        return self.describer(target=target, payload=payload)


_actions: dict[str, Action] = {}


def action_register(
    name: str,
    *,
    label: str,
    executor: Executor,
    describer: Describer | None = None,
    can_view: CanView | None = None,
    visible: Visible | None = None,
    amount: Amount | None = None,
    background: bool = False,
) -> Action:
    """Register an approvable action; call it from the owning app's AppConfig.ready().

    `visible(user)` (optional) returns the queryset of targets the user may see
    (or a list of them, one per model, when the targets are of several models):
    with it the approval lists are scoped in SQL; prefer it to `can_view` alone. `can_view(user, target)`
    answers for one target; without either, everyone allowed the role sees it.
    Registering the same name again replaces the action (tests, reloads).
    """
    if "." not in name:
        raise ImproperlyConfigured(f"Action name {name!r} must read '<app>.<verb>', e.g. 'registry.update'.")
    if not callable(executor):
        raise ImproperlyConfigured(f"Action {name!r}: executor must be a function.")
    action = Action(
        name=name,
        label=label,
        executor=executor,
        describer=describer,
        can_view=can_view,
        visible=visible,
        amount=amount,
        background=background,
    )
    _actions[name] = action
    return action


def action_unregister(name: str) -> None:
    _actions.pop(name, None)


def action_get(name: str) -> Action:
    try:
        return _actions[name]
    except KeyError:
        raise ValidationError(
            f"No action named {name!r} is registered (known: {', '.join(sorted(_actions)) or 'none'})."
        ) from None


def action_find(name: str) -> Action | None:
    return _actions.get(name)


def actions_registered() -> dict[str, Action]:
    return dict(_actions)


def action_label(name: str) -> str:
    action = _actions.get(name)
    return action.label if action else name
