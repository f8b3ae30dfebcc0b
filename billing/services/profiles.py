"""The buyer's side: billing profile and the card on file (M3)."""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from billing import gateway as payment
from billing.exceptions import BillingError, PaymentDeclined
from billing.models import BillingProfile
from billing.services.common import local_date
from clients.models import Organisation

PROFILE_FIELDS = ("legal_name", "address", "vat_number", "email")
# A year a date (and the profile's column) can hold; whether the card has expired, or
# expires too far ahead, is the gateway's to say.
MAX_CARD_YEAR = 9999


@dataclass(frozen=True)
class CardDetails:
    """A card as typed by its holder; passed straight to the gateway, never stored."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str


def profile_of(organisation: Organisation) -> BillingProfile:
    profile, _created = BillingProfile.objects.get_or_create(
        organisation=organisation,
        defaults={"legal_name": organisation.name},
    )
    return profile


def tokenise(*, organisation: Organisation, card: CardDetails, now: datetime) -> payment.SavedCard:
    """Hand the card to the gateway and get its token back (nothing stored here). An expiry
    that is not a whole month and year, or a year past any date, is refused first: the
    profile keeps it in a small column, and no gateway need see it."""
    month, year = card.exp_month, card.exp_year
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (month, year)) or not (
        1 <= year <= MAX_CARD_YEAR
    ):
        raise PaymentDeclined(_("Give the card's expiry as a month (1 to 12) and a year."))
    try:
        return payment.get_gateway().save_card(
            number=card.number,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            cvc=card.cvc,
            today=local_date(now, organisation),
        )
    except payment.CardRefused as refusal:
        raise PaymentDeclined(str(refusal)) from refusal


def put_card_on_file(*, organisation: Organisation, card: payment.SavedCard) -> None:
    """One UPDATE, no lock held: called after a charge with the card succeeded."""
    BillingProfile.objects.filter(organisation=organisation).update(
        card_token=card.token,
        card_brand=card.brand,
        card_last4=card.last4,
        card_exp_month=card.exp_month,
        card_exp_year=card.exp_year,
    )


def save_card(
    *,
    organisation: Organisation,
    number: str,
    exp_month: int,
    exp_year: int,
    cvc: str,
    now: datetime,
) -> BillingProfile:
    """Replace the card on file through the gateway; only its token, brand, last four digits
    and expiry are kept (M3). The gateway is called before any transaction opens: a slow
    gateway holds no lock."""
    card = tokenise(
        organisation=organisation,
        card=CardDetails(number=number, exp_month=exp_month, exp_year=exp_year, cvc=cvc),
        now=now,
    )
    with transaction.atomic():
        profile = BillingProfile.objects.select_for_update().get(pk=profile_of(organisation).pk)
        profile.card_token = card.token
        profile.card_brand = card.brand
        profile.card_last4 = card.last4
        profile.card_exp_month = card.exp_month
        profile.card_exp_year = card.exp_year
        profile.save()
    return profile


@transaction.atomic
def update_billing_profile(
    *, organisation: Organisation, legal_name: str, address: str, vat_number: str, email: str
) -> BillingProfile:
    """The owner's own details printed on the next invoices (invoices already issued keep
    the buyer they were issued to)."""
    profile = BillingProfile.objects.select_for_update().get(pk=profile_of(organisation).pk)
    profile.legal_name = legal_name.strip()
    profile.address = address.strip()
    profile.vat_number = vat_number.strip().upper()
    profile.email = email.strip().lower()
    try:
        profile.full_clean(
            exclude=[f.name for f in BillingProfile._meta.fields if f.name not in PROFILE_FIELDS]
        )
    except ValidationError as invalid:
        raise BillingError(" ".join(invalid.messages)) from invalid
    profile.save(update_fields=list(PROFILE_FIELDS))
    return profile
