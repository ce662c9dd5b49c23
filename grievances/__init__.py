"""Grievance redress: tickets, routing, SLA, public intake, notifications (to be built).

Owns no table yet.

May import: access, files, jobs, approvals, notifications, registry, programs, payments.
"""
