"""Permissions from grants in force only: a role or a plan scope outside its grant's dates gives none."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import QuerySet
from guardian.backends import ObjectPermissionBackend

from access.hooks import provided_if_any
from access.plans import plan_ids_out_of_force
from access.roles import user_role_ids


class RoleGrantModelBackend(ModelBackend):
    """ModelBackend whose group permissions come from access's roles in force, not every membership."""

    def _get_group_permissions(self, user_obj: Any) -> QuerySet[Permission]:
        return Permission.objects.filter(group__in=user_role_ids(user_obj))


class ScopeGrantObjectPermissionBackend(ObjectPermissionBackend):
    """guardian's object permissions, except on a benefit plan whose scope grant is out of force today."""

    def _out_of_force(self, user_obj: Any, obj: Any) -> bool:
        plan_model = provided_if_any("plan_model")
        return (
            obj is not None
            and plan_model is not None
            and isinstance(obj, plan_model)
            and obj.pk in plan_ids_out_of_force(user_obj)
        )

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if self._out_of_force(user_obj, obj):
            return False
        return super().has_perm(user_obj, perm, obj)

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> Any:
        if self._out_of_force(user_obj, obj):
            return set()
        return super().get_all_permissions(user_obj, obj)
