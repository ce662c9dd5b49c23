"""The daily look at role and scope grants: a notice a week before one ends, and its end on the audit trail.

Access already ignores an ended grant on every request; this only tells. Who is told: the user and their
supervisor (UserProfile.supervisor, the line manager a ministry names for each staff member), or the
administrator who granted it when the user has no supervisor. Messages go through the notifications
outbox (template `grant.ending`, in each recipient's language), once per grant: changing a grant's dates
arms its notice again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from identity.audit import event_record
from identity.models import RoleGrant, SignInEventKind
from notifications.models import Channel
from notifications.services import notification_send
from portal.models import ScopeGrant, ScopeKind, UserProfile

NOTICE_DAYS = 7
NOTICE_TEMPLATE = "grant.ending"


def _people(grant: Any) -> list[Any]:
    """The user, and their supervisor (else whoever granted it): each once, with an e-mail address."""
    profile = UserProfile.objects.filter(user_id=grant.user_id).select_related("supervisor").first()
    second = profile.supervisor if profile is not None and profile.supervisor_id else grant.granted_by
    people = [grant.user] + ([second] if second is not None and second.pk != grant.user_id else [])
    return [person for person in people if person.email and person.is_active]


def _language(person: Any) -> str:
    profile = UserProfile.objects.filter(user_id=person.pk).values_list("preferred_language", flat=True)
    return profile.first() or "en"


def _describe(grant: Any) -> tuple[str, Any]:
    """(what, kind in the recipient's language) of a role or scope grant."""
    if isinstance(grant, RoleGrant):
        return grant.role.name, gettext("role")
    if grant.kind == ScopeKind.LOCATION:
        return str(grant.location), gettext("location")
    return str(grant.benefit_plan), gettext("benefit plan")


def _notice_queue(grant: Any) -> None:
    for person in _people(grant):
        language = _language(person)
        with translation.override(language):
            what, kind = _describe(grant)
            notification_send(
                channel=Channel.EMAIL,
                recipient=person.email,
                template=NOTICE_TEMPLATE,
                language=language,
                context={
                    "user": grant.user.get_username(),
                    "name": grant.user.get_full_name() or grant.user.get_username(),
                    "what": what,
                    "kind": kind,
                    "date": formats.date_format(grant.ends_on, "DATE_FORMAT"),
                },
            )


def _ending(model: Any, today: Any) -> Any:
    return model.objects.filter(
        ends_on__gte=today, ends_on__lte=today + timedelta(days=NOTICE_DAYS), notice_sent_on__isnull=True
    )


def grants_daily(*, today: Any = None) -> dict[str, int]:
    """Queue the notices of grants ending within a week (once per grant) and record the grants that ended."""
    today = today or timezone.localdate()
    noticed = failed = ended = 0
    batches = (
        (RoleGrant, _ending(RoleGrant, today).select_related("user", "role", "granted_by")),
        (
            ScopeGrant,
            _ending(ScopeGrant, today).select_related("user", "location", "benefit_plan", "granted_by"),
        ),
    )
    for model, grants in batches:
        for grant in grants.iterator():
            try:
                with transaction.atomic():
                    _notice_queue(grant)
                    model.objects.filter(pk=grant.pk).update(notice_sent_on=today)
            except ValidationError:
                failed += 1  # no template, an address refused: not marked, tomorrow's run tries again
                continue
            noticed += 1
    for grant in RoleGrant.objects.filter(ends_on__lt=today, expiry_recorded=False).select_related(
        "user", "role"
    ):
        with transaction.atomic():
            event_record(kind=SignInEventKind.ROLE_GRANT_ENDED, user=grant.user, detail=grant.role.name)
            RoleGrant.objects.filter(pk=grant.pk).update(expiry_recorded=True)
        ended += 1
    for grant in ScopeGrant.objects.filter(ends_on__lt=today, expiry_recorded=False).select_related(
        "user", "location", "benefit_plan"
    ):
        with transaction.atomic():
            event_record(kind=SignInEventKind.SCOPE_GRANT_ENDED, user=grant.user, detail=str(grant.target))
            ScopeGrant.objects.filter(pk=grant.pk).update(expiry_recorded=True)
        ended += 1
    return {"noticed": noticed, "failed": failed, "ended": ended}
