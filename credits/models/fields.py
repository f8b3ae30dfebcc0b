"""Credit counts that the database itself keeps from going negative (X2).

Why domains rather than table CHECK constraints on PostgreSQL: PostgreSQL re-reads a table's
CHECK constraints from their stored text and plans them again on every statement that writes
a row of the table, for every constraint, whichever columns changed. On the rows a debit
writes (pool, client account, lot, consumption, ledger entry) that was a quarter of the
server's work per debit (measured with callgrind, bench/RESULTS.md). A domain's CHECK is a
CHECK constraint too, refused with the same SQLSTATE (23514, an IntegrityError), but it is
kept compiled in the session's type cache, and it runs only for the columns a statement
assigns. Multi-column rules (balance ≥ held + assigned, …) stay table CHECK constraints.

On other databases (SQLite, the embedded default) the column carries an ordinary CHECK.
"""

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

# The domains, created by credits migration 0011 on PostgreSQL.
COUNT_DOMAIN = "credits_count"
POSITIVE_DOMAIN = "credits_positive"


class CreditCountField(models.BigIntegerField):
    """A whole number of credits, never negative."""

    domain = COUNT_DOMAIN
    column_check = '"%(column)s" >= 0'
    least = 0

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "postgresql":
            return self.domain
        return super().db_type(connection)

    def db_check(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "postgresql":
            return None  # the domain refuses it
        return self.column_check % self.db_type_parameters(connection)

    def formfield(self, **kwargs: object) -> object:
        return super().formfield(**{"min_value": self.least, **kwargs})


class PositiveCreditCountField(CreditCountField):
    """A whole number of credits, at least one (a lot, a hold, an assignment)."""

    domain = POSITIVE_DOMAIN
    column_check = '"%(column)s" > 0'
    least = 1
