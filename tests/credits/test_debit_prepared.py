"""Outside a transaction, a debit on PostgreSQL runs `credits_debit` as a statement prepared
once per connection, through psycopg's libpq layer (credits.services.database_debit). Inside
a transaction it goes through a Django cursor instead, so that it belongs to the transaction.

These tests run with real commits (transaction=True): the rest of the suite runs inside a
test transaction, where only the cursor path can be seen.
"""

from unittest import mock

import pytest
from django.db import ProgrammingError, connection, transaction

from credits import services
from credits.exceptions import InsufficientCredits
from credits.models import Consumption
from tests.credits.conftest import figures

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements ORDER BY name")
        return [name for (name,) in cursor.fetchall()]


def _no_cursor(*_args, **_kwargs):
    raise AssertionError("the debit opened a Django cursor")


def test_outside_a_transaction_a_debit_is_the_prepared_statement_alone(organisation, now):
    """X1: one round trip that commits itself; the consumption returned is the stored row."""
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    # When a debit runs outside any transaction, with no Django cursor allowed
    with mock.patch.object(connection, "cursor", _no_cursor):
        consumption = services.debit(client=own, credits=7, action_code="send", now=now)
    # Then the statement is prepared on this connection, nothing is left open, and the
    # consumption is the committed row
    assert _prepared_statements() == ["credits_debit"]
    assert connection.connection.info.transaction_status.name == "IDLE"
    stored = Consumption.objects.get(pk=consumption.pk)
    assert (consumption.credits, consumption.from_pool, consumption.created_at) == (
        stored.credits,
        stored.from_pool,
        stored.created_at,
    )
    assert figures(organisation)["pool"] == (93, 0, 0)


def test_a_refused_debit_on_the_prepared_statement_moves_nothing(organisation, now):
    """X1: the same refusal as the Python path, and every figure stays where it was."""
    services.grant(organisation=organisation, credits=10, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    before = figures(organisation)
    with (
        mock.patch.object(connection, "cursor", _no_cursor),
        pytest.raises(InsufficientCredits) as refusal,
    ):
        services.debit(client=own, credits=11, action_code="send", now=now)
    assert (refusal.value.needed, refusal.value.available) == (11, 10)
    assert figures(organisation) == before


def test_a_debit_inside_a_transaction_is_rolled_back_with_it(organisation, now):
    """X1: a debit that is the first statement of an `atomic` block belongs to that block:
    the libpq path would have committed it on its own, so it takes the Django cursor there."""
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    before = figures(organisation)

    def debit_then_fail() -> None:
        with transaction.atomic():
            services.debit(client=own, credits=30, action_code="send", now=now)
            raise RuntimeError("the caller's next step failed")

    # When the block that debited fails
    with pytest.raises(RuntimeError, match="next step failed"):
        debit_then_fail()
    # Then nothing of the debit remains
    assert figures(organisation) == before
    assert Consumption.objects.filter(organisation=organisation).count() == 0


def test_a_server_error_on_the_prepared_statement_is_a_django_error(
    organisation, make_organisation, now
):
    """X1: the driver's error comes out as Django's, nothing moves, and the connection keeps
    working."""
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    # Given a client object that names another organisation than its account's (only a bug
    # could make one): the function finds no pool with that account and raises
    own.organisation = make_organisation("other")
    before = figures(organisation)
    with pytest.raises(ProgrammingError, match="no credit pool for organisation"):
        services.debit(client=own, credits=5, action_code="send", now=now)
    assert figures(organisation) == before
    # Then the next debit on the same connection works
    own = organisation.clients.get(kind="own")
    services.debit(client=own, credits=5, action_code="send", now=now)
    assert figures(organisation)["pool"] == (95, 0, 0)


def test_a_statement_the_server_forgot_is_prepared_again(organisation, now):
    """X1: a pooler or `DISCARD ALL` can drop prepared statements behind the connection's
    back; the next debit prepares again and debits exactly once."""
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    services.debit(client=own, credits=1, action_code="send", now=now)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE credits_debit")
    assert _prepared_statements() == []
    # When the next debit runs, Then it prepares the statement again and debits once
    services.debit(client=own, credits=2, action_code="send", now=now)
    assert _prepared_statements() == ["credits_debit"]
    assert figures(organisation)["pool"] == (97, 0, 0)
