"""Django's model permissions, from the roles in force only (a role outside its grant's dates gives none)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import QuerySet

from access.roles import user_role_ids


class RoleGrantModelBackend(ModelBackend):
    """ModelBackend whose group permissions come from access's roles in force, not every membership."""

    def _get_group_permissions(self, user_obj: Any) -> QuerySet[Permission]:
        return Permission.objects.filter(group__in=user_role_ids(user_obj))
