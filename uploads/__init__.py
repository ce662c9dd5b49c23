"""Uploads of beneficiaries: parsing, staging, validation and the user's flow of a file.

Owns `ImportBatch`, `StagedRow` and `StagedError`; the registry and programme rows an upload commits
belong to those apps. It shows who uploaded a person (`registry.hooks`) and links a plan's uploads
(`programs.hooks`).

May import: access, files, jobs, identity, approvals, notifications, registry, programs, payments.
"""
