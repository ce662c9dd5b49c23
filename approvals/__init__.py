"""Maker-checker: tasks, approval policies and their levels, the actions' executors.

Owns `ApprovalPolicy`, `ApprovalLevel`, `Task` and `Approval`, written only by `approvals.services`. It
knows no domain model: the apps above register their actions (`approvals.actions`) and learn how a task
ended from the `task_ended` signal (`approvals.signals`).

May import: access, files, jobs, identity.
"""
