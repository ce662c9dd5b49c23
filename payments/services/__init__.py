"""Every write of payments, one module per concern; this package is the one door the rest calls.

`plans` (payment plans, their beneficiaries and amounts, the preview), `points` (payment points, their keys,
the officer's payment scope; cycles are plain rows), `generation` (a payroll and its lines, INSERT ... SELECT
in chunks), `steps` (submit, approve, reject when the approval ends undone, send, cancel, close, release,
carry over), `reconciliation` (the provider's results), `evidence` (delivery evidence), `exports` (payroll
files out, result files in), `events` (the lines' audit trail), `checks` (permission and state checks).
Other apps, tests, fixtures and benches import from `payments.services` (what they call is re-exported
here), never from a module of it, so the modules may move again; modules of payments may import one directly.
"""

from payments.services.evidence import (
    MAX_EVIDENCE_BYTES,
    MAX_EVIDENCE_LINES,
    MAX_PHOTO_BYTES,
    benefit_evidence_attach,
    evidence_batch_apply,
)
from payments.services.exports import payroll_csv_lines, payroll_xlsx
from payments.services.generation import GENERATION_CHUNK, payroll_create, payroll_generate, payroll_live
from payments.services.plans import payment_plan_preview, payment_plan_save
from payments.services.points import (
    PaymentScope,
    payment_point_by_key,
    payment_point_key_rotate,
    payment_points_usable,
    payment_scope,
)
from payments.services.reconciliation import (
    MAX_LINES,
    MAX_RESULT_FILE_BYTES,
    payroll_results_record,
    reconciliation_apply,
)
from payments.services.reissue import (
    REISSUE_ACTION,
    benefit_reissue_execute,
    benefit_reissue_request,
    benefit_reissues_issue,
)
from payments.services.steps import (
    APPROVE_ACTION,
    RELEASE_ACTION,
    benefit_release_execute,
    benefit_release_request,
    payroll_approval_undone,
    payroll_approve_execute,
    payroll_cancel,
    payroll_carry_over,
    payroll_close,
    payroll_send,
    payroll_submit,
)

__all__ = [
    "APPROVE_ACTION",
    "GENERATION_CHUNK",
    "MAX_EVIDENCE_BYTES",
    "MAX_EVIDENCE_LINES",
    "MAX_LINES",
    "MAX_PHOTO_BYTES",
    "MAX_RESULT_FILE_BYTES",
    "REISSUE_ACTION",
    "RELEASE_ACTION",
    "PaymentScope",
    "benefit_evidence_attach",
    "benefit_reissue_execute",
    "benefit_reissue_request",
    "benefit_reissues_issue",
    "benefit_release_execute",
    "benefit_release_request",
    "evidence_batch_apply",
    "payment_plan_preview",
    "payment_plan_save",
    "payment_point_by_key",
    "payment_point_key_rotate",
    "payment_points_usable",
    "payment_scope",
    "payroll_approval_undone",
    "payroll_approve_execute",
    "payroll_cancel",
    "payroll_carry_over",
    "payroll_close",
    "payroll_create",
    "payroll_csv_lines",
    "payroll_generate",
    "payroll_live",
    "payroll_results_record",
    "payroll_send",
    "payroll_submit",
    "payroll_xlsx",
    "reconciliation_apply",
]
