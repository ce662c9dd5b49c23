"""Benefit plans, beneficiaries and their status, enrolment.

Owns `BenefitPlan` (and the object permissions that scope officers to plans), `Beneficiary` and
`BeneficiaryStatusChange`, written only by `programs.services`. It plugs its enrolment filters into the
registry's search (`registry.hooks`); the apps above add links and panels to a plan's page through
`programs.hooks`.

May import: access, files, jobs, identity, approvals, notifications, registry.
"""
