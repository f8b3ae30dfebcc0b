"""Opening pools and client accounts, and the policies on them (presets of the seed systems)."""

from django.db import transaction
from django.utils.translation import gettext as _

from clients.models import Client, ClientKind, Organisation
from credits.exceptions import (
    InvalidAmount,
)
from credits.models import (
    ClientAccount,
    CreditPool,
)
from credits.presets import PRESETS
from credits.services.core import _lock_pool

# --- opening accounts ----------------------------------------------------------------------


@transaction.atomic
def open_pool(*, organisation: Organisation, preset: str = "custom") -> CreditPool:
    """Every organisation gets its pool, empty, the moment it exists."""
    pool, _created = CreditPool.objects.get_or_create(
        organisation=organisation, defaults={"preset": preset, **PRESETS[preset].pool_fields()}
    )
    return pool


@transaction.atomic
def open_client_account(*, client: Client) -> ClientAccount:
    pool = CreditPool.objects.get(pk=client.organisation_id)
    account, _created = ClientAccount.objects.get_or_create(
        client=client,
        defaults={
            "organisation_id": client.organisation_id,
            "draws_from_pool": client.kind == ClientKind.OWN or pool.clients_draw_from_pool,
        },
    )
    return account


@transaction.atomic
def apply_preset(*, organisation: Organisation, preset: str) -> CreditPool:
    """Set the policies of one of the seed systems (selectable in admin), and whether each
    client may draw from the pool, which the preset decides too."""
    pool = _lock_pool(organisation.pk)
    pool.preset = preset
    for name, value in PRESETS[preset].pool_fields().items():
        setattr(pool, name, value)
    pool.full_clean()
    pool.save()
    ClientAccount.objects.filter(organisation_id=organisation.pk).exclude(
        client__kind=ClientKind.OWN
    ).update(draws_from_pool=pool.clients_draw_from_pool)
    return pool


POLICY_FIELDS = (
    "expiry_kind",
    "expiry_months",
    "purchase_extends_expiry",
    "assignments_reversible",
    "clients_draw_from_pool",
    "reminder_days",
    "second_reminder_days",
    "low_balance_threshold",
)


@transaction.atomic
def update_policy(*, organisation: Organisation, **policy: object) -> CreditPool:
    unknown = set(policy) - set(POLICY_FIELDS)
    if unknown:
        raise InvalidAmount(_("Unknown policy fields: %s") % ", ".join(sorted(unknown)))
    pool = _lock_pool(organisation.pk)
    for name, value in policy.items():
        setattr(pool, name, value)
    pool.full_clean()
    pool.save(update_fields=list(policy))
    return pool
