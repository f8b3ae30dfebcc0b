"""The only module that writes credit figures (DESIGN: only `credits` touches the ledger)."""

from django.db import transaction

from clients.models import Client, Organisation
from credits.models import ClientAccount, CreditPool


@transaction.atomic
def open_pool(*, organisation: Organisation) -> CreditPool:
    """Every organisation gets its pool, empty, the moment it exists."""
    pool, _created = CreditPool.objects.get_or_create(organisation=organisation)
    return pool


@transaction.atomic
def open_client_account(*, client: Client) -> ClientAccount:
    account, _created = ClientAccount.objects.get_or_create(client=client)
    return account
