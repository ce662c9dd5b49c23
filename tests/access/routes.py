"""Every route of the URL configuration (walked from `get_resolver()`) and its URL in the matrix world."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.access.world import World

# (app_label, model) of an admin route -> the world's object its <object_id> names.
MODEL_OBJECTS = {
    ("auth", "group"): "group",
    ("auth", "user"): "user",
    ("django_tasks_database", "dbtaskresult"): "task_result",
    ("axes", "accessattempt"): "attempt",
    ("axes", "accesslog"): "access_log",
    ("axes", "accessfailurelog"): "failure_log",
    ("jobs", "job"): "job",
    ("notifications", "messagetemplate"): "message_template",
    ("notifications", "outboxmessage"): "outbox_message",
    ("approvals", "task"): "registry_task",
    ("approvals", "approvalpolicy"): "policy",
    ("registry", "individual"): "individual",
    ("registry", "household"): "household",
    ("registry", "locationlevel"): "location_level",
    ("registry", "location"): "location",
    ("registry", "registryschema"): "registry_schema",
    ("programs", "benefitplan"): "plan",
    ("programs", "beneficiary"): "beneficiary",
    ("programs", "beneficiarystatuschange"): "status_change",
    ("payments", "paymentcycle"): "cycle",
    ("payments", "paymentpoint"): "point",
    ("payments", "paymentplan"): "payment_plan",
    ("payments", "payroll"): "payroll",
    ("payments", "benefit"): "benefit",
    ("payments", "reconciliationbatch"): "reconciliation",
    ("payments", "verificationplan"): "verification_plan",
    ("payments", "verificationrecord"): "verification_record",
    ("uploads", "importbatch"): "batch",
    ("intake", "fieldform"): "field_form",
    ("reports", "report"): "report",
    ("portal", "userprofile"): "profile",
    ("portal", "scopegrant"): "scope_grant",
    ("identity", "rolesecurity"): "role_security",
    ("identity", "signinevent"): "sign_in_event",
    ("identity", "rolegrant"): "role_grant",
    ("identity", "directoryrolemapping"): "directory_mapping",
    ("identity", "directoryidentity"): "directory_identity",
    ("grievances", "ticket"): "ticket",
    ("grievances", "category"): "grievance_category",
    ("grievances", "team"): "grievance_team",
    ("grievances", "grievancepartner"): "grievance_partner",
    ("registry", "registryapiclient"): "registry_api_client",
    ("registry", "registryapicall"): "registry_api_call",
    ("identity", "apikeyevent"): "api_key_event",
}

# A path parameter -> the world's object (its pk) or a fixed value.
PARAMETERS: dict[str, str | tuple[str]] = {
    "benefit_plan_id": "plan",
    "beneficiary_id": "beneficiary",
    "point_id": "point",
    "partner_id": "grievance_partner",
    "individual_id": "individual",  # the registry API's paths
    "household_id": "household",
    "number": ("GRV-2000-000001",),  # no such ticket: every caller without a partner's key gets 401
    "payroll_id": "payroll",
    "benefit_id": "benefit",
    "batch_id": "batch",
    "verification_plan_id": "verification_plan",
    "verification_record_id": "verification_record",
    "verification_step": ("activate",),
    "ticket_id": "ticket",
    "attachment_id": "attachment",
    "report_id": "report",
    "job_id": "job",
    "saved_search_id": "saved_search",
    "object_pk": "plan",
    "user_id": "user",
    "group_id": "group",
    "id": "user",
    "dataset": ("individual",),
    "file_format": ("csv",),
    "extension": ("csv",),
    "kind": ("csv",),
    "step": ("submit",),
    "app_label": ("registry",),
    "url": ("no-such-page/",),
}
# The API's {reference}: a line of provider A's payroll in North A, still pending.
API_REFERENCE = "pending_benefit"
ADMIN_MODEL = re.compile(r"^admin/(?P<app>\w+)/(?P<model>\w+)/")


@dataclass(frozen=True)
class Route:
    key: str  # the route's name ("admin:registry_individual_change"), or its pattern when unnamed
    pattern: str
    callback: Any

    @property
    def model(self) -> tuple[str, str] | None:
        match = ADMIN_MODEL.match(self.pattern)
        return (match["app"], match["model"]) if match else None


def routes() -> list[Route]:
    """Every route of the URL configuration, depth first, keyed by name (or pattern when unnamed)."""

    def walk(resolver: URLResolver, prefix: str, namespaces: tuple[str, ...]) -> Iterator[Route]:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = namespaces + ((entry.namespace,) if entry.namespace else ())
                yield from walk(entry, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                pattern = prefix + str(entry.pattern)
                key = ":".join((*namespaces, entry.name)) if entry.name else pattern
                yield Route(key=key, pattern=pattern, callback=entry.callback)

    return list(walk(get_resolver(), "", ()))


def _value(world: World, route: Route, parameter: str) -> str:
    if parameter in ("object_id", "path") and route.model is None and parameter == "object_id":
        raise KeyError(parameter)
    if parameter == "object_id":
        return str(world.pk(MODEL_OBJECTS[route.model]))
    if parameter == "reference":
        return world.objects[API_REFERENCE].reference
    if parameter == "content_type_id":
        return str(world.objects["individual_content_type"].pk)
    if parameter == "plan_id":
        name = "payment_plan" if route.model == ("payments", "paymentplan") else "plan"
        return str(world.pk(name))
    source = PARAMETERS[parameter]
    return source[0] if isinstance(source, tuple) else str(world.pk(source))


PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>|\(\?P<(?P<regex_name>\w+)>[^)]*\)")


def route_url(world: World, route: Route) -> str:
    """The route's URL with every parameter naming the world's North A object (or a fixed value)."""
    if route.key == "admin:view_on_site":
        ct = world.objects["individual_content_type"].pk
        return f"/admin/r/{ct}/{world.pk('individual')}/"
    pattern = route.pattern
    if "history/([^/]+)/$" in pattern:  # simple_history's record page: (object, history record)
        obj = world.objects[MODEL_OBJECTS[route.model]]
        record = obj.history.order_by("history_id").first()
        pattern = pattern.replace("^([^/]+)/history/([^/]+)/$", f"{obj.pk}/history/{record.history_id}/")
    if pattern.startswith("^media/"):
        return "/media/" + world.objects["benefit"].evidence_photo.name
    if route.key == "admin:app_list":
        return "/admin/registry/"
    if route.key.endswith("(?P<url>.*)$"):
        return "/admin/no-such-page/"

    def substitute(match: re.Match[str]) -> str:
        return _value(world, route, match["name"] or match["regex_name"])

    url = PARAMETER.sub(substitute, pattern)
    return "/" + url.lstrip("^").rstrip("$")


# Lists and exports: the text that shows the North A record is in the answer.
_CHANGE_LINKS = {
    "admin:registry_individual_changelist": ("registry", "individual"),
    "admin:registry_household_changelist": ("registry", "household"),
    "admin:programs_beneficiary_changelist": ("programs", "beneficiary"),
    "admin:programs_beneficiarystatuschange_changelist": ("programs", "beneficiarystatuschange"),
    "admin:payments_payroll_changelist": ("payments", "payroll"),
    "admin:payments_benefit_changelist": ("payments", "benefit"),
    "admin:payments_reconciliationbatch_changelist": ("payments", "reconciliationbatch"),
    "admin:payments_verificationplan_changelist": ("payments", "verificationplan"),
    "admin:payments_verificationrecord_changelist": ("payments", "verificationrecord"),
    "admin:uploads_importbatch_changelist": ("uploads", "importbatch"),
    "admin:approvals_task_changelist": ("approvals", "task"),
    "admin:jobs_job_changelist": ("jobs", "job"),
}
_TEXTS = {
    "admin:registry_export": lambda world: world.objects["individual"].given_name,
    "admin:programs_beneficiary_export": lambda world: world.objects["household"].code,
}
MARKED_ROUTES = set(_CHANGE_LINKS) | set(_TEXTS)


def route_marker(world: World, key: str) -> str | None:
    if key in _CHANGE_LINKS:
        app, model = _CHANGE_LINKS[key]
        return reverse(f"admin:{app}_{model}_change", args=[world.pk(MODEL_OBJECTS[(app, model)])])
    if key in _TEXTS:
        return _TEXTS[key](world)
    return None


# Objects of North A (or of its officer): a route naming one refuses the South officer.
DISTRICT_A_OBJECTS = {
    "individual",
    "household",
    "location",
    "beneficiary",
    "status_change",
    "registry_task",
    "payroll",
    "benefit",
    "pending_benefit",
    "reconciliation",
    "verification_plan",
    "verification_record",
    "batch",
    "job",
    "saved_search",
}


def route_objects(route: Route) -> set[str]:
    """The world objects a route's URL names."""
    names = {match["name"] or match["regex_name"] for match in PARAMETER.finditer(route.pattern)}
    found = set()
    if ("object_id" in names or "history/([^/]+)" in route.pattern) and route.model in MODEL_OBJECTS:
        found.add(MODEL_OBJECTS[route.model])
    if "plan_id" in names:
        found.add("payment_plan" if route.model == ("payments", "paymentplan") else "plan")
    if "reference" in names:
        found.add(API_REFERENCE)
    for name in names:
        source = PARAMETERS.get(name)
        if isinstance(source, str):
            found.add(source)
    return found
