"""Default policies: every action known today needs one approval by the Approver role."""

from django.db import migrations

DEFAULT_ROLE = "Approver"
KNOWN_ACTIONS = (
    "registry.update",
    "programs.enrol",
    "programs.beneficiary_status",
    "programs.plan_close",
    "uploads.commit",
    "payments.payroll_approve",
)


def create_default_policies(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    ApprovalPolicy = apps.get_model("approvals", "ApprovalPolicy")
    ApprovalLevel = apps.get_model("approvals", "ApprovalLevel")
    role, _ = Group.objects.get_or_create(name=DEFAULT_ROLE)
    for action in KNOWN_ACTIONS:
        policy, created = ApprovalPolicy.objects.get_or_create(action=action, defaults={"requires_approval": True})
        if created:
            ApprovalLevel.objects.create(policy=policy, order=1, role=role, approvers_required=1)


def remove_default_policies(apps, schema_editor):
    apps.get_model("approvals", "ApprovalPolicy").objects.filter(action__in=KNOWN_ACTIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_default_policies, remove_default_policies)]
