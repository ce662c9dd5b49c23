"""The access matrix's world: one record of every kind in district North A, and the actors who ask for them.

Built once per test module through the real services where a service exists. Every object route of the
matrix names an object of North A, so the South officer (same roles, same plan) must be refused it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from guardian.shortcuts import assign_perm

from access.roles import (
    APPROVER,
    AUDITOR,
    PAYMENT_OFFICER,
    PROGRAMME_OFFICER,
    REGISTRY_OFFICER,
)
from approvals.models import ApprovalPolicy
from approvals.services import task_approve
from grievances.partners import GrievancePartner
from identity.models import (
    DirectoryIdentity,
    DirectoryRoleMapping,
    RoleGrant,
    RoleSecurity,
    SignInEvent,
    SignInEventKind,
)
from intake.services import field_form_create
from jobs.models import Job
from notifications.models import MessageTemplate, OutboxMessage
from payments.models import Benefit, PaymentCycle, PaymentPlan, PaymentPoint, PaymentPointType
from payments.services import (
    payment_point_key_rotate,
    payroll_create,
    payroll_send,
    payroll_submit,
    reconciliation_apply,
)
from portal.models import ScopeGrant, UserProfile
from programs.models import Beneficiary, BeneficiaryStatusChange, BenefitPlan, PlanStatus, PlanType
from programs.services import beneficiary_status_request
from registry.approval_actions import registry_update_request
from registry.models import (
    Household,
    HouseholdMember,
    HouseholdRole,
    Individual,
    Location,
    LocationLevel,
    RegistrySchema,
    SavedSearch,
    Sex,
)
from reports.models import Report
from tests.conftest import make_user, roles_present
from uploads.services import batch_create, batch_validate

OFFICER_ROLES = (REGISTRY_OFFICER, PROGRAMME_OFFICER, PAYMENT_OFFICER)
PLAN_PERMISSIONS = ("view_benefitplan", "manage_beneficiaries", "request_payments")

# Web actors sign in; API actors send a payment point's key.
SUPERUSER = "superuser"
NATIONAL = "national"
OFFICER_A = "officer_a"
OFFICER_B = "officer_b"
AUDITOR_ACTOR = "auditor"
APPROVER_ACTOR = "approver"
ANONYMOUS = "anonymous"
PROVIDER_A = "provider_a"
PROVIDER_B = "provider_b"
WEB_ACTORS = (SUPERUSER, NATIONAL, OFFICER_A, OFFICER_B, AUDITOR_ACTOR, APPROVER_ACTOR, ANONYMOUS)
API_ACTORS = (PROVIDER_A, PROVIDER_B)
ACTORS = WEB_ACTORS + API_ACTORS


@dataclass
class World:
    users: dict[str, User]
    keys: dict[str, str]
    objects: dict[str, Any] = field(default_factory=dict)

    def pk(self, name: str) -> int:
        return self.objects[name].pk


def _household(code: str, location: Location, names: tuple[str, ...]) -> Household:
    household = Household.objects.create(code=code, location=location)
    for index, name in enumerate(names):
        person = Individual.objects.create(
            given_name=name,
            family_name=code,
            sex=Sex.FEMALE,
            birth_date=date(1980 + index, 1, 1),
            location=location,
        )
        HouseholdMember.objects.create(
            household=household,
            individual=person,
            role=HouseholdRole.HEAD if index == 0 else HouseholdRole.CHILD,
            is_primary_recipient=index == 0,
        )
    Household.objects.filter(pk=household.pk).update(size=len(names))
    household.refresh_from_db()
    return household


def _enrol(plan: BenefitPlan, household: Household) -> Beneficiary:
    now = timezone.now()
    return Beneficiary.objects.create(
        benefit_plan=plan,
        household=household,
        location=household.location,
        status="active",
        status_changed_at=now,
        enrolled_at=now,
        data={},
    )


def _upload_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            "given_name",
            "family_name",
            "sex",
            "birth_date",
            "location_code",
            "national_id",
            "household_code",
            "household_role",
            "primary_recipient",
        ]
    )
    writer.writerow(["Awa", "Upload", "F", "1985-02-03", "N-A", "UP-1", "UP-H1", "head", "primary"])
    writer.writerow(["", "Upload", "X", "not-a-date", "N-A", "UP-2", "UP-H1", "child", ""])  # rejected
    return buffer.getvalue().encode()


def world_build() -> World:
    roles_present()
    north = Location.objects.create(code="N", name="North")
    south = Location.objects.create(code="S", name="South")
    north_a = Location.objects.create(code="N-A", name="North A", parent=north)
    Location.objects.create(code="N-B", name="North B", parent=north)
    south_a = Location.objects.create(code="S-A", name="South A", parent=south)

    users = {
        SUPERUSER: make_user("m_root", superuser=True),
        NATIONAL: make_user("m_national", roles=OFFICER_ROLES, locations=(north, south)),
        OFFICER_A: make_user("m_north_a", roles=OFFICER_ROLES, locations=(north_a,)),
        OFFICER_B: make_user("m_south", roles=OFFICER_ROLES, locations=(south,)),
        AUDITOR_ACTOR: make_user("m_auditor", roles=(AUDITOR,), locations=(north, south)),
        APPROVER_ACTOR: make_user("m_approver", roles=(APPROVER,), locations=(north, south)),
    }
    plan = BenefitPlan.objects.create(
        code="M-CASH",
        name="Matrix cash",
        plan_type=PlanType.HOUSEHOLD,
        start_date=date(2026, 1, 1),
        status=PlanStatus.ACTIVE,
    )
    for actor in (NATIONAL, OFFICER_A, OFFICER_B):
        for codename in PLAN_PERMISSIONS:
            assign_perm(f"programs.{codename}", users[actor], plan)
        users[actor] = User.objects.get(pk=users[actor].pk)

    household = _household("M-HA", north_a, ("Amina", "Bintou"))
    other_household = _household("M-HA2", north_a, ("Chidi",))
    south_household = _household("M-HS", south_a, ("Dede",))
    loner = Individual.objects.create(  # in no household and no plan: deletable
        given_name="Esi", family_name="Alone", sex=Sex.FEMALE, birth_date=date(1990, 1, 1), location=north_a
    )
    person = HouseholdMember.objects.filter(household=household).order_by("pk").first().individual
    beneficiary = _enrol(plan, household)
    _enrol(plan, other_household)
    _enrol(plan, south_household)

    officer_a = users[OFFICER_A]
    superuser = users[SUPERUSER]
    approver = users[APPROVER_ACTOR]

    # A pending registry edit of the North A person, and an approved status change of the beneficiary.
    registry_task = registry_update_request(target=person, maker=officer_a, fields={"phone": "+254700000001"})
    status_task = beneficiary_status_request(
        user=officer_a, plan=plan, transition="suspend", reason="Matrix", beneficiary=beneficiary
    )
    task_approve(task=status_task, user=approver)
    status_change = BeneficiaryStatusChange.objects.filter(beneficiary=beneficiary).latest("pk")

    # A payroll of North A lines at provider A, approved and sent; one line reconciled by provider A.
    point_a = PaymentPoint.objects.create(name="Provider A", point_type=PaymentPointType.MOBILE_MONEY)
    point_a.locations.set([north])
    point_b = PaymentPoint.objects.create(name="Provider B", point_type=PaymentPointType.MOBILE_MONEY)
    point_b.locations.set([south])
    keys = {
        PROVIDER_A: payment_point_key_rotate(user=superuser, payment_point=point_a),
        PROVIDER_B: payment_point_key_rotate(user=superuser, payment_point=point_b),
    }
    Beneficiary.objects.filter(pk=beneficiary.pk).update(status="active")
    payment_plan = PaymentPlan.objects.create(
        benefit_plan=plan, name="Monthly", amount_formula="100", filter_expression='status == "active"'
    )
    cycle = PaymentCycle.objects.create(
        code="M-2026-01", start_date=date(2026, 1, 1), end_date=date(2026, 1, 31)
    )
    payroll = payroll_create(
        user=officer_a, payment_plan=payment_plan, cycle=cycle, payment_point=point_a, background=False
    )
    payroll.refresh_from_db()
    task_approve(task=payroll_submit(user=officer_a, payroll=payroll), user=approver)
    payroll_send(user=officer_a, payroll=payroll)
    payroll.refresh_from_db()
    lines = list(Benefit.objects.filter(payroll=payroll).order_by("pk"))
    assert len(lines) == 2 and all(line.location_id == north_a.pk for line in lines), lines
    reconciliation_apply(
        payment_point=point_a,
        idempotency_key="matrix-1",
        lines=[
            {
                "reference": lines[1].reference,
                "status": "paid",
                "amount_paid": str(lines[1].amount),
                "paid_at": (timezone.now() - timedelta(hours=1)).isoformat(),
                "transaction_id": "T1",
                "reason": "",
            }
        ],
    )
    from payments.models import ReconciliationBatch

    reconciliation = ReconciliationBatch.objects.get(payment_point=point_a, idempotency_key="matrix-1")
    evidence_photo = SimpleUploadedFile(
        "photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, content_type="image/png"
    )
    Benefit.objects.get(pk=lines[1].pk).evidence_photo.save("photo.png", evidence_photo, save=True)
    Benefit.objects.filter(pk=lines[1].pk).update(evidence_agent="Agent", evidence_at=timezone.now())

    verification_plan, verification_record = _verification(officer_a, payroll)

    batch = batch_validate(
        batch=batch_create(
            user=officer_a, plan=plan, file=SimpleUploadedFile("people.csv", _upload_csv()), background=False
        )
    )
    field_form = field_form_create(
        user=officer_a, plan=plan, form_id="matrix_survey", version="1", title="Matrix survey"
    )
    job = _export_job(officer_a)
    saved_search = SavedSearch.objects.create(
        name="Matrix search", dataset="individual", query="q=Amina", user=officer_a
    )
    report = Report.objects.create(
        name="Matrix report", dataset="beneficiaries", group_by="status", created_by=superuser
    )
    report.roles.set(Group.objects.all())
    level = LocationLevel.objects.create(name="District", depth=1)
    policy = ApprovalPolicy.objects.get_or_create(action="registry.update")[0]
    policy.save()  # a history record for the record page
    attempt = AccessAttempt.objects.create(
        username="m_north_a",
        ip_address="10.0.0.1",
        user_agent="test",
        failures_since_start=1,
        get_data="",
        post_data="",
        http_accept="*/*",
        path_info="/admin/login/",
    )
    access_log = AccessLog.objects.create(
        username="m_north_a", ip_address="10.0.0.1", user_agent="test", http_accept="*/*", path_info="/"
    )
    failure_log = AccessFailureLog.objects.create(
        username="m_north_a", ip_address="10.0.0.1", user_agent="test", http_accept="*/*", path_info="/"
    )
    task_result = _task_result()
    role_security = RoleSecurity.objects.create(
        role=Group.objects.get(name=APPROVER), two_factor_required=True
    )
    sign_in_event = SignInEvent.objects.create(kind=SignInEventKind.SIGN_IN_FAILED, username="m_north_a")
    directory_mapping = DirectoryRoleMapping.objects.create(
        claim_value="matrix-approvers", role=Group.objects.get(name=APPROVER)
    )
    directory_identity = DirectoryIdentity.objects.create(
        user=officer_a, issuer="https://directory.example", subject="matrix-officer-a"
    )
    registry_schema = RegistrySchema.objects.get(kind="individual")
    registry_schema.save()  # a history record for the record page

    # A grievance about the paid North A line, with an attachment; its category and team.
    from grievances.models import Category, Team
    from grievances.services import ticket_create

    team = Team.objects.create(name="Matrix desk")
    team.locations.set([north])
    category = Category.objects.create(code="matrix-payments", name="Matrix payments", team=team)
    ticket = ticket_create(
        user=superuser,
        channel="walk_in",
        category=category,
        description="Matrix complaint",
        subject=lines[1],
        attachments=[SimpleUploadedFile("note.txt", b"Received less than expected.")],
    )
    ticket.save()  # a history record for the record page

    world = World(users=users, keys=keys)
    world.objects.update(
        role_security=role_security,
        sign_in_event=sign_in_event,
        directory_mapping=directory_mapping,
        directory_identity=directory_identity,
        role_grant=RoleGrant.objects.filter(user=officer_a).first(),
        scope_grant=ScopeGrant.objects.filter(user=officer_a).first(),
        ticket=ticket,
        attachment=ticket.attachments.get(),
        grievance_category=category,
        grievance_team=team,
        grievance_partner=GrievancePartner.objects.create(name="Matrix partner"),
        **_registry_api(superuser, north_a),
        location=north_a,
        location_level=level,
        registry_schema=registry_schema,
        individual=person,
        loner=loner,
        household=household,
        plan=plan,
        beneficiary=beneficiary,
        status_change=status_change,
        registry_task=registry_task,
        payment_plan=payment_plan,
        cycle=cycle,
        point=point_a,
        payroll=payroll,
        benefit=lines[1],
        pending_benefit=lines[0],
        reconciliation=reconciliation,
        verification_plan=verification_plan,
        verification_record=verification_record,
        batch=batch,
        field_form=field_form,
        job=job,
        saved_search=saved_search,
        report=report,
        policy=policy,
        user=officer_a,
        profile=UserProfile.objects.get(user=officer_a),
        group=Group.objects.get(name=PROGRAMME_OFFICER),
        attempt=attempt,
        access_log=access_log,
        failure_log=failure_log,
        task_result=task_result,
        message_template=MessageTemplate.objects.create(
            key="matrix.hello", language="en", body="Hello {name}"
        ),
        outbox_message=OutboxMessage.objects.create(
            channel="sms", recipient="+254700000001", template_key="matrix.hello", language="en", body="Hello"
        ),
        individual_content_type=ContentType.objects.get_for_model(Individual),
    )
    return world


def _verification(officer: User, payroll: Any) -> tuple[Any, Any]:
    """The payroll's one paid line verified by its officer (a payment officer may verify): an active plan
    whose record was saved (so it has history)."""
    from payments.models import VerificationMethod
    from payments.services.verification import (
        SamplingSettings,
        VerificationAnswer,
        verification_plan_activate,
        verification_plan_create,
        verification_record_save,
    )

    plan = verification_plan_create(
        user=officer, payroll=payroll, settings=SamplingSettings(fixed_size=1), verifiers=[officer]
    )
    plan = verification_plan_activate(user=officer, plan=plan)
    line = plan.records.get().benefit
    answer = VerificationAnswer(
        received=True, amount_received=line.amount_paid, received_on=None, method=VerificationMethod.PHONE
    )
    return plan, verification_record_save(user=officer, plan=plan, benefit=line, answer=answer)


def _registry_api(superuser: User, location: Location) -> dict[str, Any]:
    """A registry API client of North A with its key (a key event) and one call on its trail."""
    from identity.apikeys import ApiKeyEvent
    from registry.api_clients import RegistryApiCall, RegistryApiClient, registry_api_client_key_rotate

    client = RegistryApiClient.objects.create(name="Matrix registry client")
    client.locations.set([location])
    registry_api_client_key_rotate(user=superuser, client=client)
    return {
        "registry_api_client": client,
        "registry_api_call": RegistryApiCall.objects.create(
            client=client, method="GET", path="/api/registry/individuals", status=200
        ),
        "api_key_event": ApiKeyEvent.objects.filter(holder_id=client.pk, kind="created").latest("pk"),
    }


def _export_job(user: User) -> Job:
    """A finished registry export of the officer's, its file on disk."""
    from registry.exports import exports_dir
    from registry.tasks import registry_export_task

    kind = f"{registry_export_task.func.__module__}.{registry_export_task.func.__name__}"
    exports_dir().mkdir(parents=True, exist_ok=True)
    (exports_dir() / "matrix-export.csv").write_text("given_name\nAmina\n")
    return Job.objects.create(
        kind=kind,
        label="Matrix export",
        created_by=user,
        state="succeeded",
        result={"file": "matrix-export.csv", "format": "csv"},
    )


def _task_result() -> Any:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="jobs.tasks.nothing",
        backend_name="default",
        enqueued_at=timezone.now(),
        run_after=timezone.now(),
        exception_class_path="",
        traceback="",
    )
