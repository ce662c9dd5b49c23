"""Reads of field forms and their imports, scoped to the plans the user sees."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from access.records import records_in_scope
from intake.models import FieldForm, FieldImport
from uploads.selectors import batch_list

User = AbstractBaseUser | AnonymousUser


def field_form_list(*, user: User) -> QuerySet[FieldForm]:
    """The forms of the plans the user sees."""
    forms = records_in_scope(FieldForm.objects.all(), user=user, location=None, plan="benefit_plan")
    return forms.select_related("benefit_plan")


def field_import_list(*, user: User, form: FieldForm) -> QuerySet[FieldImport]:
    """The form's imports whose upload batch the user sees."""
    return (
        FieldImport.objects.filter(form=form, batch__in=batch_list(user=user).values("pk"))
        .select_related("batch")
        .order_by("-created_at", "-pk")
    )
