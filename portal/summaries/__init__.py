"""Summary tables behind the dashboard: the set-based refresh (a service) and the scoped reads (selectors).

By concern: `registry` (people, households), `programmes` (beneficiaries), `payments` (payroll lines),
`grains` (the grains, the inserts and the scope they share), `refresh` (the driver and its job).
"""

from portal.summaries.grains import COARSE_GRAINS, SEGMENT, SummaryFilters, User, summary_grain
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
    "summaries_refresh",
    "summaries_refresh_start",
    "summaries_vacuum",
    "summary_grain",
    "summary_refreshed_last",
]
