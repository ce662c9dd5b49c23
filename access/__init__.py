"""The one door to access: who may see what.

`access` answers, for a user, which roles they hold (`access.roles`), whether they see everywhere and
which location subtrees they cover (`access.scope`), which benefit plans they may see or manage through
object permissions (`access.plans`), and how a permission-checked file leaves the portal
(`access.downloads`). It is the bottom layer: it imports no domain app; the apps that own the models
(registry, programmes) hand them over in their `AppConfig.ready()` (`access.hooks`).
"""
