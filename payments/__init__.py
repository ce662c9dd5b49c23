"""Payments: payment plans (formulas), cycles, payment points, payrolls and their lines, reconciliation
by providers, delivery evidence.

Owns `PaymentPlan`, `PaymentCycle`, `PaymentPoint`, `Payroll`, `Benefit`, `BenefitEvent` and
`ReconciliationBatch`, written only by its services. It registers its links and its latest payrolls on a
plan's page (`programs.hooks`).

May import: access, files, jobs, identity, approvals, notifications, registry, programs.
"""
