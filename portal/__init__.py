"""The portal: settings, URLs, the admin site and its dashboard, users and their profiles, the roles'
default grants, the API root.

Owns `UserProfile` (a user's locations) and the dashboard's summary tables (`RegistrySummary`,
`BeneficiarySummary`, `PaymentSummary`, `SummaryRefresh`). The top layer: nothing imports it.

May import: access, files, jobs, identity, approvals, notifications, registry, programs, payments, uploads,
grievances, reports, intake.
"""
