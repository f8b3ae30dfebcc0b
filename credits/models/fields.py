"""Numbers the database itself keeps within bounds (X2): credit counts never negative, and the
policy's months and days.

Why domains rather than table CHECK constraints on PostgreSQL: PostgreSQL re-reads a table's
CHECK constraints from their stored text and plans them again on every statement that writes
a row of the table, for every constraint, whichever columns changed. On the rows a debit
writes (pool, client account, lot, consumption, ledger entry) that was a quarter of the
server's work per debit (measured with callgrind, bench/RESULTS.md). A domain's CHECK is a
CHECK constraint too, refused with the same SQLSTATE (23514, an IntegrityError), but it is
kept compiled in the session's type cache, and it runs only for the columns a statement
assigns. Rules that join several columns (balance ≥ held + assigned, …) stay table CHECKs.

On other databases (SQLite, the embedded default) the column carries an ordinary CHECK. Each
field also validates its bound in forms and `full_clean`.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from credits.bounds import MAX_DAYS, MAX_MONTHS

# The domains, on PostgreSQL: credits/sql/credit_count_domains.postgresql.sql and
# credits/sql/policy_domains.postgresql.sql (upper bounds: policy_upper_bounds.postgresql.sql).
COUNT_DOMAIN = "credits_count"
POSITIVE_DOMAIN = "credits_positive"
MONTHS_DOMAIN = "credits_months"
DAYS_DOMAIN = "credits_days"


class _BoundedByDomain:
    """A whole number at least `least` (and at most `most`, where set): a domain's type on
    PostgreSQL, a column CHECK elsewhere."""

    domain: str
    least: int
    most: int | None = None

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "postgresql":
            return self.domain
        return super().db_type(connection)

    def db_check(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "postgresql":
            return None  # the domain refuses it
        check = f'"%(column)s" >= {self.least}'
        if self.most is not None:
            check += f' AND "%(column)s" <= {self.most}'
        return check % self.db_type_parameters(connection)

    def formfield(self, **kwargs: object) -> object:
        bounds = {"min_value": self.least}
        if self.most is not None:
            bounds["max_value"] = self.most
        return super().formfield(**{**bounds, **kwargs})


class CreditCountField(_BoundedByDomain, models.BigIntegerField):
    """A whole number of credits, never negative."""

    domain = COUNT_DOMAIN
    least = 0
    default_validators = [MinValueValidator(0)]


class PositiveCreditCountField(CreditCountField):
    """A whole number of credits, at least one (a lot, a hold, an assignment)."""

    domain = POSITIVE_DOMAIN
    least = 1
    default_validators = [MinValueValidator(1)]


class MonthsField(_BoundedByDomain, models.SmallIntegerField):
    """A number of months, from one to MAX_MONTHS (credits.bounds): past it the expiry dates
    it makes leave the calendar (the domain's upper bound:
    credits/sql/policy_upper_bounds.postgresql.sql; SQLite's CHECK: `db_check` above)."""

    domain = MONTHS_DOMAIN
    least = 1
    most = MAX_MONTHS
    default_validators = [MinValueValidator(1), MaxValueValidator(MAX_MONTHS)]


class DaysField(_BoundedByDomain, models.SmallIntegerField):
    """A number of days, from zero to MAX_DAYS (credits.bounds)."""

    domain = DAYS_DOMAIN
    least = 0
    most = MAX_DAYS
    default_validators = [MinValueValidator(0), MaxValueValidator(MAX_DAYS)]
