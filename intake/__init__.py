"""Field collection in and out: the registry's schema as an XLSForm for ODK Collect and KoboToolbox, and
their exports (ODK Central, KoboToolbox) converted into an upload batch.

Owns `FieldForm` (a form id and version with its column mapping) and `FieldImport` (which export fed which
upload batch). Validation, duplicates, errors and the commit are the uploads pipeline's.

May import: access, files, jobs, identity, approvals, notifications, registry, programs, payments, uploads,
grievances, reports.
"""
