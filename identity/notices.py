"""The daily look at role grants: a notice a week before a grant ends, and its end on the audit trail."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from identity.audit import event_record
from identity.models import RoleGrant, SignInEventKind

NOTICE_DAYS = 7


def role_grants_daily(*, today=None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Tell each user and whoever granted it that a role ends within a week (once per grant), and record
    the grants that have ended. Access already ignores an ended grant on every request; this only tells."""
    today = today or timezone.localdate()
    noticed = failed = 0
    ending = RoleGrant.objects.filter(
        ends_on__gte=today, ends_on__lte=today + timedelta(days=NOTICE_DAYS), notice_sent_on__isnull=True
    ).select_related("user", "role", "granted_by")
    for grant in ending.iterator():
        recipients = [person.email for person in (grant.user, grant.granted_by) if person and person.email]
        if recipients:
            subject = _("The role %(role)s of %(user)s ends on %(date)s") % {
                "role": grant.role.name,
                "user": grant.user.get_username(),
                "date": grant.ends_on.isoformat(),
            }
            body = _(
                "%(user)s holds the role %(role)s until %(date)s included. After that day the role gives no "
                "access. An administrator can extend the grant in the portal (Users › Role grants)."
            ) % {
                "user": grant.user.get_username(),
                "role": grant.role.name,
                "date": grant.ends_on.isoformat(),
            }
            try:
                send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
            except OSError:
                failed += 1  # not marked: tomorrow's run tries again
                continue
        RoleGrant.objects.filter(pk=grant.pk).update(notice_sent_on=today)
        noticed += 1
    ended = 0
    for grant in RoleGrant.objects.filter(ends_on__lt=today, expiry_recorded=False).select_related(
        "user", "role"
    ):
        with transaction.atomic():
            event_record(kind=SignInEventKind.ROLE_GRANT_ENDED, user=grant.user, detail=grant.role.name)
            RoleGrant.objects.filter(pk=grant.pk).update(expiry_recorded=True)
        ended += 1
    return {"noticed": noticed, "failed": failed, "ended": ended}
