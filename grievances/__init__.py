"""Grievance redress: tickets, their routing, lifecycle, SLA, attachments and resolutions through approval.

Owns `Category`, `Team`, `Ticket`, `TicketNumber`, `TicketEvent`, `Attachment`: every write to them goes
through `grievances.services` (single tickets), `grievances.resolutions` (requests for approval from a
ticket, and the ticket's resolution when the task is executed) and `grievances.sla` (the set-based overdue
and escalation job). Scoped reads in `grievances.selectors` (through `access.records_in_scope`, with the
sensitive-case rule); `grievances.signals.ticket_status_changed` tells notifiers of each step.

May import: access, files, jobs, approvals, registry, programs, payments.
"""
