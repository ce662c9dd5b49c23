"""Summary tables behind the dashboard: the set-based refresh (a service) and the scoped reads (selectors).

By concern: `registry` (people, households), `programmes` (beneficiaries), `payments` (payroll lines),
`grains` (the grains, the inserts and the scope they share), `refresh` (the full rebuild and the queue),
`incremental` (recount only the locations, plans and cycles changed since the last refresh).
"""

from portal.summaries.grains import COARSE_GRAINS, SEGMENT, SummaryFilters, User, summary_grain
from portal.summaries.incremental import (
    summaries_full_due,
    summaries_refresh_incremental,
    summary_changes_mark,
)
from portal.summaries.payments import ISSUED_PAYROLL_STATES, payment_summary_list
from portal.summaries.programmes import beneficiary_summary_list
from portal.summaries.refresh import (
    REFRESH_STEPS,
    summaries_refresh,
    summaries_refresh_start,
    summaries_vacuum,
    summary_refreshed_last,
)
from portal.summaries.registry import (
    AGE_BAND_LAST,
    AGE_BAND_YEARS,
    UNKNOWN_AGE,
    age_band_expression,
    age_bands,
    registry_summary_list,
)

__all__ = [
    "AGE_BAND_LAST",
    "AGE_BAND_YEARS",
    "COARSE_GRAINS",
    "ISSUED_PAYROLL_STATES",
    "REFRESH_STEPS",
    "SEGMENT",
    "UNKNOWN_AGE",
    "SummaryFilters",
    "User",
    "age_band_expression",
    "age_bands",
    "beneficiary_summary_list",
    "payment_summary_list",
    "registry_summary_list",
    "summaries_full_due",
    "summaries_refresh",
    "summaries_refresh_incremental",
    "summaries_refresh_start",
    "summaries_vacuum",
    "summary_changes_mark",
    "summary_grain",
    "summary_refreshed_last",
]
