"""Daily (e.g. from cron): notices a week before role and scope grants end; ended grants on the audit trail."""

from django.core.management.base import BaseCommand

from portal.grants_daily import grants_daily


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        counts = grants_daily()
        self.stdout.write(
            f"{counts['noticed']} end notices queued, {counts['failed']} to retry tomorrow, "
            f"{counts['ended']} ended grants recorded."
        )
