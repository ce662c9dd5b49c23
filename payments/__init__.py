"""Payments: payment plans (formulas), cycles, payment points, payrolls and their lines, reconciliation
by providers, delivery evidence, verification with the people paid.

Owns `PaymentPlan`, `PaymentCycle`, `PaymentPoint`, `Payroll`, `Benefit`, `BenefitEvent`,
`ReconciliationBatch`, `VerificationPlan` and `VerificationRecord`, written only by its services. It
registers its links and its latest payrolls on a plan's page (`programs.hooks`); it announces a payment
verification's discrepancy (`payments.signals.verification_discrepancy`) to the apps above.

May import: access, files, jobs, identity, approvals, notifications, registry, programs.
"""
