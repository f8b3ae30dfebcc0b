"""A debit by a client without a limit and without assigned credits no longer writes the
client's account row, nor locks it (`credits_debit`, replacing migration 0008's version).

Why: `used` exists for the spending limit (D4, S5). A client without a limit has no window, so
it now counts nothing (`ClientAccount.use`), and a debit that changes neither its assigned
credits nor its counter leaves its row alone: one UPDATE fewer, a tenth of the server's
instructions per debit (callgrind, bench/RESULTS.md). A limit set later starts from what the
client's active holds reserve, as before. Nor is the row locked: every writer of an account
holds its organisation's pool lock first (the fixed order), so the function locks the pool and
then reads the account in a statement of its own, which sees its latest committed version.

Accounts without a limit that had counted draws are brought to 0 by a `limit_reset` entry each,
so the ledger still adds up to every figure (X1).

The SQL: credits/sql/history/credits_debit.0012.sql (replaced since by
credits/sql/credits_debit.sql) and credits/sql/credits_debit_from_lots.sql, whose arguments
changed (the previous signature is dropped first: undo/credits_debit_from_lots.0008.sql).
"""

from django.db import migrations
from django.utils import timezone

from credits import sql


def install(apps, schema_editor):
    sql.run_on_postgresql(
        schema_editor,
        "undo/credits_debit_from_lots.0008.sql",
        "history/credits_debit.0012.sql",
        "credits_debit_from_lots.sql",
    )


def reinstall_previous(apps, schema_editor):
    sql.run_on_postgresql(
        schema_editor,
        "undo/credits_debit_from_lots.sql",
        "history/credits_debit.0008.sql",
        "history/credits_debit_from_lots.0008.sql",
    )


def stop_counting_without_a_limit(apps, schema_editor):
    ClientAccount = apps.get_model("credits", "ClientAccount")
    CreditPool = apps.get_model("credits", "CreditPool")
    LedgerEntry = apps.get_model("credits", "LedgerEntry")
    now = timezone.now()
    counting = list(
        ClientAccount.objects.filter(limit_kind="none")
        .exclude(used=0)
        .order_by("organisation_id", "pk")
        .values_list("pk", "organisation_id", "used")
    )
    balances = dict(
        CreditPool.objects.filter(pk__in={org for _pk, org, _used in counting}).values_list(
            "pk", "balance"
        )
    )
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            organisation_id=organisation_id,
            kind="limit_reset",
            used_delta=-used,
            balance_after=balances[organisation_id],
            client_id=pk,
            reference="no limit: nothing to count",
            created_at=now,
        )
        for pk, organisation_id, used in counting
    )
    ClientAccount.objects.filter(pk__in=[pk for pk, _org, _used in counting]).update(used=0)


class Migration(migrations.Migration):
    dependencies = [("credits", "0011_counts_never_negative_by_domain")]
    operations = [
        migrations.RunPython(install, reinstall_previous),
        migrations.RunPython(stop_counting_without_a_limit, migrations.RunPython.noop),
    ]
