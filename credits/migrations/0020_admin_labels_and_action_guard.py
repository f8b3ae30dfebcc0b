"""The credits back office reads in staff's words, and a consumed billable action cannot be
deleted or renamed.

- Labels: verbose names of the links staff read (person, hold, consumption, assignment,
  notice), a help text on the spending limit, and every constraint's own message
  (`violation_error_message`), so no raw constraint name reaches staff. None of these touch
  the database (Django alters no column for a label, and AlterConstraint runs no SQL), so no
  SQLite table is rebuilt and no trigger is lost.
- The last line of defence behind the admin's refusal: a trigger refuses to DELETE a billable
  action while its organisation has consumptions with its code (consumptions name their
  action by code, not by a foreign key: see Consumption), and to change that code or
  organisation (the consumptions would lose their action, which could then be deleted).
  Written for PostgreSQL and SQLite (credits/sql/billable_action_kept.*.sql). NOTE: Django rebuilds a SQLite table for most
  column or constraint changes, which drops the table's triggers; a later migration that
  rebuilds credits_billableaction must create them again from that file.
"""

import django.db.models.deletion
import django.db.models.expressions
from django.conf import settings
from django.db import migrations, models

import credits.models.fields
from credits import sql

POSTGRES_FILE = "billable_action_kept.postgresql.sql"
SQLITE_FILE = "billable_action_kept.sqlite.sql"


def install_action_guard(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, POSTGRES_FILE)
    sql.create_sqlite_triggers(schema_editor, SQLITE_FILE)


def uninstall_action_guard(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "undo/billable_action_kept.postgresql.sql")
    sql.drop_sqlite_triggers(schema_editor, SQLITE_FILE)


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0019_rate_card_version_and_quotes_in_the_debit"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="assignment",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to=settings.AUTH_USER_MODEL,
                verbose_name="person",
            ),
        ),
        migrations.AlterField(
            model_name="clientaccount",
            name="limit",
            field=credits.models.fields.CreditCountField(
                blank=True,
                help_text="What the client may draw from the pool in the window; empty without a limit.",
                null=True,
                verbose_name="limit (credits)",
            ),
        ),
        migrations.AlterField(
            model_name="consumption",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to=settings.AUTH_USER_MODEL,
                verbose_name="person",
            ),
        ),
        migrations.AlterField(
            model_name="consumption",
            name="hold",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="consumption",
                to="credits.hold",
                verbose_name="hold",
            ),
        ),
        migrations.AlterField(
            model_name="expiryreminder",
            name="notice",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reminders",
                to="credits.notice",
                verbose_name="notice",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to=settings.AUTH_USER_MODEL,
                verbose_name="person",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="assignment",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="credits.assignment",
                verbose_name="assignment",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="consumption",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="credits.consumption",
                verbose_name="consumption",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="hold",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="credits.hold",
                verbose_name="hold",
            ),
        ),
        migrations.AlterField(
            model_name="quote",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to=settings.AUTH_USER_MODEL,
                verbose_name="person",
            ),
        ),
        migrations.AlterField(
            model_name="quote",
            name="consumption",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="quote",
                to="credits.consumption",
                verbose_name="consumption",
            ),
        ),
        migrations.AlterConstraint(
            model_name="actionprice",
            name="action_price_unique",
            constraint=models.UniqueConstraint(
                fields=("action", "match_key"),
                name="action_price_unique",
                violation_error_message="This action already has a price for these values.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="actionprice",
            name="action_price_not_negative",
            constraint=models.CheckConstraint(
                condition=models.Q(("credits__gte", 0)),
                name="action_price_not_negative",
                violation_error_message="A price cannot be a negative number of credits.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="billableaction",
            name="action_code_unique_in_organisation",
            constraint=models.UniqueConstraint(
                fields=("organisation", "code"),
                name="action_code_unique_in_organisation",
                violation_error_message="This organisation already has an action with this code.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="billableaction",
            name="action_credits_not_negative",
            constraint=models.CheckConstraint(
                condition=models.Q(("credits__gte", 0)),
                name="action_credits_not_negative",
                violation_error_message="An action cannot cost a negative number of credits.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="clientaccount",
            name="client_limit_matches_kind",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("limit__isnull", True), ("limit_kind", "none")),
                    models.Q(
                        models.Q(("limit_kind", "none"), _negated=True), ("limit__isnull", False)
                    ),
                    _connector="OR",
                ),
                name="client_limit_matches_kind",
                violation_error_message="A monthly or fixed spending limit needs its number of credits; “No limit” needs none.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="consumption",
            name="consumption_funding_adds_up",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "credits",
                        django.db.models.expressions.CombinedExpression(
                            models.F("from_assigned"), "+", models.F("from_pool")
                        ),
                    )
                ),
                name="consumption_funding_adds_up",
                violation_error_message="A consumption's credits must equal what it took from assigned credits and from the pool.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="creditpool",
            name="pool_commitments_within_balance",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "balance__gte",
                        django.db.models.expressions.CombinedExpression(
                            models.F("held"), "+", models.F("assigned")
                        ),
                    )
                ),
                name="pool_commitments_within_balance",
                violation_error_message="The credits held and assigned cannot exceed the pool's balance.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="expiryreminder",
            name="reminder_once_per_lot_and_lead_time",
            constraint=models.UniqueConstraint(
                condition=models.Q(("lot__isnull", False)),
                fields=("lot", "lead_days", "expires_at"),
                name="reminder_once_per_lot_and_lead_time",
                violation_error_message="This reminder was already recorded for the lot, lead time and expiry.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="expiryreminder",
            name="reminder_once_per_inactivity_deadline",
            constraint=models.UniqueConstraint(
                condition=models.Q(("lot__isnull", True)),
                fields=("organisation", "lead_days", "expires_at"),
                name="reminder_once_per_inactivity_deadline",
                violation_error_message="This reminder was already recorded for the lead time and inactivity deadline.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="hold",
            name="hold_funding_adds_up",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "credits",
                        django.db.models.expressions.CombinedExpression(
                            models.F("from_assigned"), "+", models.F("from_pool")
                        ),
                    )
                ),
                name="hold_funding_adds_up",
                violation_error_message="A hold's credits must equal what it takes from assigned credits and from the pool.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="idempotencykey",
            name="idempotency_key_unique_per_organisation",
            constraint=models.UniqueConstraint(
                fields=("organisation", "key"),
                name="idempotency_key_unique_per_organisation",
                violation_error_message="This idempotency key was already used in the organisation.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="lot",
            name="lot_remaining_within_quantity",
            constraint=models.CheckConstraint(
                condition=models.Q(("remaining__lte", models.F("quantity"))),
                name="lot_remaining_within_quantity",
                violation_error_message="A lot cannot have more credits left than it received.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="notice",
            name="notice_key_once_per_organisation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("key", ""), _negated=True),
                fields=("organisation", "key"),
                name="notice_key_once_per_organisation",
                violation_error_message="This notice was already recorded for the organisation.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="quote",
            name="quote_credits_not_negative",
            constraint=models.CheckConstraint(
                condition=models.Q(("credits__gte", 0)),
                name="quote_credits_not_negative",
                violation_error_message="A quote cannot cost a negative number of credits.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="smsrate",
            name="sms_rate_one_per_country",
            constraint=models.UniqueConstraint(
                fields=("organisation", "country"),
                name="sms_rate_one_per_country",
                violation_error_message="This organisation already has an SMS rate for this country.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="smsrate",
            name="sms_rate_positive",
            constraint=models.CheckConstraint(
                condition=models.Q(("credits_per_segment__gt", 0)),
                name="sms_rate_positive",
                violation_error_message="An SMS part costs at least 1 credit.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="usageday",
            name="usage_day_unique",
            constraint=models.UniqueConstraint(
                fields=("organisation", "day", "client", "action_code"),
                name="usage_day_unique",
                violation_error_message="This day's usage is already counted for the client and action.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="usagepersonday",
            name="usage_person_day_unique",
            constraint=models.UniqueConstraint(
                fields=("organisation", "actor_id", "day"),
                name="usage_person_day_unique",
                violation_error_message="This day's usage is already counted for the person.",
            ),
        ),
        migrations.RunPython(install_action_guard, uninstall_action_guard),
    ]
