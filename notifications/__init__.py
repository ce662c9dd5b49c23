"""Notifications: e-mail and SMS through a pluggable sender, message templates per language, and an
outbox sent by a background task with retries and backoff; failures are logged and kept, never lost.

Owns `MessageTemplate` and `OutboxMessage`, written only by `notifications.services`. The apps above
queue a message with `notification_send(...)` inside their own transaction; it leaves after the commit.

May import: access, files, jobs, identity.
"""
