from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = _("Identity and sign-in")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from access.hooks import role_holders_in_force_register, roles_out_of_force_register
        from identity import audit, grants

        roles_out_of_force_register(grants.roles_out_of_force)
        role_holders_in_force_register(grants.role_holders_in_force)
        from django.db.models.signals import m2m_changed

        m2m_changed.connect(
            grants.memberships_changed, sender=grants.membership_model(), dispatch_uid="identity.memberships"
        )

        user_logged_in.connect(audit.signed_in, dispatch_uid="identity.signed_in")
        user_logged_out.connect(audit.signed_out, dispatch_uid="identity.signed_out")
        user_login_failed.connect(audit.sign_in_failed, dispatch_uid="identity.sign_in_failed")
