# ruff: noqa: E501  (one route per line reads as a table)
"""The access matrix: every route of the URL configuration and the answer each actor must get.

Keys are route names (`admin:registry_individual_change`), or the pattern of an unnamed route. The
answers, in the order of `R(...)`: superuser, national officer (registry, programme and payment
officer over North and South), officer of North A, officer of South (same roles and plan as North A's),
auditor, approver, anonymous; for /api/ routes also the keys of payment providers A and B.
Every object a route names lies in North A (tests/access/world.py), so the South officer is refused it.
A list or export marked OK_WITH / OK_WITHOUT is read for the North A record (tests/access/routes.py MARKERS).

Adding a route: add its line here with the answer each actor must get (run
`pytest tests/access -k every_route` to see which lines are missing); if the route names an object,
map its parameter in tests/access/routes.py. A cell that leaks today and is being fixed elsewhere goes
in KNOWN_LEAK with the reason: it runs as a strict xfail, so the fix makes it fail until removed here.
"""

from __future__ import annotations

from tests.access.answers import (
    DENIED,
    INDEX,
    LOGIN,
    MISSING,
    NOT_ALLOWED,
    OK,
    OK_WITH,
    OK_WITHOUT,
    REDIRECT,
    UNAUTHORIZED,
)
from tests.access.world import ACTORS, WEB_ACTORS


def R(*answers: str) -> dict[str, str]:
    """Answers in the order of ACTORS (the web actors for admin routes, all of them for the API)."""
    actors = WEB_ACTORS if len(answers) == len(WEB_ACTORS) else ACTORS
    assert len(answers) == len(actors), answers
    return dict(zip(actors, answers, strict=True))


MATRIX: dict[str, dict[str, str]] = {
    "": R(INDEX, INDEX, INDEX, INDEX, INDEX, INDEX, INDEX),
    "demo_data_generate": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin/registry/search/": R(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN),
    "admin:registry_search": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:registry_search_households": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:registry_search_save": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:registry_search_columns": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:registry_search_delete": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:registry_export": R(OK_WITH, OK_WITH, OK_WITH, OK_WITHOUT, OK_WITH, OK_WITH, LOGIN),
    "admin:registry_export_job": R(MISSING, MISSING, OK, MISSING, MISSING, MISSING, LOGIN),
    "admin:registry_export_download": R(MISSING, MISSING, OK, MISSING, MISSING, MISSING, LOGIN),
    "admin:portal_dashboard_refresh": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:index": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:login": R(INDEX, INDEX, INDEX, INDEX, INDEX, INDEX, OK),
    "admin:logout": R(NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, INDEX),
    "admin:password_change": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:password_change_done": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:autocomplete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:jsi18n": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:view_on_site": R(MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, LOGIN),
    "admin:auth_group_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:auth_group_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:auth_group_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:auth_group_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:auth_group_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/auth/group/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:django_tasks_database_dbtaskresult_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:django_tasks_database_dbtaskresult_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:django_tasks_database_dbtaskresult_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:django_tasks_database_dbtaskresult_delete": R(
        DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN
    ),
    "admin:django_tasks_database_dbtaskresult_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/django_tasks_database/dbtaskresult/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:axes_accessattempt_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:axes_accessattempt_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:axes_accessattempt_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:axes_accessattempt_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:axes_accessattempt_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/axes/accessattempt/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "identity:enrol": R(OK, OK, OK, OK, OK, OK, LOGIN),
    # Single sign-on: 404 while not configured (the matrix world has no provider); with one, tests/identity/test_sso.py
    "sso:start": R(MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING),
    "sso:callback": R(MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING),
    "identity:sessions": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "identity:verify": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),  # no authenticator: to enrol
    "admin:identity_rolesecurity_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_rolesecurity_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:identity_rolesecurity_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_rolesecurity_simple_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_rolesecurity_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:identity_rolesecurity_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/identity/rolesecurity/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:identity_rolegrant_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_rolegrant_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:identity_rolegrant_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_rolegrant_simple_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_rolegrant_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:identity_rolegrant_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/identity/rolegrant/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:identity_directoryrolemapping_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_directoryrolemapping_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:identity_directoryrolemapping_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_directoryrolemapping_simple_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_directoryrolemapping_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:identity_directoryrolemapping_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/identity/directoryrolemapping/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:identity_directoryidentity_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_directoryidentity_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:identity_directoryidentity_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_directoryidentity_simple_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_directoryidentity_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:identity_directoryidentity_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/identity/directoryidentity/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:identity_signinevent_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_signinevent_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:identity_signinevent_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_signinevent_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:identity_signinevent_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/identity/signinevent/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:axes_accesslog_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:axes_accesslog_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:axes_accesslog_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:axes_accesslog_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:axes_accesslog_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/axes/accesslog/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:axes_accessfailurelog_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:axes_accessfailurelog_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:axes_accessfailurelog_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:axes_accessfailurelog_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:axes_accessfailurelog_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/axes/accessfailurelog/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:jobs_job_progress": R(OK, MISSING, OK, MISSING, OK, MISSING, LOGIN),
    "admin:jobs_job_changelist": R(OK_WITH, OK_WITHOUT, OK_WITH, OK_WITHOUT, OK_WITH, OK_WITHOUT, LOGIN),
    "admin:jobs_job_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:jobs_job_history": R(OK, INDEX, OK, INDEX, OK, INDEX, LOGIN),
    "admin:jobs_job_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:jobs_job_retry": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:jobs_job_cancel": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:jobs_job_change": R(OK, INDEX, OK, INDEX, OK, INDEX, LOGIN),
    "admin/jobs/job/<path:object_id>/": R(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN),
    "admin:notifications_messagetemplate_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:notifications_messagetemplate_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:notifications_messagetemplate_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:notifications_messagetemplate_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:notifications_messagetemplate_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/notifications/messagetemplate/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:notifications_outboxmessage_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:notifications_outboxmessage_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:notifications_outboxmessage_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:notifications_outboxmessage_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:notifications_outboxmessage_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/notifications/outboxmessage/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:approvals_task_awaiting": R(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN),
    "admin:approvals_task_requested": R(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN),
    "admin:approvals_task_progress": R(MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, LOGIN),
    "admin:approvals_task_approve": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:approvals_task_reject": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:approvals_task_cancel": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:approvals_task_retry": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:approvals_task_simple_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:approvals_task_changelist": R(OK_WITH, OK_WITH, OK_WITH, OK_WITHOUT, OK_WITH, OK_WITH, LOGIN),
    "admin:approvals_task_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:approvals_task_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:approvals_task_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:approvals_task_change": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin/approvals/task/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:approvals_approvalpolicy_simple_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:approvals_approvalpolicy_changelist": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:approvals_approvalpolicy_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:approvals_approvalpolicy_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:approvals_approvalpolicy_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:approvals_approvalpolicy_change": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin/approvals/approvalpolicy/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:registry_individual_simple_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:registry_individual_changelist": R(OK_WITH, OK_WITH, OK_WITH, OK_WITHOUT, OK_WITH, OK_WITH, LOGIN),
    "admin:registry_individual_add": R(OK, OK, OK, OK, DENIED, DENIED, LOGIN),
    "admin:registry_individual_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:registry_individual_delete": R(OK, DENIED, DENIED, MISSING, DENIED, DENIED, LOGIN),
    "admin:registry_individual_change": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin/registry/individual/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:registry_household_simple_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:registry_household_changelist": R(OK_WITH, OK_WITH, OK_WITH, OK_WITHOUT, OK_WITH, OK_WITH, LOGIN),
    "admin:registry_household_add": R(OK, OK, OK, OK, DENIED, DENIED, LOGIN),
    "admin:registry_household_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:registry_household_delete": R(OK, DENIED, DENIED, MISSING, DENIED, DENIED, LOGIN),
    "admin:registry_household_change": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin/registry/household/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:registry_locationlevel_simple_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:registry_locationlevel_changelist": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:registry_locationlevel_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:registry_locationlevel_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:registry_locationlevel_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:registry_locationlevel_change": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin/registry/locationlevel/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:registry_location_process_import": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:registry_location_import": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:registry_location_export": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:registry_location_simple_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:registry_location_changelist": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:registry_location_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:registry_location_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:registry_location_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:registry_location_change": R(OK, OK, OK, INDEX, OK, OK, LOGIN),
    "admin/registry/location/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:registry_registryschema_simple_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:registry_registryschema_changelist": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:registry_registryschema_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:registry_registryschema_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:registry_registryschema_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:registry_registryschema_change": R(OK, OK, OK, OK, OK, OK, LOGIN),
    # The custom-fields form: read-only for those who may only view the schema; POST needs the change right.
    "admin:registry_registryschema_fields": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin/registry/registryschema/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:programs_benefitplan_enrol": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:programs_benefitplan_fields": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:programs_benefitplan_activate": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:programs_benefitplan_close": R(OK, OK, OK, OK, DENIED, DENIED, LOGIN),
    "admin:programs_benefitplan_permissions": R(OK, MISSING, MISSING, MISSING, MISSING, MISSING, LOGIN),
    "admin:programs_benefitplan_permissions_manage_user": R(
        OK, MISSING, MISSING, MISSING, MISSING, MISSING, LOGIN
    ),
    "admin:programs_benefitplan_permissions_manage_group": R(
        OK, MISSING, MISSING, MISSING, MISSING, MISSING, LOGIN
    ),
    "admin:programs_benefitplan_simple_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:programs_benefitplan_changelist": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:programs_benefitplan_add": R(OK, OK, OK, OK, DENIED, DENIED, LOGIN),
    "admin:programs_benefitplan_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:programs_benefitplan_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:programs_benefitplan_change": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin/programs/benefitplan/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:programs_beneficiary_export": R(OK_WITH, OK_WITH, OK_WITH, OK_WITHOUT, OK_WITH, OK_WITH, LOGIN),
    "admin:programs_beneficiary_status": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:programs_beneficiary_simple_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:programs_beneficiary_changelist": R(
        OK_WITH, OK_WITH, OK_WITH, OK_WITHOUT, OK_WITH, OK_WITH, LOGIN
    ),
    "admin:programs_beneficiary_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:programs_beneficiary_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:programs_beneficiary_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:programs_beneficiary_change": R(OK, OK, OK, INDEX, OK, OK, LOGIN),
    "admin/programs/beneficiary/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:programs_beneficiarystatuschange_changelist": R(
        OK_WITH, OK_WITH, OK_WITH, OK_WITHOUT, OK_WITH, OK_WITH, LOGIN
    ),
    "admin:programs_beneficiarystatuschange_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:programs_beneficiarystatuschange_history": R(OK, OK, OK, INDEX, OK, OK, LOGIN),
    "admin:programs_beneficiarystatuschange_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:programs_beneficiarystatuschange_change": R(OK, OK, OK, INDEX, OK, OK, LOGIN),
    "admin/programs/beneficiarystatuschange/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:payments_paymentcycle_simple_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:payments_paymentcycle_changelist": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:payments_paymentcycle_add": R(OK, OK, OK, OK, DENIED, DENIED, LOGIN),
    "admin:payments_paymentcycle_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:payments_paymentcycle_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:payments_paymentcycle_change": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin/payments/paymentcycle/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:payments_paymentpoint_key": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:payments_paymentpoint_simple_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:payments_paymentpoint_changelist": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:payments_paymentpoint_add": R(OK, OK, OK, OK, DENIED, DENIED, LOGIN),
    "admin:payments_paymentpoint_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:payments_paymentpoint_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:payments_paymentpoint_change": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin/payments/paymentpoint/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:payments_paymentplan_preview": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:payments_paymentplan_formula_help": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:payments_paymentplan_simple_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:payments_paymentplan_changelist": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:payments_paymentplan_add": R(OK, OK, OK, OK, DENIED, DENIED, LOGIN),
    "admin:payments_paymentplan_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:payments_paymentplan_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:payments_paymentplan_change": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin/payments/paymentplan/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:payments_payroll_step": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:payments_payroll_figures": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:payments_payroll_export": R(OK, OK, OK, DENIED, OK, OK, LOGIN),
    "admin:payments_payroll_results": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:payments_payroll_simple_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:payments_payroll_changelist": R(OK_WITH, OK_WITH, OK_WITH, OK_WITHOUT, OK_WITH, OK_WITH, LOGIN),
    "admin:payments_payroll_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:payments_payroll_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:payments_payroll_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:payments_payroll_change": R(OK, OK, OK, INDEX, OK, OK, LOGIN),
    "admin/payments/payroll/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:payments_verificationplan_create": R(OK, OK, OK, MISSING, DENIED, DENIED, LOGIN),
    "admin:payments_verificationplan_step": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:payments_verificationplan_simple_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:payments_verificationplan_changelist": R(
        OK_WITH, OK_WITH, OK_WITH, OK_WITHOUT, OK_WITH, OK_WITH, LOGIN
    ),
    "admin:payments_verificationplan_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:payments_verificationplan_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:payments_verificationplan_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:payments_verificationplan_change": R(OK, OK, OK, INDEX, OK, OK, LOGIN),
    "admin/payments/verificationplan/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:payments_verificationrecord_record": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:payments_verificationrecord_simple_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:payments_verificationrecord_changelist": R(
        OK_WITH, OK_WITH, OK_WITH, OK_WITHOUT, OK_WITH, OK_WITH, LOGIN
    ),
    "admin:payments_verificationrecord_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:payments_verificationrecord_history": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:payments_verificationrecord_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:payments_verificationrecord_change": R(OK, OK, OK, INDEX, OK, OK, LOGIN),
    "admin/payments/verificationrecord/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:payments_benefit_photo": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:payments_benefit_changelist": R(OK_WITH, OK_WITH, OK_WITH, OK_WITHOUT, OK_WITH, OK_WITH, LOGIN),
    "admin:payments_benefit_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:payments_benefit_history": R(OK, OK, OK, INDEX, OK, OK, LOGIN),
    "admin:payments_benefit_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:payments_benefit_change": R(OK, OK, OK, INDEX, OK, OK, LOGIN),
    "admin/payments/benefit/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    # Grievances (issue 17): the national and district officers hold no grievance role; the auditor and the
    # approver view; the ticket (about the paid North A line) is in North A.
    "admin:grievances_ticket_changelist": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin:grievances_ticket_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:grievances_ticket_history": R(OK, MISSING, MISSING, MISSING, OK, OK, LOGIN),
    "admin:grievances_ticket_simple_history": R(OK, MISSING, MISSING, MISSING, OK, OK, LOGIN),
    "admin:grievances_ticket_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:grievances_ticket_change": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin/grievances/ticket/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:grievances_ticket_step": R(
        NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, LOGIN
    ),
    "admin:grievances_ticket_attachment": R(OK, MISSING, MISSING, MISSING, OK, OK, LOGIN),
    "admin:grievances_ticket_export": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin:grievances_category_changelist": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin:grievances_category_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:grievances_category_history": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin:grievances_category_simple_history": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin:grievances_category_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:grievances_category_change": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin/grievances/category/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:grievances_grievancepartner_key": R(OK, MISSING, MISSING, MISSING, OK, OK, LOGIN),
    "admin:grievances_grievancepartner_changelist": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin:grievances_grievancepartner_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:grievances_grievancepartner_history": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin:grievances_grievancepartner_simple_history": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin:grievances_grievancepartner_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:grievances_grievancepartner_change": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin/grievances/grievancepartner/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    # the public complaint pages answer everyone, signed in or not
    "grievances_public:file": R(OK, OK, OK, OK, OK, OK, OK),
    "grievances_public:status": R(OK, OK, OK, OK, OK, OK, OK),
    "admin:grievances_team_changelist": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin:grievances_team_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:grievances_team_history": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin:grievances_team_simple_history": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin:grievances_team_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:grievances_team_change": R(OK, DENIED, DENIED, DENIED, OK, OK, LOGIN),
    "admin/grievances/team/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:payments_reconciliationbatch_changelist": R(
        OK_WITH, OK_WITH, OK_WITHOUT, OK_WITHOUT, OK_WITH, OK_WITH, LOGIN
    ),
    "admin:payments_reconciliationbatch_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:payments_reconciliationbatch_history": R(OK, OK, INDEX, INDEX, OK, OK, LOGIN),
    "admin:payments_reconciliationbatch_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:payments_reconciliationbatch_change": R(OK, OK, INDEX, INDEX, OK, OK, LOGIN),
    "admin/payments/reconciliationbatch/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:uploads_importbatch_file": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:uploads_importbatch_rejected": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin:uploads_importbatch_request_commit": R(
        REDIRECT, REDIRECT, REDIRECT, MISSING, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:uploads_importbatch_validate": R(REDIRECT, REDIRECT, REDIRECT, MISSING, REDIRECT, REDIRECT, LOGIN),
    "admin:uploads_importbatch_template": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:uploads_importbatch_process_import": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:uploads_importbatch_import": R(OK, OK, OK, OK, DENIED, DENIED, LOGIN),
    "admin:uploads_importbatch_changelist": R(OK_WITH, OK_WITH, OK_WITH, OK_WITHOUT, OK_WITH, OK_WITH, LOGIN),
    "admin:uploads_importbatch_add": R(REDIRECT, REDIRECT, REDIRECT, REDIRECT, DENIED, DENIED, LOGIN),
    "admin:uploads_importbatch_history": R(OK, OK, OK, INDEX, OK, OK, LOGIN),
    "admin:uploads_importbatch_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:uploads_importbatch_change": R(OK, OK, OK, MISSING, OK, OK, LOGIN),
    "admin/uploads/importbatch/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    # field forms belong to a plan, not a place: the South officer manages the same plan
    "admin:intake_fieldform_xlsform": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:intake_fieldform_import": R(OK, OK, OK, OK, DENIED, DENIED, LOGIN),
    "admin:intake_fieldform_changelist": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:intake_fieldform_add": R(OK, OK, OK, OK, DENIED, DENIED, LOGIN),
    "admin:intake_fieldform_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:intake_fieldform_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:intake_fieldform_change": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin/intake/fieldform/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:reports_report_view": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:reports_report_pinned": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:reports_report_export": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:reports_report_simple_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:reports_report_changelist": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:reports_report_add": R(OK, OK, OK, OK, DENIED, DENIED, LOGIN),
    "admin:reports_report_history": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin:reports_report_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:reports_report_change": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin/reports/report/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:auth_user_password_change": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:auth_user_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:auth_user_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:auth_user_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:auth_user_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:auth_user_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/auth/user/<path:object_id>/": R(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN),
    "admin:portal_userprofile_simple_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:portal_userprofile_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:portal_userprofile_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:portal_userprofile_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:portal_userprofile_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:portal_userprofile_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/portal/userprofile/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:portal_scopegrant_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:portal_scopegrant_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:portal_scopegrant_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:portal_scopegrant_simple_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:portal_scopegrant_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:portal_scopegrant_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/portal/scopegrant/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    # Who holds what, and one user's audit trail: administrators and auditors only.
    "admin:portal_grants": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:portal_user_audit": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:app_list": R(OK, OK, OK, OK, OK, OK, LOGIN),
    "admin/(?P<url>.*)$": R(MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, LOGIN),
    "api:openapi-json": R(OK, OK, OK, OK, OK, OK, OK, OK, OK),
    "api:openapi-view": R(OK, OK, OK, OK, OK, OK, OK, OK, OK),
    "api:ticket_post": R(*[NOT_ALLOWED] * 9),  # POST only; test_api_tickets.py files with a partner's key
    "api:ticket_get": R(
        *[UNAUTHORIZED] * 9
    ),  # only a grievance partner's key; payment providers' are refused
    "api:reconciliation_post": R(
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
    ),
    "api:evidence_post": R(
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
    ),
    "api:evidence_batch_post": R(
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
        NOT_ALLOWED,
    ),
    # API keys' trail (identity.apikeys) and the registry API's clients and calls: administrators; auditors read.
    "admin:identity_apikeyevent_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_apikeyevent_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:identity_apikeyevent_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:identity_apikeyevent_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:identity_apikeyevent_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/identity/apikeyevent/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:registry_registryapiclient_key": R(OK, MISSING, MISSING, MISSING, OK, MISSING, LOGIN),
    "admin:registry_registryapiclient_simple_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:registry_registryapiclient_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:registry_registryapiclient_add": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:registry_registryapiclient_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:registry_registryapiclient_delete": R(OK, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:registry_registryapiclient_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/registry/registryapiclient/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    "admin:registry_registryapicall_changelist": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:registry_registryapicall_add": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:registry_registryapicall_history": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin:registry_registryapicall_delete": R(DENIED, DENIED, DENIED, DENIED, DENIED, DENIED, LOGIN),
    "admin:registry_registryapicall_change": R(OK, DENIED, DENIED, DENIED, OK, DENIED, LOGIN),
    "admin/registry/registryapicall/<path:object_id>/": R(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, LOGIN
    ),
    # The registry API answers only a registry API client's key (tests/registry/test_api.py); GET on a
    # write route's path reaches the same path's read, refused alike.
    "api:registry_individuals": R(*[UNAUTHORIZED] * 9),
    "api:individual_post": R(*[UNAUTHORIZED] * 9),
    "api:registry_individual": R(*[UNAUTHORIZED] * 9),
    "api:individual_patch": R(*[UNAUTHORIZED] * 9),
    "api:registry_households": R(*[UNAUTHORIZED] * 9),
    "api:household_post": R(*[UNAUTHORIZED] * 9),
    "api:registry_household": R(*[UNAUTHORIZED] * 9),
    "api:household_patch": R(*[UNAUTHORIZED] * 9),
    "api:api-root": R(MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING),
}

# Routes that exist only in some configurations: media files are served by Django only with DEBUG on.
CONDITIONAL_ROUTES: set[str] = set()


# (route, actor) answering wrongly today; each runs as xfail(strict=True) with its reason.
KNOWN_LEAK: dict[tuple[str, str], str] = {}
