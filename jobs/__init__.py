"""Background jobs: progress, leases renewed by the worker, the dead-job sweep, retry and cancel.

Owns the job table (`Job`), written only by `jobs.services` and `jobs.recovery`. The apps above register
what each kind of job does when it dies, is retried or is cancelled, in their `AppConfig.ready()`
(`jobs.kinds`).

May import: access, files.
"""
