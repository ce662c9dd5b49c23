"""The payments app: payment plans, cycles, payment points, payrolls, reconciliation."""

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from payments.approval_actions import register
        from payments.receivers import connect
        from payments.selectors import payroll_list
        from programs.hooks import PlanLink, PlanPanel, plan_link_register, plan_panel_register

        register()
        connect()
        # A benefit plan's page links its payment plans and lists its latest payrolls the user may see.
        plan_link_register(
            PlanLink(
                _("Payment plans and their payrolls"),
                "admin:payments_paymentplan_changelist",
                "benefit_plan__id__exact",
            )
        )
        plan_panel_register(
            PlanPanel(
                _("Latest payrolls"),
                records=lambda *, plan, user: (
                    payroll_list(user=user)
                    .filter(payment_plan__benefit_plan=plan)
                    .select_related("payment_plan", "cycle")
                    .order_by("-created_at")
                ),
                describe=lambda payroll: (
                    f"{payroll.payment_plan}, {payroll.cycle} ({payroll.get_status_display()})"
                ),
            )
        )
