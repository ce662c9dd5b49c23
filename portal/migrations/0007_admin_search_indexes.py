"""Every admin list's search served by an index on PostgreSQL (issue 24; tests/portal/test_search_indexes.py).

The admin's default search is a case-insensitive "contains": `UPPER(column::text) LIKE UPPER('%term%')`,
which no btree index serves; a trigram GIN index on the same expression does (pg_trgm, a trusted extension
of PostgreSQL's contrib). They live here, with the admin site that searches, for every app's admin lists
and those of django.contrib.auth and django-axes. Approval tasks' `=id` search compares `UPPER(id::text)`:
a btree on that expression serves it. Nothing is done on SQLite.
"""

from django.db import migrations

# (table, index name, indexed expression); a text column needs no cast, an inet is searched by host().
TRIGRAM_INDEXES = [
    ("approvals_approvalpolicy", "search_policy_action_trgm", "UPPER(action::text)"),
    ("approvals_task", "search_task_target_trgm", "UPPER(target_repr::text)"),
    ("auth_group", "search_group_name_trgm", "UPPER(name::text)"),
    ("auth_user", "search_user_username_trgm", "UPPER(username::text)"),
    ("auth_user", "search_user_first_name_trgm", "UPPER(first_name::text)"),
    ("auth_user", "search_user_last_name_trgm", "UPPER(last_name::text)"),
    ("auth_user", "search_user_email_trgm", "UPPER(email::text)"),
    *(
        (f"axes_{table}", f"search_axes_{short}_{column}_trgm", expression)
        for table, short in (
            ("accessattempt", "attempt"),
            ("accessfailurelog", "failure"),
            ("accesslog", "log"),
        )
        for column, expression in (
            ("ip", "UPPER(host(ip_address))"),
            ("username", "UPPER(username::text)"),
            ("agent", "UPPER(user_agent::text)"),
            ("path", "UPPER(path_info::text)"),
        )
    ),
    ("jobs_job", "search_job_label_trgm", "UPPER(label::text)"),
    ("payments_paymentcycle", "search_cycle_code_trgm", "UPPER(code::text)"),
    ("payments_paymentcycle", "search_cycle_name_trgm", "UPPER(name::text)"),
    ("payments_paymentplan", "search_payment_plan_name_trgm", "UPPER(name::text)"),
    ("payments_paymentpoint", "search_point_name_trgm", "UPPER(name::text)"),
    ("payments_payroll", "search_payroll_name_trgm", "UPPER(name::text)"),
    ("programs_benefitplan", "search_plan_code_trgm", "UPPER(code::text)"),
    ("programs_benefitplan", "search_plan_name_trgm", "UPPER(name::text)"),
    ("programs_benefitplan", "search_plan_institution_trgm", "UPPER(institution::text)"),
    ("registry_location", "search_location_name_trgm", "UPPER(name::text)"),
    ("registry_location", "search_location_code_trgm", "UPPER(code::text)"),
    ("reports_report", "search_report_name_trgm", "UPPER(name::text)"),
    ("reports_report", "search_report_description_trgm", "UPPER(description)"),
    ("uploads_importbatch", "search_batch_name_trgm", "UPPER(original_name::text)"),
]
BTREE_INDEXES = [("approvals_task", "search_task_id_text", "UPPER(id::text)")]


def search_indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, name, expression in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression} gin_trgm_ops)"
        )
    for table, name, expression in BTREE_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} (({expression}))")


def search_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _, name, _ in TRIGRAM_INDEXES + BTREE_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    # The extension stays: other objects may use it, and keeping it costs nothing.


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0006_summary_covering_indexes"),
        ("approvals", "0004_task_created_index"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("axes", "0010_accessattemptexpiration"),
        ("jobs", "0002_lease_retry_cancel"),
        ("payments", "0005_line_indexes_used_by_queries"),
        ("programs", "0003_benefit_plan_ceiling_action"),
        ("registry", "0008_registry_foreign_keys_back"),
        ("reports", "0001_initial"),
        ("uploads", "0005_batch_areas"),
    ]

    operations = [migrations.RunPython(search_indexes_create, search_indexes_drop)]
