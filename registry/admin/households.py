"""Households in the admin: the list, the page with its current members, edits through maker-checker."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Concat
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from registry.admin.editing import RegistryRecordAdmin
from registry.admin.individuals import LocationSubtreeFilter, custom_field_filters
from registry.approval_actions import registry_update_request
from registry.forms import (
    HouseholdForm,
    MembershipForm,
    MembershipFormSet,
    custom_fields_form,
)
from registry.household_page import (
    MemberFormSet,
    current_members,
    errors_apply,
    household_page_form_class,
)
from registry.models import Household, HouseholdMember, HouseholdRole, SchemaKind
from registry.registration import household_change_request, household_register
from registry.selectors import household_list, individual_list
from registry.services import HOUSEHOLD_FIELDS, household_create, household_member_add


class KnownIndividualWidget(ForeignKeyRawIdWidget):
    """A raw-id widget that labels the row's own member from the row (no query per member)."""

    known: dict[str, Any]

    def label_and_url_for_value(self, value: Any) -> tuple[str, str]:
        obj = getattr(self, "known", {}).get(str(value))
        if obj is None:
            return super().label_and_url_for_value(value)
        url = reverse(f"{self.admin_site.name}:registry_individual_change", args=[obj.pk])
        return str(obj), url


class MemberRowForm(MembershipForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        widget = self.fields["individual"].widget
        if self.instance.pk and isinstance(widget, KnownIndividualWidget):
            widget.known = {str(self.instance.individual_id): self.instance.individual}


class LeavingFormSet(MembershipFormSet):
    def add_fields(self, form: Any, index: Any) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = "Leaves"


class MemberInline(admin.TabularInline):
    """Current members. Ticking "Leaves" ends the membership (kept on record), it deletes nothing."""

    model = HouseholdMember
    form = MemberRowForm
    formset = LeavingFormSet
    fields = ["individual", "role", "is_primary_recipient", "age", "start_date"]
    readonly_fields = ["age", "start_date"]
    raw_id_fields = ["individual"]
    extra = 0
    verbose_name = "member"
    verbose_name_plural = "current members"

    def get_queryset(self, request: HttpRequest) -> QuerySet[HouseholdMember]:
        return (
            super()
            .get_queryset(request)
            .filter(end_date__isnull=True)
            .select_related("individual", "household")
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "individual":
            kwargs["queryset"] = individual_list(user=request.user)
            kwargs["widget"] = KnownIndividualWidget(db_field.remote_field, self.admin_site)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="age")
    def age(self, obj: HouseholdMember) -> str:
        if not obj.pk:
            return ""
        age = obj.individual.age()
        return "—" if age is None else str(age)


@admin.register(Household)
class HouseholdAdmin(RegistryRecordAdmin):
    export_dataset = "household"
    form = HouseholdForm
    list_display = ["code", "head", "size", "location", "address"]
    list_select_related = ["location"]
    list_filter = [LocationSubtreeFilter]
    sortable_by = ["code", "size"]
    search_fields = ["code"]  # shows the search box; get_search_results does the work
    search_help_text = "A household code (exact match)."
    autocomplete_fields = ["location"]
    readonly_fields = ["size", "former_members", "removed_fields", "created_at", "updated_at"]
    inlines = [MemberInline]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[Household]:
        heads = HouseholdMember.objects.filter(
            household=OuterRef("pk"), end_date__isnull=True, role=HouseholdRole.HEAD
        )
        name = Concat(
            "individual__given_name", Value(" "), "individual__family_name", output_field=CharField()
        )
        return household_list(user=request.user).annotate(
            head_name=Subquery(heads.annotate(name=name).values("name")[:1])
        )

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        return [*self.list_filter, *custom_field_filters(SchemaKind.HOUSEHOLD)]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Household], search_term: str
    ) -> tuple[QuerySet[Household], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(code=term), False

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = custom_fields_form(self.form, kind=SchemaKind.HOUSEHOLD)
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list[tuple[str | None, dict[str, Any]]]:
        fieldsets: list[tuple[str | None, dict[str, Any]]] = [
            (
                None,
                {
                    "fields": [
                        "code",
                        "location",
                        "address",
                        ("latitude", "longitude"),
                        "registration_date",
                        "size",
                    ]
                },
            ),
        ]
        fieldsets.extend(self.custom_fieldsets(obj))
        if obj is not None:
            fieldsets.append(
                (
                    "Record",
                    {"fields": ["former_members", "created_at", "updated_at"], "classes": ["collapse"]},
                )
            )
        return fieldsets

    @admin.display(description="head")
    def head(self, obj: Household) -> str:
        return getattr(obj, "head_name", None) or "—"

    @admin.display(description="former members")
    def former_members(self, obj: Household) -> str:
        former = list(
            HouseholdMember.objects.filter(household=obj, end_date__isnull=False)
            .select_related("individual")
            .order_by("-end_date", "-pk")[:20]
        )
        if not former:
            return "None."
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a>: {} from {} to {}',
            (
                (
                    reverse("admin:registry_individual_change", args=[m.individual_id]),
                    m.individual,
                    m.get_role_display(),
                    f"{m.start_date:%Y-%m-%d}",
                    f"{m.end_date:%Y-%m-%d}",
                )
                for m in former
            ),
        )

    # The household on one page: add and change (for those who may change it) render household_page.html.

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        return self.household_page(request, None)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        household = self.get_object(request, unquote(object_id))  # 404 outside the user's locations
        if not self.has_change_permission(request, household):
            return super().change_view(request, object_id, form_url, extra_context)  # read-only page
        return self.household_page(request, household)

    def household_page(self, request: HttpRequest, household: Household | None) -> HttpResponse:
        """Register a household with its members, or ask for a change of one: the same page."""
        form_class = household_page_form_class(self.admin_site)
        members = current_members(household)
        page_errors: list[str] = []
        if request.method == "POST":
            form = form_class(request.POST, instance=household, user=request.user)
            formset = MemberFormSet(request.POST, prefix="members", user=request.user, members=members)
            forms_valid = form.is_valid()
            formset_valid = formset.is_valid()
            if forms_valid and formset_valid:
                try:
                    response = self._household_save(request, household, form, formset)
                except ValidationError as exc:
                    page_errors = errors_apply(exc, form, formset)
                else:
                    return response
            page_errors += [str(error) for error in formset.non_form_errors()]
        else:
            form = form_class(instance=household, user=request.user)
            formset = MemberFormSet(prefix="members", user=request.user, members=members)
        title = (
            _("Register a household") if household is None else _("Household %(code)s") % {"code": household}
        )
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "original": household,
            "form": form,
            "formset": formset,
            "page_errors": page_errors,
            "media": self.media + form.media + formset.media,
            "has_view_permission": True,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/registry/household/household_page.html", context)

    def _household_save(
        self, request: HttpRequest, household: Household | None, form: Any, formset: Any
    ) -> Any:
        fields = self._core_fields(form)
        data = form.cleaned_data.get("data", {})
        entries = formset.entries()
        if household is None:
            created = household_register(user=request.user, data=data, members=entries, **fields)
            self.log_addition(request, created, [{"added": {}}])
            self.message_user(
                request,
                _("Household %(code)s was registered with %(size)s member(s).")
                % {"code": created, "size": created.size},
                messages.SUCCESS,
            )
            return self._after_save(request, created)
        task = household_change_request(
            household=household, maker=request.user, members=entries, fields=fields, data=data
        )
        if task is None:
            self.message_user(request, _("Nothing was changed."), messages.INFO)
        elif task.state == "executed":
            self.log_change(request, household, [{"changed": {"fields": [f"task #{task.pk}"]}}])
            self.message_user(
                request,
                _("The change to %(household)s was saved (task #%(task)s, no approval needed).")
                % {"household": household, "task": task.pk},
                messages.SUCCESS,
            )
        elif task.state == "failed":
            raise ValidationError(task.error)
        else:
            self.message_user(
                request,
                _("Your change is waiting for approval (task #%(task)s).") % {"task": task.pk},
                messages.WARNING,
            )
        return self._after_save(request, household)

    def _after_save(self, request: HttpRequest, household: Household) -> HttpResponse:
        if "_continue" in request.POST or "_addanother" not in request.POST and "_save" not in request.POST:
            return HttpResponseRedirect(reverse("admin:registry_household_change", args=[household.pk]))
        if "_addanother" in request.POST:
            return HttpResponseRedirect(reverse("admin:registry_household_add"))
        return HttpResponseRedirect(reverse("admin:registry_household_changelist"))

    # Writes: creation directly, edits as change requests (see RegistryRecordAdmin).

    def _core_fields(self, form: Any) -> dict[str, Any]:
        return {name: form.cleaned_data[name] for name in HOUSEHOLD_FIELDS if name in form.cleaned_data}

    def create_record(self, request: HttpRequest, obj: Household, form: Any) -> Household:
        return household_create(
            user=request.user, data=form.cleaned_data.get("data", {}), **self._core_fields(form)
        )

    def _member_changes(self, formsets: list[Any]) -> dict[str, list[Any]]:
        changes: dict[str, list[Any]] = {"remove": [], "change": [], "add": []}
        for formset in formsets:
            if formset.model is not HouseholdMember:
                continue
            for form in formset.forms:
                data = form.cleaned_data
                if not data:
                    continue
                if form.instance.pk:
                    if data.get("DELETE"):
                        changes["remove"].append(form.instance)
                    elif form.has_changed():
                        changes["change"].append(
                            (form.instance, data["role"], data.get("is_primary_recipient", False))
                        )
                elif not data.get("DELETE") and data.get("individual"):
                    changes["add"].append(
                        (data["individual"], data["role"], data.get("is_primary_recipient", False))
                    )
        return changes

    def create_related(self, request: HttpRequest, obj: Household, formsets: list[Any]) -> None:
        for individual, role, primary in self._member_changes(formsets)["add"]:
            household_member_add(
                household=obj,
                individual=individual,
                role=role,
                is_primary_recipient=primary,
                user=request.user,
            )

    def request_change(self, request: HttpRequest, obj: Household, form: Any, formsets: list[Any]) -> Any:
        return registry_update_request(
            target=obj,
            maker=request.user,
            fields=self._core_fields(form),
            data=form.cleaned_data.get("data"),
            members=self._member_changes(formsets),
        )
