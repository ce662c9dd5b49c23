from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = _("Identity and sign-in")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from identity import audit

        user_logged_in.connect(audit.signed_in, dispatch_uid="identity.signed_in")
        user_logged_out.connect(audit.signed_out, dispatch_uid="identity.signed_out")
        user_login_failed.connect(audit.sign_in_failed, dispatch_uid="identity.sign_in_failed")
