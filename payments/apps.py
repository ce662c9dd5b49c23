"""The payments app: payment plans, cycles, payment points, payrolls, reconciliation."""

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments.approval_actions import register
        from payments.receivers import connect

        register()
        connect()
