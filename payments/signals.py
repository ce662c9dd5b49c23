"""Signals of the payments app: the apps above hear that payment lines changed, or that a verification found
a payment not received, unknown to payments.

`reconciliation_lines_changed` is sent inside the transaction that applied a provider's results, only when at
least one line changed (`accepted` > 0): a replayed, refused or all-unchanged request sends nothing, so the
dashboard is not refreshed for nothing. Receivers that act after the commit use `transaction.on_commit`.
"""

from __future__ import annotations

from django.dispatch import Signal

# `sender` is the ReconciliationBatch class, `batch` the provider's request, `changed` the lines it changed.
reconciliation_lines_changed = Signal()

# `sender` is the VerificationRecord class, `record` the recorded verification, `line` its payment line
# (Benefit). Sent after the commit that recorded a discrepancy (not received, or less than paid), once: a
# record already discrepant and corrected again sends nothing. The grievances app opens a ticket on it.
verification_discrepancy = Signal()
