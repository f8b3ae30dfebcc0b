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
