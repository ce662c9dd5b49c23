"""The one door to access: who may see what.

Owns no table and writes nothing. It answers, for a user, which roles they hold and the checks of them
(`access.roles`), whether they see everywhere and which location subtrees they cover (`access.scope`),
which benefit plans they may see, manage, change or pay through object permissions (`access.plans`), the
scoped queryset of any kind of record (`access.records`), read-only scoped history pages
(`access.history`) and how a permission-checked file leaves the portal (`access.downloads`). The apps that
own the models hand them over in their `AppConfig.ready()` (`access.hooks`).

May import: none.
"""
