"""Reads scoped to the user: plans by guardian object permission, beneficiaries by plan and location."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet

from access.records import records_in_scope
from programs.models import Beneficiary, BeneficiaryStatus, BeneficiaryStatusChange, BenefitPlan

User = AbstractBaseUser | AnonymousUser


def beneficiary_list(*, user: User, plan: BenefitPlan | None = None) -> QuerySet[Beneficiary]:
    """Beneficiaries of the user's plans, in the user's locations."""
    qs = records_in_scope(Beneficiary.objects.all(), user=user, plan="benefit_plan")
    if plan is not None:
        qs = qs.filter(benefit_plan=plan)
    return qs


def individual_enrolments(*, user: User, individual: Any) -> QuerySet[Beneficiary]:
    """A person's enrolments the user may see: in person, or through their current household."""
    from registry.models import HouseholdMember

    households = HouseholdMember.objects.filter(individual=individual, end_date__isnull=True).values(
        "household_id"
    )
    return (
        beneficiary_list(user=user)
        .filter(Q(individual=individual) | Q(household__in=households))
        .select_related("benefit_plan")
        .order_by("-enrolled_at")
    )


def user_can_view_beneficiary(user: User, beneficiary: Beneficiary) -> bool:
    return beneficiary_list(user=user).filter(pk=beneficiary.pk).exists()


@dataclass(frozen=True)
class PlanCounts:
    by_status: dict[str, int]
    total: int
    current: int


def plan_counts(*, plan: BenefitPlan, user: User | None = None) -> PlanCounts:
    """The plan's beneficiaries by status in one aggregate query (in the user's locations when given)."""
    qs = Beneficiary.objects.filter(benefit_plan=plan)
    if user is not None:
        qs = records_in_scope(qs, user=user)
    aggregates = {status.value: Count("pk", filter=Q(status=status.value)) for status in BeneficiaryStatus}
    counts = qs.aggregate(**aggregates)
    current = sum(
        counts[s]
        for s in (BeneficiaryStatus.POTENTIAL, BeneficiaryStatus.ACTIVE, BeneficiaryStatus.SUSPENDED)
    )
    return PlanCounts(by_status=counts, total=sum(counts.values()), current=current)


def plan_recent_changes(*, plan: BenefitPlan, user: User, limit: int = 10) -> list[BeneficiaryStatusChange]:
    changes = BeneficiaryStatusChange.objects.filter(benefit_plan=plan)
    return list(
        records_in_scope(changes, user=user, location="beneficiary__location")
        .select_related("beneficiary__household", "beneficiary__individual", "requested_by", "task")
        .order_by("-changed_at", "-pk")[:limit]
    )


EXPORT_HEADERS = [
    "id",
    "plan",
    "household",
    "individual",
    "status",
    "status reason",
    "status changed at",
    "enrolled at",
    "location code",
    "location",
    "data",
]


def beneficiary_export_chunks(
    queryset: QuerySet[Beneficiary], *, chunk_size: int = 5000
) -> Iterator[list[list[Any]]]:
    """Rows of an export, read by keyset pages on the primary key so memory stays flat on any size (written
    by `files.spreadsheets`, which neutralises text and writes `data` as JSON)."""
    columns = (
        "pk",
        "benefit_plan__code",
        "household__code",
        "individual__given_name",
        "individual__family_name",
        "status",
        "status_reason",
        "status_changed_at",
        "enrolled_at",
        "location__code",
        "location__name",
        "data",
    )
    last = 0
    while True:
        rows = list(queryset.order_by("pk").filter(pk__gt=last).values_list(*columns)[:chunk_size])
        if not rows:
            return
        last = rows[-1][0]
        yield [
            [
                pk,
                plan,
                household or "",
                f"{given or ''} {family or ''}".strip(),
                status,
                reason,
                changed.isoformat(),
                enrolled.isoformat(),
                location_code,
                location,
                data,
            ]
            for (
                pk,
                plan,
                household,
                given,
                family,
                status,
                reason,
                changed,
                enrolled,
                location_code,
                location,
                data,
            ) in rows
        ]
