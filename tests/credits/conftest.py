from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from clients import services as client_services
from clients.models import ClientKind

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 1, 15, 10, 0, tzinfo=PARIS)


@pytest.fixture
def now():
    return T0


@pytest.fixture
def organisation(make_organisation):
    return make_organisation("acme", name="Acme")


@pytest.fixture
def make_client(organisation):
    def make(name: str, kind: str = ClientKind.LIST, org=None):
        return client_services.create_client(organisation=org or organisation, name=name, kind=kind)

    return make


def figures(organisation) -> dict[str, object]:
    """Every stored figure of an organisation, to prove that a refusal moved nothing."""
    from credits.models import ClientAccount, CreditPool, LedgerEntry, Lot

    pool = CreditPool.objects.get(pk=organisation.pk)
    return {
        "pool": (pool.balance, pool.held, pool.assigned),
        "accounts": sorted(
            ClientAccount.objects.filter(organisation=organisation).values_list(
                "client_id", "assigned_remaining", "used", "limit_kind", "limit"
            )
        ),
        "lots": sorted(
            Lot.objects.filter(organisation=organisation).values_list("pk", "remaining")
        ),
        "entries": LedgerEntry.objects.filter(organisation=organisation).count(),
    }


def pool_of(organisation) -> tuple[int, int, int]:
    from credits.models import CreditPool

    pool = CreditPool.objects.get(pk=organisation.pk)
    return pool.balance, pool.held, pool.assigned


def assigned_of(client) -> int:
    from credits.models import ClientAccount

    return ClientAccount.objects.get(pk=client.pk).assigned_remaining
