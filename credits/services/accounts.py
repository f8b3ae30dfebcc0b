"""Opening pools and client accounts, and the policies on them (presets of the seed systems)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from clients.models import Client, ClientKind, Organisation
from credits import bounds
from credits.exceptions import InvalidAmount, InvalidPolicy
from credits.models import (
    ClientAccount,
    CreditPool,
)
from credits.presets import PRESETS
from credits.services.core import lock_pool


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
    pool = lock_pool(organisation.pk)
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


def _policy_bounds() -> dict[str, tuple[int, int, str]]:
    """(least, most, message) of each number of the policy (credits.bounds)."""
    days = _("A reminder comes 0 to %(max)d days before the expiry.") % {"max": bounds.MAX_DAYS}
    return {
        "expiry_months": (
            1,
            bounds.MAX_MONTHS,
            _("Credits expire after 1 to %(max)d months.") % {"max": bounds.MAX_MONTHS},
        ),
        "reminder_days": (0, bounds.MAX_DAYS, days),
        "second_reminder_days": (0, bounds.MAX_DAYS, days),
        "low_balance_threshold": (
            0,
            bounds.MAX_CREDITS,
            _("The threshold is a whole number of credits from 0 (no alert) to %(max)s.")
            % {"max": number_format(bounds.MAX_CREDITS, force_grouping=True)},
        ),
    }


def _check_policy(policy: dict[str, object]) -> None:
    """Every number of the policy within its bound, before the pool is locked: SQLite would
    keep 120000 months, after which every grant fails (its expiry is past the year 9999)."""
    errors: dict[str, list[str]] = {}
    for name, (least, most, message) in _policy_bounds().items():
        if name in policy:
            value = policy[name]
            if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= most:
                errors[name] = [message]
    if errors:
        raise InvalidPolicy(errors)


@transaction.atomic
def update_policy(*, organisation: Organisation, **policy: object) -> CreditPool:
    """Change the pool's policies; a number past its bound or a policy the pool's rules refuse
    is an InvalidPolicy naming the field (a domain error and a ValidationError), and nothing
    changes."""
    unknown = set(policy) - set(POLICY_FIELDS)
    if unknown:
        raise InvalidAmount(_("Unknown policy fields: %s") % ", ".join(sorted(unknown)))
    _check_policy(policy)
    pool = lock_pool(organisation.pk)
    for name, value in policy.items():
        setattr(pool, name, value)
    try:
        pool.full_clean()
    except ValidationError as invalid:
        raise InvalidPolicy(invalid) from invalid
    pool.save(update_fields=list(policy))
    return pool
